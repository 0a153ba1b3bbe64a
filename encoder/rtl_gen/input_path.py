"""The input path module: module sum, leading one, normalised input codes, module-sum code."""

from __future__ import annotations

from .common import CLOCK_PORT, Emitted, Options, _adder_tree, _assign_concat, _instance, header, register_node
from .plan import ROUNDING_CODE, DesignPlan
from .verilog import Node, Writer, extend, fmt_name, ports_block, vec


def input_path_module(plan: DesignPlan, opts: Options) -> Emitted:
    ip = plan.input
    ir = plan.ir
    name = f"{plan.top}_input_path"
    cb, n = ip.charge_bits, ip.n_cells
    nu = len(ip.used_cells)
    w = Writer()
    rule = ROUNDING_CODE[ip.rounding]
    norm = ("leading one of the module sum" if ip.normalisation == "leading_one"
            else f"fixed shift {ip.fixed_shift}")
    w.block(header(plan, opts, name, "raw cell counts -> input codes and the module-sum code.", [
        f"{n} counts of {cb} bits; module sum {ip.sum_bits} bits; normalisation by 2^-m, m = {norm};",
        f"input codes {fmt_name(ir.input.format)} rounded {ip.rounding}, saturated at the top code; "
        f"module-sum code {ip.sum_exp_bits}-bit exponent, {ip.sum_mant_bits}-bit mantissa.",
    ] + (["Register stage input_path.sum: module sum, leading one and used counts registered before the",
          "normalisers and the module-sum code (plain registers, no reset, as the top's)."]
         if opts.cut("input_path.sum") else [])))
    w("`default_nettype none")
    w()
    w(f"module {name} (")
    unused_cells = n - nu
    ports = [CLOCK_PORT] if opts.cut("input_path.sum") else []
    ports += [("input  wire", f"[{n}*{cb}-1:0]", f"charges  // cell c at [{cb}*c +: {cb}]"),
             ("output wire", f"[{nu}*{ip.code_bits}-1:0]", f"cell_codes  // used cells in cell order, [{ip.code_bits}*k +: {ip.code_bits}]"),
             ("output wire", vec(ip.sum_code_bits), "sum_code")]
    for line in ports_block(ports):
        w(line)
    w(");")
    w()
    w("// Module sum: balanced adder tree over all cells.", 1)
    leaves = []
    for c in range(n):
        nm = f"count_{c}"
        w(f"wire {vec(cb)} {nm} = charges[{cb}*{c} +: {cb}];", 1)
        leaves.append(Node(nm, cb, 0, (1 << cb) - 1))
    # Every partial sum is at most the module sum, so the cap never narrows a node.
    root = _adder_tree(w, leaves, cap=ip.sum_bits, prefix="msum_l")
    w(f"wire {vec(ip.sum_bits)} module_sum = {extend(root, ip.sum_bits)};", 1)
    w()
    w("// m = floor(log2(module sum)), 0 for an empty module.", 1)
    w(f"wire {vec(ip.shift_bits)} sum_leading_one;", 1)
    _instance(w, "enc_leading_one", [("IN_BITS", str(ip.sum_bits)), ("OUT_BITS", str(ip.shift_bits))],
              "u_leading_one", [("x", "module_sum"), ("pos", "sum_leading_one")])
    s, m, counts = "module_sum", "sum_leading_one", {c: f"count_{c}" for c in ip.used_cells}
    if opts.cut("input_path.sum"):
        s, m, counts = _register_sum(w, plan, root)
    w()
    _instance(w, "enc_sum_code", [("SUM_BITS", str(ip.sum_bits)), ("SHIFT_BITS", str(ip.shift_bits)),
                                  ("EXP_BITS", str(ip.sum_exp_bits)), ("MANT_BITS", str(ip.sum_mant_bits))],
              "u_sum_code", [("s", s), ("m", m), ("code", "sum_code")])
    w()
    if ip.normalisation == "leading_one":
        m_expr = m
    else:
        m_expr = f"{ip.shift_bits}'d{ip.fixed_shift}"
    w(f"// Input codes: count * 2^({ip.frac} - m), {ip.rounding}, saturated at {(1 << ip.code_bits) - 1}.", 1)
    for c in ip.used_cells:
        w(f"wire {vec(ip.code_bits)} code_{c};", 1)
        _instance(w, "enc_normalise", [("COUNT_BITS", str(cb)), ("SHIFT_BITS", str(ip.shift_bits)),
                                       ("PRE_SHIFT", str(ip.pre_shift)), ("POST_SHIFT", str(ip.post_shift)),
                                       ("Q_BITS", str(ip.q_bits)), ("ROUNDING", f"{rule} /* {ip.rounding} */"),
                                       ("CODE_BITS", str(ip.code_bits))],
                  f"u_code_{c}", [("count", counts[c]), ("m", m_expr), ("code", f"code_{c}")])
    w()
    _assign_concat(w, "cell_codes", [f"code_{c}" for c in ip.used_cells])
    if unused_cells:
        w(f"// {unused_cells} cells feed no pixel: they count in the module sum only.", 1)
    w("endmodule")
    w()
    w("`default_nettype wire")
    return Emitted(w.text(), w.flops)


def _register_sum(w: Writer, plan: DesignPlan, root: Node) -> tuple[str, str, dict[int, str]]:
    """Register stage input_path.sum, between the leading one and the shifts that use it: the module
    sum (not the narrower sum code, so that the code's shifter runs beside the normalisers), the
    leading one and every used cell's count. Returns the registered names."""
    ip = plan.input
    w()
    w("// Register stage: the module sum, its leading one and the counts of the used cells.", 1)
    s = register_node(w, Node("module_sum", ip.sum_bits, root.lo, root.hi), 1).name
    m = register_node(w, Node("sum_leading_one", ip.shift_bits, 0, (1 << ip.shift_bits) - 1), 1).name
    counts = {c: register_node(w, Node(f"count_{c}", ip.charge_bits, 0, (1 << ip.charge_bits) - 1), 1).name
              for c in ip.used_cells}
    return s, m, counts
