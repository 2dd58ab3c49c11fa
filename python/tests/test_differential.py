"""test_differential.py: every handle against Python's own object, as tests/test_shared.c's
differential test does for the op table. The same op runs on a brokerd handle and on a real
dict, list, queue.Queue, multiprocessing.Value/Array or types.SimpleNamespace; the results
must be equal (types included: 1, 1.0 and True differ), or both must raise, brokerd an
instance of Python's exception type; and afterwards both must hold the same contents.

Ops are Python source ("d.pop('a', None)", "del l[1:3]") run with eval/exec on each object, so
a failure names the op. Documented deviations (PROTOCOL.md, the handles' docstrings) are
tested as documented.

The random runs take their seeds from $BROKERD_DIFF_SEED when set (a failure prints the seed
and the op's index), else from a fixed list."""
import multiprocessing
import os
import queue
import random
import threading
import types
from collections.abc import ItemsView, KeysView, ValuesView

import pytest

from conftest import wait_until


# ---- comparing ----

def canon(x):
    """canon: x as a comparable tree in which 1, 1.0 and True differ, as do 0.0 and -0.0,
    dicts keep their order and a tuple is a list (JSON has only arrays); a dict view is
    the list the handles return (documented: keys()/values()/items() are lists)."""
    if isinstance(x, (KeysView, ValuesView, ItemsView)):
        x = list(x)
    if isinstance(x, bool):
        return ("bool", x)
    if isinstance(x, int):
        return ("int", x)
    if isinstance(x, float):
        return ("float", repr(x))
    if isinstance(x, (list, tuple)):
        return ("list", [canon(v) for v in x])
    if isinstance(x, dict):
        return ("dict", [(canon(k), canon(v)) for k, v in x.items()])
    if x is None or isinstance(x, str):
        return (type(x).__name__, x)
    raise AssertionError("unexpected result type %r" % (x,))


def run(src, name, obj):
    """run: src on obj (bound to name); ("ok", result, obj afterwards) or ("raise", exc,
    obj). A statement's result is None; obj afterwards is what name holds then (x += ...)."""
    env = {name: obj}
    try:
        try:
            code = compile(src, "<op>", "eval")
        except SyntaxError:
            exec(compile(src, "<op>", "exec"), env)
            return "ok", None, env[name]
        return "ok", eval(code, env), env[name]
    except Exception as e:  # noqa: BLE001 - compared with Python's exception
        return "raise", e, env[name]


def same(remote, local, src, name, read=None, where=""):
    """same: src gives the same result on remote and local, or raises on both (brokerd an
    instance of Python's exception's type); then read(remote) == read(local). Returns
    Python's outcome and result."""
    where = "%s%s" % (where, src)
    want_kind, want, local_after = run(src, name, local)
    got_kind, got, remote_after = run(src, name, remote)
    if want_kind == "raise":
        assert got_kind == "raise", "%s: Python raised %r, brokerd returned %r" % (
            where, want, got)
        assert isinstance(got, type(want)), "%s: Python raised %s, brokerd %s (%r)" % (
            where, type(want).__name__, type(got).__name__, got)
    else:
        assert got_kind == "ok", "%s: Python returned %r, brokerd raised %r" % (
            where, want, got)
        assert canon(got) == canon(want), "%s: Python %r, brokerd %r" % (where, want, got)
    # an augmented assignment (x += ...) leaves each name on its own object
    assert (remote_after is remote) == (local_after is local), where
    if read is not None:
        r, py = read(remote), read(local)
        assert canon(r) == canon(py), "%s: afterwards Python holds %r, brokerd %r" % (
            where, py, r)
    return want_kind, want


def seeds(default):
    env = os.environ.get("BROKERD_DIFF_SEED")
    return [int(env)] if env else default


def dict_items(d):
    return list(d.items())


# ---- dict ----

DICT_SCRIPT = [
    # keys of every scalar type; 2 and 2.0 are one key (Python's rules)
    "d['a'] = 1", "d[2] = 'two'", "d[2.5] = [1, 'x']", "d[None] = None", "d[True] = 't'",
    "d[-7] = {'k': [1.5]}", "d['']", "d['a']", "d[2]", "d[2.0]", "d[2.5]", "d[None]",
    "d[True]", "d[False]", "d['missing']", "d[3]", "d[0.25]",
    "d[2.0] = 'float two'", "list(d)", "d.keys()",  # the key stays the int 2
    "d['a'] = 'again'", "list(d.items())",  # overwriting keeps the position
    "len(d)", "'a' in d", "2.0 in d", "2 in d", "'2' in d", "None in d", "False in d",
    "d.get('a')", "d.get('zz')", "d.get('zz', 5)", "d.get(None, 'dflt')", "d.get(2.0, 0)",
    "del d['a']", "del d['a']", "del d[None]", "del d[None]", "'a' in d",
    "d.pop(2)", "d.pop(2)", "d.pop(2, 'dflt')", "d.pop(2, None)", "d.pop(True, 0)",
    "d.setdefault('s')", "d.setdefault('s', 5)", "d.setdefault('t', [1, 2])",
    "d.setdefault(-7, 'ignored')", "d.setdefault(4.0)", "list(d.items())",
    "d.popitem()", "d.popitem()",
    "d.update({'u': 1, 'v': 2})", "d.update([('w', 3), (5, 4), ['x', 5]])",
    "d.update(y=6, z=7)", "d.update({'u': 'U'}, v='V', new=0)", "d.update()",
    "d.update((k, v) for k, v in [(9, 9), (9.0, 'nine')])", "d.update(['ab', 'cd'])",
    "d.update([])", "d.update({})", "d.update(5)", "d.update([1, 2])",
    "d.keys()", "d.values()", "list(d.items())", "sorted(d, key=str)", "[k for k in d]",
    "d.copy()", "d == d.copy()", "d != d.copy()", "d == {}", "d == {'u': 'U'}",
    "d == 5", "d == [1]", "len(d)",
    "d.popitem()", "d.clear()", "len(d)", "d.keys()", "d.popitem()", "d.pop('u')",
    "d == {}", "d.copy()", "list(d)", "d.get(1)", "d.setdefault(0.5, 'half')",
    "d.update(a=1)", "d.popitem()", "d.popitem()",
]


def test_dict_methods_match_python(client):
    remote, local = client.dict(), {}
    for src in DICT_SCRIPT:
        same(remote, local, src, "d", dict_items)
    assert remote.copy() == local and type(remote.copy()) is dict


def test_dict_equality_with_dicts_and_handles(client):
    a, b = client.dict(), client.dict()
    a.update({"x": 1, 2: [1]})
    b.update([(2.0, [1]), ("x", 1.0)])  # other order, equal values
    assert a == b and b == a and a == {"x": 1, 2: [1]} and {"x": 1, 2: [1]} == a
    b["x"] = 2
    assert a != b and not a == b
    assert client.dict() == client.dict() == {}


def test_dict_documented_deviations(client):
    # PROTOCOL.md "Dicts": unlike Python, true and 1 (false and 0) are different keys
    d = client.dict()
    d[1] = "one"
    d[True] = "true"
    d[0.0] = "zero"
    d[False] = "false"
    assert len(d) == 4 and d[1] == "one" and d[True] == "true"
    assert d.items() == [(1, "one"), (True, "true"), (0.0, "zero"), (False, "false")]
    assert len(dict([(1, "one"), (True, "true"), (0.0, "zero"), (False, "false")])) == 2
    # values are JSON: a tuple comes back as a list
    d["t"] = (1, (2, 3))
    assert d["t"] == [1, [2, 3]]
    # keys()/values()/items() are lists read at once, not views
    assert isinstance(d.keys(), list) and isinstance(d.items(), list)


def dict_key(rng):
    # no 0, 1, 0.0 or 1.0 beside True and False: brokerd keeps them apart (documented)
    return rng.choice(["", "a", "b", "2", "None", "true", -1, 2, 3, 7, 2 ** 40, -2 ** 53,
                       2.0, -1.0, 0.5, 1e100, -2.5, None, True, False])


def dict_value(rng):
    return rng.choice([None, True, False, 0, 1, -1, 1.0, 0.5, -0.0, "", "x", [1, "a"],
                       {"k": [None]}, [], {}, (1, 2), 2 ** 62])


def dict_op(rng, size):
    k, v = dict_key(rng), dict_value(rng)
    kind = rng.choices(
        ["get", "set", "set", "set", "del", "dget", "dgetd", "pop", "popd", "popitem",
         "setdefault", "setdefault1", "update_map", "update_pairs", "update_kw", "clear",
         "keys", "values", "items", "len", "in", "iter", "copy", "eq"],
        [4, 6, 6, 6, 3, 2, 2, 2, 2, 2 if size > 3 else 0, 2, 1, 2, 2, 1,
         1 if size > 12 else 0, 1, 1, 1, 1, 2, 1, 1, 1])[0]
    if kind == "get":
        return "d[%r]" % (k,)
    if kind == "set":
        return "d[%r] = %r" % (k, v)
    if kind == "del":
        return "del d[%r]" % (k,)
    if kind == "dget":
        return "d.get(%r)" % (k,)
    if kind == "dgetd":
        return "d.get(%r, %r)" % (k, v)
    if kind == "pop":
        return "d.pop(%r)" % (k,)
    if kind == "popd":
        return "d.pop(%r, %r)" % (k, v)
    if kind == "popitem":
        return "d.popitem()"
    if kind == "setdefault":
        return "d.setdefault(%r, %r)" % (k, v)
    if kind == "setdefault1":
        return "d.setdefault(%r)" % (k,)
    pairs = [(dict_key(rng), dict_value(rng)) for _ in range(rng.randint(0, 3))]
    if kind == "update_map":
        return "d.update(%r)" % (dict(pairs),)
    if kind == "update_pairs":
        return "d.update(%r)" % (pairs,)
    if kind == "update_kw":
        names = rng.sample("abxy", min(len(pairs), 2))
        return "d.update(%s)" % ", ".join("%s=%r" % (n, v) for n, (_, v) in zip(names, pairs))
    if kind == "clear":
        return "d.clear()"
    if kind in ("keys", "values"):
        return "d.%s()" % kind
    if kind == "items":
        return "list(d.items())"
    if kind == "len":
        return "len(d)"
    if kind == "in":
        return "%r in d" % (k,)
    if kind == "iter":
        return "list(d)"
    if kind == "copy":
        return "d.copy()"
    return "d == %r" % (dict(pairs),)


@pytest.mark.parametrize("seed", seeds([20240611]))
def test_dict_random_ops_match_python(client, seed):
    rng = random.Random(seed)
    remote, local = client.dict(), {}
    for i in range(2000):
        src = dict_op(rng, len(local))
        same(remote, local, src, "d", dict_items, where="seed %d, op %d: " % (seed, i))


def test_dict_int_and_equal_float_are_one_key_near_2_63(client):
    for k in (2 ** 63 - 1024, -2 ** 63, -(2 ** 63 - 2 ** 20)):
        remote, local = client.dict(), {}
        for src in ("d[%r] = 'int'" % k, "%r in d" % float(k), "d[%r] = 'float'" % float(k),
                    "d.keys()"):
            same(remote, local, src, "d", dict_items)


def test_dict_non_scalar_key_is_a_type_error(client):
    d = client.dict()
    with pytest.raises(TypeError):
        d[[1]] = 1
    with pytest.raises(TypeError):
        [1] in d
    with pytest.raises(TypeError):
        d.get({"a": 1})


def test_dict_update_with_a_bad_pair_is_a_value_error(client):
    remote, local = client.dict(), {}
    for src in ("d.update([(1, 2, 3)])", "d.update([('a',)])", "d.update(['abc'])"):
        same(remote, local, src, "d", dict_items)


def test_int_beyond_64_bits_is_an_overflow_or_value_error(client):
    d = client.dict()
    with pytest.raises((OverflowError, ValueError)):
        d["k"] = 2 ** 63
    with pytest.raises((OverflowError, ValueError)):
        d[2 ** 64] = 1


# ---- list ----

LIST_START = [5, "a", 2.5, None, [1], 7, 5]
BOUNDS = [None, 0, 1, 6, 7, 9, -1, -3, -9]
STEPS = [None, 1, 2, -1, -3, 0, 8]


def slice_src(start, stop, step):
    r = lambda b: "" if b is None else repr(b)  # noqa: E731
    return "%s:%s" % (r(start), r(stop)) + ("" if step is None else ":%r" % step)


def test_list_slices_match_python(client):
    remote, local = client.list(None, LIST_START), list(LIST_START)
    reset = "l[:] = %r" % (LIST_START,)
    for start in BOUNDS:
        for stop in BOUNDS:
            for step in STEPS:
                s = slice_src(start, stop, step)
                n = len(range(*slice(start, stop, step).indices(7))) if step != 0 else 0
                same(remote, local, "l[%s]" % s, "l")
                for items in {n, n + 1, 0}:
                    src = "l[%s] = %r" % (s, ["x%d" % i for i in range(items)])
                    if same(remote, local, src, "l", list)[0] == "ok":
                        same(remote, local, reset, "l", list)
                same(remote, local, "del l[%s]" % s, "l", list)
                same(remote, local, reset, "l", list)


LIST_SCRIPT = [
    "l[0]", "l[6]", "l[-1]", "l[-7]", "l[7]", "l[-8]", "l[100]", "l[-100]",
    "l[1] = 'b'", "l[-1] = 6", "l[7] = 0", "l[-8] = 0", "del l[7]", "del l[-8]",
    "l['x']", "l[1.0]", "l[True]", "l['a':]", "l[::1.5]",
    "len(l)", "list(l)", "[x for x in l]", "list(reversed(l))",
    "5 in l", "5.0 in l", "'a' in l", "[1] in l", "[1.0] in l", "None in l", "9 in l",
    "l.index(5)", "l.index(5, 1)", "l.index(5, -2)", "l.index(5, 1, 6)", "l.index(5, 1, -1)",
    "l.index(5, 7)", "l.index(5, -100, 100)", "l.index(5, 100)", "l.index(5, 3, 2)",
    "l.index('a', -6, -5)", "l.index('nope')", "l.index([1])", "l.index(None)",
    "l.count(5)", "l.count(5.0)", "l.count('nope')", "l.count([1])", "l.count(None)",
    "l.insert(0, 'first')", "l.insert(-1, 'before last')", "l.insert(100, 'end')",
    "l.insert(-100, 'start')", "l.insert(3, [2, 3])", "l.insert(len(l), 'at len')",
    "l.insert(-len(l), 'at -len')", "l.insert(1.0, 'x')",
    "l.append({'k': None})", "l.append((1, 2))",
    "l.extend([8, 9])", "l.extend((10,))", "l.extend(iter([11]))", "l.extend('st')",
    "l.extend([])", "l.extend(l)", "l.extend(5)", "l += [12]", "l += (13,)", "l += 'uv'",
    "l += l", "l += 5",
    "l.pop()", "l.pop(0)", "l.pop(-2)", "l.pop(3)", "l.pop(100)", "l.pop(-100)",
    "l.pop('0')", "l.remove('s')", "l.remove(5)", "l.remove(5.0)", "l.remove('nope')",
    "l.remove([2, 3])", "l.reverse()", "l[::-1]",
    "l.clear()", "l.pop()", "l.pop(0)", "l.remove(1)", "l.index(1)", "l.count(1)", "l[0]",
    "l[:]", "l[::-1]", "del l[:]", "l.reverse()", "l.sort()", "len(l)",
    "l.extend([3, 1.0, -2, 2.5, 1, 0, -0.0, 0.0])", "l.sort()", "l.sort(reverse=True)",
    "l.sort(reverse=False)", "l.reverse()",
    "l[:] = ['b', 'a', 'B', '', 'é', 'ab']", "l.sort()", "l.sort(reverse=True)",
    "l[:] = [[2], [1, 'a'], [1], [], [1, 'B']]", "l.sort()", "l.sort(reverse=True)",
    "l[:] = [True, False, True]", "l.sort()",
    "l[:] = [None]", "l.sort()", "l[:] = [{'a': 1}]", "l.sort()",
    "l[:] = [[None], [None]]", "l.sort()",
]


def test_list_methods_match_python(client):
    remote, local = client.list(None, LIST_START), list(LIST_START)
    for src in LIST_SCRIPT:
        same(remote, local, src, "l", list)


def test_list_sort_failure_leaves_the_list_unchanged(client):
    # Python may leave a list whose sort failed partly sorted; brokerd leaves it as it was
    # (PROTOCOL.md "list.sort"): compare the exception, then brokerd's list with the start
    for items in ([3, "a", 1, 2], [2, None, 1], [{"a": 1}, {"a": 1}], [[1, "a"], [1, 2]],
                  [1, [1]], [[None], [1]]):
        for reverse in (False, True):
            remote = client.list(None, items)
            with pytest.raises(TypeError):
                sorted(items, reverse=reverse)
            with pytest.raises(TypeError):
                remote.sort(reverse=reverse)
            assert canon(list(remote)) == canon(items)


def test_list_documented_deviations(client):
    # PROTOCOL.md "Shared state": unlike Python, true and 1 are not equal, and the order
    # of a bool and a number is not defined (type_error)
    remote = client.list(None, [1, 0, True, 1.0])
    assert remote.count(True) == 1 and [1, 0, True, 1.0].count(True) == 3
    assert remote.index(True) == 2 and [1, 0, True, 1.0].index(True) == 0
    assert (False in client.list(None, [0])) is False
    with pytest.raises(ValueError):
        client.list(None, [0]).remove(False)
    with pytest.raises(TypeError):
        remote.sort()
    assert list(remote) == [1, 0, True, 1.0]
    with pytest.raises(TypeError):
        client.list(None, [[1], [True]]).sort()
    # values are JSON: tuples come back as lists
    remote.append((1, (2,)))
    assert remote[-1] == [1, [2]]
    # no key: brokerd never runs client code
    with pytest.raises(TypeError):
        remote.sort(key=str)


LIST_POOLS = {
    "numbers": [0, 1, 2, 3, -1, 1.0, 2.5, -0.0, 7, 2 ** 53, -2 ** 62],
    "mixed": [0, 1, 2, -1, 1.0, 2.5, "a", "b", "", None, [1], [1, "a"], [0, 2], [],
              {"k": 1}, [None]],
}


def list_op(rng, pool, size):
    v = rng.choice(pool)
    i = rng.choice([0, 1, 2, -1, -2, 3, 5, -6, 9, size, -size, size - 1])
    b = lambda: rng.choice([None, 0, 1, 2, 3, -1, -2, -3, 5, 8, -8, 100])  # noqa: E731
    bounds = (b(), b(), rng.choice([None, None, 1, 2, -1, -2, 3, 0]))
    s = slice_src(*bounds)
    items = [rng.choice(pool) for _ in range(rng.randint(0, 4))]
    grow = 1 if size < 30 else 0
    kind = rng.choices(
        ["append", "extend", "iadd", "insert", "pop", "pop_at", "remove", "index",
         "index_range", "count", "reverse", "sort", "sort_rev", "get", "get_slice", "set",
         "set_slice", "set_slice_len", "delete", "delete_slice", "len", "contains", "read",
         "reversed", "clear"],
        [3 * grow, 2 * grow, grow, 3 * grow, 2, 2, 2, 2, 2, 1, 1, 1, 1, 2, 2, 2, 2, 2, 1, 1,
         1, 1, 1, 1, 1 if size > 25 else 0])[0]
    if kind == "append":
        return "l.append(%r)" % (v,)
    if kind == "extend":
        return "l.extend(%r)" % (items,)
    if kind == "iadd":
        return "l += %r" % (tuple(items),)
    if kind == "insert":
        return "l.insert(%d, %r)" % (i, v)
    if kind == "pop":
        return "l.pop()"
    if kind == "pop_at":
        return "l.pop(%d)" % i
    if kind == "remove":
        return "l.remove(%r)" % (v,)
    if kind == "index":
        return "l.index(%r)" % (v,)
    if kind == "index_range":
        return "l.index(%r, %d, %d)" % (v, rng.choice([0, 1, -2, 3, -100]),
                                        rng.choice([2, 4, -1, 100, 0]))
    if kind == "count":
        return "l.count(%r)" % (v,)
    if kind == "reverse":
        return "l.reverse()"
    if kind in ("sort", "sort_rev"):
        return "l.sort(reverse=%r)" % (kind == "sort_rev")
    if kind == "get":
        return "l[%d]" % i
    if kind == "get_slice":
        return "l[%s]" % s
    if kind == "set":
        return "l[%d] = %r" % (i, v)
    if kind == "set_slice":
        return "l[%s] = %r" % (s, items)
    if kind == "set_slice_len":  # as many items as an extended slice selects
        n = len(range(*slice(*bounds).indices(size))) if bounds[2] != 0 else 1
        return "l[%s] = %r" % (s, [rng.choice(pool) for _ in range(n)])
    if kind == "delete":
        return "del l[%d]" % i
    if kind == "delete_slice":
        return "del l[%s]" % s
    if kind == "len":
        return "len(l)"
    if kind == "contains":
        return "%r in l" % (v,)
    if kind == "read":
        return "list(l)"
    if kind == "reversed":
        return "list(reversed(l))"
    return "l.clear()"


@pytest.mark.parametrize("pool", sorted(LIST_POOLS))
@pytest.mark.parametrize("seed", seeds([3]))
def test_list_random_ops_match_python(client, seed, pool):
    rng = random.Random(seed)
    remote, local = client.list(), []
    for i in range(2000):
        src = list_op(rng, LIST_POOLS[pool], len(local))
        where = "seed %d, %s pool, op %d: " % (seed, pool, i)
        if src.startswith("l.sort"):
            before = list(local)
            if run(src, "l", local)[0] == "raise":
                # Python may leave the list partly sorted; brokerd leaves it as it was
                local[:] = before
                assert run(src, "l", remote)[0] == "raise", where + src
                assert canon(list(remote)) == canon(before), where + src
                continue
            local[:] = before
        same(remote, local, src, "l", list, where=where)


def test_list_bounds_beyond_64_bits_match_python(client):
    big = 2 ** 70
    for src in ("l[0:%d]" % big, "l[-%d:]" % big, "l[::%d]" % big, "l.index(3, 0, %d)" % big,
                "l[%d]" % big, "l[%d] = 0" % big, "del l[-%d:%d:2]" % (big, big),
                "l[%d:] = [9]" % big):
        remote, local = client.list(None, [1, 2, 3, 4]), [1, 2, 3, 4]
        same(remote, local, src, "l", list)


def test_extended_slice_of_an_empty_list_takes_only_nothing(client):
    for src in ("l[::2] = [1]", "l[0:0:3] = [1, 2]", "l[5:9:2] = ['x']"):
        same(client.list(), [], src, "l", list)


# ---- queues ----

def queue_op(rng, kind, maxsize, counter):
    item = ((rng.randint(0, 3), counter) if kind == "PriorityQueue"
            else rng.choice([counter, "s%d" % counter, [counter, None], {"n": counter}]))
    return rng.choices(
        ["q.put_nowait(%r)" % (item,), "q.put(%r, timeout=0)" % (item,),
         "q.put(%r, block=False)" % (item,), "q.put(%r, False, 10)" % (item,),
         "q.get_nowait()", "q.get(block=False)", "q.get(timeout=0)", "q.get(False, 10)",
         "q.qsize()", "q.empty()", "q.full()", "q.task_done()", "q.maxsize",
         "q.put(%r, timeout=-1)" % (item,) if maxsize > 0 else "q.maxsize",
         "q.get(timeout=-0.5)"],
        [4, 2, 2, 1, 3, 2, 1, 1, 2, 2, 2, 2, 1, 1, 1])[0]


@pytest.mark.parametrize("maxsize", [0, 3, -1])
@pytest.mark.parametrize("kind", ["Queue", "LifoQueue", "PriorityQueue"])
def test_queues_match_python(client, kind, maxsize):
    rng = random.Random("%s %d" % (kind, maxsize))
    remote, local = getattr(client, kind)(None, maxsize), getattr(queue, kind)(maxsize)
    same(remote, local, "q.qsize()", "q")  # creates an unbounded queue (for stat)
    for i in range(250):
        src = queue_op(rng, kind, maxsize, i)
        same(remote, local, src, "q", where="%s(maxsize=%d), op %d: " % (kind, maxsize, i))
        assert remote.stat()["unfinished"] == local.unfinished_tasks, src
        if local.unfinished_tasks == 0:
            same(remote, local, "q.join()", "q")  # returns at once
    while not local.empty():
        same(remote, local, "q.get_nowait()", "q")
    same(remote, local, "q.get_nowait()", "q")
    assert remote.qsize() == 0


def test_queue_task_done_counts_puts_as_python(client):
    for kind in ("Queue", "LifoQueue", "PriorityQueue"):
        remote, local = getattr(client, kind)(None, 2), getattr(queue, kind)(2)
        # task_done counts puts, not gets: done twice without a get, then ValueError
        for src in ("q.task_done()", "q.put(1)", "q.put(2)", "q.task_done()",
                    "q.task_done()", "q.join()", "q.task_done()", "q.qsize()", "q.get()",
                    "q.get()", "q.task_done()", "q.empty()", "q.join()"):
            same(remote, local, src, "q", where=kind + ": ")


def test_queue_join_returns_once_all_are_done(client):
    for remote, local in ((client.Queue(None, 0), queue.Queue()),
                          (client.LifoQueue(None, 0), queue.LifoQueue())):
        for q in (remote, local):
            q.put("a")
            q.put("b")
            done = []
            t = threading.Thread(target=lambda: done.append(q.join()))
            t.start()
            if q is remote:
                wait_until(lambda: len(remote.stat()["joiners"]) == 1, what="a joiner")
            q.get()
            q.task_done()
            assert done == [] and t.is_alive()
            if q is remote:
                assert len(remote.stat()["joiners"]) == 1
            q.get()
            q.task_done()
            t.join(10)
            assert done == [None]


def test_bounded_queue_blocks_a_putter_as_python(client):
    for remote, local in ((client.Queue(None, 1), queue.Queue(1)),
                          (client.LifoQueue(None, 1), queue.LifoQueue(1)),
                          (client.PriorityQueue(None, 1), queue.PriorityQueue(1))):
        got = []
        for q in (remote, local):
            q.put((2, "first"))
            t = threading.Thread(target=q.put, args=((1, "second"),))
            t.start()
            if q is remote:
                wait_until(lambda: len(remote.stat()["putters"]) == 1, what="a putter")
            got.append([q.get(), q.get(timeout=10), q.empty()])
            t.join(10)
        assert canon(got[0]) == canon(got[1])


def test_put_with_a_negative_timeout_on_an_unbounded_queue(client):
    for kind in ("Queue", "LifoQueue", "PriorityQueue"):
        same(getattr(client, kind)(None, 0), getattr(queue, kind)(0),
             "q.put((1, 'x'), timeout=-1)", "q")


def test_priority_queue_documented_deviations(client):
    # FIFO among equal priorities (Python compares the rest of the item)
    remote, local = client.PriorityQueue(), queue.PriorityQueue()
    for q in (remote, local):
        q.put((1, "b"))
        q.put((1, "a"))
    assert remote.get() == (1, "b") and local.get() == (1, "a")
    assert remote.get() == (1, "a") and local.get() == (1, "b")
    # the priority is a number: the item's first element, or the item itself
    remote.put(2.5)
    assert remote.get() == 2.5
    for item in ("b", None, True, ()):
        with pytest.raises(TypeError):
            remote.put(item)
    # JSON: a nested tuple comes back as a list
    remote.put((1, (2, 3)))
    assert remote.get() == (1, [2, 3])


# ---- Value and Array ----

VALUE_SCRIPTS = {
    "i": ["v.value", "v.value = 5", "v.value", "v.value = -7", "v.value",
          "v.value = 2 ** 31 - 1", "v.value = -2 ** 31", "v.value",
          "v.value = 1.5", "v.value = '3'", "v.value = None", "v.value = [1]", "v.value"],
    "d": ["v.value", "v.value = 5", "v.value", "v.value = 1.5", "v.value = -0.0", "v.value",
          "v.value = 1e308", "v.value = 2 ** 40", "v.value", "v.value = 'x'",
          "v.value = None", "v.value = [1.0]", "v.value"],
}


@pytest.mark.parametrize("code", ["i", "d"])
def test_value_matches_multiprocessing(client, code):
    for init in ((), (3,)):
        remote = client.Value(None, code, *init)
        local = multiprocessing.Value(code, *init)
        for src in VALUE_SCRIPTS[code]:
            same(remote, local, src, "v", lambda v: v.value)


def test_value_documented_deviations(client):
    # brokerd checks types more strictly than ctypes (PROTOCOL.md "Values"): no bools
    for code in ("i", "d"):
        local, remote = multiprocessing.Value(code, 0), client.Value(None, code, 0)
        local.value = True
        assert local.value == 1
        with pytest.raises(TypeError):
            remote.value = True
    # an int value is signed 64-bit whatever the typecode's C width (README)
    local, remote = multiprocessing.Value("i", 0), client.Value(None, "i", 0)
    local.value = remote.value = 2 ** 31
    assert local.value == -2 ** 31 and remote.value == 2 ** 31


ARRAY_START = {"i": [3, 1, 4, 1, 5, 9], "d": [3.5, 1.0, -4.25, 1.0, 5.0, 0.5]}
ARRAY_BOUNDS = [None, 0, 2, 6, -1, -4, -9]
ARRAY_STEPS = [None, 1, 2, -1, -3, 0, 7]


@pytest.mark.parametrize("code", ["i", "d"])
def test_array_matches_multiprocessing(client, code):
    start = ARRAY_START[code]
    remote = client.Array(None, code, start)
    local = multiprocessing.Array(code, start)
    read = lambda a: a[:]  # noqa: E731
    other = [7, -2, 8, 0, 6, 1, 2, 3] if code == "i" else [7, -2.5, 8, 0.0, 1e300, 1, 2, 3]
    for src in ("len(a)", "list(a)", "a[:]", "a[0]", "a[5]", "a[-1]", "a[-6]", "a[6]",
                "a[-7]", "a[100]", "a['0']", "a[1.0]", "a[2] = 10", "a[-2] = -10",
                "a[6] = 1", "a[-7] = 1", "a[0] = 1.5", "a[0] = '1'", "a[0] = None",
                "a[0] = [1]", "a[1] = 2.0", "1.0 in a", "9 in a", "'x' in a",
                "list(reversed(a))", "del a[0]", "a.append(1)"):
        same(remote, local, src, "a", read)
    for start_ in ARRAY_BOUNDS:
        for stop in ARRAY_BOUNDS:
            for step in ARRAY_STEPS:
                s = slice_src(start_, stop, step)
                n = len(range(*slice(start_, stop, step).indices(6))) if step != 0 else 0
                same(remote, local, "a[%s]" % s, "a")
                for k in {n, n + 1, max(n - 1, 0)}:
                    src = "a[%s] = %r" % (s, other[:k])
                    if same(remote, local, src, "a", read)[0] == "ok":
                        same(remote, local, "a[:] = %r" % (start,), "a", read)


def test_array_slice_type_error_is_atomic(client):
    # ctypes stores the items before the bad one; brokerd checks them all first
    local = multiprocessing.Array("i", [1, 2, 3])
    remote = client.Array(None, "i", [1, 2, 3])
    for a in (local, remote):
        with pytest.raises(TypeError):
            a[0:2] = [9, "x"]
    assert local[:] == [9, 2, 3] and remote[:] == [1, 2, 3]


def test_array_slice_of_a_non_iterable_matches_multiprocessing(client):
    same(client.Array(None, "i", 3), multiprocessing.Array("i", 3), "a[0:2] = 5", "a",
         lambda a: a[:])


# ---- Namespace ----

NAMESPACE_SCRIPT = [
    "n.a", "n.a = 1", "n.a", "n.b = [1, {'x': None}]", "n.b", "n.a = 'again'", "n.a",
    "del n.a", "n.a", "del n.a", "del n.never", "n.never", "getattr(n, 'a', 'dflt')",
    "getattr(n, 'b', 'dflt')", "hasattr(n, 'a')", "hasattr(n, 'b')", "setattr(n, 'c', 2.5)",
    "n.c", "delattr(n, 'c')", "delattr(n, 'c')", "n.t = (1, 2)", "n.t", "n.name = 'x'",
    "n.name", "'b' in dir(n)", "'a' in dir(n)", "n.d = {'k': [1, 2.0]}", "n.d",
]


def namespace_contents(n):
    return n._asdict() if not isinstance(n, types.SimpleNamespace) else dict(vars(n))


def test_namespace_matches_simplenamespace(client):
    remote, local = client.Namespace(None, z=0), types.SimpleNamespace(z=0)
    for src in NAMESPACE_SCRIPT:
        same(remote, local, src, "n", namespace_contents)


def test_namespace_documented_deviations(client):
    # names starting with "_" are the handle's own, not stored attributes
    remote = client.Namespace()
    remote._mine = 1
    assert remote._asdict() == {} and remote._mine == 1
    with pytest.raises(AttributeError):
        remote._other
