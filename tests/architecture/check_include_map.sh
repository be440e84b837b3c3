#!/usr/bin/env bash
# The include map by folder, as docs/architecture.md draws it: front ends → engine ← plugins; the
# diffusion library (nodes/models, nodes/sampling, nodes/pipeline) below the diffusion plugin;
# no arrow back. Fails listing every #include that crosses the map the wrong way.
#   tests/architecture/check_include_map.sh <source dir>
set -euo pipefail
cd "$1"

violations=0
# forbid FOLDER REGEX WHY: no #include in FOLDER's sources may match the extended REGEX.
forbid() {
  local folder=$1 pattern=$2 why=$3 hits
  hits=$(grep -rnE --include='*.cpp' --include='*.hpp' "^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"]($pattern)" "$folder" || true)
  if [[ -n $hits ]]; then
    echo "FAIL: $folder must not include $pattern ($why):"
    echo "$hits" | sed 's/^/  /'
    violations=$((violations + 1))
  fi
}

diffusion='models/|sampling/|pipeline/'
torch='torch/|ATen/|c10/'
forbid engine "$diffusion|$torch|diffgraph/tensor_values|diffgraph/editor/" "the engine knows graphs, values and plugins, nothing of torch or diffusion"
for front_end in cli editor; do
  forbid "$front_end" "$diffusion|$torch|diffgraph/tensor_values" "front ends stand on the engine only"
done
forbid plugins/basic "$diffusion|$torch" "the basic plugin is torch-free"
forbid nodes/values "$diffusion" "the tensor values are below the diffusion library"
forbid nodes/models "sampling/|pipeline/|diffgraph/" "the model runtime stands alone"
forbid nodes/sampling "pipeline/|diffgraph/" "the samplers need only the model inputs"

checked=$(find engine cli editor plugins/basic nodes/values nodes/models nodes/sampling -name '*.cpp' -o -name '*.hpp' | wc -l)
if ((violations > 0)); then
  echo "$violations folder(s) break the include map ($checked files checked)"
  exit 1
fi
echo "include map holds ($checked files checked)"
