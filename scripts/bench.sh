#!/usr/bin/env bash
# cpo's benchmarks: build optimised, then report speeds (no assertions).
#   scripts/bench.sh [import|load|engine|all] [CSV_MB] [ASSETS] [STEPS]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/deps.sh"
"$here/scripts/build.sh" "$here/build-bench" -DCMAKE_BUILD_TYPE=Release -DCPO_TESTS=OFF >/dev/null
echo "cpo bench on $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
"$here/build-bench/cpo_bench" "${1:-all}" "${2:-100}" "${3:-100}" "${4:-87600}"
