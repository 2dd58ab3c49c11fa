#!/usr/bin/env python3
"""Writes tests/python-cases.json: random ops run on a real Python list and on
multiprocessing.Array (ctypes) arrays, each with what Python returned or raised.
test_shared replays them through brokerd's op table and expects the same (IndexError ->
index_error, ValueError -> value_error, TypeError -> type_error).
Regenerate with: python3 tests/gen_python_cases.py > tests/python-cases.json
Booleans are left out on purpose: brokerd does not treat True as 1 (PROTOCOL.md)."""
import json
import random
from multiprocessing import Array

POOL = [0, 1, 2, 3, -1, 1.0, 2.5, "a", "b", "", None, [1], [1, "a"], [0, 2]]
NUMS = [0, 1, 2, 3, -1, 1.0, 2.5, 7]
ERRORS = {IndexError: "index_error", ValueError: "value_error", TypeError: "type_error"}


def bound(rng):
    return rng.choice([None, 0, 1, 2, 3, -1, -2, -3, 5, 8, -8, 100])


def value(rng, numeric):
    return rng.choice(NUMS if numeric else POOL)


def make_op(rng, numeric):
    """One random op as (request arguments, function applying it to a Python list)."""
    kind = rng.choice(["append", "extend", "insert", "pop", "pop_at", "remove", "index",
                       "index_range", "count", "reverse", "sort", "sort_rev", "get", "get_slice",
                       "set", "set_slice", "delete", "delete_slice", "len", "contains", "read"])
    v = value(rng, numeric)
    i = rng.choice([0, 1, 2, -1, -2, 3, 5, -6, 9])
    sl = [bound(rng), bound(rng), rng.choice([None, 1, 1, 2, -1, -2, 3, 0])]
    items = [value(rng, numeric) for _ in range(rng.randint(0, 4))]
    py_slice = slice(*sl)
    if kind == "append":
        return {"op": "list.append", "value": v}, lambda l: l.append(v)
    if kind == "extend":
        return {"op": "list.extend", "items": items}, lambda l: l.extend(items)
    if kind == "insert":
        return {"op": "list.insert", "index": i, "value": v}, lambda l: l.insert(i, v)
    if kind == "pop":
        return {"op": "list.pop"}, lambda l: l.pop()
    if kind == "pop_at":
        return {"op": "list.pop", "index": i}, lambda l: l.pop(i)
    if kind == "remove":
        return {"op": "list.remove", "value": v}, lambda l: l.remove(v)
    if kind == "index":
        return {"op": "list.index", "value": v}, lambda l: l.index(v)
    if kind == "index_range":
        a, b = rng.choice([0, 1, -2, 3]), rng.choice([2, 4, -1, 100])
        return ({"op": "list.index", "value": v, "start": a, "stop": b},
                lambda l: l.index(v, a, b))
    if kind == "count":
        return {"op": "list.count", "value": v}, lambda l: l.count(v)
    if kind == "reverse":
        return {"op": "list.reverse"}, lambda l: l.reverse()
    if kind in ("sort", "sort_rev"):
        rev = kind == "sort_rev"
        return {"op": "list.sort", "reverse": rev}, lambda l: l.sort(reverse=rev)
    if kind == "get":
        return {"op": "list.get", "index": i}, lambda l: l[i]
    if kind == "get_slice":
        return {"op": "list.get", "slice": sl}, lambda l: l[py_slice]
    if kind == "set":
        def assign(l):
            l[i] = v
        return {"op": "list.set", "index": i, "value": v}, assign
    if kind == "set_slice":
        def assign_slice(l):
            l[py_slice] = items
        return {"op": "list.set", "slice": sl, "value": items}, assign_slice
    if kind == "delete":
        def delete(l):
            del l[i]
        return {"op": "list.delete", "index": i}, delete
    if kind == "delete_slice":
        def delete_slice(l):
            del l[py_slice]
        return {"op": "list.delete", "slice": sl}, delete_slice
    if kind == "len":
        return {"op": "list.len"}, len
    if kind == "contains":
        return {"op": "list.contains", "value": v}, lambda l: v in l
    return {"op": "list.read"}, list


def run(rng, name, steps, numeric):
    """steps random ops on one list; numeric lists hold numbers only, so sorts succeed."""
    lst, cases = [], []
    for _ in range(steps):
        req, apply = make_op(rng, numeric)
        req["name"] = name
        before = list(lst)
        try:
            result = apply(lst)
            want = {"result": result}
        except tuple(ERRORS) as e:
            want = {"error": ERRORS[type(e)]}
            if lst != before:  # Python changed the list and then raised: not comparable
                lst[:] = before
                continue
        cases.append([req, want])
        cases.append([{"op": "list.read", "name": name}, {"result": list(lst)}])
        if len(lst) > 12:
            lst.clear()
            cases.append([{"op": "list.clear", "name": name}, {"result": None}])
    return cases


def array_op(rng, a):
    """One random array op as (request arguments, function applying it to ctypes array a)."""
    kind = rng.choice(["get", "get_slice", "set", "set_slice", "len", "read"])
    i = rng.choice([0, 1, 2, -1, -2, 4, 5, -6, 9])
    sl = [bound(rng), bound(rng), rng.choice([None, 1, 1, 2, -1, -2, 3, 0])]
    v = rng.choice([0, 1, -7, 42, 2.5, -0.5, "x", None, [1]])
    items = [rng.choice([0, 3, 9, 1.5, "y"]) for _ in range(rng.randint(0, 5))]
    if kind == "get":
        return {"op": "array.get", "index": i}, lambda: a[i]
    if kind == "get_slice":
        return {"op": "array.get", "slice": sl}, lambda: a[slice(*sl)]
    if kind == "set":
        def assign():
            a[i] = v
        return {"op": "array.set", "index": i, "value": v}, assign
    if kind == "set_slice":
        def assign_slice():
            a[slice(*sl)] = items
        return {"op": "array.set", "slice": sl, "value": items}, assign_slice
    if kind == "len":
        return {"op": "array.len"}, lambda: len(a)
    return {"op": "array.read"}, lambda: list(a)


def run_array(rng, name, code, length, steps):
    """steps random ops on a ctypes array of length elements ('q': int64, 'd': double)."""
    a = Array(code, length, lock=False)
    cases = [[{"op": "array.create", "name": name, "type": "int" if code == "q" else "float",
               "length": length}, {"result": True}]]
    for _ in range(steps):
        req, apply = array_op(rng, a)
        req["name"] = name
        before = list(a)
        try:
            want = {"result": apply()}
        except tuple(ERRORS) as e:
            want = {"error": ERRORS[type(e)]}
            if list(a) != before:  # ctypes stored part of a slice, then raised
                a[:] = before
                continue
        cases.append([req, want])
    cases.append([{"op": "array.read", "name": name}, {"result": list(a)}])
    return cases


def main():
    rng = random.Random(20261123)
    cases = run(rng, "mixed", 700, False) + run(rng, "numbers", 700, True)
    cases += run_array(rng, "ints", "q", 5, 300) + run_array(rng, "floats", "d", 6, 300)
    print(json.dumps(cases, separators=(",", ":")))


if __name__ == "__main__":
    main()
