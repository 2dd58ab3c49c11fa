#!/usr/bin/env bash
# bench/python.sh: the Python client (python/) beside multiprocessing's Manager, in one run:
# builds a release brokerd and runs bench/python_client.py (see its docstring).
# Usage: bench/python.sh [ROUNDS] [SECONDS] [PROCESSES]   (defaults 15, 1 and 8)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j2 --target brokerd >/dev/null
exec python3 bench/python_client.py build-bench/brokerd "${1:-15}" "${2:-1}" "${3:-8}"
