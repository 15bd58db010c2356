#!/usr/bin/env bash
# Screenshot a run's report.html (or compare.html) in headless Chromium.
#
#   scripts/screenshot.sh RUN_DIR [OUT.png]
#
# RUN_DIR holds report.html (cpo run or cpo report make it; a folder made
# by cpo compare holds compare.html, used when there is no report.html).
# OUT.png defaults to out/screenshots/<name of RUN_DIR>.png in the
# repository (not in the run folder: its files are cpo's).  Chromium is
# installed with apt when it is missing.  The page is 1400 px wide and 4000 px tall; it loads
# only files of RUN_DIR (the report has no external resource).
set -euo pipefail
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: scripts/screenshot.sh RUN_DIR [OUT.png]" >&2
  exit 2
fi
dir=$1
if [ -f "$dir/report.html" ]; then
  page="$dir/report.html"
elif [ -f "$dir/compare.html" ]; then
  page="$dir/compare.html"
else
  echo "screenshot.sh: $dir: no report.html (expected a run folder written by cpo run, or cpo report $dir)" >&2
  exit 1
fi
here=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -eq 2 ]; then
  out=$2
else
  mkdir -p "$here/out/screenshots"
  out="$here/out/screenshots/$(basename "$(cd "$dir" && pwd)").png"
fi
page=$(cd "$(dirname "$page")" && pwd)/$(basename "$page")
case $out in /*) ;; *) out=$(pwd)/$out ;; esac

browser=""
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" > /dev/null 2>&1; then browser=$b; break; fi
done
if [ -z "$browser" ]; then
  echo "screenshot.sh: installing chromium (apt-get)" >&2
  if [ "$(id -u)" -ne 0 ]; then
    echo "screenshot.sh: chromium is missing and installing it needs root (apt-get install chromium)" >&2
    exit 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y chromium > /dev/null
  browser=chromium
fi

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run \
  --user-data-dir="$profile" --hide-scrollbars \
  --screenshot="$out" --window-size=1400,4000 "file://$page" > /dev/null 2>&1 || {
  echo "screenshot.sh: $browser failed on $page" >&2
  exit 1
}
[ -s "$out" ] || { echo "screenshot.sh: no screenshot made ($out)" >&2; exit 1; }
echo "$out"
