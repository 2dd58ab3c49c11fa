#!/usr/bin/env bash
# README command 1: install what is needed, build, and run brokerd in the foreground on
# its default address (printed on start-up). Extra arguments go to brokerd. Ctrl-C stops.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
echo "brokerctl is build/brokerctl; try: build/brokerctl ping"
exec build/brokerd "$@"
