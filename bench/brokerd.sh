# bench/brokerd.sh: sourced by the bench scripts. bench_brokerd TARGET...: builds brokerd and
# the TARGETs in build-bench (Release), makes $tmp (removed at exit, with every background
# job killed), starts brokerd on $url (ipc, in $tmp) and waits until it listens.
bench_brokerd() {
	cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build build-bench -j2 --target brokerd "$@" >/dev/null
	tmp=$(mktemp -d)
	trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
	url="ipc://$tmp/b.sock"
	build-bench/brokerd --listen "$url" --log-level warn &
	for _ in $(seq 500); do
		[ -S "$tmp/b.sock" ] && return 0
		sleep 0.01
	done
	echo "brokerd did not start" >&2
	return 1
}
