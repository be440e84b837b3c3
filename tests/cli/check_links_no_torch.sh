#!/usr/bin/env bash
# Fails when the given binary, or a library it loads at start, is LibTorch (libtorch*, libc10*).
set -euo pipefail
binary=$1
libraries=$(ldd "$binary")
echo "$libraries"
if grep -Eq 'lib(torch|c10)[^ ]*\.so' <<<"$libraries"; then
  echo "FAIL: $binary links LibTorch" >&2
  exit 1
fi
echo "ok: $binary links no LibTorch"
