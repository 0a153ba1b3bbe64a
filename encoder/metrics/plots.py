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


# Drawn last and in a style of its own, so that a curve lying exactly on another stays visible
# (the golden model's autoencoder often equals the QKeras path).
EMPHASISED = ("ae_golden",)
ZERO_COLOUR = "0.82"          # a cell at zero charge: light grey, never white
ZERO_COLOUR_RGB = (0.82, 0.82, 0.82)
NOT_SENT_HATCH = "////"       # a cell the algorithm does not transmit: white, hatched


def _order(names) -> list:
    """Plot order: the emphasised curves last (on top)."""
    return sorted(names, key=lambda n: n in EMPHASISED)


def _legend_outside(ax, **kw) -> None:
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=8, **kw)


def _style(name: str, i: int) -> dict:
    if name in EMPHASISED:
        return {"color": "black", "linestyle": "--", "linewidth": 2.0, "zorder": 5}
    return {"color": f"C{i % 10}", "linewidth": 1.5, "zorder": 3}


def emd_histograms(emd_by_name: dict, path, bins: int = 60, max_emd: float | None = None,
                   overwrite: bool = False, labels: dict | None = None) -> Path:
    """Overlaid EMD histograms, one per algorithm.

    Modules with an empty-module code (EMD < 0) are left out and counted in
    the legend; values above ``max_emd`` (default: the 99.5th percentile)
    fall in the last bin. ``labels``: readable names for the legend (default: the keys).
    """
    plt = _pyplot()
    labels = labels or {}
    raw = {k: np.asarray(v, dtype=float).ravel() for k, v in emd_by_name.items()}
    valid = {k: v[v >= 0] for k, v in raw.items()}
    top = max_emd if max_emd is not None else max([float(np.percentile(v, 99.5)) for v in valid.values() if v.size] or [1.0])
    edges = np.linspace(0.0, top, bins + 1)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    index = {k: i for i, k in enumerate(valid)}
    for name in _order(valid):
        v = valid[name]
        n_empty = raw[name].size - v.size
        text = labels.get(name, name)
        label = f"{text} (mean {v.mean():.2f}, median {np.median(v):.2f}" if v.size else f"{text} (no modules"
        label += f", {n_empty} empty)" if n_empty else ")"
        ax.hist(np.clip(v, 0, top), bins=edges, histtype="step", label=label, **_style(name, index[name]))
    ax.set_xlabel("EMD [half trigger-cell pitch]")
    ax.set_ylabel("modules per bin")
    _legend_outside(ax)
    return _save(fig, path, overwrite)


def emd_vs_occupancy(tables_by_name: dict, path, overwrite: bool = False, labels: dict | None = None,
                     log_x: bool | None = None, xlabel: str | None = None) -> Path:
    """Mean EMD per bin with its standard error as error bars, one series per algorithm.

    ``tables_by_name``: name -> table from ``quality.emd_vs_occupancy`` or ``emd_vs_energy`` (any
    ``quality.binned`` table). ``log_x``: a logarithmic x axis (default: when the bins span more
    than a factor 10 and start above zero; ``encoder evaluate`` asks for it on energy axes). The points sit at the bins' centres
    (geometric centres on a log axis), nudged apart so that equal values stay visible.
    """
    plt = _pyplot()
    labels = labels or {}
    fig, ax = plt.subplots(figsize=(8, 4.5))
    variable = "occupancy"
    tables = {k: {f: np.asarray(v, dtype=float) if isinstance(v, (list, tuple, np.ndarray)) else v
                  for f, v in t.items()} for k, t in tables_by_name.items()}
    if log_x is None:
        lo = min((float(np.min(t["lo"])) for t in tables.values()), default=0.0)
        hi = max((float(np.max(t["hi"])) for t in tables.values()), default=1.0)
        log_x = lo > 0 and hi / lo > 10
    index = {k: i for i, k in enumerate(tables)}
    n = max(len(tables), 1)
    for name in _order(tables):
        t = tables[name]
        i = index[name]
        lo_, hi_ = t["lo"], t["hi"]
        if log_x:       # a first bin starting at zero (no signal) is drawn from a quarter of its top
            lo_ = np.where(lo_ > 0, lo_, hi_ / 4)
        centre = np.sqrt(lo_ * hi_) if log_x else 0.5 * (lo_ + hi_)
        width = (np.log(hi_ / lo_) if log_x else hi_ - lo_)
        nudge = (i - (n - 1) / 2) / n * 0.5 * width          # within the middle half of the bin
        x = centre * np.exp(nudge) if log_x else centre + nudge
        mean = np.asarray(t["mean"], dtype=float)
        ok = (np.asarray(t["count"]) > 0) & np.isfinite(mean)
        sem = np.asarray(t.get("sem", np.full(mean.shape, np.nan)), dtype=float)
        st = _style(name, i)
        ax.errorbar(x[ok], mean[ok], yerr=np.where(np.isfinite(sem), sem, 0.0)[ok], fmt="o-" if name not in EMPHASISED
                    else "x--", color=st["color"], linewidth=1.2, markersize=4, capsize=2, zorder=st["zorder"],
                    label=labels.get(name, name))
        variable = t.get("variable", variable)
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel or variable)
    ax.set_ylabel("mean EMD [half trigger-cell pitch]\n(error bars: standard error)")
    _legend_outside(ax)
    return _save(fig, path, overwrite)


def event_display(charges_by_name: dict, path, geometry="hgcal", title: str | None = None,
                  log: bool = False, overwrite: bool = False, sent: dict | None = None) -> Path:
    """One module drawn cell by cell, one panel per entry (e.g. input, reconstructions).

    ``charges_by_name``: name -> n_cells charges. All panels share one colour
    scale; ``log`` uses a logarithmic one. A cell at zero is light grey;
    ``sent``: name -> n_cells booleans for algorithms that transmit only some
    cells (best choice, thresholds): the cells not sent are white and hatched.
    """
    plt = _pyplot()
    from matplotlib.collections import PolyCollection  # noqa: PLC0415
    from matplotlib.colors import LogNorm, Normalize  # noqa: PLC0415
    from matplotlib.patches import Patch  # noqa: PLC0415

    geom = resolve_geometry(geometry)
    panels = {k: np.asarray(v, dtype=float).ravel() for k, v in charges_by_name.items()}
    sent = {k: np.asarray(v, dtype=bool).ravel() for k, v in (sent or {}).items()}
    for k, v in panels.items():
        if v.size != geom.n_cells:
            raise ValueError(f"event display panel {k!r}: {v.size} charges, geometry {geom.name} has {geom.n_cells} cells")
        if k in sent and sent[k].size != geom.n_cells:
            raise ValueError(f"event display panel {k!r}: {sent[k].size} sent flags for {geom.n_cells} cells")
    if not panels:
        raise ValueError("event display needs at least one panel")
    top = max(float(v.max()) for v in panels.values()) or 1.0
    if log:
        positive = [v[v > 0].min() for v in panels.values() if np.any(v > 0)]
        norm = LogNorm(vmin=min(positive) if positive else top / 10, vmax=top)
    else:
        norm = Normalize(vmin=0.0, vmax=top)
    n = len(panels)
    fig, axes = plt.subplots(1, n, figsize=(3.6 * n + 0.8, 4.3), squeeze=False)
    outline = geom.outline_cm
    lo, hi = outline.reshape(-1, 2).min(axis=0), outline.reshape(-1, 2).max(axis=0)
    cmap = plt.get_cmap("viridis").with_extremes(bad=ZERO_COLOUR)
    coll = None
    any_not_sent = False
    for ax, (name, v) in zip(axes[0], panels.items()):
        shown = np.ma.masked_invalid(np.where(v > 0, v, np.nan))
        coll = PolyCollection(outline, array=shown, cmap=cmap, norm=norm,
                              edgecolors="0.6", linewidths=0.4)
        ax.add_collection(coll)
        if name in sent and (~sent[name]).any():
            any_not_sent = True
            ax.add_collection(PolyCollection(outline[~sent[name]], facecolors="white", edgecolors="0.6",
                                             hatch=NOT_SENT_HATCH, linewidths=0.4))
        ax.set_xlim(lo[0] - 0.5, hi[0] + 0.5)
        ax.set_ylim(lo[1] - 0.5, hi[1] + 0.5)
        ax.set_aspect("equal")
        ax.set_title(f"{name}\nsum {v.sum():.1f} MIP", fontsize=9)
        ax.set_xlabel("x [cm]")
    axes[0][0].set_ylabel("y [cm]")
    fig.colorbar(coll, ax=list(axes[0]), shrink=0.85, label="charge [MIP]")
    keys = [Patch(facecolor=ZERO_COLOUR, edgecolor="0.6", label="zero charge")]
    if any_not_sent:
        keys.append(Patch(facecolor="white", edgecolor="0.6", hatch=NOT_SENT_HATCH, label="not sent"))
    fig.legend(handles=keys, loc="lower center", ncol=len(keys), fontsize=8, frameon=False,
               bbox_to_anchor=(0.45, -0.02))
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
