#!/usr/bin/env bash
# Run the demo backtests (configs/monthly_equal_8.ini, configs/btc_perp_hedge.ini)
# under valgrind memcheck: any memory error or definitely/indirectly lost
# block in cpo exits non-zero.  Leaks inside third-party libraries are
# suppressed by tests/valgrind.supp (each entry says why).
#
#   scripts/valgrind.sh [BUILD_DIR]     (default: build/, built if missing)
#
# The demo stores (out/demo/crypto-{daily,hourly}.h5) are imported first
# when missing, as scripts/demo.sh does.  The runs go to a temporary folder.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind not found (apt-get install valgrind)" >&2; exit 2; }
[ -x "$build/cpo" ] || "$here/scripts/build.sh" "$build"
cpo="$build/cpo"
out="$here/out/demo"

for set in daily hourly; do
  if [ ! -f "$out/crypto-$set.h5" ]; then
    mkdir -p "$out/csv"
    (cd "$here/datasets/sample/csv" && find . -name '*.gz' | while read -r f; do
      mkdir -p "$out/csv/$(dirname "$f")"
      gzip -dc "$f" > "$out/csv/${f%.gz}"
    done)
    "$cpo" data import --force --quiet -o "$out/crypto-$set.h5" \
      -m "$here/datasets/sample/$set.ini" --root "$out/csv"
  fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
for cfg in monthly_equal_8 btc_perp_hedge; do
  echo "== valgrind cpo run configs/$cfg.ini"
  start=$(date +%s)
  # gnuplot is a child process, not cpo: --trace-children=no (the default).
  if ! (cd "$here" && valgrind --quiet --error-exitcode=1 --leak-check=full \
          --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
          --suppressions="$here/tests/valgrind.supp" \
          "$cpo" run --quiet -o "$tmp/$cfg" "configs/$cfg.ini"); then
    status=1
  fi
  echo "   $(( $(date +%s) - start )) s"
done
[ $status -eq 0 ] && echo "valgrind: no errors" || echo "valgrind: errors (see above)"
exit $status
