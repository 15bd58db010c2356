#!/usr/bin/env bash
# Install what is missing, build, and run every test: the normal build
# (warnings as errors) and the AddressSanitizer + UBSan build.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/deps.sh"
jobs=$(nproc)

echo "== build (warnings as errors)"
"$here/scripts/build.sh" "$here/build" -DCPO_WERROR=ON
echo "== tests"
ctest --test-dir "$here/build" --output-on-failure -j"$jobs"

echo "== build with -fsanitize=address,undefined"
"$here/scripts/build.sh" "$here/build-asan" -DCPO_WERROR=ON -DCPO_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
echo "== tests under ASan + UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$here/build-asan" --output-on-failure -j"$jobs"
