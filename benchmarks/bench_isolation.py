"""Operand isolation: switching in simulation with and without it, at full and partial occupancy.

Generates the IR's design with --operand-isolation on and off (same weights, same register stages),
runs each on Icarus with the activity bench of `encoder synth --activity simulated`, except that a
crossing arrives only on a fraction of the clocks (the others carry random bits on the charge inputs
with valid_in low, as an idle link would), and counts transitions of every net in the design over
the window (the clock excluded): all nets, and the flip-flops' outputs alone. The outputs are
checked against the golden model as in the activity bench.

    python benchmarks/bench_isolation.py IR.json [--cuts input_path,conv] [--vectors 200]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from encoder.ir import load_ir
from encoder.rtl_gen import generate, write_design
from encoder.silicon import activity as act


def measure(design_dir: Path, occupancy: float, vectors: int, seed: int) -> dict:
    from encoder.rtl_gen.design import control_writes
    from encoder.verif import regmap
    from encoder.verif.design import load_design
    design = load_design(design_dir)
    ir = design.load_ir()
    counts, _ = act.stimulus(ir, vectors, seed, None)
    fw = design.ports["in_counts"].element_width
    width = design.ports["in_counts"].width
    rng = np.random.default_rng(seed)
    junk = random.Random(seed)
    words, flags = [], []
    for row in counts:
        while rng.random() > occupancy:          # idle clocks before this crossing: random bits, valid low
            words.append(junk.getrandbits(width))
            flags.append(0)
        words.append(sum(int(v) << (fw * i) for i, v in enumerate(row)))
        flags.append(1)
    lat = design.latency
    stream = words + [0] * (lat + 2)
    flags = flags + [0] * (lat + 2)
    with tempfile.TemporaryDirectory(prefix="enc-iso-") as tmp:
        work = Path(tmp)
        hexw = -(-width // 4)
        (work / "vectors.hex").write_text("".join(f"{(f << width) | w:0{hexw + 1}x}\n"
                                                  for w, f in zip(stream, flags)))
        image = list(regmap.image(design.registers, ir).items()) + control_writes(design.manifest)
        wd = design.ports["cfg_wdata"].width
        (work / "cfg.hex").write_text("".join(f"{(a << wd) | w:x}\n" for a, w in image))
        tb = act._testbench(design, len(stream), len(image), 0, len(words))
        # One more bit in each stream word: valid_in.
        tb = re.sub(r"reg \[(\d+):0\] vec \[", lambda m: f"reg [{int(m.group(1)) + 1}:0] vec [", tb)
        tb = tb.replace(f"#1 valid_in = 1; charges = vec[i];", f"#1 {{valid_in, charges}} = vec[i];")
        assert "{valid_in, charges} = vec[i]" in tb
        (work / "tb.v").write_text(tb)
        from encoder.verif.toolchain import find_icarus
        ic = find_icarus()
        vvp = Path(ic.executable).with_name("vvp")
        subprocess.run([ic.executable, "-g2012", "-o", "tb.vvp", "-s", act.TB_TOP, "tb.v",
                        *[str(s.resolve()) for s in design.sources]], cwd=work, check=True, capture_output=True)
        subprocess.run([str(vvp) if vvp.exists() else "vvp", "-n", "tb.vvp"], cwd=work, check=True,
                       capture_output=True)
        t = act.read_vcd(work / "activity.vcd", scope=(act.TB_TOP, "dut"), cycles=len(words),
                         period=act.CLOCK_NS * 1000, skip={design.clock})
        matches = act._check_outputs(work / "outputs.txt", design, ir, counts)
    total = sum(n for n, _ in t.bits.values())
    ff = sum(n for (scope, name, _), (n, _) in t.bits.items() if name.endswith("_q") or name in
             ("latents", "sum_code", "valid_pipe"))
    return {"occupancy": occupancy, "cycles": len(words), "transitions_per_cycle": round(total / len(words), 1),
            "pipeline_ff_transitions_per_cycle": round(ff / len(words), 2), "golden_matches": matches,
            "vectors": vectors}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ir")
    ap.add_argument("--cuts", default="input_path,conv")
    ap.add_argument("--vectors", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    ir = load_ir(args.ir)
    rows = []
    with tempfile.TemporaryDirectory(prefix="enc-iso-designs-") as tmp:
        for iso in (False, True):
            d = write_design(generate(ir, "programmable", 0, cuts=args.cuts.split(","), operand_isolation=iso),
                             Path(tmp) / f"iso_{iso}")
            for occ in (1.0, 0.5, 0.1):
                r = measure(d, occ, args.vectors, args.seed)
                r["operand_isolation"] = iso
                rows.append(r)
                print(json.dumps(r))


if __name__ == "__main__":
    from encoder.interrupts import script_main
    sys.exit(script_main(main, "bench_isolation"))
