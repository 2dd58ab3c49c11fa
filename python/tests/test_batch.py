"""test_batch.py: m.batch(), versions and conditional writes, stat() on every handle."""
import threading

import pytest

import brokerd


def test_a_batch_sends_its_ops_as_one_request_and_fills_in_their_results(client):
    q, d, v = client.Queue("bq"), client.dict("bd"), client.Value("bv", "i", 5)
    d["k"] = "old"
    with client.batch() as b:
        put = q.put_nowait(1)
        got = d.get("k")
        d["k"] = "new"
        added = v.add(2)
        items = d.items()
        with pytest.raises(RuntimeError):
            added.value  # not sent yet
    assert put.value is None
    assert got.value == "old" and added.value == 7 and items.value == [("k", "new")]
    assert b.results[1] is got and len(b.results) == 5
    assert d["k"] == "new" and v.value == 7 and q.get_nowait() == 1


def test_a_batch_runs_atomically(client):
    """another client's ops never run between a batch's ops: 200 batches, each moving one
    unit from a to b, while a second client reads both; the sum it sees is always 200."""
    a, b = client.Value("ba", "i", 200), client.Value("bb", "i", 0)
    seen = []
    stop = threading.Event()

    def watch():
        with brokerd.connect(client.url) as other:
            while not stop.is_set():
                with other.batch() as read:
                    x, y = other.Value("ba").get(), other.Value("bb").get()
                seen.append(x.value + y.value)

    t = threading.Thread(target=watch)
    t.start()
    for _ in range(200):
        with client.batch():
            a.add(-1)
            b.add(1)
    stop.set()
    t.join()
    assert a.value == 0 and b.value == 200
    assert seen and set(seen) == {200}


def test_an_op_error_in_a_batch_is_raised_after_every_op_ran(client):
    d = client.dict("be")
    with pytest.raises(KeyError) as e:
        with client.batch() as b:
            d["x"] = 1
            missing = d["nope"]
            d["y"] = 2
    assert e.value.index == 1
    assert d.copy() == {"x": 1, "y": 2}
    with pytest.raises(KeyError):
        missing.value
    assert b.results[2].value is None


def test_a_refused_batch_runs_nothing(client):
    q, d = client.Queue("br"), client.dict("brd")
    with pytest.raises(brokerd.BadArgument):  # a get that may wait cannot be batched
        with client.batch() as b:
            d["x"] = 1
            q.get()
    assert "x" not in d
    with pytest.raises(brokerd.BadArgument):
        b.results[0].value


def test_an_exception_in_the_block_sends_nothing(client):
    d = client.dict("bx")
    with pytest.raises(ZeroDivisionError):
        with client.batch():
            d["x"] = 1
            1 / 0
    assert "x" not in d
    d["after"] = 1  # the client is out of batch mode
    assert d["after"] == 1


def test_batch_misuse_is_refused(client):
    d = client.dict("bm")
    with client.batch():
        with pytest.raises(RuntimeError):
            with client.batch():
                pass
        r = d.get("x")
        with pytest.raises(TypeError):
            bool(r)  # `if d.get(...)` inside a batch would be a silent mistake
    with client.batch() as b:
        pass
    assert b.results == []


def test_a_batch_takes_queue_items_with_confirmed_delivery(client, daemon):
    q = client.Queue("bqd")
    for i in range(3):
        q.put(i)
    with brokerd.connect(daemon.url) as other:
        with other.batch():
            got = [other.Queue("bqd").get_nowait() for _ in range(2)]
        assert [g.value for g in got] == [0, 1]
        other._k.break_()  # dies before confirming: both items come back
    assert sorted(q.get(timeout=5) for _ in range(3)) == [0, 1, 2]


def test_versions_grow_with_writes_and_come_with_reads(client):
    d = client.dict("ver")
    assert d.version == 0  # does not exist yet
    d["a"] = 1
    v1 = d.version
    assert v1 > 0
    assert d["a"] == 1 and d.version == v1  # a read carries the version it read
    d["a"] = 2
    assert d.version > v1
    assert d.stat()["version"] == d.version


def test_if_version_makes_writes_conditional(client):
    cfg = client.dict("cond")
    cfg.if_version(0).update({"mode": "a"})  # 0: only if it does not exist yet
    with pytest.raises(brokerd.Conflict):
        cfg.if_version(0)["mode"] = "b"
    snapshot, v = cfg.copy(), cfg.version
    other = client.dict("cond")
    other["mode"] = "changed"  # someone else writes in between
    with pytest.raises(brokerd.Conflict):
        cfg.if_version(v).update({"mode": snapshot["mode"] + "!"})
    assert cfg["mode"] == "changed"
    v = cfg.version
    cfg.if_version(v)["mode"] = "mine"
    assert cfg["mode"] == "mine"
    assert cfg.if_version(v)["mode"] == "mine"  # reads are not conditional
    with pytest.raises(ValueError):
        cfg.if_version(-1)


def test_optimistic_retry_loop_loses_no_update(client, daemon):
    """four threads, each with its own client, add 25 to one counter kept in a list by
    read, compute, write-if-version, retry on conflict: exactly 100."""
    client.list("opt", [0])

    def bump():
        with brokerd.connect(daemon.url) as mine:
            box = mine.list("opt")
            for _ in range(25):
                while True:
                    n = box[0]
                    try:
                        box.if_version(box.version)[0] = n + 1
                        break
                    except brokerd.Conflict:
                        continue

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert client.list("opt")[0] == 100


def test_versions_on_value_array_and_namespace(client):
    v, a, ns = client.Value("vv", "i", 1), client.Array("va", "i", 2), client.Namespace("vn")
    v0 = v.version
    with pytest.raises(brokerd.Conflict):
        v.if_version(v0 - 1).add(1)
    assert v.if_version(v0).add(1) == 2
    a[0] = 5
    assert a.if_version(a.version).add(0, 1) == 6
    ns.x = 1
    with pytest.raises(brokerd.Conflict):
        ns._if_version(ns._version - 1).x = 2
    ns._if_version(ns._version).x = 3
    assert ns.x == 3 and ns._stat()["version"] == ns._version


def test_a_batch_with_version_conditions_is_a_transaction(client):
    src, dst = client.dict("tx-src"), client.dict("tx-dst")
    src["n"], dst["n"] = 10, 0
    vs, vd = src.version, dst.version
    src["n"] = 9  # a concurrent change: the transaction must not run at all
    with pytest.raises(brokerd.Conflict):
        with client.batch():
            src.if_version(vs)["n"] = 5
            dst.if_version(vd)["n"] = 5
    assert (src["n"], dst["n"]) == (9, 0)


def test_stat_on_every_handle(client):
    handles = [client.Queue("st-q"), client.dict("st-d"), client.list("st-l", [1]),
               client.Value("st-v", "i", 0), client.Array("st-a", "i", 2),
               client.Lock("st-lk"), client.RLock("st-rl"), client.Semaphore("st-s", 2),
               client.Event("st-e"), client.Condition("st-c"), client.Barrier("st-b", 2),
               client.PriorityQueue("st-pq")]
    client.dict("st-d")["k"] = 1
    client.Queue("st-q").put(1)
    for lock in handles[5:7]:  # a lock is made by its first acquire (looking makes nothing)
        with pytest.raises(brokerd.NotFound):
            lock.stat()
        with lock:
            pass
    handles[8].set()
    for h in handles:
        st = h.stat()
        assert st["name"] == h.name and st["type"], st
    assert client.Namespace("st-n", x=1)._stat()["type"] == "namespace"
    with pytest.raises(brokerd.NotFound):
        client.dict("st-missing").stat()
    assert client.Queue("st-q").stat()["size"] == 1
