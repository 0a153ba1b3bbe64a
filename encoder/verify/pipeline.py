"""Two --pipeline settings of one design: their tops proven sequentially equivalent, latency accounted for.

Below the top, the two designs are the same modules (encoder.verify.equiv proves them first). The
tops differ in where their register stages sit, so the one with the longer latency gives each
output ``d`` cycles later. A whole-design sequential miter would hold both designs' thousands of
products; this one holds none of them. Each combinational box the top instantiates (the input path,
each layer) is cut out of both tops, and the two are joined by what the box computes:

- in design A (the shorter latency), a box's outputs are free inputs of the miter, fresh each cycle;
- in design B, a box's outputs at cycle t equal A's at cycle ``t - d_k`` *when its inputs then equal
  A's at ``t - d_k``* (and ``t >= d_k``), and are free inputs otherwise. That is all that is known
  of a function: equal inputs give equal outputs. ``d_k`` is the difference in register stages
  before box k, from the two manifests (if it is wrong, the proof fails; it is not assumed);
- A's data outputs (role ``out_*``) are delayed by ``d`` (the latency difference) and compared with
  B's, every cycle; other outputs (configuration read-back) without delay.

Proven by ABC's ``dprove`` (induction with signal correspondence) from the all-zero register state,
with the data reset held low: the all-zero state is the reset state of every register that has a
reset, and the data registers start at zero too. Configuration writes are constrained: with shadow
banks, none in the ``commit_stages`` cycles after a COMMIT (each design drops weight writes while its
own copy runs, and the copies of two pipeline settings last different numbers of cycles; in an
earlier design, which took such writes, this proof found the field joining the copy of the later
stages only); ``cfg_reset``, and writes
to direct banks, only while no valid crossing is in flight in either design (none in the last
``max latency`` cycles). A write that breaks these changes what one design computes and not the
other: the designs' real behaviour, not what this compares. The configuration read-back is not
compared (it shows each stage's active bank).

With programmable weights a box also reads weight buses from the configuration banks: tens of
thousands of flip-flops in each design, which kept the miter from closing (econt_8x8: no answer in
900 s). The box inputs that only the configuration port reaches (a forward sweep of the cut top's
netlist from every other input) are the weight buses; they are left out of the join's comparison,
and a separate lemma (encoder.verify.weight_buses) proves that B's equal A's ``d_k`` cycles earlier
whenever the join would use them (``t >= d_k``, no configuration reset in the last ``d_k`` cycles,
when the join then also lets B's box output go free). The banks then fall out of the outputs miter.
The lemma gets at most half the time; if it is not proven (or with direct banks, which change in
place, so that B's buses equal A's in the same cycle rather than ``d_k`` later), the join compares
the buses as it does every other box input.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from ..errors import UserError
from .prove import Side, prove, run_script
from .seqmiter import Miter, commit_window, delay, port_difference, wire
from .weight_buses import prove_weight_buses


# The inputs through which only the configuration reaches a box: a box input driven by these alone is a
# weight bus, proven separately by the lemma (module doc).
CONFIG_INPUTS = ("clock", "cfg_reset", "cfg_we", "cfg_addr", "cfg_wdata")
# The configuration bank's blocks: rtl/enc_cfg_block.v, and its triplicated twin (--tmr config), with the
# same ports and behaviour plus a counter of corrected upsets.
BLOCKS = ("enc_cfg_block", "enc_cfg_block_tmr")


def _boxes(design) -> dict[str, str]:
    """{module type: stage name} of the combinational boxes the top instantiates."""
    names = {f"{design.top}_input_path": "input_path"}
    for layer in design.manifest.get("layers", []):
        names[f"{design.top}_{layer['name']}"] = layer["name"]
    return names


def _stages_before(design, box: str) -> int:
    order = ["charges", "input_path"] + [layer["name"] for layer in design.manifest.get("layers", [])]
    before = order[:order.index(box)] if box != "input_path" else ["charges"]
    return sum(1 for c in design.manifest.get("cuts", []) if c in before)


def _box_delays(a, b, boxes: dict[str, str]) -> dict[str, int]:
    """{instance: cycles later in B than in A} of each box: the difference of their register stages before it."""
    return {inst: _stages_before(b, stage) - _stages_before(a, stage) for inst, stage in boxes.items()}


def _cut_top(design, name: str, tmp: Path, timeout: float) -> dict:
    """Write ``<name>.v``: the top with its boxes cut (expose -evert: a box's inputs become outputs named
    ``<instance>.<port>``, its outputs inputs), and ``<name>_blk.v``: its configuration blocks
    (enc_cfg_block) cut too. Return {"ports": {port: (direction, width)}, "boxes": {instance: stage},
    "config": the box inputs only the configuration port reaches, "blk": the same of ``<name>_blk`` plus
    "bits" {port: net bits} and "blocks" {instance: (module, {parameter: value})}}."""
    boxes = _boxes(design)
    types = " ".join(f"{design.top}/t:{t}" for t in boxes)
    blocks = " ".join(f"{design.top}/t:{b} {design.top}/t:$paramod*\\{b}" for b in BLOCKS)
    files = " ".join(f'"{Path(f).resolve()}"' for f in design.sources)

    def cut(sel: str, out: str) -> list[str]:
        return ["design -load elaborated", f"setattr -set keep_hierarchy 1 {sel}", "flatten", f"expose -evert {sel}",
                "opt_clean", f"rename {design.top} {out}", f"hierarchy -top {out}", f"write_json {out}.json",
                f"write_verilog -noattr {out}.v"]
    lines = [f"read_verilog -sv {files}", f"hierarchy -check -top {design.top}", "proc",
             f"write_json {name}.hier.json", "design -save elaborated"]
    lines += cut(types, name)
    banked = "cfg_we" in design.ports                # a configuration port: banks to cut
    if banked:
        lines += cut(f"{types} {blocks}", f"{name}_blk")
    if not run_script(lines, name, tmp, timeout, f"cut the top of {design.dir}"):
        raise TimeoutError
    modules = json.loads((tmp / f"{name}.hier.json").read_text())["modules"]
    cells = modules[design.top]["cells"]
    instances = {c.lstrip("\\"): boxes[cell["type"]] for c, cell in cells.items() if cell["type"] in boxes}
    found = {}
    for c, cell in cells.items():
        kind = cell["type"]
        block = kind.rsplit("\\", 1)[-1] if kind.startswith("$paramod") else kind
        if block in BLOCKS:
            params = {**modules[kind].get("parameter_default_values", {}), **cell.get("parameters", {})}
            found[c.lstrip("\\")] = (block, {k: int(v, 2) if re.fullmatch("[01]+", str(v)) else v
                                             for k, v in params.items()})
    config_inputs = {p.name for role, p in design.ports.items() if role in CONFIG_INPUTS}

    def read(out: str, cut_blocks: dict) -> tuple[dict, dict]:
        mod = json.loads((tmp / f"{out}.json").read_text())["modules"][out]
        return mod, {"ports": {p: (d["direction"], len(d["bits"])) for p, d in mod["ports"].items()},
                     "bits": {p: d["bits"] for p, d in mod["ports"].items()}, "boxes": instances, "blocks": cut_blocks}
    mod, whole = read(name, {})
    # Swept on the box-only cut: in the block-cut one the blocks' outputs are inputs too.
    return {**whole, "config": _config_only(mod, config_inputs, instances),
            "blk": read(f"{name}_blk", found)[1] if banked else None}


def _config_only(mod: dict, config_inputs: set[str], boxes) -> set[str]:
    """The box inputs of a cut top (its outputs ``<instance>.<port>``) that no input outside
    ``config_inputs`` reaches: a forward sweep from every other input through every cell."""
    readers: dict[int, list[list]] = {}                  # bit -> output bit lists of the cells reading it
    for cell in mod["cells"].values():
        dirs = cell.get("port_directions", {})
        outs = [b for q, bits in cell["connections"].items() if dirs.get(q) == "output" for b in bits]
        for q, bits in cell["connections"].items():
            if dirs.get(q) == "input":
                for bit in bits:
                    readers.setdefault(bit, []).append(outs)
    reached = set()
    todo = [b for q, d in mod["ports"].items() if d["direction"] == "input" and q not in config_inputs
            for b in d["bits"] if isinstance(b, int)]
    while todo:
        bit = todo.pop()
        if bit in reached:
            continue
        reached.add(bit)
        for outs in readers.get(bit, ()):
            todo += [b for b in outs if isinstance(b, int) and b not in reached]
    return {q for q, d in mod["ports"].items() if d["direction"] == "output"
            and any(q.startswith(inst + ".") for inst in boxes) and not reached.intersection(
                b for b in d["bits"] if isinstance(b, int))}


def wrappers(a, b, cut_a: dict, cut_b: dict, delays: dict[str, int],
             assumed: frozenset[str] = frozenset()) -> tuple[str, str]:
    """Verilog of ``pipe_gold`` (A, its data outputs delayed) and ``pipe_gate`` (B, its boxes joined to
    A's), with the same ports: the tops' inputs and a free input per box output of each design. A box's
    inputs in ``assumed`` are left out of the join's comparison: encoder.verify.weight_buses proves them equal."""
    m = Miter(a, b, cut_a, cut_b)
    clock = m.clock
    outputs = [f"    output wire [{w - 1}:0] {n}" for n, w, _ in m.top_out]
    d_out = b.latency - a.latency

    gold = m.begin("pipe_gold", outputs, with_b=False)
    for n, w, _ in m.top_out:
        delay(gold, clock, f"a_{wire(n)}", w, d_out, f"late_{wire(n)}")
        gold.append(f"    assign {n} = late_{wire(n)};")
    gold.append("endmodule\n")

    gate = m.begin("pipe_gate", outputs, with_b=False)
    m.declare_b(gate)                               # B comes last, its boxes joined to A's
    joined = {}
    for inst, (ins, outs) in m.box_ports.items():
        if inst not in delays:                      # a cut configuration block: its outputs free
            joined.update({p: f"fb_{wire(p)}" for p, _ in outs})
            continue
        d = delays[inst]
        if d < 0:
            raise UserError(f"box {inst}: fewer register stages before it in the longer-latency design")
        tag = wire(inst)
        compared = [(p, w) for p, w in ins if p not in assumed]
        settled = m.settled(gate, tag, d, reset_too=len(compared) < len(ins))
        if compared:
            width_in = sum(w for _, w in compared)
            gate.append(f"    wire [{width_in - 1}:0] {tag}_in_a = {{{', '.join(f'a_{wire(p)}' for p, _ in compared)}}};")
            delay(gate, clock, f"{tag}_in_a", width_in, d, f"{tag}_in_then")
            gate.append(f"    wire {tag}_same = {settled} & "
                        f"({{{', '.join(f'b_{wire(p)}' for p, _ in compared)}}} == {tag}_in_then);")
        else:
            gate.append(f"    wire {tag}_same = {settled};")
        for p, w in outs:
            delay(gate, clock, f"oa_{wire(p)}", w, d, f"{wire(p)}_then")
            gate.append(f"    wire [{w - 1}:0] b_box_{wire(p)} = {tag}_same ? {wire(p)}_then : fb_{wire(p)};")
            joined[p] = f"b_box_{wire(p)}"
    m.instance_b(gate, joined)
    for n, w, _ in m.top_out:
        gate.append(f"    assign {n} = b_{wire(n)};")
    gate.append("endmodule\n")
    return "\n".join(gold), "\n".join(gate)


def prove_tops(a, b, tmp: Path, timeout: float) -> dict:
    """{"result", "seconds", "detail"}: the tops of designs ``a`` and ``b`` (encoder.verif.design.Design,
    one IR and weights mode) sequentially equivalent with the latency difference (module doc)."""
    t0 = time.monotonic()
    if a.latency > b.latency:
        a, b = b, a
    for d in (a, b):
        if d.initiation_interval != 1 or "cuts" not in d.manifest or d.framing is not None:
            return {"result": "not proven", "seconds": 0.0,
                    "detail": f"{d.dir}: not a one-crossing-per-cycle design with named register stages "
                              "and without e-link framing"}
    try:
        cut_a = _cut_top(a, "pipe_a", tmp, timeout)
        cut_b = _cut_top(b, "pipe_b", tmp, timeout)
    except TimeoutError:
        return {"result": "timeout", "seconds": timeout, "detail": "yosys did not cut the tops in time"}
    if set(cut_a["boxes"]) != set(cut_b["boxes"]):
        return {"result": "not proven", "seconds": 0.0, "detail": "the tops instantiate different boxes"}
    for inst in sorted(cut_a["boxes"]):
        differ = port_difference(cut_a, cut_b, inst)
        if differ:
            # e.g. a clock into one design's layer: a register stage inside it (--cuts <layer>.products)
            diff = ", ".join(differ)
            return {"result": "not proven", "seconds": round(time.monotonic() - t0, 1),
                    "detail": f"box {inst} has different ports in the two designs ({diff}): not a combinational "
                              "box in both, which this comparison needs"}
    delays = _box_delays(a, b, cut_a["boxes"])
    assumed = frozenset(cut_a["config"] & cut_b["config"])
    boxes = ", ".join(f"{i} {d}" for i, d in sorted(delays.items()))
    d = b.latency - a.latency
    where = (f"tops with their boxes cut (cycles later in {b.dir.name}: {boxes}), data outputs {d} "
             f"cycle{'' if d == 1 else 's'} later: ")
    lemma = ""
    if assumed and not commit_window(a):
        # Direct banks change in place (only while no crossing is in flight): B's buses equal A's in the
        # same cycle, not d cycles later, so the lemma does not apply; the join compares them.
        assumed = frozenset()
    if assumed:
        # At most half the time: a lemma that fails leaves the rest to the join with the buses compared.
        r = prove_weight_buses(a, b, cut_a, cut_b, delays, assumed, tmp, (timeout - (time.monotonic() - t0)) / 2)
        lemma = f"weight buses ({', '.join(sorted(assumed))}) {r['result']} in {r['seconds']} s ({r['detail']})"
        if r["result"] == "equivalent":
            lemma += "; outputs "
        else:
            # A lemma that fails says nothing of the outputs: compare the buses in the join instead.
            lemma += ", so the join compares them: "
            assumed = frozenset()
    gold, gate = wrappers(a, b, cut_a, cut_b, delays, assumed)
    (tmp / "pipe_gold.v").write_text(gold)
    (tmp / "pipe_gate.v").write_text(gate)
    r = prove(Side([tmp / "pipe_a.v", tmp / "pipe_gold.v"], "pipe_gold"),
              Side([tmp / "pipe_a.v", tmp / "pipe_b.v", tmp / "pipe_gate.v"], "pipe_gate"),
              timeout=timeout - (time.monotonic() - t0))
    r["seconds"] = round(time.monotonic() - t0, 1)         # the tops' cutting and the lemma included
    r["detail"] = f"{where}{lemma}{r.get('detail', '')}"
    return r
