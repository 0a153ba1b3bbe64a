"""Silicon figures of ECON-T-sized encoders in SKY130 HD (typical corner) at 40 MHz.

Rows: the ECON-T chip configuration (tests/data/econt_chip_ir_handbuilt.json)
and econt_8x8 in the formats of configs/econt_8x8.yaml with seeded random
weights (encoder.verif.presets, seed 11: not trained), each with programmable
and constant weights, and the same econt_8x8 weights in the chip's arithmetic
(the chip-arithmetic pair). For each: ``--pipeline auto`` at the clock
(encoder.silicon.pipelining), then ``encoder synth --liberty sky130hd`` on the
chosen design with switching activity from 300 simulated synthetic modules
(reusing the mapping --pipeline auto verified).
Columns: mm^2 of cells, gate equivalents (NAND2_1 = 3.75 um^2), fmax,
latency (cycles, ns), mW and nJ per inference at the clock.

The published ECON-T (65 nm LP CMOS, placed and routed, triplicated
registers): 3.6 mm^2, 95 mW, 2.4 nJ per inference at 40 MHz. See the
README for the normalisation printed at the end.

Long: 2 mappings per row, 2-8 minutes each on 2 cores. Usage:
    python benchmarks/bench_synth.py [--rows chip,econt_8x8,arith,econt_4x4x3] [--modes programmable,constant]
                                     [--clock NS] [--vectors N] [--out DIR] [--jobs J]
Logs and reports stay in --out (default out/bench_synth).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ECONT = {"area_mm2": 3.6, "power_mw": 95.0, "energy_nj": 2.4, "node_nm": 65, "vdd": 1.2, "clock_mhz": 40}
SKY130 = {"node_nm": 130, "vdd": 1.8}
NAND2_65NM_UM2 = (1.0, 2.0)        # NAND2 X1 of 65 nm libraries (9- to 12-track): the range used


def irs(rows: list[str]):
    from encoder.ir import load_ir
    from encoder.ir.arithmetic import with_arithmetic
    from encoder.verif.presets import preset_ir
    out = {}
    if "chip" in rows:
        out["chip"] = ("ECON-T chip configuration", load_ir(ROOT / "tests/data/econt_chip_ir_handbuilt.json"))
    if "econt_8x8" in rows or "arith" in rows:
        qk = preset_ir(ROOT / "configs" / "econt_8x8.yaml", seed=11)
        if "econt_8x8" in rows:
            out["econt_8x8"] = ("econt_8x8, random weights (seed 11)", qk)
        if "arith" in rows:
            out["arith"] = ("same weights, chip arithmetic", with_arithmetic(qk, "econt"))
    if "econt_4x4x3" in rows:
        out["econt_4x4x3"] = ("econt_4x4x3, random weights (seed 11)",
                              preset_ir(ROOT / "configs" / "econt_4x4x3.yaml", seed=11))
    return out


def row(args) -> dict:
    name, ir, mode, clock, vectors, out = args
    tag = "".join(c if c.isalnum() else "_" for c in f"{name}_{mode}")
    work = Path(out) / tag
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    logfile = work / "log.txt"
    logfile.write_text("")

    def log(line: str) -> None:             # as it happens: a row takes many minutes
        with logfile.open("a") as f:
            f.write(f"{time.strftime('%H:%M:%S')} {line}\n")
    try:
        return _row(name, ir, mode, clock, vectors, work, log, t0)
    except Exception as exc:                # one failed row must not hide the others
        log(f"FAILED: {type(exc).__name__}: {exc}")
        return {"name": name, "mode": mode, "error": f"{type(exc).__name__}: {exc}"}


def _row(name, ir, mode, clock, vectors, work, log, t0) -> dict:
    from encoder.rtl_gen import write_design
    from encoder.silicon.flow import PowerOptions, characterise
    from encoder.silicon.pipelining import auto_pipeline
    design, closure = auto_pipeline(ir, mode, clock, "sky130hd", progress=False, log=log, keep=work / "mapped")
    write_design(design, work / "design", force=True)
    rep = characterise(work / "design", work / "synth", "sky130hd", clock,
                       PowerOptions(mode="simulated", vectors=vectors), force=True, progress=False,
                       log=log, premapped=closure.mapped, pretimed=closure.timing)
    (work / "pipeline.json").write_text(json.dumps(closure.to_dict(), indent=1) + "\n")
    return {"name": name, "mode": mode, "mm2": rep.area_um2 / 1e6, "ge": rep.gate_equivalents,
            "ff": rep.flip_flops, "fmax": rep.fmax_mhz, "wns": rep.wns_ns, "latency": closure.latency_cycles,
            "latency_ns": closure.latency_cycles * clock, "cuts": closure.cuts, "mw": rep.power_mw["total"],
            "mw_vectorless": rep.power_vectorless_mw["total"], "nj": rep.energy_nj_per_inference,
            "activity": rep.activity["flip_flop_mean_activity"], "minutes": (time.monotonic() - t0) / 60}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="chip,econt_8x8,arith,econt_4x4x3")
    ap.add_argument("--only", default=None, metavar="NAME:MODE,...",
                    help="run just these rows (e.g. chip:programmable,arith:constant)")
    ap.add_argument("--modes", default="programmable,constant")
    ap.add_argument("--clock", type=float, default=25.0)
    ap.add_argument("--vectors", type=int, default=300)
    ap.add_argument("--out", default=str(ROOT / "out" / "bench_synth"))
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    jobs = [(n, ir, m, a.clock, a.vectors, a.out) for key, (n, ir) in irs(a.rows.split(",")).items()
            for m in a.modes.split(",") if a.only is None or f"{key}:{m}" in a.only.split(",")]
    print(f"{'design':<36} {'weights':<12} {'mm^2':>7} {'GE':>9} {'fmax MHz':>8} {'latency':>12} "
          f"{'mW':>7} {'nJ/inf':>7} {'minutes':>7}", flush=True)
    results = []
    with ProcessPoolExecutor(max_workers=a.jobs) as pool:
        for r in pool.map(row, jobs):
            results.append(r)
            if "error" in r:
                print(f"{r['name']:<36} {r['mode']:<12} FAILED: {r['error']}", flush=True)
                continue
            print(f"{r['name']:<36} {r['mode']:<12} {r['mm2']:>7.3f} {r['ge']:>9,.0f} {r['fmax']:>8.1f} "
                  f"{r['latency']:>3} ({r['latency_ns']:>4.0f} ns) {r['mw']:>7.2f} {r['nj']:>7.3f} "
                  f"{r['minutes']:>7.1f}   cuts: {', '.join(r['cuts'])}", flush=True)
    Path(a.out).mkdir(parents=True, exist_ok=True)
    (Path(a.out) / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    scale = (ECONT["node_nm"] / SKY130["node_nm"]) * (ECONT["vdd"] / SKY130["vdd"]) ** 2
    print(f"\nECON-T (published, 65 nm, placed and routed, TMR): {ECONT['area_mm2']} mm^2, {ECONT['power_mw']} mW, "
          f"{ECONT['energy_nj']} nJ per inference at 40 MHz")
    lo, hi = (ECONT["area_mm2"] * 1e6 / n for n in NAND2_65NM_UM2[::-1])
    print(f"  = {lo / 1e6:.1f}-{hi / 1e6:.1f} M gate equivalents of layout area (NAND2 X1 "
          f"{NAND2_65NM_UM2[0]}-{NAND2_65NM_UM2[1]} um^2 in 65 nm; includes utilisation and routing)")
    print(f"  energy node rule E ~ L * V^2: SKY130 (130 nm, 1.8 V) -> 65 nm, 1.2 V multiplies energy by {scale:.3f}")
    for r in (r for r in results if "error" not in r):
        print(f"  {r['name']}, {r['mode']}: {r['nj']:.3f} nJ in SKY130 -> {r['nj'] * scale:.3f} nJ at 65 nm "
              f"({r['nj'] * scale / ECONT['energy_nj']:.2f} x ECON-T)")


if __name__ == "__main__":
    from encoder.interrupts import script_main
    sys.exit(script_main(main, "bench_synth"))
