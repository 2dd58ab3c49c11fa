"""condition.py: 3 consumers wait on a Condition until an item is available
(cond.wait_for); a producer adds 3 items, notifying once per item.

    python3 condition.py [fork|spawn]
"""
import os
import sys
import time
from multiprocessing import Process, set_start_method

import brokerd

CONSUMERS = 3


def consumer(cond, items, consumed):
    with cond:
        cond.wait_for(lambda: len(items) > 0)
        consumed.append(items.pop(0))


def producer(cond, items):
    for i in range(CONSUMERS):
        time.sleep(0.05)
        with cond:
            items.append("item %d" % i)
            cond.notify()


if __name__ == "__main__":
    method = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("START_METHOD")
    if method:
        set_start_method(method)

    with brokerd.connect() as m:
        cond = m.Condition()
        items = m.list()
        consumed = m.list()

        procs = [Process(target=consumer, args=(cond, items, consumed))
                 for _ in range(CONSUMERS)]
        procs.append(Process(target=producer, args=(cond, items)))
        for p in procs:
            p.start()
        for p in procs:
            p.join()

        print("consumed:", sorted(consumed))
        print("left over:", list(items))
