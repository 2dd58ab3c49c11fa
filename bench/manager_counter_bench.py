#!/usr/bin/env python3
"""The Python peer of bench/counter.c: P processes incrementing one multiprocessing.Manager
Value for S seconds, under a Manager Lock ("lock") and without one ("getset", which loses
updates). The Manager has no atomic add. Prints one JSON line per way."""
import json
import sys
import time
from multiprocessing import Process, Queue
from multiprocessing.managers import SyncManager


def count(value, lock, seconds, start, out):
    start.wait()
    made, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        if lock is not None:
            with lock:
                value.value += 1
        else:
            value.value += 1
        made += 1
    out.put(made)


def run(manager, way, procs, seconds):
    value, start, out = manager.Value("i", 0), manager.Event(), Queue()
    lock = manager.Lock() if way == "lock" else None
    workers = [Process(target=count, args=(value, lock, seconds, start, out))
               for _ in range(procs)]
    for w in workers:
        w.start()
    start.set()
    made = sum(out.get() for _ in workers)
    for w in workers:
        w.join()
    print(json.dumps({"test": "counter", "peer": "python-manager", "way": way,
                      "processes": procs, "increments_per_sec": round(made / seconds),
                      "increments": made, "final_count": value.value,
                      "lost": made - value.value}))


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3
    procs = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    manager = SyncManager()
    manager.start()
    for way in ("lock", "getset"):
        run(manager, way, procs, seconds)
    manager.shutdown()


if __name__ == "__main__":
    main()
