"""`encoder sim --coverage`: the coverage build, the shard specs, and coverage.* of summary.json."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

from . import code_coverage, coverage_spec, toolchain
from .design import Design

# Line and toggle points, and every signal public so that the coverage monitor can read the
# requantizers and the valid pipeline (the normal build makes the top-level ports public only).
VERILATOR_COVERAGE_ARGS = ("--coverage-line", "--coverage-toggle", "--public-flat-rw")


def coverage_simulator(sim: toolchain.Simulator) -> toolchain.Simulator:
    """The simulator as a coverage build needs it (Verilator: other build arguments, other cache key)."""
    if sim.name != "verilator":
        return sim
    return replace(sim, build_args=tuple(sim.build_args) + VERILATOR_COVERAGE_ARGS)


def framing_writes(design: Design, n: int, rng: np.random.Generator) -> list[dict]:
    """Framing-register writes that reach every e-link count the register holds (above the e-links
    too) and, for every latent, a mask that sends it, one that masks it and one that keeps part of
    it, plus the zero mask: the bins the plan's few random writes leave to chance."""
    fr = design.framing
    if fr is None or n < 2:
        return []
    lat = design.port("out_latents")
    w, n_lat = lat.element_width, lat.fields
    full = (1 << (w * n_lat)) - 1
    masks = [0]
    for j in range(n_lat):
        field = ((1 << w) - 1) << (w * j)
        low_half = ((1 << max(w // 2, 1)) - 1) << (w * j)
        masks += [full & ~field, (full & ~field) | low_half]
    counts = list(range(1 << fr.count_bits))
    k = max(len(masks), len(counts))
    spots = np.sort(rng.choice(np.arange(1, n), size=min(k, n - 1), replace=False))
    return [{"before": int(b), "kind": "framing", "elinks": counts[i % len(counts)],
             "latent_mask": f"0x{masks[i % len(masks)] & ((1 << fr.mask_bits) - 1):x}"}
            for i, b in enumerate(spots)]


def extend_plans(plans: list, design: Design, seed: int) -> None:
    """The coverage run's extra framing writes, spread over the shards' vectors (seeded)."""
    for p in plans:
        p.events += framing_writes(design, len(p.ids), np.random.default_rng([seed, p.shard, 4]))


def prepare(design: Design, shard_dirs: list[Path], ir=None) -> dict:
    spec = coverage_spec.spec(design, ir)
    text = json.dumps(spec)
    for d in shard_dirs:
        (d / "coverage_spec.json").write_text(text)
    return spec


def hits_of(shard_dirs: list[Path]) -> Counter:
    total: Counter = Counter()
    for d in shard_dirs:
        f = Path(d) / "coverage.json"
        if f.is_file():
            total.update(json.loads(f.read_text())["hits"])
    return total


def collect(design: Design, sim: toolchain.Simulator, shard_dirs: list[Path], run_dir: Path,
            reach: dict | None = None) -> dict:
    spec = json.loads((shard_dirs[0] / "coverage_spec.json").read_text())
    functional = coverage_spec.summarise(spec, hits_of(shard_dirs), reach)
    if sim.name == "verilator":
        dats = [d / "coverage.dat" for d in shard_dirs if (d / "coverage.dat").is_file()]
        if dats:
            points = code_coverage.merge(dats, run_dir / "merged.dat")
            code = {"measured": True, "merged_from": len(dats), "merged_file": str(run_dir / "merged.dat"),
                    **code_coverage.report(points)}
        else:
            code = {"measured": False, "reason": "no coverage.dat written by the shards", **_none()}
    else:
        code = {"measured": False, "reason": "Icarus has no line or toggle coverage: functional coverage only "
                                            "(use --sim verilator)", **_none()}
    return {"functional": functional, "code": code}


def _none() -> dict:
    return {"line_pct": None, "toggle_pct": None, "target_pct": code_coverage.TARGET_PCT, "pass": None,
            "per_module": {}}


def table(cov: dict) -> list[str]:
    return coverage_spec.table(cov["functional"]) + code_coverage.table(cov["code"])
