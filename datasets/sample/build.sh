#!/usr/bin/env bash
# Rebuild datasets/sample/ from the real exchange exports.
#
#   datasets/sample/build.sh [SOURCE_DIR]
#
# SOURCE_DIR is the folder of real data (default: ../shared/data/real beside
# the repository).  Files are copied unchanged except where noted: daily
# spot is cut to the window where all 8 majors trade (2020-08-11 ..
# 2026-01-05, which also drops the partial 2026-01-06 bar), and the
# CoinMarketCap snapshots keep the top 100 of each month.  Everything is
# gzip-compressed (the demo unpacks it) and the three import manifests,
# daily.ini, hourly.ini and broad.ini, are rewritten.  broad.ini adds 13
# more daily coins (2020-01-01 .. 2026-01-05, each from its first bar; MATIC
# and XMR end where Binance stopped them) to the 8 majors, for
# point-in-time universes and the factor model.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=${1:-$here/../../../shared/data/real}
[ -d "$src/spot" ] || { echo "build.sh: $src has no spot/ folder (expected the real data folder)" >&2; exit 1; }
out=$here/csv
rm -rf "$out"
mkdir -p "$out"/{spot_daily,spot_daily_more,spot_hourly,perp_hourly,funding,options,dvol,caps}

majors="BTC ETH BNB XRP ADA DOGE LTC SOL"
for s in $majors; do
  awk -F, 'NR==1 || ($1>="2020-08-11" && $1<="2026-01-05")' "$src/spot/daily/${s}USDT_1d.csv" \
    | gzip -9n > "$out/spot_daily/${s}USDT_1d.csv.gz"
done
more="AVAX ATOM BCH DOT ETC LINK MATIC PAXG SHIB TRX UNI XLM XMR"
for s in $more; do
  awk -F, 'NR==1 || ($1>="2020-01-01" && $1<="2026-01-05")' "$src/spot/daily/${s}USDT_1d.csv" \
    | gzip -9n > "$out/spot_daily_more/${s}USDT_1d.csv.gz"
done
for s in btc eth sol; do
  gzip -9nc "$src/spot/hourly/binance_${s}_1h.csv" > "$out/spot_hourly/binance_${s}_1h.csv.gz"
  gzip -9nc "$src/perp/binance_${s}usdt_funding_8h.csv" > "$out/funding/binance_${s}usdt_funding_8h.csv.gz"
  S=$(echo "$s" | tr a-z A-Z)
  gzip -9nc "$src/perp/binance_usdm_1h/${S}USDT.csv" > "$out/perp_hourly/${S}USDT.csv.gz"
done
for f in "$src"/options/deribit_weekly_snapshots/deribit_options_snapshot_*.csv; do
  gzip -9nc "$f" > "$out/options/$(basename "$f").gz"
done
gzip -9nc "$src/options/deribit_btc_dvol_daily.csv" > "$out/dvol/deribit_btc_dvol_daily.csv.gz"
awk -F, 'NR==1 || $1+0 <= 100' "$src/index/coinmarketcap_monthly_all_snapshots.csv" \
  | gzip -9n > "$out/caps/coinmarketcap_monthly_top100.csv.gz"

# The import manifests (paths relative to the unpacked csv/ folder).
# A section per daily spot file of FOLDER: spot_sections FOLDER EXTRA COIN...
spot_sections() {
  local folder=$1 extra=$2
  shift 2
  for s in "$@"; do
    echo "[${s}USDT]"
    echo "file = $folder/${s}USDT_1d.csv"
    echo "format = binance-klines"
    echo "symbol = ${s}USDT"
    [ -z "$extra" ] || echo "$extra"
    echo
  done
}
caps_section() {
  echo "[caps]"
  echo "file = caps/coinmarketcap_monthly_top100.csv"
  echo "format = cmc-monthly"
}
{
  echo "; Daily spot of the 8 majors (Binance, 2020-08-11 .. 2026-01-05) and"
  echo "; CoinMarketCap monthly top-100 market caps.  Written by build.sh."
  echo "[defaults]"
  echo "mode = strict"
  echo "kind = spot"
  echo "exchange = binance"
  echo
  spot_sections spot_daily "" $majors
  caps_section
} > "$here/daily.ini"

{
  echo "; Daily spot of 21 Binance coins: the 8 majors of daily.ini and 13 more"
  echo "; (2020-01-01 .. 2026-01-05 where they trade), with the CoinMarketCap"
  echo "; monthly top-100 market caps.  Written by build.sh."
  echo "[defaults]"
  echo "mode = strict"
  echo "kind = spot"
  echo "exchange = binance"
  echo
  spot_sections spot_daily "" $majors
  spot_sections spot_daily_more "partial_last = keep" $more
  caps_section
} > "$here/broad.ini"

{
  echo "; Hourly Binance spot and USDT-M perps for BTC, ETH and SOL with 8-hour"
  echo "; funding and mark price, Deribit weekly BTC and ETH option chains, the"
  echo "; Deribit BTC and ETH futures quoted in those snapshots (sparse: one 1h bar"
  echo "; per future and week), and BTC DVOL.  Written by build.sh."
  echo "[defaults]"
  echo "mode = strict"
  echo "exchange = binance"
  echo
  for s in btc eth sol; do
    S=$(echo "$s" | tr a-z A-Z)
    echo "[${S}USDT]"
    echo "file = spot_hourly/binance_${s}_1h.csv"
    echo "format = binance-klines"
    echo "symbol = ${S}USDT"
    echo "kind = spot"
    echo "; the last bar (2026-07-09 19:00) was downloaded before it closed"
    echo "partial_last = drop"
    echo
    echo "[${S}USDT-PERP]"
    echo "file = perp_hourly/${S}USDT.csv"
    echo "format = binance-klines"
    echo "symbol = ${S}USDT-PERP"
    echo "kind = perp"
    echo "; the last bar (2026-03-19 19:00 or 20:00) is partial"
    echo "partial_last = drop"
    echo
    echo "[${S}USDT-PERP funding]"
    echo "file = funding/binance_${s}usdt_funding_8h.csv"
    echo "format = binance-funding"
    echo "symbol = ${S}USDT-PERP"
    echo "kind = perp"
    echo
  done
  for f in "$out"/options/*.gz; do
    b=$(basename "$f" .gz)
    for u in BTC ETH; do
      echo "[$u ${b#deribit_options_snapshot_}]"
      echo "file = options/$b"
      echo "format = deribit-chain"
      echo "underlying = $u"
      echo
    done
  done
  for f in "$out"/options/*.gz; do
    b=$(basename "$f" .gz)
    echo "[futures ${b#deribit_options_snapshot_}]"
    echo "file = options/$b"
    echo "format = deribit-chain-futures"
    echo "exchange = deribit"
    echo
  done
  echo "[BTC-DVOL]"
  echo "file = dvol/deribit_btc_dvol_daily.csv"
  echo "format = dvol"
  echo "name = BTC-DVOL"
} > "$here/hourly.ini"

du -sh "$out"
