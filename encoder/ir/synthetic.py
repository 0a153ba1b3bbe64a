"""Seeded random, valid encoder IRs for tests and benchmarks.

An architecture fixes the layer shapes; the seed draws the bit widths, the
weights (with some exact zeros, so zero-weight handling is exercised) and
the biases. Two arithmetics:

- ``qkeras``: exact products, outputs rounded half to even and saturated,
  input codes rounded half to even (what QKeras computes);
- ``econt``: every product floored to ``product_frac`` fractional bits
  before the sum, outputs floored and clamped, input codes floored (what
  the ECON-T chip computes).

Accumulators are filled by interval analysis, so every IR returned passes
``validate``. Nothing here reads the geometry files except the HGCAL
arrangements of the ``econt_*`` architectures.
"""

from __future__ import annotations

import numpy as np

from .arithmetic import ARITHMETICS
from .fixed import FixedFormat
from .schema import (Conv2DLayer, DenseLayer, EncoderIR, FlattenLayer, InputPath, Requant,
                     infer_accumulators, validate)

# name -> (input shape, arrangement source, layer plan)
#   arrangement source: ("hgcal", name) or ("identity", n_cells)
#   layer plan: ("conv", filters, kernel, strides, padding) | ("flatten",) | ("dense", units)
ARCHITECTURES = {
    "econt_8x8": ((8, 8, 1), ("hgcal", "8x8"),
                  [("conv", 8, (3, 3), (2, 2), (0, 1, 0, 1)), ("flatten",), ("dense", 16)]),
    "econt_4x4x3": ((4, 4, 3), ("hgcal", "4x4x3"),
                    [("conv", 8, (3, 3), (1, 1), (1, 1, 1, 1)), ("flatten",), ("dense", 16)]),
    # Small designs for quick checks and full synthesis in tests.
    "tiny_conv": ((4, 4, 1), ("identity", 16),
                  [("conv", 2, (3, 3), (2, 2), (0, 1, 0, 1)), ("flatten",), ("dense", 3)]),
    "tiny_dense": ((4, 4, 1), ("identity", 16), [("flatten",), ("dense", 4)]),
    "tiny_masked": ((4, 4, 1), ("masked", 12),
                    [("conv", 2, (3, 3), (1, 1), (1, 1, 1, 1)), ("flatten",), ("dense", 2)]),
}


def _arrangement(source) -> tuple[str, int, np.ndarray]:
    kind, arg = source
    if kind == "hgcal":
        from ..geometry import load
        arr = load("hgcal").arrangement(arg)
        return f"hgcal_{arg}", 48, np.asarray(arr.pixel_to_cell, dtype=np.int64)
    if kind == "identity":
        return f"identity_{arg}", arg, np.arange(arg, dtype=np.int64)
    # "masked": the last pixel of each row forced to zero (arg cells in a 4x4 image)
    p2c = np.full(16, -1, dtype=np.int64)
    keep = [p for p in range(16) if p % 4 != 3]
    p2c[keep] = np.arange(arg)
    return f"masked_{arg}", arg, p2c


def _weights(rng, shape, fmt: FixedFormat, zero_fraction: float, fan_in: int) -> np.ndarray:
    """Codes of real values ~ N(sigma/2, sigma), sigma = (2/fan_in)**0.5: sums stay near the
    output range (uniform codes would saturate most outputs) and the slight positive mean keeps
    most ReLU outputs of non-negative inputs alive; clipped to the format, with exact zeros."""
    sigma = (2.0 / fan_in) ** 0.5 * 2.0 ** fmt.frac
    w = np.clip(np.rint(rng.normal(0.5 * sigma, sigma, size=shape)), fmt.min_code, fmt.max_code).astype(np.int64)
    w[rng.random(shape) < zero_fraction] = 0
    return w


def synthetic_ir(architecture: str = "econt_8x8", arithmetic: str = "qkeras", seed: int = 0, *,
                 zero_fraction: float = 0.15, overflow: str = "saturate",
                 last_activation: str = "relu", charge_bits: int | None = None) -> EncoderIR:
    """A random valid IR of the named architecture (see ``ARCHITECTURES``).

    Bit widths are drawn from the seed within ranges seen in practice:
    inputs 5-9 bits, weights 3-8 bits, activations 6-12 bits. With
    ``last_activation="linear"`` the latents are signed.
    """
    if architecture not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {architecture!r}; choose one of {sorted(ARCHITECTURES)}")
    if arithmetic not in ARITHMETICS:
        raise ValueError(f"unknown arithmetic {arithmetic!r}; choose one of {list(ARITHMETICS)}")
    rng = np.random.default_rng(seed)
    shape, source, plan = ARCHITECTURES[architecture]
    arr_name, n_cells, p2c = _arrangement(source)
    econt = arithmetic == "econt"
    in_bits = int(rng.integers(5, 10))
    in_fmt = FixedFormat(False, in_bits, in_bits - 1)          # range [0, 2)
    ip = InputPath(
        n_cells=n_cells, arrangement=arr_name, shape=shape, pixel_to_cell=p2c, format=in_fmt,
        rounding="floor" if econt else "half_even",
        charge_bits=int(charge_bits if charge_bits is not None else rng.integers(12, 23)),
        counts_per_mip=1.0 if econt else 35.0,
    )
    layers = []
    cur = shape
    in_frac = in_fmt.frac
    n_mac = sum(1 for p in plan if p[0] != "flatten")
    i_mac = 0
    for step in plan:
        if step[0] == "flatten":
            layers.append(FlattenLayer("flatten", tuple(cur)))
            cur = (int(np.prod(cur)),)
            continue
        i_mac += 1
        last = i_mac == n_mac
        wb = int(rng.integers(3, 9))
        w_fmt = FixedFormat(True, wb, wb - 1 - int(rng.integers(0, 2)))
        bb = int(rng.integers(4, 11))
        b_fmt = FixedFormat(True, bb, int(rng.integers(max(0, bb - 4), bb)))
        act = last_activation if last else "relu"
        ob = int(rng.integers(6, 13))
        of = ob - int(rng.integers(1, 4))
        out_fmt = FixedFormat(act == "linear", ob, of)
        out = Requant(out_fmt, "floor" if econt else "half_even", overflow)
        exact = in_frac + w_fmt.frac
        mac = dict(weight_format=w_fmt, bias_format=b_fmt, output=out, activation=act,
                   product_frac=(exact - int(rng.integers(1, 6))) if econt else None,
                   product_rounding="floor")
        if step[0] == "conv":
            _, filters, kernel, strides, padding = step
            wshape = (*kernel, cur[2], filters)
            layer = Conv2DLayer(name=f"conv{i_mac}" if n_mac > 2 else "conv", input_shape=tuple(cur),
                                weight=_weights(rng, wshape, w_fmt, zero_fraction, int(np.prod(wshape[:3]))),
                                bias=_weights(rng, (filters,), b_fmt, zero_fraction, 200),
                                kernel=kernel, strides=strides, padding=padding, **mac)
        else:
            units = step[1]
            layer = DenseLayer(name="dense", input_shape=tuple(cur),
                               weight=_weights(rng, (cur[0], units), w_fmt, zero_fraction, cur[0]),
                               bias=_weights(rng, (units,), b_fmt, zero_fraction, 200), **mac)
        layers.append(layer)
        cur = layer.output_shape
        in_frac = out_fmt.frac
    ir = EncoderIR(name=f"{architecture}_{arithmetic}_s{seed}", geometry="hgcal" if source[0] == "hgcal" else "none",
                   input=ip, layers=layers, arithmetic=arithmetic,
                   source={"generator": "encoder.ir.synthetic", "architecture": architecture, "seed": seed})
    infer_accumulators(ir)
    validate(ir)
    return ir
