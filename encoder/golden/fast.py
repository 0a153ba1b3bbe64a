"""Float fast path of the golden model, used only where it is provably exact.

Integer codes are carried in float32 (or float64) arrays. A layer becomes
one BLAS matmul with the weights pre-scaled by a power of two into units
of the output LSB, a bias add, the ReLU clamp, ``np.rint`` (round half to
even, IEEE's default) / ``np.floor`` and saturation. Every value along the
way is an integer multiple of a power of two whose magnitude is bounded
by the layer's partial-sum bound, so when that bound (plus the rounding
offset) stays within the float mantissa (2**24, or 2**53 for float64) the
result equals the int64 path bit for bit, for any summation order.

Not covered (the int64 path runs instead): products rounded before the
sum (the ECON-T chip's rule), wrap-around overflow, and bounds beyond
float64. ``plan`` returns None in those cases.
"""

from __future__ import annotations

import contextlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ..ir.schema import Conv2DLayer, EncoderIR, MacLayer, accumulator_frac

CHUNK = 1 << 12          # modules per block: keeps the float blocks in L2 cache (measured best)
_LIMITS = ((np.float32, 1 << 24), (np.float64, 1 << 53))


@dataclass
class _Layer:
    weight: np.ndarray       # (n_in, n_out), in output LSBs per input LSB
    bias: np.ndarray         # (n_out,), in output LSBs
    rounding: str
    lo: int                  # lowest code: 0 after a ReLU, else the format's minimum
    hi: int


@dataclass
class Plan:
    dtype: type
    layers: list[_Layer]
    folded: np.ndarray            # first layer's weights per cell (arrangement folded in)


def _matrix(layer: MacLayer) -> tuple[np.ndarray, np.ndarray]:
    from .model import conv_as_matrix
    if isinstance(layer, Conv2DLayer):
        return conv_as_matrix(layer), np.tile(layer.bias, int(np.prod(layer.output_shape[:2])))
    return layer.weight.astype(np.int64), layer.bias.astype(np.int64)


def _output_range(layer: MacLayer) -> tuple[int, int]:
    fmt = layer.output.format
    return (max(fmt.min_code, 0) if layer.activation == "relu" else fmt.min_code), fmt.max_code


def plan(ir: EncoderIR) -> Plan | None:
    """How to run ``ir`` in floats exactly, or None when the int64 path must run."""
    mats, bound = [], ir.input.format.max_code
    in_lo, in_hi, frac = 0, ir.input.format.max_code, ir.input.format.frac
    for layer in ir.mac_layers:
        exact = frac + layer.weight_format.frac
        if layer.product_frac is not None and layer.product_frac < exact:
            return None
        if layer.output.overflow != "saturate" or layer.output.rounding not in ("half_even", "floor", "half_up"):
            return None
        w, b = _matrix(layer)
        af = accumulator_frac(layer, frac)
        ws, bs = af - exact, af - layer.bias_format.frac
        of = layer.output.format.frac
        wo, bo = w.astype(object), b.astype(object)
        if in_lo >= 0:
            # non-negative inputs: positive and negative products never mix signs
            pos = np.where(wo > 0, wo, 0).sum(axis=0) * in_hi * (1 << ws) + np.where(bo > 0, bo, 0) * (1 << bs)
            neg = -np.where(wo < 0, wo, 0).sum(axis=0) * in_hi * (1 << ws) - np.where(bo < 0, bo, 0) * (1 << bs)
            acc_bound = max(pos.max(initial=0), neg.max(initial=0))
        else:
            in_abs = max(-in_lo, in_hi)
            acc_bound = (np.abs(wo).sum(axis=0) * in_abs * (1 << ws) + np.abs(bo) * (1 << bs)).max(initial=0)
        # Every value is an integer in units of 2**-max(af, of); + one output LSB covers the
        # half added by half_up rounding. The weights and biases themselves must fit too.
        fine = max(af, of)
        layer_bound = (int(acc_bound) << (fine - af)) + (1 << (fine - of))
        bound = max(bound, layer_bound, int(np.abs(wo).max(initial=0)), int(np.abs(bo).max(initial=0)),
                    -in_lo, in_hi)
        mats.append((w, b, exact, layer, of))
        in_lo, in_hi = _output_range(layer)
        frac = of
    bound = max(bound, -in_lo, in_hi)
    dtype = next((dt for dt, limit in _LIMITS if bound <= limit), None)
    if dtype is None:
        return None
    layers = []
    for w, b, exact, layer, of in mats:
        lo, hi = _output_range(layer)
        layers.append(_Layer(
            weight=np.ldexp(w.astype(np.float64), of - exact).astype(dtype),
            bias=np.ldexp(b.astype(np.float64), of - layer.bias_format.frac).astype(dtype),
            rounding=layer.output.rounding, lo=lo, hi=hi))
    # The arrangement folded into the first layer: a cell feeding several pixels gets the
    # sum of their weights, whose partial sums stay within the same bound.
    ip = ir.input
    folded = np.zeros((ip.n_cells, layers[0].weight.shape[1]), dtype=np.float64)
    p2c = np.asarray(ip.pixel_to_cell)
    for p in np.flatnonzero(p2c >= 0):
        folded[p2c[p]] += layers[0].weight[p]
    return Plan(dtype, layers, folded.astype(dtype))


def _round(x: np.ndarray, rounding: str) -> np.ndarray:
    if rounding == "half_even":
        return np.rint(x, out=x)
    if rounding == "floor":
        return np.floor(x, out=x)
    x += 0.5
    return np.floor(x, out=x)


def _finish(acc: np.ndarray, layer: _Layer) -> np.ndarray:
    """ReLU, rounding and saturation in place. Rounding is monotonic and the bounds
    are integers, so clamping before rounding gives the same codes."""
    np.clip(acc, layer.lo, layer.hi, out=acc)        # one pass; 3x quicker than maximum + minimum
    return _round(acc, layer.rounding)


def _layers(p: Plan, x: np.ndarray, start: int = 0) -> np.ndarray:
    for layer in p.layers[start:]:
        acc = x @ layer.weight
        acc += layer.bias
        x = _finish(acc, layer)
    return x


def run_layers(p: Plan, x_codes: np.ndarray) -> np.ndarray:
    """Input codes (N, H, W, C) -> latent codes (N, n_latent) int64."""
    x = np.asarray(x_codes).reshape(len(x_codes), -1)
    out = np.empty((len(x), p.layers[-1].weight.shape[1]), dtype=np.int64)
    with _one_blas_thread():
        for s in range(0, len(x), CHUNK):
            out[s:s + CHUNK] = _layers(p, x[s:s + CHUNK].astype(p.dtype))
    return out


@contextlib.contextmanager
def _one_blas_thread():
    """BLAS on one thread: the blocks are small, and threads over blocks scale better."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:          # optional: without it BLAS keeps its own threading
        yield
        return
    with threadpool_limits(1, user_api="blas"):
        yield


def encode(ir: EncoderIR, p: Plan, counts: np.ndarray, workers: int | None = None) -> np.ndarray:
    """Integer counts (N, n_cells) -> latent codes, the input path included (no image built).

    The input codes get a constant 1 column so that the first layer's
    bias rides in its matmul (one pass less over the widest tensor).
    Blocks of modules are spread over ``workers`` threads (default: the
    machine's cores); NumPy releases the GIL in the heavy calls.
    """
    ip = ir.input
    counts = np.asarray(counts, dtype=np.int64)
    first = np.vstack([p.folded, p.layers[0].bias[None, :]]).astype(p.dtype)
    # counts < 2**charge_bits times a power of two: exact in float64 (charge_bits <= 40), and
    # in float32 below 2**24, where rint and floor stay exact; adding the half of half_up may
    # span more bits than float32 holds, so that rule scales in float64.
    small = ip.charge_bits <= 24 and ip.rounding != "half_up"
    in_dtype = np.float32 if (small and p.dtype is np.float32) else np.float64
    out = np.empty((len(counts), p.layers[-1].weight.shape[1]), dtype=np.int64)
    starts = list(range(0, len(counts), CHUNK))
    workers = max(1, min(workers or os.cpu_count() or 1, len(starts)))

    def blocks(mine):
        buf = np.ones((min(CHUNK, len(counts)), counts.shape[1] + 1), dtype=in_dtype)
        for s in mine:
            out[s:s + CHUNK] = _encode_block(ip, p, first, counts[s:s + CHUNK], buf)

    with _one_blas_thread():
        if workers == 1:
            blocks(starts)
        else:
            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(blocks, [starts[i::workers] for i in range(workers)]))
    return out


def _encode_block(ip, p: Plan, first: np.ndarray, c: np.ndarray, buf: np.ndarray) -> np.ndarray:
    n_cells = c.shape[1]
    if ip.normalisation == "leading_one":
        # floor(log2 S) from the float exponent (exact for S < 2**53); 0 for an empty module
        m = np.maximum(np.frexp(c.sum(axis=1).astype(np.float64))[1] - 1, 0)
    else:
        m = np.full(len(c), ip.shift)
    x = buf[:len(c)]
    np.multiply(c, np.exp2(ip.format.frac - m).astype(buf.dtype)[:, None], out=x[:, :n_cells],
                casting="unsafe")
    cells = _round(x[:, :n_cells], ip.rounding)
    np.minimum(cells, ip.format.max_code, out=cells)
    acc = x.astype(p.dtype, copy=False) @ first
    return _layers(p, _finish(acc, p.layers[0]), start=1)
