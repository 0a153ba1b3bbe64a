"""`encoder sim --coverage`: the coverage build, the shard specs, and coverage.* of summary.json."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

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


def prepare(design: Design, shard_dirs: list[Path]) -> dict:
    spec = coverage_spec.spec(design)
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


def collect(design: Design, sim: toolchain.Simulator, shard_dirs: list[Path], run_dir: Path) -> dict:
    spec = json.loads((shard_dirs[0] / "coverage_spec.json").read_text())
    functional = coverage_spec.summarise(spec, hits_of(shard_dirs))
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
