"""pool.py: the classic Pool example: 100 apply_async calls of a function returning i + 100,
served by 5 worker processes; every callback runs here, in the submitting process, once.
With multiprocessing this is `with Pool(5) as pool:`; a brokerd pool's workers are
processes of their own (here started by this program; usually `python3 -m brokerd.worker
POOL module:function --processes 5`, on any machine), and one that dies loses no task.

    python3 pool.py [fork|spawn]
"""
import os
import sys
from multiprocessing import Process, set_start_method

import brokerd
from brokerd.worker import serve


def plus100(i):
    return i + 100


def work(pool_name):
    serve(pool_name, {"pool:plus100": plus100})  # until the pool is closed and drained


if __name__ == "__main__":
    method = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("START_METHOD")
    if method:
        set_start_method(method)

    with brokerd.connect() as m:
        pool = m.Pool()
        workers = [Process(target=work, args=(pool.name,)) for _ in range(5)]
        for w in workers:
            w.start()
        results = []
        handles = [pool.apply_async("pool:plus100", (i,), callback=results.append)
                   for i in range(100)]
        for h in handles:
            h.wait()
        pool.close()
        pool.join()
        for w in workers:
            w.join()
        print("callbacks run:", len(results))
        print("results:", sorted(results) == [i + 100 for i in range(100)])
        print("workers exited:", [w.exitcode for w in workers])
