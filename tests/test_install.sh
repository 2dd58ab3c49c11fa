#!/usr/bin/env bash
# test_install.sh BUILD_DIR: installs that build with `cmake --install` (into a temporary
# prefix, and with DESTDIR), checks the tree and libbroker.pc, builds a tiny client against the
# installed pkg-config file (shared and static) and runs it against the installed brokerd,
# started with the installed example config on a temporary socket. Exit 77: cannot run here.
set -euo pipefail
build=$(cd "$1" && pwd)
cache() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
[ "$(cache SCDOC)" != SCDOC-NOTFOUND ] || { echo "skip: no scdoc, so no man pages to install"; exit 77; }
command -v pkg-config >/dev/null || { echo "skip: no pkg-config"; exit 77; }

tmp=$(mktemp -d)
daemon=
cleanup() {
	[ -n "$daemon" ] && kill -KILL "$daemon" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

echo "== cmake --install --prefix"
p=$tmp/p
cmake --install "$build" --prefix "$p" >"$tmp/install.log" || { cat "$tmp/install.log"; fail "install"; }
expected="bin/brokerctl
etc/brokerd/brokerd.json
include/brk_error.h
include/broker.h
lib/libbroker.a
lib/libbroker.so
lib/libbroker.so.0
lib/libbroker.so.$(cache CMAKE_PROJECT_VERSION)
lib/pkgconfig/libbroker.pc
lib/systemd/system/brokerd.service
lib/sysusers.d/brokerd.conf
sbin/brokerd
share/man/man1/brokerctl.1
share/man/man5/brokerd.json.5
share/man/man8/brokerd.8"
got=$(cd "$p" && find . ! -type d | sed 's|^\./||' | LC_ALL=C sort)
[ "$got" = "$expected" ] || { diff <(echo "$expected") <(echo "$got") || true; fail "installed tree"; }
[ -x "$p/sbin/brokerd" ] && [ -x "$p/bin/brokerctl" ] || fail "binaries not executable"
[ "$(stat -c %a "$p/etc/brokerd/brokerd.json")" = 644 ] || fail "brokerd.json mode"
grep -qx "ExecStart=$p/sbin/brokerd --config $p/etc/brokerd/brokerd.json" \
	"$p/lib/systemd/system/brokerd.service" || fail "unit's ExecStart does not name the install"
grep -q '^u brokerd ' "$p/lib/sysusers.d/brokerd.conf" || fail "sysusers file"

echo "== libbroker.pc"
export PKG_CONFIG_PATH=$p/lib/pkgconfig
[ "$(pkg-config --modversion libbroker)" = "$(cache CMAKE_PROJECT_VERSION)" ] || fail "pc version"
[ "$(pkg-config --variable=prefix libbroker)" = "$p" ] || fail "pc prefix"
cflags=$(pkg-config --cflags libbroker)
libs=$(pkg-config --libs libbroker)
[[ " $cflags " == *" -I$p/include "* ]] || fail "pc cflags: $cflags"
[[ "$libs" == "-L$p/lib -lbroker "*-ljansson* ]] || fail "pc libs: $libs"
[[ "$(pkg-config --static --libs libbroker)" == *-lssl*-lcrypto* ]] || fail "pc static libs"

echo "== a client built against the installed libbroker"
cat >"$tmp/client.c" <<'C'
#include <broker.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	brk_client *c;
	int64_t now = 0;
	if (argc != 2 || brk_connect(argv[1], NULL, &c) != BRK_OK) {
		fprintf(stderr, "connect: %s\n", brk_last_error());
		return 1;
	}
	brk_err e = brk_ping(c);
	if (e == BRK_OK)
		e = brk_value_create(c, "hits", BRK_INT, NULL, NULL);
	if (e == BRK_OK || e == BRK_EEXISTS)
		e = brk_value_add_int(c, "hits", 1, &now);
	if (e != BRK_OK)
		fprintf(stderr, "%s\n", brk_strerror(e));
	else
		printf("hits=%lld\n", (long long)now);
	brk_close(c);
	return e != BRK_OK;
}
C
flags=()
[ "$(cache BROKER_SANITIZE)" = ON ] && flags=("-fsanitize=address,undefined")
cc=$(cache CMAKE_C_COMPILER)
# shellcheck disable=SC2086 # pkg-config's output is a list of words
"$cc" -Wall -Werror "${flags[@]}" -o "$tmp/client" "$tmp/client.c" $cflags $libs
# shellcheck disable=SC2046,SC2086
"$cc" -Wall -Werror "${flags[@]}" -o "$tmp/client_static" "$tmp/client.c" $cflags \
	-L"$p/lib" -Wl,-Bstatic -lbroker -Wl,-Bdynamic \
	$(pkg-config --static --libs-only-l libbroker | sed 's/-lbroker\b//')
! ldd "$tmp/client_static" | grep -q libbroker || fail "the static client needs libbroker.so"

echo "== the installed brokerd, with the installed config"
sock=$tmp/run/brokerd.sock
mkdir -m 700 "$tmp/data"
sed -e "s|/run/brokerd/brokerd.sock|$sock|; s|/var/lib/brokerd|$tmp/data|" \
	"$p/etc/brokerd/brokerd.json" >"$tmp/brokerd.json"
grep -q "$tmp/data" "$tmp/brokerd.json" || fail "example config has no data_dir /var/lib/brokerd"
env -u NOTIFY_SOCKET "$p/sbin/brokerd" --config "$tmp/brokerd.json" 2>"$tmp/brokerd.log" &
daemon=$!
export LD_LIBRARY_PATH=$p/lib
ctl=("$p/bin/brokerctl" --url "ipc://$sock")
for _ in $(seq 100); do
	"${ctl[@]}" ping >/dev/null 2>&1 && break
	kill -0 "$daemon" 2>/dev/null || { cat "$tmp/brokerd.log"; fail "brokerd exited"; }
	sleep 0.1
done
"${ctl[@]}" ping >/dev/null || { cat "$tmp/brokerd.log"; fail "brokerd does not answer"; }
[ "$(stat -c %a "$sock")" = 660 ] || fail "socket mode $(stat -c %a "$sock"), want 660"
[ "$(ldd "$tmp/client" | grep -o "$p/lib/libbroker.so.0")" = "$p/lib/libbroker.so.0" ] ||
	fail "client does not use the installed libbroker"
[ "$("$tmp/client" "ipc://$sock")" = hits=1 ] || fail "client (shared)"
[ "$("$tmp/client_static" "ipc://$sock")" = hits=2 ] || fail "client (static)"
[ "$("${ctl[@]}" value get hits)" = 2 ] || fail "brokerctl value get"
compgen -G "$tmp/data/log.*" >/dev/null || fail "no log in the data dir"
kill -TERM "$daemon"
rc=0
wait "$daemon" || rc=$?
daemon=
[ $rc = 0 ] || { cat "$tmp/brokerd.log"; fail "brokerd exit status $rc after SIGTERM"; }

echo "== man pages"
for page in "$p"/share/man/man*/*; do
	warn=$(LC_ALL=C MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null) || fail "man $page"
	[ -z "$warn" ] || fail "man $page: $warn"
done
# Every option of brokerd --help is in brokerd(8); every key the options set is in
# brokerd.json(5); every command of brokerctl --help is in brokerctl(1).
render() { LC_ALL=C MANWIDTH=200 man -l "$1" 2>/dev/null | col -b; }
brokerd8=$(render "$p/share/man/man8/brokerd.8")
json5=$(render "$p/share/man/man5/brokerd.json.5")
ctl1=$(render "$p/share/man/man1/brokerctl.1")
for opt in $("$p/sbin/brokerd" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
	grep -q -- "$opt" <<<"$brokerd8" || fail "brokerd(8) lacks $opt"
	case $opt in --help | --version | --config | --repair) continue ;; esac
	key=$(sed 's/^--no-protected-mode$/protected_mode/; s/^--//; s/-/_/g' <<<"$opt")
	grep -qw -- "$key" <<<"$json5" || fail "brokerd.json(5) lacks $key"
done
"$p/bin/brokerctl" --help | sed -n '/^Commands:/,/^Options:/p' | grep -E '^  [a-z]' |
	sed 's/^  //; s/  .*//' | while read -r -a words; do
		want=
		for w in "${words[@]}"; do # the command's words: up to its first argument
			[[ $w =~ ^[a-z][a-z|]*$ ]] || break
			want+="${want:+ }${w%%|*}"
		done
		grep -q -- "$want" <<<"$ctl1" || fail "brokerctl(1) lacks \"$want\""
	done

echo "== DESTDIR, and a second install keeps an edited config"
d=$tmp/d
DESTDIR=$d cmake --install "$build" --prefix /usr >"$tmp/install.log" || { cat "$tmp/install.log"; fail "DESTDIR install"; }
[ -x "$d/usr/sbin/brokerd" ] || fail "DESTDIR: no $d/usr/sbin/brokerd"
[ -f "$d/etc/brokerd/brokerd.json" ] || fail "DESTDIR with prefix /usr: config not in /etc"
grep -qx 'ExecStart=/usr/sbin/brokerd --config /etc/brokerd/brokerd.json' \
	"$d/usr/lib/systemd/system/brokerd.service" || fail "DESTDIR: unit names DESTDIR"
grep -qx 'prefix=/usr' "$d/usr/lib/pkgconfig/libbroker.pc" || fail "DESTDIR: pc prefix"
echo '{"log_level": "debug"}' >"$d/etc/brokerd/brokerd.json"
DESTDIR=$d cmake --install "$build" --prefix /usr >"$tmp/install.log" || fail "second install"
[ "$(cat "$d/etc/brokerd/brokerd.json")" = '{"log_level": "debug"}' ] || fail "config overwritten"
echo "install: ok"
