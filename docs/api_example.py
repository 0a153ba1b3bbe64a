"""The kit from Python, as in a notebook: data -> IR -> golden model -> Verilog -> cocotb -> EMD.

    python docs/api_example.py OUT_DIR [--run out/run | --ir out/run/ir.json] [--modules N] [--vectors N]

Without --run or --ir it uses the real ECON-T chip's encoder (its I2C configuration,
tests/data/econt/AE/init.yaml), so it needs no training and no TensorFlow; with --run it
exports a trained run with `encoder.from_keras` (TensorFlow) and also scores it with
`encoder.evaluate`. `tests/test_api.py` runs it as written.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

import encoder

ROOT = Path(__file__).resolve().parents[1]

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("out", help="folder for everything this writes (created)")
ap.add_argument("--run", help="a run folder of `encoder train` (needs TensorFlow)")
ap.add_argument("--ir", help="an IR file")
ap.add_argument("--modules", type=int, default=500, help="CMS modules to use (default 500)")
ap.add_argument("--vectors", type=int, default=50, help="cocotb vectors (default 50)")
args = ap.parse_args()
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)

# 1. Data: the CMS ttbar sample shipped with the kit (35 ADC units per MIP).
cms = encoder.load_data(ROOT / "data" / "cms" / "calq_ttbar_6050.csv", units_per_mip=35)
charges = cms.charges[:args.modules]
print(f"data: {len(charges)} CMS modules of {charges.shape[1]} cells, median module sum "
      f"{np.median(charges.sum(axis=1)):.1f} MIP")

# 2. An IR: a trained run, an IR file, or the chip's own encoder.
if args.run:
    ir = encoder.from_keras(args.run)
elif args.ir:
    ir = encoder.load_ir(args.ir)
else:
    ir = encoder.from_econt(ROOT / "tests" / "data" / "econt" / "AE" / "init.yaml")
ir.save(out / "ir.json", force=True)
print(ir)

# 3. The golden model: latent codes, bit for bit what the chip sends.
codes = ir.predict(charges)
print(f"golden: {codes.shape[0]} x {codes.shape[1]} latent codes, mean {codes.mean():.1f} "
      f"(x {ir.latent_lsb:g} = {codes.mean() * ir.latent_lsb:.3f}), max {codes.max()}")

# 4. Verilog (constant weights: no configuration to load, quick to simulate) and its cocotb regression.
design = ir.write_rtl(out / "rtl", weights="constant", force=True)
print(design, "+ files.f and a cocotb Makefile (make -C", design.dir, "SIM=icarus)")
result = design.simulate(sim="icarus", vectors=args.vectors, out=out / "sim", force=True)
print(f"cocotb: {'PASS' if result.passed else 'FAIL'}, {result['checked']} vectors checked against the golden "
      f"model, {result['mismatches']} mismatches")

# 5. Quality: the EMD (half trigger-cell pitches) of a baseline at the same e-link budget;
#    with --run, the autoencoder's own evaluation.
from encoder.metrics import baselines  # noqa: E402

bc = baselines.best_choice(charges, "hgcal", n_elinks=5)
d = encoder.emd(charges, bc.reconstructed)
print(f"EMD of {bc.name} on these modules: mean {d[d >= 0].mean():.3f} (empty inputs: {(d < 0).sum()})")
if args.run:
    ev = encoder.evaluate(args.run, cms.subset(slice(0, args.modules)), ir)
    for name, s in ev.scores.items():
        print(f"  {name:<16} EMD mean {s.summary['emd']['mean']:.3f}")
sys.exit(0 if result.passed else 1)
