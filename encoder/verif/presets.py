"""Random-weight IRs of the shipped model configs, for regressions before (or without) training.

The IR takes every format, shape and the input path from the config
(configs/*.yaml), exactly as an exported trained model would; only the
weight and bias codes are drawn, seeded, from a normal distribution scaled
to the layer's fan-in (so outputs spread over their range instead of
saturating), clipped to the format, with some exact zeros.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..ir import EncoderIR
from ..ir.schema import infer_accumulators


def _codes(rng, shape, fmt, fan_in: int, zero_fraction: float) -> np.ndarray:
    sigma = (2.0 / fan_in) ** 0.5 * 2.0 ** fmt.frac
    w = np.clip(np.rint(rng.normal(0.0, sigma, size=shape)), fmt.min_code, fmt.max_code).astype(np.int64)
    w[rng.random(shape) < zero_fraction] = 0
    return w


def preset_ir(config: str | Path, seed: int = 0, zero_fraction: float = 0.1) -> EncoderIR:
    """The config's encoder with seeded random weight and bias codes."""
    from ..training.config import load_config, skeleton_ir   # no TensorFlow: config parsing only
    cfg = load_config(config)
    rng = np.random.default_rng(seed)
    skeleton = skeleton_ir(cfg)
    weights = []
    for layer in skeleton.mac_layers:
        fan_in = int(np.prod(layer.weight.shape[:-1]))
        weights.append((_codes(rng, layer.weight.shape, layer.weight_format, fan_in, zero_fraction),
                        _codes(rng, layer.bias.shape, layer.bias_format, 4, zero_fraction)))
    ir = skeleton_ir(cfg, weights)
    ir.name = f"{cfg.name}_random_s{seed}"
    ir.source = {"config": str(config), "weights": f"random normal codes, seed {seed}"}
    infer_accumulators(ir)
    return ir
