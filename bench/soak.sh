#!/usr/bin/env bash
# bench/soak.sh: the 60 s soak with 200 clients (bench/soak.c): 170 well-behaved clients
# and 30 abusive ones (oversized requests, thousands of parked gets, replies never read, big
# queue items) against a Release brokerd with --max-message 1M (and the default max-memory,
# which the pushers' 512 MiB stay under: at the limit every client's writes are refused, see
# tests/test_limits.c). Prints a line a second, the summary and a JSON line; exits 1 when a
# target is missed (p99 < 10 ms, no errors, RSS back within 10 % of its start).
# Afterwards it shows brokerd's own view (objects, sessions, waiters left) and, when gdb is
# here, what RSS malloc_trim(0) in brokerd gives back (a diagnostic: is the memory still in
# use, or only kept by glibc's allocator?).
# Usage: bench/soak.sh [soak options]   (e.g. --seconds 30 --kinds parker; soak --help)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/brokerd.sh
bench_brokerd soak brokerctl
# bench_brokerd's daemon has the default --max-message; the soak's runs beside it with 1M,
# so that a 2 MiB request is oversized.
kill $(jobs -p) && wait 2>/dev/null || true
url="ipc://$tmp/soak.sock"
build-bench/brokerd --listen "$url" --max-message 1M --log-level warn &
pid=$!
for _ in $(seq 500); do
	[ -S "$tmp/soak.sock" ] && break
	sleep 0.01
done
[ -S "$tmp/soak.sock" ] || { echo "brokerd did not start" >&2; exit 2; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
set +e
build-bench/soak "$url" --pid "$pid" "$@"
rc=$?
set -e
kill -0 "$pid" 2>/dev/null || { echo "brokerd died during the soak" >&2; exit 1; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
build-bench/brokerctl --url "$url" --json info | python3 -c '
import json, sys
i = json.load(sys.stdin)
print("after the soak: brokerd objects %s, sessions %s, waiters %s, RSS %s kB"
      % (i["objects"], i["sessions"], i["waiters"], sys.argv[1]))' "$(rss)"
if command -v gdb >/dev/null; then
	gdb -p "$pid" -batch -ex 'call (int)malloc_trim(0)' >/dev/null 2>&1 &&
		echo "after malloc_trim(0) in brokerd (gdb): RSS $(rss) kB"
fi
exit "$rc"
