#!/usr/bin/env python3
"""bench/pool_python.py: empty-task throughput of a brokerd pool served by 4 Python workers
(python3 -m brokerd.worker --processes 4) beside multiprocessing.Pool(4), in one run:
1 and 8 submitting processes, each submitting N tasks unbatched (apply_async one by one,
then get each) and batched (one map of N). The task is builtins:abs(1) on both sides.

    python3 bench/pool_python.py BROKERD_BIN [ROUNDS] [TASKS]"""
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..", "python", "src")
sys.path.insert(0, SRC)
import brokerd  # noqa: E402


def brokerd_submitter(url, pool, n, batched, start, out):
    with brokerd.connect(url) as m:
        p = m.Pool(pool)
        start.wait()
        t0 = time.perf_counter()
        if batched:
            p.map("builtins:abs", [1] * n)
        else:
            for r in [p.apply_async("builtins:abs", (1,)) for _ in range(n)]:
                r.get()
        out.put(time.perf_counter() - t0)


def mp_submitter(pool, n, batched, start, out):
    start.wait()
    t0 = time.perf_counter()
    if batched:
        pool.map(abs, [1] * n)
    else:
        for r in [pool.apply_async(abs, (1,)) for _ in range(n)]:
            r.get()
    out.put(time.perf_counter() - t0)


def run(target, args, submitters, n):
    """run: tasks/s of `submitters` processes (threads for the mp Pool, which cannot be
    shared across processes) each doing n tasks, timed from a common start."""
    start, out = multiprocessing.Event(), multiprocessing.Queue()
    procs = [multiprocessing.Process(target=target, args=args + (start, out))
             for _ in range(submitters)]
    for p in procs:
        p.start()
    time.sleep(0.2)
    start.set()
    spans = [out.get() for _ in procs]
    for p in procs:
        p.join()
    return submitters * n / max(spans)


def run_mp(pool, submitters, n, batched):
    import queue
    import threading
    start, out = threading.Event(), queue.Queue()
    threads = [threading.Thread(target=mp_submitter, args=(pool, n, batched, start, out))
               for _ in range(submitters)]
    for t in threads:
        t.start()
    start.set()
    spans = [out.get() for _ in threads]
    for t in threads:
        t.join()
    return submitters * n / max(spans)


def main():
    binary = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
    multiprocessing.set_start_method("fork")
    with tempfile.TemporaryDirectory() as d:
        url = "ipc://%s/b.sock" % d
        daemon = subprocess.Popen([binary, "-l", url, "--log-level", "warn"])
        time.sleep(0.3)
        env = dict(os.environ, BROKERD_URL=url, PYTHONPATH=SRC)
        workers = subprocess.Popen([sys.executable, "-m", "brokerd.worker", "bench",
                                    "builtins:abs", "--processes", "4"], env=env)
        mp_pool = multiprocessing.Pool(4)
        rows = {}
        try:
            print("round  case                 brokerd_tasks_s  mp_pool_tasks_s  ratio")
            for r in range(rounds):
                for subs in (1, 8):
                    for batched in (False, True):
                        per = max(n // subs, 1)
                        b = run(brokerd_submitter, (url, "bench", per, batched), subs, per)
                        m = run_mp(mp_pool, subs, per, batched)
                        case = "%d sub, %s" % (subs, "batched" if batched else "unbatched")
                        rows.setdefault(case, []).append((b, m))
                        print("%5d  %-19s  %15.0f  %15.0f  %5.2f" % (r + 1, case, b, m, b / m))
        finally:
            mp_pool.terminate()
            workers.send_signal(signal.SIGTERM)
            workers.wait(10)
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(10)
    print("\nmedians (tasks/s):")
    for case, pairs in rows.items():
        print("  %-19s brokerd %8.0f  mp.Pool(4) %8.0f  ratio %.2f" % (
            case, statistics.median(b for b, _ in pairs),
            statistics.median(m for _, m in pairs),
            statistics.median(b / m for b, m in pairs)))


if __name__ == "__main__":
    main()
