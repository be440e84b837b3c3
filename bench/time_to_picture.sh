#!/usr/bin/env bash
# time_to_picture.sh — wall time of `diffgraph run graphs/txt2img.json` from process start to the
# PNG written (the process exits right after SaveImage), on the embedded default model.
# Each run writes into a fresh folder so SaveImage never finds an earlier picture.
#
#   bench/time_to_picture.sh [RUNS] [extra diffgraph run arguments...]
#
# Prints every run's wall time and the median. Target (issue #6): ≤ 3 s on the 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
shift || true
bin=build/bin/diffgraph
[ -x "$bin" ] || { echo "time_to_picture: $bin is missing; build first (scripts/build.sh)" >&2; exit 1; }
[ -f models/diffgraph-shapes.safetensors ] || { echo "time_to_picture: models/diffgraph-shapes.safetensors is missing" >&2; exit 1; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
times=()
for i in $(seq 1 "$runs"); do
  out="$scratch/run$i"
  start=$(date +%s.%N)
  "$bin" run graphs/txt2img.json --output-dir "$out" "$@" > "$scratch/log$i" 2>&1
  end=$(date +%s.%N)
  pngs=$(find "$out" -name '*.png' | wc -l)
  [ "$pngs" -ge 1 ] || { echo "time_to_picture: run $i wrote no PNG:" >&2; cat "$scratch/log$i" >&2; exit 1; }
  t=$(awk -v a="$start" -v b="$end" 'BEGIN {print b - a}')
  times+=("$t")
  printf 'run %d: %.2f s\n' "$i" "$t"
done
median=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')
printf 'median of %d: %.2f s (load average %s)\n' "$runs" "$median" "$(cut -d' ' -f1-3 /proc/loadavg)"
