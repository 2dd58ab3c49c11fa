#!/usr/bin/env python3
"""The Python peer of "brokerctl bench --tests lock": 8 processes contending for one
multiprocessing.Manager Lock, acquire + release pairs, for S seconds. Prints one JSON line."""
import json
import sys
import time
from multiprocessing import Process, Queue
from multiprocessing.managers import SyncManager


def contend(lock, seconds, out):
    pairs, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        lock.acquire()
        lock.release()
        pairs += 1
    out.put(pairs)


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3
    procs = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    manager = SyncManager()
    manager.start()
    lock, out = manager.Lock(), Queue()
    workers = [Process(target=contend, args=(lock, seconds, out)) for _ in range(procs)]
    for w in workers:
        w.start()
    total = sum(out.get() for _ in workers)
    for w in workers:
        w.join()
    print(json.dumps({"test": "lock", "peer": "python-manager", "processes": procs,
                      "pairs_per_sec": round(total / seconds)}))
    manager.shutdown()


if __name__ == "__main__":
    main()
