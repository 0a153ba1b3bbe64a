"""Layer modules: name every input and output code, instantiate one MAC module per output
(and, with fused constant weights, compute the shared odd multiples and sums)."""

from __future__ import annotations

import re

from .common import CLOCK_PORT, Emitted, Options, _assign_concat, _wrap_concat, header
from .const_terms import _layer_multiples, _layer_shared_sums, _mac_inputs, constant_fused
from .mac_constant import _removed_taps, mac_module_constant
from .mac_programmable import mac_module_programmable
from .plan import DesignPlan, LayerPlan, Neuron
from .verilog import Writer, fmt_name, ports_block, vec


def _mac_name(plan: DesignPlan, lp: LayerPlan, neuron: Neuron, weights: str) -> str:
    if weights == "programmable":
        return f"{plan.top}_{lp.name}_mac{len(neuron.taps)}"
    return f"{plan.top}_{neuron.name}"


def mac_modules(plan: DesignPlan, opts: Options, lp: LayerPlan) -> dict[str, tuple[Emitted, int]]:
    """The MAC modules a layer instantiates, in output order: name -> (module, instances)."""
    out: dict[str, tuple[Emitted, int]] = {}
    for n in sorted(lp.neurons, key=lambda n: n.out_index):
        mod = _mac_name(plan, lp, n, opts.weights)
        if mod in out:
            out[mod] = (out[mod][0], out[mod][1] + 1)
            continue
        em = (mac_module_programmable(plan, opts, lp, len(n.taps), mod) if opts.weights == "programmable"
              else mac_module_constant(plan, opts, lp, n, mod))
        out[mod] = (em, 1)
    return out


def layer_module(plan: DesignPlan, opts: Options, lp: LayerPlan, in_slots: list[int], in_desc: list[str],
                 clocked: frozenset[str] = frozenset()) -> Emitted:
    """in_slots[flat input index] = position on the x bus (-1: not on the bus);
    clocked: the MAC modules with register stages inside (they take clk)."""
    layer = lp.layer
    prog = opts.weights == "programmable"
    a_bits = lp.in_bits
    n_x = max(in_slots) + 1
    wf, bf = layer.weight_format, layer.bias_format
    name = f"{plan.top}_{lp.name}"
    used = sorted({t.src for n in lp.neurons for t in n.taps})
    used_slots = {in_slots[s] for s in used}
    used_regs = {t.reg_index for n in lp.neurons for t in n.taps}
    n_w = layer.weight.size
    n_out = len(lp.neurons)
    w = Writer()
    shape = "x".join(str(s) for s in layer.input_shape)
    oshape = "x".join(str(s) for s in layer.output_shape)
    w.block(header(plan, opts, name, f"layer \"{layer.name}\" ({layer.op}, {shape} -> {oshape}).", [
        f"{lp.n_products} products; inputs {'s' if lp.in_signed else 'u'}{a_bits}.{lp.in_frac}, "
        f"weights {fmt_name(wf)}, bias {fmt_name(bf)}, accumulator {'s' if lp.acc_signed else 'u'}{lp.acc_bits}.{lp.acc_frac},",
        f"outputs {fmt_name(layer.output.format)} carried on {lp.code_bits} bits "
        f"(range [{lp.out_lo}, {lp.out_hi}]).",
    ] + ([f"Register stages inside the MAC modules: "
          f"{', '.join(k for k in ('products', 'tree', 'accumulator') if opts.cut(f'{lp.name}.{k}'))}."]
         if clocked else [])))
    w("`default_nettype none")
    w()
    w(f"module {name} (")
    ports = [CLOCK_PORT] if clocked else []
    x_waive = len(used_slots) < n_x
    ports.append(("input  wire", f"[{n_x}*{a_bits}-1:0]", f"x  // {in_desc[0]}"))
    if prog:
        ports.append(("input  wire", f"[{n_w}*{wf.bits}-1:0]", f"weight  // register order, field k at [{wf.bits}*k +: {wf.bits}]"))
        ports.append(("input  wire", f"[{layer.bias.size}*{bf.bits}-1:0]", f"bias  // field k at [{bf.bits}*k +: {bf.bits}]"))
    ports.append(("output wire", f"[{n_out}*{lp.code_bits}-1:0]", f"y  // output i (Keras flatten order) at [{lp.code_bits}*i +: {lp.code_bits}]"))
    lines = ports_block(ports)
    w_waive = prog and len(used_regs) < n_w
    for (d, _, rest), line in zip(ports, lines):
        pname = rest.split("//")[0].strip()
        waive = (pname == "x" and x_waive) or (pname == "weight" and w_waive)
        if waive:
            why = ("inputs with no product (zero weights, or no kernel position reaches them) are not read"
                   if pname == "x" else "weights that only ever meet padding or masked inputs are not read")
            w(f"    // {why}")
            w("    /* verilator lint_off UNUSEDSIGNAL */")
        w(line)
        if waive:
            w("    /* verilator lint_on UNUSEDSIGNAL */")
    w(");")
    w()
    for d in in_desc[1:]:
        w(f"// {d}", 1)
    fused = not prog and constant_fused(lp)
    for s in used:
        slot = in_slots[s]
        w(f"wire {vec(a_bits)} {lp.in_names[s]} = x[{a_bits}*{slot} +: {a_bits}];", 1)
    if fused:
        _layer_multiples(w, lp)
        _layer_shared_sums(w, lp)
    for n in sorted(lp.neurons, key=lambda n: n.out_index):
        w()
        removed = _removed_taps(n, masked="masked")
        note = f" ({', '.join(removed)} taps removed)" if removed else ""
        w(f"// {n.name}: {len(n.taps)} products{note}", 1)
        w(f"wire {vec(lp.code_bits)} {n.name};", 1)
        mod = _mac_name(plan, lp, n, opts.weights)
        conns = [("clk", "clk")] if mod in clocked else []
        w(f"{mod} u_{n.name} (", 1)
        if fused:
            conns += [(i.port, i.source) for i in _mac_inputs(lp, n)[0]]
        elif n.taps:
            xs = _wrap_concat([lp.in_names[t.src] for t in n.taps])
            conns.append(("x", xs))
        if prog and n.taps:
            conns.append(("w", _wrap_concat([f"weight[{wf.bits}*{t.reg_index} +: {wf.bits}]" for t in n.taps], 3)))
        if prog:
            conns.append(("b", f"bias[{bf.bits}*{n.channel} +: {bf.bits}]"))
        conns.append(("y", [n.name]))
        for i, (p, v) in enumerate(conns):
            v = v if isinstance(v, list) else [v]
            sep = "," if i < len(conns) - 1 else ""
            if len(v) == 1:
                w(f".{p}({v[0]}){sep}", 2)
            else:
                w(f".{p}({v[0]}", 2)
                for part in v[1:-1]:
                    w(f"   {part}", 2)
                w(f"   {v[-1]}){sep}", 2)
        w(");", 1)
    w()
    # One assignment for the whole bus (a bus driven slice by slice makes an
    # event-driven simulator re-send all of it on every slice's change).
    _assign_concat(w, "y", [n.name for n in sorted(lp.neurons, key=lambda n: n.out_index)])
    if fused:
        _unread_bits_sink(w)
    w("endmodule")
    w()
    w("`default_nettype wire")
    return Emitted(w.text(), w.flops)


_DECL = re.compile(r"^\s*wire \[(\d+):(\d+)\] (\w+) =")
_REF = re.compile(r"\b(\w+)\b(\[(\d+)(?::(\d+))?\])?")


def unread_bits(lines: list[str]) -> list[tuple[str, int, int]]:
    """(wire, high, low) of every run of bits of a declared ``wire [H:L] name = ...`` that nothing in
    ``lines`` reads: a reference without a constant bit or part select counts as reading every bit."""
    decls: dict[str, tuple[int, int]] = {}
    for line in lines:
        m = _DECL.match(line)
        if m:
            decls[m.group(3)] = (int(m.group(1)), int(m.group(2)))
    read: dict[str, set[int]] = {name: set() for name in decls}
    for line in lines:
        code = line.split("//")[0]
        m = _DECL.match(code)
        if m:
            code = code[m.end():]                       # the declared name itself is not a read
        for r in _REF.finditer(code):
            name = r.group(1)
            if name not in read:
                continue
            if r.group(2) is None or code[r.end():].lstrip().startswith("+:"):
                hi, lo = decls[name]
            else:
                hi = int(r.group(3))
                lo = int(r.group(4)) if r.group(4) is not None else hi
            read[name].update(range(lo, hi + 1))
    runs = []
    for name, (hi, lo) in decls.items():
        bit = lo
        while bit <= hi:
            if bit in read[name]:
                bit += 1
                continue
            start = bit
            while bit <= hi and bit not in read[name]:
                bit += 1
            runs.append((name, bit - 1, start))
    return runs


def _unread_bits_sink(w: Writer) -> None:
    """One signal that reads the bits no product reads, so that each is accounted for by name.

    A floored product drops the bits of its input multiple below the floor; a multiple shared by
    products with different floors keeps those the lowest floor needs. The sink is the one waived
    signal: it lists every such bit, synthesis removes it and the logic that only it reads."""
    runs = unread_bits(w.lines)
    if not runs:
        return
    parts = [f"{n}[{h}]" if h == lo else f"{n}[{h}:{lo}]" for n, h, lo in runs]
    w()
    w("// Bits below the floor of every product that reads the wire (the floored products drop them;", 1)
    w("// synthesis removes them). Gathered here so that each is waived by name, not by region.", 1)
    w("/* verilator lint_off UNUSEDSIGNAL */", 1)
    rows = [parts[i:i + 4] for i in range(0, len(parts), 4)]
    w("wire unread_below_floor = &{1'b0,", 1)
    for k, row in enumerate(rows):
        w(", ".join(row) + (",", "};")[k == len(rows) - 1], 3)
    w("/* verilator lint_on UNUSEDSIGNAL */", 1)
