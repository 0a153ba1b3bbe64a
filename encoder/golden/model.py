"""The golden model: raw charges in, latent codes and module-sum code out.

Every step is integer arithmetic on int64 codes following the IR: the
input path (``encoder.inputpath``), then each layer's products (exact, or
each rounded before the sum), accumulation with the bias aligned to the
accumulator, activation, and requantization (rounding, saturation or wrap)
as ``encoder.ir.fixed`` defines them. Exact sums of products are computed
with a float BLAS matmul only when a bound proves every partial sum exact
in that float type; otherwise with int64. Without per-layer outputs
(``keep``), whole layers run in floats (``golden.fast``: scaled matmul,
``rint``/``floor``, clamp) when the IR's bounds prove that exact too;
``run_layers(..., keep=True)`` is always the int64 reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import inputpath
from . import fast
from ..ir.fixed import requantize, shift_round
from ..ir.schema import Conv2DLayer, DenseLayer, EncoderIR, FlattenLayer, MacLayer, accumulator_frac

CHUNK = 1 << 16   # modules per block: bounds memory for million-module runs


@dataclass
class GoldenResult:
    latents: np.ndarray            # (N, n_latent) integer codes of the latent format
    sum_code: np.ndarray           # (N,) module-sum float code
    module_sum: np.ndarray         # (N,) sum of integer counts
    shift: np.ndarray              # (N,) normalisation exponent m
    input_codes: np.ndarray        # (N, H, W, C) codes entering the first layer
    n_clipped: int                 # cells clipped at the top of the charge range
    layer_outputs: list[np.ndarray] = field(default_factory=list)   # when asked for


def conv_as_matrix(layer: Conv2DLayer) -> np.ndarray:
    """The conv as a (H*W*C_in, OH*OW*C_out) integer matrix; padding taps vanish.

    Output columns are ordered (row, col, filter), Keras' flatten order.
    """
    h, w, cin = layer.input_shape
    oh, ow, cout = layer.output_shape
    kh, kw = layer.kernel
    sh, sw = layer.strides
    top, _, left, _ = layer.padding
    m = np.zeros((h * w * cin, oh * ow * cout), dtype=np.int64)
    for r in range(oh):
        for c in range(ow):
            col0 = (r * ow + c) * cout
            for ky in range(kh):
                y = r * sh + ky - top
                if not 0 <= y < h:
                    continue
                for kx in range(kw):
                    x = c * sw + kx - left
                    if not 0 <= x < w:
                        continue
                    for ci in range(cin):
                        m[(y * w + x) * cin + ci, col0:col0 + cout] = layer.weight[ky, kx, ci]
    return m


def _matrix_and_bias(layer: MacLayer) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(layer, Conv2DLayer):
        oh, ow, _ = layer.output_shape
        return conv_as_matrix(layer), np.tile(layer.bias, oh * ow)
    return layer.weight.astype(np.int64), layer.bias.astype(np.int64)


def _exact_dot(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """x @ w for int64 arrays, through float BLAS where provably exact."""
    bound = float(np.abs(x).max(initial=0)) * float(np.abs(w).sum(axis=0).max(initial=0))
    if bound < 2.0**24:
        return (x.astype(np.float32) @ w.astype(np.float32)).astype(np.int64)
    if bound < 2.0**53:
        return (x.astype(np.float64) @ w.astype(np.float64)).astype(np.int64)
    out = np.zeros((x.shape[0], w.shape[1]), dtype=np.int64)
    for i in np.flatnonzero(np.any(w != 0, axis=1)):
        out += x[:, i, None] * w[i]
    return out


def _rounded_products_dot(x: np.ndarray, w: np.ndarray, shift: int, rounding: str) -> np.ndarray:
    """sum_i round(x_i * w_io / 2**shift): every product rounded before the sum."""
    out = np.zeros((x.shape[0], w.shape[1]), dtype=np.int64)
    for i in np.flatnonzero(np.any(w != 0, axis=1)):
        cols = np.flatnonzero(w[i])
        out[:, cols] += shift_round(x[:, i, None] * w[i, cols], shift, rounding)
    return out


def mac_layer(layer: MacLayer, x: np.ndarray, in_frac: int) -> np.ndarray:
    """One conv2d or dense layer on flat input codes (N, n_in) -> output codes (N, n_out)."""
    acc, acc_frac = accumulators(layer, x, in_frac)
    return output_codes(layer, acc, acc_frac)


def output_codes(layer: MacLayer, acc: np.ndarray, acc_frac: int) -> np.ndarray:
    """A layer's accumulators (at acc_frac) -> its output codes: the activation, then the requantizer."""
    if layer.activation == "relu":
        acc = np.maximum(acc, 0)
    out = layer.output
    return requantize(acc, acc_frac, out.format, out.rounding, out.overflow)


def accumulators(layer: MacLayer, x: np.ndarray, in_frac: int) -> tuple[np.ndarray, int]:
    """The layer's accumulators (N, n_out) with the bias added, before the activation, and their fraction bits."""
    w, b = _matrix_and_bias(layer)
    exact_frac = in_frac + layer.weight_format.frac
    acc_frac = accumulator_frac(layer, in_frac)
    if layer.product_frac is None or layer.product_frac >= exact_frac:
        pf = exact_frac if layer.product_frac is None else layer.product_frac
        acc = _exact_dot(x, w) << (pf - exact_frac)
    else:
        pf = layer.product_frac
        acc = _rounded_products_dot(x, w, exact_frac - pf, layer.product_rounding)
    return (acc << (acc_frac - pf)) + (b << (acc_frac - layer.bias_format.frac)), acc_frac


def run_layers(ir: EncoderIR, x_codes: np.ndarray, keep: bool = False):
    """Input codes (N, H, W, C) -> latent codes (N, n_latent) [, per-layer outputs]."""
    if not keep:
        plan = fast.plan(ir)
        if plan is not None:
            return fast.run_layers(plan, x_codes)
    x = np.asarray(x_codes, dtype=np.int64).reshape(len(x_codes), -1)
    frac = ir.input.format.frac
    outputs = []
    for layer in ir.layers:
        if isinstance(layer, FlattenLayer):
            continue                     # activations are already flat in (row, col, channel) order
        x = mac_layer(layer, x, frac)
        frac = layer.output.format.frac
        if keep:
            outputs.append(x)
    return (x, outputs) if keep else x


def input_codes(ir: EncoderIR, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer counts (N, n_cells) -> (input codes (N, H, W, C), shift m)."""
    ip = ir.input
    codes, m = inputpath.normalise(counts, ip.format, ip.rounding, ip.normalisation, ip.shift)
    padded = np.concatenate([codes, np.zeros((len(codes), 1), dtype=np.int64)], axis=1)
    pix = np.where(ip.pixel_to_cell >= 0, ip.pixel_to_cell, codes.shape[1])
    return padded[:, pix].reshape((len(codes),) + tuple(ip.shape)), m


def run(ir: EncoderIR, charges_mip: np.ndarray | None = None, *, counts: np.ndarray | None = None,
        keep: bool = False, progress=None) -> GoldenResult:
    """The whole hardware path on charges in MIPs (or on integer counts directly)."""
    ip = ir.input
    n_clipped = 0
    if counts is None:
        c = inputpath.to_counts(charges_mip, ip.counts_per_mip, ip.charge_bits)
        counts, n_clipped = c.counts, c.n_clipped
    counts = np.asarray(counts, dtype=np.int64)
    if counts.ndim != 2 or counts.shape[1] != ip.n_cells:
        raise ValueError(f"expected (modules, {ip.n_cells}) charges, got shape {counts.shape}")
    lat, codes, shifts, layer_outs = [], [], [], []
    plan = None if keep else fast.plan(ir)
    for start in range(0, len(counts), CHUNK):
        block = counts[start:start + CHUNK]
        x, m = input_codes(ir, block)
        res = fast.run_layers(plan, x) if plan is not None else run_layers(ir, x, keep=keep)
        lat.append(res[0] if keep else res)
        if keep:
            layer_outs.append(res[1])
        codes.append(x)
        shifts.append(m)
        if progress is not None:
            progress(len(block))
    s = inputpath.module_sum(counts)
    n_lat = ir.n_latent
    return GoldenResult(
        latents=np.concatenate(lat) if lat else np.zeros((0, n_lat), dtype=np.int64),
        sum_code=inputpath.encode_sum(s, ip.sum_exp_bits, ip.sum_mant_bits),
        module_sum=s,
        shift=np.concatenate(shifts) if shifts else np.zeros(0, dtype=np.int64),
        input_codes=np.concatenate(codes) if codes else np.zeros((0,) + tuple(ip.shape), dtype=np.int64),
        n_clipped=n_clipped,
        layer_outputs=[np.concatenate(parts) for parts in zip(*layer_outs)] if keep and layer_outs else [],
    )


def encode(ir: EncoderIR, counts: np.ndarray) -> np.ndarray:
    """Integer counts (N, n_cells) -> latent codes only: the fastest way to the hardware's output.

    Uses the float fast path (``golden.fast``) when the IR's bounds prove it
    exact, otherwise ``run``.
    """
    counts = np.asarray(counts, dtype=np.int64)
    if counts.ndim != 2 or counts.shape[1] != ir.input.n_cells:
        raise ValueError(f"expected (modules, {ir.input.n_cells}) counts, got shape {counts.shape}")
    plan = fast.plan(ir)
    if plan is None:
        return run(ir, counts=counts).latents
    return fast.encode(ir, plan, counts)
