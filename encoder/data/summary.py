"""Figures that describe a data set: occupancy, module sums, charge spectrum."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .store import SensorData

OCCUPANCY_THRESHOLD_MIP = 1.0      # a cell counts as occupied above one transverse MIP
SUM_QUANTILES = (1, 10, 50, 90, 99)


def occupancy(charges: np.ndarray, threshold: float = OCCUPANCY_THRESHOLD_MIP) -> np.ndarray:
    """Cells above ``threshold`` per module."""
    return np.count_nonzero(np.asarray(charges) > threshold, axis=1)


@dataclass(frozen=True)
class DataSummary:
    n_modules: int
    n_cells: int
    geometry: str
    occupancy_median: float
    occupancy_mean: float
    occupancy_16: float
    occupancy_84: float
    sum_quantiles: dict[int, float]       # percent -> module sum (MIPs)
    sum_mean: float
    zero_fraction: float                  # of all cells
    zero_modules: int                     # modules whose cells are all zero
    largest: float                        # largest cell charge
    largest_quantiles: dict[int, float]   # percent (SUM_QUANTILES) -> largest cell of a module
    truth_keys: tuple[str, ...]
    meta_keys: tuple[str, ...]


def summarize(data: SensorData) -> DataSummary:
    q = np.asarray(data.charges)
    if q.shape[0] == 0:
        raise ValueError("the data set has no modules")
    occ = occupancy(q)
    sums = q.sum(axis=1)
    peak = q.max(axis=1)
    return DataSummary(
        n_modules=int(q.shape[0]),
        n_cells=int(q.shape[1]),
        geometry=data.geometry,
        occupancy_median=float(np.median(occ)),
        occupancy_mean=float(occ.mean()),
        occupancy_16=float(np.percentile(occ, 16)),
        occupancy_84=float(np.percentile(occ, 84)),
        sum_quantiles={p: float(v) for p, v in zip(SUM_QUANTILES, np.percentile(sums, SUM_QUANTILES))},
        sum_mean=float(sums.mean()),
        zero_fraction=float(np.count_nonzero(q == 0) / q.size),
        zero_modules=int(np.count_nonzero(~q.any(axis=1))),
        largest=float(q.max()),
        largest_quantiles={p: float(v) for p, v in zip(SUM_QUANTILES, np.percentile(peak, SUM_QUANTILES))},
        truth_keys=tuple(sorted(data.truth)),
        meta_keys=tuple(sorted(data.meta)),
    )


def _rows(s: DataSummary) -> list[tuple[str, str]]:
    rows = [
        ("modules", f"{s.n_modules:,}"),
        ("cells per module", f"{s.n_cells} ({s.geometry})"),
        (f"occupancy (> {OCCUPANCY_THRESHOLD_MIP:g} MIP) median", f"{s.occupancy_median:g}"),
        (f"occupancy (> {OCCUPANCY_THRESHOLD_MIP:g} MIP) mean", f"{s.occupancy_mean:.2f}"),
        ("occupancy 16-84 %", f"{s.occupancy_16:g}-{s.occupancy_84:g}"),
    ]
    rows += [(f"module sum {p} % (MIP)", f"{s.sum_quantiles[p]:.3g}") for p in SUM_QUANTILES]
    rows.append(("module sum mean (MIP)", f"{s.sum_mean:.3g}"))
    rows += [(f"largest cell {p} % (MIP)", f"{s.largest_quantiles[p]:.3g}") for p in (50, 90, 99)]
    rows += [
        ("largest cell overall (MIP)", f"{s.largest:.4g}"),
        ("zero cells", f"{100 * s.zero_fraction:.1f} %"),
        ("all-zero modules", f"{s.zero_modules:,}"),
    ]
    return rows


def format_summary(s: DataSummary) -> str:
    rows = _rows(s)
    if s.truth_keys:
        rows.append(("truth", ", ".join(s.truth_keys)))
    if s.meta_keys:
        rows.append(("metadata", ", ".join(s.meta_keys)))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def format_comparison(names: list[str], summaries: list[DataSummary]) -> str:
    """The summaries side by side, one column per data set."""
    table = [_rows(s) for s in summaries]
    labels = [k for k, _ in table[0]]
    cols = [[v for _, v in t] for t in table]
    lw = max(len(k) for k in labels)
    widths = [max(len(n), *(len(v) for v in c)) for n, c in zip(names, cols)]
    lines = ["  ".join([" " * lw] + [f"{n:>{w}}" for n, w in zip(names, widths)])]
    for i, label in enumerate(labels):
        lines.append("  ".join([f"{label:<{lw}}"] + [f"{c[i]:>{w}}" for c, w in zip(cols, widths)]))
    return "\n".join(lines)


def summary_dict(s: DataSummary, path: str | None = None) -> dict:
    """The summary as plain JSON values, with the unit of every figure (``encoder data info --json``)."""
    from dataclasses import asdict
    d = asdict(s)
    for k in ("sum_quantiles", "largest_quantiles"):
        d[k] = {str(p): v for p, v in d[k].items()}
    d["truth_keys"], d["meta_keys"] = list(s.truth_keys), list(s.meta_keys)
    d["units"] = {
        "occupancy": f"cells above {OCCUPANCY_THRESHOLD_MIP:g} MIP per module",
        "sum_quantiles": "module sum in transverse MIPs, keyed by percentile",
        "sum_mean": "transverse MIPs",
        "largest": "transverse MIPs (largest cell of the file)",
        "largest_quantiles": "largest cell of a module in transverse MIPs, keyed by percentile",
        "zero_fraction": "fraction of all cells at zero (0-1)",
        "zero_modules": "modules",
    }
    return {"file": path, **d} if path is not None else d

