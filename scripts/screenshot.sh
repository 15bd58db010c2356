#!/usr/bin/env bash
# Screenshot a report page in headless Chromium.
#
#   scripts/screenshot.sh [--width W] [--height H] [--from Y] DIR [OUT.png]
#
# DIR holds report.html (cpo run or cpo report make it), compare.html (cpo
# compare) or leaderboard.html (cpo sweep), taken in that order.  The
# window is W x H px (1400 x 4000; --width 390 looks at it as a phone
# does); --from Y shows the page from Y px down (a long page is looked at
# in slices: --from 0, --from 4000, ...).  OUT.png defaults to
# out/screenshots/<name of DIR>.png in the repository (not in DIR: its
# files are cpo's; nothing is written there).  Chromium is installed with
# apt when it is missing.  The page loads only files of DIR (a report
# has no external resource).
set -euo pipefail
usage() {
  echo "usage: scripts/screenshot.sh [--width W] [--height H] [--from Y] DIR [OUT.png]" >&2
  exit 2
}
width=1400 height=4000 from=0
while [ $# -gt 0 ]; do
  case $1 in
    --width) [ $# -ge 2 ] || usage; width=$2; shift 2 ;;
    --height) [ $# -ge 2 ] || usage; height=$2; shift 2 ;;
    --from) [ $# -ge 2 ] || usage; from=$2; shift 2 ;;
    --) shift; break ;;
    -*) usage ;;
    *) break ;;
  esac
done
for n in "$width" "$height" "$from"; do
  case $n in ''|*[!0-9]*) echo "screenshot.sh: \"$n\" is not a number of pixels" >&2; exit 2 ;; esac
done
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  usage
fi
dir=$1
page=""
for p in report.html compare.html leaderboard.html; do
  if [ -f "$dir/$p" ]; then page=$p; break; fi
done
if [ -z "$page" ]; then
  echo "screenshot.sh: $dir: no report.html (expected a run folder written by cpo run, or cpo report $dir; or a folder of cpo compare or cpo sweep)" >&2
  exit 1
fi
here=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -eq 2 ]; then
  out=$2
else
  mkdir -p "$here/out/screenshots"
  out="$here/out/screenshots/$(basename "$(cd "$dir" && pwd)").png"
fi
absdir=$(cd "$dir" && pwd)
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

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
url="file://$absdir/$page"
if [ "$from" -gt 0 ]; then
  # A copy of the page in a folder of our own, its links resolved against
  # DIR (<base>) and the page moved up by Y px.
  enc=$(printf '%s' "$absdir" | sed -e 's/%/%25/g' -e 's/ /%20/g' -e 's/#/%23/g' -e 's/?/%3F/g' -e 's/&/%26/g')
  sed -e "0,/<head>/s##<head><base href=\"file://$enc/\"><style>html{margin-top:-${from}px}</style>#" \
    "$absdir/$page" > "$tmp/page.html"
  url="file://$tmp/page.html"
fi
mkdir -p "$tmp/profile"
"$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run \
  --user-data-dir="$tmp/profile" --hide-scrollbars \
  --screenshot="$out" --window-size="$width,$height" "$url" > /dev/null 2>&1 || {
  echo "screenshot.sh: $browser failed on $absdir/$page" >&2
  exit 1
}
[ -s "$out" ] || { echo "screenshot.sh: no screenshot made ($out)" >&2; exit 1; }
echo "$out"
