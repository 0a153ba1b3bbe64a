"""The weight buses of two --pipeline settings: B's equal to A's ``d`` cycles earlier.

encoder.verify.pipeline leaves a box's weight buses (the box inputs only the configuration port
reaches) out of its outputs miter and leans on this lemma instead: in every cycle ``t >= d`` with no
configuration reset in the last ``d`` cycles, each weight bus of B equals A's at ``t - d``, ``d``
being the delay of the box that reads it. It holds under the same write rules as the outputs miter
(encoder.verify.seqmiter.Miter.common), with every box output free in both designs, so it says
nothing about what the boxes compute.

A miter of the whole configuration subsystem holds both designs' banks (econt_8x8: 77k registers);
ABC got no answer in 8.5 minutes. When the buses are wires from configuration blocks
(enc_cfg_block, or enc_cfg_block_tmr with --tmr config), as in the generated tops, three small facts
give it instead:

- **wiring** (read from the netlists): each bus bit is the same field bit of the same block in
  both tops, and a block feeds the boxes of one delay ``e`` only;
- **glue** (a sequential proof on the tops with the blocks cut too): each block's inputs in B equal
  A's in the same cycle, except its commit strobe, which equals A's ``e`` cycles earlier (a strobe
  that a configuration reset overtook is dropped by both); the block's reset is the top's; and A never
  writes a block in the ``e`` cycles from its strobe on (else B's copy, ``e`` cycles later, would take
  the write and A's not);
- **block** (one sequential proof per block parameters and delay): two instances driven so, the
  second's strobe ``e`` cycles late and no write in those cycles, give fields ``e`` cycles apart.

Otherwise (other banks) the whole-subsystem miter is tried.
"""

from __future__ import annotations

import time
from pathlib import Path

from .prove import Side, prove
from .seqmiter import Miter, delay, history, wire


def _no_write_rule(lines: list[str], clock: str, we: str, commit: str, e: int, tag: str) -> str:
    """A write to the block in a cycle where its (A) strobe came within the last ``e`` cycles, this one
    included: B's copy, ``e`` cycles later, would take it."""
    if e == 0:
        return "1'b0"
    if e == 1:
        return f"({we} & {commit})"
    history(lines, clock, f"{tag}_strobes", e - 1, commit)
    return f"({we} & ({commit} | |{tag}_strobes))"


def block_delays(cut_a: dict | None, cut_b: dict | None, delays: dict[str, int], assumed: frozenset[str]) -> dict[str, int] | None:
    """{block instance: delay} when every bus bit in ``assumed`` is a wire from the same field bit of the
    same configuration block instance in both block-cut tops and each block feeds boxes of one delay; else None."""
    if cut_a is None or cut_b is None or cut_a["blocks"] != cut_b["blocks"] or not cut_a["blocks"]:
        return None
    maps = []
    for cut in (cut_a, cut_b):
        source = {bit: (blk, j) for blk in cut["blocks"]
                  for j, bit in enumerate(cut["bits"].get(f"{blk}.fields", [])) if isinstance(bit, int)}
        maps.append({p: [source.get(bit) for bit in cut["bits"].get(p, [None])] for p in assumed})
    if maps[0] != maps[1] or any(None in srcs for srcs in maps[0].values()):
        return None
    out: dict[str, int] = {}
    for p, srcs in maps[0].items():
        e = delays[p.split(".", 1)[0]]
        for blk, _ in srcs:
            if out.setdefault(blk, e) != e:
                return None
    return out


def glue_wrappers(a, b, cut_a: dict, cut_b: dict, blocks: dict[str, int]) -> tuple[str, str]:
    """Verilog of ``glue_gold`` and ``glue_gate`` on the block-cut tops (module doc: glue). Per block: its
    inputs (the strobe of A delayed), the top's configuration reset against the block's, and the write
    rule's violations (zero in gold)."""
    m = Miter(a, b, cut_a, cut_b, modules=("pipe_a_blk", "pipe_b_blk"))
    reset = "cfg_reset_ok" if "cfg_reset" in a.ports else "1'b0"
    outs = []                                       # (name, width, gold value, gate value)
    pre = {"gold": [], "gate": []}
    for blk, e in sorted(blocks.items()):
        ins = {p.split(".", 1)[1]: w for p, w in m.box_ports[blk][0]}
        same = [q for q in sorted(ins) if q not in ("clk", "commit")]
        tag = wire(blk)
        a_sig = {q: f"a_{wire(blk + '.' + q)}" for q in ins}
        b_sig = {q: f"b_{wire(blk + '.' + q)}" for q in ins}
        delay(pre["gold"], m.clock, a_sig["commit"], 1, e, f"{tag}_strobe_then", clear=a_sig.get("cfg_rst"))
        width = sum(ins[q] for q in same) + 1
        outs.append((f"g_{tag}", width, "{" + ", ".join([a_sig[q] for q in same] + [f"{tag}_strobe_then"]) + "}",
                     "{" + ", ".join([b_sig[q] for q in same] + [b_sig["commit"]]) + "}"))
        if "cfg_rst" in ins:
            outs.append((f"r_{tag}", 1, reset, a_sig["cfg_rst"]))
        rule = _no_write_rule(pre["gate"], m.clock, a_sig["we"], a_sig["commit"], e, tag)
        outs.append((f"v_{tag}", 1, "1'b0", rule))
    sides = []
    for side in ("gold", "gate"):
        lines = m.begin(f"glue_{side}", [f"    output wire [{w - 1}:0] {n}" for n, w, _, _ in outs], side == "gate")
        lines += pre[side]
        lines += [f"    assign {n} = {gold if side == 'gold' else gate};" for n, _, gold, gate in outs]
        lines.append("endmodule\n")
        sides.append("\n".join(lines))
    return sides[0], sides[1]


def block_wrappers(module: str, params: dict, ins: dict[str, int], n: int, e: int) -> tuple[str, str]:
    """Verilog of ``blk_gold`` and ``blk_gate`` (module doc: block): two instances of ``module`` with
    ``params``, inputs ``ins`` {port: width}, ``n`` field bits. Gold: the first's fields ``e`` cycles
    late; gate: the second's, its strobe ``e`` cycles late; both zero until settled. Other outputs
    (read-back, the corrected-upset count) are left open."""
    pstr = ", ".join(f".{k}({v})" for k, v in sorted(params.items()))
    head = ",\n".join([f"    input  wire [{w - 1}:0] {q}" for q, w in sorted(ins.items())]
                      + [f"    output wire [{n - 1}:0] fields_out"])
    reset = "cfg_rst" if "cfg_rst" in ins else None
    sides = []
    for side in ("gold", "gate"):
        lines = [f"module blk_{side} (\n{head}\n);"]
        violation = _no_write_rule(lines, "clk", "we", "commit", e, "x")
        lines.append(f"    wire we_ok = we & ~{violation};")
        strobe = "commit"
        if side == "gate":
            delay(lines, "clk", "commit", 1, e, "strobe_late", clear=reset)
            strobe = "strobe_late"
        conns = [f".{q}({'we_ok' if q == 'we' else strobe if q == 'commit' else q})" for q in sorted(ins)]
        lines.append(f"    wire [{n - 1}:0] fields_now;")
        lines.append(f"    {module} #({pstr}) u_block ({', '.join(conns)}, .fields(fields_now));")
        value = "fields_now"
        if side == "gold":
            delay(lines, "clk", "fields_now", n, e, "fields_then", clear=reset)
            value = "fields_then"
        term = "1'b1"
        if e:
            history(lines, "clk", "started", e, "1'b1")
            term = f"started[{e - 1}]"
            if reset:
                history(lines, "clk", "resets", e, reset)
                term += " & ~|resets"
        lines.append(f"    assign fields_out = ({term}) ? {value} : {n}'d0;")
        lines.append("endmodule\n")
        sides.append("\n".join(lines))
    return sides[0], sides[1]


def _sources(design) -> list[Path]:
    """The design's files (the block's and what it instantiates among them; yosys keeps what the wrapper uses)."""
    return [Path(f) for f in design.sources]


def whole_wrappers(a, b, cut_a: dict, cut_b: dict, delays: dict[str, int],
                   assumed: frozenset[str]) -> tuple[str, str]:
    """Verilog of ``cfg_gold`` and ``cfg_gate``: for each box input in ``assumed``, A's value ``d`` cycles
    ago (gold) and B's now (gate), both zero until settled. Every box output is a free input in both
    designs, so the lemma holds whatever the boxes compute (and fails if the datapath reaches the port)."""
    m = Miter(a, b, cut_a, cut_b)
    outs = [(p, w, inst) for inst, (ins, _) in m.box_ports.items() for p, w in ins if p in assumed]
    sides = []
    for module in ("cfg_gold", "cfg_gate"):
        lines = m.begin(module, [f"    output wire [{w - 1}:0] lem_{wire(p)}" for p, w, _ in outs], module == "cfg_gate")
        for inst in sorted({inst for _, _, inst in outs}):
            m.settled(lines, wire(inst), delays[inst], reset_too=True)
        for p, w, inst in outs:
            if module == "cfg_gold":
                # Cleared by the configuration reset as banks that clear are: the delayed bus then equals
                # B's in every cycle, an equality the induction finds at once (the mask makes it no claim).
                delay(lines, m.clock, f"a_{wire(p)}", w, delays[inst], f"then_{wire(p)}",
                      clear="cfg_reset_ok" if "cfg_reset" in a.ports else None)
                value = f"then_{wire(p)}"
            else:
                value = f"b_{wire(p)}"
            lines.append(f"    assign lem_{wire(p)} = {wire(inst)}_settled ? {value} : {w}'d0;")
        lines.append("endmodule\n")
        sides.append("\n".join(lines))
    return sides[0], sides[1]


def prove_weight_buses(a, b, cut_a: dict, cut_b: dict, delays: dict[str, int], assumed: frozenset[str],
                       tmp: Path, timeout: float) -> dict:
    """{"result", "seconds", "detail"} of the lemma (module doc), per block where the tops allow it."""
    t0 = time.monotonic()

    def left() -> float:
        return timeout - (time.monotonic() - t0)
    blocks = block_delays(cut_a["blk"], cut_b["blk"], delays, assumed)
    if blocks is None:
        gold, gate = whole_wrappers(a, b, cut_a, cut_b, delays, assumed)
        (tmp / "cfg_gold.v").write_text(gold)
        (tmp / "cfg_gate.v").write_text(gate)
        r = prove(Side([tmp / "pipe_a.v", tmp / "cfg_gold.v"], "cfg_gold"),
                  Side([tmp / "pipe_a.v", tmp / "pipe_b.v", tmp / "cfg_gate.v"], "cfg_gate"), timeout=left())
        return {**r, "seconds": round(time.monotonic() - t0, 1), "detail": f"whole configuration: {r['detail']}"}
    gold, gate = glue_wrappers(a, b, cut_a["blk"], cut_b["blk"], blocks)
    (tmp / "glue_gold.v").write_text(gold)
    (tmp / "glue_gate.v").write_text(gate)
    r = prove(Side([tmp / "pipe_a_blk.v", tmp / "glue_gold.v"], "glue_gold"),
              Side([tmp / "pipe_a_blk.v", tmp / "pipe_b_blk.v", tmp / "glue_gate.v"], "glue_gate"), timeout=left())
    if r["result"] != "equivalent":
        return {**r, "seconds": round(time.monotonic() - t0, 1), "detail": f"glue: {r['detail']}"}
    kinds: dict[tuple, str] = {}                    # (module, parameters, delay) -> its first block
    for blk, e in sorted(blocks.items()):
        module, params = cut_a["blk"]["blocks"][blk]
        kinds.setdefault((module, tuple(sorted(params.items())), e), blk)
    for k, ((module, params, e), blk) in enumerate(sorted(kinds.items())):
        # A block's inputs are outputs of the cut top.
        ports = {p.split(".", 1)[1]: (d, w) for p, (d, w) in cut_a["blk"]["ports"].items() if p.startswith(blk + ".")}
        gold, gate = block_wrappers(module, dict(params), {q: w for q, (d, w) in ports.items() if d == "output"},
                                    ports["fields"][1], e)
        (tmp / f"blk{k}_gold.v").write_text(gold)
        (tmp / f"blk{k}_gate.v").write_text(gate)
        r = prove(Side(_sources(a) + [tmp / f"blk{k}_gold.v"], "blk_gold"),
                  Side(_sources(b) + [tmp / f"blk{k}_gate.v"], "blk_gate"), timeout=left())
        if r["result"] != "equivalent":
            return {**r, "seconds": round(time.monotonic() - t0, 1),
                    "detail": f"block {blk} ({', '.join(f'{p} {v}' for p, v in params)}; {e} cycles): {r['detail']}"}
    return {"result": "equivalent", "seconds": round(time.monotonic() - t0, 1),
            "detail": f"per block: wiring, glue ({len(blocks)} blocks) and {len(kinds)} block kinds proven"}
