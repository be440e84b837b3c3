#!/usr/bin/env bash
# run.sh — builds scripts/gpu-check against the LibTorch of the machine's PyTorch 2.x and runs it
# on the GPU. Made for the GPU machine, where it runs from the repository root with
# .gpu-carry/ (nlohmann/json headers + the fixture folders gpu_check reads) carried along:
#
#   bash scripts/gpu-check/run.sh            # log in $OUT/gpu-check.log (or /tmp/gpu-check-out)
#
# Fill .gpu-carry/ on the development machine first (ignored by git through .git/info/exclude):
#   mkdir -p .gpu-carry/include .gpu-carry/fixtures
#   cp -r /usr/include/nlohmann .gpu-carry/include/
#   (cd ../shared/fixtures && cp -r index.json tiny_sd1 unet unet_linear vae clip_text ../../main/.gpu-carry/fixtures/)
#
# The build uses CMake's find_package(Torch); if configuring that way fails (the pip wheels' CMake
# files want a matching CUDA toolkit), the same sources are compiled directly with g++ against the
# wheel's headers and libraries, so the check itself still runs; the log says which way was used
# and keeps CMake's errors. GPU_CHECK_DIRECT=1 skips CMake.
set -uo pipefail
cd "$(dirname "$0")/../.."
REPO=$(pwd)
OUT_DIR=${OUT:-/tmp/gpu-check-out}
BUILD=${GPU_CHECK_BUILD:-/tmp/gpu-check-build}
JOBS=$(nproc)
mkdir -p "$OUT_DIR" "$BUILD"

main() {
echo "== machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1
echo "nvcc: $(nvcc --version 2>&1 | tail -n 2 | head -n 1)"
echo "c++:  $(c++ --version 2>&1 | head -n 1)"
echo "cmake: $(cmake --version 2>&1 | head -n 1), ninja: $(ninja --version 2>&1)"
python3 - <<'PY'
import torch
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}, "
      f"cxx11 ABI {torch.compiled_with_cxx11_abi()}, device {torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none'}")
PY
TORCH_PREFIX=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
TORCH_ROOT=$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))')
[ -f .gpu-carry/include/nlohmann/json.hpp ] || { echo "FAIL: .gpu-carry/include/nlohmann missing (carry .gpu-carry)"; return 1; }
[ -f .gpu-carry/fixtures/index.json ] || { echo "FAIL: .gpu-carry/fixtures missing (carry .gpu-carry)"; return 1; }

BIN=""
echo "== build with CMake find_package(Torch), Torch_DIR=$TORCH_PREFIX/Torch"
cuda_hints=()
if command -v nvcc >/dev/null; then
  NVCC=$(command -v nvcc)
  cuda_hints=(-DCMAKE_CUDA_COMPILER="$NVCC" -DCUDAToolkit_ROOT="$(dirname "$(dirname "$NVCC")")")
fi
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
start=$(date +%s)
if [ -n "${GPU_CHECK_DIRECT:-}" ]; then
  echo "(skipped: GPU_CHECK_DIRECT is set)"
elif TORCH_CUDA_ARCH_LIST=9.0 timeout 120 cmake -S scripts/gpu-check -B "$BUILD/cmake" "${generator[@]}" \
     -DCMAKE_BUILD_TYPE=Release -DTorch_DIR="$TORCH_PREFIX/Torch" -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" \
     "${cuda_hints[@]}" > "$OUT_DIR/cmake-configure.log" 2>&1; then
  grep -i 'warn\|found' "$OUT_DIR/cmake-configure.log" | head -n 20
  keep_going=()
  [ ${#generator[@]} -gt 0 ] && keep_going=(-- -k 0)  # every failing file's errors, in one run
  if timeout 300 cmake --build "$BUILD/cmake" -j "$JOBS" "${keep_going[@]}" > "$OUT_DIR/cmake-build.log" 2>&1; then
    BIN="$BUILD/cmake/gpu_check"
    echo "CMake build OK in $(( $(date +%s) - start )) s"
    grep -i 'warning' "$OUT_DIR/cmake-build.log" | sort | uniq -c | sort -rn | head -n 20
  else
    # The sources do not compile (or link) against this LibTorch: the direct build would fail the same way.
    echo "CMake BUILD FAILED; errors (full log: cmake-build.log):"
    grep -B2 -A8 'error' "$OUT_DIR/cmake-build.log" | head -n 200
    echo "==== SUMMARY: gpu_check could not be built -> FAIL ===="
    return 1
  fi
else
  echo "CMake CONFIGURE FAILED:"
  tail -n 60 "$OUT_DIR/cmake-configure.log"
fi

if [ -z "$BIN" ]; then
  echo "== fallback: direct g++ build against $TORCH_ROOT"
  ABI=$(python3 -c 'import torch; print(int(torch.compiled_with_cxx11_abi()))')
  FLAGS=(-std=c++20 -O2 -D_GLIBCXX_USE_CXX11_ABI="$ABI" -I"$TORCH_ROOT/include"
         -I"$TORCH_ROOT/include/torch/csrc/api/include" -Inodes -Itests -isystem .gpu-carry/include)
  mkdir -p "$BUILD/direct"
  sources=${GPU_CHECK_DIRECT_SOURCES:-"scripts/gpu-check/gpu_check.cpp $(ls nodes/models/*.cpp | grep -v clip_tokenizer.cpp)"}
  ok=1
  for s in $sources; do echo "$s"; done | xargs -P "$JOBS" -I{} sh -c \
      'c++ '"${FLAGS[*]}"' -c {} -o '"$BUILD/direct"'/$(basename {} .cpp).o' > "$OUT_DIR/direct-build.log" 2>&1 || ok=0
  if [ $ok = 1 ] && c++ "$BUILD"/direct/*.o -o "$BUILD/direct/gpu_check" -L"$TORCH_ROOT/lib" -Wl,-rpath,"$TORCH_ROOT/lib" \
       -Wl,--no-as-needed -ltorch -ltorch_cuda -ltorch_cpu -lc10_cuda -lc10 -Wl,--as-needed -lpthread \
       >> "$OUT_DIR/direct-build.log" 2>&1; then
    BIN="$BUILD/direct/gpu_check"
    echo "direct build OK in $(( $(date +%s) - start )) s"
  else
    echo "direct BUILD FAILED:"
    grep -B2 -A6 'error' "$OUT_DIR/direct-build.log" | head -n 120
    echo "==== SUMMARY: gpu_check could not be built -> FAIL ===="
    return 1
  fi
fi

echo "== run $BIN"
# The libraries PyTorch itself loads (the wheels' CUDA, cuDNN, cuBLAS under site-packages/nvidia).
nvidia_libs=$(find "$(dirname "$TORCH_ROOT")/nvidia" -maxdepth 3 -type d -name lib 2>/dev/null | tr '\n' ':')
export LD_LIBRARY_PATH="$TORCH_ROOT/lib:${nvidia_libs}${LD_LIBRARY_PATH:-}"
ldd "$BIN" | grep 'not found'
DIFFGRAPH_FIXTURES="$REPO/.gpu-carry/fixtures" timeout 200 "$BIN" --device cuda
rc=$?
echo "gpu_check exit code $rc"
return $rc
}

main 2>&1 | tee "$OUT_DIR/gpu-check.log"
exit "${PIPESTATUS[0]}"
