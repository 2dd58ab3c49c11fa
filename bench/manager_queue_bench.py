#!/usr/bin/env python3
"""The Python peer of bench/bigvalue: a multiprocessing.Manager Queue, one client putting a
SIZE-byte str and getting it back for SECONDS. Prints one JSON line with MiB/s (each item
counted once). Usage: manager_queue_bench.py SECONDS [SIZE]"""
import json
import sys
import time
from multiprocessing.managers import SyncManager


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 1 << 20
    manager = SyncManager()
    manager.start()
    q = manager.Queue()
    value = "x" * size
    items = 0
    start = time.perf_counter()
    end = start + seconds
    while time.perf_counter() < end:
        q.put(value)
        if len(q.get()) != size:
            sys.exit("manager_queue_bench: wrong item")
        items += 1
    elapsed = time.perf_counter() - start
    print(json.dumps({"test": "queue-bigvalue", "peer": "python-manager", "size": size,
                      "items": items, "mib_per_sec": round(items * size / (1 << 20) / elapsed, 1)}))
    manager.shutdown()


if __name__ == "__main__":
    main()
