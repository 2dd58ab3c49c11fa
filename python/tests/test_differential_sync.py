"""test_differential_sync.py: Lock, RLock, Semaphore, BoundedSemaphore, Event, Condition and
Barrier handles against threading's, op by op with test_differential.same() (same results,
brokerd's exceptions instances of Python's), and with threads where an op waits. Adds to
test_sync2.py and test_threads.py what they do not compare.

A thread that must be waiting before the main thread goes on is seen waiting through
brokerd's stat, or (for Python's objects) through the object's own state; nothing sleeps."""
import threading

import pytest

from conftest import wait_until
from test_differential import canon, same


def outcome(fn):
    try:
        return "ok", fn()
    except Exception as e:  # noqa: BLE001 - compared with Python's exception
        return "raise", e


def assert_same_outcome(got, want, what):
    if want[0] == "raise":
        assert got[0] == "raise" and isinstance(got[1], type(want[1])), (what, got, want)
    else:
        assert got[0] == "ok" and canon(got[1]) == canon(want[1]), (what, got, want)


def in_thread(fn):
    """in_thread: fn's outcome in a thread of its own (another owner of the locks)."""
    box = []
    t = threading.Thread(target=lambda: box.append(outcome(fn)))
    t.start()
    t.join(30)
    assert box, "the thread did not finish"
    return box[0]


# ---- Lock and RLock ----

LOCK_SCRIPT = [
    "l.locked()", "l.release()", "l.acquire(False)", "l.acquire(False)",
    "l.acquire(timeout=0)", "l.acquire(True, 0.01)", "l.acquire(blocking=False, timeout=1)",
    "l.acquire(timeout=-2)", "l.acquire(timeout=-1, blocking=False)", "l.locked()",
    "l.release()", "l.locked()", "l.release()", "l.acquire(timeout=0)", "l.release()",
    "l.acquire(False, -1)", "l.__exit__(None, None, None)", "l.__enter__()",
    "l.acquire(timeout=0.01)", "l.release()", "l.locked()",
]


def test_lock_matches_threading(client):
    remote, local = client.Lock(), threading.Lock()
    for src in LOCK_SCRIPT:
        same(remote, local, src, "l", lambda l: l.locked())


def test_lock_held_by_another_thread(client):
    for remote, local in ((client.Lock(), threading.Lock()),
                          (client.RLock(), threading.RLock())):
        for src in ("l.acquire()", "l.acquire(False)"):
            same(remote, local, src, "l")
        # another thread does not take it
        for fn in (lambda l: l.acquire(False), lambda l: l.acquire(timeout=0.01)):
            assert_same_outcome(in_thread(lambda: fn(remote)), in_thread(lambda: fn(local)),
                                remote)
        if isinstance(local, type(threading.RLock())):
            # nor releases an RLock
            assert_same_outcome(in_thread(remote.release), in_thread(local.release), remote)
            same(remote, local, "l.release()", "l")
            same(remote, local, "l.release()", "l")
        else:
            # documented (Lock's docstring, PROTOCOL.md "Owners within a session"): a brokerd
            # Lock is held by its thread, where any thread may release Python's
            assert in_thread(local.release) == ("ok", None)
            kind, e = in_thread(remote.release)
            assert kind == "raise" and isinstance(e, RuntimeError) and e.code == "not_owner"
            remote.release()
        # free: another thread takes it and gives it back
        both = (lambda l: [l.acquire(False), l.release()])
        assert_same_outcome(in_thread(lambda: both(remote)), in_thread(lambda: both(local)),
                            remote)


RLOCK_SCRIPT = [
    "r.release()", "r.acquire()", "r.acquire(False)", "r.acquire(timeout=0)",
    "r.acquire(True, 0.01)", "r.__enter__()", "r.acquire(False, 1)", "r.acquire(timeout=-3)",
    "r.release()", "r.__exit__(None, None, None)", "r.release()", "r.release()", "r.release()",
    "r.release()", "r.acquire(blocking=False)", "r.release()", "r.release()",
]


def test_rlock_counts_match_threading(client):
    remote, local = client.RLock(), threading.RLock()
    for src in RLOCK_SCRIPT:
        same(remote, local, src, "r")
        # held or not, as Python sees it from another thread
        probe = (lambda r: r.acquire(False) and (r.release() or True))
        assert_same_outcome(in_thread(lambda: probe(remote)), in_thread(lambda: probe(local)),
                            src)


# ---- Semaphore and BoundedSemaphore ----

SEMAPHORE_SCRIPT = [
    "s.acquire(False)", "s.acquire()", "s.acquire(False)", "s.acquire(timeout=0)",
    "s.acquire(True, 0.01)", "s.acquire(False, 1)", "s.acquire(blocking=False, timeout=0)",
    "s.release()", "s.acquire(timeout=0.01)", "s.release(2)", "s.release(0)", "s.release(-1)",
    "s.acquire(False)", "s.release(3)", "s.release()", "s.acquire(False)", "s.acquire(False)",
    "s.__enter__()", "s.__exit__(None, None, None)", "s.acquire(False)", "s.acquire(False)",
    "s.acquire(False)", "s.acquire(False)", "s.release(2)",
]


def semaphore_value(s):
    return s.value() if callable(getattr(s, "value", None)) else s._value


@pytest.mark.parametrize("kind", ["Semaphore", "BoundedSemaphore"])
def test_semaphores_match_threading(client, kind):
    for value in (2, 0) if kind == "Semaphore" else (2, 1):
        remote = getattr(client, kind)(None, value)
        local = getattr(threading, kind)(value)
        for src in SEMAPHORE_SCRIPT:
            if src in ("s.acquire()", "s.__enter__()") and local._value == 0:
                continue  # would wait forever on both
            same(remote, local, src, "s", semaphore_value, where="%s(%d): " % (kind, value))
    for src in ("threading.%s(-1)" % kind, "client.%s(None, -1)" % kind):
        with pytest.raises(ValueError):
            eval(src, {"threading": threading, "client": client})


def test_semaphore_released_by_another_thread(client):
    for remote, local in ((client.Semaphore(None, 1), threading.Semaphore(1)),
                          (client.BoundedSemaphore(None, 1), threading.BoundedSemaphore(1))):
        same(remote, local, "s.acquire()", "s", semaphore_value)
        assert_same_outcome(in_thread(remote.release), in_thread(local.release), remote)
        assert_same_outcome(in_thread(remote.release), in_thread(local.release), remote)
        assert semaphore_value(remote) == semaphore_value(local)


def test_bounded_semaphore_of_0_documented_deviation(client):
    # PROTOCOL.md "semaphore.acquire": value_error when a bounded semaphore can never have
    # the permits asked for; Python's acquire(False) answers False (and acquire() waits)
    assert threading.BoundedSemaphore(0).acquire(False) is False
    remote = client.BoundedSemaphore(None, 0)
    for fn in (lambda: remote.acquire(False), lambda: remote.acquire(timeout=0),
               remote.acquire):
        with pytest.raises(ValueError):
            fn()


def test_semaphore_negative_timeout_matches_threading(client):
    for kind in ("Semaphore", "BoundedSemaphore"):
        remote, local = getattr(client, kind)(None, 1), getattr(threading, kind)(1)
        for src in ("s.acquire(timeout=-1)", "s.acquire(timeout=-1)"):
            same(remote, local, src, "s", semaphore_value)


# ---- Event ----

EVENT_SCRIPT = [
    "e.is_set()", "e.wait(0)", "e.wait(-1)", "e.wait(0.01)", "e.clear()", "e.set()",
    "e.set()", "e.is_set()", "e.wait()", "e.wait(0)", "e.wait(-3)", "e.wait(10)", "e.clear()",
    "e.clear()", "e.is_set()", "e.wait(0)", "e.wait(timeout=0.01)", "e.set()", "e.wait(None)",
]


def test_event_matches_threading(client):
    remote, local = client.Event(), threading.Event()
    for src in EVENT_SCRIPT:
        same(remote, local, src, "e", lambda e: e.is_set())


def test_event_set_wakes_every_waiter_as_threading(client):
    remote, local = client.Event(), threading.Event()
    results = []
    for e in (remote, local):
        got = []
        threads = [threading.Thread(target=lambda: got.append(e.wait(30))) for _ in range(3)]
        for t in threads:
            t.start()
        if e is remote:
            wait_until(lambda: len(remote.stat()["waiting"]) == 3, what="3 waiters")
        else:
            wait_until(lambda: len(local._cond._waiters) == 3, what="3 waiters")
        e.set()
        for t in threads:
            t.join(30)
        results.append((got, e.is_set(), e.wait(0)))
    assert results[0] == results[1] == ([True] * 3, True, True)


# ---- Condition ----

def condition_pairs(client):
    """(name, remote, local) for a Condition on an RLock (the default), on a Lock, and on a
    named RLock that exists before the condition is made."""
    rlock = client.RLock()
    rlock.acquire()  # creates it as an RLock (see test_condition_on_an_rlock_handle)
    rlock.release()
    return [("default", client.Condition(), threading.Condition()),
            ("Lock", client.Condition(None, client.Lock()),
             threading.Condition(threading.Lock())),
            ("RLock", client.Condition(None, rlock), threading.Condition(threading.RLock()))]


CONDITION_UNLOCKED = [
    "c.wait(0)", "c.wait()", "c.wait(0.01)", "c.wait_for(lambda: False, 0)",
    "c.wait_for(lambda: False)", "c.wait_for(lambda: 'x')", "c.notify()", "c.notify(2)",
    "c.notify_all()", "c.release()", "c.__exit__(None, None, None)",
]

# notify answers the number woken (documented) where Python's answers None: "or None"
CONDITION_LOCKED = [
    "c.acquire()", "c.acquire(False)", "c.acquire(timeout=0)", "c.wait(0)", "c.wait(0.01)",
    "c.wait(-1)", "c.wait_for(lambda: 0, 0)", "c.wait_for(lambda: [], 0.01)",
    "c.wait_for(lambda: 'x')", "c.notify() or None", "c.notify(5) or None",
    "c.notify(0) or None", "c.notify_all() or None", "c.acquire(False, 1)",
    "c.release()", "c.release()", "c.release()", "c.release()", "c.wait(0)",
    "c.notify() or None", "c.__enter__()", "c.wait(0)", "c.__exit__(None, None, None)",
    "c.release()",
]


def test_condition_matches_threading(client):
    for name, remote, local in condition_pairs(client):
        for src in CONDITION_UNLOCKED + CONDITION_LOCKED:
            same(remote, local, src, "c", where="Condition on %s: " % name)
            # held or not, as another thread sees it
            probe = (lambda c: c.acquire(False) and (c.release() or True))
            assert_same_outcome(in_thread(lambda: probe(remote)),
                                in_thread(lambda: probe(local)), (name, src))


def test_condition_notify_wakes_the_oldest_as_threading(client):
    for name, remote, local in condition_pairs(client):
        seen = []
        for cv in (remote, local):
            ready, woke, counts = [], [], []

            def waiter(i, cv=cv, ready=ready, woke=woke):
                with cv:
                    ready.append(i)
                    r = cv.wait(30)
                    woke.append((i, r))

            threads = []
            for i in range(4):
                threads.append(threading.Thread(target=waiter, args=(i,)))
                threads[-1].start()
                # the waiter holds the lock from ready.append until its wait lets it go
                wait_until(lambda: len(ready) == i + 1, what="waiter %d" % i)
            with cv:
                counts.append(cv.notify(2))
            wait_until(lambda: len(woke) == 2, what="two woken")
            first = sorted(woke)
            with cv:
                counts.append(cv.notify())
            wait_until(lambda: len(woke) == 3, what="three woken")
            with cv:
                counts.append(cv.notify_all())
            for t in threads:
                t.join(30)
            seen.append((first, sorted(woke)))
            if cv is remote:
                assert counts == [2, 1, 1], name  # documented: the number woken
        assert seen[0] == seen[1] == ([(0, True), (1, True)],
                                      [(i, True) for i in range(4)]), name


def test_condition_wait_restores_the_rlock_count(client):
    remote, local = client.Condition(), threading.Condition()
    for src in ("c.acquire()", "c.acquire()", "c.acquire()", "c.wait(0)", "c.wait(0.01)",
                "c.release()", "c.release()", "c.release()", "c.release()"):
        same(remote, local, src, "c")
        probe = (lambda c: c.acquire(False) and (c.release() or True))
        assert_same_outcome(in_thread(lambda: probe(remote)), in_thread(lambda: probe(local)),
                            src)


def test_condition_on_an_rlock_handle(client):
    rlock = client.RLock()
    remote = client.Condition(None, rlock)
    local = threading.Condition(threading.RLock())
    for src in ("c.acquire()", "c.acquire(False)", "c.release()", "c.release()"):
        same(remote, local, src, "c")
    assert rlock.acquire(False) is True


def test_condition_notify_negative_matches_threading(client):
    remote, local = client.Condition(), threading.Condition()
    for src in ("c.acquire()", "c.notify(-1) or None", "c.release()"):
        same(remote, local, src, "c")


# ---- Barrier ----

def barrier_waiting(b):
    return b.n_waiting


def start_waiter(b, out, timeout=30):
    t = threading.Thread(target=lambda: out.append(outcome(lambda: b.wait(timeout))))
    t.start()
    return t


def barrier_round(b, last_src):
    """barrier_round: a party waits in a thread, then the main thread runs last_src on b;
    (the thread's outcome, main's outcome, broken, n_waiting) afterwards."""
    out = []
    t = start_waiter(b, out)
    wait_until(lambda: b.n_waiting == 1, what="a waiting party")
    mine = outcome(lambda: eval(last_src, {"b": b}))
    t.join(30)
    return out[0], mine, b.broken, b.n_waiting


@pytest.mark.parametrize("last_src", ["b.wait(0)", "b.wait()", "b.reset()", "b.abort()"])
def test_barrier_with_a_waiting_party_matches_threading(client, last_src):
    remote, local = client.Barrier(None, 2), threading.Barrier(2)
    got = barrier_round(remote, last_src)
    want = barrier_round(local, last_src)
    for g, w in zip(got[:2], want[:2]):
        assert_same_outcome(g, w, last_src)
    assert got[2:] == want[2:]
    if got[1][0] == "ok" and got[0][0] == "ok":  # a completed round: indices 0 and 1
        assert sorted([got[0][1], got[1][1]]) == [0, 1]
    for src in ("b.wait(0)", "b.broken", "b.reset()", "b.broken", "b.n_waiting", "b.parties"):
        same(remote, local, src, "b", barrier_waiting)


def test_barrier_timeout_breaks_it_for_the_waiting_party(client):
    for b in (client.Barrier(None, 3), threading.Barrier(3)):
        out = []
        t = start_waiter(b, out)
        wait_until(lambda: b.n_waiting == 1, what="a waiting party")
        with pytest.raises(threading.BrokenBarrierError):
            b.wait(0.01)
        t.join(30)
        assert out[0][0] == "raise" and isinstance(out[0][1], threading.BrokenBarrierError)
        assert b.broken is True and b.n_waiting == 0
        with pytest.raises(threading.BrokenBarrierError):
            b.wait(10)
        b.reset()
        assert b.broken is False
    for remote, local in ((client.Barrier(None, 2, timeout=0.01),
                           threading.Barrier(2, timeout=0.01)),):
        for src in ("b.wait()", "b.broken", "b.reset()", "b.broken", "b.wait(0)", "b.broken"):
            same(remote, local, src, "b", barrier_waiting)
