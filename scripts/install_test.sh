#!/usr/bin/env bash
# The install tree (ctest install_tree): `cmake --install BUILD --prefix TMP`,
# then what a user of it does: the example plugin built out of tree with
# `pkg-config --cflags --libs cpo` only and loaded by the installed cpo, the
# man pages and the completion, the shared library's name and exports, and
# the Python package run from the tree when the system's python3 has numpy,
# pandas and cffi.
#   scripts/install_test.sh BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: install_test.sh BUILD_DIR}" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
fail() { echo "install_test: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" >/dev/null
for f in bin/cpo lib/libcpo.a lib/libcpo.so lib/libcpo.so.0 lib/pkgconfig/cpo.pc \
         include/cpo/api.h include/cpo/stage.h include/cpo/table.h \
         share/man/man1/cpo.1 share/man/man5/cpo-config.5 share/bash-completion/completions/cpo; do
  [ -e "$prefix/$f" ] || fail "$f is not installed"
done
# No RUNPATH with an empty entry (the current folder: the loader would
# take a libgsl.so.27 from wherever cpo is run), built or installed.
for f in "$build/cpo" "$build/libcpo.so.0" "$prefix/bin/cpo" "$prefix/lib/libcpo.so.0"; do
  rp=$(readelf -d "$f" | sed -n 's/.*(R[UN]*PATH).*\[\(.*\)\]$/\1/p')
  if [ -n "$rp" ] && [[ ":$rp:" == *"::"* ]]; then
    fail "$f searches the current folder for libraries (RUNPATH \"$rp\")"
  fi
done
soname=$(readelf -d "$prefix/lib/libcpo.so.0" | grep SONAME || true)
[[ $soname == *"[libcpo.so.0]"* ]] || fail "no SONAME libcpo.so.0 ($soname)"
syms=$(nm -D --defined-only "$prefix/lib/libcpo.so.0" | awk '{print $3}')
bad=$(echo "$syms" | grep -v '^cpo_' || true)
[ -z "$bad" ] || fail "libcpo.so exports symbols outside the cpo_ API: $bad"
echo "$syms" | grep -qx cpo_results_run || fail "cpo_results_run is not exported"
echo "$syms" | grep -qx cpo_run_to_memory && fail "a private function (cpo_run_to_memory) is exported"

# The example plugin, out of tree, with nothing but pkg-config.
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
mkdir "$tmp/plugin"
cp "$here/tests/plugins/example_plugin.c" "$tmp/plugin/"
(cd "$tmp/plugin" && cc -std=c11 -Wall -Wextra -Werror -shared -fPIC -o example_plugin.so \
   example_plugin.c $(pkg-config --cflags --libs cpo))
"$prefix/bin/cpo" strategies --plugin "$tmp/plugin/example_plugin.so" inverse_price every_k_hours \
  > "$tmp/strategies.txt"
grep -q "inverse_price.*\[plugin $tmp/plugin/example_plugin.so\]" "$tmp/strategies.txt" ||
  fail "the installed cpo does not list the plugin's stage: $(cat "$tmp/strategies.txt")"
# A program linking the shared library through pkg-config.
cat > "$tmp/prog.c" <<'C'
#include <stdio.h>
#include "cpo/black76.h"
int main(void)
{
    cpo_black76_in in = {100.0, 100.0, 1.0, 0.0, 0.2, 1};
    cpo_black76_out out;
    if (cpo_black76(&in, &out))
        return 1;
    printf("%.6f\n", out.price);
    return 0;
}
C
cc -std=c11 -o "$tmp/prog" "$tmp/prog.c" $(pkg-config --cflags --libs cpo)
[ "$(LD_LIBRARY_PATH=$prefix/lib "$tmp/prog")" = "7.965567" ] ||
  fail "a program linked with -lcpo printed $(LD_LIBRARY_PATH=$prefix/lib "$tmp/prog") (expected the Black-76 ATM price 7.965567 of F = K = 100, T = 1, vol 0.2)"

# The man pages render, and the completion loads and completes.
if command -v man >/dev/null; then
  page=$(man -l "$prefix/share/man/man1/cpo.1" 2>/dev/null)
  [[ $page == *"cpo sweep"* ]] || fail "cpo(1) does not render"
  page=$(man -l "$prefix/share/man/man5/cpo-config.5" 2>/dev/null)
  [[ $page == *perp_leverage* ]] || fail "cpo-config(5) does not render"
fi
out=$(bash -c 'source "$1"; COMP_WORDS=(cpo strategies weigh.mean); COMP_CWORD=2; _cpo; echo "${COMPREPLY[*]}"' \
  _ "$prefix/share/bash-completion/completions/cpo")
[ "$out" = "weigh.meanvar" ] || fail "the completion gave \"$out\" for cpo strategies weigh.mean"

# The Python package of the tree, on its recorded library path.
py=${CPO_TEST_PYTHON:-/usr/bin/python3}
if [ -x "$py" ] && "$py" -c "import numpy, pandas, cffi" 2>/dev/null; then
  pydir=$(cd "$prefix" && ls -d lib/python3*/*-packages)
  got=$(cd "$tmp" && env -u CPO_LIBRARY PYTHONPATH="$prefix/$pydir" "$py" -c "
import cpo
p = cpo.black76(100.0, 100.0, 1.0, 0.2)['price']
assert abs(p - 7.965567455405804) < 1e-12, p
print('python ok', cpo.__file__)
") || true
  [[ $got == "python ok $prefix/"* ]] || fail "the installed Python package does not load its libcpo ($got)"
fi
echo "install_test: ok ($prefix)"
