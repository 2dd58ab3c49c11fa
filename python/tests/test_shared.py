"""test_shared.py: Value, list, Namespace and Array handles, each compared with Python's own
object doing the same ops (same results, same exception types)."""
import multiprocessing
import pickle
import types

import pytest

import brokerd
from brokerd import errors


def same(remote, local, fn):
    """same: fn on both objects gives the same result, or raises the same exception type;
    afterwards both hold the same items."""
    try:
        want = ("ok", fn(local))
    except Exception as e:  # noqa: BLE001 - comparing exception types
        want = ("raise", type(e))
    try:
        got = ("ok", fn(remote))
    except Exception as e:  # noqa: BLE001
        # brokerd's exception classes derive from Python's (errors.IndexOutOfRange...)
        assert want[0] == "raise" and isinstance(e, want[1]), (e, want)
        got = want
    assert got == want
    assert list(remote) == list(local)


def test_value_types_and_ops(client):
    v = client.Value("n")
    assert v.value == 0 and isinstance(v.value, int)
    v.value = 5
    assert v.add(3) == 8 and v.value == 8
    assert v.cas(8, 10) == (True, 10)
    assert v.cas(8, 11) == (False, 10)
    assert v.getset(1) == 10 and v.value == 1
    with pytest.raises(TypeError):
        v.value = "x"
    f = client.Value(None, "d", 1.5)
    assert f.value == 1.5 and f.add(1) == 2.5
    assert isinstance(client.Value(None, float).value, float)
    assert client.Value(None, "q", 7).value == 7
    b = client.Value(None, bool)
    assert b.value is False
    b.value = True
    assert b.value is True
    with pytest.raises(TypeError):
        b.add(1)
    s = client.Value(None, str, "hi")
    assert s.value == "hi"
    with pytest.raises(TypeError):
        client.Value(None, "z")
    with pytest.raises(errors.Exists):
        client.Value("n", "d")
    assert client.Value("n").value == 1  # attaching leaves it as it is
    again = pickle.loads(pickle.dumps(v))
    assert again.name == "n" and again.value == 1
    assert client.Value().name != client.Value().name


LIST_OPS = [
    lambda l: l[0], lambda l: l[-1], lambda l: l[10], lambda l: l[1:3], lambda l: l[::-1],
    lambda l: l[::2], lambda l: l[-3:], lambda l: l[::0], lambda l: l["x"],
    lambda l: l.__setitem__(1, "b"), lambda l: l.__setitem__(9, 0),
    lambda l: l.__setitem__(slice(1, 3), [7, 8, 9]),
    lambda l: l.__setitem__(slice(None, None, 2), [0]),
    lambda l: l.__setitem__(slice(0, 2), []),
    lambda l: l.__delitem__(0), lambda l: l.__delitem__(slice(None, None, 2)),
    lambda l: l.__delitem__(99),
    lambda l: len(l), lambda l: l.insert(1, "i"), lambda l: l.insert(-100, "s"),
    lambda l: l.insert(100, "e"), lambda l: l.append([1, 2]), lambda l: l.extend((4, 5)),
    lambda l: l.pop(), lambda l: l.pop(0), lambda l: l.pop(50),
    lambda l: l.remove(5), lambda l: l.remove("nope"), lambda l: l.index(4),
    lambda l: l.index(4, 1), lambda l: l.index("nope"), lambda l: l.count(4),
    lambda l: 4 in l, lambda l: "nope" in l, lambda l: l.reverse(),
    lambda l: list(reversed(l)),
]


def test_list_matches_python(client):
    start = [3, 1, 4, 1, 5, 9, 2, 6]
    for i, op in enumerate(LIST_OPS):
        local = list(start)
        remote = client.list("l%d" % i, start)
        assert list(remote) == start
        same(remote, local, op)


def test_list_sequences_of_ops(client):
    local, remote = [], client.list("seq")
    for op in LIST_OPS:
        same(remote, local, op)
        if len(local) < 4:
            same(remote, local, lambda l: l.extend([5, 3, 4, 1]))
    same(remote, local, lambda l: l.sort())
    same(remote, local, lambda l: l.sort(reverse=True))
    same(remote, local, lambda l: l.append("str"))
    same(remote, local, lambda l: l.sort())  # TypeError, unchanged
    same(remote, local, lambda l: l.__iadd__([1]) and None)
    same(remote, local, lambda l: l.clear())
    same(remote, local, lambda l: l.pop())
    assert len(remote) == 0


def test_list_handle(client):
    a = client.list(None, [1, 2])
    assert client.list(a.name, [9]) [:] == [1, 2]  # exists: left as it is
    again = pickle.loads(pickle.dumps(a))
    assert again.name == a.name and again[:] == [1, 2]
    assert client.list().name != client.list().name
    with pytest.raises(TypeError):
        a.sort(key=len)


def test_namespace_matches_python(client):
    ns = client.Namespace("ns", a=1)
    local = types.SimpleNamespace(a=1)
    assert ns.a == local.a == 1
    ns.b = local.b = [1, {"x": 2}]
    assert ns.b == local.b
    with pytest.raises(AttributeError):
        ns.missing
    with pytest.raises(AttributeError):
        local.missing
    del ns.a
    del local.a
    with pytest.raises(AttributeError):
        del ns.a
    with pytest.raises(AttributeError):
        del local.a
    assert ns._asdict() == vars(local) == {"b": [1, {"x": 2}]}
    assert getattr(ns, "zz", 5) == 5 and hasattr(ns, "b") and not hasattr(ns, "a")
    assert "b" in dir(ns)
    again = pickle.loads(pickle.dumps(ns))
    assert again._name == "ns" and again.b == ns.b
    ns.name = "attr"  # an attribute like any other
    assert again.name == "attr"
    assert client.Namespace()._name != client.Namespace()._name


ARRAY_OPS = [
    lambda a: a[0], lambda a: a[-1], lambda a: a[7], lambda a: a[1:3], lambda a: a[::-1],
    lambda a: a.__setitem__(1, 10), lambda a: a.__setitem__(-1, 11),
    lambda a: a.__setitem__(9, 0), lambda a: a.__setitem__(slice(0, 2), [5, 6]),
    lambda a: a.__setitem__(slice(None, None, 2), [1, 2, 3]),
    lambda a: len(a), lambda a: 4 in a, lambda a: 7 in a,
]


def test_array_matches_python(client):
    for i, op in enumerate(ARRAY_OPS):
        local = multiprocessing.Array("i", [3, 1, 4, 1, 5], lock=False)
        remote = client.Array("a%d" % i, "i", [3, 1, 4, 1, 5])
        same(remote, local, op)


def test_array_handle(client):
    a = client.Array("ints", "i", 3)
    assert list(a) == [0, 0, 0]
    assert a.add(1, 5) == 5 and a.add(1, -2) == 3 and a[:] == [0, 3, 0]
    with pytest.raises(TypeError):
        a[0] = 1.5
    with pytest.raises(ValueError):
        a[0:2] = [1]
    with pytest.raises(IndexError):
        a.add(3, 1)
    f = client.Array(None, "d", [1, 2.5])
    assert f[:] == [1.0, 2.5] and f.add(0, 0.5) == 1.5
    with pytest.raises(errors.Exists):
        client.Array("ints", "d", 3)
    with pytest.raises(TypeError):
        client.Array(None, "u", 3)
    again = pickle.loads(pickle.dumps(a))
    assert again.name == "ints" and again[:] == [0, 3, 0]
    assert client.Array(None, "i", 1).name != client.Array(None, "i", 1).name
    assert a.index(3) == 1 and a.count(0) == 2  # Sequence's, as a list's


def test_list_index_types_match_python(client):
    local, remote = [1, 2, 3], client.list("idx", [1, 2, 3])
    for op in (lambda l: l[True], lambda l: l[False:True], lambda l: l[1.0],
               lambda l: l.insert("0", 1), lambda l: l.pop(True)):
        same(remote, local, op)


def bump(value, items, ns, arr, barrier, i):
    value.add(1)
    items.append(i)
    setattr(ns, "p%d" % i, i)
    arr.add(i, 10)
    barrier.wait(30)


def test_handles_pass_to_spawned_processes(client):
    ctx = multiprocessing.get_context("spawn")
    value, items, ns = client.Value(), client.list(), client.Namespace()
    arr, barrier = client.Array(None, "i", 3), client.Barrier(None, parties=3)
    procs = [ctx.Process(target=bump, args=(value, items, ns, arr, barrier, i))
             for i in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert value.value == 3 and sorted(items) == [0, 1, 2]
    assert sorted(ns._asdict().items()) == [("p0", 0), ("p1", 1), ("p2", 2)]
    assert arr[:] == [10, 10, 10] and barrier.broken is False


def test_a_dict_read_in_pages(client):
    d = client.dict("paged")
    d.update((i, str(i)) for i in range(25))
    d[None] = "none"
    pages = list(d.pages(10))
    assert [len(p) for p in pages] == [10, 10, 6]
    assert [kv for p in pages for kv in p] == list(d.items())
    assert list(client.dict("empty-paged").pages(3)) == [[]]
    with pytest.raises(brokerd.BrokerError) as e:
        next(d.pages(0))
    assert e.value.code == "bad_argument"
