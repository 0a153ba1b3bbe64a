"""MAC modules with constant weights, one per output (``TOP_<output name>``): enc_mul_const per
product, or the multiplier-free fused form (see ``const_terms``)."""

from __future__ import annotations

from .accumulate import _bias_leaf_const, _finish_mac, _product_leaf, _requant, mac_cut, tree_cut_level
from .common import (CLOCK_PORT, Emitted, Options, _adder_tree, _instance, close_module, header, register_node,
                     stage_note)
from .const_terms import _mac_inputs, const_products, constant_fused
from .plan import DesignPlan, LayerPlan, Neuron, width
from .verilog import Node, Writer, extend, fmt_name, ports_block, vec


def _stage_kinds(opts: Options, lp: LayerPlan) -> list[str]:
    return [k for k in ("products", "tree", "accumulator") if mac_cut(opts, lp, k)]


def _removed_taps(neuron: Neuron, masked: str = "masked-input") -> list[str]:
    """Why taps of this output have no product, for the module header (``masked``: the word
    for masked-pixel taps)."""
    removed = []
    if neuron.removed_padding:
        removed.append(f"{neuron.removed_padding} padding")
    if neuron.removed_masked:
        removed.append(f"{neuron.removed_masked} {masked}")
    if neuron.removed_zero_weight:
        removed.append(f"{neuron.removed_zero_weight} zero-weight")
    return removed


def mac_module_constant(plan: DesignPlan, opts: Options, lp: LayerPlan, neuron: Neuron, name: str) -> Emitted:
    if constant_fused(lp):
        return mac_module_constant_fused(plan, opts, lp, neuron, name)
    layer = lp.layer
    wf, bf = layer.weight_format, layer.bias_format
    a_bits, a_signed = lp.in_bits, lp.in_signed
    n_taps = len(neuron.taps)
    bias = int(layer.bias[neuron.channel])
    in_fmt = f"{'s' if a_signed else 'u'}{a_bits}.{lp.in_frac}"
    removed = _removed_taps(neuron)
    body = _body_multiplied(opts, lp, neuron, bias)
    w = Writer()
    w.block(header(plan, opts, name, f"output {neuron.name} of layer \"{layer.name}\" with constant weights.", [
        f"{n_taps} products of activations {in_fmt} by weight codes ({fmt_name(wf)}, literals below)"
        + (f", each {layer.product_rounding}ed to 2^-{lp.product_frac}" if lp.product_shift else ", exact") + ";",
        f"taps without a product: {', '.join(removed) if removed else 'none'};",
        f"bias code {bias} ({fmt_name(bf)}); accumulator {'s' if lp.acc_signed else 'u'}{lp.acc_bits}.{lp.acc_frac} "
        f"({lp.acc_analysis}); output {fmt_name(layer.output.format)}, carried on {lp.code_bits} bits.",
    ] + stage_note(body, _stage_kinds(opts, lp))))
    w("`default_nettype none")
    w()
    w(f"module {name} (")
    ports = [CLOCK_PORT] if body.flops else []
    if n_taps:
        ports.append(("input  wire", f"[{n_taps}*{a_bits}-1:0]", f"x  // activations, tap t at [{a_bits}*t +: {a_bits}]"))
    ports.append(("output wire", vec(lp.code_bits), "y  // output code"))
    for line in ports_block(ports):
        w(line)
    w(");")
    return close_module(w, body)


def _body_multiplied(opts: Options, lp: LayerPlan, neuron: Neuron, bias: int) -> Writer:
    """One enc_mul_const per product, bias, tree and requantization."""
    a_bits, a_signed = lp.in_bits, lp.in_signed
    w = Writer()
    leaves = []
    for t, tap in enumerate(neuron.taps):
        w()
        corners = [tap.weight * lp.in_lo, tap.weight * lp.in_hi]
        p_lo, p_hi = min(corners), max(corners)
        p_bits = max(width(p_lo, p_hi)[1], lp.product_shift + 2)
        prod = f"t{t}_prod"
        src = lp.in_names[tap.src]
        w(f"// tap {t}: {src} * {tap.weight}", 1)
        w(f"wire {vec(p_bits)} {prod};", 1)
        _instance(w, "enc_mul_const", [("A_BITS", str(a_bits)), ("A_SIGNED", str(int(a_signed))),
                                       ("B_VALUE", str(tap.weight)), ("P_BITS", str(p_bits))],
                  f"t{t}_mul", [("a", f"x[{a_bits}*{t} +: {a_bits}]"), ("p", prod)])
        leaves.append(_product_leaf(w, lp, t, prod, p_bits, p_lo, p_hi, cut=mac_cut(opts, lp, "products")))
    w()
    b_leaf = _bias_leaf_const(w, lp, bias)
    if b_leaf is not None:
        leaves.append(b_leaf)
        w()
    _finish_mac(w, lp, leaves, opts)
    return w


def mac_module_constant_fused(plan: DesignPlan, opts: Options, lp: LayerPlan, neuron: Neuron, name: str
                              ) -> Emitted:
    layer = lp.layer
    wf, bf = layer.weight_format, layer.bias_format
    F = lp.product_shift
    bias = int(layer.bias[neuron.channel])
    prods = const_products(lp, neuron)
    N = lp.acc_bits
    removed = _removed_taps(neuron)
    in_fmt = f"u{lp.in_bits}.{lp.in_frac}"
    ins, shared_leaves, covered = _mac_inputs(lp, neuron)
    body = _body_fused(opts, lp, neuron, name, ins, shared_leaves, covered)
    w = Writer()
    w.block(header(plan, opts, name, f"output {neuron.name} of layer \"{layer.name}\" with constant weights.", [
        f"{len(prods)} products of activations {in_fmt} by weight codes ({fmt_name(wf)})"
        + (f", each floored to 2^-{lp.product_frac}" if F else ", exact") + ";",
        f"taps without a product: {', '.join(removed) if removed else 'none'};",
        f"bias code {bias} ({fmt_name(bf)}); accumulator {'s' if lp.acc_signed else 'u'}{N}.{lp.acc_frac} "
        f"({lp.acc_analysis}); output {fmt_name(layer.output.format)}, carried on {lp.code_bits} bits.",
        "",
        "The layer module computes x*m once per input x and odd m; port t<k>_w<weight> (wn: negative)",
        "carries floor(x*m / 2^e) for |weight| = m*2^s, e = " + (f"{F} - s" if F else "-s")
        + ", and t<k>_w<weight>_exact whether",
        "x*m had no bits below that floor. Here: w > 0 adds the port; w < 0 adds its complement",
        "plus the exact bit (~v + exact = floor(-x*m / 2^e)). All constants in one literal. A port",
        "named after several taps carries the sum of their terms (complemented where w < 0, with",
        "their exact bits), which other outputs add too: the layer module computes it once.",
    ] + stage_note(body, _stage_kinds(opts, lp))))
    w("`default_nettype none")
    w()
    w(f"module {name} (")
    ports = [CLOCK_PORT] if body.flops else []
    ports += [("input  wire", vec(i.bits), f"{i.port}  // {i.comment}") for i in ins]
    ports.append(("output wire", vec(lp.code_bits), "y  // output code"))
    for line in ports_block(ports):
        w(line)
    w(");")
    return close_module(w, body)


def _body_fused(opts: Options, lp: LayerPlan, neuron: Neuron, name: str, ins, shared_leaves, covered) -> Writer:
    """Terms, exact bits, shared sums, tree, constants and requantization."""
    bf = lp.layer.bias_format
    bias = int(lp.layer.bias[neuron.channel])
    prods = const_products(lp, neuron)
    N = lp.acc_bits
    w = Writer()
    w()
    port = {i.port: i.port for i in ins}
    if mac_cut(opts, lp, "products"):
        # Every input port is a product (a slice of a shared multiple), a product's exact bit or a
        # shared sum of products: the stage registers them all as they arrive.
        w("// Register stage on the products: every input as it arrives.", 1)
        for i in ins:
            port[i.port] = register_node(w, Node(i.port, i.bits, 0, (1 << i.bits) - 1), 1).name
        w()
    const = bias << (lp.acc_frac - bf.frac)
    leaves: list[Node] = []
    exact_bits: dict[int, list[str]] = {}
    w("// Terms as unsigned bit patterns at the accumulator's LSB.", 1)
    for p in prods:
        if p.port and p.tap in covered:          # in a shared sum (exact bit too): only its constant here
            if p.negative:
                const -= (1 << p.bits) << p.shift
                if not p.exact_port:
                    const += 1 << p.shift
            continue
        elif p.port:
            pattern = f"~{port[p.port]}" if p.negative else port[p.port]
            lo, hi = ((1 << p.bits) - 1 - p.hi, (1 << p.bits) - 1) if p.negative else (0, p.hi)
            if p.negative:
                const -= (1 << p.bits) << p.shift
            bits = p.bits + p.shift
            if bits > N:
                raise ValueError(f"{name}: term {p.port} wider than the accumulator")
            nm = f"t{p.tap}_term"
            expr = f"{{{pattern}, {p.shift}'b0}}" if p.shift else pattern
            w(f"wire {vec(bits)} {nm} = {expr};", 1)
            leaves.append(Node(nm, bits, lo << p.shift, hi << p.shift, p.shift))
        elif p.negative:
            const -= 1 << p.shift           # ~0 on no bits: -1
        if p.negative:
            if p.exact_port:
                exact_bits.setdefault(p.shift, []).append(port[p.exact_port])
            else:
                const += 1 << p.shift
    for sp, bits, hi in shared_leaves:
        leaves.append(Node(port[sp], bits, 0, hi))
    for shift, names in sorted(exact_bits.items()):
        w()
        w(f"// Negative products whose floor dropped no bits: each adds 1 (2^{shift} here).", 1)
        nodes = [Node(n, 1, 0, 1) for n in names]
        root = _adder_tree(w, nodes, N, 1, prefix=f"exact_s{shift}_l") if len(nodes) > 1 else nodes[0]
        nm = f"exact_count_s{shift}"
        bits = root.bits + shift
        w(f"wire {vec(bits) + ' ' if bits > 1 else ''}{nm} = "
          + (f"{{{root.name}, {shift}'b0}};" if shift else f"{root.name};"), 1)
        leaves.append(Node(nm, bits, root.lo << shift, root.hi << shift, shift))
    const %= 1 << N
    acc_fmt = f"{'s' if lp.acc_signed else 'u'}{N}.{lp.acc_frac}"
    w()
    if leaves:
        w(f"// Adder tree: balanced, each node as wide as its value range (at most {N} bits: exact modulo 2^{N}).", 1)
        # Narrowest terms first, so that adders of similar widths pair up.
        root = _adder_tree(w, sorted(leaves, key=lambda n: n.hi), N, 1,
                           cut_level=tree_cut_level(opts, lp, len(leaves)))
        if mac_cut(opts, lp, "accumulator"):
            # On the tree's sum, before its extension and the constant: bits a register would take
            # from there are zeros or (through the constant's carries) copies of each other.
            w("// Register stage on the accumulator: the sum of the terms; bias and constants follow.", 1)
            root = register_node(w, root, 1, "acc_q")
        tree = extend(Node(root.name, root.bits, 0, 0), N) if root.bits < N else root.name
        if const:
            w(f"// Plus the bias and every constant of the terms, modulo 2^{N}.", 1)
            w(f"wire {vec(N)} acc = {tree} + {N}'d{const};  // {acc_fmt}", 1)
        else:
            w(f"wire {vec(N)} acc = {tree};  // {acc_fmt}", 1)
    else:
        w(f"wire {vec(N)} acc = {N}'d{const};  // bias only  ({acc_fmt})", 1)
    _requant(w, lp)
    return w

