#!/usr/bin/env bash
# cpo's benchmarks: build optimised, then report speeds (no assertions).
#   scripts/bench.sh [import|load|engine|options|alloc|sweep|env|all] [CSV_MB] [ASSETS] [STEPS]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/deps.sh"
"$here/scripts/build.sh" "$here/build-bench" -DCMAKE_BUILD_TYPE=Release -DCPO_TESTS=OFF >/dev/null
echo "cpo bench on $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
# Each benchmark in its own process, so that one's memory does not count
# in the next one's peak.
what=${1:-all}
for b in import load engine options alloc sweep env; do
  if [ "$what" = all ] || [ "$what" = "$b" ]; then
    "$here/build-bench/cpo_bench" "$b" "${2:-100}" "${3:-100}" "${4:-87600}"
  fi
done
# The step interface through Python (cpo.Env, cpo.VecEnv) on the same market.
if [ "$what" = all ] || [ "$what" = env ]; then
  /usr/bin/python3 "$here/scripts/bench_env.py" "$here/build-bench"
fi
