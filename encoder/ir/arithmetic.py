"""The two arithmetics an IR can state, as a transformation of the same weights.

- ``qkeras``: inputs rounded half to even, products exact, every
  requantization half to even (what QKeras computes).
- ``econt``: the ECON-T chip's rules - inputs truncated, every product
  floored to the layer's output precision before the sum, requantization by
  flooring, saturation kept.

``with_arithmetic`` gives the same encoder (weights, formats, shapes) under
the other rules, with accumulators re-derived by interval analysis, so two
designs or two evaluations can differ in nothing else. It states exactly
what ``encoder export --arithmetic`` writes for a trained model.
"""

from __future__ import annotations

import copy

from .schema import EncoderIR, IRError, MacLayer, infer_accumulators, validate

ARITHMETICS = ("qkeras", "econt")


def with_arithmetic(ir: EncoderIR, arithmetic: str) -> EncoderIR:
    if arithmetic not in ARITHMETICS:
        raise IRError(f"arithmetic {arithmetic!r}: choose one of {', '.join(ARITHMETICS)}")
    out = copy.deepcopy(ir)
    floor = arithmetic == "econt"
    rounding = "floor" if floor else "half_even"
    out.arithmetic = arithmetic
    out.input.rounding = rounding
    for layer in out.layers:
        if not isinstance(layer, MacLayer):
            continue
        layer.product_frac = layer.output.format.frac if floor else None
        layer.product_rounding = "floor"
        layer.output.rounding = rounding
        layer.accumulator = None
    out.source = {**ir.source, "arithmetic_from": {"ir": ir.name, "hash": ir.hash, "arithmetic": ir.arithmetic}}
    infer_accumulators(out)
    validate(out)
    return out
