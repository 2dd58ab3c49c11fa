"""event.py: 5 workers wait for a start signal (an Event) before they run.

    python3 event.py [fork|spawn]
"""
import os
import sys
from multiprocessing import Process, set_start_method

import brokerd

WORKERS = 5


def worker(i, ready, start, started):
    ready.put(i)   # "I am here"
    start.wait()   # blocks until the main process sets the event
    started.append(i)


if __name__ == "__main__":
    method = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("START_METHOD")
    if method:
        set_start_method(method)

    with brokerd.connect() as m:
        ready = m.Queue()
        start = m.Event()
        started = m.list()

        procs = [Process(target=worker, args=(i, ready, start, started))
                 for i in range(WORKERS)]
        for p in procs:
            p.start()
        for _ in procs:
            ready.get()
        print("workers ready:", WORKERS)
        print("started before the signal:", list(started))

        start.set()
        for p in procs:
            p.join()
        print("started after the signal:", sorted(started))
