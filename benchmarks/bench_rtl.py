"""Time `encoder rtl` generation and print each design's size facts.

Designs: the ECON-T chip IR (tests/data/econt_chip_ir_handbuilt.json) and
random-weight econt_8x8 / econt_4x4x3 IRs (encoder.ir.synthetic, seed 1),
both weight modes. Target: under 2 s for econt_8x8.

--reuse 1,2,4,8: the ECON-T chip configuration (imported from
tests/data/econt/AE/init.yaml, as benchmarks/bench_reuse.py) at each reuse factor,
both weight modes: `generate` in the process, then the command `encoder rtl IR
--reuse R` end to end (Python start, generation, files written; target under
2 s), run twice into two directories whose files are compared byte for byte.

Usage: python benchmarks/bench_rtl.py [--reuse 1,2,4,8]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from encoder.ir import load_ir
from encoder.ir.synthetic import synthetic_ir
from encoder.rtl_gen import generate

ROOT = Path(__file__).resolve().parents[1]
CHIP_CONFIG = ROOT / "tests/data/econt/AE/init.yaml"


def reuse_times(factors: list[int]) -> bool:
    """Generation time and byte-identity per R; True when every run is under 2 s and identical."""
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-rtl-ir-") as tmp:
        chip = Path(tmp) / "chip_ir.json"
        subprocess.run([sys.executable, "-m", "encoder", "econt", "import", str(CHIP_CONFIG), "--out", str(chip)],
                       check=True, cwd=ROOT, capture_output=True)
        for r in factors:
            ok &= _reuse_rows(chip, r)
    return ok


def _child_cpu() -> float:
    """CPU seconds of finished child processes: what a run costs whatever else the machine runs."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _reuse_rows(chip: Path, r: int) -> bool:
    """Both weight modes at R: in-process generation time, two `encoder rtl` runs timed and compared."""
    ok = True
    ir = load_ir(chip)
    for mode in ("programmable", "constant"):
        t0 = time.perf_counter()
        d = generate(ir, mode, reuse=r)
        gen = time.perf_counter() - t0
        with tempfile.TemporaryDirectory(prefix="bench-rtl-") as tmp:
            walls, cpus, trees = [], [], []
            for k in range(2):
                out = Path(tmp) / f"run{k}"
                t0, c0 = time.perf_counter(), _child_cpu()
                subprocess.run([sys.executable, "-m", "encoder", "rtl", str(chip), "--weights", mode,
                                "--reuse", str(r), "--out", str(out)], check=True, cwd=ROOT, capture_output=True)
                walls.append(time.perf_counter() - t0)
                cpus.append(_child_cpu() - c0)
                trees.append({f.name: f.read_bytes() for f in sorted(out.iterdir())})
        # The two runs alike, and the Verilog as the in-process generator writes it.
        same = trees[0] == trees[1] and all(trees[0].get(n) == d.files[n].encode() for n in d.sources)
        ok &= same and max(walls) < 2.0
        print(f"R={r:<2} {mode:<13} generate {gen:5.2f} s   encoder rtl {walls[0]:5.2f} s, {walls[1]:5.2f} s "
              f"(CPU {cpus[0]:4.2f}, {cpus[1]:4.2f} s)   "
              f"identical {'yes' if same else 'NO'}   {d.manifest['multipliers']['total']:>5} multipliers", flush=True)
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reuse", default=None, metavar="R,R,...",
                    help="also time the chip configuration at these reuse factors (both weight modes)")
    args = ap.parse_args()
    irs = {"chip (ECON-T weights)": load_ir(ROOT / "tests/data/econt_chip_ir_handbuilt.json"),
           "econt_8x8 qkeras (random)": synthetic_ir("econt_8x8", "qkeras", seed=1),
           "econt_8x8 econt (random)": synthetic_ir("econt_8x8", "econt", seed=1),
           "econt_4x4x3 qkeras (random)": synthetic_ir("econt_4x4x3", "qkeras", seed=1)}
    print(f"{'design':<30} {'weights':<13} {'gen s':>6} {'files':>5} {'lines':>7} {'mults':>6} "
          f"{'latency':>7} {'reg bits':>9}  accumulators")
    for name, ir in irs.items():
        for mode in ("programmable", "constant"):
            t0 = time.perf_counter()
            d = generate(ir, mode, 0)
            dt = time.perf_counter() - t0
            lines = sum(d.files[s].count("\n") for s in d.sources)
            m = d.manifest
            accs = " ".join(f"{la['name']}:{'s' if la['accumulator']['signed'] else 'u'}{la['accumulator']['bits']}"
                            for la in m["layers"])
            print(f"{name:<30} {mode:<13} {dt:>6.2f} {len(d.sources):>5} {lines:>7} "
                  f"{m['multipliers']['total']:>6} {m['latency']:>7} {m['register_bits']['total']:>9}  {accs}")


    if args.reuse:
        ok = reuse_times([int(r) for r in args.reuse.split(",")])
        print("all under 2 s and byte-identical" if ok else "NOT all under 2 s and byte-identical")
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    from encoder.interrupts import script_main
    sys.exit(script_main(main, "bench_rtl"))
