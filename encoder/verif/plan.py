"""Shard plans: which vectors a simulator process drives, with what gaps, and which events between them.

Timing: vectors go in bursts back to back (initiation interval 1) with
random idle gaps between bursts. Events: a reset asserted while vectors are
in flight, and for programmable designs a load of the second weight set in
the middle of the stream. Every shard gets both, so every shard is a
complete test.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .design import Design
from .stimulus import Vectors

MAX_BURST = 64
MAX_GAP = 7


@dataclass
class ShardPlan:
    shard: int
    ids: np.ndarray                 # vector ids (positions in the whole regression set)
    vectors: Vectors
    gaps: np.ndarray                # idle cycles before each vector
    events: list[dict] = field(default_factory=list)
    seed: int = 0

    def __len__(self) -> int:
        return len(self.ids)


def gaps_for(n: int, rng: np.random.Generator) -> np.ndarray:
    """Bursts of 1..64 back-to-back vectors separated by 1..7 idle cycles (now and then 20-40)."""
    gaps = np.zeros(n, dtype=np.int64)
    i = int(rng.integers(1, MAX_BURST + 1))
    while i < n:
        gaps[i] = int(rng.integers(20, 41)) if rng.random() < 0.05 else int(rng.integers(1, MAX_GAP + 1))
        i += int(rng.integers(1, MAX_BURST + 1))
    return gaps


def split(vectors: Vectors, shards: int, seed: int, *, programmable: bool, n_models: int,
          with_events: bool = True) -> list[ShardPlan]:
    n = len(vectors)
    shards = max(1, min(shards, n)) if n else 1
    bounds = np.linspace(0, n, shards + 1).astype(int)
    plans = []
    for k in range(shards):
        rng = np.random.default_rng([seed, k])
        lo, hi = bounds[k], bounds[k + 1]
        ids = np.arange(lo, hi)
        m = hi - lo
        events = []
        if with_events and m >= 4:
            events.append({"before": int(rng.integers(m // 4, m // 2 + 1)), "kind": "reset"})
            if programmable and n_models > 1:
                events.append({"before": int(rng.integers(m // 2 + 1, 3 * m // 4 + 1)), "kind": "load", "model": 1})
        plans.append(ShardPlan(k, ids, vectors.take(ids), gaps_for(m, rng), events,
                               seed=int(rng.integers(0, 2**31))))
    return plans


def replay_plan(vectors: Vectors, ids: np.ndarray, gaps: np.ndarray, models: np.ndarray) -> ShardPlan:
    """One shard re-running saved vectors, grouped by the weight set each ran under."""
    order = np.argsort(models, kind="stable")
    events = []
    for m in np.unique(models):
        first = int(np.flatnonzero(models[order] == m)[0])
        if m != 0 or first != 0:
            events.append({"before": first, "kind": "load", "model": int(m)})
    return ShardPlan(0, ids[order], vectors.take(order), gaps[order], events)


def write(plan: ShardPlan, shard_dir: Path, design: Design, models: list[dict], run_dir: Path,
          simulator: str, replay: bool = False) -> None:
    """plan.json + plan.npz; models stored inside the run are named relative to the shard folder."""
    shard_dir.mkdir(parents=True, exist_ok=True)
    rel = []
    for m in models:
        p = Path(m["path"])
        if p.is_relative_to(run_dir):
            p = Path(os.path.relpath(p, shard_dir))
        rel.append({**m, "path": str(p)})
    meta = {"shard": plan.shard, "seed": plan.seed, "simulator": simulator, "design": design.to_dict(),
            "models": rel, "events": plan.events, "replay": replay}
    (shard_dir / "plan.json").write_text(json.dumps(meta, indent=1))
    np.savez(shard_dir / "plan.npz", ids=plan.ids, counts=plan.vectors.counts,
             labels=plan.vectors.labels.astype(str), gaps=plan.gaps)
