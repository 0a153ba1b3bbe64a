"""What the hardware computes, decided before any Verilog is written.

From an IR and the weight mode this module derives every fact the emitter
needs: which products exist (padding taps and masked pixels have none; in
constant mode zero weights have none either), the value range and width of
every bus (interval analysis), the accumulator of each layer (from
``encoder.ir.schema.accumulator_range`` or ``programmable_range``), the
requantization parameters, the input path widths and the register map.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..errors import UserError
from ..ir.fixed import FixedFormat, bits_for_range, shift_round
from ..ir.schema import (Conv2DLayer, DenseLayer, EncoderIR, FlattenLayer, MacLayer,
                         accumulator_frac, accumulator_range, programmable_range)

WEIGHT_MODES = ("programmable", "constant")
ROUNDING_CODE = {"floor": 0, "half_even": 1, "half_up": 2}
OVERFLOW_CODE = {"saturate": 0, "wrap": 1}


def width(lo: int, hi: int) -> tuple[bool, int]:
    """(signed, bits) of the smallest two's-complement or unsigned type holding [lo, hi]."""
    return bits_for_range(lo, hi)


def fmt_range(fmt: FixedFormat) -> tuple[int, int]:
    return fmt.min_code, fmt.max_code


def round_int(v: int, shift: int, rounding: str) -> int:
    """shift_round on one Python integer (exact for any size)."""
    if shift <= 0:
        return v << -shift
    return int(shift_round(np.array([v], dtype=np.int64), shift, rounding)[0]) if abs(v) < 2**62 else \
        _round_big(v, shift, rounding)


def _round_big(v: int, shift: int, rounding: str) -> int:
    q, rem = v >> shift, v - ((v >> shift) << shift)
    half = 1 << (shift - 1)
    if rounding == "floor":
        return q
    if rounding == "half_up":
        return q + (rem >= half)
    return q + (rem > half or (rem == half and q & 1 == 1))


def verilog_name(name: str) -> str:
    """A layer or IR name as a Verilog identifier fragment."""
    s = re.sub(r"[^A-Za-z0-9_]", "_", name).strip("_").lower()
    if not s or s[0].isdigit():
        s = "n_" + s
    return s


@dataclass
class Tap:
    """One product of a neuron: input ``src`` (flat index) times a weight."""

    src: int
    weight_index: int      # flat index into the Keras-layout weight array
    reg_index: int         # position of the weight in the layer's register order
    weight: int            # the IR's weight code (used as a constant in constant mode)


@dataclass
class Neuron:
    name: str              # e.g. conv_r1_c2_f5, dense_j3
    out_index: int         # flat output index (Keras flatten order)
    channel: int           # output channel: the bias index
    taps: list[Tap]
    removed_padding: int = 0
    removed_masked: int = 0
    removed_zero_weight: int = 0


@dataclass
class LayerPlan:
    layer: MacLayer
    name: str                      # Verilog-safe layer name
    first: bool
    in_names: list[str | None]     # per flat input index; None for a known-zero input
    in_lo: int
    in_hi: int
    in_frac: int
    exact_frac: int                # in_frac + weight frac
    product_frac: int              # frac of each product before the sum
    acc_frac: int
    acc_lo: int
    acc_hi: int
    acc_analysis: str              # which schema function bounded the accumulator
    out_lo: int                    # range of the codes this layer hands on
    out_hi: int
    code_bits: int                 # bus width carrying each output code
    clamp_hi: bool
    clamp_lo: bool
    neurons: list[Neuron]
    weight_base: int = 0           # first register address of the weights (programmable)
    bias_base: int = 0

    # -- derived widths --------------------------------------------------
    @property
    def in_signed(self) -> bool:
        return self.in_lo < 0

    @property
    def in_bits(self) -> int:
        return width(self.in_lo, self.in_hi)[1]

    @property
    def acc_signed(self) -> bool:
        return self.acc_lo < 0

    @property
    def acc_bits(self) -> int:
        return width(self.acc_lo, self.acc_hi)[1]

    @property
    def product_shift(self) -> int:
        """Right shift rounding each product (0: products kept exact)."""
        return max(self.exact_frac - self.product_frac, 0)

    @property
    def out_format(self) -> FixedFormat:
        return self.layer.output.format

    @property
    def code_signed(self) -> bool:
        return self.out_lo < 0

    @property
    def n_products(self) -> int:
        return sum(len(n.taps) for n in self.neurons)


@dataclass
class InputPlan:
    n_cells: int
    charge_bits: int
    sum_bits: int
    shift_bits: int
    code_bits: int
    frac: int
    rounding: str
    normalisation: str
    fixed_shift: int
    pre_shift: int
    post_shift: int
    q_bits: int
    used_cells: list[int]          # cells some pixel reads, ascending
    sum_exp_bits: int
    sum_mant_bits: int

    @property
    def sum_code_bits(self) -> int:
        return self.sum_exp_bits + self.sum_mant_bits


@dataclass
class RegisterGroup:
    layer: str                     # IR layer name
    kind: str                      # "weight" or "bias"
    base: int
    count: int
    bits: int
    order: str                     # how register order maps to the Keras index

    @property
    def name(self) -> str:
        return f"{verilog_name(self.layer)}_{self.kind}"


CFG_CONTROL_REGS = 7     # COMMIT, ENABLE, RD_ACTIVE, STATUS, COMMITS, UNMAPPED, DROPPED (rtl/enc_cfg_ctrl.v)


@dataclass
class DesignPlan:
    ir: EncoderIR
    top: str
    weights: str
    input: InputPlan
    layers: list[LayerPlan]
    groups: list[RegisterGroup] = field(default_factory=list)

    @property
    def n_fields(self) -> int:
        return sum(g.count for g in self.groups)

    @property
    def cfg_addr_bits(self) -> int:
        """Room for every field and the control registers after them (enc_cfg_ctrl)."""
        return max(1, (self.n_fields + CFG_CONTROL_REGS - 1).bit_length())

    @property
    def cfg_data_bits(self) -> int:
        return max(g.bits for g in self.groups)

    @property
    def config_bits(self) -> int:
        return sum(g.count * g.bits for g in self.groups)

    @property
    def latent_bits(self) -> int:
        return self.layers[-1].code_bits


# -- register order ------------------------------------------------------

def register_index(layer: MacLayer, keras_index: int) -> int:
    """Position of weight ``keras_index`` in the layer's register order.

    Conv weights keep Keras' HWIO flat order; dense weights are output-major
    (k = j * n_in + i, the transpose of the Keras kernel), as the ECON-T chip.
    """
    if isinstance(layer, DenseLayer):
        n_in, n_out = layer.weight.shape
        i, j = divmod(keras_index, n_out)
        return j * n_in + i
    return keras_index


def register_groups(ir: EncoderIR) -> list[RegisterGroup]:
    groups, addr = [], 0
    for layer in ir.mac_layers:
        order = ("Keras HWIO flat: k = ((ky*kw + kx)*c_in + ci)*c_out + f" if isinstance(layer, Conv2DLayer)
                 else "output-major: k = j*n_in + i (transpose of the Keras kernel)")
        for kind, values, fmt, how in (("weight", layer.weight, layer.weight_format, order),
                                       ("bias", layer.bias, layer.bias_format, "k = output channel")):
            groups.append(RegisterGroup(layer.name, kind, addr, int(values.size), fmt.bits, how))
            addr += int(values.size)
    return groups


def register_image(ir: EncoderIR) -> list[int]:
    """The configuration image of an IR: one field code per address, as the
    unsigned bit pattern (two's complement within the field width) that a
    testbench writes on cfg_wdata."""
    image = []
    for layer in ir.mac_layers:
        w = layer.weight.ravel()
        n = w.size
        by_reg = np.empty(n, dtype=np.int64)
        for k in range(n):
            by_reg[register_index(layer, k)] = w[k]
        for values, fmt in ((by_reg, layer.weight_format), (layer.bias.ravel(), layer.bias_format)):
            mask = (1 << fmt.bits) - 1
            image.extend(int(v) & mask for v in values)
    return image


# -- taps ------------------------------------------------------------------

def _conv_neurons(layer: Conv2DLayer, lname: str, known_zero: set[int], drop_zero: bool) -> list[Neuron]:
    h, w, cin = layer.input_shape
    oh, ow, cout = layer.output_shape
    kh, kw = layer.kernel
    sh, sw = layer.strides
    top, _, left, _ = layer.padding
    wflat = layer.weight.ravel()
    neurons = []
    for r in range(oh):
        for c in range(ow):
            for f in range(cout):
                n = Neuron(f"{lname}_r{r}_c{c}_f{f}", (r * ow + c) * cout + f, f, [])
                for ky in range(kh):
                    for kx in range(kw):
                        y, x = r * sh + ky - top, c * sw + kx - left
                        for ci in range(cin):
                            k = ((ky * kw + kx) * cin + ci) * cout + f
                            if not (0 <= y < h and 0 <= x < w):
                                n.removed_padding += 1
                                continue
                            src = (y * w + x) * cin + ci
                            if src in known_zero:
                                n.removed_masked += 1
                                continue
                            if drop_zero and wflat[k] == 0:
                                n.removed_zero_weight += 1
                                continue
                            n.taps.append(Tap(src, k, k, int(wflat[k])))
                neurons.append(n)
    return neurons


def _dense_neurons(layer: DenseLayer, lname: str, known_zero: set[int], drop_zero: bool) -> list[Neuron]:
    n_in, n_out = layer.weight.shape
    neurons = []
    for j in range(n_out):
        n = Neuron(f"{lname}_j{j}", j, j, [])
        for i in range(n_in):
            k = i * n_out + j
            if i in known_zero:
                n.removed_masked += 1
                continue
            if drop_zero and layer.weight[i, j] == 0:
                n.removed_zero_weight += 1
                continue
            n.taps.append(Tap(i, k, j * n_in + i, int(layer.weight[i, j])))
        neurons.append(n)
    return neurons


def _input_names(shape: tuple[int, ...], pixel_to_cell: np.ndarray) -> list[str | None]:
    h, w, c = shape
    names = []
    for p in range(h * w * c):
        r, rem = divmod(p, w * c)
        col, ch = divmod(rem, c)
        names.append(None if pixel_to_cell[p] < 0 else
                     f"pix_r{r}_c{col}" + (f"_ch{ch}" if c > 1 else ""))
    return names


def _carried_range(layer: MacLayer, acc_lo: int, acc_hi: int, acc_frac: int, last: bool) -> tuple[int, int, bool, bool]:
    """Range of the output codes, and whether saturation can reach the top/bottom."""
    out = layer.output
    fmt = out.format
    lo, hi = (max(acc_lo, 0), max(acc_hi, 0)) if layer.activation == "relu" else (acc_lo, acc_hi)
    shift = acc_frac - fmt.frac
    r_lo, r_hi = round_int(lo, shift, out.rounding), round_int(hi, shift, out.rounding)
    clamp_hi, clamp_lo = r_hi > fmt.max_code, r_lo < fmt.min_code
    if out.overflow == "saturate":
        c_lo, c_hi = min(max(r_lo, fmt.min_code), fmt.max_code), max(min(r_hi, fmt.max_code), fmt.min_code)
    elif clamp_hi or clamp_lo:          # wrap: any code of the format can come out
        c_lo, c_hi = fmt.min_code, fmt.max_code
    else:
        c_lo, c_hi = r_lo, r_hi
    if last:                            # the latent port carries the whole format
        c_lo, c_hi = min(c_lo, fmt.min_code), max(c_hi, fmt.max_code)
    return c_lo, c_hi, clamp_hi, clamp_lo


def _input_plan(ir: EncoderIR) -> InputPlan:
    ip = ir.input
    s_max = ip.n_cells * ((1 << ip.charge_bits) - 1)
    sum_bits = width(0, s_max)[1]
    shift_bits = width(0, max(sum_bits - 1, 1))[1]
    frac = ip.format.frac
    pre, post = max(frac, 0), max(-frac, 0)
    if ip.normalisation == "leading_one":
        q_bits = max(frac + 1, 1)               # count <= sum < 2^(m+1)
    else:
        top = (((1 << ip.charge_bits) - 1) << pre) >> (ip.shift + post) if ip.shift + post >= 0 else 0
        q_bits = width(0, top)[1]
        shift_bits = max(shift_bits, width(0, max(ip.shift, 1))[1])
        if ip.shift < 0:
            raise UserError(f"IR {ir.name!r}: input.shift {ip.shift} < 0 is not supported by the RTL")
    used = sorted({int(c) for c in ip.pixel_to_cell if c >= 0})
    return InputPlan(ip.n_cells, ip.charge_bits, sum_bits, shift_bits, ip.format.bits, frac, ip.rounding,
                     ip.normalisation, ip.shift, pre, post, q_bits, used, ip.sum_exp_bits, ip.sum_mant_bits)


def plan_design(ir: EncoderIR, weights: str = "programmable", top: str | None = None) -> DesignPlan:
    if weights not in WEIGHT_MODES:
        raise UserError(f"--weights: {weights!r} is not one of {list(WEIGHT_MODES)}")
    if ir.input.shape is None or len(ir.input.shape) != 3:
        raise UserError(f"IR {ir.name!r}: input shape must be (H, W, C)")
    top = top or verilog_name(ir.name)
    inp = _input_plan(ir)
    programmable = weights == "programmable"
    groups = register_groups(ir) if programmable else []
    gbase = {(g.layer, g.kind): g.base for g in groups}

    lo, hi = 0, ir.input.format.max_code
    frac = ir.input.format.frac
    names = _input_names(ir.input.shape, ir.input.pixel_to_cell)
    known_zero = {p for p, n in enumerate(names) if n is None}
    first = True
    plans: list[LayerPlan] = []
    macs = ir.mac_layers
    for layer in ir.layers:
        if isinstance(layer, FlattenLayer):
            continue                    # a renaming only: flat order is already (row, col, channel)
        lname = verilog_name(layer.name)
        if isinstance(layer, Conv2DLayer):
            neurons = _conv_neurons(layer, lname, known_zero if first else set(), not programmable)
        else:
            neurons = _dense_neurons(layer, lname, known_zero if first else set(), not programmable)
        if programmable:
            a_lo, a_hi = programmable_range(layer, lo, hi, frac)
            analysis = "programmable_range"
        else:
            a_lo, a_hi = accumulator_range(layer, lo, hi, frac)
            analysis = "accumulator_range"
        af = accumulator_frac(layer, frac)
        pf = frac + layer.weight_format.frac if layer.product_frac is None else layer.product_frac
        last = layer is macs[-1]
        c_lo, c_hi, clamp_hi, clamp_lo = _carried_range(layer, a_lo, a_hi, af, last)
        p = LayerPlan(layer=layer, name=lname, first=first, in_names=names, in_lo=lo, in_hi=hi, in_frac=frac,
                      exact_frac=frac + layer.weight_format.frac, product_frac=pf, acc_frac=af,
                      acc_lo=a_lo, acc_hi=a_hi, acc_analysis=analysis, out_lo=c_lo, out_hi=c_hi,
                      code_bits=width(c_lo, c_hi)[1], clamp_hi=clamp_hi, clamp_lo=clamp_lo, neurons=neurons,
                      weight_base=gbase.get((layer.name, "weight"), 0), bias_base=gbase.get((layer.name, "bias"), 0))
        if last:
            p.code_bits = layer.output.format.bits
        plans.append(p)
        names = [n.name for n in sorted(neurons, key=lambda n: n.out_index)]
        lo, hi, frac = c_lo, c_hi, layer.output.format.frac
        first = False
    return DesignPlan(ir=ir, top=top, weights=weights, input=inp, layers=plans, groups=groups)
