"""test_sync2.py: LifoQueue, PriorityQueue, JoinableQueue, Condition and Barrier handles,
compared with Python's queue and threading objects where they match."""
import pickle
import queue
import threading
import time

import pytest

import brokerd
from brokerd import errors


def drain(q):
    out = []
    while True:
        try:
            out.append(q.get_nowait())
        except queue.Empty:
            return out


def test_lifo_and_priority_match_python(client):
    for remote, local in ((client.LifoQueue("lifo"), queue.LifoQueue()),
                          (client.PriorityQueue("prio"), queue.PriorityQueue())):
        items = [(3, "c"), (1, "a"), (2, "b"), (0, "z")]
        for it in items:
            remote.put(it)
            local.put(it)
        assert remote.qsize() == local.qsize() == 4
        assert [tuple(x) for x in drain(remote)] == drain(local)  # JSON: a list
        with pytest.raises(queue.Empty):
            remote.get_nowait()
    p = client.PriorityQueue(None, maxsize=1)
    p.put((1.5, {"x": [1]}))
    with pytest.raises(queue.Full):
        p.put((0, "y"), block=False)
    assert p.get() == (1.5, {"x": [1]})
    p.put(4)
    assert p.get() == 4
    with pytest.raises(TypeError):
        p.put(("high", 1))
    again = pickle.loads(pickle.dumps(p))
    assert type(again) is brokerd.PriorityQueue and again.maxsize == 1
    with pytest.raises(errors.Exists):
        client.LifoQueue("prio")


def test_joinable_queue(client):
    q = client.JoinableQueue("jq")
    q.put(1)
    assert q.get() == 1
    done = threading.Event()

    def joiner():
        q.join()
        done.set()
    t = threading.Thread(target=joiner)
    t.start()
    assert not done.wait(0.1)
    q.task_done()
    t.join(10)
    assert done.is_set()
    with pytest.raises(ValueError):
        q.task_done()


def test_condition_notify_and_wait_for(client):
    cv = client.Condition("cv")
    box = client.list("box")
    with pytest.raises(RuntimeError):
        cv.wait(0)
    with pytest.raises(RuntimeError):
        cv.notify()
    with cv:
        assert cv.wait(0.05) is False
        assert cv.wait_for(lambda: len(box) > 0, timeout=0.05) is False
    got = []

    def consumer():
        with cv:
            got.append(cv.wait_for(lambda: len(box) > 0, timeout=10))
    t = threading.Thread(target=consumer)
    t.start()
    deadline = time.monotonic() + 10
    while not client.call("stat", "cv")["waiting"] and time.monotonic() < deadline:
        time.sleep(0.005)
    with cv:
        box.append(1)
        assert cv.notify() == 1
    t.join(10)
    assert got == [True]
    with cv:
        assert cv.notify_all() == 0
    assert cv.acquire(False) is True
    assert cv.acquire(False) is True  # the default lock is an RLock
    cv.release()
    cv.release()
    with pytest.raises(RuntimeError):
        cv.release()


def test_condition_on_a_lock(client):
    lock = client.Lock("plain")
    cv = client.Condition(None, lock)
    with cv:
        assert lock.locked()
        assert cv.acquire(False) is False  # a Lock is not re-entrant
    assert not lock.locked()
    again = pickle.loads(pickle.dumps(cv))
    with again:
        assert lock.locked()
    with pytest.raises(errors.Exists):
        client.Condition(cv.name, client.Lock())


def test_barrier_matches_python(client):
    for b in (client.Barrier("bar", parties=3), threading.Barrier(3)):
        assert b.parties == 3 and b.n_waiting == 0 and b.broken is False
        got = []
        ts = [threading.Thread(target=lambda: got.append(b.wait(10))) for _ in range(3)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(10)
        assert sorted(got) == [0, 1, 2]
        with pytest.raises(threading.BrokenBarrierError):
            b.wait(0.05)
        assert b.broken is True
        with pytest.raises(threading.BrokenBarrierError):
            b.wait()
        b.reset()
        assert b.broken is False
        b.abort()
        with pytest.raises(threading.BrokenBarrierError):
            b.wait()
    one = client.Barrier(None, parties=1, timeout=5)
    assert one.wait() == 0
    assert pickle.loads(pickle.dumps(one)).wait() == 0
    with pytest.raises(errors.Exists):
        client.Barrier(one.name, parties=2)
    with pytest.raises(TypeError):
        client.Barrier()
