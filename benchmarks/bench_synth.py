"""Area and timing estimates (yosys 0.23, generic CMOS gates) of ECON-T-sized designs.

Designs: econt_8x8 in the formats of configs/econt_8x8.yaml (QKeras
arithmetic) with seeded random weights (encoder.verif.presets, seed 11: not
trained), and the ECON-T chip configuration (tests/data/econt_chip_ir_handbuilt.json), each with
programmable and constant weights. Flow: encoder.rtl_gen.synth (hierarchical;
synth with its own abc -fast, then abc -g cmos2 -fast, as the reference's
plain `synth; abc -g cmos2 -fast`). Reference: a flat multiplier-free
constant-weight ECON-T encoder took 4.5 min with that flow for about 1.33 M
estimated transistors; a plain flat `synth; abc -g cmos2` of the
programmable datapath did not finish in 15 minutes.

Takes several minutes (the constant-weight designs dominate). Usage:
    python benchmarks/bench_synth.py [--quick]   (--quick: chip programmable only)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from encoder.ir import load_ir
from encoder.verif.presets import preset_ir
from encoder.rtl_gen import generate, write_design
from encoder.rtl_gen.synth import synthesize

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_CONSTANT = 1_330_000


def main() -> None:
    quick = "--quick" in sys.argv
    irs = {"chip": load_ir(ROOT / "tests/data/econt_chip_ir_handbuilt.json")}
    if not quick:
        irs["econt_8x8 random"] = preset_ir(ROOT / "configs" / "econt_8x8.yaml", seed=11)
    modes = ("programmable",) if quick else ("programmable", "constant")
    print(f"{'design':<18} {'weights':<13} {'transistors':>12} {'cells':>10} {'flip-flops':>10} "
          f"{'gate levels':>11} {'multipliers':>11} {'yosys s':>8}")
    flow_printed = False
    with tempfile.TemporaryDirectory() as tmp:
        for name, ir in irs.items():
            for mode in modes:
                d = generate(ir, mode, 0)
                path = Path(tmp) / f"{name.replace(' ', '_')}_{mode}"
                write_design(d, path)
                r = synthesize(path, progress=False)
                if not flow_printed:
                    print(f"yosys {r.yosys}; flow: {r.flow}", flush=True)
                    flow_printed = True
                note = ""
                if mode == "constant":
                    note = f"  ({r.transistors / REFERENCE_CONSTANT:.2f} x the 1.33 M flat reference)"
                print(f"{name:<18} {mode:<13} {r.transistors:>12,} {r.cells:>10,} {r.flip_flops:>10,} "
                      f"{r.gate_levels:>11} {d.manifest['multipliers']['total']:>11} {r.seconds:>8.0f}{note}",
                      flush=True)


if __name__ == "__main__":
    main()
