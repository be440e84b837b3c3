#!/usr/bin/env bash
# The plugin SDK end to end, as a plugin author meets it: install diffgraph into a fresh prefix,
# build the three example plugins out of tree against it (find_package(diffgraph)), list and run
# their nodes together with the diffusion nodes on the tiny fixture checkpoint (model_scale
# wraps the checkpoint's MODEL through the installed diffusion pipeline library), install a
# plugin where the runner finds it, and check that a plugin built for another ABI version is
# refused with a message naming both versions.
#
#   tests/sdk/test_sdk.sh <diffgraph build dir> <diffgraph source dir>
#
# Uses Ninja and ccache when present. DIFFGRAPH_FIXTURES overrides ../shared/fixtures.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 <build dir> <source dir>" >&2
  exit 2
fi
build_dir=$(cd "$1" && pwd)
source_dir=$(cd "$2" && pwd)
fixtures=${DIFFGRAPH_FIXTURES:-$source_dir/../shared/fixtures}
[[ $fixtures = /* ]] || fixtures=$source_dir/$fixtures
checkpoint_dir=$fixtures/tiny_sd1
examples=$source_dir/plugins/examples

work=$(mktemp -d "${TMPDIR:-/tmp}/diffgraph-sdk.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
# Only the folders this test names may contribute plugins.
unset DIFFGRAPH_PLUGIN_PATH

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
step() { echo "== $*"; }
# expect_match FILE REGEX WHAT: FILE has a line matching the extended REGEX.
expect_match() {
  grep -Eq -- "$2" "$1" || { echo "--- $1:" >&2; cat "$1" >&2; fail "$3"; }
}

cmake_generator=()
command -v ninja >/dev/null && cmake_generator=(-G Ninja)
cmake_launcher=()
command -v ccache >/dev/null && cmake_launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# build_plugin SOURCE BUILD [cmake args...]: configure and build an out-of-tree plugin.
build_plugin() {
  local source=$1 build=$2
  shift 2
  cmake -S "$source" -B "$build" "${cmake_generator[@]}" "${cmake_launcher[@]}" \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" "$@" >"$build.configure.log" 2>&1 ||
    { cat "$build.configure.log" >&2; fail "configuring $source"; }
  cmake --build "$build" --parallel 2 >"$build.build.log" 2>&1 ||
    { cat "$build.build.log" >&2; fail "building $source"; }
}

step "install the build into $prefix"
cmake --install "$build_dir" --prefix "$prefix" >"$work/install.log"
for file in bin/diffgraph lib/libdiffgraph.so lib/libdiffgraph_tensor_values.so lib/libdiffgraph_diffusion.so \
  include/diffgraph/pipeline/model_values.hpp include/diffgraph/models/unet.hpp include/diffgraph/sampling/samplers.hpp \
  lib/diffgraph/plugins/basic.so lib/diffgraph/plugins/diffusion.so \
  include/diffgraph/abi.hpp include/diffgraph/plugin.hpp include/diffgraph/node_spec.hpp \
  include/diffgraph/tensor_values.hpp share/diffgraph/clip/bpe_simple_vocab_16e6.txt.gz \
  lib/cmake/diffgraph/diffgraphConfig.cmake lib/cmake/diffgraph/diffgraphConfigVersion.cmake \
  lib/cmake/diffgraph/diffgraphTargets.cmake lib/cmake/diffgraph/diffgraphTensorTargets.cmake \
  lib/cmake/diffgraph/diffgraphPluginHelpers.cmake; do
  [[ -e $prefix/$file ]] || fail "the install lacks $file"
done
diffgraph=$prefix/bin/diffgraph

step "build the examples out of tree against the installed SDK"
build_plugin "$examples/prompt_template" "$work/prompt_template"
build_plugin "$examples/image_adjust" "$work/image_adjust"
build_plugin "$examples/model_scale" "$work/model_scale"
[[ -f $work/model_scale/plugins/model_scale.so ]] || fail "model_scale.so was not built into plugins/"
[[ -f $work/prompt_template/plugins/prompt_template.so ]] || fail "prompt_template.so was not built into plugins/"
[[ -f $work/image_adjust/plugins/image_adjust.so ]] || fail "image_adjust.so was not built into plugins/"
# A torch-free plugin must not make CMake look for LibTorch (the `tensor` component is lazy).
if grep -q '^Torch_DIR:' "$work/prompt_template/CMakeCache.txt"; then
  fail "find_package(diffgraph) without COMPONENTS tensor looked for Torch"
fi
plugin_args=(--plugins "$work/prompt_template/plugins" --plugins "$work/image_adjust/plugins")

step "diffgraph nodes lists the example nodes with their plugins"
"$diffgraph" nodes "${plugin_args[@]}" >"$work/nodes.txt" 2>"$work/nodes.err"
for node in PromptTemplate Wildcards; do
  expect_match "$work/nodes.txt" "^$node  \[prompt_template\]" "nodes does not list $node from prompt_template"
done
for node in ImageBlur ImageSharpen ImageLevels; do
  expect_match "$work/nodes.txt" "^$node  \[image_adjust\]" "nodes does not list $node from image_adjust"
done
expect_match "$work/nodes.txt" '^KSampler  \[diffusion\]' "nodes does not list the diffusion nodes"
[[ ! -s $work/nodes.err ]] || { cat "$work/nodes.err" >&2; fail "nodes warned about a plugin"; }
"$diffgraph" plugins "${plugin_args[@]}" >"$work/plugins.txt"
expect_match "$work/plugins.txt" '^  prompt_template 1\.0  2 nodes' "plugins does not show prompt_template loaded"
expect_match "$work/plugins.txt" '^  image_adjust 1\.0  3 nodes' "plugins does not show image_adjust loaded"

step "run a graph mixing the example nodes and the diffusion nodes"
(cd "$work" && "$diffgraph" run "$source_dir/tests/sdk/examples_pipeline.json" "${plugin_args[@]}" \
  --models "$checkpoint_dir" --output-dir "$work/out" >"$work/run.txt" 2>"$work/run.err") ||
  { cat "$work/run.txt" "$work/run.err" >&2; fail "the example pipeline failed"; }
for number in 00001 00002; do
  image=$work/out/sdk_examples_${number}_.png
  [[ -s $image ]] || { cat "$work/run.txt" >&2; fail "no PNG $image was written"; }
  [[ $(head -c 8 "$image" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] || fail "$image is not a PNG"
done
expect_match "$work/run.err" '^progress blur \(ImageBlur\) 2/2' "ImageBlur did not report progress per image"
prompt=$(cat "$work/out/prompt_00001.txt")
[[ $prompt =~ ^a\ (red|green|blue)\ circle\ on\ a\ (white|black)\ background,\ flat\ colours$ ]] ||
  fail "unexpected prompt from Wildcards + PromptTemplate: '$prompt'"

step "a plugin built on the diffusion library wraps the checkpoint's MODEL"
# The same txt2img twice through ModelOutputScale and once without it: scale 1 must give the
# unwrapped model's picture byte for byte, scale 0.5 another one.
write_txt2img() {  # write_txt2img FILE MODEL_LINK_NODE [extra node json]
  cat >"$1" <<EOF2
{
  "format": "diffgraph/1",
  "nodes": {
    "ckpt": {"type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "model.safetensors"}},
    $3
    "positive": {"type": "CLIPTextEncode", "inputs": {"clip": {"node": "ckpt", "output": "CLIP"}, "text": "a red circle"}},
    "negative": {"type": "CLIPTextEncode", "inputs": {"clip": {"node": "ckpt", "output": "CLIP"}, "text": ""}},
    "latent": {"type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
    "sampler": {"type": "KSampler", "inputs": {
      "model": {"node": "$2", "output": "MODEL"},
      "positive": {"node": "positive", "output": "CONDITIONING"},
      "negative": {"node": "negative", "output": "CONDITIONING"},
      "latent_image": {"node": "latent", "output": "LATENT"},
      "seed": 3, "steps": 2, "cfg": 5.0, "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0}},
    "decode": {"type": "VAEDecode", "inputs": {"samples": {"node": "sampler", "output": "LATENT"}, "vae": {"node": "ckpt", "output": "VAE"}}},
    "save": {"type": "SaveImage", "inputs": {"images": {"node": "decode", "output": "IMAGE"}, "filename_prefix": "m"}}
  }
}
EOF2
}
write_txt2img "$work/plain.json" ckpt ""
write_txt2img "$work/scaled.json" scale '"scale": {"type": "ModelOutputScale", "inputs": {"model": {"node": "ckpt", "output": "MODEL"}, "scale": 1.0}},'
run_picture() {  # run_picture GRAPH OUT [--set ...]: runs it, prints the PNG written
  local graph=$1 out=$2
  shift 2
  "$diffgraph" run "$graph" --plugins "$work/model_scale/plugins" --models "$checkpoint_dir" --output-dir "$out" "$@" \
    >"$out.log" 2>&1 || { cat "$out.log" >&2; fail "running $graph $*"; }
  [[ -s $out/m_00001_.png ]] || fail "$graph wrote no picture"
  echo "$out/m_00001_.png"
}
plain=$(run_picture "$work/plain.json" "$work/plain")
same=$(run_picture "$work/scaled.json" "$work/scale_1")
half=$(run_picture "$work/scaled.json" "$work/scale_half" --set scale.scale=0.5)
# The PNGs carry their (different) workflows: compare the pixel data, the IDAT chunks.
pixels() {
  python3 -c 'import struct, sys, zlib
data = open(sys.argv[1], "rb").read()[8:]
idat = b""
while data:
    length, kind = struct.unpack(">I4s", data[:8])
    if kind == b"IDAT":
        idat += data[8:8 + length]
    data = data[12 + length:]
sys.stdout.write(zlib.decompress(idat).hex())' "$1"
}
[[ $(pixels "$plain") == "$(pixels "$same")" ]] || fail "ModelOutputScale with scale 1 changed the picture"
[[ $(pixels "$plain") != "$(pixels "$half")" ]] || fail "ModelOutputScale with scale 0.5 left the picture unchanged"

step "Wildcards is deterministic per seed; PromptTemplate names a missing placeholder"
cat >"$work/prompt_only.json" <<'EOF'
{
  "format": "diffgraph/1",
  "nodes": {
    "wildcards": {"type": "Wildcards", "inputs": {"text": "{a|b|c|d|e|f|g|h}{1|2|3|4|5|6|7|8}", "seed": 0}},
    "prompt": {"type": "PromptTemplate",
               "inputs": {"template": "<{a}>", "a": {"node": "wildcards", "output": "STRING"}}},
    "save": {"type": "SaveText", "inputs": {"text": {"node": "prompt", "output": "STRING"}, "filename_prefix": "p"}}
  }
}
EOF
prompt_for_seed() {
  local out=$work/prompt_seed_$1_$2
  "$diffgraph" run "$work/prompt_only.json" "${plugin_args[@]}" --set "wildcards.seed=$1" --output-dir "$out" \
    >/dev/null 2>&1 || fail "the prompt graph failed for seed $1"
  cat "$out/p_00001.txt"
}
first=$(prompt_for_seed 7 first)
again=$(prompt_for_seed 7 again)
[[ $first =~ ^\<[a-h][1-8]\>$ ]] || fail "unexpected Wildcards result '$first'"
[[ $first == "$again" ]] || fail "seed 7 gave '$first', then '$again'"
distinct=$(for seed in 1 2 3 4 5 6; do prompt_for_seed "$seed" many; echo; done | sort -u | wc -l)
((distinct >= 3)) || fail "six seeds gave only $distinct different prompts"
if "$diffgraph" run "$work/prompt_only.json" "${plugin_args[@]}" --set 'prompt.template={subject}' \
  --output-dir "$work/out_error" >"$work/error.txt" 2>&1; then
  fail "a template with an unknown placeholder ran"
fi
expect_match "$work/error.txt" 'prompt.*PromptTemplate.*no value for \{subject\} \(known: a, b, c\)' \
  "the NodeError of PromptTemplate does not reach the user with the node named"

step "installed plugins are found without --plugins"
cmake --install "$work/prompt_template" --prefix "$prefix" >/dev/null
cmake --install "$work/image_adjust" --prefix "$prefix" >/dev/null
[[ -f $prefix/lib/diffgraph/plugins/prompt_template.so ]] || fail "prompt_template did not install into lib/diffgraph/plugins"
"$diffgraph" plugins >"$work/installed.txt"
expect_match "$work/installed.txt" "^  prompt_template 1\.0  2 nodes  $prefix/lib/diffgraph/plugins/prompt_template\.so" \
  "the installed prompt_template is not loaded"
expect_match "$work/installed.txt" "^  image_adjust 1\.0  3 nodes  $prefix/lib/diffgraph/plugins/image_adjust\.so" \
  "the installed image_adjust is not loaded"
if grep -q '^failed plugins' "$work/installed.txt"; then
  cat "$work/installed.txt" >&2
  fail "an installed plugin was refused"
fi
rm "$prefix/lib/diffgraph/plugins/prompt_template.so" "$prefix/lib/diffgraph/plugins/image_adjust.so"

step "a plugin built for another ABI version is refused, naming both versions"
abi=$(sed -n 's/^#define DIFFGRAPH_ABI_VERSION \([0-9][0-9]*\)$/\1/p' "$prefix/include/diffgraph/abi.hpp")
[[ -n $abi ]] || fail "no DIFFGRAPH_ABI_VERSION in the installed abi.hpp"
next=$((abi + 1))
cp -r "$examples/prompt_template" "$work/abi_source"
build_plugin "$work/abi_source" "$work/abi_build" -DCMAKE_CXX_FLAGS="-DDIFFGRAPH_ABI_VERSION=$next"
"$diffgraph" plugins --plugins "$work/abi_build/plugins" >"$work/abi.txt"
expect_match "$work/abi.txt" '^failed plugins \(1\):' "the plugin built for ABI $next was not refused"
expect_match "$work/abi.txt" "^  prompt_template  $work/abi_build/plugins/prompt_template\.so" \
  "the refused plugin is not named"
expect_match "$work/abi.txt" "ABI version $next.*ABI version $abi" \
  "the refusal does not name both ABI versions ($next and $abi)"
"$diffgraph" nodes --plugins "$work/abi_build/plugins" >"$work/abi_nodes.txt" 2>"$work/abi_nodes.err"
if grep -q '^PromptTemplate ' "$work/abi_nodes.txt"; then fail "nodes of the refused plugin were registered"; fi
expect_match "$work/abi_nodes.err" "warning: plugin .*prompt_template\.so was not loaded: .*ABI version $next" \
  "nodes does not warn about the refused plugin"

echo "PASS: SDK install, out-of-tree examples, run, install and ABI refusal"
