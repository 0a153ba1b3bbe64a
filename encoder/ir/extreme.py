"""Weight sets at the limits of each tensor's fixed-point format, for regressions at the extremes.

Trained weights and the random presets sit well inside their formats, so
the widest products, the largest accumulator sums and the saturation of
every requantizer are rarely reached. These sets put every weight and bias
code at the format's limits instead, tensor by tensor (each with its own
signedness and width):

- ``max``: every code at its format's largest value;
- ``min``: every code at its smallest (the most negative for a signed
  format, 0 for an unsigned one);
- ``alternating``: max and min by turns in each tensor's storage order
  (flat index even: max, odd: min), so neighbouring products pull both ways;
- ``uniform``: codes drawn uniformly over the whole range, min and max
  included, seeded.

The architecture (layers, shapes, formats) is kept; the accumulators are
inferred again for the new codes, as for any IR.
"""

from __future__ import annotations

import copy

import numpy as np

from ..errors import UserError
from .fixed import FixedFormat
from .schema import EncoderIR, MacLayer, infer_accumulators

WEIGHT_SETS = ("max", "min", "alternating", "uniform")


def limit_codes(fmt: FixedFormat, shape: tuple[int, ...], which: str, rng: np.random.Generator) -> np.ndarray:
    """Codes of one tensor of ``shape`` in ``fmt``, set ``which`` (see the module doc)."""
    n = int(np.prod(shape)) if shape else 1
    if which == "max":
        flat = np.full(n, fmt.max_code)
    elif which == "min":
        flat = np.full(n, fmt.min_code)
    elif which == "alternating":
        flat = np.where(np.arange(n) % 2 == 0, fmt.max_code, fmt.min_code)
    elif which == "uniform":
        flat = rng.integers(fmt.min_code, fmt.max_code, size=n, endpoint=True)
    else:
        raise UserError(f"weight set {which!r} is not one of {', '.join(WEIGHT_SETS)}")
    return flat.astype(np.int64).reshape(shape)


def extreme_ir(ir: EncoderIR, which: str, seed: int = 0) -> EncoderIR:
    """``ir`` with every weight and bias code replaced by set ``which``; ``seed`` only matters for uniform."""
    if which not in WEIGHT_SETS:
        raise UserError(f"weight set {which!r} is not one of {', '.join(WEIGHT_SETS)}")
    rng = np.random.default_rng(seed)
    out = copy.deepcopy(ir)
    for layer in out.layers:
        if not isinstance(layer, MacLayer):
            continue
        layer.weight = limit_codes(layer.weight_format, tuple(layer.weight.shape), which, rng)
        layer.bias = limit_codes(layer.bias_format, tuple(layer.bias.shape), which, rng)
        layer.accumulator = None
    infer_accumulators(out)
    tag = f"uniform_s{seed}" if which == "uniform" else which
    out.name = f"{ir.name}_{tag}"
    how = (f"every weight and bias code drawn uniformly over its format's range, seed {seed}" if which == "uniform"
           else {"max": "every weight and bias code at its format's maximum",
                 "min": "every weight and bias code at its format's minimum",
                 "alternating": "weight and bias codes at their format's maximum and minimum by turns "
                                "(flat index even: maximum)"}[which])
    out.source = {"derived_from": ir.hash, "how": how}
    return out
