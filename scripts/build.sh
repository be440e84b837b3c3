#!/usr/bin/env bash
# Configures and builds diffgraph (Release) in build/.
#   scripts/build.sh [--target NAME]... [cmake configure arguments]...
# Each --target builds only that target and what it needs (default: everything); the other
# arguments go to cmake's configure.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
targets=()
configure=()
while [ $# -gt 0 ]; do
  case "$1" in
    --target)
      [ $# -ge 2 ] || { echo "build.sh: --target needs a name" >&2; exit 2; }
      targets+=(--target "$2")
      shift 2
      ;;
    *)
      configure+=("$1")
      shift
      ;;
  esac
done
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "${configure[@]}"
cmake --build build -j"$jobs" "${targets[@]}"
