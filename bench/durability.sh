#!/usr/bin/env bash
# bench/durability.sh: brokerd with a data dir beside Redis (appendonly, appendfsync) and
# beanstalkd (binlog, -b) under the same fsync policies, driven alike by bench/durability.c
# (one blocking connection per client, one request in flight, the same ~100-byte item, Unix
# sockets), with an in-memory brokerd as the floor. Each server is started by the bench on a
# fresh temporary data dir; peers are interleaved in every round (order reversed every other
# round), and the summary gives medians and the medians of per-round ratios.
#   1. put+get ping-pong latency (p50, p99 per pair), fsync always and everysec
#   2. puts/s from $CLIENTS clients, the same settings
#   3. start-up with $ITEMS items in the log: exec to first answered ping (then, for brokerd
#      and Redis, again after the compaction of 4)
#   4. longest ping during a compaction of those items (brokerd save, Redis BGREWRITEAOF)
#      against the pings' normal p99
# Usage: bench/durability.sh [SECONDS]   (env: ROUNDS=5, ITEMS=1000000, CLIENTS=8,
# BENCH_TMP=/var/tmp: where the data dirs go, a real disk, not tmpfs; raw JSON lines and the
# summary on stdout)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-3}
rounds=${ROUNDS:-5}
items=${ITEMS:-1000000}
clients=${CLIENTS:-8}
if ! command -v redis-server >/dev/null || ! command -v beanstalkd >/dev/null; then
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server beanstalkd >/dev/null
fi
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j2 --target brokerd durability >/dev/null
bin=$PWD/build-bench
tmp=$(mktemp -d -p "${BENCH_TMP:-/var/tmp}" durability.XXXXXX)
server_pid=
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
persist=0
"$bin/brokerd" --help 2>&1 | grep -q -- '--data-dir' && persist=1

# alive PID: the process exists and is not a zombie (servers are started by durability and
# outlive it, so nobody here can wait for them)
alive() {
	[ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]
}
stop_server() {
	[ -z "$server_pid" ] && return 0
	kill -TERM "$server_pid" 2>/dev/null || true
	for _ in $(seq 3000); do
		alive "$server_pid" || break
		sleep 0.01
	done
	alive "$server_pid" && kill -KILL "$server_pid" 2>/dev/null
	server_pid=
}
# idle: the share of CPU time left idle over 0.3 s, in percent
idle() {
	local a b
	a=$(head -1 /proc/stat)
	sleep 0.3
	b=$(head -1 /proc/stat)
	echo "$a" "$b" | awk '{for (i = 2; i <= 11; i++) {t -= $i; t += $(i + 11)}
		print int(100 * ($16 - $5) / (t > 0 ? t : 1))}'
}
# quiet: waits (up to 5 min) until no compiler or linker runs and the CPUs are 80% idle
# between measurements, so that none shares the machine with a build
quiet() {
	for _ in $(seq 300); do
		if ! ps -eo comm= | grep -qxE 'cc1|cc1plus|ld|collect2|clang|cmake|make|ninja|gcc' &&
			[ "$(idle)" -ge 80 ]; then
			return 0
		fi
		sleep 1
	done
	echo "# measuring on a busy machine: $(cat /proc/loadavg)" >&2
}

# server_cmd PEER MODE DIR: the command line of PEER on DIR/s.sock with its data in DIR/data.
# MODE: mem (brokerd only), always, everysec, bulk (everysec, no automatic compaction).
server_cmd() {
	local peer=$1 mode=$2 dir=$3 f=$2
	[ "$f" = bulk ] && f=everysec
	case $peer in
	brokerd)
		echo "$bin/brokerd --listen ipc://$dir/s.sock --log-level info"
		[ "$mode" = mem ] || echo "--data-dir $dir/data --fsync $f"
		[ "$mode" = bulk ] && echo "--compact-min 4G"
		;;
	redis)
		echo "redis-server --port 0 --unixsocket $dir/s.sock --dir $dir/data --save '' --appendonly yes --appendfsync $f"
		[ "$mode" = bulk ] && echo "--auto-aof-rewrite-percentage 0"
		;;
	beanstalkd)
		[ "$f" = always ] && echo "beanstalkd -l unix:$dir/s.sock -b $dir/data -f0"
		[ "$f" = everysec ] && echo "beanstalkd -l unix:$dir/s.sock -b $dir/data -f1000"
		;;
	esac
	return 0
}
addr() { # addr PEER DIR
	if [ "$1" = brokerd ]; then echo "ipc://$2/s.sock"; else echo "$2/s.sock"; fi
}
# emit ROUND MODE: prefixes durability's JSON lines with the round and mode, into the results
emit() {
	sed -u "s/^{/{\"round\":$1,\"mode\":\"$2\",/" | tee -a "$tmp/results.jsonl"
}
# start PEER MODE DIR COUNT: starts the server through durability startup (timed from exec
# to its first answered ping; checks it holds COUNT items); sets server_pid; its JSON line
# goes to $tmp/start.json
start() {
	local cmd rc=0
	cmd=$(server_cmd "$1" "$2" "$3" | tr '\n' ' ')
	rm -f "$3/s.sock"
	mkdir -p "$3/data"
	echo "## $cmd" >>"$tmp/servers.log"
	eval "$bin/durability startup $1 $(addr "$1" "$3") $4 $cmd" >"$tmp/start.json" \
		2>>"$tmp/servers.log" || rc=$?
	server_pid=$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p' "$tmp/start.json")
	if [ "$rc" != 0 ]; then
		echo "# start of $1 ($2) failed: $(cat "$tmp/start.json"); its log:" >&2
		tail -5 "$tmp/servers.log" | sed 's/^/#   /' >&2
	fi
	return "$rc"
}
files() { # files PEER ROUND DIR: the data dir's size and files
	echo "{\"round\":$2,\"mode\":\"bulk\",\"test\":\"files\",\"peer\":\"$1\",\"bytes\":$(du -sb "$3/data" | cut -f1),\"files\":\"$(ls "$3/data" | tr '\n' ' ')\"}" |
		tee -a "$tmp/results.jsonl"
}

# put+get latency and put throughput, on a fresh server and data dir
run_ops() { # run_ops PEER MODE ROUND
	local dir=$tmp/$1-$2 a
	a=$(addr "$1" "$dir")
	rm -rf "$dir"
	mkdir -p "$dir"
	start "$1" "$2" "$dir" 0 || { stop_server; return 0; }
	quiet
	"$bin/durability" latency "$1" "$a" "$secs" | emit "$3" "$2" || true
	quiet
	"$bin/durability" throughput "$1" "$a" "$clients" "$secs" | emit "$3" "$2" || true
	stop_server
	rm -rf "$dir"
}
# $items in the log, start-up time, compaction pause, start-up after compaction
run_bulk() { # run_bulk PEER ROUND
	local dir=$tmp/$1-bulk a
	a=$(addr "$1" "$dir")
	rm -rf "$dir"
	mkdir -p "$dir"
	start "$1" bulk "$dir" 0 || { stop_server; return 0; }
	"$bin/durability" fill "$1" "$a" "$items" | emit "$2" bulk || true
	stop_server
	files "$1" "$2" "$dir"
	quiet
	start "$1" bulk "$dir" "$items" || true
	emit "$2" log <"$tmp/start.json"
	if [ "$1" != beanstalkd ] && [ -n "$server_pid" ]; then
		quiet
		"$bin/durability" pause "$1" "$a" 2 | emit "$2" bulk || true
		stop_server
		files "$1" "$2" "$dir"
		quiet
		start "$1" bulk "$dir" "$items" || true
		emit "$2" compacted <"$tmp/start.json"
	fi
	stop_server
	rm -rf "$dir"
}

echo "# durability bench: $(date -u +%FT%TZ), $(git rev-parse --short HEAD), ${secs}s slots, $rounds rounds, $items items, $clients clients, data in $tmp"
echo "# $(redis-server --version | cut -d' ' -f1-3), $(beanstalkd -v), $(nproc) CPUs, load $(cat /proc/loadavg)"
[ "$persist" = 1 ] || echo "# this brokerd has no --data-dir: brokerd runs in memory only"
peers=(brokerd redis beanstalkd)
for r in $(seq "$rounds"); do
	order=("${peers[@]}")
	[ $((r % 2)) = 0 ] && order=(beanstalkd redis brokerd)
	echo "# round $r: ${order[*]}, load $(cat /proc/loadavg)"
	run_ops brokerd mem "$r"
	for mode in always everysec; do
		for p in "${order[@]}"; do
			[ "$p" = brokerd ] && [ "$persist" = 0 ] && continue
			run_ops "$p" "$mode" "$r"
		done
	done
	if [ "$items" -gt 0 ]; then
		for p in "${order[@]}"; do
			[ "$p" = brokerd ] && [ "$persist" = 0 ] && continue
			run_bulk "$p" "$r"
		done
	fi
done
echo "# the servers' lines on loading:"
grep -E 'loaded|torn|repair' "$tmp/servers.log" | sed 's/^/#   /' | head -40 || true
python3 - "$tmp/results.jsonl" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
med = statistics.median
peers = ["brokerd", "redis", "beanstalkd"]
clients = max([r.get("clients", 0) for r in rows] + [0])

def vals(mode, test, peer, key):
    return {r["round"]: r[key] for r in rows
            if r["mode"] == mode and r["test"] == test and r["peer"] == peer
            and isinstance(r.get(key), (int, float)) and r[key] >= 0}

def cell(v, fmt):
    return fmt.format(med(v.values())) if v else "—"

def ratio(a, b):
    common = [r for r in a if r in b and b[r] > 0]
    return "{:.2f}".format(med(a[r] / b[r] for r in common)) if common else "—"

def line(label, mode, v):
    print(f"| {label} | {mode} | {v[0]} | {v[1]} | {v[2]} | {v[3]} | {v[4]} |")

print("\n## medians over rounds; ratios: medians of the per-round brokerd/peer")
print("\n| measure | fsync | brokerd | Redis | beanstalkd | brokerd/Redis | brokerd/beanstalkd |")
print("|---|---|---:|---:|---:|---:|---:|")
for test, key, label, fmt in (("latency", "p50_us", "put+get p50 (µs)", "{:,.0f}"),
                              ("latency", "p99_us", "put+get p99 (µs)", "{:,.0f}"),
                              ("throughput", "puts_per_sec", f"puts/s, {clients} clients",
                               "{:,.0f}")):
    for mode in ("always", "everysec"):
        v = [vals(mode, test, p, key) for p in peers]
        line(label, mode, [cell(x, fmt) for x in v] + [ratio(v[0], v[1]), ratio(v[0], v[2])])
    line(label, "in memory", [cell(vals("mem", test, "brokerd", key), fmt), "", "", "", ""])
for mode, test, key, label, fmt in (
        ("log", "startup", "seconds", "start-up, items in the log (s)", "{:.2f}"),
        ("compacted", "startup", "seconds", "start-up after compaction (s)", "{:.2f}"),
        ("bulk", "fill", "seconds", "loading the items (s, pipelined)", "{:.2f}"),
        ("bulk", "pause", "p99_us", "ping p99 before compaction (µs)", "{:,.0f}"),
        ("bulk", "pause", "max_during_us", "longest ping during compaction (µs)", "{:,.0f}"),
        ("bulk", "pause", "save_seconds", "compaction, request to done (s)", "{:.2f}")):
    v = [vals(mode, test, p, key) for p in peers]
    line(label, "everysec", [cell(x, fmt) for x in v] + [ratio(v[0], v[1]), ratio(v[0], v[2])])
EOF
