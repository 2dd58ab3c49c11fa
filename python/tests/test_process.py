"""test_process.py: fork(), multiprocessing, interruption and reconnecting."""
import multiprocessing
import os
import queue
import signal
import threading

import pytest

import brokerd
from brokerd import errors
from conftest import wait_until

CHILDREN = 4


def session_holding(client, session):
    return [s for s in client.call("sessions") if s["id"] == session][0]["holding"]


def test_fork_children_get_sessions_of_their_own(client):
    q = client.Queue("work")
    for i in range(CHILDREN):
        q.put(i)
    lock = client.Lock("parent-lock")
    assert lock.acquire()
    d = client.dict("sessions")
    parent_session = client.session
    pids = []
    for _ in range(CHILDREN):
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            code = 1
            try:
                item = q.get(timeout=5)
                held = lock.acquire(blocking=False)
                d[str(os.getpid())] = [client.session, item, held]  # also confirms item
                code = 0
            finally:
                os._exit(code)
        pids.append(pid)
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    seen = [d[str(pid)] for pid in pids]
    sessions = [s for s, _, _ in seen]
    assert len(set(sessions)) == CHILDREN and parent_session not in sessions
    assert sorted(item for _, item, _ in seen) == list(range(CHILDREN))
    assert [held for _, _, held in seen] == [False] * CHILDREN
    assert client.session == parent_session
    assert q.qsize() == 0  # every child confirmed what it got
    holder = client.call("stat", "parent-lock")["holder"]
    assert lock.locked() and holder["session"] == parent_session
    lock.release()


def test_child_drops_parents_unconfirmed_delivery(client, daemon):
    q = client.Queue("held")
    q.put("mine")
    assert q.get() == "mine"  # unconfirmed until the parent's next request
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            client.ping()  # the child's own session confirms nothing of the parent's
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    with brokerd.connect(daemon.url) as other:  # asking with client would confirm it
        kinds = [h["kind"] for h in session_holding(other, client.session)]
        assert kinds == ["delivery"]
        client.ping()
        assert session_holding(other, client.session) == []
    assert q.qsize() == 0


def consume(work, results):
    results.put(["got", work.get(timeout=5), os.getpid()])


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_multiprocessing_receives_a_queue(client, method):
    ctx = multiprocessing.get_context(method)
    work = client.Queue("mp-work")
    results = client.Queue("mp-results")
    for i in range(3):
        work.put(i)
    procs = [ctx.Process(target=consume, args=(work, results)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    got = [results.get(timeout=5) for _ in range(3)]
    assert sorted(g[1] for g in got) == [0, 1, 2]
    assert {g[2] for g in got} == {p.pid for p in procs}
    assert work.qsize() == 0


def test_proxies_pickle(client):
    import pickle
    for proxy in (client.Queue("pq", maxsize=2), client.dict("pd"), client.Lock("pl"),
                  client.RLock("prl")):
        again = pickle.loads(pickle.dumps(proxy))
        assert type(again) is type(proxy) and again.name == proxy.name
        assert again._client.url == client.url
    assert pickle.loads(pickle.dumps(client.Queue("pq", maxsize=2))).maxsize == 2


def interrupt_main_when(predicate):
    main = threading.main_thread().ident

    def quiet():
        try:
            return predicate()
        except errors.BrokerError:
            return False

    def run():
        wait_until(quiet)
        signal.pthread_kill(main, signal.SIGINT)

    t = threading.Thread(target=run)
    t.start()
    return t


def test_keyboard_interrupt_during_get_loses_nothing(client, daemon):
    q = client.Queue("ki")
    assert q.qsize() == 0  # creates it, for stat
    other = brokerd.connect(daemon.url)
    try:
        t = interrupt_main_when(lambda: len(other.call("stat", "ki")["getters"]) == 1)
        with pytest.raises(KeyboardInterrupt):
            q.get(timeout=30)
        t.join()
        assert other.call("stat", "ki")["getters"] == []
        other.Queue("ki").put("item")
        assert q.get(timeout=5) == "item"
        with pytest.raises(queue.Empty):
            q.get(block=False)
        with pytest.raises(queue.Empty):
            other.Queue("ki").get(block=False)
        assert client.ping() == "pong"  # the connection carries on
    finally:
        other.close()


def test_interrupt_losing_the_race_keeps_the_item(client, daemon, monkeypatch):
    """The item reaches the getter before its cancel: the get returns it."""
    q = client.Queue("race")
    assert q.qsize() == 0
    other = brokerd.connect(daemon.url)
    real_cancel = client._send_cancel

    def late_cancel(call):
        other.Queue("race").put("won")
        wait_until(lambda: other.call("stat", "race")["getters"] == [])
        return real_cancel(call)

    monkeypatch.setattr(client, "_send_cancel", late_cancel)
    try:
        t = interrupt_main_when(lambda: len(other.call("stat", "race")["getters"]) == 1)
        assert q.get(timeout=30) == "won"
        t.join()
        client.ping()  # confirms it
        assert session_holding(client, client.session) == []
        assert other.call("stat", "race")["size"] == 0
    finally:
        other.close()


def test_keyboard_interrupt_during_lock_acquire(client, daemon):
    other = brokerd.connect(daemon.url)
    try:
        assert other.Lock("busy").acquire()
        t = interrupt_main_when(lambda: len(other.call("stat", "busy")["waiting"]) == 1)
        with pytest.raises(KeyboardInterrupt):
            client.Lock("busy").acquire(timeout=30)
        t.join()
        other.Lock("busy").release()
        assert not other.Lock("busy").locked()  # the cancelled waiter was not granted
    finally:
        other.close()


def test_session_lost_after_restart(client, daemon):
    lock = client.Lock("held")
    assert lock.acquire()
    old = client.session
    daemon.restart()
    with pytest.raises(errors.SessionLost):
        client.ping()
    assert client.ping() == "pong"
    assert not lock.locked()


@pytest.mark.skipif(bool(os.environ.get("BROKERD_TEST_FSYNC")),
                    reason="it counts on a restart losing the objects: no data dir")
def test_quiet_reconnect_when_nothing_was_held(client, daemon):
    client.dict("x")["k"] = 1
    daemon.restart()
    assert client.ping() == "pong"
    assert client.dict("x").get("k") is None


def test_calls_in_flight_fail_when_the_connection_breaks(client, daemon):
    q = client.Queue("never")
    assert q.qsize() == 0
    failure = []

    def getter():
        try:
            q.get(timeout=30)
        except BaseException as e:
            failure.append(e)

    t = threading.Thread(target=getter)
    t.start()
    wait_until(lambda: len(client.call("stat", "never")["getters"]) == 1)
    daemon.proc.kill()
    daemon.proc.wait()
    t.join(10)
    assert len(failure) == 1 and isinstance(failure[0], ConnectionError)
    assert failure[0].code == "io_error"
    daemon.start()
    with pytest.raises(errors.SessionLost):
        client.ping()
    assert client.ping() == "pong"


def test_session_lost_for_unconfirmed_items(client, daemon):
    q = client.Queue("unconf")
    q.put(1)
    assert q.get() == 1  # confirmed only with the next request, which never reaches it
    daemon.restart()
    with pytest.raises(errors.SessionLost):
        client.ping()
    assert client.ping() == "pong"


def test_unpickled_handle_uses_the_process_client(client):
    import pickle
    again = pickle.loads(pickle.dumps(client.dict("same")))
    assert again._client is client
