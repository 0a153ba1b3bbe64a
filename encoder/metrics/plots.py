"""Figures of the studies (matplotlib, Agg backend, written atomically).

Every function takes the figure's data and an output path (the suffix picks
the format), refuses to replace an existing file unless ``overwrite``, and
returns the path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..files import atomic_path
from .emd_solver import resolve_geometry


def _pyplot():
    import matplotlib  # noqa: PLC0415  (plotting is optional work; keep imports lazy)
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt  # noqa: PLC0415
    return plt


def _save(fig, path, overwrite: bool) -> Path:
    plt = _pyplot()
    try:
        with atomic_path(path, overwrite) as tmp:
            fig.savefig(tmp, dpi=120, bbox_inches="tight")
    finally:
        plt.close(fig)
    return Path(path)


def emd_histograms(emd_by_name: dict, path, bins: int = 60, max_emd: float | None = None,
                   overwrite: bool = False) -> Path:
    """Overlaid EMD histograms, one per algorithm.

    Modules with an empty-module code (EMD < 0) are left out and counted in
    the legend; values above ``max_emd`` (default: the 99.5th percentile)
    fall in the last bin.
    """
    plt = _pyplot()
    raw = {k: np.asarray(v, dtype=float).ravel() for k, v in emd_by_name.items()}
    valid = {k: v[v >= 0] for k, v in raw.items()}
    top = max_emd if max_emd is not None else max([float(np.percentile(v, 99.5)) for v in valid.values() if v.size] or [1.0])
    edges = np.linspace(0.0, top, bins + 1)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, v in valid.items():
        n_empty = raw[name].size - v.size
        label = f"{name} (mean {v.mean():.2f}, median {np.median(v):.2f}" if v.size else f"{name} (no modules"
        label += f", {n_empty} empty)" if n_empty else ")"
        ax.hist(np.clip(v, 0, top), bins=edges, histtype="step", linewidth=1.5, label=label)
    ax.set_xlabel("EMD [half trigger-cell pitch]")
    ax.set_ylabel("modules")
    ax.legend(fontsize=8)
    return _save(fig, path, overwrite)


def emd_vs_occupancy(tables_by_name: dict, path, overwrite: bool = False) -> Path:
    """Mean (solid) and median (dashed) EMD per occupancy bin for each algorithm.

    ``tables_by_name``: name -> table from ``quality.emd_vs_occupancy`` (or
    any ``quality.binned`` table).
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    variable = "occupancy"
    for i, (name, t) in enumerate(tables_by_name.items()):
        centre = 0.5 * (np.asarray(t["lo"]) + np.asarray(t["hi"]))
        ok = np.asarray(t["count"]) > 0
        colour = f"C{i % 10}"
        ax.plot(centre[ok], np.asarray(t["mean"])[ok], "o-", color=colour, label=f"{name} mean")
        ax.plot(centre[ok], np.asarray(t["median"])[ok], "s--", color=colour, alpha=0.7, label=f"{name} median")
        variable = t.get("variable", variable)
    ax.set_xlabel(variable)
    ax.set_ylabel("EMD [half trigger-cell pitch]")
    ax.legend(fontsize=8, ncol=2)
    return _save(fig, path, overwrite)


def event_display(charges_by_name: dict, path, geometry="hgcal", title: str | None = None,
                  log: bool = False, overwrite: bool = False) -> Path:
    """One module drawn cell by cell, one panel per entry (e.g. input, reconstructions).

    ``charges_by_name``: name -> n_cells charges. All panels share one colour
    scale; ``log`` uses a logarithmic one. Cells at zero are drawn blank.
    """
    plt = _pyplot()
    from matplotlib.collections import PolyCollection  # noqa: PLC0415
    from matplotlib.colors import LogNorm, Normalize  # noqa: PLC0415

    geom = resolve_geometry(geometry)
    panels = {k: np.asarray(v, dtype=float).ravel() for k, v in charges_by_name.items()}
    for k, v in panels.items():
        if v.size != geom.n_cells:
            raise ValueError(f"event display panel {k!r}: {v.size} charges, geometry {geom.name} has {geom.n_cells} cells")
    if not panels:
        raise ValueError("event display needs at least one panel")
    top = max(float(v.max()) for v in panels.values()) or 1.0
    if log:
        positive = [v[v > 0].min() for v in panels.values() if np.any(v > 0)]
        norm = LogNorm(vmin=min(positive) if positive else top / 10, vmax=top)
    else:
        norm = Normalize(vmin=0.0, vmax=top)
    n = len(panels)
    fig, axes = plt.subplots(1, n, figsize=(3.6 * n + 0.8, 3.8), squeeze=False)
    outline = geom.outline_cm
    lo, hi = outline.reshape(-1, 2).min(axis=0), outline.reshape(-1, 2).max(axis=0)
    cmap = plt.get_cmap("viridis").with_extremes(bad="white")
    coll = None
    for ax, (name, v) in zip(axes[0], panels.items()):
        shown = np.ma.masked_invalid(np.where(v > 0, v, np.nan))
        coll = PolyCollection(outline, array=shown, cmap=cmap, norm=norm,
                              edgecolors="0.6", linewidths=0.4)
        ax.add_collection(coll)
        ax.set_xlim(lo[0] - 0.5, hi[0] + 0.5)
        ax.set_ylim(lo[1] - 0.5, hi[1] + 0.5)
        ax.set_aspect("equal")
        ax.set_title(f"{name}\nsum {v.sum():.1f} MIP", fontsize=9)
        ax.set_xlabel("x [cm]")
    axes[0][0].set_ylabel("y [cm]")
    fig.colorbar(coll, ax=list(axes[0]), shrink=0.85, label="charge [MIP]")
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path, overwrite)


def pareto(points, path, xlabel: str = "bits per BX", ylabel: str = "mean EMD",
           elink_lines: bool = True, overwrite: bool = False) -> Path:
    """Quality versus bandwidth: labelled points and their Pareto front.

    ``points``: iterable of (label, bits, quality) with lower-is-better
    quality; the front joins the points no other point beats on both axes.
    ``elink_lines`` marks each e-link's capacity (multiples of 32 bits).
    """
    plt = _pyplot()
    pts = [(str(lbl), float(x), float(y)) for lbl, x, y in points]
    if not pts:
        raise ValueError("pareto plot needs at least one point")
    front = pareto_front([(x, y) for _, x, y in pts])
    fig, ax = plt.subplots(figsize=(7, 4.5))
    xs, ys = np.array([p[1] for p in pts]), np.array([p[2] for p in pts])
    ax.scatter(xs, ys, color="C0", zorder=3)
    for lbl, x, y in pts:
        ax.annotate(lbl, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    fx, fy = xs[front], ys[front]
    order = np.argsort(fx)
    ax.step(fx[order], fy[order], where="post", color="C3", alpha=0.6, label="Pareto front")
    if elink_lines:
        from ..inputpath import ELINK_BITS_PER_BX  # noqa: PLC0415
        for k in range(1, int(xs.max() // ELINK_BITS_PER_BX) + 1):
            ax.axvline(k * ELINK_BITS_PER_BX, color="0.8", linestyle=":", linewidth=0.8, zorder=0)
            ax.text(k * ELINK_BITS_PER_BX, 1.0, f" {k}", transform=ax.get_xaxis_transform(),
                    fontsize=7, color="0.5", va="top")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    return _save(fig, path, overwrite)


def pareto_front(xy) -> np.ndarray:
    """Indices of the points not dominated (lower x and lower y are better)."""
    p = np.asarray(xy, dtype=float).reshape(-1, 2)
    keep = []
    for i, (x, y) in enumerate(p):
        dominated = np.any((p[:, 0] <= x) & (p[:, 1] <= y) & ((p[:, 0] < x) | (p[:, 1] < y)))
        if not dominated:
            keep.append(i)
    return np.asarray(keep, dtype=int)
