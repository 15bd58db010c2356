#!/usr/bin/env bash
# cpo's benchmarks: build optimised, then report speeds (no assertions).
#   scripts/bench.sh [import|load|engine|options|alloc|sweep|env|whole|all] [CSV_MB] [ASSETS] [STEPS]
# CSV_MB, ASSETS and STEPS size the library benchmarks (100 MB, 100 x 87,600
# hourly steps); `whole` times the cpo program as a user runs it (below).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/deps.sh"
"$here/scripts/build.sh" "$here/build-bench" -DCMAKE_BUILD_TYPE=Release -DCPO_TESTS=OFF >/dev/null
echo "cpo bench on $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"

cpo="$here/build-bench/cpo"

# best_of N LABEL CMD...: run CMD N times (its output dropped) and print the
# best wall time and the peak resident memory of that run (the largest
# process of it: GNU time's %M, which counts the children cpo waited for,
# one at a time; without /usr/bin/time, bash's time and no memory).
# Sets best_s to the best wall time in seconds.
best_of() {
  local n=$1 label=$2
  shift 2
  local t f best="" mem="" w m
  f=$(mktemp)
  for ((r = 0; r < n; r++)); do
    if [ -x /usr/bin/time ]; then
      /usr/bin/time -f "%e %M" -o "$f" "$@" >/dev/null 2>&1 || { echo "bench: $label failed" >&2; rm -f "$f"; return 1; }
      read -r w m <"$f"
    else
      t=$( { TIMEFORMAT=%R; time "$@" >/dev/null 2>&1; } 2>&1 ) || { echo "bench: $label failed" >&2; rm -f "$f"; return 1; }
      w=$t m=""
    fi
    if [ -z "$best" ] || awk -v a="$w" -v b="$best" 'BEGIN { exit !(a < b) }'; then
      best=$w mem=$m
    fi
  done
  rm -f "$f"
  best_s=$best
  if [ -n "$mem" ]; then
    printf '%-44s %7.3f s wall (best of %d), peak RSS %4d MB\n' "$label" "$best" "$n" $((mem / 1024))
  else
    printf '%-44s %7.3f s wall (best of %d)\n' "$label" "$best" "$n"
  fi
}

# The whole process, as a user times it: 100 synthetic coins x 3,650 daily
# bars (cpo data synth), equal weight every 7 bars, 10 bps, close fills:
# cpo run with its default outputs (report and charts included) and with
# --no-report; a 12-point sweep of that run at -j 1 and -j <cores>; cpo data
# import of a generated Binance klines file of CSV_MB megabytes.
whole() {
  local mb=$1 tmp
  tmp=$(mktemp -d)
  "$cpo" data synth -o "$tmp/synth.h5" --assets 100 --steps 3650 --step 1d >/dev/null
  cat >"$tmp/run.ini" <<'INI'
[backtest]
data    = synth.h5
capital = 1000000

[costs]
fill    = close
fee_bps = 10

[strategy]
schedule = every_n
weigh    = equal

[schedule.every_n]
n = 7
INI
  { cat "$tmp/run.ini"; printf '\n[sweep]\nschedule.every_n.n = 5, 7, 10, 14\ncosts.fee_bps = 5, 10, 20\n'; } >"$tmp/sweep.ini"
  echo "whole    100 assets x 3650 daily bars, equal weight every 7 bars, 10 bps, close fills"
  best_of 3 "  cpo run (default outputs, charts too)" "$cpo" run -q --force -o "$tmp/run" "$tmp/run.ini"
  best_of 3 "  cpo run --no-report" "$cpo" run -q --force --no-report -o "$tmp/run-nr" "$tmp/run.ini"
  local j1 jn cores
  cores=$(nproc)
  best_of 3 "  cpo sweep, 12 points, -j 1" "$cpo" sweep -q --force -j 1 -o "$tmp/sw1" "$tmp/sweep.ini"
  j1=$best_s
  best_of 3 "  cpo sweep, 12 points, -j $cores" "$cpo" sweep -q --force -j "$cores" -o "$tmp/swn" "$tmp/sweep.ini"
  jn=$best_s
  awk -v a="$j1" -v b="$jn" -v n="$cores" \
    'BEGIN { printf "  sweep -j %d against -j 1: %.2fx (%.0f%% of %d cores)\n", n, a / b, 100 * a / b / n, n }'
  "$here/build-bench/cpo_bench" klines "$tmp/BENCHUSDT_1m.csv" "$mb"
  local size
  size=$(stat -c %s "$tmp/BENCHUSDT_1m.csv")
  best_of 3 "  cpo data import, $((size / 1000000)) MB binance klines" "$cpo" data import --quiet --force \
    -o "$tmp/import.h5" --format binance-klines --symbol BENCHUSDT "$tmp/BENCHUSDT_1m.csv"
  awk -v s="$size" -v t="$best_s" 'BEGIN { printf "  import: %.0f MB/s of file bytes, whole process\n", s / 1e6 / t }'
  rm -rf "$tmp"
}

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
if [ "$what" = all ] || [ "$what" = whole ]; then
  whole "${2:-100}"
fi
