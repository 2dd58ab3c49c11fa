"""barrier.py: 3 processes meet at a Barrier(3): none goes on before all have arrived.

    python3 barrier.py [fork|spawn]
"""
import os
import sys
from multiprocessing import Process, set_start_method

import brokerd

PARTIES = 3


def worker(barrier, arrived, seen):
    arrived.add(1)
    index = barrier.wait()       # 0 to PARTIES - 1, different for each
    seen.append([index, arrived.value])


if __name__ == "__main__":
    method = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("START_METHOD")
    if method:
        set_start_method(method)

    with brokerd.connect() as m:
        barrier = m.Barrier(PARTIES)
        arrived = m.Value('i', 0)
        seen = m.list()

        procs = [Process(target=worker, args=(barrier, arrived, seen))
                 for _ in range(PARTIES)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()

        print("passed the barrier:", len(seen))
        print("wait() indexes:", sorted(index for index, _ in seen))
        print("arrived when each went on:", [n for _, n in seen])
