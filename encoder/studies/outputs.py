"""An evaluation written to a directory: JSON, CSV, per-module arrays and plots.

Files (all in the evaluation directory):

- ``metrics.json``: everything (meta data, every algorithm's figures,
  binned EMD tables, bandwidth).
- ``metrics.csv``: one row per algorithm (``CSV_COLUMNS``).
- ``emd_by_occupancy.csv`` and, with a truth energy, ``emd_by_energy.csv``.
- ``modules.npz``: per-module EMD and bits of each algorithm.
- ``emd_hist.png``, ``emd_vs_occupancy.png``, ``display_<module>.png``
  (input, autoencoder reconstruction and best choice of a few modules).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np

from ..files import atomic_dir
from ..metrics import plots
from .evaluate import AE_GOLDEN, Evaluation
from .scoring import jsonable

CSV_COLUMNS = (
    "algorithm", "kind", "label", "emd_mean", "emd_sem", "emd_median", "emd_p90", "emd_count",
    "n_input_empty", "n_output_empty", "mse_mean", "centroid_shift_cm_mean", "sum_ratio_mean",
    "sum_ratio_std", "bits_mean", "bits_median", "bits_p99", "bits_max", "elinks_mean", "elinks_p99",
    "elinks_max", "n_elinks", "fraction_over_budget", "compression_ratio",
)


def csv_row(name: str, s: dict) -> dict:
    e, b = s["emd"], s["bandwidth"]
    return {
        "algorithm": name, "kind": s.get("kind", ""), "label": s.get("label", name),
        "emd_mean": e["mean"], "emd_sem": e.get("sem"), "emd_median": e["median"], "emd_p90": e.get("p90"),
        "emd_count": e["count"], "n_input_empty": e["n_input_empty"], "n_output_empty": e["n_output_empty"],
        "mse_mean": s["mse_mean"], "centroid_shift_cm_mean": s["centroid_shift_cm_mean"],
        "sum_ratio_mean": s["sum_ratio_mean"], "sum_ratio_std": s["sum_ratio_std"],
        "bits_mean": b["bits_mean"], "bits_median": b["bits_median"], "bits_p99": b["bits_p99"],
        "bits_max": b["bits_max"], "elinks_mean": b["elinks_mean"], "elinks_p99": b["elinks_p99"],
        "elinks_max": b["elinks_max"], "n_elinks": b.get("n_elinks"),
        "fraction_over_budget": b.get("fraction_over_budget"), "compression_ratio": b["compression_ratio"],
    }


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return "" if not np.isfinite(v) else repr(v)
    return str(v)


def csv_text(rows: list[dict], columns) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([_fmt(r.get(c)) for c in columns])
    return buf.getvalue()


def binned_csv(summaries: dict, key: str) -> str | None:
    rows = []
    for name, s in summaries.items():
        t = s.get(key)
        if not t:
            continue
        for i in range(len(t["lo"])):
            rows.append({"algorithm": name, "variable": t.get("variable", ""), "lo": t["lo"][i],
                         "hi": t["hi"][i], "count": t["count"][i], "mean": t["mean"][i],
                         "median": t["median"][i]})
    if not rows:
        return None
    return csv_text(rows, ("algorithm", "variable", "lo", "hi", "count", "mean", "median"))


def write_files(ev: Evaluation, d: Path, *, plot: bool = True) -> None:
    """Write every output of an evaluation into an existing (temporary) directory ``d``."""
    summaries = {k: s.summary for k, s in ev.scores.items()}
    (d / "metrics.json").write_text(json.dumps(jsonable({"units": UNITS, **ev.summary()}), indent=1,
                                               allow_nan=False) + "\n")
    (d / "metrics.csv").write_text(csv_text([csv_row(k, s) for k, s in summaries.items()], CSV_COLUMNS))
    for key, fname in (("emd_vs_occupancy", "emd_by_occupancy.csv"), ("emd_vs_energy", "emd_by_energy.csv")):
        text = binned_csv(summaries, key)
        if text:
            (d / fname).write_text(text)
    arrays = {}
    for k, s in ev.scores.items():
        arrays[f"emd_{k}"] = s.emd
        arrays[f"bits_{k}"] = s.bits
    with open(d / "modules.npz", "wb") as fh:
        np.savez_compressed(fh, **arrays)
    if plot:
        write_plots(ev, d)


def write_plots(ev: Evaluation, d: Path) -> None:
    from .evaluate import label
    summaries = {k: s.summary for k, s in ev.scores.items()}
    names = {k: s.get("label") or label(k) for k, s in summaries.items()}
    plots.emd_histograms({k: s.emd for k, s in ev.scores.items()}, d / "emd_hist.png", labels=names)
    plots.emd_vs_occupancy({k: s["emd_vs_occupancy"] for k, s in summaries.items()}, d / "emd_vs_occupancy.png",
                           labels=names, log_x=False, xlabel="occupancy [cells above 1 MIP]")
    with_energy = {k: s["emd_vs_energy"] for k, s in summaries.items() if s.get("emd_vs_energy")}
    if with_energy:
        var = next(iter(with_energy.values())).get("variable") or "energy"
        plots.emd_vs_occupancy(with_energy, d / "emd_vs_energy.png", labels=names, log_x=True, xlabel=var)
    emd_of = {k: s.emd for k, s in ev.scores.items()}
    for i in ev.display_modules:
        panels = {"input": ev.charges[i]}
        sent = {}
        for name, r in ev.reconstructions.items():
            e = emd_of.get(name)
            tag = f"{names.get(name, name)}\n(EMD {e[i]:.2f})" if e is not None and e[i] >= 0 else names.get(name, name)
            panels[tag] = r[i]
            if name in ev.sent:
                sent[tag] = ev.sent[name][i]
        plots.event_display(panels, d / f"display_{i}.png", ev.meta["geometry"], sent=sent,
                            title=f"module {i} of {ev.meta.get('data') or 'the data'}")


def write_evaluation(ev: Evaluation, out, *, overwrite: bool = False, plot: bool = True) -> Path:
    """The evaluation directory, written atomically (refuses to replace unless ``overwrite``)."""
    with atomic_dir(out, overwrite) as tmp:
        write_files(ev, tmp, plot=plot)
    return Path(out)


# Units of the figures in metrics.json and metrics.csv (written into metrics.json as "units").
UNITS = {
    "emd": "half trigger-cell pitches (EMD per module; both sides normalised to unit sum)",
    "mse": "mean over cells of the squared difference of unit-sum cell fractions (dimensionless)",
    "centroid_shift_cm": "cm",
    "sum_ratio": "reconstructed / input module sum (dimensionless)",
    "bits": "bits per bunch crossing (25 ns) per module",
    "elinks": "e-links of 32 bits per bunch crossing",
    "fraction_over_budget": "fraction of bunch crossings (0-1)",
    "compression_ratio": "input bits / mean bits (dimensionless)",
    "budget_bits": "bits per bunch crossing",
    "input_bits": "bits per bunch crossing",
    "count": "modules",
    "n_input_empty": "modules whose input is all zero (left out of the EMD)",
    "n_output_empty": "modules whose output is all zero: nothing sent (left out of the EMD)",
    "charges": "transverse MIPs",
}

LEGEND = (
    "EMD: Energy Mover's Distance per module in half trigger-cell pitches (lower is better), mean and median "
    "over the modules with a non-empty output; empty: modules whose output is all zero (nothing sent; left out "
    "of the EMD), of {n:,}; bits/BX: mean bits per bunch crossing (25 ns); p99: 99th percentile of bits/BX; "
    "e-links: 32-bit e-links that p99 needs; over: crossings over the {e}-e-link budget; ratio: input bits / "
    "mean bits (compression)."
)


def headline(ev: Evaluation) -> str:
    """A short text table of the main figures for the terminal, with its legend."""
    import textwrap

    from .evaluate import label
    names = {k: f"{s.summary.get('label') or label(k)} [{k}]" for k, s in ev.scores.items()}
    w = max(len("algorithm"), *(len(n) for n in names.values()))
    lines = [f"{'algorithm':<{w}} {'EMD mean':>8} {'median':>6} {'empty':>6} {'bits/BX':>7} {'p99':>5} "
             f"{'e-links':>7} {'over':>6} {'ratio':>6}"]
    for k, s in ev.scores.items():
        e, b = s.summary["emd"], s.summary["bandwidth"]
        over = b.get("fraction_over_budget")
        lines.append(f"{names[k]:<{w}} {e['mean']:8.3f} {e['median']:6.3f} {e['n_output_empty']:6d} "
                     f"{b['bits_mean']:7.1f} {b['bits_p99']:5.0f} {b['elinks_p99']:7d} "
                     f"{'' if over is None else f'{100 * over:5.1f}%':>6} {b['compression_ratio']:6.2f}")
    lines += textwrap.wrap(LEGEND.format(n=ev.meta["n_modules"], e=ev.meta["n_elinks"]), width=max(w + 60, 100))
    star = ev.scores[AE_GOLDEN].summary["bandwidth"]
    lines.append(f"(budget {ev.meta['n_elinks']} e-links = {ev.meta['budget_bits']} bits; autoencoder word "
                 f"{int(star['bits_mean'])} bits; input {ev.meta['input_bits']} bits)")
    sh = ev.meta.get("arithmetic_shift")
    if sh:
        lines.append(f"{sh['arithmetic']} arithmetic vs QKeras' on the same weights: "
                     f"{100 * sh['modules_with_a_changed_latent']:.1f}% of modules have a changed latent "
                     f"({100 * sh['latents_changed']:.2f}% of latents, mean |change| "
                     f"{sh['mean_abs_code_change']:.3f} LSB, max {sh['max_abs_code_change']:.0f} LSB); "
                     f"EMD mean {sh['emd_mean']['qkeras']:.4f} -> {sh['emd_mean'][sh['arithmetic']]:.4f} "
                     f"({sh['emd_mean_change']:+.4f})")
    return "\n".join(lines)
