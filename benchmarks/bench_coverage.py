"""Coverage closure on econt_8x8: `encoder sim --coverage` on Verilator, several seeds, merged.

Generates the econt_8x8 design (random weights, seed 11, formats of
configs/econt_8x8.yaml, its e-link framing) in each weight mode asked for,
runs `encoder sim --coverage --sim verilator` once per seed, then merges
the functional bins hit and the line/toggle points of all runs and prints
the functional table (bins hit / reachable, unreachable with reasons, missed)
and the code-coverage table per module against the target. With
--weight-sets, the programmable design also runs with weight sets at the
formats' limits (encoder.ir.extreme: max, min, alternating, uniform) loaded
through its configuration port, one run per set and seed, all merged: trained
or random weights never flip the configuration bank's high bits nor reach the
requantizers' clamps. A missed bin counts as out of reach of the weights only
if no run's weight set lets the golden model reach it. Writes
coverage.json (the merged figures) into the work folder. Exits 1 if a run
fails its regression.

Usage:
    python benchmarks/bench_coverage.py [--weights programmable,constant] [--seeds 1,2] [--vectors N]
                                        [--weight-sets trained,max,min,alternating] [--jobs J] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from encoder.ir import save_ir                       # noqa: E402
from encoder.rtl_gen.design import generate_from_file, write_design   # noqa: E402
from encoder.verif import code_coverage, coverage_spec  # noqa: E402
from encoder.verif.design import load_design          # noqa: E402
from encoder.verif.presets import preset_ir          # noqa: E402
from encoder.verif.runner import SimOptions, run     # noqa: E402

CONFIG = ROOT / "configs" / "econt_8x8.yaml"


def make_design(work: Path, weights: str, elinks: int) -> Path:
    ir_path = work / "ir.json"
    if not ir_path.exists():
        save_ir(preset_ir(CONFIG, 11), ir_path)
    generated = generate_from_file(ir_path, weights, elinks=elinks)
    design = work / f"design_{weights}"
    if (design / "manifest.json").is_file():
        on_disk = {f.name: f.read_text() for f in design.iterdir() if f.is_file()}
        if on_disk == generated.files:
            return design
    return write_design(generated, design, force=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default="programmable,constant")
    ap.add_argument("--seeds", default="1,2")
    ap.add_argument("--vectors", type=int, default=2000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--elinks", type=int, default=5, help="e-link framing of the design (the chip: 5)")
    ap.add_argument("--weight-sets", default="trained", metavar="SET,...",
                    help="programmable design: weight sets loaded, one run per set and seed (trained = the IR's "
                         "random weights; max, min, alternating, uniform: the formats' limits); constant: trained only")
    ap.add_argument("--sim", default="verilator")
    ap.add_argument("--work", default=str(ROOT / "sim" / "build" / "bench_coverage"))
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    out = {}
    bad = 0
    for weights in args.weights.split(","):
        design = make_design(work, weights, args.elinks)
        hits: Counter = Counter()
        dats, runs = [], []
        reaches = []
        t0 = time.monotonic()
        sets = args.weight_sets.split(",") if weights == "programmable" else ["trained"]
        for seed, wset in ((int(s), w) for w in sets for s in args.seeds.split(",")):
            rd = work / (f"run_{weights}_s{seed}" + ("" if wset == "trained" else f"_{wset}"))
            if rd.exists():
                shutil.rmtree(rd)
            code, s = run(design, SimOptions(sim=args.sim, vectors=args.vectors, seed=seed, jobs=args.jobs,
                                             out=str(rd), build_root=str(work / "build"), coverage=True,
                                             weights_set=wset, progress=False), log=lambda *a: None)
            bad += code != 0
            runs.append({"seed": seed, "weights_set": wset, "status": s["status"], "checked": s.get("checked"),
                         "assertion_violations": s.get("assertion_violations"),
                         "functional_hit": s["coverage"]["functional"]["hit"],
                         "build_seconds": s["build"]["seconds"], "simulation_seconds": s["simulation_seconds"]})
            hits.update(s["coverage"]["functional"]["hits"])
            reaches.append(s["stimulus"].get("directed_reach"))
            dats += sorted(rd.glob("shards/*/coverage.dat"))
        d = load_design(design)
        spec = coverage_spec.spec(d, d.load_ir())
        func = coverage_spec.summarise(spec, hits, coverage_spec.merge_reach(reaches))
        code = ({"measured": True, **code_coverage.report(code_coverage.merge(dats, work / f"merged_{weights}.dat"))}
                if dats else {"measured": False, "reason": f"{args.sim}: no line or toggle coverage"})
        out[weights] = {"runs": runs, "functional": func, "code": code, "seconds": round(time.monotonic() - t0, 1)}
        print(f"== econt_8x8 {weights} (random weights seed 11, {args.elinks} e-links), {args.sim}, "
              f"seeds {args.seeds}, weight sets {','.join(sets)}, {args.vectors} vectors each, {args.jobs} jobs: "
              f"{out[weights]['seconds']} s")
        for r in runs:
            print(f"   seed {r['seed']}, weights {r['weights_set']}: {r['status']}, {r['checked']} checked, "
                  f"{r['assertion_violations']} assertion violations, build {r['build_seconds']} s, "
                  f"simulation {r['simulation_seconds']} s")
        for line in coverage_spec.table(func) + code_coverage.table(code):
            print("   " + line)
        reasons = Counter(f"{u['bin'].split(':')[0]}: {u['reason']}" for u in func["unreachable"])
        for why, n in reasons.items():
            print(f"   unreachable x{n} {why}")
        kinds = Counter(f"{m.split(':')[0]}: {func['missed_why'][m].split(' (')[0]}" for m in func["missed"])
        for why, n in kinds.items():
            print(f"   missed x{n} {why}")
        holes = [m for m in func["missed"] if func["missed_why"][m] == "stimulus hole"]
        if holes:
            print(f"   stimulus holes: {', '.join(holes)}")
    (work / "coverage.json").write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {work / 'coverage.json'}")
    return 1 if bad else 0


if __name__ == "__main__":
    from encoder.interrupts import script_main
    sys.exit(script_main(main, "bench_coverage"))
