"""EMD speed and exactness: the kit's solver against per-module ot.emd2.

1. Exactness and speed-up, measured in one run: on the same modules the
   kit's ``emd`` and plain ``ot.emd2`` on the full 48 x 48 problem
   (``emd_reference``) are timed and compared, for several reconstructions.
2. Throughput: 100,000 modules, one core and a process pool.

Inputs: real HGCAL modules (the shared ttbar sample, 35 counts per MIP),
resampled with a seeded per-cell jitter to reach the requested count, or a
kit data file (--data). Reconstructions: best choice (5 e-links), STC4, the
low threshold, and a stand-in for decoder outputs ("dense": the input
smeared over neighbouring cells plus a small floor, so every cell is
non-zero, the hardest case for the solver).

    .venv/bin/python benchmarks/bench_emd.py [--modules 100000] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from encoder import geometry
from encoder.metrics import baselines, emd, emd_reference

ROOT = Path(__file__).resolve().parents[1]
REAL = [ROOT.parent / "shared" / "real_data" / "calq_ttbar_6050.csv",
        ROOT / "tests" / "data" / "metrics" / "real_calq_300.csv"]
COUNTS_PER_MIP = 35.0
TOL = 1e-9


def load_inputs(path: str | None) -> tuple[np.ndarray, str]:
    if path:
        from encoder.data import load_data
        return load_data(path).charges, path
    for p in REAL:
        if p.exists():
            return np.loadtxt(p, delimiter=",", skiprows=1) / COUNTS_PER_MIP, str(p)
    sys.exit("bench_emd: no input modules found; pass --data FILE.npz")


def resample(charges: np.ndarray, n: int, rng) -> np.ndarray:
    rows = charges[rng.integers(0, len(charges), n)]
    return rows * rng.uniform(0.8, 1.25, rows.shape)


def dense_stand_in(x: np.ndarray, rng) -> np.ndarray:
    d = geometry.load("hgcal").distance_matrix
    w = np.exp(-d**2 / 2.0)
    w /= w.sum(axis=1, keepdims=True)
    floor = 0.02 * x.sum(axis=1, keepdims=True) / 48
    return x @ w + floor * rng.random(x.shape)


def reconstructions(x: np.ndarray, rng) -> dict[str, np.ndarray]:
    return {
        "best_choice_14": baselines.best_choice(x, n_elinks=5).reconstructed,
        "stc4": baselines.super_trigger_cells(x, kind="stc4").reconstructed,
        "threshold_low": baselines.threshold(x, level="low").reconstructed,
        "dense": dense_stand_in(x, rng),
    }


def timed(fn, *args, **kw):
    t = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", help="kit data file (.npz) instead of the real sample")
    ap.add_argument("--modules", type=int, default=100_000, help="modules for the throughput run")
    ap.add_argument("--ref-modules", type=int, default=600, help="modules per reconstruction for ot.emd2")
    ap.add_argument("--workers", type=int, default=2, help="processes for the pooled run")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    source, name = load_inputs(args.data)
    print(f"inputs: {name} ({len(source)} modules, mean {np.mean((source > 0).sum(1)):.1f} non-zero cells)")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")

    emd(source[:2], source[:2][::-1])               # import POT outside the timings
    emd_reference(source[:2], source[:2][::-1])

    print(f"\n1. exactness and speed-up on {args.ref_modules} modules per reconstruction (one core)")
    print(f"{'reconstruction':16s} {'ot.emd2 us':>11s} {'kit us':>8s} {'speed-up':>9s} {'max |diff|':>11s} {'mean EMD':>9s}")
    x = resample(source, args.ref_modules, rng)
    t_ref_all = t_kit_all = 0.0
    worst = 0.0
    for kind, y in reconstructions(x, rng).items():
        ref, t_ref = timed(emd_reference, x, y)
        kit, t_kit = timed(emd, x, y)
        diff = float(np.max(np.abs(ref - kit)))
        worst = max(worst, diff)
        t_ref_all += t_ref
        t_kit_all += t_kit
        n = len(x)
        print(f"{kind:16s} {t_ref / n * 1e6:11.1f} {t_kit / n * 1e6:8.1f} {t_ref / t_kit:8.1f}x "
              f"{diff:11.1e} {kit[kit >= 0].mean():9.3f}")
    speedup = t_ref_all / t_kit_all
    print(f"{'all':16s} {t_ref_all / (4 * len(x)) * 1e6:11.1f} {t_kit_all / (4 * len(x)) * 1e6:8.1f} "
          f"{speedup:8.1f}x {worst:11.1e}")

    print(f"\n2. throughput on {args.modules} modules")
    x = resample(source, args.modules, rng)
    recs = reconstructions(x, rng)
    kinds = list(recs)
    mixed = np.empty_like(x)
    for i, kind in enumerate(kinds):
        mixed[i::len(kinds)] = recs[kind][i::len(kinds)]
    rows = []
    for label, y in (("mixed (all four)", mixed), ("dense only", recs["dense"])):
        one, t1 = timed(emd, x, y)
        pooled, tp = timed(emd, x, y, workers=args.workers)
        same = np.array_equal(one, pooled)
        rows.append((label, t1, tp, same))
        print(f"{label:18s} 1 core {t1:6.2f} s ({t1 / len(x) * 1e6:5.1f} us/module)   "
              f"{args.workers} workers {tp:6.2f} s   identical: {same}")

    ok_exact = worst <= TOL and all(r[3] for r in rows)
    print(f"\nvalues equal to ot.emd2 within {TOL:g}: {'yes' if ok_exact else 'NO'} (worst {worst:.1e})")
    print(f"speed-up over per-module ot.emd2: {speedup:.1f}x (target >= 10x)")
    for label, t1, tp, _ in rows:
        print(f"{label}: {args.modules} modules in {t1:.2f} s on one core, {tp:.2f} s on {args.workers} "
              f"(target < 10 s)")
    return 0 if ok_exact else 1


if __name__ == "__main__":
    from encoder.interrupts import script_main
    sys.exit(script_main(main, "bench_emd"))
