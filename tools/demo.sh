#!/usr/bin/env bash
# The main job end to end on built-in synthetic data. Usage: tools/demo.sh OUTDIR
set -euo pipefail
out=${1:-out/demo}
enc=.venv/bin/encoder
mkdir -p "$out"
echo "== demo outputs in $out"
