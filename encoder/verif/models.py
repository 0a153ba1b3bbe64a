"""Weight sets a programmable design is loaded with, and their agreement with the design's ports."""

from __future__ import annotations

import copy

import numpy as np

from ..errors import UserError
from ..ir import EncoderIR
from ..ir.schema import MacLayer, infer_accumulators
from .design import Design


def check_design_ir(design: Design, ir: EncoderIR, where: str = "IR") -> None:
    """The IR's input, latent and sum-code widths are the ones the ports carry."""
    cnt, lat, sc = design.port("in_counts"), design.port("out_latents"), design.port("out_sum_code")
    ip = ir.input
    problems = []
    if cnt.fields != ip.n_cells or cnt.element_width != ip.charge_bits:
        problems.append(f"input port {cnt.name} carries {cnt.fields} x {cnt.element_width} bits, "
                        f"the IR {ip.n_cells} cells of {ip.charge_bits} bits")
    if (lat.fields != ir.n_latent or lat.element_width != ir.latent_format.bits
            or lat.signed != ir.latent_format.signed):
        problems.append(f"output port {lat.name} carries {lat.fields} x {lat.element_width} "
                        f"{'signed' if lat.signed else 'unsigned'} bits, the IR {ir.n_latent} latents of "
                        f"{ir.latent_format}")
    if sc.width < ip.sum_exp_bits + ip.sum_mant_bits:
        problems.append(f"output port {sc.name} has {sc.width} bits, the sum code needs "
                        f"{ip.sum_exp_bits + ip.sum_mant_bits}")
    fr = design.framing
    if fr is not None:
        word = ir.n_latent * ir.latent_format.bits
        if fr.mask >> word:
            problems.append(f"the framing's latent mask 0x{fr.mask:x} is wider than the {word}-bit latent word")
        elif fr.mask_bits != word:
            problems.append(f"the latent mask register has {fr.mask_bits} bits, the latent word {word}")
        if 32 * fr.elinks <= 5 + sc.width:
            problems.append(f"{fr.elinks} e-links cannot carry the BX counter and a {sc.width}-bit sum code")
    if problems:
        raise UserError(f"{where} ({ir.name}) does not fit design {design.top}: " + "; ".join(problems))


def same_architecture(a: EncoderIR, b: EncoderIR) -> bool:
    """Same layers, shapes and formats: only the weight and bias codes may differ."""
    def skeleton(ir):
        d = ir.to_dict(with_hash=False)
        d.pop("name"), d.pop("source"), d.pop("summary")
        for layer in d["layers"]:
            for k in ("weight", "bias"):
                if k in layer:
                    layer[k] = {kk: vv for kk, vv in layer[k].items() if kk != "values"}
            layer.pop("accumulator", None)
        return d
    return skeleton(a) == skeleton(b)


def reweighted(ir: EncoderIR, seed: int) -> EncoderIR:
    """Another model of the same architecture: each layer's codes shuffled and nudged by -1..1.

    The code statistics stay those of the source model (a trained one gives
    trained-looking weights), while every individual weight changes.
    """
    rng = np.random.default_rng(seed)
    out = copy.deepcopy(ir)
    for layer in out.layers:
        if not isinstance(layer, MacLayer):
            continue
        for attr, fmt in (("weight", layer.weight_format), ("bias", layer.bias_format)):
            v = getattr(layer, attr)
            new = rng.permutation(v.ravel()) + rng.integers(-1, 2, v.size)
            setattr(layer, attr, np.clip(new, fmt.min_code, fmt.max_code).reshape(v.shape).astype(np.int64))
        layer.accumulator = None
    infer_accumulators(out)
    out.name = f"{ir.name}_reweighted_s{seed}"
    out.source = {"derived_from": ir.hash, "how": f"codes shuffled per layer and nudged by -1..1, seed {seed}"}
    return out
