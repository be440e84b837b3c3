#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test suite — the full
# build's ctest (fixture tests included), the engine under ASan+UBSan, and bounded fuzzing of
# the workflow-JSON and safetensors parsers. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export DIFFGRAPH_FIXTURES="${DIFFGRAPH_FIXTURES:-$(pwd)/../shared/fixtures}"
fuzz_seconds="${DIFFGRAPH_FUZZ_SECONDS:-60}"
jobs=$(nproc)

scripts/install-deps.sh
scripts/build.sh

echo "== tests (ctest)"
(cd build && ctest --output-on-failure -j"$jobs")

echo "== engine tests under AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DDIFFGRAPH_SANITIZE=ON \
  -DDIFFGRAPH_WITH_TORCH=OFF -DDIFFGRAPH_BUILD_BENCH=OFF -DDIFFGRAPH_BUILD_CLI=OFF -DDIFFGRAPH_BUILD_EDITOR=OFF >/dev/null
cmake --build build-asan -j"$jobs" --target engine_tests test_safetensors
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j"$jobs" -R 'engine|safetensors')

echo "== fuzzing (${fuzz_seconds}s per target)"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDIFFGRAPH_FUZZ=ON \
  -DDIFFGRAPH_WITH_TORCH=OFF -DDIFFGRAPH_BUILD_TESTS=OFF -DDIFFGRAPH_BUILD_BENCH=OFF -DDIFFGRAPH_BUILD_CLI=OFF -DDIFFGRAPH_BUILD_EDITOR=OFF >/dev/null
cmake --build build-fuzz -j"$jobs"
for target in fuzz_graph_json:graphs fuzz_safetensors:tests/fuzz/corpus/safetensors; do
  name=${target%%:*}
  seeds=${target#*:}
  corpus=$(mktemp -d)
  ./build-fuzz/bin/$name -max_total_time="$fuzz_seconds" -print_final_stats=0 "$corpus" "$seeds" 2>&1 | tail -n 3
  rm -rf "$corpus"
done
echo "== all tests passed"
