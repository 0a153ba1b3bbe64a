"""The tail every MAC module shares: product leaves aligned to the accumulator, adder tree,
accumulator, activation and requantization."""

from __future__ import annotations

from .common import Options, _adder_tree, _instance, register_node, tree_depth
from .plan import OVERFLOW_CODE, ROUNDING_CODE, LayerPlan, round_int, width
from .verilog import Node, Writer, extend, fmt_name, literal, vec


def mac_cut(opts: Options, lp: LayerPlan, kind: str) -> bool:
    """Whether the register stage ``<layer>.<kind>`` (products, tree, accumulator) is chosen."""
    return opts.cut(f"{lp.name}.{kind}")


def _product_leaf(w: Writer, lp: LayerPlan, t: int, prod: str, p_bits: int, p_lo: int, p_hi: int,
                  indent: int = 1, cut: bool = False) -> Node:
    """Round the tap's product (if the IR rounds products) and align it to the accumulator.
    ``cut``: a register stage on the (rounded) product, before the alignment's zeros."""
    layer = lp.layer
    node = Node(prod, p_bits, p_lo, p_hi)
    shift = lp.product_shift
    if shift > 0:
        rule = layer.product_rounding
        r_lo, r_hi = round_int(p_lo, shift, rule), round_int(p_hi, shift, rule)
        r_bits = max(width(r_lo, r_hi)[1], 2)
        name = f"t{t}_rounded"
        w(f"wire {vec(r_bits)} {name};", indent)
        _instance(w, "enc_round_shift", [("IN_BITS", str(p_bits)), ("IN_SIGNED", str(int(p_lo < 0))),
                                         ("SHIFT", str(shift)), ("ROUNDING", f"{ROUNDING_CODE[rule]} /* {rule} */"),
                                         ("OUT_BITS", str(r_bits))],
                  f"t{t}_{rule}", [("x", prod), ("y", name)], indent)
        node = Node(name, r_bits, r_lo, r_hi)
        align = lp.acc_frac - lp.product_frac
    else:
        align = lp.acc_frac - lp.exact_frac
    if cut:
        node = register_node(w, node, indent)
    if align > 0:
        name = f"t{t}_term"
        w(f"wire {vec(node.bits + align)} {name} = {{{node.name}, {align}'b0}};", indent)
        node = Node(name, node.bits + align, node.lo << align, node.hi << align, align)
    return node


def _bias_leaf_const(w: Writer, lp: LayerPlan, value: int, indent: int = 1) -> Node | None:
    v = value << (lp.acc_frac - lp.layer.bias_format.frac)
    if v == 0:
        return None
    bits = width(v, v)[1]
    w(f"wire {vec(bits)} bias_term = {literal(v, bits)};", indent)
    return Node("bias_term", bits, v, v)


def tree_cut_level(opts: Options, lp: LayerPlan, n_leaves: int) -> int | None:
    """Where ``<layer>.tree`` registers a tree of n_leaves: after half its levels, rounded
    towards the products (which come out of the slower multipliers)."""
    return tree_depth(n_leaves) // 2 if mac_cut(opts, lp, "tree") else None


def _finish_mac(w: Writer, lp: LayerPlan, leaves: list[Node], opts: Options, indent: int = 1):
    """Adder tree, accumulator, activation and requantization (with the register stages opts names)."""
    acc_bits = lp.acc_bits
    cap = max([acc_bits] + [n.bits for n in leaves])
    acc_fmt = f"{'s' if lp.acc_signed else 'u'}{acc_bits}.{lp.acc_frac}"
    if leaves:
        w(f"// Adder tree: balanced, each node as wide as its value range.", indent)
        root = _adder_tree(w, leaves, cap, indent, cut_level=tree_cut_level(opts, lp, len(leaves)))
        if root.bits <= acc_bits:
            if mac_cut(opts, lp, "accumulator"):
                # The sum before its extension: extension bits would be copies or zeros.
                w("// Register stage on the accumulator (before its sign or zero extension).", indent)
                root = register_node(w, root, indent, "acc_q")
            w(f"wire {vec(acc_bits)} acc = {extend(root, acc_bits)};  // {acc_fmt}", indent)
        else:
            # Only when one product alone is wider than the layer's accumulator bound.
            w("/* verilator lint_off UNUSEDSIGNAL */", indent)
            w(f"wire {vec(root.bits)} acc_wide = {root.name};  // top bits: sign copies (range analysis)", indent)
            w("/* verilator lint_on UNUSEDSIGNAL */", indent)
            if mac_cut(opts, lp, "accumulator"):
                w("// Register stage on the accumulator.", indent)
                w(f"wire {vec(acc_bits)} acc_d = acc_wide[{acc_bits - 1}:0];", indent)
                acc = register_node(w, Node("acc_d", acc_bits, lp.acc_lo, lp.acc_hi, min(root.zeros, acc_bits)),
                                    indent, "acc_q")
                w(f"wire {vec(acc_bits)} acc = {acc.name};  // {acc_fmt}", indent)
            else:
                w(f"wire {vec(acc_bits)} acc = acc_wide[{acc_bits - 1}:0];  // {acc_fmt}", indent)
    else:
        w(f"wire {vec(acc_bits)} acc = {acc_bits}'d0;  // no product and no bias", indent)
    _requant(w, lp, indent)


def _requant(w: Writer, lp: LayerPlan, indent: int = 1):
    """Activation and requantization of the accumulator acc into the output code y."""
    _requant_named(w, lp, "acc", "y", "u_requant", indent)


def _requant_named(w: Writer, lp: LayerPlan, acc: str, y: str, inst: str, indent: int = 1):
    """Activation and requantization of the accumulator ``acc`` into the output code ``y``."""
    layer = lp.layer
    out = layer.output
    w("", indent)
    w(f"// {layer.activation}, then {out.rounding} to 2^-{out.format.frac}, {out.overflow} to {fmt_name(out.format)}.",
      indent)
    _instance(w, "enc_requant", [
        ("IN_BITS", str(lp.acc_bits)), ("IN_SIGNED", str(int(lp.acc_signed))),
        ("RELU", str(int(layer.activation == "relu"))), ("SHIFT", str(lp.acc_frac - out.format.frac)),
        ("ROUNDING", f"{ROUNDING_CODE[out.rounding]} /* {out.rounding} */"),
        ("OVERFLOW", f"{OVERFLOW_CODE[out.overflow]} /* {out.overflow} */"),
        ("OUT_BITS", str(out.format.bits)), ("OUT_SIGNED", str(int(out.format.signed))),
        ("CLAMP_HI", str(int(lp.clamp_hi))), ("CLAMP_LO", str(int(lp.clamp_lo))),
        ("CODE_BITS", str(lp.code_bits))], inst, [("acc", acc), ("y", y)], indent)
