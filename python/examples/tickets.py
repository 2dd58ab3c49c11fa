"""tickets.py: 4 sellers sell 50 tickets. Checking that tickets are left and taking one
happen under a Lock, so no ticket is sold twice and none is oversold.

    python3 tickets.py [fork|spawn]
"""
import os
import sys
from multiprocessing import Process, set_start_method

import brokerd

TICKETS = 50
SELLERS = 4


def seller(name, lock, left, sold, sales):
    count = 0
    while True:
        with lock:
            if left.value == 0:
                break
            sold.append(left.value)  # the ticket's number
            left.value -= 1
        count += 1
    sales[name] = count


if __name__ == "__main__":
    method = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("START_METHOD")
    if method:
        set_start_method(method)

    m = brokerd.connect()  # instead of m = Manager()
    lock = m.Lock()
    left = m.Value('i', TICKETS)
    sold = m.list()
    sales = m.dict()

    procs = [Process(target=seller, args=("seller %d" % i, lock, left, sold, sales))
             for i in range(SELLERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()

    print("tickets left:", left.value)
    print("tickets sold:", len(sold))
    print("each ticket sold once:", sorted(sold) == list(range(1, TICKETS + 1)))
    print("sellers' total:", sum(sales.values()), "by", len(sales), "sellers")
