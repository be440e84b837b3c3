#!/usr/bin/env bash
# Follows docs/plugins.md literally, so the guide cannot drift from what works. The guide
# captions its code blocks; the line just before a fenced block says what to do with it:
#
#   File `PATH`:                     write the block to PATH (in a fresh working folder)
#   Run in the diffgraph checkout:   run the block in the checkout (its `build` = the build dir)
#   Run:                             run the block in the working folder
#   The output includes:             each line is a whole line of the last Run block's stdout
#   The file `PATH` now holds:       PATH (in the working folder) has exactly this text
#   From `PATH`:                     the block is a verbatim excerpt of PATH in the repository
#
# Blocks with any other caption are illustrations and are skipped.
#
#   tests/sdk/follow_guide.sh <diffgraph build dir> <diffgraph source dir>
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 <build dir> <source dir>" >&2
  exit 2
fi
build_dir=$(cd "$1" && pwd)
source_dir=$(cd "$2" && pwd)
guide=$source_dir/docs/plugins.md

work=$(mktemp -d "${TMPDIR:-/tmp}/diffgraph-guide.XXXXXX")
trap 'rm -rf "$work"' EXIT
blocks=$work/blocks
walk=$work/walkthrough
checkout=$work/checkout
mkdir -p "$blocks" "$walk" "$checkout"
ln -s "$build_dir" "$checkout/build"

# What the guide's commands expect from the reader's shell.
export DIFFGRAPH_PREFIX=$work/prefix
unset DIFFGRAPH_PLUGIN_PATH
# Defaults CMake reads from the environment: Ninja, ccache and Release when available.
if command -v ninja >/dev/null; then export CMAKE_GENERATOR=Ninja; fi
if command -v ccache >/dev/null; then export CMAKE_CXX_COMPILER_LAUNCHER=ccache; fi
export CMAKE_BUILD_TYPE=Release

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# Split the guide into numbered blocks plus a manifest: number, kind, argument (tab-separated).
awk -v dir="$blocks" '
  function caption_kind(line) {
    if (match(line, /^File `[^`]+`:$/)) { arg = substr(line, 7, length(line) - 8); return "file" }
    if (line == "Run in the diffgraph checkout:") { arg = ""; return "run_checkout" }
    if (line == "Run:") { arg = ""; return "run" }
    if (line == "The output includes:") { arg = ""; return "includes" }
    if (match(line, /^The file `[^`]+` now holds:$/)) { arg = substr(line, 11, length(line) - 22); return "holds" }
    if (match(line, /^From `[^`]+`:$/)) { arg = substr(line, 7, length(line) - 8); return "excerpt" }
    return ""
  }
  in_block && /^```$/ { in_block = 0; close(out); last = ""; next }
  in_block { print > out; next }
  /^```/ {
    in_block = 1; count++
    kind = caption_kind(last)
    out = sprintf("%s/%03d", dir, count)
    printf "" > out
    if (kind != "") printf "%03d\t%s\t%s\n", count, kind, arg > (dir "/manifest")
    next
  }
  /[^ ]/ { last = $0 }
' "$guide"
[[ -s $blocks/manifest ]] || fail "no captioned blocks found in $guide"

declare -A seen=()
last_output=
run_number=0
while IFS=$'\t' read -r number kind arg; do
  block=$blocks/$number
  seen[$kind]=1
  case $kind in
    file)
      mkdir -p "$(dirname "$walk/$arg")"
      cp "$block" "$walk/$arg"
      echo "== wrote $arg"
      ;;
    run | run_checkout)
      run_number=$((run_number + 1))
      last_output=$work/run_$run_number.out
      where=$walk
      [[ $kind == run ]] || where=$checkout
      echo "== run (in ${where##*/}):"
      sed 's/^/   $ /' "$block"
      (cd "$where" && bash -euo pipefail "$block" >"$last_output" 2>"$work/run_$run_number.err") ||
        { cat "$last_output" "$work/run_$run_number.err" >&2; fail "a Run block of the guide failed:
$(cat "$block")"; }
      ;;
    includes)
      [[ -n $last_output ]] || fail "'The output includes:' block $number comes before any Run block"
      while IFS= read -r line; do
        [[ -z $line ]] && continue
        grep -Fxq -- "$line" "$last_output" ||
          { cat "$last_output" >&2; fail "the output lacks the line '$line' the guide shows"; }
      done <"$block"
      echo "== output checked"
      ;;
    holds)
      [[ -f $walk/$arg ]] || fail "the guide says $arg exists, but it does not"
      [[ $(cat "$walk/$arg") == "$(cat "$block")" ]] ||
        fail "$arg holds '$(cat "$walk/$arg")', the guide says '$(cat "$block")'"
      echo "== $arg checked"
      ;;
    excerpt)
      [[ -f $source_dir/$arg ]] || fail "the guide quotes $arg, which does not exist"
      [[ $(cat "$source_dir/$arg") == *"$(cat "$block")"* ]] ||
        fail "the guide's excerpt of $arg is not in that file:
$(cat "$block")"
      echo "== excerpt of $arg checked"
      ;;
  esac
done <"$blocks/manifest"

for kind in file run run_checkout includes holds excerpt; do
  [[ -n ${seen[$kind]:-} ]] || fail "the guide has no block captioned for '$kind' (were the captions changed?)"
done

# What the guide states about the walkthrough beyond its captioned blocks.
diffgraph=$DIFFGRAPH_PREFIX/bin/diffgraph
grep -Fxq "  words 1.0  2 nodes  $DIFFGRAPH_PREFIX/lib/diffgraph/plugins/words.so" "$work"/run_*.out ||
  fail "the installed words plugin was not listed by 'diffgraph plugins'"
set +e
(cd "$walk" && "$diffgraph" run words.json --set 'split.text= ' --output-dir out >"$work/error.out" 2>"$work/error.err")
status=$?
set -e
[[ $status -eq 4 ]] || fail "a failing node gave exit code $status, the guide says 4"
grep -Fxq "error: node split (SplitWords) failed: the text has no words" "$work/error.err" ||
  { cat "$work/error.err" >&2; fail "the NodeError message differs from the guide's"; }

echo "PASS: docs/plugins.md followed step by step"
