#!/usr/bin/env bash
# Import every file of the real exchange data that cpo's formats cover, one
# store per file, and print each import's report line (or its error).
#   scripts/import_real.sh [REAL_DATA_DIR] [CPO]
# REAL_DATA_DIR defaults to ../shared/data/real beside the repository.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
src=${1:-$here/../shared/data/real}
cpo=${2:-$here/build/cpo}
[ -d "$src" ] || { echo "import_real.sh: no folder $src (expected the real data)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok=0 fail=0
imp() { # file, options...
  local f=$1; shift
  local out
  if out=$("$cpo" data import --force -o "$tmp/s.h5" "$@" "$src/$f" 2>&1); then
    ok=$((ok + 1)); echo "$out" | grep -v '^  \|^wrote' | sed "s|$src/||"
  else
    fail=$((fail + 1)); echo "FAILED $f: $out" | sed "s|$src/||"
  fi
}
for f in "$src"/spot/daily/*_1d.csv; do imp "spot/daily/$(basename "$f")" --partial-last drop; done
for s in btc eth sol; do
  S=$(echo $s | tr a-z A-Z)
  imp spot/hourly/binance_${s}_1h.csv --symbol ${S}USDT --partial-last drop
  imp perp/binance_${s}usdt_funding_8h.csv --symbol ${S}USDT-PERP
done
for f in "$src"/perp/binance_usdm_1d/*.csv "$src"/perp/binance_usdm_1h/*.csv; do
  d=$(basename "$(dirname "$f")")
  imp "perp/$d/$(basename "$f")" --kind perp --partial-last drop
done
for f in "$src"/perp/binance_usdm_funding_recent/*.csv; do imp "perp/binance_usdm_funding_recent/$(basename "$f")"; done
for c in BTC ETH; do
  imp perp/$c-USDT_binance_2020-01-01_2024-01-01_funding_history.csv --tz +03:00
  imp perp/$c-USDT_bybit_2021-01-01_2024-01-01_funding_history.csv --tz +03:00 --exchange bybit
  imp perp/binance_${c}_funding_rates.json
done
imp perp/bitmex_xbtusd_funding_data.csv
imp perp/deribit_btc_perpetual_history.csv --sort
for f in "$src"/options/deribit_weekly_snapshots/deribit_options_snapshot_*.csv; do
  for u in BTC ETH; do imp "options/deribit_weekly_snapshots/$(basename "$f")" --underlying $u; done
done
imp options/deribit_btc_chain_20200514_btc_options_data.csv
imp options/deribit_btc_chain_20200521_options_data.csv
imp options/deribit_btc_chain_20210211_btc_option_data.csv --keep-last-poll
imp options/deribit_eth_chain_20210211_eth_option_data.csv --keep-last-poll
imp options/deribit_btc_chain_2024_btc_options.csv --underlying BTC --snapshot-time 2024-05-24T14:00:00Z
imp options/deribit_eth_chain_2024_eth_options.csv --underlying ETH --snapshot-time 2024-05-24T14:00:00Z
imp options/deribit_btc_chain_2026_deribit_options.csv --snapshot-time 2026-02-28T12:00:00Z
imp options/deribit_btc_dvol_daily.csv
imp options/dvol_btc.json
imp index/coinmarketcap_monthly_all_snapshots.csv
echo "$ok imported, $fail failed"
[ "$fail" -eq 0 ]
