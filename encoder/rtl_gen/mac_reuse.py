"""Time-multiplexed layers (``encoder rtl --reuse R``, R > 1): each multiplier serves R products.

The layer's products are packed in output order (each output's taps in a row)
and dealt R at a time to the multipliers: product g goes to multiplier g // R
in phase g % R. So a layer of P products has ceil(P / R) multipliers, and an
output's products sit on a contiguous run of them; only the first and last
multiplier of a run may also serve a neighbouring output, and the product
they make in a phase that is not this output's is gated to zero before its
adder tree. Per cycle each multiplier takes its phase's activation and weight
through ``enc_field_sel`` (a mux of up to R fields: configuration registers
with programmable weights, literals with constant ones, which synthesis
folds into a small function of the phase). Each output adds its gated
products in a balanced tree and accumulates the R partial sums in
``enc_acc_tm`` (restarted from the bias on phase 0), as wide as the interval
analysis of the complete sum; then the usual activation and requantization.
Products stay exact (or are rounded each alone, as the IR says), so the
codes equal the fully parallel design's and the golden model's.

Timing of one layer: ``start`` (one cycle) loads the layer's input register
from x; phases 0..R-1 follow in the next R cycles (the phase counter restarts
on ``start``); the cycle after phase R-1, acc holds the complete sum and y
the output codes, which the next stage takes then. The next module may start
the layer in that same cycle: the accumulators are overwritten only at its
end. Modules come at most once every R cycles (the top enforces it).

``--product-register`` puts a register after each multiplier (after the
product's rounding, before its alignment), cutting the longest path of a
phase between the multiplier and the adder tree: the gates and accumulators
then follow the phase counter delayed by one cycle, and y is valid one cycle
later (R + 2 cycles after ``start``). The banks are still read only in phases
0..R-1 (the bias at phase 1, once the first products arrive), so the commit
timing is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UserError
from .accumulate import _requant_named
from .common import Emitted, Options, _adder_tree, _assign_concat, _instance, header
from .cuts import Cut, cut_points
from .plan import DesignPlan, LayerPlan, Neuron, Tap, round_int, width
from .verilog import Node, Writer, extend, fmt_name, literal, ports_block, vec

MAX_REUSE = 64
# With --reuse, register stages go only before the first layer: inside and between the
# layers the time-multiplexed datapath has registers of its own (input, accumulators).
REUSE_CUTS = ("charges", "input_path.sum", "input_path")
REUSE_PIPELINE_ORDER = ("input_path", "charges", "input_path.sum")


def check_reuse(reuse) -> int:
    if not isinstance(reuse, int) or isinstance(reuse, bool) or not 1 <= reuse <= MAX_REUSE:
        raise UserError(f"--reuse: {reuse!r} is not a whole number of products per multiplier in 1..{MAX_REUSE}")
    return reuse


def reuse_cuts(plan: DesignPlan, reuse: int, pipeline: int, cuts: list[str] | None) -> list[Cut]:
    """The register stages of a time-multiplexed design: only before the first layer."""
    by_name = {c.name: c for c in cut_points(plan)}
    if cuts is None:
        if not 0 <= pipeline <= len(REUSE_PIPELINE_ORDER):
            raise UserError(f"--pipeline: {pipeline} is outside 0..{len(REUSE_PIPELINE_ORDER)} with --reuse {reuse} "
                            f"(stages go only before the first layer: {', '.join(REUSE_PIPELINE_ORDER)})")
        chosen = set(REUSE_PIPELINE_ORDER[:pipeline])
    else:
        bad = [c for c in cuts if c not in REUSE_CUTS]
        unknown = [c for c in bad if c not in by_name]
        if unknown:
            raise UserError(f"--cuts: unknown cut {unknown[0]!r} (see --cuts list)")
        if bad:
            raise UserError(f"--cuts {bad[0]} is not supported with --reuse {reuse}: the time-multiplexed layers "
                            f"register on their own; stages can go at {', '.join(REUSE_CUTS)}")
        chosen = set(cuts)
    return [by_name[n] for n in REUSE_CUTS if n in chosen]


# -- packing -------------------------------------------------------------------

@dataclass
class Multiplier:
    index: int
    products: list[tuple[Neuron, Tap]]     # phase p -> the product it computes then


@dataclass
class OutputRun:
    """Where an output's products sit: global product indices [first, end)."""

    neuron: Neuron
    first: int
    end: int

    def multipliers(self, reuse: int) -> range:
        return range(self.first // reuse, (self.end - 1) // reuse + 1) if self.end > self.first else range(0)

    def phases(self, m: int, reuse: int) -> tuple[int, int]:
        """The phases [a, b) in which multiplier m computes a product of this output."""
        return max(self.first - m * reuse, 0), min(self.end - m * reuse, reuse)


def pack_layer(lp: LayerPlan, reuse: int) -> tuple[list[Multiplier], list[OutputRun]]:
    flat: list[tuple[Neuron, Tap]] = []
    runs = []
    for n in sorted(lp.neurons, key=lambda n: n.out_index):
        runs.append(OutputRun(n, len(flat), len(flat) + len(n.taps)))
        flat += [(n, t) for t in n.taps]
    mults = [Multiplier(m, flat[m * reuse:(m + 1) * reuse]) for m in range((len(flat) + reuse - 1) // reuse)]
    return mults, runs


def phase_bits(reuse: int) -> int:
    return max(1, (reuse - 1).bit_length())


# -- the layer module ------------------------------------------------------------

@dataclass
class _MulFacts:
    a_bits: int
    a_signed: bool
    b_bits: int
    b_signed: bool


def reuse_layer_module(plan: DesignPlan, opts: Options, lp: LayerPlan, in_slots: list[int], in_desc: list[str]
                       ) -> tuple[Emitted, list[_MulFacts]]:
    """A whole time-multiplexed layer in one module: input register, phase counter, multipliers
    with their operand selectors, gated adder trees, accumulators, requantization."""
    R = opts.reuse
    layer = lp.layer
    prog = opts.weights == "programmable"
    wf, bf = layer.weight_format, layer.bias_format
    a_bits, a_signed = lp.in_bits, lp.in_signed
    pb = phase_bits(R)
    name = f"{plan.top}_{lp.name}"
    n_x = max(in_slots) + 1
    n_out = len(lp.neurons)
    mults, runs = pack_layer(lp, R)
    used = sorted({t.src for n in lp.neurons for t in n.taps})
    used_slots = sorted({in_slots[s] for s in used})
    used_regs = {t.reg_index for n in lp.neurons for t in n.taps}
    acc_fmt = f"{'s' if lp.acc_signed else 'u'}{lp.acc_bits}.{lp.acc_frac}"

    body = Writer()
    facts: list[_MulFacts] = []
    body()
    body("// Input register: loaded on start, read during the R phases that follow (the stage", 1)
    body("// before may change its outputs meanwhile). Unused inputs have no flip-flop after synthesis.", 1)
    x_unread = len(used_slots) < n_x
    if x_unread:
        body("// The slots of inputs that meet no product are loaded but not read; synthesis trims them.", 1)
        body("/* verilator lint_off UNUSEDSIGNAL */", 1)
    body(f"reg [{n_x}*{a_bits}-1:0] x_hold;", 1)
    if x_unread:
        body("/* verilator lint_on UNUSEDSIGNAL */", 1)
    body("always @(posedge clk) if (start) x_hold <= x;", 1)
    body.flops += len(used_slots) * a_bits
    for d in in_desc[1:]:
        body(f"// {d}", 1)
    for s in used:
        body(f"wire {vec(a_bits)} {lp.in_names[s]} = x_hold[{a_bits}*{in_slots[s]} +: {a_bits}];", 1)
    body()
    body(f"// Phase 0..{R - 1}: which product each multiplier computes. Restarted by start, so the phases", 1)
    body("// of a module follow it whatever the gap before it; free-running otherwise (no reset needed).", 1)
    body(f"reg {vec(pb)} phase;", 1)
    last = f"{pb}'d{R - 1}"
    body(f"always @(posedge clk) phase <= (start || phase == {last}) ? {pb}'d0 : phase + {pb}'d1;", 1)
    body.flops += pb
    # --product-register: the products are registered, so everything after them (the gates, the
    # adder trees, the accumulators) works on the phase one cycle behind.
    ph, first = "phase", "phase_first"
    if opts.product_register:
        body(f"reg {vec(pb)} phase_q;  // the phase of the registered products", 1)
        body("always @(posedge clk) phase_q <= phase;", 1)
        body.flops += pb
        ph, first = "phase_q", "phase_q_first"
    body(f"wire {first} = {ph} == {pb}'d0;  // the accumulators restart from the bias", 1)

    terms: dict[int, Node] = {}
    selectors: dict[tuple[int, tuple[str, ...]], str] = {}   # one selector per distinct field list
    for m in mults:
        body()
        body(f"// m{m.index}: {len(m.products)} products, of {', '.join(_dedup([n.name for n, _ in m.products]))}.", 1)
        srcs = [lp.in_names[t.src] for _, t in m.products]
        if not prog and opts.reuse_constants == "products":
            terms[m.index] = _term(body, lp, m.index, _const_products(body, lp, m, srcs, pb), opts.product_register)
            continue
        a = _select(body, f"m{m.index}_a", a_bits, srcs, pb, selectors)
        if prog:
            b_bits, b_signed = wf.bits, wf.signed
            fields = [f"weight[{wf.bits}*{t.reg_index} +: {wf.bits}]" for _, t in m.products]
            b_lo, b_hi = wf.min_code, wf.max_code
        else:
            consts = [t.weight for _, t in m.products]
            b_lo, b_hi = min(consts + [0]), max(consts + [0])
            b_signed, b_bits = width(b_lo, b_hi)
            b_bits = max(b_bits, 2)
            fields = [f"{b_bits}'d{c & ((1 << b_bits) - 1)}" for c in consts]  # two's complement
        b = _select(body, f"m{m.index}_b", b_bits, fields, pb, selectors)
        p_bits = a_bits + b_bits
        corners = [x * y for x in (lp.in_lo, lp.in_hi) for y in (b_lo, b_hi)]
        prod = f"m{m.index}_prod"
        body(f"wire {vec(p_bits)} {prod};", 1)
        _instance(body, "enc_mul", [("A_BITS", str(a_bits)), ("A_SIGNED", str(int(a_signed))),
                                    ("B_BITS", str(b_bits)), ("B_SIGNED", str(int(b_signed)))],
                  f"m{m.index}_mul", [("a", a), ("b", b), ("p", prod)])
        facts.append(_MulFacts(a_bits, a_signed, b_bits, b_signed))
        terms[m.index] = _term(body, lp, m.index, Node(prod, p_bits, min(corners), max(corners)),
                               opts.product_register)

    for run in runs:
        n = run.neuron
        body()
        ms = run.multipliers(R)
        span = f"products on m{ms[0]}..m{ms[-1]}" if len(ms) > 1 else (f"products on m{ms[0]}" if ms else "no product")
        body(f"// {n.name}: {len(n.taps)} {span}; accumulator {acc_fmt}.", 1)
        leaves = []
        for m in ms:
            a, b = run.phases(m, R)
            t = terms[m]
            if (a, b) == (0, R):
                leaves.append(t)
                continue
            cond = _phase_cond(a, b, R, pb, ph)
            g = Node(f"{n.name}_m{m}", t.bits, min(t.lo, 0), max(t.hi, 0))
            body(f"wire {vec(t.bits)} {g.name} = ({cond}) ? {t.name} : {t.bits}'d0;  "
                 f"// phases {a}..{b - 1} are this output's", 1)
            leaves.append(g)
        init = _bias(body, lp, n, prog)
        acc = f"{n.name}_acc"
        if leaves or prog:
            if leaves:
                cap = max([lp.acc_bits] + [x.bits for x in leaves])
                root = _adder_tree(body, leaves, cap, 1, prefix=f"{n.name}_sum_l")
                part, note = f"{n.name}_part", ""
                if root.bits <= lp.acc_bits:
                    body(f"wire {vec(lp.acc_bits)} {part} = {extend(root, lp.acc_bits)};", 1)
                else:
                    # A partial sum may be wider than the complete one's range: the accumulator works modulo 2^bits.
                    body(f"wire {vec(lp.acc_bits)} {part} = {root.name}[{lp.acc_bits - 1}:0];  "
                         f"// modulo 2^{lp.acc_bits}", 1)
            else:
                # No product, but a bias from the configuration bank: taken at phase 0 like every other
                # output's, so that a commit between phase 0 and the output cycle cannot reach this output
                # alone (read combinationally, it showed the new bias to a crossing of the old weight set).
                part, note = f"{lp.acc_bits}'d0", ": the bias, taken at phase 0"
            body(f"wire {vec(lp.acc_bits)} {acc};  // {acc_fmt}{note}", 1)
            _instance(body, "enc_acc_tm", [("BITS", str(lp.acc_bits))], f"u_{n.name}_acc",
                      [("clk", "clk"), ("first", first), ("init", init), ("add", part), ("acc", acc)])
            body.flops += lp.acc_bits
        else:
            body(f"wire {vec(lp.acc_bits)} {acc} = {init};  // {acc_fmt}", 1)
        body(f"wire {vec(lp.code_bits)} {n.name};", 1)
        _requant_named(body, lp, acc, n.name, f"u_{n.name}_requant")
    body()
    _assign_concat(body, "y", [n.name for n in sorted(lp.neurons, key=lambda n: n.out_index)])

    w = Writer()
    shape = "x".join(str(s) for s in layer.input_shape)
    oshape = "x".join(str(s) for s in layer.output_shape)
    w.block(header(plan, opts, name, f"layer \"{layer.name}\" ({layer.op}, {shape} -> {oshape}), time-multiplexed.", [
        f"Reuse factor {R}: {lp.n_products} products on {len(mults)} multipliers over {R} phases "
        f"(clock {R} x the module rate);",
        f"inputs {'s' if a_signed else 'u'}{a_bits}.{lp.in_frac}, weights {fmt_name(wf)}"
        f"{' (programmable)' if prog else ' (constants, muxed per phase)'}, bias {fmt_name(bf)}, "
        f"accumulators {acc_fmt} ({lp.acc_analysis});",
        f"outputs {fmt_name(layer.output.format)} carried on {lp.code_bits} bits. start loads x; y is valid "
        f"{R + 1 + int(opts.product_register)} cycles later"
        + (" (products registered: --product-register)," if opts.product_register else ","),
        "for one cycle (see encoder/rtl_gen/mac_reuse.py for the packing and timing).",
    ]))
    w("`default_nettype none")
    w()
    w(f"module {name} (")
    ports = [("input  wire", "", "clk"),
             ("input  wire", "", "start  // loads x; the R phases follow")]
    ports.append(("input  wire", f"[{n_x}*{a_bits}-1:0]", f"x  // {in_desc[0]}"))
    if prog:
        ports.append(("input  wire", f"[{layer.weight.size}*{wf.bits}-1:0]",
                      f"weight  // register order, field k at [{wf.bits}*k +: {wf.bits}]"))
        ports.append(("input  wire", f"[{layer.bias.size}*{bf.bits}-1:0]", f"bias  // field k at [{bf.bits}*k +: {bf.bits}]"))
    ports.append(("output wire", f"[{n_out}*{lp.code_bits}-1:0]",
                  f"y  // output i (Keras flatten order) at [{lp.code_bits}*i +: {lp.code_bits}]"))
    # x is read whole into x_hold (its unread slots are waived there); only weights can go unread here.
    waive = {"weight": prog and len(used_regs) < layer.weight.size}
    for (_, _, rest), line in zip(ports, ports_block(ports)):
        pname = rest.split("//")[0].strip()
        if waive.get(pname):
            w("    // weights that meet no product (padding, masked pixels) are not read")
            w("    /* verilator lint_off UNUSEDSIGNAL */")
        w(line)
        if waive.get(pname):
            w("    /* verilator lint_on UNUSEDSIGNAL */")
    w(");")
    w.extend(body)
    w("endmodule")
    w()
    w("`default_nettype wire")
    return Emitted(w.text(), w.flops), facts


def _dedup(names: list[str]) -> list[str]:
    out: list[str] = []
    for n in names:
        if n not in out:
            out.append(n)
    return out


def _select(w: Writer, name: str, bits: int, fields: list[str], pb: int,
            selectors: dict[tuple[int, tuple[str, ...]], str]) -> str:
    """The phase's field among ``fields`` (one per phase); a plain wire when there is one.

    Multipliers whose operand runs through the same fields in the same phases share one
    selector (``selectors``): a dense layer's outputs all read their inputs in the same order,
    so at R = 8 the ECON-T dense layer needs 16 activation selectors, not 256. Hierarchical
    synthesis keeps every instance, so the sharing has to be in the Verilog."""
    if len(fields) == 1:
        w(f"wire {vec(bits)} {name} = {fields[0]};  // one product: no selector", 1)
        return name
    key = (bits, tuple(fields))
    if key in selectors:
        w(f"// {name}: the fields of {selectors[key]}, shared", 1)
        return selectors[key]
    selectors[key] = name
    w(f"wire {vec(bits)} {name};", 1)
    cat = "{" + ", ".join(reversed(fields)) + "}"
    _instance(w, "enc_field_sel", [("WIDTH", str(bits)), ("COUNT", str(len(fields))), ("SEL_BITS", str(pb))],
              f"{name}_sel", [("fields", cat), ("sel", "phase"), ("y", name)])
    return name


def _const_products(w: Writer, lp: LayerPlan, m: Multiplier, srcs: list[str], pb: int) -> Node:
    """The other constant-weight form (measured, not the default): each phase's product by its own
    shift-and-add constant multiplier (enc_mul_const) on its own input, then a mux of the R products."""
    nodes = []
    for p, ((_, t), src) in enumerate(zip(m.products, srcs)):
        c = t.weight
        lo, hi = min(lp.in_lo * c, lp.in_hi * c), max(lp.in_lo * c, lp.in_hi * c)
        bits = width(lo, hi)[1]
        name = f"m{m.index}_p{p}"
        w(f"wire {vec(bits)} {name};", 1)
        _instance(w, "enc_mul_const", [("A_BITS", str(lp.in_bits)), ("A_SIGNED", str(int(lp.in_signed))),
                                       ("B_VALUE", str(c)), ("P_BITS", str(bits))], f"{name}_mul",
                  [("a", src), ("p", name)])
        nodes.append(Node(name, bits, lo, hi))
    lo, hi = min(n.lo for n in nodes + [Node("", 1, 0, 0)]), max(n.hi for n in nodes + [Node("", 1, 0, 0)])
    bits = width(lo, hi)[1]
    name = f"m{m.index}_prod"
    w(f"wire {vec(bits)} {name};", 1)
    fields = [extend(n, bits) for n in nodes]
    if len(fields) == 1:
        w(f"assign {name} = {fields[0]};", 1)
    else:
        _instance(w, "enc_field_sel", [("WIDTH", str(bits)), ("COUNT", str(len(fields))), ("SEL_BITS", str(pb))],
                  f"{name}_sel", [("fields", "{" + ", ".join(reversed(fields)) + "}"), ("sel", "phase"), ("y", name)])
    return Node(name, bits, lo, hi)


def _phase_cond(a: int, b: int, reuse: int, pb: int, ph: str = "phase") -> str:
    if b - a == 1:
        return f"{ph} == {pb}'d{a}"
    parts = []
    if a > 0:
        parts.append(f"{ph} >= {pb}'d{a}")
    if b < reuse:
        parts.append(f"{ph} < {pb}'d{b}")
    return " && ".join(parts)


def _term(w: Writer, lp: LayerPlan, m: int, node: Node, register: bool = False) -> Node:
    """Round the product (if the IR rounds products), register it (``register``: --product-register)
    and align it to the accumulator's fraction (after the register: the alignment zeros need no
    flip-flops)."""
    from .plan import ROUNDING_CODE
    shift = lp.product_shift
    if shift > 0:
        rule = lp.layer.product_rounding
        r_lo, r_hi = round_int(node.lo, shift, rule), round_int(node.hi, shift, rule)
        r_bits = max(width(r_lo, r_hi)[1], 2)
        name = f"m{m}_rounded"
        w(f"wire {vec(r_bits)} {name};", 1)
        _instance(w, "enc_round_shift", [("IN_BITS", str(node.bits)), ("IN_SIGNED", str(int(node.lo < 0))),
                                         ("SHIFT", str(shift)), ("ROUNDING", f"{ROUNDING_CODE[rule]} /* {rule} */"),
                                         ("OUT_BITS", str(r_bits))], f"m{m}_{rule}", [("x", node.name), ("y", name)])
        node = Node(name, r_bits, r_lo, r_hi)
        align = lp.acc_frac - lp.product_frac
    else:
        align = lp.acc_frac - lp.exact_frac
    if register:
        name = f"m{m}_q"
        w(f"reg {vec(node.bits)} {name};  // the product, a cycle later", 1)
        w(f"always @(posedge clk) {name} <= {node.name};", 1)
        w.flops += node.bits
        node = Node(name, node.bits, node.lo, node.hi)
    if align > 0:
        name = f"m{m}_term"
        w(f"wire {vec(node.bits + align)} {name} = {{{node.name}, {align}'b0}};", 1)
        node = Node(name, node.bits + align, node.lo << align, node.hi << align, align)
    return node


def _bias(w: Writer, lp: LayerPlan, n: Neuron, prog: bool) -> str:
    """The accumulator's starting value: the output's bias aligned to the accumulator, as an expression."""
    bf = lp.layer.bias_format
    shift = lp.acc_frac - bf.frac
    acc_bits = lp.acc_bits
    if not prog:
        v = int(lp.layer.bias.ravel()[n.channel]) << shift
        return literal(v, acc_bits)
    name = f"{n.name}_bias"
    node = Node(f"bias[{bf.bits}*{n.channel} +: {bf.bits}]", bf.bits, bf.min_code, bf.max_code)
    if shift > 0:
        w(f"wire {vec(bf.bits + shift)} {name}_aligned = {{{node.name}, {shift}'b0}};  "
          f"// bias aligned to 2^-{lp.acc_frac}", 1)
        node = Node(f"{name}_aligned", bf.bits + shift, bf.min_code << shift, bf.max_code << shift)
    elif node.bits < acc_bits:
        w(f"wire {vec(bf.bits)} {name}_field = {node.name};", 1)
        node = Node(f"{name}_field", bf.bits, bf.min_code, bf.max_code)
    w(f"wire {vec(acc_bits)} {name} = {extend(node, acc_bits)};", 1)
    return name
