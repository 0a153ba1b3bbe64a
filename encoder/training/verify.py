"""Golden model against QKeras: latent code x LSB must equal the QKeras output."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import golden, inputpath
from ..ir.schema import Conv2DLayer, EncoderIR, accumulator_frac


@dataclass
class Comparison:
    n_modules: int
    n_mismatched_modules: int
    n_mismatched_values: int
    max_code_difference: float
    first_mismatch: int | None           # module index, or None
    qkeras_codes: np.ndarray             # QKeras output / latent LSB (float; integral when on the grid)
    golden_codes: np.ndarray

    @property
    def exact(self) -> bool:
        return self.n_mismatched_modules == 0


def qkeras_input(ir: EncoderIR, counts: np.ndarray) -> np.ndarray:
    """What the QKeras encoder receives for these counts: normalised floats in the IR's arrangement."""
    ip = ir.input
    cells = inputpath.normalised_float(counts, ip.normalisation, ip.shift)
    padded = np.concatenate([cells, np.zeros((len(cells), 1))], axis=1)
    pix = np.where(ip.pixel_to_cell >= 0, ip.pixel_to_cell, cells.shape[1])
    return padded[:, pix].reshape((len(cells),) + tuple(ip.shape)).astype(np.float32)


def qkeras_outputs(model, x: np.ndarray, batch_size: int = 8192) -> np.ndarray:
    """The model's inference output, called eagerly in blocks (no tf.function tracing per model)."""
    if len(x) == 0:
        return np.zeros((0,) + tuple(int(d) for d in model.outputs[0].shape[1:]), dtype=np.float32)
    return np.concatenate([np.asarray(model(x[s:s + batch_size], training=False))
                           for s in range(0, len(x), batch_size)])


def compare(model, ir: EncoderIR, counts: np.ndarray, batch_size: int = 8192) -> Comparison:
    """Run both on integer counts (N, n_cells) and compare latent values exactly."""
    counts = np.asarray(counts, dtype=np.int64)
    q = qkeras_outputs(model, qkeras_input(ir, counts), batch_size)
    q_codes = np.ldexp(np.asarray(q, dtype=np.float64).reshape(len(counts), -1), ir.latent_format.frac)
    g_codes = golden.run(ir, counts=counts).latents
    bad = q_codes != g_codes
    bad_modules = np.flatnonzero(bad.any(axis=1))
    return Comparison(
        n_modules=len(counts),
        n_mismatched_modules=len(bad_modules),
        n_mismatched_values=int(bad.sum()),
        max_code_difference=float(np.abs(q_codes - g_codes).max(initial=0.0)),
        first_mismatch=int(bad_modules[0]) if len(bad_modules) else None,
        qkeras_codes=q_codes,
        golden_codes=g_codes,
    )


def module_partial_sum_bound(ir: EncoderIR, counts: np.ndarray) -> np.ndarray:
    """Per module, the largest |partial sum| any layer's accumulation can pass through, in LSBs.

    For each output the positive products (plus a positive bias) and the
    negative ones bound every partial sum in any summation order. Where
    the result is at most 2**24, QKeras' float32 arithmetic is exact for
    that module.
    """
    res = golden.run(ir, counts=np.asarray(counts, dtype=np.int64), keep=True)
    n = len(res.latents)
    x = res.input_codes.reshape(n, -1)
    frac = ir.input.format.frac
    worst = np.zeros(n, dtype=np.int64)
    for layer, y in zip(ir.mac_layers, res.layer_outputs):
        if isinstance(layer, Conv2DLayer):
            w = golden.conv_as_matrix(layer)
            b = np.tile(layer.bias, int(np.prod(layer.output_shape[:2])))
        else:
            w, b = layer.weight.astype(np.int64), layer.bias.astype(np.int64)
        af = accumulator_frac(layer, frac)
        ws = af - (frac + layer.weight_format.frac)
        bs = af - layer.bias_format.frac
        pos = ((x @ np.maximum(w, 0)) << ws) + (np.maximum(b, 0) << bs)
        neg = ((x @ np.maximum(-w, 0)) << ws) + (np.maximum(-b, 0) << bs)
        worst = np.maximum(worst, np.maximum(pos, neg).max(axis=1))
        x, frac = y, layer.output.format.frac
    return worst


def stress_charges(rng: np.random.Generator, n: int, n_cells: int, max_count: int = (1 << 22) - 1,
                   counts_per_mip: float = 35.0) -> np.ndarray:
    """Charges (MIPs) that visit the corners of the input path, mixed with ordinary modules.

    Sparse showers of many scales, one hot cell (inputs close to 2.0), a few
    equal cells (ties in the normalisation), tiny sums (left shifts), sums
    near and beyond the top of the charge range (clipping) and empty modules.
    """
    kind = rng.integers(0, 7, size=n)
    scale = np.exp(rng.uniform(np.log(0.05), np.log(500.0), size=(n, 1)))
    occupancy = rng.uniform(0.02, 0.6, size=(n, 1))
    c = rng.exponential(1.0, (n, n_cells)) * scale * (rng.random((n, n_cells)) < occupancy)
    hot = rng.integers(0, n_cells, size=n)
    rows = np.arange(n)
    one = kind == 1
    c[one] = 0.0
    c[rows[one], hot[one]] = scale[one, 0] * 10
    few = kind == 2
    c[few] = np.where(rng.random((few.sum(), n_cells)) < 0.1, np.round(scale[few] * 4) + 1, 0.0)
    tiny = kind == 3
    c[tiny] = rng.integers(0, 3, (tiny.sum(), n_cells)) * (rng.random((tiny.sum(), n_cells)) < 0.2) / counts_per_mip
    top = kind == 4
    c[top] = rng.uniform(0.0, 2.0, (top.sum(), n_cells)) * max_count / counts_per_mip / rng.integers(1, 64, (top.sum(), 1))
    c[kind == 5] = 0.0
    return c
