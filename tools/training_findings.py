#!/usr/bin/env python3
"""Figures and numbers of docs/training_findings.md from the two studies' outputs.

    python tools/training_findings.py --elinks out/study_elinks --training out/study_training --out docs

Reads each study's points (learning curves in ``points/*/run/history.csv``,
results in ``points/*/result.json``, the table in ``table.csv``), decodes
held-out modules with the 3-e-link runs to measure blur, and writes
``training_findings_curves.png``, ``training_findings_elinks.png`` and
``training_findings_displays.png`` into ``--out``; the numbers are printed
as Markdown tables.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def points(study: Path) -> list[tuple[Path, dict]]:
    out = []
    for d in sorted((study / "points").glob("*")):
        if (d / "result.json").exists():
            out.append((d, json.loads((d / "result.json").read_text())))
    return sorted(out, key=lambda p: p[1]["index"])


def history(d: Path) -> dict:
    with open(d / "run" / "history.csv") as fh:
        rows = list(csv.DictReader(fh))
    return {"epoch": np.array([int(r["epoch"]) for r in rows]),
            "val_emd": np.array([float(r["val_emd"]) for r in rows]),
            "stage": [r["stage"] for r in rows]}


def setting(r: dict) -> str:
    o = {k: v for k, v in r["overrides"].items() if k not in ("elinks", "encoder.latent.activation.bits")}
    if not o:
        return "reference"
    parts = []
    for k, v in o.items():
        k = {"encoder.conv.0.filters": "encoder filters", "decoder.filters": "decoder filters",
             "decoder.extra_layers": "decoder extra layers"}.get(k, k.split(".")[-1])
        if k == "finetune":
            parts.append(f"then {v['loss']} fine-tune")
        elif k == "loss":
            parts.append(str(v))
        else:
            parts.append(f"{k} {v}")
    return ", ".join(parts)


def _short(setting_text: str) -> str:
    return "wide decoder" if setting_text.startswith("decoder filters") else f"{setting_text} loss"


def emd(r: dict, data: str) -> float | None:
    ev = r["evaluations"].get(data)
    return ev["algorithms"]["ae_golden"]["emd"]["mean"] if ev else None


def blur(run_dir: Path, charges: np.ndarray) -> dict:
    """How much decoded charge lands where the input had none, and how spread the output is."""
    from encoder.training.predict import Run
    rec = Run(run_dir).predict(charges)["reconstructed"]
    tot_in, tot_out = charges.sum(1, keepdims=True), rec.sum(1, keepdims=True)
    fin, fout = charges / tot_in, rec / np.where(tot_out > 0, tot_out, 1)
    return {"charge_in_empty_cells": float(np.mean((fout * (charges == 0)).sum(1))),
            "cells_over_1pct_in": float(np.mean((fin > 0.01).sum(1))),
            "cells_over_1pct_out": float(np.mean((fout > 0.01).sum(1))), "rec": rec}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--elinks", type=Path, default=ROOT / "out/study_elinks", help="e-link study directory")
    ap.add_argument("--training", type=Path, default=ROOT / "out/study_training", help="training study directory")
    ap.add_argument("--out", type=Path, default=ROOT / "docs", help="where the figures go")
    ap.add_argument("--modules", type=int, default=5000, help="held-out modules decoded for the blur figures")
    args = ap.parse_args(argv)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from encoder.data import load_data
    from encoder.metrics.plots import event_display
    from encoder.studies.datasets import split

    el = points(args.elinks)
    tr = points(args.training) if args.training.exists() else []
    if not el:
        print(f"{args.elinks}: no finished points", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)

    # 1. learning curves at 3 e-links
    fig, ax = plt.subplots(figsize=(7, 4.2))
    three = [(d, r) for d, r in el + tr if r.get("elinks") == 3]
    for d, r in three:
        h = history(d)
        ax.plot(h["epoch"], h["val_emd"], lw=1.2, label=setting(r))
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation EMD (float model)")
    ax.set_title("3 e-links: validation EMD while training")
    ax.set_ylim(0.8, 2.0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.out / "training_findings_curves.png", dpi=110)
    plt.close(fig)

    # 2. EMD against e-links per loss, with the baselines
    with open(args.elinks / "table.csv") as fh:
        table = list(csv.DictReader(fh))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, (sfx, title) in zip(axes, (("", "synthetic, held out"), ("_cms_ttbar", "CMS ttbar file"))):
        losses = sorted({r["overrides"].get("training.loss", "?") for _, r in el})
        for loss in losses:
            pts = sorted((r["elinks"], emd(r, "eval" if not sfx else "cms_ttbar")) for _, r in el
                         if r["overrides"].get("training.loss") == loss)
            pts = [p for p in pts if p[1] is not None]
            if pts:
                ax.plot(*zip(*pts), "o-", label=f"AE, {loss} loss")
        wide = sorted((r["elinks"], emd(r, "eval" if not sfx else "cms_ttbar")) for _, r in tr
                      if "decoder.filters" in r["overrides"])
        if wide:
            ax.plot(*zip(*wide), "o-", color="C2", label="AE, sinkhorn loss, wide decoder")
        for name, style in (("best_choice", "s--"), ("stc4", "^:")):
            rows = [r for r in table if r["kind"] == "baseline" and r["name"].startswith(name)
                    and r.get(f"emd_mean{sfx}")]
            if name == "stc4":
                rows = rows[:1]
            pts = sorted((int(r["elinks"]) if r["elinks"] else 0, float(r[f"emd_mean{sfx}"])) for r in rows)
            if name == "stc4" and pts:
                ax.axhline(pts[0][1], color="grey", ls=":", label=f"STC4 ({float(rows[0]['bits_mean' + sfx]):.0f} bits)")
            elif pts:
                ax.plot(*zip(*pts), style, color="C3", label="best choice")
        ax.set_xlabel("e-links (32 bits per crossing each)")
        ax.set_ylabel("mean EMD")
        ax.set_xticks([2, 3, 4, 5])
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out / "training_findings_elinks.png", dpi=110)
    plt.close(fig)

    # 3. blur of the 3-e-link models on held-out synthetic modules and on the CMS file
    data = load_data(args.elinks / "data.npz")
    _, ev = split(data.n_modules, 0.2, 0)
    held = data.charges[ev[: args.modules]]
    cms_path = args.elinks / "extra_cms_ttbar.npz"
    cms = load_data(cms_path).charges if cms_path.exists() else None
    print("| 3 e-links | EMD synthetic | EMD CMS | charge in empty cells | cells > 1 % (input -> output) |"
          " validation EMD | epochs (kept) | training [s] |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|")
    shown = {}
    for d, r in three:
        b = blur(d / "run", held)
        shown[setting(r)] = (d, b["rec"])
        t = r["train"]
        cms_emd = emd(r, "cms_ttbar")
        print(f"| {setting(r)} | {emd(r, 'eval'):.3f} | {'' if cms_emd is None else f'{cms_emd:.3f}'} | "
              f"{100 * b['charge_in_empty_cells']:.1f} % | {b['cells_over_1pct_in']:.1f} -> "
              f"{b['cells_over_1pct_out']:.1f} | {t['best_val_emd']:.3f} | {t['epochs_run']} ({t['best_epoch']}) | "
              f"{t.get('train_seconds') or 0:.0f} |")
    wide = next((k for k in shown if k.startswith("decoder filters")), None)
    picks = [k for k in ("telescope", "sinkhorn", wide) if k in shown]
    if len(picks) >= 2:
        busy = int(np.argsort((held > 1).sum(1))[-len(held) // 3])     # a module of typical-to-high occupancy
        for i, idx in enumerate((busy, int(np.argmax(held.max(1) / held.sum(1) > 0.5)))):
            event_display({"input": held[idx], **{f"AE, {_short(k)}": shown[k][1][idx] for k in picks}},
                          args.out / f"training_findings_display{i + 1}.png", overwrite=True,
                          title=f"held-out synthetic module {idx}, 3 e-links")
    if cms is not None:
        print()
        print("CMS file, 3 e-links: charge in empty cells / cells > 1 %")
        for k in picks:
            b = blur(shown[k][0] / "run", cms)
            print(f"- {k}: {100 * b['charge_in_empty_cells']:.1f} %, {b['cells_over_1pct_in']:.1f} -> "
                  f"{b['cells_over_1pct_out']:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
