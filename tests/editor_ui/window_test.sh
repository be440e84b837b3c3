#!/usr/bin/env bash
# The editor in a real window: opens graphs/txt2img.json under Xvfb (Mesa's software OpenGL),
# runs it on the tiny fixture checkpoint, writes a screenshot after the run and checks it with
# editor_screenshot_check (not blank, node title colours, the generated picture inside the
# SaveImage node). Also checks that without a display the editor exits with a message.
# Usage: window_test.sh EDITOR CHECKER WORK_DIR   (run from the source root)
set -euo pipefail
editor=$1
checker=$2
work=$3
fixtures=${DIFFGRAPH_FIXTURES:-../shared/fixtures}

rm -rf "$work"
mkdir -p "$work/models" "$work/config"
# The graph's loader asks for the default model; give it the tiny checkpoint under that name.
ln -s "$(realpath "$fixtures/tiny_sd1/model.safetensors")" "$work/models/diffgraph-shapes.safetensors"
export XDG_CONFIG_HOME="$work/config"  # recent files and backups stay in the work folder

echo "== no display"
set +e
env -u DISPLAY -u WAYLAND_DISPLAY "$editor" graphs/txt2img.json >"$work/no-display.log" 2>&1
code=$?
set -e
cat "$work/no-display.log"
if [ "$code" -ne 5 ] || ! grep -q "cannot open a window" "$work/no-display.log"; then
  echo "FAIL: without a display the editor should exit 5 with a message (got $code)"
  exit 1
fi

echo "== window under Xvfb"
command -v xvfb-run >/dev/null || { echo "FAIL: xvfb-run is not installed (scripts/install-deps.sh installs xvfb)"; exit 1; }
# --models before the graph: each --models takes one folder, so the graph stays positional.
xvfb-run -a -s "-screen 0 1280x800x24" "$editor" --models "$work/models" graphs/txt2img.json \
  --output-dir "$work/output" --run --screenshot "$work/txt2img.png" --frames 3 --size 1280x800 --timeout 300
ls "$work/output"
"$checker" "$work/txt2img.png"
