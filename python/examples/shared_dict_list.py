"""shared_dict_list.py: 10 processes fill a shared dict and a shared list.

Keys and values are JSON: ints, floats, strings, lists, dicts with str keys...

    python3 shared_dict_list.py [fork|spawn]
"""
import os
import sys
from multiprocessing import Process, set_start_method

import brokerd


def f(d, l, i):
    d[i] = i * i
    l.append(i)


if __name__ == "__main__":
    method = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("START_METHOD")
    if method:
        set_start_method(method)

    m = brokerd.connect()  # instead of m = Manager()
    d = m.dict()
    l = m.list()

    procs = [Process(target=f, args=(d, l, i)) for i in range(10)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()

    print("dict:", dict(sorted(d.items())))
    print("list:", sorted(l))  # in the order the processes ran: sort it
