#!/usr/bin/env bash
# The main job end to end on built-in synthetic data. Usage: tools/demo.sh OUTDIR
# Every step writes under OUTDIR; running the demo again replaces its own outputs.
set -euo pipefail
out=${1:-out/demo}
enc=.venv/bin/encoder
mkdir -p "$out"
step() { echo; echo "== $*"; }

step "synthetic HGCAL modules (shower max, 200 pileup)"
$enc data synth --modules 30000 --seed 1 --out "$out/data.npz" --force
$enc data info "$out/data.npz"

step "quantization-aware training of the ECON-T encoder (QKeras, Sinkhorn loss, early stopping on validation EMD, capped for the demo)"
$enc train --config configs/econt_8x8.yaml --data "$out/data.npz" --out "$out/run" --epochs 40 --seed 0 --force

step "export to the IR, checked bit for bit against QKeras"
$enc export "$out/run" --out "$out/ir.json" --check "$out/data.npz" --force

step "golden model (integer hardware path)"
$enc golden "$out/ir.json" --data "$out/data.npz" --out "$out/latents.npz" --force

step "Verilog of the trained encoder (programmable weights), simulated on Icarus against the golden model"
$enc rtl "$out/ir.json" --out "$out/rtl" --force
$enc sim "$out/rtl" --sim icarus --vectors 1000 --data "$out/data.npz" --jobs 2 --out "$out/sim" --force

step "evaluation against the ECON-T algorithms at the same bandwidth"
$enc data synth --modules 10000 --seed 2 --out "$out/test.npz" --force
$enc evaluate "$out/run" --ir "$out/ir.json" --data "$out/test.npz" --out "$out/evaluation" --force
real=data/cms/calq_ttbar_6050.csv
$enc data import "$real" --units-per-mip 35 --out "$out/cms_ttbar.npz" --force
$enc evaluate "$out/run" --ir "$out/ir.json" --data "$out/cms_ttbar.npz" --out "$out/evaluation_cms" --force
echo
echo "== done: report in $out/evaluation/metrics.csv (synthetic) and $out/evaluation_cms/metrics.csv (CMS ttbar), plots beside them"
