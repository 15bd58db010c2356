#!/usr/bin/env bash
# Install what is missing, build, and run the demo on the bundled real data.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/deps.sh"
"$here/scripts/build.sh" "$here/build"
cpo="$here/build/cpo"
out="$here/out/demo"
rm -rf "$out/csv"
mkdir -p "$out/csv"

# The bundled exchange exports are gzip-compressed; unpack them as the
# exchanges publish them.
(cd "$here/datasets/sample/csv" && find . -name '*.gz' | while read -r f; do
  mkdir -p "$out/csv/$(dirname "$f")"
  gzip -dc "$f" > "$out/csv/${f%.gz}"
done)

for set in daily hourly broad; do
  echo "== cpo data import -m datasets/sample/$set.ini -o $out/crypto-$set.h5"
  "$cpo" data import --force --quiet -o "$out/crypto-$set.h5" \
    -m "$here/datasets/sample/$set.ini" --root "$out/csv"
  echo
  echo "== cpo data info $out/crypto-$set.h5"
  "$cpo" data info "$out/crypto-$set.h5"
  echo
done

# Three backtests on those stores: monthly equal weight on the 8 daily
# majors, BTC spot long / BTCUSDT-PERP short on hourly bars with funding,
# and BTC against short Deribit BTC futures rolled before expiry.  Each
# writes its folder under runs/ (--force: the demo may be run again; the
# files come out byte-identical).
for cfg in monthly_equal_8 btc_perp_hedge basis_carry; do
  echo "== cpo run configs/$cfg.ini"
  (cd "$here" && "$cpo" run --force "configs/$cfg.ini")
  echo
done
echo "demo results: $out/crypto-daily.h5 and $out/crypto-hourly.h5"
echo "(imported from the real exchange files unpacked in $out/csv)"
echo "backtests: $here/runs/monthly_equal_8/, $here/runs/btc_perp_hedge/ and $here/runs/basis_carry/"
echo "(summary.json, ledger.csv, ledger.h5, trades.csv, events.csv, manifest.json)"
echo "reports: report.html in each of those folders"
echo "(charts in charts/ beside each: gnuplot scripts, their data, PNG and SVG;"
echo " scripts/screenshot.sh RUN_DIR renders one in headless Chromium)"
