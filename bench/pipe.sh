#!/usr/bin/env bash
# bench/pipe.sh: a brokerd pipe (bench/pipe_bench.c, libbroker) against Python's
# multiprocessing.Pipe (bench/pipe_mp.py), each between two processes, one way: small
# messages (messages/s) and 1 MiB messages (MiB/s). The four run in turn within each round,
# so that the machine's drift hits all alike; prints each round, then the medians and the
# ratios of the medians (brokerd / Python).
# Usage: bench/pipe.sh [ROUNDS] [SECONDS]   (defaults 5 and 2)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
secs=${2:-2}
. bench/brokerd.sh
bench_brokerd pipe_bench
field() { python3 -c 'import json,sys; print(json.loads(sys.stdin.read())[sys.argv[1]])' "$1"; }
echo "round brokerd_small_msgs_s python_small_msgs_s brokerd_1mib_mib_s python_1mib_mib_s"
for r in $(seq "$rounds"); do
	bs=$(build-bench/pipe_bench "$url" small "$secs" | field msgs_per_sec)
	ps=$(python3 bench/pipe_mp.py small "$secs" | field msgs_per_sec)
	bb=$(build-bench/pipe_bench "$url" big "$secs" | field mib_per_sec)
	pb=$(python3 bench/pipe_mp.py big "$secs" | field mib_per_sec)
	echo "$r $bs $ps $bb $pb"
done | tee "$tmp/rows"
python3 - "$tmp/rows" <<'PY'
import statistics, sys
rows = [list(map(float, l.split()[1:])) for l in open(sys.argv[1]) if l[0].isdigit()]
bs, ps, bb, pb = (statistics.median(c) for c in zip(*rows))
print(f"\nmedians over {len(rows)} rounds")
print(f"small messages one way: brokerd {bs:,.0f}/s, multiprocessing.Pipe {ps:,.0f}/s, "
      f"ratio {bs / ps:.3f}")
print(f"1 MiB messages one way: brokerd {bb:,.1f} MiB/s, multiprocessing.Pipe {pb:,.1f} MiB/s, "
      f"ratio {bb / pb:.3f}")
PY
