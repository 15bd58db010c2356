#!/usr/bin/env bash
# Install what cpo needs to build, test and draw charts, if it is missing.
# Debian 12; run as root (or with sudo available).
set -euo pipefail

pkgs=(gcc libc6-dev make cmake pkg-config libgsl-dev libcsv-dev libhdf5-dev hdf5-tools
      check libinih-dev libjansson-dev libssl-dev zlib1g-dev libdouble-conversion-dev g++ gnuplot-nox tzdata
      python3 python3-cffi python3-numpy python3-pandas python3-pytest python3-h5py man-db)
# `deps.sh mpi`: also Open MPI, for the MPI build of `cpo sweep` (tests).
for extra in "$@"; do
  case $extra in
    mpi) pkgs+=(libopenmpi-dev openmpi-bin) ;;
    *) echo "deps.sh: unknown extra \"$extra\" (expected mpi)" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q >/dev/null
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
