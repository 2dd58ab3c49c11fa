#!/usr/bin/env python3
"""The Python peer of "brokerctl bench": multiprocessing.Manager doing the same ops.

Usage: manager_bench.py [SECONDS [TESTS]] (TESTS: comma-separated, of get,set,queue).
Prints one JSON object per test: ops_per_sec, p50_us and p99_us of single round trips,
measured from one client process against the Manager's server process.
"""
import json
import statistics
import sys
import time
from multiprocessing.managers import SyncManager


def measure(name, op, seconds):
    lat = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        op()
        lat.append((time.perf_counter() - t0) * 1e6)
    lat.sort()
    return {
        "test": name,
        "peer": "python-manager",
        "ops_per_sec": round(len(lat) / sum(lat) * 1e6),
        "p50_us": round(statistics.median(lat), 1),
        "p99_us": round(lat[int(len(lat) * 0.99)], 1),
    }


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3
    only = sys.argv[2].split(",") if len(sys.argv) > 2 else None  # e.g. "get"
    manager = SyncManager()
    manager.start()
    d = manager.dict()
    d["k"] = "v"
    q = manager.Queue()

    def put_get():
        q.put(1)
        q.get()

    for name, op in (("get", lambda: d.get("k")), ("set", lambda: d.__setitem__("k", "v")),
                     ("queue", put_get)):
        if only and name not in only:
            continue
        result = measure(name, op, seconds)
        if name == "queue":  # two round trips per iteration, as brokerctl counts them
            result["ops_per_sec"] *= 2
            result["p50_us"] = round(result["p50_us"] / 2, 1)
            result["p99_us"] = round(result["p99_us"] / 2, 1)
        print(json.dumps(result))
    manager.shutdown()


if __name__ == "__main__":
    main()
