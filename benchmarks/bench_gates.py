"""Gate-level regression of econt_8x8: map to SKY130 HD, then `encoder sim --netlist` against the golden model.

For each weight mode: generates the design (random weights of
configs/econt_8x8.yaml, seed 11, or --ir for a trained IR), maps it with
``encoder.silicon.mapping.map_design`` (reused while the design is
unchanged), and runs the cocotb regression on the netlist with the cell
models. Prints mapping, build and simulation times; exits 1 on any
mismatch or error.

Usage:
    python benchmarks/bench_gates.py [--weights programmable constant] [--vectors N] [--sim S] [--work DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_sim import make_design                   # noqa: E402

from encoder.pdk import resolve                      # noqa: E402
from encoder.silicon.mapping import map_design       # noqa: E402
from encoder.verif.runner import SimOptions, run     # noqa: E402


def mapped(design: Path, synth: Path, clock_ns: float) -> tuple[Path, float]:
    """(synth dir, mapping seconds; 0 when reused): mapping is the slow step, done once per design content."""
    h = hashlib.sha256()
    for f in sorted(design.iterdir()):
        if f.is_file():
            h.update(f.name.encode() + f.read_bytes())
    key = f"{h.hexdigest()}-{clock_ns}"
    stamp = synth / "synth.json"
    if stamp.is_file() and json.loads(stamp.read_text()).get("key") == key:
        return synth, 0.0
    if synth.exists():
        shutil.rmtree(synth)
    t0 = time.monotonic()
    m = map_design(design, resolve("sky130hd"), synth, clock_ns=clock_ns, progress=True)
    # The keys `encoder sim --netlist` reads, as `encoder synth --liberty` writes them.
    stamp.write_text(json.dumps({"design": str(design.resolve()), "top": m.top, "liberty": {"name": "sky130hd"},
                                 "cells": m.cells, "flip_flops": m.flip_flops, "key": key}, indent=1))
    return synth, time.monotonic() - t0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--work", default=str(ROOT / "sim" / "build" / "gates"), help="work folder")
    p.add_argument("--config", default=str(ROOT / "configs" / "econt_8x8.yaml"))
    p.add_argument("--ir", help="use this IR (a trained export) instead of random weights")
    p.add_argument("--seed", type=int, default=11, help="seed of the random weights (default 11)")
    p.add_argument("--weights", nargs="+", choices=("programmable", "constant"),
                   default=["programmable", "constant"])
    p.add_argument("--vectors", type=int, default=2000)
    p.add_argument("--sim", choices=("icarus", "verilator"), default="icarus")
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--clock", type=float, default=25.0, help="clock period in ns the mapping targets")
    args = p.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    rows, failed = [], False
    for weights in args.weights:
        t0 = time.monotonic()
        design = make_design(work, args.config, weights, args.seed, args.ir)
        synth, map_s = mapped(design, work / f"synth_{weights}", args.clock)
        out = work / f"sim_{weights}"
        code, s = run(design, SimOptions(sim=args.sim, jobs=args.jobs, vectors=args.vectors, out=str(out),
                                         build_root=str(work / "build"), netlist=str(synth), force=True))
        failed |= code != 0
        cells = json.loads((synth / "synth.json").read_text())
        rows.append((weights, cells["cells"], cells["flip_flops"], map_s, s["build"]["seconds"],
                     s["build"]["reused"], s["simulation_seconds"], s["checked"], s["mismatches"], s["status"],
                     time.monotonic() - t0))
    print(f"{'weights':13} {'cells':>8} {'FFs':>6} {'map s':>6} {'build s':>8} {'sim s':>7} {'checked':>8} "
          f"{'mismatches':>10} {'status':>8} {'total s':>8}")
    for w, c, ff, ms, bs, reused, ss, n, mm, st, tot in rows:
        print(f"{w:13} {c:>8} {ff:>6} {ms:>6.1f} {(0.0 if reused else bs):>8.1f} {ss:>7.1f} {n:>8} {mm:>10} "
              f"{st:>8} {tot:>8.1f}")
    return 1 if failed else 0


if __name__ == "__main__":
    from encoder.interrupts import script_main
    sys.exit(script_main(main, "bench_gates"))
