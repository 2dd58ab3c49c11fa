"""lifo_priority.py: a process fills a LifoQueue and a PriorityQueue; the main process
empties them. LIFO: last in, first out. Priority: the lowest first element first, and
first in, first out among equal priorities (brokerd compares the priority only).

    python3 lifo_priority.py [fork|spawn]
"""
import os
import sys
from multiprocessing import Process, set_start_method

import brokerd


def fill(lifo, pq):
    for i in range(1, 6):
        lifo.put(i)
    pq.put((3, "low"))
    pq.put((1, "urgent"))
    pq.put((2, "normal"))
    pq.put((1, "urgent too"))


if __name__ == "__main__":
    method = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("START_METHOD")
    if method:
        set_start_method(method)

    m = brokerd.connect()  # instead of m = Manager()
    lifo = m.LifoQueue()
    pq = m.PriorityQueue()

    p = Process(target=fill, args=(lifo, pq))
    p.start()
    p.join()

    print("lifo:", [lifo.get() for _ in range(lifo.qsize())])
    print("priority:", [pq.get() for _ in range(pq.qsize())])
