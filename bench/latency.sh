#!/usr/bin/env bash
# bench/latency.sh: one client, one dict get per round trip: brokerd (brokerctl bench),
# Python's Manager and Redis (redis-benchmark -c 1) in short slots, interleaved over many
# rounds so that the machine's drift hits all three alike. Prints each round's p50s, then
# the medians and the median of the per-round ratios (brokerd / peer).
# Usage: bench/latency.sh [ROUNDS] [SECONDS]   (defaults 15 and 1)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-15}
secs=${2:-1}
scripts/deps.sh
command -v redis-server >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >/dev/null; }
. bench/brokerd.sh
bench_brokerd brokerctl
redis-server --port 0 --unixsocket "$tmp/r.sock" --save '' --appendonly no >/dev/null &
for _ in $(seq 500); do
	redis-cli -s "$tmp/r.sock" set key:__rand_int__ v >/dev/null 2>&1 && break
	sleep 0.01
done

p50() { python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); d=d[0] if isinstance(d,list) else d; print(d["p50_us"])'; }
echo "round brokerd_p50_us manager_p50_us redis_p50_us"
for r in $(seq "$rounds"); do
	b=$(build-bench/brokerctl --url "ipc://$tmp/b.sock" --json bench --seconds "$secs" --tests get | p50)
	m=$(python3 bench/manager_bench.py "$secs" get | p50)
	n=$((secs * 8000))
	x=$(redis-benchmark -s "$tmp/r.sock" -t get -n "$n" -c 1 --csv 2>/dev/null | tail -1 | tr -d '"' | awk -F, '{print $5 * 1000}')
	echo "$r $b $m $x"
done | tee "$tmp/rows"
python3 - "$tmp/rows" <<'EOF'
import statistics, sys
rows = [list(map(float, l.split()[1:])) for l in open(sys.argv[1]) if l[0].isdigit()]
b, m, r = zip(*rows)
med = statistics.median
print(f"\nmedian p50 (us): brokerd {med(b):.1f}, manager {med(m):.1f}, redis {med(r):.1f}")
print(f"median of per-round ratios: brokerd/manager {med(x / y for x, y in zip(b, m)):.2f}, "
      f"brokerd/redis {med(x / y for x, y in zip(b, r)):.2f} (target: <= 1 each)")
EOF
