"""A study's table (CSV + Markdown), Pareto plot and report from its point results.

Rows: one per finished point (the autoencoder as the chip sends it, with
the float QKeras path's EMD beside it), then the baselines on the same
evaluation modules. Columns for every further data set give the EMD and
the bits per BX (which differ for variable-size words) of the same
algorithms there. The table holds no timings, so a resumed
study and an uninterrupted one give the same table.
"""

from __future__ import annotations

import json

import numpy as np

from ..files import atomic_path, write_text
from ..inputpath import ELINK_BITS_PER_BX
from .outputs import csv_text

BASE_COLUMNS = (
    "kind", "name", "label", "point_id", "elinks", "latent_bits", "bits_mean", "bits_p99", "bits_max",
    "elinks_p99", "fraction_over_budget", "compression_ratio", "emd_mean", "emd_sem", "emd_median",
    "emd_qkeras_mean", "mse_mean", "centroid_shift_cm_mean", "sum_ratio_mean", "sum_ratio_std",
    "epochs_run", "best_val_loss", "best_val_emd", "selected",
)
BASELINE_ORDER = ("threshold_low", "threshold_high", "stc4", "stc16")


def _ae_label(r: dict) -> str:
    return f"AE {r['elinks']} e-links, {r['n_latent']}x{r['latent_bits']} bits" if r.get("elinks") else f"AE {r['label']}"


def _budget(r: dict):
    """What a point competes within: its e-link budget, else (no budget) only itself."""
    return r.get("elinks") if r.get("elinks") is not None else r["label"]


def selected_ids(results: list[dict]) -> set[str]:
    """Per e-link budget, the point with the lowest validation EMD (ties: the earlier point).

    Selection uses only the training run's own validation modules, never the
    held-out evaluation split or the further data sets the table reports.
    """
    best: dict = {}
    for r in sorted(results, key=lambda r: r["index"]):
        key = _budget(r)
        v = r["train"].get("best_val_emd")
        v = float("inf") if v is None else float(v)
        if key not in best or v < best[key][0]:
            best[key] = (v, r["id"])
    return {rid for _, rid in best.values()}


def selected_json(results: list[dict]) -> str:
    """The kept model of each e-link budget: where its run and IR are, and how it was chosen."""
    chosen = selected_ids(results)
    keep = {}
    for r in sorted(results, key=lambda r: r["index"]):
        if r["id"] in chosen:
            keep[str(_budget(r))] = {"point": r["id"], "run": f"points/{r['id']}/run", "ir": f"points/{r['id']}/ir.json",
                         "overrides": r["overrides"], "best_val_emd": r["train"].get("best_val_emd")}
    return json.dumps({"chosen_by": "lowest validation EMD (training split only)", "by_elinks": keep},
                      indent=1) + "\n"


def rows(results: list[dict], baselines: dict[str, dict], extras: list[str]) -> list[dict]:
    """Table rows: points in sweep order, then baselines (threshold, STC, best choice by N)."""
    out = []
    chosen = selected_ids(results)
    for r in sorted(results, key=lambda r: r["index"]):
        ev = r["evaluations"]["eval"]["algorithms"]
        g, q = ev["ae_golden"], ev.get("ae_qkeras")
        b, e = g["bandwidth"], g["emd"]
        row = {
            "kind": "autoencoder", "name": r["label"], "label": _ae_label(r), "point_id": r["id"],
            "elinks": r.get("elinks"), "latent_bits": r["latent_bits"],
            "bits_mean": b["bits_mean"], "bits_p99": b["bits_p99"], "bits_max": b["bits_max"],
            "elinks_p99": b["elinks_p99"], "fraction_over_budget": b.get("fraction_over_budget"),
            "compression_ratio": b["compression_ratio"], "emd_mean": e["mean"], "emd_sem": e.get("sem"),
            "emd_median": e["median"], "emd_qkeras_mean": q["emd"]["mean"] if q else None,
            "mse_mean": g["mse_mean"], "centroid_shift_cm_mean": g["centroid_shift_cm_mean"],
            "sum_ratio_mean": g["sum_ratio_mean"], "sum_ratio_std": g["sum_ratio_std"],
            "epochs_run": r["train"].get("epochs_run"), "best_val_loss": r["train"].get("best_val_loss"),
            "best_val_emd": r["train"].get("best_val_emd"), "selected": r["id"] in chosen,
        }
        for x in extras:
            xe = r["evaluations"].get(x)
            row.update(_extra_cells(x, xe["algorithms"]["ae_golden"] if xe else None))
        out.append(row)
    main = baselines.get("eval", {}).get("algorithms", {})
    bc = sorted((k for k in main if k.startswith("best_choice_")), key=lambda k: int(k.rsplit("_", 1)[1]))
    # the chip's own algorithms after the approximate ones, by e-link budget (names end in _e<N>)
    chip = sorted((k for k in main if k.startswith("chip_")), key=lambda k: int(k.rsplit("_e", 1)[1]))
    for name in [*BASELINE_ORDER, *bc, *chip]:
        if name not in main:
            continue
        s = main[name]
        b, e = s["bandwidth"], s["emd"]
        row = {
            "kind": s.get("kind", "baseline"), "name": name, "label": s.get("label", name), "point_id": "",
            "elinks": b.get("n_elinks"), "latent_bits": None,
            "bits_mean": b["bits_mean"], "bits_p99": b["bits_p99"], "bits_max": b["bits_max"],
            "elinks_p99": b["elinks_p99"], "fraction_over_budget": b.get("fraction_over_budget"),
            "compression_ratio": b["compression_ratio"], "emd_mean": e["mean"], "emd_sem": e.get("sem"),
            "emd_median": e["median"], "emd_qkeras_mean": None, "mse_mean": s["mse_mean"],
            "centroid_shift_cm_mean": s["centroid_shift_cm_mean"], "sum_ratio_mean": s["sum_ratio_mean"],
            "sum_ratio_std": s["sum_ratio_std"], "epochs_run": None, "best_val_loss": None,
            "best_val_emd": None, "selected": True,
        }
        for x in extras:
            row.update(_extra_cells(x, baselines.get(x, {}).get("algorithms", {}).get(name)))
        out.append(row)
    return out


EXTRA_FIELDS = ("emd_mean", "emd_median", "bits_mean", "bits_p99")


def _extra_cells(x: str, s: dict | None) -> dict:
    """EMD and bits of one algorithm on a further data set (bits differ for variable-size words)."""
    if s is None:
        return {f"{f}_{x}": None for f in EXTRA_FIELDS}
    return {f"emd_mean_{x}": s["emd"]["mean"], f"emd_median_{x}": s["emd"]["median"],
            f"bits_mean_{x}": s["bandwidth"]["bits_mean"], f"bits_p99_{x}": s["bandwidth"]["bits_p99"]}


def columns(extras: list[str]) -> tuple[str, ...]:
    return BASE_COLUMNS + tuple(f"{f}_{x}" for x in extras for f in EXTRA_FIELDS)


def _num(v, fmt="{:.3f}") -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return ""
    return fmt.format(v)


def markdown_table(table: list[dict], extras: list[str]) -> str:
    head = ["algorithm", "e-link budget", "bits/BX mean", "bits/BX p99", "e-links (p99)", "over budget",
            "compression", "EMD mean", "EMD median", "EMD QKeras path", "centroid shift [cm]", "sum ratio"]
    head += [h for x in extras for h in (f"bits/BX mean ({x})", f"EMD mean ({x})")]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["--:"] * (len(head) - 1)) + "|"]
    for r in table:
        emd = _num(r["emd_mean"]) + (f" ± {r['emd_sem']:.3f}" if r.get("emd_sem") is not None else "")
        over = r.get("fraction_over_budget")
        cells = [
            r["label"], _num(r.get("elinks"), "{}"), _num(r["bits_mean"], "{:.1f}"), _num(r["bits_p99"], "{:.0f}"),
            _num(r["elinks_p99"], "{}"), "" if over is None else f"{100 * over:.1f} %",
            _num(r["compression_ratio"], "{:.2f}"), emd, _num(r["emd_median"]), _num(r.get("emd_qkeras_mean")),
            _num(r["centroid_shift_cm_mean"]), _num(r["sum_ratio_mean"]),
        ]
        cells += [c for x in extras for c in (_num(r.get(f"bits_mean_{x}"), "{:.1f}"), _num(r.get(f"emd_mean_{x}")))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def pareto_plot(table: list[dict], extras: list[str], path, titles: dict) -> None:
    """Mean EMD versus mean bits per BX, one panel per data set, baselines included.

    Variable-size algorithms carry a bar from the mean to the 99th
    percentile of their bits; the line joins the Pareto-optimal points.
    """
    import matplotlib
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    from ..metrics.plots import pareto_front

    panels = [("", titles.get("eval", "evaluation data"))] + [(x, titles.get(x, x)) for x in extras]
    fig, axes = plt.subplots(1, len(panels), figsize=(7.2 * len(panels), 5.0), squeeze=False)
    for ax, (x, title) in zip(axes[0], panels):
        sfx = f"_{x}" if x else ""
        pts = [(r, r[f"bits_mean{sfx}"], r.get(f"emd_mean{sfx}")) for r in table if r.get(f"emd_mean{sfx}") is not None]
        if not pts:
            ax.set_visible(False)
            continue
        xy = np.array([[bx, y] for _, bx, y in pts])
        span = np.ptp(xy, axis=0) + 1e-9
        placed = []
        for r, bx, y in pts:
            ae = r["kind"] == "autoencoder"
            ax.plot([bx], [y], "o" if ae else "s", color="C0" if ae else "C1", ms=7 if ae else 6, zorder=3)
            p99 = r[f"bits_p99{sfx}"]
            if not ae and p99 > bx + 0.5:
                ax.plot([bx, p99], [y, y], "-", color="C1", alpha=0.5, lw=1.2)
                ax.plot([p99], [y], "|", color="C1", ms=8)
            text = r["label"] if ae else r["label"].split(" (")[0]
            # a label near an earlier one goes below its point instead of above
            crowded = any(abs(bx - px) < 0.12 * span[0] and abs(y - py) < 0.06 * span[1] for px, py in placed)
            placed.append((bx, y))
            ax.annotate(text, (bx, y), textcoords="offset points", xytext=(5, -11 if crowded else 4), fontsize=7.5)
        front = pareto_front(xy)
        order = front[np.argsort(xy[front, 0])]
        ax.step(xy[order, 0], xy[order, 1], where="post", color="C3", alpha=0.5, lw=1.2, label="Pareto front")
        top = max(xy[:, 0].max(), max(r[f"bits_p99{sfx}"] for r, _, _ in pts))
        for k in range(1, int(top // ELINK_BITS_PER_BX) + 2):
            ax.axvline(k * ELINK_BITS_PER_BX, color="0.85", ls=":", lw=0.8, zorder=0)
            ax.text(k * ELINK_BITS_PER_BX, 0.99, f" {k} e-link{'s' if k > 1 else ''}",
                    transform=ax.get_xaxis_transform(), fontsize=7, color="0.5", va="top")
        ax.plot([], [], "o", color="C0", label="autoencoder (golden latents)")
        ax.plot([], [], "s", color="C1", label="non-ML algorithms (bar: mean to 99 % of bits)")
        ax.set_xlabel("bits per bunch crossing (mean)")
        ax.set_ylabel("mean EMD [half trigger-cell pitch]")
        ax.set_title(title, fontsize=10)
        ax.set_xlim(left=0)
        ax.set_ylim(0, 1.18 * xy[:, 1].max())
        ax.grid(alpha=0.25)
        ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    try:
        with atomic_path(path, overwrite=True) as tmp:
            fig.savefig(tmp, dpi=130)
    finally:
        plt.close(fig)


def threshold_budget_table(baselines: dict, dataset: str = "eval") -> str | None:
    main = baselines.get(dataset, {}).get("algorithms", {})
    names = [n for n in BASELINE_ORDER[:2] if n in main and "over_budget" in main[n]]
    if not names:
        return None
    budgets = sorted(main[names[0]]["over_budget"], key=int)
    lines = ["| algorithm | " + " | ".join(f"over {b} e-links ({int(b) * ELINK_BITS_PER_BX} bits)" for b in budgets) + " |",
             "|---|" + "|".join("--:" for _ in budgets) + "|"]
    for n in names:
        ob = main[n]["over_budget"]
        lines.append(f"| {main[n].get('label', n)} | " + " | ".join(f"{100 * ob[b]:.2f} %" for b in budgets) + " |")
    return "\n".join(lines) + "\n"


def write_outputs(out, study, table: list[dict], baselines: dict, results: list[dict], datasets: dict,
                  notes: list[str], command: str, n_points: int) -> None:
    extras = [x for x in datasets if x != "eval"]
    write_text(out / "table.csv", csv_text(table, columns(extras)), overwrite=True)
    write_text(out / "selected.json", selected_json(results), overwrite=True)
    shown = [r for r in table if r.get("selected", True)]
    md = markdown_table(shown, extras)
    write_text(out / "table.md", md, overwrite=True)
    titles = {k: f"{k}: {v['n_modules']:,} modules" for k, v in datasets.items()}
    titles["eval"] = f"{study.name}: {datasets['eval']['n_eval']:,} held-out modules of the study data"
    if any(r.get("emd_mean") is not None for r in shown):
        pareto_plot(shown, extras, out / "pareto.png", titles)
    write_text(out / "report.md", report_text(study, md, baselines, results, datasets, notes, command, n_points,
                                              table), overwrite=True)


def report_text(study, md_table: str, baselines: dict, results: list[dict], datasets: dict, notes: list[str],
                command: str, n_points: int, table: list[dict] | None = None) -> str:
    d = datasets["eval"]
    lines = [f"# Study {study.name}", ""]
    if study.description:
        lines += [study.description, ""]
    lines += [
        f"Made with `{command}` from `{study.path}` (base model config `{study.base_config}`).",
        "",
        f"Data: {d['source']}: {d['n_modules']:,} modules, {d['n_train']:,} for training and "
        f"{d['n_eval']:,} held out for evaluation (split seed {study.data.split_seed}). "
        f"Every point trains at most {study.epochs} epoch{'s' if study.epochs > 1 else ''} in its first "
        f"stage (early stopping on its own validation modules, part of the training split; training "
        f"seed {study.seed}). Per e-link budget the table shows the point with the lowest validation "
        f"EMD; the held-out modules and the further data sets never take part in that choice.",
    ]
    for name, x in datasets.items():
        if name != "eval":
            lines.append(f"Also evaluated on `{name}`: {x['source']}, {x['n_modules']:,} modules.")
    lines += [
        "",
        f"Points finished: {len(results)} of {n_points}.",
        "",
        "## Quality against bandwidth",
        "",
        "Autoencoder rows: what the chip sends (golden-model latent codes and 9-bit module-sum code) "
        "decoded by the float decoder and rescaled to the transmitted sum; its word is a 4-bit header, "
        "the module-sum code and the latents. `EMD QKeras path` is the float QKeras encoder with the "
        "exact module sum. Baselines run on the same modules with the chip's 7-bit charge codes. EMD in "
        "half trigger-cell pitches (mean ± standard error); empty modules are left out. Sum ratio: "
        "output sum / input sum. Rows `chip ...`: the ECON-T's own algorithms bit for bit (modules as "
        "consecutive crossings through the formatter buffer, truncated frames losing their cells), decoded "
        "from the chip's words (`encoder.metrics.chip_baselines`).",
        "",
        md_table,
        "![EMD versus bits per crossing](pareto.png)",
        "",
    ]
    tables = [(name, threshold_budget_table(baselines, name)) for name in datasets]
    tables = [(name, t) for name, t in tables if t]
    if tables:
        lines += ["## Threshold algorithms: crossings over the e-link budget", ""]
        for name, t in tables:
            what = "the evaluation modules" if name == "eval" else f"`{name}`"
            lines += [f"On {what}:", "", t]
    by_id = {r["point_id"]: r for r in (table or []) if r["kind"] == "autoencoder"}
    extra_head = "".join(f" EMD ({x}) |" for x in datasets if x != "eval")
    lines += ["## Points", "",
              "Every trained point: the validation EMD that selects (float model, the run's validation "
              "modules), then the held-out EMD (golden latents) it turned out to have. **Bold**: selected.", "",
              "| point | e-links | settings | validation EMD | held-out EMD |" + extra_head +
              " epochs (kept) | stopped | training [s] | modules/s |",
              "|---|--:|---|--:|--:|" + "--:|" * (len(datasets) - 1) + "--:|---|--:|--:|"]
    for r in sorted(results, key=lambda r: (r.get("elinks") or 0, r["index"])):
        settings = ", ".join(f"`{k}` = {v}" for k, v in r["overrides"].items() if k != "elinks"
                             and not k.startswith("encoder.latent.activation")) or "base config"
        tr, row = r["train"], by_id.get(r["id"], {})
        name = f"**`{r['label']}`**" if row.get("selected") else f"`{r['label']}`"
        extra = "".join(f" {_num(row.get(f'emd_mean_{x}'))} |" for x in datasets if x != "eval")
        stop = str(tr.get("stop_reason") or "").split(" (")[0].replace("|", "/")
        lines.append(f"| {name} | {_num(r.get('elinks'), '{}')} | {settings} | {_num(tr.get('best_val_emd'))} | "
                     f"{_num(row.get('emd_mean'))} |{extra} {tr.get('epochs_run')} ({tr.get('best_epoch')}) | "
                     f"{stop} | {_num(tr.get('train_seconds'), '{:.0f}')} | "
                     f"{_num(tr.get('modules_per_second'), '{:,.0f}')} |")
    lines.append("")
    lines.append("Each point's run, IR and evaluation (metrics, plots, event displays) are in "
                 "`points/<point>/`.")
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"
