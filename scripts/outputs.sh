#!/usr/bin/env bash
# Run every example config into one folder, for before/after comparisons:
#   scripts/outputs.sh BUILD_DIR OUT_DIR   then   diff -r -x "*.log" OUT_A OUT_B
# (each command's console output is OUT_DIR/NAME.log: it holds paths and timings)
# Needs the demo stores (scripts/demo.sh imports them into out/demo/).
# Runs write runs/<name>/ (cpo run) and sweeps sweeps/<name>/ (cpo sweep)
# under OUT_DIR; every file of them, charts included, compares byte for byte
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: outputs.sh BUILD_DIR OUT_DIR}
out=${2:?usage: outputs.sh BUILD_DIR OUT_DIR}
cpo="$(cd "$build" && pwd)/cpo"
[ -f "$here/out/demo/crypto-daily.h5" ] && [ -f "$here/out/demo/crypto-hourly.h5" ] &&
  [ -f "$here/out/demo/crypto-broad.h5" ] || {
  echo "outputs.sh: the demo stores are missing (run scripts/demo.sh first)" >&2; exit 2; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$here"
for cfg in configs/*.ini; do
  name=$(basename "$cfg" .ini)
  rc=0
  # An env config (its [env] section) is for cpo.Env, not for cpo run.
  grep -q '^\[env\]' "$cfg" && continue
  if grep -q '^\[sweep\]' "$cfg"; then
    "$cpo" sweep --force -j 2 -o "$out/sweeps/$name" "$cfg" >"$out/$name.log" 2>&1 || rc=$?
  else
    "$cpo" run --force -o "$out/runs/$name" "$cfg" >"$out/$name.log" 2>&1 || rc=$?
  fi
  echo "$name: exit $rc"
done
