#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs the saved text-to-image workflow
# headless. The picture lands in output/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
args=(run graphs/txt2img.json --output-dir output)
if [ ! -f models/diffgraph-shapes.safetensors ]; then
  # The embedded default model is not in this checkout yet: run the same workflow on the tiny
  # SD1-layout test checkpoint (random weights, so the picture is noise, but every node runs).
  echo "quickstart: models/diffgraph-shapes.safetensors is missing; using the tiny test checkpoint"
  args+=(--models ../shared/fixtures/tiny_sd1 --set ckpt.ckpt_name=model.safetensors)
fi
build/bin/diffgraph "${args[@]}"
