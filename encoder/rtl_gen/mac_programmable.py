"""MAC module with programmable weights: one enc_mul per product, weights and bias on ports.

All outputs of a layer with the same number of products share one module (``TOP_<layer>_mac<N>``)."""

from __future__ import annotations

from .accumulate import _finish_mac, _product_leaf, mac_cut
from .common import CLOCK_PORT, Emitted, Options, _instance, close_module, header, stage_note
from .plan import DesignPlan, LayerPlan
from .verilog import Node, Writer, fmt_name, ports_block, vec


def mac_module_programmable(plan: DesignPlan, opts: Options, lp: LayerPlan, n_taps: int, name: str) -> Emitted:
    layer = lp.layer
    wf, bf = layer.weight_format, layer.bias_format
    a_bits, a_signed = lp.in_bits, lp.in_signed
    p_bits = a_bits + wf.bits
    corners = [x * y for x in (lp.in_lo, lp.in_hi) for y in (wf.min_code, wf.max_code)]
    p_lo, p_hi = min(corners), max(corners)
    in_fmt = f"{'s' if a_signed else 'u'}{a_bits}.{lp.in_frac}"
    prod_fmt = f"{'s' if p_lo < 0 else 'u'}{p_bits}.{lp.exact_frac}"
    body = _body(opts, lp, n_taps, p_bits, p_lo, p_hi)
    w = Writer()
    w.block(header(plan, opts, name, f"one {layer.op} output of layer \"{layer.name}\" from {n_taps} products.", [
        f"Activations {in_fmt} x weights {fmt_name(wf)} -> products {prod_fmt}"
        + (f", each {layer.product_rounding}ed to 2^-{lp.product_frac}" if lp.product_shift else " (exact)") + ";",
        f"bias {fmt_name(bf)}; accumulator {'s' if lp.acc_signed else 'u'}{lp.acc_bits}.{lp.acc_frac} "
        f"({lp.acc_analysis}: any weights the formats allow);",
        f"output {fmt_name(layer.output.format)}, carried on {lp.code_bits} bits.",
    ] + stage_note(body, [k for k in ("products", "tree", "accumulator") if mac_cut(opts, lp, k)])))
    w("`default_nettype none")
    w()
    w(f"module {name} (")
    ports = [CLOCK_PORT] if body.flops else []
    if n_taps:
        ports += [("input  wire", f"[{n_taps}*{a_bits}-1:0]", f"x  // activations, tap t at [{a_bits}*t +: {a_bits}]"),
                  ("input  wire", f"[{n_taps}*{wf.bits}-1:0]", f"w  // weights, tap t at [{wf.bits}*t +: {wf.bits}]")]
    ports += [("input  wire", vec(bf.bits), f"b  // bias {fmt_name(bf)}"),
              ("output wire", vec(lp.code_bits), "y  // output code")]
    for line in ports_block(ports):
        w(line)
    w(");")
    return close_module(w, body)


def _body(opts: Options, lp: LayerPlan, n_taps: int, p_bits: int, p_lo: int, p_hi: int) -> Writer:
    """Products, bias, tree and requantization (written before the ports: a register stage adds clk)."""
    wf, bf = lp.layer.weight_format, lp.layer.bias_format
    a_bits, a_signed = lp.in_bits, lp.in_signed
    w = Writer()
    leaves = []
    for t in range(n_taps):
        w()
        prod = f"t{t}_prod"
        w(f"wire {vec(p_bits)} {prod};", 1)
        _instance(w, "enc_mul", [("A_BITS", str(a_bits)), ("A_SIGNED", str(int(a_signed))),
                                 ("B_BITS", str(wf.bits)), ("B_SIGNED", str(int(wf.signed)))],
                  f"t{t}_mul", [("a", f"x[{a_bits}*{t} +: {a_bits}]"), ("b", f"w[{wf.bits}*{t} +: {wf.bits}]"),
                                ("p", prod)])
        leaves.append(_product_leaf(w, lp, t, prod, p_bits, p_lo, p_hi, cut=mac_cut(opts, lp, "products")))
    w()
    shift = lp.acc_frac - bf.frac
    b_lo, b_hi = bf.min_code << shift, bf.max_code << shift
    b_node = Node("b", bf.bits, bf.min_code, bf.max_code)
    if shift > 0:
        w(f"wire {vec(bf.bits + shift)} bias_term = {{b, {shift}'b0}};  // bias aligned to 2^-{lp.acc_frac}", 1)
        b_node = Node("bias_term", bf.bits + shift, b_lo, b_hi, shift)
    leaves.append(b_node)
    w()
    _finish_mac(w, lp, leaves, opts)
    return w
