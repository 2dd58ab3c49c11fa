"""test_manager_api.py: the calls of multiprocessing's Manager work unchanged (no names);
unnamed objects live as long as the client that made them; a process that exits
normally confirms the items it got."""
import multiprocessing
import os
import signal

import pytest

import brokerd
from conftest import wait_until


def names(client):
    return {o["name"] for o in client.call("ls")}


def test_manager_style_calls_make_unnamed_objects(client):
    v, f = client.Value("i", 7), client.Value("d", 1.5)
    assert (v.value, f.value) == (7, 1.5) and v.name != f.name
    assert client.Value("i").value == 0
    assert client.Array("i", 3)[:] == [0, 0, 0]
    assert client.Array("d", [1.0, 2.5]).read() == [1.0, 2.5]
    assert client.Semaphore(3).value() == 3 and client.Semaphore().value() == 1
    bs = client.BoundedSemaphore(2)
    with pytest.raises(ValueError):
        bs.release()
    assert client.Barrier(3).parties == 3
    assert client.Barrier(2, None, 5).stat()["parties"] == 2
    with pytest.raises(TypeError):
        client.Barrier(2, print)
    with pytest.raises(TypeError):
        client.Barrier(2, action=print)
    q = client.Queue(2)
    q.put(1)
    q.put(2)
    assert q.full() and q.maxsize == 2
    assert client.JoinableQueue().empty() and client.LifoQueue(1).maxsize == 1
    assert client.PriorityQueue(3).maxsize == 3
    assert client.dict({"a": 1}, b=2).copy() == {"a": 1, "b": 2}
    assert client.dict([("x", 1)]).copy() == {"x": 1}
    assert client.dict().copy() == {}
    assert client.list([1, 2])[:] == [1, 2] and client.list(range(3))[:] == [0, 1, 2]
    assert client.Namespace(a=1).a == 1


def test_named_calls(client):
    assert client.Value("hits", "i", 3).name == "hits" and client.Value("hits").value == 3
    assert client.Array("arr", "d", 2).read() == [0.0, 0.0]
    assert client.Semaphore("sem", 2).value() == 2
    assert client.Barrier("bar", 2).parties == 2
    assert client.Queue("q", 3).maxsize == 3 and client.Queue(name="q2", maxsize=1).full() is False
    assert client.dict("cfg", {"a": 1})["a"] == 1
    assert client.list("seq", [1])[0] == 1
    lock = client.Lock("lk")
    cv = client.Condition(lock)  # Manager's Condition(lock): unnamed, on that lock
    assert cv.stat()["lock"] == "lk"
    assert client.Condition("cv", lock).name == "cv"
    assert {"hits", "arr", "sem", "bar", "q", "q2", "cfg", "seq", "lk", "cv"} <= names(client)


def test_unnamed_objects_are_deleted_when_their_client_closes(daemon, client):
    with brokerd.connect(daemon.url) as m:
        made = [m.Queue(), m.dict({"a": 1}), m.Lock(), m.Condition(), m.Value("i", 1),
                m.Namespace(x=1), m.Event(), m.Barrier(2)]
        with made[2]:  # a lock and an event are made by their first change
            made[6].set()
        kept = m.dict("kept", {"a": 1})
        anonymous = {h.name if hasattr(h, "name") else h._name for h in made}
        assert anonymous <= names(client)
    left = names(client)
    assert not anonymous & left
    assert "kept" in left


def make_unnamed_in_child(url, done):
    with brokerd.connect(url) as m:
        done.put(m.Value("i", 1).name)


def use_inherited(d):
    d["child"] = os.getpid()


def test_a_forked_child_does_not_delete_its_parents_unnamed_objects(daemon, client):
    ctx = multiprocessing.get_context("fork")
    m = brokerd.connect(daemon.url)
    d = m.dict()
    p = ctx.Process(target=use_inherited, args=(d,))
    p.start()
    p.join(30)
    assert p.exitcode == 0
    assert d["child"] == p.pid and d.name in names(client)
    done = client.Queue("made")
    p = ctx.Process(target=make_unnamed_in_child, args=(daemon.url, done))
    p.start()
    p.join(30)
    child_made = done.get(timeout=5)
    assert child_made not in names(client)  # the child's own unnamed object: gone with it
    m.close()
    assert d.name not in names(client)


def take_one(q):
    q.get(timeout=10)  # and return: the process exits normally


def sessions(client):
    return len(client.call("sessions"))


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_a_child_that_exits_normally_confirms_what_it_got(client, method):
    """without confirming at exit, brokerd would put the item back when the child's session
    ends, and a second consumer would get it again"""
    q = client.Queue("exit-" + method)
    q.put("only")
    p = multiprocessing.get_context(method).Process(target=take_one, args=(q,))
    p.start()
    p.join(30)
    assert p.exitcode == 0
    wait_until(lambda: sessions(client) == 1, what="the child's session to end")
    assert q.qsize() == 0
    with pytest.raises(brokerd.Empty):
        q.get_nowait()


def test_a_killed_child_gives_back_what_it_got(client):
    q = client.Queue("killed")
    q.put("only")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            q.get(timeout=10)
            os.write(w, b"x")
            signal.pause()  # wait to be killed
        finally:
            os._exit(0)
    os.read(r, 1)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    assert q.get(timeout=10) == "only"


def drop_a_client(url, out):
    def work():
        m = brokerd.connect(url)
        out.put(m.Value("i", 0).name)
        return m.Queue("dropped").get(timeout=10)
    work()  # m is dropped, never closed: it stays open until the process exits


def test_a_client_dropped_without_close_is_closed_at_exit(client, daemon):
    q = client.Queue("dropped")
    q.put("only")
    out = client.Queue("out")
    p = multiprocessing.get_context("spawn").Process(target=drop_a_client,
                                                     args=(daemon.url, out))
    p.start()
    p.join(30)
    made = out.get(timeout=5)
    wait_until(lambda: sessions(client) == 1, what="the child's session to end")
    assert q.qsize() == 0 and made not in names(client)


def test_shutdown_closes_the_client(daemon):
    m = brokerd.connect(daemon.url)
    m.shutdown()
    with pytest.raises(brokerd.Invalid):
        m.ping()


def test_sigkill_of_a_child_holding_a_lock_releases_it(client):
    lock = client.Lock()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            lock.acquire()
            os.write(w, b"x")
            signal.pause()  # holds the lock until killed
        finally:
            os._exit(0)
    os.read(r, 1)
    assert lock.locked() and not lock.acquire(False)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    assert lock.acquire(timeout=10)  # released by brokerd when the child's session ended
    lock.release()
