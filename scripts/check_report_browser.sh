#!/usr/bin/env bash
# ctest check_report_browser: the report of tests/data/report/forward as
# headless Chromium shows it, desktop and phone width, top and further
# down: each screenshot must be made and must not be blank (a blank page
# compresses to a few kB; the report's top is about 200 kB).  Skipped (exit
# 77) when Chromium is not installed or gnuplot is missing: CI without a
# browser passes on check_report's checks of images and sections alone.
#   scripts/check_report_browser.sh CPO_BINARY
set -euo pipefail
cpo=${1:?usage: check_report_browser.sh CPO_BINARY}
here=$(cd "$(dirname "$0")/.." && pwd)
browser=""
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" > /dev/null 2>&1; then browser=$b; break; fi
done
if [ -z "$browser" ] || ! command -v gnuplot > /dev/null 2>&1; then
  echo "check_report_browser: skipped (no chromium or no gnuplot on PATH)"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$here/tests/data/report/forward" "$tmp/run"
"$cpo" report -q "$tmp/run"
fail=0
shot() { # name width height from
  local png="$tmp/$1.png"
  "$here/scripts/screenshot.sh" --width "$2" --height "$3" --from "$4" "$tmp/run" "$png" > /dev/null
  local size
  size=$(stat -c %s "$png")
  if [ "$size" -lt 20000 ]; then
    echo "check_report_browser: $1: the screenshot looks blank ($size bytes)" >&2
    fail=1
  else
    echo "check_report_browser: $1: $size bytes"
  fi
}
shot desktop 1400 1600 0
shot desktop_down 1400 1600 3200
shot phone 390 1600 0
shot phone_down 390 1600 4000
exit $fail
