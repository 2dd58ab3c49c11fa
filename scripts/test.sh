#!/usr/bin/env bash
# README command 2: install what is needed, then build and run every test twice: a normal
# build with warnings as errors, and an ASan+UBSan build. Also checks the formatting.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc)

echo "== format"
git ls-files '*.c' '*.h' | xargs clang-format --dry-run --Werror

passed=0
for flavour in release sanitize; do
	dir=build-test-$flavour
	opts=(-DBROKER_WERROR=ON)
	[ "$flavour" = sanitize ] && opts+=(-DBROKER_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug)
	echo "== build ($flavour)"
	cmake -S . -B "$dir" "${opts[@]}" >/dev/null
	cmake --build "$dir" -j"$jobs" >/dev/null
	echo "== test ($flavour)"
	(cd "$dir" && ctest --output-on-failure --timeout 300)
	passed=$((passed + $(cd "$dir" && ctest -N | sed -n 's/^Total Tests: //p')))
	echo "== python client (pytest, against this build's brokerd)"
	log=$(mktemp)
	(cd python && BROKERD_BIN="$PWD/../$dir/brokerd" /usr/bin/python3 -m pytest -q -p no:cacheprovider tests) | tee "$log"
	passed=$((passed + $(sed -n 's/^\([0-9]*\) passed.*/\1/p' "$log" | tail -n 1)))
	rm -f "$log"
done

# fuzz HARNESS WHAT [SEEDS...]: runs a libFuzzer harness for $FUZZ_SECONDS; any crash,
# hang (an input that runs 10 s), leak or disagreement fails, with its input shown.
fuzz() {
	local harness=$1 what=$2 corpus
	shift 2
	echo "== fuzz ($what, $FUZZ_SECONDS s)"
	cmake --build build-test-fuzz -j"$jobs" --target "$harness" >/dev/null
	corpus=$(mktemp -d)
	[ $# -gt 0 ] && cp "$@" "$corpus"/
	if ! "build-test-fuzz/tests/$harness" -max_total_time="$FUZZ_SECONDS" -timeout=10 \
		-max_len=4096 -dict=tests/fuzz.dict -artifact_prefix="$corpus/" "$corpus" \
		>"$corpus/log" 2>&1; then
		grep -vE '^#[0-9]' "$corpus/log" | tail -n 40
		for a in "$corpus"/crash-* "$corpus"/timeout-* "$corpus"/leak-*; do
			[ -e "$a" ] && { echo "input $a:"; od -c "$a" | head -n 20; }
		done
		exit 1
	fi
	tail -n 1 "$corpus/log"
	rm -rf "$corpus"
	passed=$((passed + 1))
}
: "${FUZZ_SECONDS:=30}"
CC=clang cmake -S . -B build-test-fuzz -DBROKER_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
fuzz fuzz_dispatch "request decoding and dispatch" tests/fuzz-corpus/*
fuzz fuzz_jsontext "JSON text against jansson" tests/fuzz-corpus/*
# Reached only when everything passed (set -e); each fuzz run counts as one test.
echo "tests: $passed passed, 0 failed"
