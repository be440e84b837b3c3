#!/usr/bin/env bash
# Installs the Debian 12 packages diffgraph needs to build, test and run. Idempotent: packages
# already present are left alone. Needs root (or sudo) for apt.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  clang libclang-rt-14-dev                       # libFuzzer targets
  libtorch-dev libopenblas0-pthread              # tensors; OpenBLAS makes matmul ~40x faster than reference BLAS
  libboost-dev libboost-filesystem-dev           # Boost.DLL plugin loading
  nlohmann-json3-dev libcli11-dev libfmt-dev
  libutf8proc-dev zlib1g-dev libpng-dev libstb-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libimgui-dev libglfw3-dev libgl-dev xvfb xauth libgl1-mesa-dri   # editor and its window tests
  fonts-dejavu-core                              # the editor's UI font (falls back to ImGui's own)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages are installed"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
