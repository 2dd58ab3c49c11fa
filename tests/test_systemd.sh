#!/usr/bin/env bash
# test_systemd.sh BUILD_DIR: the installed unit passes `systemd-analyze verify` with nothing
# printed and scores 2.0 or less in `systemd-analyze security`; brokerd, run as the unit runs
# it (its config, an unprivileged user) under strace, makes only system calls the unit's
# SystemCallFilter= allows, opens no /proc or /dev file its sandbox hides, writes only its
# two directories, and tells systemd READY=1 (once it answers), STATUS=, WATCHDOG=1, STOPPING=1.
# Exit 77 (skipped) without systemd-analyze; the strace part is skipped without strace.
set -euo pipefail
build=$(cd "$1" && pwd)
max_score=2.0
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v systemd-analyze >/dev/null || { echo "skip: systemd-analyze is not installed"; exit 77; }
grep -q '^SCDOC:FILEPATH=.*NOTFOUND' "$build/CMakeCache.txt" &&
	{ echo "skip: no scdoc, so the build cannot be installed"; exit 77; }

tmp=$(mktemp -d)
daemon=
listener=
cleanup() {
	if [ -n "$daemon" ]; then
		kill -KILL $(pgrep -P "$daemon") "$daemon" 2>/dev/null
		wait "$daemon" 2>/dev/null
	fi
	[ -n "$listener" ] && kill "$listener" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
chmod 755 "$tmp"
p=$tmp/p
cmake --install "$build" --prefix "$p" >"$tmp/install.log" || { cat "$tmp/install.log"; fail "install"; }
unit=$p/lib/systemd/system/brokerd.service

echo "== systemd-analyze verify"
# MANPATH: verify runs man(1) on each Documentation=man: page, which must be the installed ones.
out=$(MANPATH=$p/share/man SYSTEMD_LOG_COLOR=0 systemd-analyze verify "$unit" 2>&1) || true
[ -z "$out" ] || { echo "$out"; fail "systemd-analyze verify printed the above"; }

echo "== systemd-analyze security"
report=$(systemd-analyze security --offline=yes --no-pager "$unit" 2>&1) || true
score=$(sed -n 's/.*Overall exposure level for brokerd.service: \([0-9.]*\) .*/\1/p' <<<"$report")
[ -n "$score" ] || { echo "$report"; fail "no score"; }
echo "exposure $score (at most $max_score)"
awk -v s="$score" -v m="$max_score" 'BEGIN { exit !(s <= m) }' ||
	{ grep '✗' <<<"$report"; fail "exposure $score is over $max_score"; }

grep -q '^BROKER_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" &&
	{ echo "sanitized build: the system call check is skipped (the ASan runtime's own calls)"; exit 0; }
command -v strace >/dev/null || { echo "strace not installed: the system call check is skipped"; exit 0; }
strace -f -qq -o /dev/null true 2>/dev/null || { echo "no ptrace here: system call check skipped"; exit 0; }

echo "== system calls of brokerd as the unit runs it, against SystemCallFilter="
# expand @GROUP|NAME...: the system calls they name, nested groups expanded.
expand() {
	local x
	for x in "$@"; do
		if [[ $x == @* ]]; then
			# shellcheck disable=SC2046 # a list of names, one a word
			expand $(systemd-analyze syscall-filter --no-pager "$x" | awk 'NR > 1 && $1 !~ /^#/ { print $1 }')
		else
			echo "$x"
		fi
	done
}
: >"$tmp/allowed"
while IFS= read -r line; do # SystemCallFilter= lines in order: the first sets, ~ takes away
	list=${line#SystemCallFilter=}
	if [[ $list == '~'* ]]; then
		expand ${list#\~} | sort -u >"$tmp/deny"
		comm -23 "$tmp/allowed" "$tmp/deny" >"$tmp/a" && mv "$tmp/a" "$tmp/allowed"
	else
		{ cat "$tmp/allowed"; expand $list; } | sort -u >"$tmp/a" && mv "$tmp/a" "$tmp/allowed"
	fi
done < <(grep '^SystemCallFilter=' "$unit")
[ -s "$tmp/allowed" ] || fail "the unit has no SystemCallFilter="

# As the unit: its ExecStart's config (paths moved here), an unprivileged user when root.
user=()
if [ "$(id -u)" = 0 ]; then
	user=(setpriv --reuid=nobody --regid="$(id -gn nobody)" --clear-groups)
	BROKERD_DAEMON_UID=$(id -u nobody)
	export BROKERD_DAEMON_UID
fi
mkdir -m 700 "$tmp/data"
[ "$(id -u)" = 0 ] && chown nobody "$tmp/data" && chmod 777 "$tmp"
sock=$tmp/run/brokerd.sock
config=$(sed -n 's/^ExecStart=[^ ]* --config //p' "$unit")
sed -e "s|/run/brokerd/brokerd.sock|$sock|; s|/var/lib/brokerd|$tmp/data|" "$config" >"$tmp/brokerd.json"
chmod 644 "$tmp/brokerd.json"
# systemd's side of sd_notify: a datagram socket that logs what brokerd tells it.
python3 - "$tmp/notify" >"$tmp/notify.log" <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o777)
while True:
    print(s.recv(4096).decode().replace("\n", " "), flush=True)
PY
listener=$!
for _ in $(seq 100); do [ -S "$tmp/notify" ] && break; sleep 0.05; done
# seen TEXT [SECONDS]: waits until brokerd has told systemd TEXT (a line matching it).
seen() {
	for _ in $(seq $((${2:-5} * 20))); do
		grep -q -- "$1" "$tmp/notify.log" && return 0
		sleep 0.05
	done
	cat "$tmp/notify.log"
	return 1
}
# strace runs as that user too, so that it traces brokerd alone; $daemon is strace.
NOTIFY_SOCKET=$tmp/notify WATCHDOG_USEC=200000 "${user[@]}" strace -f -qq -o "$tmp/trace" "$p/sbin/brokerd" \
	--config "$tmp/brokerd.json" 2>"$tmp/brokerd.log" &
daemon=$!
export LD_LIBRARY_PATH=$p/lib
ctl=("$p/bin/brokerctl" --url "ipc://$sock")
seen '^READY=1' 10 || { cat "$tmp/brokerd.log"; fail "no READY=1"; }
"${ctl[@]}" ping >/dev/null || { cat "$tmp/brokerd.log"; fail "READY=1 before brokerd answers"; }
# What it does in service: queues, shared state, a blocking get that times out, info (memory,
# /proc), a compaction (the forked snapshot writer), then an orderly stop.
"${ctl[@]}" queue put jobs 1 >/dev/null
[ "$("${ctl[@]}" queue get jobs)" = 1 ] || fail "queue get"
"${ctl[@]}" queue get jobs --timeout 0.2 >/dev/null 2>&1 || true
"${ctl[@]}" dict set d k 1 >/dev/null
"${ctl[@]}" info >/dev/null
"${ctl[@]}" save >/dev/null || { cat "$tmp/brokerd.log"; fail "save"; }
seen '^STATUS=.*sessions' || fail "no STATUS= line in 5 s"
for _ in $(seq 100); do # WatchdogSec=0.2s: a WATCHDOG=1 at least every 0.1 s
	[ "$(grep -c '^WATCHDOG=1' "$tmp/notify.log")" -ge 5 ] && break
	sleep 0.05
done
[ "$(grep -c '^WATCHDOG=1' "$tmp/notify.log")" -ge 5 ] || fail "fewer than 5 WATCHDOG=1 in 5 s"
kill -TERM "$(pgrep -P "$daemon")"
rc=0
wait "$daemon" || rc=$?
daemon=
[ $rc = 0 ] || { cat "$tmp/brokerd.log"; fail "brokerd exit status $rc after SIGTERM"; }
seen '^STOPPING=1' || fail "no STOPPING=1"
# The first execve is strace's start of brokerd (systemd's own is allowed implicitly).
sed -n 's/^[0-9]* *\([a-z_0-9]*\)(.*/\1/p; s/^[0-9]* *<\.\.\. \([a-z_0-9]*\) resumed>.*/\1/p' \
	"$tmp/trace" | sort -u | grep -vx 'execve' >"$tmp/used"
echo "$(wc -l <"$tmp/used") distinct system calls"
denied=$(comm -23 "$tmp/used" "$tmp/allowed")
[ -z "$denied" ] || fail "brokerd used system calls the unit denies: $(echo $denied)"
# ProcSubset=pid hides /proc files other than processes'; PrivateDevices= leaves only these.
hidden=$(grep -o 'open[a-z]*([^"]*"/\(proc\|dev\)/[^"]*"' "$tmp/trace" | sed 's/.*"\(.*\)"/\1/' |
	grep -v -E '^/proc/(self|thread-self|[0-9]+)(/|$)|^/dev/(null|zero|full|u?random|tty|ptmx|pts|shm|log|stdin|stdout|stderr)(/|$)' |
	sort -u || true)
[ -z "$hidden" ] || fail "brokerd opens files the unit's sandbox hides: $(echo $hidden)"
# ProtectSystem=strict: brokerd may write only in its StateDirectory= and RuntimeDirectory=.
written=$(grep -E '^[0-9]+ +((open|openat)\(.*O_(WRONLY|RDWR|CREAT)|(mkdir|mkdirat|unlink|unlinkat|rename|renameat|renameat2|bind|chmod|fchmodat)\()' "$tmp/trace" |
	grep -o '"/[^"]*"' | tr -d '"' | grep -v -E "^($tmp/data|$tmp/run)(/|\$)" | sort -u || true)
[ -z "$written" ] || fail "brokerd writes where the unit's sandbox is read-only: $(echo $written)"
sort "$tmp/notify.log" | sed "s/=.*//" | uniq -c | tr -s " \n" " "; echo
echo "systemd: ok"
