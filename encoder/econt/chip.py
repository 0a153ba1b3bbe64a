"""The ECON-T autoencoder as an IR, and the check that an IR fits the chip.

The chip's arithmetic is stated as IR data, so the golden model and the RTL
emitter need no chip-specific code:

- input: x_i = (CALQ_i << 7) >> m, truncated -> ``InputPath`` u8.7, rounding
  ``floor``, ``leading_one`` normalisation, 9-bit (5e4m) module-sum code;
- conv 3x3, 8 filters, stride 2, one zero row/column at the bottom/right:
  every product (2^-12) floored to 2^-7 before the sum -> ``product_frac`` 7,
  ``product_rounding`` ``floor``; the s6.5 bias aligned to the 2^-7
  accumulator (bias * 4); ReLU;
- dense 128 -> 16: products floored to 2^-8, bias * 8, ReLU, clamp to
  [0, 511] -> output u9.8 with ``saturate``.
"""

from __future__ import annotations

import numpy as np

from ..errors import UserError
from ..ir.fixed import FixedFormat
from ..ir.schema import (Conv2DLayer, DenseLayer, EncoderIR, FlattenLayer, InputPath, Requant,
                         infer_accumulators, programmable_range)
from .registers import AUTOENCODER, DENSITY_NAMES, N_CELLS, ChipConfig
from .weights import CONV_SHAPE, DENSE_SHAPE, ChipWeights

INPUT_FORMAT = FixedFormat(False, 8, 7)
WEIGHT_FORMAT = FixedFormat(True, 6, 5)          # weights and biases: value/32
LATENT_FORMAT = FixedFormat(False, 9, 8)
CONV_PRODUCT_FRAC = 7
DENSE_PRODUCT_FRAC = 8
CHARGE_BITS = 22                # CALQ of one TC: 21-bit decoded charge times a calibration below 2
SUM_EXP_BITS, SUM_MANT_BITS = 5, 4
SHAPE = (8, 8, 1)
KERNEL, STRIDES, PADDING = (3, 3), (2, 2), (0, 1, 0, 1)
GEOMETRY = "econt_mux"          # cells in the chip's autoencoder input order (after the mux)
ARRANGEMENT = "econt_8x8"
# CALQ counts per transverse MIP: the scale of the ECON-T training data (about 35 units per MIP).
COUNTS_PER_MIP = 35.0

CONV_OUTPUT_NOTE = (
    "The chip's HLS type for the conv output was not found in public sources; the IR uses the narrowest "
    "unsigned format at 2^-7 that holds every value any 6-bit weights and biases can produce from u8.7 "
    "inputs ({fmt}), so it never saturates. The chip's test vectors reach at most code 114.")


def chip_pixel_to_cell() -> np.ndarray:
    """8x8 pixel -> autoencoder input: rows 0-3 take x[8r+c], rows 4-7 cols 0-3 x[32+4(r-4)+c], rest zero."""
    p2c = np.full(64, -1, dtype=np.int64)
    for r in range(8):
        for c in range(8):
            if r < 4:
                p2c[8 * r + c] = 8 * r + c
            elif c < 4:
                p2c[8 * r + c] = 32 + 4 * (r - 4) + c
    return p2c


def _conv(weights: ChipWeights, output: FixedFormat) -> Conv2DLayer:
    return Conv2DLayer(
        name="conv", input_shape=SHAPE, weight=np.asarray(weights.conv_w, dtype=np.int64),
        weight_format=WEIGHT_FORMAT, bias=np.asarray(weights.conv_b, dtype=np.int64), bias_format=WEIGHT_FORMAT,
        output=Requant(output, "floor", "saturate"), activation="relu",
        product_frac=CONV_PRODUCT_FRAC, product_rounding="floor",
        kernel=KERNEL, strides=STRIDES, padding=PADDING)


def conv_output_format() -> FixedFormat:
    """Unsigned at 2^-7, wide enough for the largest ReLU output any 6-bit weights allow."""
    probe = _conv(ChipWeights(np.zeros(CONV_SHAPE, np.int64), np.zeros(CONV_SHAPE[-1], np.int64),
                              np.zeros(DENSE_SHAPE, np.int64), np.zeros(DENSE_SHAPE[-1], np.int64)),
                  FixedFormat(False, 32, CONV_PRODUCT_FRAC))
    _, hi = programmable_range(probe, 0, INPUT_FORMAT.max_code, INPUT_FORMAT.frac)
    return FixedFormat(False, max(1, hi.bit_length()), CONV_PRODUCT_FRAC)


def config_summary(cfg: ChipConfig) -> dict:
    """The non-weight registers the IR keeps (export writes them back)."""
    out = {
        "algorithm": cfg.algorithm,
        "density": cfg.density,
        "mux": list(cfg.mux),
        "cal": list(cfg.cal),
        "n_elinks": cfg.n_elinks,
        "mask_ae": f"0x{cfg.mask_ae:x}",
        "mask_ae2": f"0x{cfg.mask_ae2:x}",
        "layout": cfg.layout,
    }
    # The other algorithms' and the formatter buffer's registers travel along so that an export
    # writes back the configuration it was imported from, not the chip's reset values.
    for name in ("active_etxs", "drop_lsb", "buff_t1", "buff_t2", "buff_t3", "stc_type", "use_sum",
                 "link_reset_pattern"):
        if getattr(cfg, name) is not None:
            out[name] = getattr(cfg, name)
    if cfg.thresholds is not None:
        out["thresholds"] = list(cfg.thresholds)
    return out


def build_ir(weights: ChipWeights, cfg: ChipConfig, *, name: str = "econt_chip",
             counts_per_mip: float = COUNTS_PER_MIP, config_name: str | None = None) -> EncoderIR:
    """The chip's encoder with these weights, its arithmetic written out as IR fields."""
    conv_fmt = conv_output_format()
    ip = InputPath(n_cells=N_CELLS, arrangement=ARRANGEMENT, shape=SHAPE, pixel_to_cell=chip_pixel_to_cell(),
                   format=INPUT_FORMAT, rounding="floor", charge_bits=CHARGE_BITS,
                   counts_per_mip=float(counts_per_mip), normalisation="leading_one",
                   sum_exp_bits=SUM_EXP_BITS, sum_mant_bits=SUM_MANT_BITS)
    conv = _conv(weights, conv_fmt)
    flat = FlattenLayer("flatten", conv.output_shape)
    dense = DenseLayer(
        name="dense", input_shape=flat.output_shape, weight=np.asarray(weights.dense_w, dtype=np.int64),
        weight_format=WEIGHT_FORMAT, bias=np.asarray(weights.dense_b, dtype=np.int64), bias_format=WEIGHT_FORMAT,
        output=Requant(LATENT_FORMAT, "floor", "saturate"), activation="relu",
        product_frac=DENSE_PRODUCT_FRAC, product_rounding="floor")
    source = {
        "kind": "ECON-T I2C configuration",
        "config": config_name if config_name is not None else cfg.path,
        "econt": config_summary(cfg),
        "notes": {
            "counts_per_mip": "CALQ counts per transverse MIP (the ECON-T training data's scale); "
                              "charges in MIPs times this give back the chip's integer CALQ",
            "cells": "autoencoder inputs after the mux (MFC_MUX_SELECT), the order of calq_ae_order.csv",
            "conv_output": CONV_OUTPUT_NOTE.format(fmt=conv_fmt),
        },
    }
    ir = EncoderIR(name=name, geometry=GEOMETRY, input=ip, layers=[conv, flat, dense],
                   arithmetic="econt", source=source)
    infer_accumulators(ir)
    return ir


def ir_from_config(path, *, name: str | None = None, counts_per_mip: float = COUNTS_PER_MIP,
                   layout: str | None = None, cfg: ChipConfig | None = None) -> EncoderIR:
    """Read an ECON-T configuration and return the chip's encoder IR (one-line UserError on a bad file).

    ``layout``: the file's register layout (None: detected); ``cfg``: the configuration already read.
    """
    from pathlib import Path

    from .registers import ALGORITHMS, read_config, register_label
    from .weights import decode_blocks

    if cfg is None:
        cfg = read_config(path, layout)
    cfg.need("weight_blocks", "algorithm", "density", "mux", "cal", "n_elinks", "mask_ae", "mask_ae2")
    if cfg.algorithm != AUTOENCODER:
        raise UserError(f"{path}: register {register_label(cfg.layout, 'algorithm')} is {cfg.algorithm} "
                        f"({ALGORITHMS[cfg.algorithm]}), not {AUTOENCODER} (autoencoder)")
    if not counts_per_mip > 0:
        raise UserError(f"counts per MIP must be positive, got {counts_per_mip}")
    return build_ir(decode_blocks(cfg.weight_blocks), cfg, name=name or f"econt_{Path(path).stem}",
                    counts_per_mip=counts_per_mip, config_name=Path(path).name)


# -- does an IR fit the chip? -----------------------------------------------

def _fmt_problem(what: str, have: FixedFormat, want: FixedFormat) -> str | None:
    return None if have == want else f"{what} is {have}, the chip's is {want}"


def fit_problems(ir: EncoderIR) -> list[str]:
    """Why this IR cannot be written as the chip's register image (empty: it can)."""
    p: list[str] = []
    ip = ir.input
    if ip.n_cells != N_CELLS:
        p.append(f"input has {ip.n_cells} cells, the chip takes {N_CELLS}")
    if tuple(ip.shape) != SHAPE:
        p.append(f"input shape is {list(ip.shape)}, the chip's is {list(SHAPE)}")
    if ip.normalisation != "leading_one":
        p.append(f"input normalisation is {ip.normalisation}, the chip divides by the sum's leading one")
    p.append(_fmt_problem("input format", ip.format, INPUT_FORMAT))
    if (ip.sum_exp_bits, ip.sum_mant_bits) != (SUM_EXP_BITS, SUM_MANT_BITS):
        p.append(f"module-sum code is {ip.sum_exp_bits}e{ip.sum_mant_bits}m, the chip's is "
                 f"{SUM_EXP_BITS}e{SUM_MANT_BITS}m")
    ops = [layer.op for layer in ir.layers]
    if ops != ["conv2d", "flatten", "dense"]:
        p.append(f"layers are {ops}, the chip runs conv2d -> flatten -> dense")
        return [x for x in p if x]
    conv, _, dense = ir.layers
    if (tuple(conv.kernel), tuple(conv.strides), tuple(conv.padding)) != (KERNEL, STRIDES, PADDING):
        p.append(f"conv kernel/strides/padding are {list(conv.kernel)}/{list(conv.strides)}/"
                 f"{list(conv.padding)}, the chip's are {list(KERNEL)}/{list(STRIDES)}/{list(PADDING)} "
                 "(Keras 'same' with stride 2)")
    if tuple(conv.weight.shape) != CONV_SHAPE:
        p.append(f"conv kernel shape is {list(conv.weight.shape)}, the chip's is {list(CONV_SHAPE)}")
    if tuple(dense.weight.shape) != DENSE_SHAPE:
        p.append(f"dense kernel shape is {list(dense.weight.shape)}, the chip's is {list(DENSE_SHAPE)}")
    for layer in (conv, dense):
        p.append(_fmt_problem(f"{layer.name} weight format", layer.weight_format, WEIGHT_FORMAT))
        p.append(_fmt_problem(f"{layer.name} bias format", layer.bias_format, WEIGHT_FORMAT))
        if layer.activation != "relu":
            p.append(f"{layer.name} activation is {layer.activation}, the chip applies ReLU")
    p.append(_fmt_problem("latent format", dense.output.format, LATENT_FORMAT))
    if tuple(ip.shape) == SHAPE and ip.n_cells == N_CELLS:
        chip = chip_pixel_to_cell()
        fed = ip.pixel_to_cell[chip < 0] >= 0
        if fed.any():
            p.append(f"the IR feeds cells into {int(fed.sum())} pixels of the bottom-right quadrant, "
                     "which the chip holds at zero")
        empty = ip.pixel_to_cell[chip >= 0] < 0
        if empty.any():
            p.append(f"{int(empty.sum())} pixels the chip feeds from the mux are empty in the IR's arrangement")
    return [x for x in p if x]


def arithmetic_notes(ir: EncoderIR) -> list[str]:
    """Where the IR computes differently from the chip (the chip still runs its own arithmetic)."""
    notes = []
    if ir.input.rounding != "floor":
        notes.append(f"input rounding is {ir.input.rounding}; the chip truncates")
    if ir.layers and [layer.op for layer in ir.layers] == ["conv2d", "flatten", "dense"]:
        conv, _, dense = ir.layers
        for layer, pf in ((conv, CONV_PRODUCT_FRAC), (dense, DENSE_PRODUCT_FRAC)):
            if (layer.product_frac, layer.product_rounding) != (pf, "floor"):
                rule = "exact products" if layer.product_frac is None else \
                    f"products rounded ({layer.product_rounding}) to 2^-{layer.product_frac}"
                notes.append(f"{layer.name}: {rule}; the chip floors every product to 2^-{pf}")
        if conv.output.format.frac != CONV_PRODUCT_FRAC:
            notes.append(f"conv output is {conv.output.format}; the chip keeps 2^-{CONV_PRODUCT_FRAC}")
        if (dense.output.rounding, dense.output.overflow) != ("floor", "saturate"):
            notes.append(f"latents are {dense.output.rounding}/{dense.output.overflow}; the chip floors and clamps")
    return notes


def check_fits(ir: EncoderIR, where: str) -> None:
    problems = fit_problems(ir)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise UserError(f"{where}: does not fit the ECON-T: {problems[0]}{more}")


def weights_of(ir: EncoderIR) -> ChipWeights:
    conv, _, dense = ir.layers
    return ChipWeights(conv.weight, conv.bias, dense.weight, dense.bias)


def mux_for(ir: EncoderIR) -> list[int]:
    """Mux setting that feeds each chip pixel the cell the IR puts there.

    Autoencoder input i sits at a fixed chip pixel; the IR puts cell c there.
    For an IR imported from the chip, cell c is mux output c, which takes eRx
    TC mux[c] (kept in the IR's source); otherwise cell c is taken to arrive
    on eRx TC c.
    """
    chip = chip_pixel_to_cell()
    pixel_of_input = np.empty(N_CELLS, dtype=np.int64)
    pixel_of_input[chip[chip >= 0]] = np.flatnonzero(chip >= 0)
    cells = ir.input.pixel_to_cell[pixel_of_input]
    erx_of_cell = np.arange(N_CELLS)
    src = ir.source.get("econt") if isinstance(ir.source, dict) else None
    if ir.arithmetic == "econt" and isinstance(src, dict) and isinstance(src.get("mux"), list) \
            and len(src["mux"]) == N_CELLS:
        erx_of_cell = np.asarray(src["mux"], dtype=np.int64)
    return [int(v) for v in erx_of_cell[cells]]


def source_registers(ir: EncoderIR) -> dict:
    """Non-weight registers kept in an imported IR's source (empty if none)."""
    src = ir.source.get("econt") if isinstance(ir.source, dict) else None
    return dict(src) if isinstance(src, dict) else {}


def describe(cfg: ChipConfig) -> str:
    etx = "" if cfg.active_etxs is None or cfg.active_etxs == (1 << (cfg.n_elinks or 0)) - 1 \
        else f" (eTx mask 0x{cfg.active_etxs:x})"
    return (f"{DENSITY_NAMES.get(cfg.density, cfg.density)}-density, {cfg.n_elinks} e-links{etx}, "
            f"algorithm {cfg.algorithm}{'' if cfg.algorithm == AUTOENCODER else ' (not the autoencoder)'}, "
            f"layout {cfg.layout}")
