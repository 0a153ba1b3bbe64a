"""Input vectors for a regression: corner cases, saturating inputs, random raw charges, data-file modules.

A vector is one module's raw integer counts (n_cells values of the IR's
charge width), exactly what the design's input port carries. Every vector
has a label saying where it came from, so a mismatch report tells a corner
case from a random draw. Everything takes a seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import golden, inputpath
from ..errors import UserError
from ..ir import EncoderIR


@dataclass
class Vectors:
    counts: np.ndarray          # (N, n_cells) int64
    labels: np.ndarray          # (N,) str

    def __len__(self) -> int:
        return len(self.counts)

    @staticmethod
    def join(parts: list["Vectors"], n_cells: int) -> "Vectors":
        parts = [p for p in parts if len(p)]
        if not parts:
            return Vectors(np.zeros((0, n_cells), dtype=np.int64), np.zeros(0, dtype="<U32"))
        return Vectors(np.concatenate([p.counts for p in parts]).astype(np.int64),
                       np.concatenate([p.labels for p in parts]).astype(str))

    def take(self, index) -> "Vectors":
        return Vectors(self.counts[index], self.labels[index])


def _top(ir: EncoderIR) -> int:
    return (1 << ir.input.charge_bits) - 1


def split_sum(total: int, n_cells: int, top: int, rng: np.random.Generator) -> np.ndarray:
    """Counts (n_cells,) with each cell <= top that add up to exactly ``total``."""
    if total > n_cells * top:
        raise ValueError(f"sum {total} exceeds {n_cells} cells of {top}")
    need = max(1, -(-total // top))
    k = int(rng.integers(need, n_cells + 1)) if total else 0
    counts = np.zeros(n_cells, dtype=np.int64)
    if not k:
        return counts
    cells = rng.choice(n_cells, size=k, replace=False)
    share = rng.multinomial(total, np.full(k, 1.0 / k))
    # Move any excess above the cell maximum to cells that still have room.
    excess = int(np.maximum(share - top, 0).sum())
    share = np.minimum(share, top)
    for i in range(k):
        if not excess:
            break
        room = min(top - int(share[i]), excess)
        share[i] += room
        excess -= room
    counts[cells] = share
    return counts


def corner_cases(ir: EncoderIR, rng: np.random.Generator) -> Vectors:
    """All zero; each cell alone at full scale; all at full scale; module sums at and around every power of two."""
    n, top = ir.input.n_cells, _top(ir)
    rows, labels = [np.zeros(n, dtype=np.int64)], ["corner:all_zero"]
    for i in range(n):
        v = np.zeros(n, dtype=np.int64)
        v[i] = top
        rows.append(v)
        labels.append(f"corner:full_scale_cell{i}")
    rows.append(np.full(n, top, dtype=np.int64))
    labels.append("corner:all_full_scale")
    max_sum = n * top
    for p in range(int(max_sum).bit_length() + 1):
        for s in ((1 << p) - 1, 1 << p, (1 << p) + 1):
            if 1 <= s <= max_sum:
                rows.append(split_sum(s, n, top, rng))
                labels.append(f"corner:sum_2^{p}{'-1' if s < (1 << p) else '+1' if s > (1 << p) else ''}")
    return Vectors(np.array(rows, dtype=np.int64), np.array(labels))


def _candidates(ir: EncoderIR, rng: np.random.Generator, n_random: int = 2048) -> np.ndarray:
    """A pool from which saturating inputs are picked: spikes, pairs, sparse and dense draws."""
    n, bits = ir.input.n_cells, ir.input.charge_bits
    top = _top(ir)
    rows = []
    # One cell alone: its normalised code runs from 1.0 to just under 2.0 (saturating the input code).
    for i in range(n):
        for v in (top, (top + 1) // 2, 3 << max(bits - 3, 0)):
            r = np.zeros(n, dtype=np.int64)
            r[i] = min(v, top)
            rows.append(r)
    # Two cells sharing the sum evenly or 3:1 put both codes near the top of [0, 1].
    for _ in range(4 * n):
        i, j = rng.choice(n, size=2, replace=False)
        r = np.zeros(n, dtype=np.int64)
        base = int(rng.integers(1, top + 1))
        r[i], r[j] = base, int(base * rng.choice([1.0, 1 / 3, 0.5]))
        rows.append(r)
    pool = np.array(rows, dtype=np.int64)
    return np.concatenate([pool, random_charges(ir, n_random, rng).counts])


def saturating(ir: EncoderIR, rng: np.random.Generator) -> tuple[Vectors, dict]:
    """For every output of every layer, the pool input that drives it highest.

    The first layer is linear in the normalised inputs, whose sum lies in
    [1, 2): its maximum sits at a single cell holding the whole sum, and the
    pool has every such spike, so what the first layer can reach, the pool
    reaches. "Highest" is judged on the accumulator, before the activation:
    an output that a ReLU holds at zero for every pool input still gets the
    input that brings it nearest to leaving zero (judged on the output code,
    every input ties at zero and the first one would be taken). An output
    that reaches the top code gets an input that puts it there. Returns the
    vectors and a tally: how many outputs of each layer reach the top code
    of their format (saturate) with these inputs.
    """
    pool = _candidates(ir, rng)
    res = golden.run(ir, counts=pool, keep=True)
    accs = _all_accumulators(ir, pool)
    label: dict[int, str] = {}          # pool row -> label; a saturating target wins over a mere maximum
    tally = {}
    first = 0
    for layer, out in zip(ir.mac_layers, res.layer_outputs):
        top = layer.output.format.max_code
        reached = out.max(axis=0) >= top
        best = np.where(reached, out.argmax(axis=0), accs[:, first:first + out.shape[1]].argmax(axis=0))
        first += out.shape[1]
        tally[layer.name] = {"outputs": int(out.shape[1]), "saturated": int(reached.sum())}
        for j in range(out.shape[1]):
            row = int(best[j])
            if reached[j] and not label.get(row, "").startswith("saturate:"):
                label[row] = f"saturate:{layer.name}[{j}]"
            else:
                label.setdefault(row, f"max:{layer.name}[{j}]")
    # The input codes themselves saturate when one cell holds (almost) the whole sum.
    in_top = ir.input.format.max_code
    hits = np.flatnonzero((res.input_codes.reshape(len(pool), -1) >= in_top).any(axis=1))
    if len(hits):
        label.setdefault(int(hits[0]), "saturate:input")
    rows = sorted(label)
    return (Vectors(pool[rows], np.array([label[r] for r in rows])),
            {"layers": tally, "input_saturated": bool(len(hits))})


def _all_accumulators(ir: EncoderIR, counts: np.ndarray) -> np.ndarray:
    """(N, outputs of every layer) accumulators of the golden model, layer after layer."""
    from ..golden.model import accumulators, input_codes, mac_layer
    x = input_codes(ir, counts)[0].reshape(len(counts), -1)
    frac = ir.input.format.frac
    out = []
    for layer in ir.mac_layers:
        out.append(accumulators(layer, x, frac)[0])
        x = mac_layer(layer, x, frac)
        frac = layer.output.format.frac
    return np.concatenate(out, axis=1)


def searched(ir: EncoderIR, pool: np.ndarray, rng: np.random.Generator, generations: int = 40,
             offspring: int = 16) -> np.ndarray:
    """For every accumulator of every layer, an input found by a local search that drives it highest,
    and one that drives it lowest: (2 x accumulators, n_cells) counts.

    A pool of spikes and random draws finds the first layer's extremes (it is linear in inputs whose
    sum is fixed), but a later layer sees them through a ReLU and a requantizer: its extremes need
    several cells set just so. Each generation mutates every target's best input (a cell redrawn,
    zeroed, part of its charge moved to another cell, or the module scaled) and keeps a mutant that
    beats it, judged by the golden model's accumulators.
    """
    top, n = _top(ir), ir.input.n_cells
    acc = _all_accumulators(ir, pool)
    t = acc.shape[1]
    best = np.concatenate([pool[acc.argmax(axis=0)], pool[acc.argmin(axis=0)]])
    score = np.concatenate([acc.max(axis=0), -acc.min(axis=0)])
    goal = np.repeat(np.arange(2 * t), offspring)
    rows = np.arange(len(goal))
    for _ in range(generations):
        cand = np.repeat(best, offspring, axis=0)
        op = rng.integers(0, 4, len(cand))
        i, j = rng.integers(0, n, len(cand)), rng.integers(0, n, len(cand))
        v = cand[rows, i]
        cand[rows, i] = np.where(op == 0, rng.integers(0, top + 1, len(cand)), np.where(op == 2, 0, v))
        move = np.flatnonzero(op == 1)
        part = (v[move] * rng.random(len(move))).astype(np.int64)
        cand[move, i[move]] -= part
        cand[move, j[move]] = np.minimum(cand[move, j[move]] + part, top)
        scale = np.flatnonzero(op == 3)
        factor = rng.choice([0.5, 0.75, 1.25, 2.0], len(scale))
        cand[scale] = np.minimum((cand[scale] * factor[:, None]).astype(np.int64), top)
        a = _all_accumulators(ir, cand)
        own = np.where(goal < t, a[rows, goal % t], -a[rows, goal % t]).reshape(2 * t, offspring)
        pick = own.argmax(axis=1)
        got = own[np.arange(2 * t), pick]
        better = got > score
        best[better] = cand[np.arange(2 * t) * offspring + pick][better]
        score = np.maximum(score, got)
    return best


def directed(ir: EncoderIR, rng: np.random.Generator, n_random: int = 4096) -> tuple[Vectors, dict]:
    """Coverage-directed inputs (``encoder sim --coverage``): for every output of every layer, the
    pool input that drives its accumulator furthest below zero (ReLU on a negative sum), one whose
    accumulator sits exactly half-way between two output codes (a rounding tie) and one that drives
    it past its format's top. The pool holds spikes, pairs, random and corner inputs and, per
    accumulator, the highest and lowest inputs ``searched`` finds. The golden model's
    accumulators pick them; whether the design shows the bin is measured on the design.
    Returns the vectors and, per layer, the outputs the pool drives negative, to a tie and past the
    format's top."""
    from ..golden.model import accumulators, input_codes, mac_layer
    pool = np.concatenate([_candidates(ir, rng, n_random), corner_cases(ir, rng).counts])
    pool = np.concatenate([pool, searched(ir, pool, rng)])
    x = input_codes(ir, pool)[0].reshape(len(pool), -1)
    frac = ir.input.format.frac
    label: dict[int, str] = {}
    reach = {}
    for layer in ir.mac_layers:
        acc, acc_frac = accumulators(layer, x, frac)
        relu = layer.activation == "relu"
        act = np.maximum(acc, 0) if relu else acc
        shift = acc_frac - layer.output.format.frac
        got = {"outputs": int(acc.shape[1]), "relu_negative": [], "rounding_tie": [], "saturation_top": []}
        # Before the clamp (floor rounding: a tie rounded up lands one code higher at most).
        scaled = act >> shift if shift > 0 else act << -shift
        for j in range(acc.shape[1]):
            if relu and acc[:, j].min() < 0:
                label.setdefault(int(acc[:, j].argmin()), f"cover:relu_negative:{layer.name}[{j}]")
                got["relu_negative"].append(j)
            if shift > 0:
                ties = np.flatnonzero((act[:, j] & ((1 << shift) - 1)) == 1 << (shift - 1))
                if len(ties):
                    label.setdefault(int(ties[0]), f"cover:rounding_tie:{layer.name}[{j}]")
                    got["rounding_tie"].append(j)
            if scaled[:, j].max() > layer.output.format.max_code:
                label.setdefault(int(scaled[:, j].argmax()), f"cover:saturation_top:{layer.name}[{j}]")
                got["saturation_top"].append(j)
        reach[layer.name] = got
        x = mac_layer(layer, x, frac)
        frac = layer.output.format.frac
    rows = sorted(label)
    return Vectors(pool[rows], np.array([label[r] for r in rows])), reach


VECTORISED_FROM = 50_000        # random sets larger than this draw their sparse family vectorised


def random_charges(ir: EncoderIR, n: int, rng: np.random.Generator) -> Vectors:
    """Raw counts from four families: uniform, sparse showers, log-uniform, small sums."""
    cells, bits = ir.input.n_cells, ir.input.charge_bits
    top = _top(ir)
    kinds = rng.integers(0, 4, n)
    out = np.zeros((n, cells), dtype=np.int64)
    # uniform over the whole input range
    m = kinds == 0
    out[m] = rng.integers(0, top + 1, (int(m.sum()), cells))
    # sparse: a few cells hit, log-uniform amplitudes (shower-like occupancy)
    m = np.flatnonzero(kinds == 1)
    occ = np.minimum(rng.geometric(0.25, len(m)), cells)
    if n <= VECTORISED_FROM:
        for row, k in zip(m, occ):
            hit = rng.choice(cells, size=int(k), replace=False)
            out[row, hit] = np.minimum(np.exp2(rng.uniform(0, bits, int(k))).astype(np.int64), top)
    else:
        # Same distribution in one go (bulk runs: a million vectors would spend 13 s in the loop above,
        # which stays for smaller sets so that their vectors do not change): the k cells of lowest
        # random key are the k distinct cells hit.
        rank = rng.random((len(m), cells)).argsort(axis=1).argsort(axis=1)
        amp = np.minimum(np.exp2(rng.uniform(0, bits, (len(m), cells))).astype(np.int64), top)
        out[m] = np.where(rank < occ[:, None], amp, 0)
    # log-uniform on every cell with a per-module scale
    m = kinds == 2
    scale = rng.uniform(1, bits, (int(m.sum()), 1))
    out[m] = np.minimum(np.exp2(rng.uniform(0, 1, (int(m.sum()), cells)) * scale).astype(np.int64) - 1, top)
    # small sums, where normalisation shifts left
    m = kinds == 3
    out[m] = rng.integers(0, min(16, top + 1), (int(m.sum()), cells))
    names = np.array(["random:uniform", "random:sparse", "random:loguniform", "random:small"])
    return Vectors(out, names[kinds])


def from_data(ir: EncoderIR, path: str | Path, n: int, rng: np.random.Generator) -> Vectors:
    """n modules of a data file (charges in MIPs -> counts as the chip's input path makes them)."""
    from ..data import load_data
    data = load_data(path)
    if data.charges.shape[1] != ir.input.n_cells:
        raise UserError(f"{path}: {data.charges.shape[1]} cells per module, the design expects {ir.input.n_cells}")
    if data.n_modules == 0:
        raise UserError(f"{path}: no modules")
    rows = rng.choice(data.n_modules, size=n, replace=n > data.n_modules)
    try:
        counts = inputpath.to_counts(data.charges[rows], ir.input.counts_per_mip, ir.input.charge_bits).counts
    except ValueError as exc:
        raise UserError(f"{path}: {exc}") from None
    return Vectors(counts, np.array([f"data:{r}" for r in rows]))


def regression_set(ir: EncoderIR, n: int, seed: int, data: str | Path | None = None,
                   coverage: bool = False, reloaded: list[EncoderIR] = ()) -> tuple[Vectors, dict]:
    """Corner cases and saturating inputs (with ``coverage`` also the coverage-directed ones), then
    data modules and random charges up to n, shuffled.

    The coverage-directed inputs are picked for ``ir`` and for each weight set in ``reloaded``
    (loaded mid-run), twice each: where a vector lands against the reloads is random, and a tie
    found for one weight set is rarely a tie for another.
    The fixed part is always included; the total is max(n, fixed part).
    """
    rng = np.random.default_rng(seed)
    corners = corner_cases(ir, rng)
    sat, tally = saturating(ir, rng)
    # A generator of its own: the other vectors stay those of a run without --coverage (fewer random ones).
    cover, reach = Vectors.join([], ir.input.n_cells), None
    if coverage:
        sets = [directed(m, np.random.default_rng([seed, 3, k])) for k, m in enumerate([ir, *reloaded])]
        reach = sets[0][1]
        cover = Vectors.join([v for v, _ in sets for _ in range(2)], ir.input.n_cells)
    fixed = len(corners) + len(sat) + len(cover)
    rest = max(n - fixed, 0)
    parts = [corners, sat, cover]
    if data is not None:
        n_data = rest - rest // 2
        parts += [from_data(ir, data, n_data, rng), random_charges(ir, rest - n_data, rng)]
    else:
        parts.append(random_charges(ir, rest, rng))
    vec = Vectors.join(parts, ir.input.n_cells)
    order = rng.permutation(len(vec))
    info = {"vectors": len(vec), "corner_cases": len(corners), "saturating": len(sat), "saturation": tally,
            **({"coverage_directed": len(cover), "directed_reach": reach} if coverage else {}),
            "data": str(data) if data is not None else None}
    return vec.take(order), info
