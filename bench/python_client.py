#!/usr/bin/env python3
"""bench/python_client.py: the Python client (python/src/brokerd) side by side with
multiprocessing's Manager doing the same, in one run, interleaved in short slots so that
the machine's drift hits both alike. Usage:

    python3 bench/python_client.py BROKERD_BIN [ROUNDS] [SECONDS] [PROCESSES]

1. one process, µs per call (p50 of each slot): dict get, and a Queue put+get pair;
2. PROCESSES processes counting for SECONDS: brokerd's Value.add, the Manager's
   `with lock: v.value += 1`, and brokerd's own Lock+get+set (the same loop on brokerd);
3. a profile of brokerd dict gets (where the client's time goes).
Prints each round, then medians and the median of per-round ratios, and one JSON line."""
import cProfile
import io
import json
import multiprocessing
import os
import pstats
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from multiprocessing.managers import SyncManager

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python", "src"))
import brokerd  # noqa: E402


def start_brokerd(binary, workdir):
    url = "ipc://%s/b.sock" % workdir
    proc = subprocess.Popen([binary, "-l", url, "--log-level", "warn"])
    for _ in range(500):
        try:
            brokerd.connect(url).close()
            return proc, url
        except brokerd.BrokerError:
            time.sleep(0.01)
    proc.kill()
    raise SystemExit("brokerd did not start")


def p50_us(fn, seconds):
    """p50_us: the median µs of fn() over seconds of back-to-back calls."""
    times = []
    clock = time.perf_counter_ns
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for _ in range(100):
            t0 = clock()
            fn()
            times.append(clock() - t0)
    return statistics.median(times) / 1000.0


def put_get(q):
    def pair():
        q.put(1)
        q.get()
    return pair


def latency(b, m, rounds, seconds):
    bd, md = b.dict("bench"), m.dict()
    bd["k"] = md["k"] = "v" * 16
    bq, mq = b.Queue("bench-q"), m.Queue()
    cases = [("dict_get", lambda: bd["k"], lambda: md["k"]),
             ("queue_put_get", put_get(bq), put_get(mq))]
    rows = {name: [] for name, _, _ in cases}
    print("round  case            brokerd_p50_us  manager_p50_us  ratio")
    for r in range(rounds):
        for name, fb, fm in cases:
            first_b = r % 2 == 0  # alternate who goes first
            order = [("b", fb), ("m", fm)] if first_b else [("m", fm), ("b", fb)]
            got = {who: p50_us(fn, seconds) for who, fn in order}
            rows[name].append((got["b"], got["m"]))
            print("%5d  %-14s  %14.1f  %14.1f  %5.2f"
                  % (r + 1, name, got["b"], got["m"], got["b"] / got["m"]))
    return {name: summarize(pairs) for name, pairs in rows.items()}


def summarize(pairs):
    return {"brokerd_p50_us": round(statistics.median(b for b, _ in pairs), 1),
            "manager_p50_us": round(statistics.median(m for _, m in pairs), 1),
            "ratio_median": round(statistics.median(b / m for b, m in pairs), 3)}


# ---- counting processes ----

def count_add(value, lock, seconds, start, out):
    start.wait()
    made, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        value.add(1)
        made += 1
    out.put(made)


def count_locked(value, lock, seconds, start, out):
    start.wait()
    made, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        with lock:
            value.value += 1
        made += 1
    out.put(made)


def counter(maker, way, procs, seconds):
    """counter: increments/s of procs processes counting for seconds; the final count must
    equal the increments made (checked)."""
    value, lock, start = maker.Value("i", 0), maker.Lock(), maker.Event()
    out = multiprocessing.Queue()
    target = count_add if way == "add" else count_locked
    workers = [multiprocessing.Process(target=target, args=(value, lock, seconds, start, out))
               for _ in range(procs)]
    for w in workers:
        w.start()
    start.set()
    made = sum(out.get() for _ in workers)
    for w in workers:
        w.join()
    if value.value != made:
        raise SystemExit("%s lost updates: %d made, %d counted" % (way, made, value.value))
    return made / seconds


def counting(b, m, rounds, seconds, procs):
    ways = [("brokerd_value_add", b, "add"), ("manager_lock_get_set", m, "lock"),
            ("brokerd_lock_get_set", b, "lock")]
    rows = {w: [] for w, _, _ in ways}
    print("\nround  %d processes, increments/s: %s" % (procs, "  ".join(w for w, _, _ in ways)))
    for r in range(rounds):
        for w, maker, how in (ways if r % 2 == 0 else ways[::-1]):
            rows[w].append(counter(maker, how, procs, seconds))
        print("%5d  %s" % (r + 1, "  ".join("%20.0f" % rows[w][-1] for w, _, _ in ways)))
    out = {w: round(statistics.median(v)) for w, v in rows.items()}
    out["add_over_manager"] = round(statistics.median(
        a / l for a, l in zip(rows["brokerd_value_add"], rows["manager_lock_get_set"])), 2)
    out["lock_over_manager"] = round(statistics.median(
        a / l for a, l in zip(rows["brokerd_lock_get_set"], rows["manager_lock_get_set"])), 2)
    return out


def profile(b, calls=20000):
    d = b.dict("bench")
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(calls):
        d["k"]
    prof.disable()
    text = io.StringIO()
    stats = pstats.Stats(prof, stream=text).sort_stats("tottime")
    stats.print_stats(14)
    print("\nprofile of %d dict gets (tottime: time in the function itself):" % calls)
    print("\n".join(line for line in text.getvalue().splitlines()
                    if line.strip() and not line.startswith(("   Ordered", "   List"))))


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    binary = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 9
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
    procs = int(sys.argv[4]) if len(sys.argv) > 4 else 8
    multiprocessing.set_start_method("fork")
    with tempfile.TemporaryDirectory() as workdir:
        proc, url = start_brokerd(binary, workdir)
        manager = SyncManager()
        manager.start(signal.signal, (signal.SIGINT, signal.SIG_IGN))
        try:
            with brokerd.connect(url) as b:
                print("python %s, %d rounds of %g s slots, cpus %d"
                      % (sys.version.split()[0], rounds, seconds, os.cpu_count()))
                lat = latency(b, manager, rounds, seconds)
                cnt = counting(b, manager, max(3, rounds // 3), seconds, procs)
                profile(b)
        finally:
            manager.shutdown()
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)
    print("\nmedians:")
    for name, row in lat.items():
        print("  %-14s brokerd %.1f us, manager %.1f us, ratio (brokerd/manager) %.2f"
              % (name, row["brokerd_p50_us"], row["manager_p50_us"], row["ratio_median"]))
    print("  counter (%d processes): brokerd Value.add %d/s, manager lock+get+set %d/s, "
          "brokerd lock+get+set %d/s; add/manager %.1fx, brokerd lock/manager lock %.2fx"
          % (procs, cnt["brokerd_value_add"], cnt["manager_lock_get_set"],
             cnt["brokerd_lock_get_set"], cnt["add_over_manager"], cnt["lock_over_manager"]))
    print(json.dumps({"test": "python_client", "latency": lat, "counter": cnt,
                      "processes": procs, "rounds": rounds, "seconds": seconds}))


if __name__ == "__main__":
    main()
