"""pool_mp.py: Python's multiprocessing.Pool(4) running empty tasks, as bench/pool_bench.c
does with a brokerd pool: SUBMITTERS threads of the parent (Pool has one parent) each run
TASKS tasks, "single" (apply_async of each, then a get of each) or "batched" and
"chunked" (both: map of 1000 items at a time, with Pool's own chunking). Prints one JSON line: {"tasks_per_sec", ...}.
Usage: python3 bench/pool_mp.py SUBMITTERS single|batched|chunked TASKS"""
import json
import multiprocessing as mp
import sys
import threading
import time


def noop(_=None):
    return None


def single(pool, n):
    results = [pool.apply_async(noop) for _ in range(n)]
    for r in results:
        r.get()


def batched(pool, n):
    items = [None] * 1000
    for _ in range(0, n, 1000):
        pool.map(noop, items)


def main():
    subs, mode, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    run = single if mode == "single" else batched  # "chunked": map chunks anyway
    with mp.get_context("fork").Pool(4) as pool:
        pool.map(noop, range(4))  # the workers are up
        threads = [threading.Thread(target=run, args=(pool, n)) for _ in range(subs)]
        start = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        secs = time.monotonic() - start
    print(json.dumps({"tasks_per_sec": round(n * subs / secs), "tasks": n * subs,
                      "submitters": subs, "mode": mode, "workers": 4,
                      "seconds": round(secs, 3)}))


if __name__ == "__main__":
    main()
