#!/usr/bin/env bash
# Side-by-side benchmark in one run: brokerd (brokerctl bench), Python's
# multiprocessing.Manager, Redis (redis-benchmark on a Unix socket), and the nng floor.
# Usage: bench/run.sh [SECONDS]   (installs redis-server if missing; prints a report)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-3}
scripts/deps.sh
command -v redis-server >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >/dev/null; }
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j"$(nproc)" >/dev/null
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
build-bench/brokerd --listen "ipc://$tmp/b.sock" --log-level warn &
redis-server --port 0 --unixsocket "$tmp/r.sock" --save '' --appendonly no --daemonize no >/dev/null &
sleep 0.5
ctl() { build-bench/brokerctl --url "ipc://$tmp/b.sock" "$@"; }

echo "## $(date -u +%F) on $(nproc) cores, $secs s per test"
echo
echo "### brokerd, 1 client, one op per request"; ctl bench --seconds "$secs"
echo
echo "### brokerd, 1 client, batch 64"; ctl bench --seconds "$secs" --batch 64
echo
echo "### brokerd, 8 clients, one op per request"; ctl bench --seconds "$secs" --clients 8 --tests get,queue
echo
echo "### brokerd, 8 clients, batch 64"; ctl bench --seconds "$secs" --clients 8 --batch 64 --tests get,queue
echo
echo "### brokerd locks: 8 clients contending for one lock (an op = acquire + release)"
ctl bench --seconds "$secs" --clients 8 --tests lock
echo
echo "### brokerd locks: hand-off to the next waiter after the holder is SIGKILLed"
build-bench/lock_handoff "ipc://$tmp/b.sock" build-bench/brokerctl 30
echo
echo "### shared counter: 8 processes incrementing one int (value.add, cas retries, Lock + get + set, get + set unlocked)"
build-bench/counter "ipc://$tmp/b.sock" 8 "$secs"
echo
echo "### Python multiprocessing.Manager, 1 client"; python3 bench/manager_bench.py "$secs"
echo "### Python multiprocessing.Manager Value, 8 processes incrementing (with a Manager Lock, and without)"
python3 bench/manager_counter_bench.py "$secs" 8
echo "### Python multiprocessing.Manager Lock, 8 processes contending"; python3 bench/manager_lock_bench.py "$secs" 8
echo
echo "### Redis (unix socket): test, requests/s, avg, min, p50, p95, p99, max (ms)"
echo "1 client:"
redis-benchmark -s "$tmp/r.sock" -t ping,get,set -n 50000 -c 1 --csv 2>/dev/null | tail -n +2
echo "8 clients, INCR of one key (the peer of value.add with 8 processes):"
redis-benchmark -s "$tmp/r.sock" -t incr -n 200000 -c 8 --csv 2>/dev/null | tail -n +2
echo "1 client, pipeline 64:"
redis-benchmark -s "$tmp/r.sock" -t get,set -n 1000000 -c 1 -P 64 --csv 2>/dev/null | tail -n +2
echo
echo "### nng floor: bare REQ/REP echo over ipc, 1 client"; build-bench/nng_floor "$secs"
