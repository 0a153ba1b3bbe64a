"""IR weights <-> configuration register words, through the design's register map."""

from __future__ import annotations

import numpy as np

from ..errors import UserError
from ..ir import EncoderIR
from ..ir.schema import MacLayer
from .design import RegisterMap


def _params(ir: EncoderIR) -> dict[tuple[str, str], np.ndarray]:
    out = {}
    for layer in ir.layers:
        if isinstance(layer, MacLayer):
            out[(layer.name, "weight")] = layer.weight.ravel()
            out[(layer.name, "bias")] = layer.bias.ravel()
    return out


def check_coverage(regs: RegisterMap, ir: EncoderIR) -> None:
    """Every weight and bias of the IR has exactly one field, and fields do not overlap."""
    params = _params(ir)
    seen = {}
    for f in regs.fields:
        key = (f.layer, f.kind)
        if key not in params:
            raise UserError(f"register map: layer {f.layer!r} has no {f.kind} in IR {ir.name!r}")
        if f.index >= params[key].size:
            raise UserError(f"register map: {f.layer}.{f.kind}[{f.index}] is outside the IR's "
                            f"{params[key].size} values")
        if f.lsb + f.bits > regs.data_width:
            raise UserError(f"register map: {f.layer}.{f.kind}[{f.index}] at bits {f.lsb}+{f.bits} "
                            f"overflows the {regs.data_width}-bit register")
        if (key, f.index) in seen:
            raise UserError(f"register map: {f.layer}.{f.kind}[{f.index}] appears twice")
        seen[(key, f.index)] = f
    by_addr: dict[int, int] = {}
    for f in regs.fields:
        mask = ((1 << f.bits) - 1) << f.lsb
        if by_addr.get(f.addr, 0) & mask:
            raise UserError(f"register map: fields overlap at address {f.addr}")
        by_addr[f.addr] = by_addr.get(f.addr, 0) | mask
    n_params = sum(v.size for v in params.values())
    if len(seen) != n_params:
        raise UserError(f"register map: {len(seen)} fields for the IR's {n_params} weights and biases")


def image(regs: RegisterMap, ir: EncoderIR) -> dict[int, int]:
    """Register address -> word holding the IR's codes (two's complement in each field)."""
    params = _params(ir)
    words: dict[int, int] = {}
    for f in regs.fields:
        code = int(params[(f.layer, f.kind)][f.index])
        lo, hi = -(1 << (f.bits - 1)), (1 << f.bits) - 1
        if not lo <= code <= hi:
            raise UserError(f"{ir.name}: {f.layer}.{f.kind}[{f.index}] = {code} does not fit the "
                            f"{f.bits}-bit register field at address {f.addr}")
        words[f.addr] = words.get(f.addr, 0) | ((code & ((1 << f.bits) - 1)) << f.lsb)
    return dict(sorted(words.items()))


def field_mask(regs: RegisterMap) -> dict[int, int]:
    """Address -> bits that hold codes (other bits of a read-back word are not compared)."""
    masks: dict[int, int] = {}
    for f in regs.fields:
        masks[f.addr] = masks.get(f.addr, 0) | (((1 << f.bits) - 1) << f.lsb)
    return masks
