"""Chip-exact against approximate baselines: EMD per e-link count, and how long scoring takes.

For each data set (the e-link study's held-out synthetic modules: 100,000
of ``encoder data synth --seed 1 --pileup 200``, its 20 % evaluation split
with split seed 0, as configs/study_elinks.yaml; ``--modules N`` takes the
first N of them; and the CMS ttbar file at 35 counts per MIP when present)
and e-link counts 1-5, the approximate
baselines (``encoder.metrics.baselines``) and the chip's own algorithms
(``encoder.metrics.chip_baselines``: bit-exact frames through the formatter
buffer with T1/T2/T3 = 338/314/25, decoded from the words) on the same
modules: EMD mean and median over the modules with charge and output.

One diagnostic column, "chip BC placed": the cells the chip's best choice
selects (its sort network), each put on its own cell with its decoded
charge, i.e. best choice if the frame's codes could always be matched to
their addresses. The gap to "chip BC" is what the format's ambiguity costs
(codes of zero-charge cells are left out, so with fewer non-zero cells than
addresses the back end gives the codes to the first addresses).

    .venv/bin/python benchmarks/bench_chip_baselines.py [--modules N] [--elinks 1 2 3 4 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from encoder import geometry
from encoder.econt.algorithms import best_choice as bc_algo
from encoder.metrics import baselines, chip_baselines, emd
from encoder.metrics.charge_code import FloatCode

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "real_data" / "calq_ttbar_6050.csv"


def stats(x, recon) -> tuple[float, float, float]:
    """EMD mean and median over modules with charge and output, and the fraction of non-empty
    modules whose output is empty (left out of the mean: truncated frames land here)."""
    e = np.asarray(emd(x, recon, "hgcal"))
    v = e[e >= 0]
    return float(v.mean()), float(np.median(v)), float((e == -0.5).sum() / max((e != -1).sum(), 1))


def placed_best_choice(x, n_elinks: int) -> np.ndarray:
    """The chip's selected cells at their true places (the diagnostic column)."""
    s = chip_baselines.ChipSettings()
    mux = chip_baselines.chip_mux("hgcal")
    q = chip_baselines.calq(x, s, mux)
    _, addr = bc_algo.sort_desc(q)
    keep = np.zeros(q.shape, dtype=bool)
    np.put_along_axis(keep, addr[:, :bc_algo.TC_PER_LINKS[n_elinks]], True, axis=1)
    vals = FloatCode(4, 3).decode(FloatCode(4, 3).encode(q)) / s.counts_per_mip
    out = np.empty(q.shape)
    out[:, mux] = np.where(keep, vals, 0.0)
    return out


def datasets(n: int | None):
    from encoder.data.synth import ShowerModel, synthesize
    from encoder.studies.datasets import split
    t = time.perf_counter()
    x = synthesize(100_000, 1, geometry.load("hgcal"), ShowerModel(pileup_mu=200.0)).charges
    x = x[split(len(x), 0.2, 0)[1]][:n]
    yield f"synthetic, the e-link study's held-out split ({len(x):,} modules)", x, time.perf_counter() - t
    if REAL.exists():
        from encoder.data.csv_import import import_csv
        d = import_csv(REAL, units_per_mip=35.0).data
        yield f"CMS ttbar ({len(d.charges):,} modules)", d.charges, 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--modules", type=int, default=None, help="first N held-out synthetic modules (default all 20,000)")
    ap.add_argument("--elinks", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    args = ap.parse_args()
    for name, x, _ in datasets(args.modules):
        print(f"\n## {name}\n")
        g = geometry.load("hgcal")
        fixed = {k: stats(x, r.reconstructed) for k, r in baselines.run_all(x, g, n_elinks=2).items()
                 if not k.startswith("best_choice")}
        print("approximate, any e-link count: " + ", ".join(f"{k} {m:.3f}/{md:.3f} ({100 * z:.1f} % empty)"
                                                            for k, (m, md, z) in fixed.items())
              + " (EMD mean/median; modules with an empty output are left out of both)\n")
        print("| e-links | BC approx | chip BC | chip BC placed | chip TS 1.35 (truncated, empty) "
              "| chip TS 2.0 (truncated, empty) "
              "| chip STC0 | chip STC1 | chip STC2 | chip STC3 | chip seconds |")
        print("|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
        for e in args.elinks:
            t = time.perf_counter()
            chip = chip_baselines.run_all(x, "hgcal", e)
            secs = time.perf_counter() - t
            a = stats(x, baselines.best_choice(x, g, n_elinks=e).reconstructed)
            cells = [f"{a[0]:.3f} / {a[1]:.3f}"]
            cells.append("{:.3f} / {:.3f}".format(*stats(x, chip[f"chip_bc_e{e}"].reconstructed)[:2]))
            cells.append("{:.3f} / {:.3f}".format(*stats(x, placed_best_choice(x, e))[:2]))
            for lvl in ("1.35", "2"):
                r = chip[f"chip_ts_{lvl}_e{e}"]
                m, md, z = stats(x, r.reconstructed)
                cells.append(f"{m:.3f} / {md:.3f} ({100 * r.truncated.mean():.1f} %, {100 * z:.1f} %)")
            for tp in range(4):
                r = chip.get(f"chip_stc{tp}_e{e}")
                cells.append("-" if r is None else "{:.3f} / {:.3f}".format(*stats(x, r.reconstructed)[:2]))
            cells.append(f"{secs:.1f}")
            print(f"| {e} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    from encoder.interrupts import script_main
    sys.exit(script_main(main, "bench_chip_baselines"))
