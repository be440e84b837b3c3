#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs the saved text-to-image workflow
# headless on the embedded default model (models/diffgraph-shapes.safetensors). The picture
# lands in output/ (numbered, never overwriting an earlier one).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
build/bin/diffgraph run graphs/txt2img.json --output-dir output
