"""Simulation speed of the cocotb regression: Icarus and Verilator, one and two jobs, one design.

Default: generates an econt_8x8 design (random weights, seeded, formats of
configs/econt_8x8.yaml; or --ir for a trained IR), builds it with both
simulators and prints vectors per second for each simulator at one and two
parallel jobs, with the build times. Every run must have zero mismatches.

--long: 1,000,000 vectors on econt_8x8 with Verilator in two jobs in bulk
mode (`encoder sim --bulk`: the stimulus streamed from a cycle image by a
harness, outputs compared with the golden model in NumPy), from a fresh
build; prints the build, stimulus, simulation and comparison times, exits 1
on any mismatch and says whether the run (everything but the build) stayed
under the 60-second target. --long --per-vector: the earlier 100,000-vector
run of the per-vector cocotb testbench (2-minute target, build included).

Usage:
    python benchmarks/bench_sim.py [--icarus-vectors N] [--verilator-vectors N] [--work DIR]
    python benchmarks/bench_sim.py --long [--vectors N] [--per-vector] [--work DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from encoder.ir import save_ir                       # noqa: E402
from encoder.rtl_gen.design import generate_from_file, write_design   # noqa: E402
from encoder.verif.presets import preset_ir          # noqa: E402
from encoder.verif.runner import SimOptions, run     # noqa: E402

LONG_VECTORS = 100_000          # per-vector testbench
LONG_TARGET_S = 120.0           # build included
BULK_VECTORS = 1_000_000
BULK_TARGET_S = 60.0            # the run without the build


def make_design(work: Path, config: str, weights: str, seed: int, ir_file: str | None) -> Path:
    """The design under test, generated once into the work folder (regenerated when the generator changed)."""
    ir_path = Path(ir_file) if ir_file else work / "ir.json"
    if not ir_file and not ir_path.exists():
        save_ir(preset_ir(config, seed), ir_path)
    generated = generate_from_file(ir_path, weights)
    design = work / f"design_{weights}"
    if (design / "manifest.json").is_file():
        on_disk = {f.name: f.read_text() for f in design.iterdir() if f.is_file()}
        if on_disk == generated.files:
            return design
    return write_design(generated, design, force=True)


def one_run(design: Path, sim: str, jobs: int, vectors: int, out: Path, build: Path, seed: int,
            model_opt: str = "auto") -> dict:
    if out.exists():
        shutil.rmtree(out)
    t0 = time.monotonic()
    code, s = run(design, SimOptions(sim=sim, jobs=jobs, vectors=vectors, out=str(out), build_root=str(build),
                                     seed=seed, progress=False, model_opt=model_opt), log=lambda *a: None)
    s["wall"] = time.monotonic() - t0
    wrong = s.get("mismatches", 0) + s.get("stale_outputs", 0) + s.get("register_read_back_errors", 0)
    if s["status"] == "error" or wrong:
        print(f"{sim} x{jobs}: {s['status']} ({wrong} wrong outputs or registers); see {out}", file=sys.stderr)
        sys.exit(1)
    if code != 0:
        # Speed is still measured; the run directory says what else failed (X/Z samples, say).
        print(f"note: {sim} x{jobs} run is {s['status']}: {s.get('x_or_z_samples', 0)} X/Z samples; see {out}",
              file=sys.stderr)
    return s


def throughput(args) -> None:
    work = Path(args.work)
    design = make_design(work, args.config, args.weights, args.seed, args.ir)
    build = work / "build"
    print(f"design {design} ({args.weights} weights); CPU cores: {os.cpu_count()}; "
          "vectors/s = all vectors / simulation wall time (all shards, set-up and weight loads included); "
          "stream = per shard, vector stream only")
    print(f"{'simulator':10} {'jobs':>4} {'vectors':>8} {'build s':>8} {'run s':>7} {'vectors/s':>10} "
          f"{'stream vectors/s per shard':>27}")
    for sim, n in (("icarus", args.icarus_vectors), ("verilator", args.verilator_vectors)):
        for jobs in (1, 2):
            # Verilator is the simulator for long runs: measure its optimised model.
            s = one_run(design, sim, jobs, n, work / f"run_{sim}_{jobs}", build, args.seed,
                        "fast-sim" if sim == "verilator" else "auto")
            per = ", ".join(f"{p['stream_vectors_per_second']:.0f}" for p in s["per_shard"])
            built = 0.0 if s["build"]["reused"] else s["build"]["seconds"]
            print(f"{sim:10} {jobs:>4} {s['vectors']:>8} {built:>8.1f} {s['simulation_seconds']:>7.1f} "
                  f"{s['vectors_per_second']:>10.1f} {per:>27}", flush=True)


def long_run(args) -> int:
    work = Path(args.work)
    design = make_design(work, args.config, args.weights, args.seed, args.ir)
    build = work / "long_build"
    # The figure includes a fresh build of the design; Verilator's own runtime
    # library, compiled once per machine, stays cached (encoder.verif.objcache).
    if build.exists():
        for d in build.iterdir():
            if d.is_dir() and d.name != "verilator-objcache":
                shutil.rmtree(d)
    t0 = time.monotonic()
    out = work / "run_long"
    if out.exists():
        shutil.rmtree(out)
    bulk = not args.per_vector
    n = args.vectors or (BULK_VECTORS if bulk else LONG_VECTORS)
    code, s = run(design, SimOptions(sim="verilator", jobs=2, vectors=n, out=str(out), bulk=bulk,
                                     build_root=str(build), seed=args.seed, model_opt=args.model_opt))
    total = time.monotonic() - t0
    built = s["build"]["seconds"]
    if bulk:
        run_s = total - built
        print(f"long run (bulk): {s['checked']:,} vectors checked on {design.name}, {s['mismatches']} mismatches, "
              f"{s['stale_outputs']} stale outputs, {s['register_read_back_errors']} read-back errors; "
              f"Verilator build {built:.1f} s; stimulus {s['stimulus_seconds']:.1f} s, "
              f"image writing and simulation {s['simulation_seconds']:.1f} s ({s['vectors_per_second']:,.0f} vectors/s, 2 shards), "
              f"comparison {s['compare_seconds']:.1f} s; run without the build {run_s:.1f} s "
              f"({'within' if run_s <= BULK_TARGET_S else 'OVER'} the {BULK_TARGET_S:.0f} s target), "
              f"total {total:.1f} s")
        c = s["cpu_seconds"]
        print(f"  CPU seconds (what the run costs, whatever else the machine runs): stimulus {c['stimulus']:.1f}, "
              f"image writing {c['image_writing']:.1f}, simulators {c['simulators']:.1f} (both shards), "
              f"comparison {c['comparison']:.1f}; on two free cores about "
              f"{c['stimulus'] + max(c['simulators'] / 2, c['image_writing']) + c['comparison']:.0f} s "
              f"without the build")
        return code
    print(f"long run: {s['checked']} vectors checked on {design.name}, {s['mismatches']} mismatches, "
          f"Verilator build {built:.1f} s, simulation {s['simulation_seconds']:.1f} s "
          f"({s['vectors_per_second']:.0f} vectors/s), total {total:.1f} s "
          f"({'within' if total <= LONG_TARGET_S else 'OVER'} the {LONG_TARGET_S:.0f} s target)")
    return code


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--long", action="store_true",
                   help=f"{BULK_VECTORS:,} vectors with Verilator in bulk mode, build included")
    p.add_argument("--per-vector", action="store_true",
                   help=f"--long: the per-vector cocotb testbench instead ({LONG_VECTORS:,} vectors)")
    p.add_argument("--vectors", type=int, default=None, help="--long: vectors instead of the default")
    p.add_argument("--work", default=str(ROOT / "sim" / "build" / "bench"), help="work folder (designs, builds, runs)")
    p.add_argument("--config", default=str(ROOT / "configs" / "econt_8x8.yaml"))
    p.add_argument("--ir", help="use this IR (a trained export) instead of random weights")
    p.add_argument("--weights", choices=("programmable", "constant"), default="programmable")
    p.add_argument("--model-opt", choices=("auto", "fast-build", "fast-sim"), default="auto",
                   help="Verilator model optimisation for --long (auto: fast-sim above 20,000 vectors)")
    p.add_argument("--icarus-vectors", type=int, default=300)
    p.add_argument("--verilator-vectors", type=int, default=10000)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    if args.long:
        return long_run(args)
    throughput(args)
    return 0


if __name__ == "__main__":
    from encoder.interrupts import script_main
    sys.exit(script_main(main, "bench_sim"))
