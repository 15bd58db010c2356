#!/usr/bin/env bash
# The layer rule, checked on the archives (ctest check_layers; docs/ARCHITECTURE.md):
#   check_layers.sh [--src DIR] LAYER=ARCHIVE[,ARCHIVE...]=DEP[,DEP...]=FOLDER[,FOLDER...] ...
# one argument per layer, lowest first (FOLDERs: the layer's source
# folders under DIR, for --src).  Every symbol a layer's archive
# leaves undefined and some layer defines must be defined by that layer
# itself or by one of its DEPs; anything else is a call that runs up (or
# sideways) and is printed as
#   LAYER: OBJECT calls SYMBOL, defined in OTHER (LAYER may use: DEPS)
# With --src DIR first, the sources in the layer's FOLDERs under DIR are checked
# too: a file may include the public header (include/cpo/) of its own
# layer and of the layers it may use, and stage.h (the stage ABI, which
# every layer may name):
#   FILE includes cpo/HEADER.h of OTHER (LAYER may use: DEPS)
# (private headers need no check: a layer's include path holds only its
# own folders and those of the layers below it).
# Exit 0 if none, 1 if any, 2 on bad arguments or a missing archive.
set -euo pipefail
src=""
if [ "${1:-}" = --src ]; then src=${2:?--src needs a folder}; shift 2; fi
[ $# -gt 0 ] || { echo "usage: check_layers.sh [--src DIR] LAYER=ARCHIVES=DEPS=FOLDERS ..." >&2; exit 2; }
NM=${NM:-nm}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
declare -A deps archives layer_dirs
order=()
for arg in "$@"; do
  IFS='=' read -r layer arcs dl dirs <<<"$arg"
  [ -n "$layer" ] && [ -n "$arcs" ] || { echo "check_layers.sh: bad argument \"$arg\" (expected LAYER=ARCHIVES=DEPS=FOLDERS)" >&2; exit 2; }
  order+=("$layer"); deps[$layer]=$dl; archives[$layer]=$arcs; layer_dirs[$layer]=${dirs//,/ }
  for a in ${arcs//,/ }; do
    [ -f "$a" ] || { echo "check_layers.sh: $a: no such archive (expected the layer's library)" >&2; exit 2; }
    # defined: "SYMBOL LAYER"; undefined: "LAYER OBJECT SYMBOL"
    "$NM" -A --defined-only -g "$a" | awk -v L="$layer" '{print $NF, L}' >>"$tmp/def"
    "$NM" -A -u "$a" | awk -v L="$layer" '{n = split($1, p, ":"); print L, p[n-1], $NF}' >>"$tmp/undef"
  done
done
sort -u "$tmp/def" -o "$tmp/def"
# Each undefined symbol with the layer that defines it (system and
# third-party symbols are defined by none and drop out).
awk 'NR == FNR {if (!($1 in owner)) owner[$1] = $2; next}
     ($3 in owner) {print $1, $2, $3, owner[$3]}' "$tmp/def" "$tmp/undef" >"$tmp/pairs"
bad=0
while read -r layer obj sym owner; do
  [ "$owner" = "$layer" ] && continue
  case ",${deps[$layer]}," in *",$owner,"*) continue ;; esac
  echo "$layer: $obj calls $sym, defined in $owner ($layer may use: ${deps[$layer]:-nothing})"
  bad=1
done <"$tmp/pairs"
# The public headers by layer (include/cpo/).
declare -A header_layer=(
  [error]=core [time]=core [instrument]=core [hash]=core [table]=core
  [dataset]=datasets [import]=datasets [market]=datasets [synth]=datasets
  [black76]=quant [surface]=quant [alloc]=quant [stats]=quant [margin]=quant
  [backtest]=engine [registry]=strategies
  [metrics]=reports [attrib]=reports [report]=reports [risk]=reports
  [config]=run [run]=run [sweep]=run [api]=run [env]=run)
if [ -n "$src" ]; then
  for layer in "${order[@]}"; do
    for d in ${layer_dirs[$layer]:-}; do
      for f in "$src/$d"/*.[ch]; do
        [ -f "$f" ] || continue
        for h in $(sed -n 's/^#[[:space:]]*include[[:space:]]*"cpo\/\([a-z0-9_]*\)\.h".*/\1/p' "$f"); do
          [ "$h" = stage ] && continue
          owner=${header_layer[$h]:-}
          if [ -z "$owner" ]; then
            echo "$layer: ${f#$src/} includes cpo/$h.h, which no layer owns (expected it in check_layers.sh's table)"
            bad=1; continue
          fi
          [ "$owner" = "$layer" ] && continue
          case ",${deps[$layer]}," in *",$owner,"*) continue ;; esac
          echo "$layer: ${f#$src/} includes cpo/$h.h of $owner ($layer may use: ${deps[$layer]:-nothing})"
          bad=1
        done
      done
    done
  done
fi
[ $bad -eq 0 ] && echo "layers: ${order[*]}: every call and include goes down"
exit $bad
