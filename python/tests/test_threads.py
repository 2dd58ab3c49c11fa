"""test_threads.py: many threads sharing one client, and locks owned per thread."""
import threading

import pytest

from brokerd import errors

THREADS = 8
CALLS = 500


def test_threads_share_one_client(client):
    failures = []
    d = client.dict("shared")
    start = threading.Barrier(THREADS)

    def work(t):
        try:
            q = client.Queue("q%d" % t)
            start.wait()
            for i in range(CALLS):
                kind = i % 4
                if kind == 0:
                    d["t%d-%d" % (t, i)] = [t, i]
                elif kind == 1:
                    assert d["t%d-%d" % (t, i - 1)] == [t, i - 1]
                elif kind == 2:
                    q.put({"t": t, "i": i})
                else:
                    assert q.get(timeout=5) == {"t": t, "i": i - 1}
        except Exception as e:  # reported in the main thread
            failures.append((t, repr(e)))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert failures == []
    assert len(d) == THREADS * CALLS // 4
    for t in range(THREADS):
        assert client.Queue("q%d" % t).qsize() == 0


def test_blocked_getters_do_not_block_others(client):
    got = []
    q = client.Queue("slow")
    assert q.qsize() == 0
    th = threading.Thread(target=lambda: got.append(q.get(timeout=10)))
    th.start()
    from conftest import wait_until
    wait_until(lambda: len(client.call("stat", "slow")["getters"]) == 1)
    for i in range(50):
        assert client.ping() == "pong"
    q.put("x")
    th.join()
    assert got == ["x"]


def test_lock_belongs_to_its_thread(client):
    lock = client.Lock("owned")
    assert lock.acquire()
    result = {}

    def other():
        result["acquired"] = lock.acquire(blocking=False)
        try:
            lock.release()
        except RuntimeError as e:
            result["release"] = e

    th = threading.Thread(target=other)
    th.start()
    th.join()
    assert result["acquired"] is False
    assert isinstance(result["release"], errors.NotOwner)
    assert lock.locked()
    lock.release()
    assert not lock.locked()
    with lock:
        assert lock.acquire(timeout=0.05) is False  # a Lock is not re-entrant
    r = client.RLock("rl")
    with r:
        with r:
            assert r.locked()
    assert not r.locked()
    with pytest.raises(ValueError):
        lock.acquire(blocking=False, timeout=1)


def test_more_waiters_than_flight_slots(client, daemon):
    """70 threads park a get each: 64 go out at once, the others wait for a slot."""
    import brokerd
    from conftest import wait_until
    n = 70
    got = []
    q = client.Queue("many")
    assert q.qsize() == 0

    def getter():
        got.append(q.get(timeout=30))

    threads = [threading.Thread(target=getter) for _ in range(n)]
    for t in threads:
        t.start()
    with brokerd.connect(daemon.url) as other:
        wait_until(lambda: len(other.call("stat", "many")["getters"]) == 64)
        for i in range(n):
            other.Queue("many").put(i)
        for t in threads:
            t.join(30)
        assert sorted(got) == list(range(n))
        assert other.call("stat", "many")["getters"] == []


def test_batch_lock_ops_carry_the_thread_owner(client):
    envs = client.call("batch", ops=[{"op": "lock.acquire", "name": "bl", "block": False},
                                     {"op": "lock.locked", "name": "bl"}])
    assert envs[0]["ok"] and envs[0]["result"]["acquired"] is True
    assert envs[1]["result"] is True
    errs = []

    def other():
        try:
            client.Lock("bl").release()
        except RuntimeError as e:
            errs.append(e.code)

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert errs == ["not_owner"]
    client.Lock("bl").release()


def test_semaphore_and_event(client):
    sem = client.BoundedSemaphore(2, name="sem")
    assert sem.acquire() and sem.acquire(timeout=0.05)
    assert sem.acquire(blocking=False) is False and sem.value() == 0
    sem.release()  # any thread may release, as in Python
    t = threading.Thread(target=sem.release)
    t.start()
    t.join()
    assert sem.value() == 2
    with pytest.raises(ValueError) as ei:
        sem.release()
    assert ei.value.code == "value_error"
    ev = client.Event("ev")
    assert ev.is_set() is False and ev.wait(0.05) is False
    waited = []
    t = threading.Thread(target=lambda: waited.append(ev.wait(10)))
    t.start()
    from conftest import wait_until
    wait_until(lambda: len(client.call("stat", "ev")["waiting"]) == 1)
    ev.set()
    t.join()
    assert waited == [True] and ev.is_set()
    ev.clear()
    assert not ev.is_set()
