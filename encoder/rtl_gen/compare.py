"""Two synthesis reports side by side: what one design saves against a baseline.

The typical pair is the same trained weights generated twice, once with the
chip's arithmetic (``encoder export --arithmetic econt``: truncated inputs,
products floored before the sum) and once with QKeras' (exact products,
round half to even): ``encoder synth CHIP_DIR --baseline QKERAS_DIR`` says
what the chip's rules save in area and depth.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import UserError
from ..inputs import read_json

FIGURES = (("transistors", "estimated transistors"), ("cells", "cells"), ("flip_flops", "flip-flops"),
           ("gate_levels", "gate levels"))


def read_report(path: str | Path) -> dict:
    """A synth.json, given as the file, its report directory, or a design directory holding synth/."""
    p = Path(path)
    for cand in (p, p / "synth.json", p / "synth" / "synth.json"):
        if cand.is_file():
            rep = read_json(cand, "synthesis report")
            if not isinstance(rep, dict) or "transistors" not in rep:
                raise UserError(f"{cand}: not a synthesis report from `encoder synth` (no transistors)")
            return rep
    raise UserError(f"{p}: no synthesis report (synth.json) there; run `encoder synth` on it first")


def _design_facts(report: dict) -> dict:
    """Arithmetic and weight mode from the design's manifest, when the design is still there."""
    m = Path(report.get("design", "")) / "manifest.json"
    if m.is_file():
        try:
            man = json.loads(m.read_text())
            return {"arithmetic": man.get("arithmetic"), "weights": man.get("weights"), "ir_name": man.get("ir_name")}
        except json.JSONDecodeError:
            pass
    return {"arithmetic": None, "weights": report.get("weights"), "ir_name": None}


def compare(report: dict, baseline: dict) -> dict:
    """Figures of both and the saving (baseline minus design; positive = smaller than the baseline)."""
    rows = {}
    for key, _ in FIGURES:
        a, b = report.get(key), baseline.get(key)
        if a is None or b is None:
            continue
        rows[key] = {"design": a, "baseline": b, "saved": b - a,
                     "saved_percent": (100.0 * (b - a) / b) if b else None}
    return {"design": {"path": report.get("design"), **_design_facts(report)},
            "baseline": {"path": baseline.get("design"), **_design_facts(baseline)},
            "figures": rows}


def to_text(cmp: dict) -> str:
    d, b = cmp["design"], cmp["baseline"]

    def who(x):
        extra = ", ".join(f"{k} {x[k]}" for k in ("arithmetic", "weights") if x.get(k))
        return f"{x['path']}" + (f" ({extra})" if extra else "")

    lines = [f"Design:   {who(d)}", f"Baseline: {who(b)}", "",
             f"{'':24} {'design':>14} {'baseline':>14} {'saved':>14} {'saved %':>8}"]
    for key, label in FIGURES:
        r = cmp["figures"].get(key)
        if r is None:
            continue
        pct = f"{r['saved_percent']:.1f}" if r["saved_percent"] is not None else "-"
        lines.append(f"{label:24} {r['design']:>14,} {r['baseline']:>14,} {r['saved']:>14,} {pct:>8}")
    return "\n".join(lines) + "\n"
