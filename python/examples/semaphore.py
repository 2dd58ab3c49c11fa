"""semaphore.py: 20 workers share a Semaphore(5): at most 5 of them work at once.
Each counts itself in and out of a shared Value (under a Lock) and records the highest
count it saw.

    python3 semaphore.py [fork|spawn]
"""
import os
import sys
import time
from multiprocessing import Process, set_start_method

import brokerd

WORKERS = 20
AT_ONCE = 5


def worker(sem, lock, running, highest, done):
    with sem:
        with lock:
            running.value += 1
            if running.value > highest.value:
                highest.value = running.value
        time.sleep(0.05)  # the work
        with lock:
            running.value -= 1
    done.add(1)


if __name__ == "__main__":
    method = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("START_METHOD")
    if method:
        set_start_method(method)

    with brokerd.connect() as m:
        sem = m.Semaphore(AT_ONCE)
        lock = m.Lock()
        running = m.Value('i', 0)
        highest = m.Value('i', 0)
        done = m.Value('i', 0)

        procs = [Process(target=worker, args=(sem, lock, running, highest, done))
                 for _ in range(WORKERS)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()

        print("workers done:", done.value)
        print("max at once <= %d: %s" % (AT_ONCE, highest.value <= AT_ONCE))
        print("running at the end:", running.value)
