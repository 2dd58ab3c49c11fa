#!/usr/bin/env bash
# bench/pool.sh: empty-task throughput (tasks/s) of a brokerd pool of 4 worker processes
# (bench/pool_bench.c: libbroker's apply_async and map, brk_worker_run) against Python's
# multiprocessing.Pool(4) (bench/pool_mp.py), with 1 and 8 submitters, one task per request
# ("single"), maps of 1000 one task an item ("batched") and maps of 1000 in chunks of 63
# calls, Python's own chunksize for them ("chunked"). Each round runs all eight in turn; prints each
# round, then the medians and the ratios (brokerd / Python).
# Usage: bench/pool.sh [ROUNDS] [TASKS]   (defaults 3 and 10000 per submitter)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
tasks=${2:-10000}
. bench/brokerd.sh
bench_brokerd pool_bench
rate() { python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["tasks_per_sec"])'; }
cases="1:single 8:single 1:batched 8:batched 1:chunked 8:chunked"
echo "round case brokerd_tasks_s python_tasks_s"
for r in $(seq "$rounds"); do
	for c in $cases; do
		subs=${c%%:*} mode=${c#*:}
		b=$(build-bench/pool_bench "$url" "$subs" "$mode" "$tasks" | rate)
		p=$(python3 bench/pool_mp.py "$subs" "$mode" "$tasks" | rate)
		echo "$r ${subs}x$mode $b $p"
	done
done | tee "$tmp/rows"
python3 - "$tmp/rows" <<'PY'
import collections, statistics, sys
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    if line[0].isdigit():
        _, case, b, p = line.split()
        rows[case].append((float(b), float(p)))
print()
for case, vals in rows.items():
    b = statistics.median(v[0] for v in vals)
    p = statistics.median(v[1] for v in vals)
    print(f"{case:>10}: brokerd {b:>9,.0f} tasks/s, multiprocessing.Pool(4) {p:>9,.0f} tasks/s, "
          f"ratio {b / p:.3f}")
PY
