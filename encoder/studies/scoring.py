"""The figures of one algorithm on a set of modules.

An algorithm is what the receiver rebuilds (N, n_cells charges in MIPs)
and how many bits per bunch crossing each module's word takes. Its score:

- EMD (exact, ``encoder.metrics.emd``) with mean, median, spread and the
  empty-module codes counted apart;
- MSE of the unit-sum cell vectors, energy-weighted centroid shift (cm),
  module-sum ratio (output sum / input sum);
- EMD in bins of occupancy (cells above 1 MIP) and, when a per-module
  signal-energy array is given, in bins of that energy;
- bandwidth (``encoder.metrics.bandwidth.summarize``): mean, median, 99th
  percentile and largest bits per BX, e-links needed, the fraction of
  crossings over the e-link budget and the compression ratio against the
  uncompressed input (48 x 7 = 336 bits for HGCAL).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..metrics import bandwidth, quality
from ..metrics import emd as exact_emd

# Truth arrays of ``encoder data synth``, in order of preference, for EMD
# versus signal energy: the signal charge the showers left in the module's
# cells, else their incident energy.
ENERGY_TRUTH = (("signal_mip", "signal charge in the module (truth) [MIP]"),
                ("signal_energy_gev", "signal shower energy (truth) [GeV]"),
                ("signal_et_gev", "signal shower transverse energy (truth) [GeV]"))
ENERGY_BINS = 10


@dataclass
class Score:
    name: str
    emd: np.ndarray            # (N,) EMD per module (-1 / -0.5 codes for empty modules)
    bits: np.ndarray           # (N,) bits per BX per module
    summary: dict              # JSON-ready figures


def energy_variable(truth: dict) -> tuple[str, str] | None:
    """(truth key, axis label) of the signal energy to bin in, or None."""
    for key, label in ENERGY_TRUTH:
        if key in truth:
            return key, label
    return None


def energy_edges(energy, charges, n_bins: int = ENERGY_BINS) -> np.ndarray | None:
    """Quantile bin edges of ``energy`` over the modules with charge (shared by all algorithms)."""
    e = np.asarray(energy, dtype=np.float64).ravel()
    ok = np.isfinite(e) & (np.asarray(charges).sum(axis=1) > 0)
    if not ok.any():
        return None
    edges = np.unique(np.quantile(e[ok], np.linspace(0.0, 1.0, n_bins + 1)))
    return edges if edges.size >= 2 else None


def emd_stats(values) -> dict:
    """Mean, median, spread and quantiles of the valid EMD values, empty codes counted."""
    s = quality.emd_summary(values)
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[v >= 0]
    if v.size:
        s["std"] = float(v.std(ddof=1)) if v.size > 1 else 0.0
        s["sem"] = s["std"] / math.sqrt(v.size)
        s["p16"], s["p84"], s["p90"], s["p99"] = (float(q) for q in np.percentile(v, [16, 84, 90, 99]))
    else:
        s.update(std=float("nan"), sem=float("nan"), p16=float("nan"), p84=float("nan"),
                 p90=float("nan"), p99=float("nan"))
    return s


def _mean(v) -> float:
    v = np.asarray(v, dtype=np.float64)
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else float("nan")


def _median(v) -> float:
    v = np.asarray(v, dtype=np.float64)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if v.size else float("nan")


def _std(v) -> float:
    v = np.asarray(v, dtype=np.float64)
    v = v[np.isfinite(v)]
    return float(v.std(ddof=1)) if v.size > 1 else float("nan")


def score(name: str, inputs: np.ndarray, reconstructed: np.ndarray, bits, *, geometry="hgcal",
          n_elinks: int | None = None, energy=None, energy_edges_=None, energy_label: str | None = None,
          workers: int = 1, progress=None, info: dict | None = None) -> Score:
    """Score one algorithm; ``info`` (kind, label, ...) is copied into the summary."""
    emd = np.asarray(exact_emd(inputs, reconstructed, geometry, workers=workers, progress=progress))
    bits = np.broadcast_to(np.asarray(bits, dtype=np.int64), (len(inputs),)).copy()
    ratio = quality.sum_ratio(inputs, reconstructed, geometry)
    shift = quality.centroid_shift_cm(inputs, reconstructed, geometry)
    summary = dict(info or {})
    summary.update({
        "name": name,
        "emd": emd_stats(emd),
        "mse_mean": _mean(quality.mse(inputs, reconstructed, geometry)),
        "centroid_shift_cm_mean": _mean(shift),
        "centroid_shift_cm_median": _median(shift),
        "sum_ratio_mean": _mean(ratio),
        "sum_ratio_std": _std(ratio),
        "bandwidth": bandwidth.summarize(bits, n_elinks, n_cells=inputs.shape[1]),
        "emd_vs_occupancy": table(quality.emd_vs_occupancy(emd, inputs)),
    })
    if energy is not None and energy_edges_ is not None:
        t = table(quality.emd_vs_energy(emd, energy, edges=energy_edges_))
        t["variable"] = energy_label or t["variable"]
        summary["emd_vs_energy"] = t
    return Score(name, emd, bits, summary)


def table(t: dict) -> dict:
    """A ``quality.binned`` table with plain lists (NaN -> None) for JSON."""
    return {k: jsonable(v) for k, v in t.items()}


def jsonable(v):
    """NumPy values and containers -> JSON values; NaN and infinities -> None."""
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        return [jsonable(x) for x in v.tolist()]
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        f = float(v)
        return f if math.isfinite(f) else None
    return v
