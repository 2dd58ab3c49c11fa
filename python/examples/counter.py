"""counter.py: 10 processes add 1 to a shared counter 100 times each.

Without a lock, `v.value += 1` is a read followed by a write: two processes may read the
same value and one update is lost. With a Lock around it, or with brokerd's atomic
`v.add(1)`, the count is exact.

    python3 counter.py [fork|spawn]
"""
import os
import sys
from multiprocessing import Process, set_start_method

import brokerd

PROCESSES = 10
TIMES = 100


def unlocked(v):
    for _ in range(TIMES):
        v.value += 1  # read, then write: not atomic


def locked(v, lock):
    for _ in range(TIMES):
        with lock:
            v.value += 1


def atomic(v):
    for _ in range(TIMES):
        v.add(1)  # one atomic op in brokerd


def run(target, *args):
    procs = [Process(target=target, args=args) for _ in range(PROCESSES)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()


if __name__ == "__main__":
    method = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("START_METHOD")
    if method:
        set_start_method(method)

    m = brokerd.connect()  # instead of m = Manager()
    expected = PROCESSES * TIMES

    v = m.Value('i', 0)
    run(unlocked, v)
    n = v.value
    print("counter without a lock: %d (%d updates lost)" % (n, expected - n))

    v = m.Value('i', 0)
    run(locked, v, m.Lock())
    print("counter with a lock:", v.value)

    v = m.Value('i', 0)
    run(atomic, v)
    print("counter with atomic add:", v.value)
