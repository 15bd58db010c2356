#!/usr/bin/env bash
# Install what is missing, build, and run every test: the normal build
# (warnings as errors) with the Python package's tests (pytest), the
# AddressSanitizer + UBSan build, and the MPI build's sweep test (mpirun -n 2).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/deps.sh" mpi
jobs=$(nproc)

echo "== build (warnings as errors)"
"$here/scripts/build.sh" "$here/build" -DCPO_WERROR=ON
echo "== tests"
ctest --test-dir "$here/build" --output-on-failure -j"$jobs"
echo "== the Python package (python/tests) on the build's libcpo.so"
(cd "$here/python" && CPO_LIBRARY="$here/build/libcpo.so.0" CPO_BINARY="$here/build/cpo" \
  PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 -m pytest -q -p no:cacheprovider tests)

echo "== build with -fsanitize=address,undefined"
"$here/scripts/build.sh" "$here/build-asan" -DCPO_WERROR=ON -DCPO_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
echo "== tests under ASan + UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$here/build-asan" --output-on-failure -j"$jobs"

echo "== build with MPI (cpo sweep across ranks)"
"$here/scripts/build.sh" "$here/build-mpi" -DCPO_WERROR=ON -DCPO_MPI=ON
echo "== cpo sweep: 2 MPI ranks against one thread"
ctest --test-dir "$here/build-mpi" --output-on-failure -R check_sweep_mpi
