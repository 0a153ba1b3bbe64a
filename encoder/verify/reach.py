"""Sound ranges of every neuron's accumulator over the inputs a design can actually receive.

The RTL's widths come from the interval analysis of the IR's formats (every input code and
weight at its extreme). A mutant that changes a neuron only outside the values that neuron can
reach is equivalent *in context*; to prove that, the mutation score needs ranges that hold for
every input the input path can produce, yet are tight enough to exclude what cannot happen.

- First layer, ``leading_one`` normalisation: a module's counts sum to S in [2^m, 2^(m+1)) and
  each code is count * 2^(frac - m), rounded and clamped, so the codes of the cells are each in
  [0, max_code] and sum to at most 2^(frac+1) - 1 (floor) or 2^(frac+1) + n_cells // 2 (a
  rounding to nearest adds at most 1/2 a cell). Pixels of one cell carry one code. The extreme
  accumulator of a neuron over that polytope sits on a vertex, which is an integer point (the
  constraints are a box and one sum with integer bounds); the vertex is the greedy one (the
  largest weights first, each cell up to max_code, until the sum is spent). ``fixed_shift``: the
  box alone.
- Later layers: each input is a neuron of the layer before, in its own (sound) code range; the
  extremes over that box sit on its corners.

The accumulator at a vertex is the golden model's (encoder.golden.model.accumulators), so the
arithmetic is the one the RTL is proven bit-exact against. Products rounded one by one (the
ECON-T arithmetic) are not linear: there the vertex value is widened by 2 per product, which
bounds every rounding (each rounded product is within 1 of its exact value). Codes follow from
the accumulator range through the activation and the requantizer, which are monotone (a
wrapping overflow is not: its codes span the whole format once the range crosses a wrap).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..golden.model import _matrix_and_bias, accumulators, output_codes
from ..ir.fixed import shift_round
from ..ir.schema import EncoderIR, FlattenLayer, accumulator_frac


@dataclass
class LayerReach:
    name: str
    acc_lo: np.ndarray         # per output (flat Keras order), at the accumulator's fraction bits
    acc_hi: np.ndarray
    acc_frac: int
    code_lo: np.ndarray        # the output codes this layer can hand on
    code_hi: np.ndarray


def _input_bound(ir: EncoderIR) -> tuple[np.ndarray, int, int | None]:
    """(pixel -> cell one-hot matrix of the used pixels, per-cell max code, bound on the sum of cell codes)."""
    ip = ir.input
    p2c = np.asarray(ip.pixel_to_cell).ravel()
    cells = np.zeros((p2c.size, ip.n_cells), dtype=np.int64)
    used = p2c >= 0
    cells[np.flatnonzero(used), p2c[used]] = 1
    fmt = ip.format
    if ip.normalisation != "leading_one":
        return cells, fmt.max_code, None
    total = (1 << (fmt.frac + 1)) - 1 if ip.rounding == "floor" else (1 << (fmt.frac + 1)) + ip.n_cells // 2
    return cells, fmt.max_code, total


def _greedy(weights: np.ndarray, cap: int, total: int | None) -> np.ndarray:
    """The integer x in {0 <= x <= cap, sum(x) <= total} maximising weights . x (one column)."""
    x = np.zeros(weights.size, dtype=np.int64)
    left = total if total is not None else None
    for i in np.argsort(-weights, kind="stable"):
        if weights[i] <= 0 or left == 0:
            break
        x[i] = cap if left is None else min(cap, left)
        if left is not None:
            left -= x[i]
    return x


def _slack(layer, in_frac: int) -> int:
    """Accumulator units an evaluation at a vertex may miss by when products are rounded one by one."""
    exact = in_frac + layer.weight_format.frac
    if layer.product_frac is None or layer.product_frac >= exact:
        return 0
    acc_frac = accumulator_frac(layer, in_frac)
    return 2 << (acc_frac - layer.product_frac)


def _code_range(layer, lo: np.ndarray, hi: np.ndarray, acc_frac: int) -> tuple[np.ndarray, np.ndarray]:
    c_lo, c_hi = output_codes(layer, lo, acc_frac), output_codes(layer, hi, acc_frac)
    out = layer.output
    if out.overflow == "wrap":
        # Monotone only while the rounded range stays inside the format.
        fmt = out.format
        a_lo = np.maximum(lo, 0) if layer.activation == "relu" else lo
        a_hi = np.maximum(hi, 0) if layer.activation == "relu" else hi
        r_lo = shift_round(a_lo, acc_frac - fmt.frac, out.rounding)
        r_hi = shift_round(a_hi, acc_frac - fmt.frac, out.rounding)
        wraps = (r_lo < fmt.min_code) | (r_hi > fmt.max_code)
        c_lo = np.where(wraps, fmt.min_code, c_lo)
        c_hi = np.where(wraps, fmt.max_code, c_hi)
    return c_lo, c_hi


def _affine(layer, n_in: int, frac: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(A, d) with accumulators(x) = x @ A + d, or None when products are rounded one by one (not affine)."""
    if _slack(layer, frac):
        return None
    d, _ = accumulators(layer, np.zeros((1, n_in), dtype=np.int64), frac)
    a, _ = accumulators(layer, np.eye(n_in, dtype=np.int64), frac)
    return (a - d).astype(np.float64), d[0].astype(np.float64)


def _relaxed(first, second, first_reach: LayerReach, n_in: int, frac: int, cells, cap, total
             ) -> tuple[np.ndarray, np.ndarray] | None:
    """Bounds of the second layer's accumulators over the input polytope itself, through linear
    bounds of each first-layer output code (ReLU's chord between its accumulator bounds, the
    requantizer's rounding as +-1/2, its top clamp only ever lowering the code). Tighter than the
    box of the first layer's code ranges when those codes move together. None when not affine."""
    f = _affine(first, n_in, frac)
    g = _affine(second, first_reach.acc_lo.size, first.output.format.frac)
    if f is None or g is None or first.output.overflow == "wrap":
        return None                         # not affine, or a code that may wrap (no linear bound)
    a1, d1 = f
    c2, d2 = g
    l, u = first_reach.acc_lo.astype(np.float64), first_reach.acc_hi.astype(np.float64)
    fmt = first.output.format
    scale = 2.0 ** (fmt.frac - first_reach.acc_frac)         # code = round(relu(acc) * scale), clamped
    half = 0.0 if first.output.rounding == "floor" else 0.5
    floor_lo = 1.0 if first.output.rounding == "floor" else 0.5
    relu = first.activation == "relu"
    # Upper: code <= k_u * acc + m_u; lower: code >= k_l * acc + m_l (per first-layer output).
    live = u > l
    chord = np.where(live, u / np.where(live, u - l, 1.0), 0.0)
    if relu:
        k_u = np.where(l >= 0, 1.0, np.where(u <= 0, 0.0, chord)) * scale
        m_u = np.where((l < 0) & (u > 0), -chord * l * scale, 0.0) + half
    else:
        # Without a ReLU the bottom clamp could lift a code above the line: keep the line where it cannot.
        free = l * scale - floor_lo >= fmt.min_code
        k_u = np.where(free, scale, 0.0)
        m_u = np.where(free, half, first_reach.code_hi.astype(np.float64))
    unclamped = output_codes(first, first_reach.acc_hi, first_reach.acc_frac) < fmt.max_code
    # code >= acc * scale - 1/2 holds for every acc while the top clamp cannot act (below zero the code
    # is 0, above it a rounding); so does its lowest code behind a ReLU. Each is a sound lower line;
    # both choices are tried (everywhere the constant, and the line where u > -l, as DeepPoly picks)
    # and the tighter result kept.
    hi, lo = np.full(c2.shape[1], np.inf), np.full(c2.shape[1], -np.inf)
    for line in ((np.ones_like(l, dtype=bool) if not relu else l >= 0) & unclamped,
                 (np.ones_like(l, dtype=bool) if not relu else (l >= 0) | (u > -l)) & unclamped):
        k_l = np.where(line, scale, 0.0)
        m_l = np.where(line, -floor_lo, first_reach.code_lo.astype(np.float64))
        for sign in (1.0, -1.0):             # sign 1: the upper bound, -1: the lower one
            pos = (sign * c2) > 0
            k = np.where(pos, k_u[:, None], k_l[:, None])
            m = np.where(pos, m_u[:, None], m_l[:, None])
            alpha = a1 @ (c2 * k)             # the bound as an affine function of the input codes
            beta = d1 @ (c2 * k) + (c2 * m).sum(axis=0) + d2
            per_cell = cells.T @ (sign * alpha)
            best = np.array([per_cell[:, j] @ _greedy(per_cell[:, j], cap, total) for j in range(c2.shape[1])])
            if sign > 0:
                hi = np.minimum(hi, best + beta)
            else:
                lo = np.maximum(lo, -best + beta)
    # Float sums of integers this size are exact to far below 1; one unit of margin each way.
    return np.floor(lo).astype(np.int64) - 1, np.ceil(hi).astype(np.int64) + 1


def reach(ir: EncoderIR) -> list[LayerReach]:
    """Per MAC layer, per output: sound accumulator and code ranges (see the module doc)."""
    out: list[LayerReach] = []
    frac = ir.input.format.frac
    lo_in = hi_in = None
    for layer in ir.layers:
        if isinstance(layer, FlattenLayer):
            continue
        w, _ = _matrix_and_bias(layer)
        n_out = w.shape[1]
        if not out:                              # kept for the second layer's bound through it
            first, n_first, first_frac = layer, w.shape[0], frac
        if lo_in is None:
            cells, cap, total = _input_bound(ir)
            wc = cells.T @ w                      # per cell: the weights of all its pixels
            hi_x = np.stack([cells @ _greedy(wc[:, j], cap, total) for j in range(n_out)])
            lo_x = np.stack([cells @ _greedy(-wc[:, j], cap, total) for j in range(n_out)])
        else:
            hi_x = np.where(w.T > 0, hi_in[None, :], lo_in[None, :])
            lo_x = np.where(w.T > 0, lo_in[None, :], hi_in[None, :])
        acc_hi, acc_frac = accumulators(layer, hi_x, frac)
        acc_lo, _ = accumulators(layer, lo_x, frac)
        slack = _slack(layer, frac)
        a_lo = np.diagonal(acc_lo).copy() - slack
        a_hi = np.diagonal(acc_hi).copy() + slack
        if len(out) == 1:                        # the second layer: also through the first, from the inputs
            tight = _relaxed(first, layer, out[0], n_first, first_frac, cells, cap, total)
            if tight is not None:
                a_lo, a_hi = np.maximum(a_lo, tight[0]), np.minimum(a_hi, tight[1])
        c_lo, c_hi = _code_range(layer, a_lo, a_hi, acc_frac)
        out.append(LayerReach(layer.name, a_lo, a_hi, acc_frac, c_lo, c_hi))
        lo_in, hi_in = c_lo, c_hi
        frac = layer.output.format.frac
    return out
