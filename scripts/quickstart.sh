#!/usr/bin/env bash
# The main job: installs what is missing, builds what the main job needs — the runner, the core
# plugins and the editor, not the tests, benchmarks or tools (scripts/test.sh builds those) — and
# runs the saved text-to-image workflow headless on the embedded default model
# (models/diffgraph-shapes.safetensors). The picture lands in output/ (numbered, never
# overwriting an earlier one).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh --target diffgraph --target basic --target diffusion --target diffgraph-editor
build/bin/diffgraph run graphs/txt2img.json --output-dir output
