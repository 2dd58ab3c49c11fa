"""producer_consumer.py: a producer puts 20 numbers on a JoinableQueue; 3 consumers square
them. The main process waits with q.join() until every item is marked task_done(), then
stops the consumers with one None sentinel each.

    python3 producer_consumer.py [fork|spawn]
"""
import os
import sys
from multiprocessing import Process, set_start_method

import brokerd

ITEMS = 20
CONSUMERS = 3


def producer(q):
    for i in range(ITEMS):
        q.put(i)


def consumer(q, results):
    while True:
        item = q.get()
        if item is None:  # the sentinel: no more work
            q.task_done()
            break
        results.append(item * item)
        q.task_done()


if __name__ == "__main__":
    method = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("START_METHOD")
    if method:
        set_start_method(method)

    with brokerd.connect() as m:
        q = m.JoinableQueue()
        results = m.list()

        consumers = [Process(target=consumer, args=(q, results)) for _ in range(CONSUMERS)]
        for c in consumers:
            c.start()
        p = Process(target=producer, args=(q,))
        p.start()
        p.join()

        q.join()  # returns once every item put has been marked done
        print("items processed:", len(results))

        for _ in consumers:
            q.put(None)
        q.join()
        for c in consumers:
            c.join()
        print("squares:", sorted(results))
