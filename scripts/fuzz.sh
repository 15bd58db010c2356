#!/usr/bin/env bash
# Fuzz one reader with libFuzzer: scripts/fuzz.sh TARGET SECONDS [libFuzzer args...]
#
# Builds the harnesses with clang -fsanitize=fuzzer,address,undefined into
# build-fuzz/ (CMake option CPO_FUZZ=ON), then runs fuzz_TARGET for SECONDS
# seconds on its seed corpus: the matching files of tests/data plus
# tests/fuzz/corpus/TARGET.  New inputs go to build-fuzz/corpus/TARGET,
# crashing, leaking or hanging ones to build-fuzz/artifacts/TARGET/ (keep
# each in tests/fuzz/regress/TARGET/ once fixed: check_fuzz_regress feeds
# them to the reader in every build).  Prints the executions run.
#
#   scripts/fuzz.sh list           the targets
#   scripts/fuzz.sh all SECONDS    every target in turn
#   CPO_FUZZ_JOBS=N                build jobs (default: nproc)
#   CPO_FUZZ_SAN=undefined         UBSan without ASan, built into build-fuzz-ub/
#                                  (same corpus): 2-10x the inputs a second for
#                                  the harnesses that allocate large blocks
#                                  (store, runfolder), but a memory error is
#                                  found only if it crashes.  Default: address.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out="$here/build-fuzz"

targets=(csv klines ohlcv funding_csv funding_json bitmex deribit_funding chain dvol cmc mark_klines
         import_auto config store runfolder metrics_csv delivery_klines deribit_futures chain_futures)

usage() {
  echo "usage: scripts/fuzz.sh TARGET SECONDS [libFuzzer args...] | list | all SECONDS" >&2
  echo "targets: ${targets[*]}" >&2
  exit 2
}

[ $# -ge 1 ] || usage
if [ "$1" = list ]; then
  printf '%s\n' "${targets[@]}"
  exit 0
fi
[ $# -ge 2 ] || usage
target=$1
secs=$2
shift 2
case $secs in '' | *[!0-9]*) usage ;; esac

if [ "$target" = all ]; then
  failed=()
  for t in "${targets[@]}"; do
    "$0" "$t" "$secs" "$@" || failed+=("$t")
  done
  [ ${#failed[@]} -eq 0 ] || { echo "fuzz: failed: ${failed[*]}" >&2; exit 1; }
  exit 0
fi
known=0
for t in "${targets[@]}"; do [ "$t" = "$target" ] && known=1; done
[ $known = 1 ] || { echo "fuzz.sh: unknown target \"$target\"" >&2; usage; }

# clang and its libFuzzer runtime (Debian 12: clang 14).
if ! command -v clang >/dev/null || ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n){return 0;}' |
     clang -x c -fsanitize=fuzzer -o /dev/null - 2>/dev/null; then
  echo "fuzz: installing clang and libclang-rt-14-dev" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q >/dev/null
  $SUDO apt-get install -y -q --no-install-recommends clang libclang-rt-14-dev >/dev/null
fi

case ${CPO_FUZZ_SAN:-address} in
  address) sans=address,undefined bin=$out ;;
  undefined)
    sans=undefined bin="$here/build-fuzz-ub"
    # glibc's malloc keeps blocks below 32 MiB in its heap instead of
    # mapping fresh zeroed pages for each (HDF5 callocs megabytes per open).
    export GLIBC_TUNABLES=${GLIBC_TUNABLES:-glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824}
    ;;
  *) echo "fuzz.sh: CPO_FUZZ_SAN must be address or undefined" >&2; exit 2 ;;
esac
san="-fsanitize=fuzzer-no-link,$sans -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
# clang++ for core/dtoa.cc (and as the linker: libFuzzer's runtime is C++).
cmake -S "$here" -B "$bin" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCPO_TESTS=OFF -DCPO_FUZZ=ON -DCMAKE_C_FLAGS="$san" -DCMAKE_CXX_FLAGS="$san" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=$sans" >/dev/null
cmake --build "$bin" -j"${CPO_FUZZ_JOBS:-$(nproc)}" --target "fuzz_$target" >/dev/null

# The seed corpus: files of tests/data that this reader reads.
d=$here/tests/data
case $target in
  csv) seeds=("$d"/bad/*.csv "$d"/klines/*.csv "$d"/metrics/*.csv "$d"/options/*.csv) ;;
  klines) seeds=("$d"/bad/klines_* "$d"/klines/* "$d"/cli/*.csv "$d"/detect/detect_klines.csv) ;;
  ohlcv) seeds=("$d"/ohlcv/* "$d"/bad/ohlcv_* "$d"/klines/*) ;;
  funding_csv) seeds=("$d"/funding_*.csv "$d"/bad/funding_*.csv "$d"/detect/detect_funding_*.csv) ;;
  funding_json) seeds=("$d"/funding_binance.json "$d"/bad/funding_json_* "$d"/detect/detect_funding.json) ;;
  bitmex) seeds=("$d"/bitmex_* "$d"/bad/bitmex_* "$d"/detect/detect_bitmex.csv) ;;
  deribit_funding) seeds=("$d"/deribit_funding* "$d"/bad/deribit_funding_* "$d"/detect/detect_deribit_funding.csv) ;;
  chain) seeds=("$d"/chains/* "$d"/bad/chain_* "$d"/detect/detect_chain_* "$d"/options/*) ;;
  dvol) seeds=("$d"/dvol_* "$d"/bad/dvol_* "$d"/detect/detect_dvol.*) ;;
  cmc) seeds=("$d"/cmc_* "$d"/bad/cmc_* "$d"/detect/detect_cmc.csv) ;;
  mark_klines) seeds=("$d"/mark/mark_* "$d"/bad/mark_klines_*) ;;
  import_auto) seeds=("$d"/detect/* "$d"/*.csv "$d"/*.json "$d"/chains/*) ;;
  config) seeds=("$d"/configs/*.ini "$d"/sweep/*.ini "$d"/manifests/*.ini "$here"/configs/*.ini) ;;
  metrics_csv) seeds=("$d"/metrics/*) ;;
  delivery_klines) seeds=("$d"/futures/*USD*_26*.csv "$d"/bad/delivery_*) ;;
  deribit_futures) seeds=("$d"/futures/deribit_* "$d"/bad/deribit_futures_*) ;;
  chain_futures) seeds=("$d"/futures/weekly_* "$d"/bad/chain_futures_* "$d"/chains/weekly_*) ;;
  *) seeds=() ;; # store, runfolder: tests/fuzz/corpus only
esac
seed_dir="$out/seeds/$target"
rm -rf "$seed_dir"
mkdir -p "$seed_dir" "$out/corpus/$target" "$out/artifacts/$target"
for f in "${seeds[@]}"; do
  [ -f "$f" ] && cp "$f" "$seed_dir/$(basename "$(dirname "$f")")_$(basename "$f")"
done
dirs=("$out/corpus/$target" "$seed_dir")
[ -d "$here/tests/fuzz/corpus/$target" ] && dirs+=("$here/tests/fuzz/corpus/$target")
# Inputs up to the largest seed, at least 64 KiB for the store and run folders.
maxlen=()
case $target in store | runfolder) maxlen=(-max_len=65536) ;; esac
dict=()
[ -f "$here/tests/fuzz/dict/$target.dict" ] && dict=(-dict="$here/tests/fuzz/dict/$target.dict")

# LSan: leaks inside libhdf5 itself (not cpo's) are listed in lsan.supp.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$here/tests/fuzz/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
log="$out/fuzz_$target.log"
echo "== fuzz_$target ($sans) for ${secs}s (log: $log)"
set +e
t0=$SECONDS
"$bin/fuzz_$target" "${dirs[@]}" ${maxlen[@]+"${maxlen[@]}"} ${dict[@]+"${dict[@]}"} -max_total_time="$secs" -timeout=25 \
  -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$out/artifacts/$target/" "$@" \
  >"$log" 2>&1
rc=$?
took=$((SECONDS - t0))
set -e
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
cov=$(grep -E '^#[0-9]+' "$log" | tail -1 | sed -n 's/.*cov: \([0-9]*\).*ft: \([0-9]*\).*/cov \1, ft \2/p')
echo "fuzz_$target: ${runs:-?} executions in ${took}s (${rate:-?} exec/s; ${cov:-no coverage line}), exit $rc"
if [ $rc -ne 0 ]; then
  grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|artifact_prefix|Test unit written)' "$log" | head -20
  echo "fuzz_$target: FAILED; inputs in $out/artifacts/$target/" >&2
fi
exit $rc
