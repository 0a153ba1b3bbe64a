"""Reconstruction-quality figures besides the EMD, and binned tables.

All functions take (N, n_cells) input and output charges (MIPs) and return
one value per module; modules where a figure is undefined (a zero sum)
get NaN. Binned tables drop NaN and negative EMD codes and count them.
"""

from __future__ import annotations

import numpy as np

from .emd_solver import check_pair, resolve_geometry


def _unit_sum(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = x.sum(axis=1)
    ok = s > 0
    out = np.full_like(x, np.nan)
    out[ok] = x[ok] / s[ok, None]
    return out, ok


def mse(inputs, outputs, geometry="hgcal") -> np.ndarray:
    """Mean squared difference of the two unit-sum cell vectors (NaN if either sums to zero)."""
    geom = resolve_geometry(geometry)
    a, b, _ = check_pair(inputs, outputs, geom.n_cells)
    na, _ = _unit_sum(a)
    nb, _ = _unit_sum(b)
    return np.mean((na - nb) ** 2, axis=1)


def centroid_cm(charges, geometry="hgcal") -> np.ndarray:
    """Charge-weighted centre (x, y) of each module in cm, (N, 2); NaN for empty modules."""
    geom = resolve_geometry(geometry)
    c, _, _ = check_pair(charges, charges, geom.n_cells)
    w, _ = _unit_sum(c)
    return w @ geom.xy_cm


def centroid_shift_cm(inputs, outputs, geometry="hgcal") -> np.ndarray:
    """Distance in cm between the input's and the output's charge-weighted centres."""
    geom = resolve_geometry(geometry)
    check_pair(inputs, outputs, geom.n_cells)
    d = centroid_cm(inputs, geom) - centroid_cm(outputs, geom)
    return np.sqrt((d**2).sum(axis=1))


def sum_ratio(inputs, outputs, geometry="hgcal") -> np.ndarray:
    """Output module sum / input module sum (NaN where the input sums to zero)."""
    geom = resolve_geometry(geometry)
    a, b, _ = check_pair(inputs, outputs, geom.n_cells)
    sa = a.sum(axis=1)
    return np.divide(b.sum(axis=1), sa, out=np.full(sa.shape, np.nan), where=sa > 0)


def occupancy(charges, threshold_mip: float = 1.0) -> np.ndarray:
    """Cells above ``threshold_mip`` per module."""
    c = np.asarray(charges, dtype=np.float64)
    return (np.atleast_2d(c) > threshold_mip).sum(axis=1)


def binned(values, by, edges) -> dict:
    """Mean, its standard error (``sem``), median and count of ``values`` in bins of ``by``.

    Bins are [edges[i], edges[i+1]) with the last one closed. NaN values
    and values outside the edges are left out (``n_invalid``,
    ``n_outside``). Empty bins have NaN mean and median.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    x = np.asarray(by, dtype=np.float64).ravel()
    e = np.asarray(edges, dtype=np.float64)
    if v.shape != x.shape:
        raise ValueError(f"values ({v.size}) and binning variable ({x.size}) differ in length")
    if e.ndim != 1 or e.size < 2 or np.any(np.diff(e) <= 0):
        raise ValueError("edges must be at least two increasing numbers")
    valid = np.isfinite(v) & np.isfinite(x)
    inside = valid & (x >= e[0]) & (x <= e[-1])
    idx = np.clip(np.searchsorted(e, x[inside], side="right") - 1, 0, e.size - 2)
    vin = v[inside]
    nb = e.size - 1
    count = np.bincount(idx, minlength=nb)
    mean = np.full(nb, np.nan)
    median = np.full(nb, np.nan)
    sem = np.full(nb, np.nan)
    for i in np.flatnonzero(count):
        sel = vin[idx == i]
        mean[i] = sel.mean()
        median[i] = np.median(sel)
        if sel.size > 1:            # the error bar of the mean: standard error (NaN for a single module)
            sem[i] = sel.std(ddof=1) / np.sqrt(sel.size)
    return {
        "lo": e[:-1].copy(), "hi": e[1:].copy(), "count": count,
        "mean": mean, "median": median, "sem": sem,
        "n_invalid": int((~valid).sum()), "n_outside": int((valid & ~inside).sum()),
    }


def emd_summary(emd_values) -> dict:
    """Mean, median and counts of EMD values, the empty-module codes counted apart."""
    v = np.asarray(emd_values, dtype=np.float64).ravel()
    ok = v >= 0
    return {
        "modules": int(v.size),
        "count": int(ok.sum()),
        "mean": float(v[ok].mean()) if ok.any() else float("nan"),
        "median": float(np.median(v[ok])) if ok.any() else float("nan"),
        "n_input_empty": int((v == -1.0).sum()),
        "n_output_empty": int((v == -0.5).sum()),
    }


DEFAULT_OCCUPANCY_EDGES = (0, 1, 2, 3, 4, 5, 6, 8, 10, 14, 20, 30, 49)


def _emd_valid(emd_values) -> np.ndarray:
    v = np.asarray(emd_values, dtype=np.float64).ravel().copy()
    v[v < 0] = np.nan            # empty-module codes are not distances
    return v


def emd_vs_occupancy(emd_values, inputs, edges=DEFAULT_OCCUPANCY_EDGES, threshold_mip: float = 1.0) -> dict:
    """EMD table in bins of occupancy (input cells above ``threshold_mip``)."""
    occ = occupancy(inputs, threshold_mip)
    table = binned(_emd_valid(emd_values), occ, edges)
    table["variable"] = f"cells > {threshold_mip:g} MIP"
    return table


def emd_vs_energy(emd_values, energy, edges=None, n_bins: int = 10) -> dict:
    """EMD table in bins of a per-module signal energy (e.g. a truth array).

    Without ``edges`` the bins are ``n_bins`` quantiles of the energies of
    the modules that have a valid EMD.
    """
    v = _emd_valid(emd_values)
    x = np.asarray(energy, dtype=np.float64).ravel()
    if edges is None:
        ok = np.isfinite(v) & np.isfinite(x)
        if not ok.any():
            raise ValueError("no module with both a valid EMD and a finite energy")
        edges = np.unique(np.quantile(x[ok], np.linspace(0, 1, n_bins + 1)))
        if edges.size < 2:
            edges = np.array([edges[0], edges[0] + 1.0])
    table = binned(v, x, edges)
    table["variable"] = "energy"
    return table
