#!/usr/bin/env bash
# bench/run.sh: brokerd against the targets of the transport rewrite, each a ratio measured
# within this one run: this tree's brokerd ("new") beside today's ("old", commit $OLD built
# here from a temporary git worktree, with its own brokerctl and libbroker), Python's
# multiprocessing.Manager, Redis on a Unix socket, and bench/socket_floor (a plain
# single-threaded Unix-socket server doing the same JSON work). Every measurement is repeated
# in $ROUNDS rounds that alternate the order (old, new, peers / peers, new, old); the summary
# shows medians.
# Usage: bench/run.sh [SECONDS]   (env: ROUNDS=5, OLD=4a1e886; EXTRAS=1 adds the lock,
# shared-counter and Manager lock/counter benchmarks against the new brokerd; prints a report)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
secs=${1:-3}
rounds=${ROUNDS:-5}
old_rev=${OLD:-4a1e886}
scripts/deps.sh
command -v redis-server >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >/dev/null; }

tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	git -C "$root" worktree remove --force "$tmp/old-src" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# ---- builds: this tree, and $old_rev (cached in build-bench-old/REV) ----
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j2 --target brokerd brokerctl bigvalue socket_floor sp_load lock_handoff counter >/dev/null
new=$root/build-bench
old=$root/build-bench-old/$old_rev
if [ ! -x "$old/bigvalue" ]; then
	echo "building brokerd $old_rev (today's) in $old ..." >&2
	git worktree add --detach "$tmp/old-src" "$old_rev" >/dev/null 2>&1
	cmake -S "$tmp/old-src" -B "$old" -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$old" -j2 --target brokerd brokerctl broker >/dev/null
	# the same bigvalue source, against the old libbroker
	cc -O2 -std=gnu11 -I"$tmp/old-src/client" -I"$tmp/old-src/proto" bench/bigvalue.c \
		-o "$old/bigvalue" -L"$old" -lbroker $(pkg-config --cflags --libs jansson) \
		-Wl,-rpath,"$old"
	git worktree remove --force "$tmp/old-src"
fi

# ---- daemons ----
start_daemon() { # start_daemon BUILD NAME: starts BUILD/brokerd on $tmp/NAME.sock; prints its pid
	"$1/brokerd" --listen "ipc://$tmp/$2.sock" --log-level warn >"$tmp/$2.log" 2>&1 &
	local pid=$!
	for _ in $(seq 500); do
		"$1/brokerctl" --url "ipc://$tmp/$2.sock" ping >/dev/null 2>&1 && break
		sleep 0.01
	done
	echo "$pid"
}
new_pid=$(start_daemon "$new" new)
pids+=("$new_pid")
old_pid=$(start_daemon "$old" old)
pids+=("$old_pid")
redis-server --port 0 --unixsocket "$tmp/r.sock" --save '' --appendonly no --daemonize no >/dev/null &
redis_pid=$!
pids+=("$redis_pid")
for _ in $(seq 500); do redis-cli -s "$tmp/r.sock" ping >/dev/null 2>&1 && break; sleep 0.01; done
redis-cli -s "$tmp/r.sock" set key:__rand_int__ xxx >/dev/null

# ---- measuring ----
results=$tmp/results.tsv
: >"$results"
rec() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$results"; } # rec METRIC WHO VALUE
field() { python3 -c 'import json,sys
d=json.loads(sys.stdin.read()); d=d[0] if isinstance(d,list) else d; print(d[sys.argv[1]])' "$1"; }
# cost PID: CPU ticks (utime+stime, all threads) and context switches (all threads) so far
cost() {
	local ticks sw
	ticks=$(awk '{print $14 + $15}' "/proc/$1/stat")
	sw=$(cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches/ {s += $2} END {print s}')
	echo "$ticks $sw"
}
tck=$(getconf CLK_TCK)
# per_req WHO PID BEFORE AFTER OPS: records CPU us and context switches per request
per_req() {
	read -r t0 s0 <<<"$3"
	read -r t1 s1 <<<"$4"
	rec cpu_us_per_req "$1" "$(python3 -c "print(round(($t1-$t0)*1e6/$tck/$5, 2))")"
	rec ctxsw_per_req "$1" "$(python3 -c "print(round(($s1-$s0)/$5, 3))")"
}

brokerd_round() { # brokerd_round WHO BUILD PID
	local who=$1 b=$2 pid=$3 url="ipc://$tmp/$1.sock" out before after
	before=$(cost "$pid")
	out=$("$b/brokerctl" --url "$url" --json bench --seconds "$secs" --tests get)
	after=$(cost "$pid")
	rec get_p50_us "$who" "$(field p50_us <<<"$out")"
	rec get_ops_1c "$who" "$(field ops_per_sec <<<"$out")"
	per_req "$who" "$pid" "$before" "$after" "$(field ops <<<"$out")"
	out=$("$b/brokerctl" --url "$url" --json bench --seconds "$secs" --clients 8 --tests get)
	rec get_ops_8c "$who" "$(field ops_per_sec <<<"$out")"
	out=$("$new/sp_load" "$url" 8 "$secs") # the same wire for both daemons
	rec get_ops_8c_loop "$who" "$(field ops_per_sec <<<"$out")"
	out=$("$b/brokerctl" --url "$url" --json bench --seconds "$secs" --batch 64 --tests get)
	rec get_ops_batch64 "$who" "$(field ops_per_sec <<<"$out")"
	out=$("$b/bigvalue" "$url" "$secs")
	rec queue_1mib_mib_s "$who" "$(field mib_per_sec <<<"$out")"
}

peers_round() {
	local out before after n1=$((secs * 12000)) n8=$((secs * 40000))
	out=$(python3 bench/manager_bench.py "$secs" get)
	rec get_p50_us manager "$(field p50_us <<<"$out")"
	rec get_ops_1c manager "$(field ops_per_sec <<<"$out")"
	out=$(python3 bench/manager_queue_bench.py "$secs")
	rec queue_1mib_mib_s manager "$(field mib_per_sec <<<"$out")"
	before=$(cost "$redis_pid")
	out=$(redis-benchmark -s "$tmp/r.sock" -t get -n "$n1" -c 1 --csv 2>/dev/null | tail -1)
	after=$(cost "$redis_pid")
	rec get_p50_us redis "$(echo "$out" | tr -d '"' | awk -F, '{print $5 * 1000}')"
	rec get_ops_1c redis "$(echo "$out" | tr -d '"' | awk -F, '{print $2}')"
	per_req redis "$redis_pid" "$before" "$after" "$n1"
	out=$(redis-benchmark -s "$tmp/r.sock" -t get -n "$n8" -c 8 --csv 2>/dev/null | tail -1)
	rec get_ops_8c redis "$(echo "$out" | tr -d '"' | awk -F, '{print $2}')"
	rec get_ops_8c_loop redis "$(echo "$out" | tr -d '"' | awk -F, '{print $2}')"
	out=$("$new/socket_floor" "$secs")
	rec get_p50_us floor "$(field p50_us <<<"$out")"
	rec get_ops_1c floor "$(field ops_per_sec <<<"$out")"
	rec cpu_us_per_req floor "$(field server_cpu_us_per_req <<<"$out")"
	rec ctxsw_per_req floor "$(field server_ctxsw_per_req <<<"$out")"
}

echo "## $(date -u '+%F %H:%M') UTC on $(nproc) cores: $rounds rounds, $secs s per test"
echo "new = this tree ($(git rev-parse --short HEAD)$(git diff --quiet HEAD -- brokerd client proto || echo ', modified')), old = $old_rev"
for r in $(seq "$rounds"); do
	echo "round $r/$rounds ..." >&2
	if [ $((r % 2)) -eq 1 ]; then
		brokerd_round old "$old" "$old_pid"
		brokerd_round new "$new" "$new_pid"
		peers_round
	else
		peers_round
		brokerd_round new "$new" "$new_pid"
		brokerd_round old "$old" "$old_pid"
	fi
done
cp "$results" build-bench/results.tsv

python3 - "$results" <<'EOF'
import statistics, sys
from collections import defaultdict
vals = defaultdict(list)
for line in open(sys.argv[1]):
    metric, who, v = line.rstrip("\n").split("\t")
    vals[metric, who].append(float(v))
med = {k: statistics.median(v) for k, v in vals.items()}


def fmt(v):
    return f"{v:.0f}" if abs(v) >= 1000 else f"{v:.4g}"


print("\n### All measurements: median (min..max) over rounds")
whos = ["new", "old", "manager", "redis", "floor"]
metrics = ["get_p50_us", "get_ops_1c", "get_ops_8c", "get_ops_8c_loop", "get_ops_batch64", "queue_1mib_mib_s",
           "cpu_us_per_req", "ctxsw_per_req"]
print(f"{'METRIC':18}" + "".join(f"{w:>26}" for w in whos))
for m in metrics:
    cells = []
    for w in whos:
        v = vals.get((m, w))
        cells.append(f"{fmt(statistics.median(v))} ({fmt(min(v))}..{fmt(max(v))})" if v else "-")
    print(f"{m:18}" + "".join(f"{c:>26}" for c in cells))

# metric, label, peer, target: (">=", x) new/peer at least x; ("<=", x) at most x; None: reported
rows = [
    ("get_p50_us", "1 client dict.get p50 (us)", "manager", ("<=", 1.0)),
    ("get_p50_us", "1 client dict.get p50 (us)", "redis", ("<=", 1.0)),
    ("get_p50_us", "1 client dict.get p50 (us)", "old", None),
    ("get_ops_8c", "8 clients unbatched ops/s", "old", (">=", 3.0)),
    ("get_ops_8c", "8 clients unbatched ops/s", "redis", None),
    # like for like with redis-benchmark -c 8: one client thread driving 8 connections
    ("get_ops_8c_loop", "8 conns, 1 loop, ops/s", "old", (">=", 3.0)),
    ("get_ops_8c_loop", "8 conns, 1 loop, ops/s", "redis", (">=", 0.7)),
    ("get_ops_batch64", "batch 64 ops/s (1 client)", "old", (">=", 2.0)),
    ("queue_1mib_mib_s", "1 MiB queue put+get MiB/s", "manager", (">=", 1.0)),
    ("queue_1mib_mib_s", "1 MiB queue put+get MiB/s", "old", None),
    ("cpu_us_per_req", "server CPU us/request", "old", None),
    ("cpu_us_per_req", "server CPU us/request", "floor", None),
    ("cpu_us_per_req", "server CPU us/request", "redis", None),
    ("ctxsw_per_req", "server ctx switches/request", "old", None),
    ("ctxsw_per_req", "server ctx switches/request", "floor", None),
]
print("\n### Summary (medians; ratio = new / peer)")
print(f"{'METRIC':30}{'NEW':>10}{'PEER':>10}{'VALUE':>10}{'RATIO':>8}{'TARGET':>8}  MET?")
for m, label, peer, target in rows:
    n, p = med.get((m, "new")), med.get((m, peer))
    if n is None or p is None:
        print(f"{label:30}{'-':>10}{peer:>10}{'-':>10}{'-':>8}{'':>8}  not measured")
        continue
    ratio = n / p if p else float("inf")
    if target:
        op, x = target
        met = ratio >= x if op == ">=" else ratio <= x
        t, verdict = f"{op}{x:g}", "yes" if met else "NO"
    else:
        t, verdict = "-", "(reported)"
    print(f"{label:30}{fmt(n):>10}{peer:>10}{fmt(p):>10}{ratio:>8.2f}{t:>8}  {verdict}")
EOF

[ "${EXTRAS:-0}" = 1 ] || exit 0
url="ipc://$tmp/new.sock"
echo
echo "### new brokerd locks: 8 clients contending for one lock (an op = acquire + release)"
"$new/brokerctl" --url "$url" bench --seconds "$secs" --clients 8 --tests lock
echo
echo "### new brokerd locks: hand-off to the next waiter after the holder is SIGKILLed"
"$new/lock_handoff" "$url" "$new/brokerctl" 30
echo
echo "### shared counter: 8 processes incrementing one int (value.add, cas retries, Lock + get + set, get + set unlocked)"
"$new/counter" "$url" 8 "$secs"
echo
echo "### Python multiprocessing.Manager Value, 8 processes incrementing (with a Manager Lock, and without)"
python3 bench/manager_counter_bench.py "$secs" 8
echo "### Python multiprocessing.Manager Lock, 8 processes contending"
python3 bench/manager_lock_bench.py "$secs" 8
echo "### Redis: 8 clients, INCR of one key (the peer of value.add with 8 processes)"
redis-benchmark -s "$tmp/r.sock" -t incr -n 200000 -c 8 --csv 2>/dev/null | tail -n +2
