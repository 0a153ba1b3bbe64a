"""Comparison plots of data sets (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import numpy as np

from ..files import atomic_path
from .store import SensorData
from .summary import OCCUPANCY_THRESHOLD_MIP, occupancy


def _log_bins(arrays, n=50):
    pos = np.concatenate([a[a > 0] for a in arrays])
    if pos.size == 0:
        return np.logspace(-2, 0, n)
    lo, hi = np.percentile(pos, 0.1), pos.max()
    return np.logspace(np.log10(lo), np.log10(hi * 1.01), n)


def compare_plot(path, names: list[str], datasets: list[SensorData], overwrite: bool = False) -> None:
    """Four panels: occupancy, module sum, largest cell, charge spectrum (each normalised)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    occ = [occupancy(d.charges) for d in datasets]
    sums = [d.charges.sum(axis=1) for d in datasets]
    peaks = [d.charges.max(axis=1) for d in datasets]
    cells = [d.charges[d.charges > 0] for d in datasets]

    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    top = max(int(o.max()) for o in occ) + 2
    panels = [
        (axes[0, 0], occ, np.arange(-0.5, top, 1.0), False,
         f"cells above {OCCUPANCY_THRESHOLD_MIP:g} MIP per module", "fraction of modules"),
        (axes[0, 1], sums, _log_bins(sums), True, "module sum (MIP)", "fraction of modules"),
        (axes[1, 0], peaks, _log_bins(peaks), True, "largest cell of a module (MIP)", "fraction of modules"),
        (axes[1, 1], cells, _log_bins(cells), True, "non-zero cell charge (MIP)", "fraction of cells"),
    ]
    for ax, values, bins, logx, xlabel, ylabel in panels:
        for name, v in zip(names, values):
            w = np.full(v.size, 1.0 / max(v.size, 1))
            ax.hist(v, bins=bins, weights=w, histtype="step", linewidth=1.5, label=name)
        if logx:
            ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    axes[0, 0].legend()
    fig.tight_layout()
    with atomic_path(path, overwrite) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)
