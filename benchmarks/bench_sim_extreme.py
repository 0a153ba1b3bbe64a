"""Regressions at the weight formats' limits: econt_8x8, both simulators, both weight modes, every set.

The design's IR is the econt_8x8 preset (random weights, seeded, formats of
configs/econt_8x8.yaml; or --ir for a trained IR). For each weight set of
encoder.ir.extreme (max, min, alternating, uniform):

- programmable: one design, the set loaded through the configuration port
  (`encoder sim --weights-set SET`; the design's own weights, shuffled, are
  reloaded live mid-run as usual);
- constant: a design generated from the IR with the set (`encoder ir extreme`).

Every run must have zero mismatches, read-back and configuration errors.
Prints one line per run (vectors checked, mismatches, build and run
seconds) and exits 1 if any run failed.

Usage:
    python benchmarks/bench_sim_extreme.py [--vectors N] [--sims icarus,verilator]
        [--modes programmable,constant] [--sets max,min,alternating,uniform] [--work DIR]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from encoder.ir import load_ir, save_ir                  # noqa: E402
from encoder.ir.extreme import WEIGHT_SETS, extreme_ir   # noqa: E402
from encoder.rtl_gen.design import generate_from_file, write_design   # noqa: E402
from encoder.verif.presets import preset_ir              # noqa: E402
from encoder.verif.runner import SimOptions, run         # noqa: E402


def design_for(ir_path: Path, weights: str, out: Path) -> Path:
    generated = generate_from_file(ir_path, weights)
    if (out / "manifest.json").is_file():
        on_disk = {f.name: f.read_text() for f in out.iterdir() if f.is_file()}
        if on_disk == generated.files:
            return out
    return write_design(generated, out, force=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default=str(ROOT / "configs" / "econt_8x8.yaml"))
    ap.add_argument("--ir", help="IR of the designs (default: the config's preset, random weights, seed 11)")
    ap.add_argument("--vectors", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1, help="seed of the vectors and of the uniform set")
    ap.add_argument("--sims", default="icarus,verilator")
    ap.add_argument("--modes", default="programmable,constant")
    ap.add_argument("--sets", default=",".join(WEIGHT_SETS))
    ap.add_argument("--work", default=str(ROOT / "out" / "bench_sim_extreme"))
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    build = ROOT / "sim" / "build"
    ir_path = Path(args.ir) if args.ir else work / "ir.json"
    if not args.ir and not ir_path.exists():
        save_ir(preset_ir(args.config, 11), ir_path)
    ir = load_ir(ir_path)
    sets = args.sets.split(",")
    print(f"bench_sim_extreme: {ir.name}, {args.vectors} vectors a run, seed {args.seed}")
    print(f"{'simulator':10s} {'weights':13s} {'set':12s} {'checked':>8s} {'mism.':>6s} {'cfg err':>7s} "
          f"{'build s':>8s} {'run s':>7s}  status")
    failed = 0
    for sim in args.sims.split(","):
        for mode in args.modes.split(","):
            for which in sets:
                if mode == "programmable":
                    design = design_for(ir_path, mode, work / "design_programmable")
                    kw = {"weights_set": which}
                else:
                    xp = work / f"ir_{which}.json"
                    if not xp.exists():
                        save_ir(extreme_ir(ir, which, args.seed), xp)
                    design = design_for(xp, mode, work / f"design_constant_{which}")
                    kw = {}
                out = work / "runs" / f"{sim}_{mode}_{which}"
                if out.exists():
                    shutil.rmtree(out)
                t0 = time.monotonic()
                code, s = run(str(design), SimOptions(sim=sim, vectors=args.vectors, seed=args.seed, out=str(out),
                                                       build_root=str(build), progress=False, **kw),
                              log=lambda *a: None)
                wall = time.monotonic() - t0
                b = s.get("build", {})
                bsec = 0.0 if b.get("reused") else float(b.get("seconds", 0.0))
                bad = code != 0 or s.get("register_read_back_errors", 0) or s.get("config_errors", 0)
                failed += bool(bad)
                print(f"{sim:10s} {mode:13s} {which:12s} {s.get('checked', 0):8d} {s.get('mismatches', 0):6d} "
                      f"{s.get('config_errors', 0):7d} {bsec:8.1f} {wall - bsec:7.1f}  {s.get('status')}",
                      flush=True)
    print(f"bench_sim_extreme: {failed} run(s) failed" if failed else "bench_sim_extreme: every run passed")
    return 1 if failed else 0


if __name__ == "__main__":
    from encoder.interrupts import script_main
    sys.exit(script_main(main, "bench_sim_extreme"))
