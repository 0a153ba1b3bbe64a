"""Tight bounds of a second-layer neuron's accumulator: a mixed-integer program, branch and bound.

encoder.verify.reach bounds the second layer through linear relaxations of the first layer's
ReLUs (a chord for every ReLU whose sign is undecided), which is sound but can be loose by
thousands of accumulator units. Here the same question - the highest (or lowest) accumulator
of one second-layer output over every input the input path can produce - is posed exactly and
handed to HiGHS (scipy.optimize.milp), whose branch and bound splits on the undecided ReLUs:

- the input cell codes are integers in [0, max code], their sum at most the input path's bound
  (the polytope of encoder.verify.reach._input_bound, which holds every real input);
- each first-layer accumulator is the affine function of the codes that the golden model gives
  (encoder.verify.reach._affine; products rounded one by one are not affine: no bound);
- its ReLU is exact (one binary per undecided neuron, big-M from the sound first-layer range),
  the requantizer's shift is an integer quotient with its remainder bounded (``floor``,
  ``half_up``; ``half_even`` lets a tie go either way, a superset) and the top clamp is exact
  (one binary where the clamp can act); saturation only (a wrap has no such model: no bound);
- the second-layer accumulator is affine in the first layer's codes.

What is used is the solver's *dual* bound (``mip_dual_bound``), which holds whether or not the
search finished in its time limit; HiGHS works in floating point with tolerances of 1e-6 or so
relative, so the bound is widened by a margin of 1 + 1e-6 * |bound| accumulator units before it
is rounded outwards. The solver's own best input (``witness``) is a point of the polytope, so the
golden model's accumulator there is a value the bound must cover (tests check it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ir.schema import EncoderIR, FlattenLayer
from .reach import LayerReach, _affine, _input_bound, reach


@dataclass
class Bound:
    value: int                 # the sound bound, rounded outwards
    exact: bool                # the search finished (the bound is the optimum, up to the margin)
    witness: np.ndarray        # the solver's best cell codes (a point of the input polytope)
    witness_value: float       # its objective value as the solver computed it
    seconds: float


class _Program:
    """Columns (variables) and rows (constraints) of one MILP, built one at a time."""

    def __init__(self):
        self.lo, self.hi, self.integer = [], [], []
        self.rows, self.row_lo, self.row_hi = [], [], []

    def var(self, lo: float, hi: float, integer: bool = False) -> int:
        self.lo.append(lo)
        self.hi.append(hi)
        self.integer.append(1 if integer else 0)
        return len(self.lo) - 1

    def row(self, terms: dict[int, float], lo: float = -np.inf, hi: float = np.inf) -> None:
        self.rows.append(terms)
        self.row_lo.append(lo)
        self.row_hi.append(hi)


def _layers(ir: EncoderIR):
    """The first two MAC layers, or None for an encoder of one."""
    mac = [lay for lay in ir.layers if not isinstance(lay, FlattenLayer)]
    return (mac[0], mac[1]) if len(mac) >= 2 else None


def model_of(ir: EncoderIR, reaches: list[LayerReach] | None = None):
    """(program, cell code columns, first-layer code columns, second-layer affine map (coefficients,
    constant)) or None when the first two layers have no exact model here (see the module doc)."""
    if _layers(ir) is None:
        return None
    first, second = _layers(ir)
    reaches = reaches if reaches is not None else reach(ir)
    r1 = reaches[0]
    cells, cap, total = _input_bound(ir)
    f = _affine(first, cells.shape[0], ir.input.format.frac)
    g = _affine(second, r1.acc_lo.size, first.output.format.frac)
    out = first.output
    if f is None or g is None or out.overflow != "saturate" or first.activation not in ("relu", None, "linear"):
        return None
    a1, d1 = f
    a1 = cells.T.astype(np.float64) @ a1              # per cell (pixels of one cell share its code)
    p = _Program()
    x = [p.var(0, cap, integer=True) for _ in range(cells.shape[1])]
    if total is not None:
        p.row({i: 1.0 for i in x}, hi=total)
    shift = r1.acc_frac - out.format.frac
    fmt = out.format
    codes = []
    for n in range(a1.shape[1]):
        lo, hi = float(r1.acc_lo[n]), float(r1.acc_hi[n])
        acc = p.var(lo, hi)
        terms = {x[i]: -a1[i, n] for i in range(len(x)) if a1[i, n]}
        terms[acc] = 1.0
        p.row(terms, lo=d1[n], hi=d1[n])
        z = acc
        if first.activation == "relu":
            if hi <= 0:
                z, zlo, zhi = None, 0.0, 0.0
            elif lo < 0:
                z = p.var(0, hi)
                d = p.var(0, 1, integer=True)                   # 1: the ReLU passes
                p.row({z: 1.0, acc: -1.0}, lo=0)                # z >= acc
                p.row({z: 1.0, acc: -1.0, d: -lo}, hi=-lo)      # z <= acc - lo (1 - d)
                p.row({z: 1.0, d: -hi}, hi=0)                   # z <= hi d
            zlo, zhi = max(lo, 0.0), max(hi, 0.0)
        else:
            zlo, zhi = lo, hi
        # r = shift_round(z, shift): the quotient, an integer.
        if shift > 0:
            q = float(1 << shift)
            r_lo, r_hi = np.floor((zlo - q) / q), np.ceil((zhi + q) / q)
            r = p.var(r_lo, r_hi, integer=True)
            h = q / 2
            if out.rounding == "floor":
                rem_lo, rem_hi = 0.0, q - 1
            elif out.rounding == "half_up":
                rem_lo, rem_hi = -h, h - 1
            else:                                               # half_even: a tie may go either way
                rem_lo, rem_hi = -h, h
            if z is None:
                p.row({r: -q}, lo=rem_lo, hi=rem_hi)             # 0 - q r in [rem_lo, rem_hi]
            else:
                p.row({z: 1.0, r: -q}, lo=rem_lo, hi=rem_hi)
        else:
            m = float(1 << -shift)
            r_lo, r_hi = zlo * m, zhi * m
            r = p.var(r_lo, r_hi, integer=True)
            if z is None:
                p.row({r: 1.0}, lo=0, hi=0)
            else:
                p.row({r: 1.0, z: -m}, lo=0, hi=0)
        codes.append(_clamped(p, r, r_lo, r_hi, fmt.min_code, fmt.max_code))
    c2, d2 = g
    return p, x, codes, c2, d2


def _clamped(p: _Program, r: int, r_lo: float, r_hi: float, c_min: int, c_max: int) -> int:
    """A column equal to clip(r, c_min, c_max), exact, with a binary per side where the clamp can act."""
    c = r
    if r_hi > c_max:
        top = p.var(min(r_lo, c_max), c_max)
        b = p.var(0, 1, integer=True)                       # 1: clamped at c_max
        p.row({top: 1.0, c: -1.0}, hi=0)                     # top <= r
        p.row({top: 1.0, c: -1.0, b: r_hi - c_max}, lo=0)    # top >= r - (r_hi - c_max) b
        p.row({top: 1.0, b: -(c_max - r_lo)}, lo=r_lo)       # top >= c_max - (c_max - r_lo)(1 - b)
        c, r_hi = top, c_max
    if r_lo < c_min:
        bot = p.var(c_min, max(r_hi, c_min))
        b = p.var(0, 1, integer=True)                       # 1: clamped at c_min
        p.row({bot: 1.0, c: -1.0}, lo=0)                     # bot >= r
        p.row({bot: 1.0, c: -1.0, b: -(c_min - r_lo)}, hi=0)  # bot <= r + (c_min - r_lo) b
        p.row({bot: 1.0, b: (r_hi - c_min)}, hi=r_hi)        # bot <= c_min + (r_hi - c_min)(1 - b)
        c = bot
    return c


def bound(ir: EncoderIR, out_index: int, upper: bool, time_limit: float = 60.0,
          reaches: list[LayerReach] | None = None) -> Bound | None:
    """The sound highest (``upper``) or lowest accumulator of the second MAC layer's output
    ``out_index`` (flat Keras order, at the accumulator's fraction bits), or None without a model."""
    if _layers(ir) is None:
        return None
    first, second = _layers(ir)
    reaches = reaches or reach(ir)
    g = _affine(second, reaches[0].acc_lo.size, first.output.format.frac)
    if g is None:
        return None
    c2, d2 = g
    return bound_affine(ir, 1, c2[:, out_index], d2[out_index], upper, time_limit, reaches)


def bound_affine(ir: EncoderIR, layer: int, coeffs: np.ndarray, const: float, upper: bool,
                 time_limit: float = 60.0, reaches: list[LayerReach] | None = None) -> Bound | None:
    """The sound highest (``upper``) or lowest value of coeffs . codes + const over every input the
    input path can produce, where codes are the inputs of MAC layer ``layer`` (0: the cell codes;
    1: the first layer's output codes, flat Keras order); None without a model."""
    import time

    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import lil_matrix

    if layer not in (0, 1):
        return None
    built = model_of(ir, reaches)
    if built is None:
        return None
    p, x, codes, _, _ = built
    columns = x if layer == 0 else codes
    if len(coeffs) != len(columns):
        return None
    sign = -1.0 if upper else 1.0                           # milp minimises
    cost = np.zeros(len(p.lo))
    for col, c in zip(columns, coeffs):
        cost[col] += sign * float(c)
    a = lil_matrix((len(p.rows), len(p.lo)))
    for i, terms in enumerate(p.rows):
        for j, v in terms.items():
            a[i, j] += v
    t0 = time.monotonic()
    res = milp(cost, constraints=LinearConstraint(a.tocsr(), p.row_lo, p.row_hi),
               integrality=np.array(p.integer), bounds=Bounds(p.lo, p.hi),
               options={"time_limit": float(time_limit), "disp": False})
    seconds = time.monotonic() - t0
    dual = getattr(res, "mip_dual_bound", None)
    if dual is None or not np.isfinite(dual):
        return None
    best = sign * dual + const                               # back to the value, as a maximum or minimum
    margin = 1.0 + 1e-6 * abs(best)
    value = int(np.ceil(best + margin)) if upper else int(np.floor(best - margin))
    witness = np.rint(res.x[x]).astype(np.int64) if res.x is not None else np.zeros(len(x), dtype=np.int64)
    wval = sign * float(res.fun) + const if res.x is not None else float("nan")
    return Bound(value, res.status == 0, witness, wval, round(seconds, 1))


def witness_pixels(ir: EncoderIR, cell_codes: np.ndarray) -> np.ndarray:
    """Cell codes -> the layer input (1, H, W, C) the golden model takes (unused pixels 0)."""
    cells, _, _ = _input_bound(ir)
    return (cells @ cell_codes).reshape((1,) + tuple(ir.input.shape))
