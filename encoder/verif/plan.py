"""Shard plans: which vectors a simulator process drives, with what gaps, and which events between them.

Timing: vectors go in bursts back to back (initiation interval 1) with
random idle gaps between bursts. Events: a reset asserted while vectors are
in flight, and for programmable designs a load of the second weight set in
the middle of the stream. Every shard gets both, so every shard is a
complete test.

Designs with the e-link framing block also get a BX-counter reset flag per
vector (bx_reset, driven with valid_in; the drivers also raise it on a few
idle cycles, which the counter takes as well): set on the first vector of the
shard and the first after each reset event, so every stretch between design
resets starts from a known counter, and on seeded random vectors (about
one in ``BX_RESET_EVERY``), so the counter both restarts mid-stream and
wraps past 15. They also get ``FRAMING_WRITES`` writes of the framing
registers (e-link count and latent mask) at random points: the testbench
makes them while the vectors stream on, so frames of BXs on either side of
each write, and of BXs in flight during it, are checked against the value in
force when each BX reaches the framing block.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .design import Design, Framing
from .stimulus import Vectors

MAX_BURST = 64
MAX_GAP = 7
BX_RESET_EVERY = 32
LIVE_RELOAD_EVERY = 250     # vectors per live reload (shadow-bank designs), at least MIN_LIVE_RELOADS a shard
MIN_LIVE_RELOADS = 3
FRAMING_WRITES = 3


@dataclass
class ShardPlan:
    shard: int
    ids: np.ndarray                 # vector ids (positions in the whole regression set)
    vectors: Vectors
    gaps: np.ndarray                # idle cycles before each vector
    events: list[dict] = field(default_factory=list)
    seed: int = 0
    bx_reset: np.ndarray | None = None      # per vector, designs with framing only

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


def bx_resets_for(n: int, events: list[dict], rng: np.random.Generator) -> np.ndarray:
    """BX-counter reset flags: the first vector and random ones.

    None is forced after a mid-stream design reset: the counter must restart
    from the reset itself, and a counter that ignored ``rst`` would go unseen
    if a BX-counter reset always followed.
    """
    flags = rng.random(n) < 1.0 / BX_RESET_EVERY
    if n:
        flags[0] = True
    return flags.astype(np.int64)


def framing_writes_for(n: int, fr: Framing, rng: np.random.Generator) -> list[dict]:
    """Events writing a new e-link count and latent mask before random vectors.

    Counts: mostly 1..N (the first write one other than the reset value), now and then 0 (nothing
    sent) and, where the register has room, a count above N (all N sent). Masks: all ones, or
    random with a third to nine tenths of the bits kept.
    """
    if n < 8:
        return []
    top = (1 << fr.count_bits) - 1
    full = (1 << fr.mask_bits) - 1
    events = []
    spots = sorted(int(v) for v in rng.choice(np.arange(1, n), size=FRAMING_WRITES, replace=False))
    for k, before in enumerate(spots):
        r = rng.random()
        if k == 0 and fr.elinks > 1:
            count = int(rng.choice([c for c in range(1, fr.elinks + 1) if c != fr.count_reset]))
        elif r < 0.15:
            count = 0
        elif r < 0.3 and top > fr.elinks:
            count = int(rng.integers(fr.elinks + 1, top + 1))
        else:
            count = int(rng.integers(1, fr.elinks + 1))
        if rng.random() < 0.3:
            mask = full
        else:
            keep = rng.random(fr.mask_bits) < rng.uniform(0.33, 0.9)
            mask = sum(1 << int(b) for b in np.flatnonzero(keep))
        events.append({"before": before, "kind": "framing", "elinks": count, "latent_mask": f"0x{mask:x}"})
    return events


def split(vectors: Vectors, shards: int, seed: int, *, programmable: bool, n_models: int,
          with_events: bool = True, framing: bool | Framing | None = False,
          live_reload: bool = False) -> list[ShardPlan]:
    """``framing``: the design's framing block (or True): BX-counter reset flags, and with a
    ``Framing`` and events, writes of its registers mid-stream. ``live_reload``: the design has
    shadow banks; weight sets are reloaded while vectors flow, every ``LIVE_RELOAD_EVERY`` vectors
    (at least ``MIN_LIVE_RELOADS`` a shard), alternating the two sets."""
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
            if programmable and n_models > 1 and not live_reload:
                events.append({"before": int(rng.integers(m // 2 + 1, 3 * m // 4 + 1)), "kind": "load", "model": 1})
            elif programmable and n_models > 1:
                n_loads = max(MIN_LIVE_RELOADS, m // LIVE_RELOAD_EVERY)
                for j in range(n_loads):
                    before = int(j * m / n_loads) + int(rng.integers(1, max(2, m // (4 * n_loads))))
                    events.append({"before": min(before, m - 1), "kind": "load", "model": (j + 1) % 2})
        plan = ShardPlan(k, ids, vectors.take(ids), gaps_for(m, rng), events, seed=int(rng.integers(0, 2**31)))
        if framing:
            # A generator of its own: gaps, events and seeds stay those of the same design without framing.
            plan.bx_reset = bx_resets_for(m, events, np.random.default_rng([seed, k, 1]))
            if with_events and isinstance(framing, Framing):
                plan.events += framing_writes_for(m, framing, np.random.default_rng([seed, k, 2]))
        plans.append(plan)
    return plans


PREAMBLE_LABEL = "replay:bx-counter-preamble"


def replay_plan(vectors: Vectors, ids: np.ndarray, gaps: np.ndarray, models: np.ndarray,
                bx_reset: np.ndarray | None = None, bx_field: np.ndarray | None = None,
                framing: list[tuple[int, int] | None] | None = None,
                framing_reset: tuple[int, int] | None = None) -> ShardPlan:
    """One shard re-running saved vectors, grouped by the weight set each ran under.

    ``bx_reset`` (framing): the flags the vectors ran with. ``bx_field``: for
    each vector whose frame failed, the BX-counter field its frame should
    have carried (-1 for the others). A frame's counter depends on the BXs
    before it, which the failures file does not hold, so such a vector is
    preceded by all-zero preamble vectors (id -1, not counted as replayed
    vectors): one with bx_reset, then as many as bring the counter to that
    field again, back to back (one crossing each), and the vector right after
    them (its own gap is not replayed: idle crossings would count too).

    ``framing``: for each vector whose frame failed, the (e-link count, latent mask) it was framed
    with (None for the others); ``framing_reset``: the registers' reset values. Where a vector needs
    other values than those in force, a framing write settles before its rows (``settle``: the
    testbench waits for the write and its read-back before the next vector).
    """
    order = np.argsort(models, kind="stable")
    current = framing_reset
    framing_events = []
    n_cells = vectors.counts.shape[1]
    rows: list[tuple[int, np.ndarray, str, int, int, int]] = []      # id, counts, label, gap, model, bx_reset
    for i in order.tolist():
        flag = int(bx_reset[i]) if bx_reset is not None else 0
        f = int(bx_field[i]) if bx_field is not None else -1
        want = framing[i] if framing is not None else None
        if want is not None and want != current:
            framing_events.append({"before": len(rows), "kind": "framing", "elinks": int(want[0]),
                                   "latent_mask": f"0x{int(want[1]):x}", "settle": True})
            current = want
        if bx_reset is not None and 0 <= f < 16 and not flag:
            zero = np.zeros(n_cells, dtype=np.int64)
            # The reset BX sends 31, the k-th BX after it k (mod 16): f - 1 more BXs, then the vector.
            rows += [(-1, zero, PREAMBLE_LABEL, 0, int(models[i]), int(k == 0)) for k in range((f - 1) % 16 + 1)]
            gap = 0
        else:
            gap = int(gaps[i])
        rows.append((int(ids[i]), vectors.counts[i], str(vectors.labels[i]), gap, int(models[i]), flag))
    row_models = np.array([r[4] for r in rows])
    events = []
    for m in np.unique(row_models):
        first = int(np.flatnonzero(row_models == m)[0])
        if m != 0 or first != 0:
            events.append({"before": first, "kind": "load", "model": int(m)})
    events += framing_events
    vec = Vectors(np.array([r[1] for r in rows], dtype=np.int64), np.array([r[2] for r in rows]))
    return ShardPlan(0, np.array([r[0] for r in rows]), vec, np.array([r[3] for r in rows], dtype=np.int64),
                     events, bx_reset=None if bx_reset is None else np.array([r[5] for r in rows], dtype=np.int64))


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
    extra = {} if plan.bx_reset is None else {"bx_reset": plan.bx_reset}
    np.savez(shard_dir / "plan.npz", ids=plan.ids, counts=plan.vectors.counts,
             labels=plan.vectors.labels.astype(str), gaps=plan.gaps, **extra)
