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
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from ..errors import UserError
from .prove import Side, prove, run_script


# The inputs through which only the configuration reaches a box: a box input driven by these alone is a
# weight bus, proven separately by the lemma (module doc).
CONFIG_INPUTS = ("clock", "cfg_reset", "cfg_we", "cfg_addr", "cfg_wdata")


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
    ``<instance>.<port>``, its outputs inputs); return {"ports": {port: (direction, width)}, "boxes":
    {instance: stage}}."""
    boxes = _boxes(design)
    types = " ".join(f"{design.top}/t:{t}" for t in boxes)
    files = " ".join(f'"{Path(f).resolve()}"' for f in design.sources)
    lines = [f"read_verilog -sv {files}", f"hierarchy -check -top {design.top}", "proc",
             f"write_json {name}.hier.json", f"setattr -set keep_hierarchy 1 {types}", "flatten",
             f"expose -evert {types}", "opt_clean", f"rename {design.top} {name}", f"hierarchy -top {name}",
             f"write_json {name}.json", f"write_verilog -noattr {name}.v"]
    if not run_script(lines, name, tmp, timeout, f"cut the top of {design.dir}"):
        raise TimeoutError
    hier = json.loads((tmp / f"{name}.hier.json").read_text())["modules"][design.top]
    instances = {c.lstrip("\\"): boxes[cell["type"]] for c, cell in hier["cells"].items() if cell["type"] in boxes}
    mod = json.loads((tmp / f"{name}.json").read_text())["modules"][name]
    config_inputs = {p.name for role, p in design.ports.items() if role in CONFIG_INPUTS}
    return {"ports": {p: (d["direction"], len(d["bits"])) for p, d in mod["ports"].items()}, "boxes": instances,
            "config": _config_only(mod, config_inputs, instances)}


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


def _esc(port: str) -> str:
    """A port name as a Verilog identifier (escaped when it holds a dot)."""
    return port if re.fullmatch(r"[A-Za-z_]\w*", port) else f"\\{port} "


def _wire(port: str) -> str:
    return re.sub(r"\W", "_", port)


def _delay(lines: list[str], clock: str, src: str, width: int, cycles: int, dst: str, clear: str | None = None):
    """Declare ``dst``: ``src`` delayed by ``cycles`` registers (zero at start, and after ``clear``)."""
    prev = src
    for k in range(cycles):
        lines.append(f"    reg [{width - 1}:0] {dst}_d{k + 1};")
        value = f"{clear} ? {width}'d0 : {prev}" if clear else prev
        lines.append(f"    always @(posedge {clock}) {dst}_d{k + 1} <= {value};")
        prev = f"{dst}_d{k + 1}"
    lines.append(f"    wire [{width - 1}:0] {dst} = {prev};")


def _history(lines: list[str], clock: str, name: str, cycles: int, bit: str):
    """Declare ``name``: the last ``cycles`` values of ``bit`` (``name[0]`` the newest; zero at start)."""
    lines.append(f"    reg [{cycles - 1}:0] {name};")
    shifted = bit if cycles == 1 else f"{{{name}[{cycles - 2}:0], {bit}}}"
    lines.append(f"    always @(posedge {clock}) {name} <= {shifted};")


class _Miter:
    """What the wrappers share: their ports, the write rules, design A's instance (module doc)."""

    def __init__(self, a, b, cut_a: dict, cut_b: dict):
        self.a, self.b = a, b
        self.top_in = [(p.name, p.width, role) for role, p in a.ports.items() if p.direction == "input"]
        # The data outputs only: the configuration read-back shows each stage's active bank, which a commit
        # switches at each design's own stage times.
        self.top_out = [(p.name, p.width, role) for role, p in a.ports.items() if p.direction == "output"
                        and role.startswith("out_")]
        self.clock, self.reset = a.port("clock").name, a.port("reset").name
        self.flight = max(a.latency, b.latency)
        self.box_ports = {}                          # instance -> ([(port, width)] inputs, [(port, width)] outputs)
        for inst in cut_a["boxes"]:
            ins = sorted((p, w) for p, (d, w) in cut_a["ports"].items() if p.startswith(inst + ".") and d == "output")
            outs = sorted((p, w) for p, (d, w) in cut_a["ports"].items() if p.startswith(inst + ".") and d == "input")
            other = sorted((p, w) for p, (d, w) in cut_b["ports"].items() if p.startswith(inst + "."))
            if sorted(ins + outs) != other:
                raise UserError(f"box {inst}: its ports differ between the two designs")
            self.box_ports[inst] = (ins, outs)
        free = [(f"oa_{_wire(p)}", w) for ins, outs in self.box_ports.values() for p, w in outs]
        free += [(f"fb_{_wire(p)}", w) for ins, outs in self.box_ports.values() for p, w in outs]
        self.inputs = [f"    input  wire [{w - 1}:0] {n}" for n, w, _ in self.top_in if n != self.reset]
        self.inputs += [f"    input  wire [{w - 1}:0] {n}" for n, w in free]

    def instance(self, module: str, label: str, box_out: dict) -> list[str]:
        conns = []
        for n, _, role in self.top_in:
            value = {self.reset: "1'b0"}.get(n, {"cfg_we": "we_ok", "cfg_reset": "cfg_reset_ok"}.get(role, n))
            conns.append(f".{_esc(n)}({value})")
        conns += [f".{_esc(n)}({label}_{_wire(n)})" for n, _, _ in self.top_out]
        conns += [f".{_esc(p.name)}()" for role, p in self.a.ports.items() if p.direction == "output"
                  and not role.startswith("out_")]
        for ins, outs in self.box_ports.values():
            conns += [f".{_esc(p)}({label}_{_wire(p)})" for p, _ in ins]
            conns += [f".{_esc(p)}({box_out[p]})" for p, _ in outs]
        return [f"    {module} u_{label} (", "        " + ",\n        ".join(conns), "    );"]

    def common(self, lines: list[str]):
        """The write rules and design A, its boxes' outputs the free inputs ``oa_*``."""
        a, b, clock = self.a, self.b, self.clock
        # Configuration changes only while no valid crossing is in flight in either design.
        _history(lines, clock, "in_flight", self.flight, a.port("in_valid").name)
        lines.append(f"    wire quiet = ~{a.port('in_valid').name} & ~|in_flight;")
        if "cfg_reset" in a.ports:
            lines.append(f"    wire cfg_reset_ok = {a.port('cfg_reset').name} & quiet;")
        if "cfg_we" in a.ports:
            we, addr, data = (a.port(r).name for r in ("cfg_we", "cfg_addr", "cfg_wdata"))
            regs = a.registers
            if regs is not None and regs.live_reload and regs.control and "COMMIT" in regs.control:
                # Shadow banks: writes may come while data flows, but not while a COMMIT is still copying
                # the shadow banks stage by stage (each design drops them then, for its own copy's length).
                window = max(int(d.manifest.get("registers", {}).get("commit_stages", self.flight)) for d in (a, b))
                lines.append(f"    wire we_ok = {we} & ~|after_commit;")
                lines.append(f"    wire commit_wr = we_ok & {addr} == {regs.control['COMMIT']} & {data}[0];")
                _history(lines, clock, "after_commit", window, "commit_wr")
            else:
                lines.append(f"    wire we_ok = {we} & quiet;")
        for n, w, _ in self.top_out:
            lines.append(f"    wire [{w - 1}:0] a_{_wire(n)};")
        for ins, outs in self.box_ports.values():
            for p, w in ins:
                lines.append(f"    wire [{w - 1}:0] a_{_wire(p)};")
        lines += self.instance("pipe_a", "a", {p: f"oa_{_wire(p)}" for ins, outs in self.box_ports.values()
                                               for p, _ in outs})

    def settled(self, lines: list[str], tag: str, d: int, reset_too: bool) -> str:
        """Declare ``<tag>_settled``: the cycle is at least ``d`` (A's values ``d`` cycles ago were real, not a
        delay line's start-up zeros) and, with ``reset_too``, no configuration reset in the last ``d`` cycles
        (it clears both designs' banks at once, so for ``d`` cycles B's differ from A's ``d`` cycles ago)."""
        if not d:
            lines.append(f"    wire {tag}_settled = 1'b1;")
            return f"{tag}_settled"
        _history(lines, self.clock, f"{tag}_hist", d, "1'b1")
        term = f"{tag}_hist[{d - 1}]"
        if reset_too and "cfg_reset" in self.a.ports:
            _history(lines, self.clock, f"{tag}_resets", d, "cfg_reset_ok")
            term += f" & ~|{tag}_resets"
        lines.append(f"    wire {tag}_settled = {term};")
        return f"{tag}_settled"


def wrappers(a, b, cut_a: dict, cut_b: dict, delays: dict[str, int],
             assumed: frozenset[str] = frozenset()) -> tuple[str, str]:
    """Verilog of ``pipe_gold`` (A, its data outputs delayed) and ``pipe_gate`` (B, its boxes joined to
    A's), with the same ports: the tops' inputs and a free input per box output of each design. A box's
    inputs in ``assumed`` are left out of the join's comparison: :func:`lemma` proves them equal."""
    m = _Miter(a, b, cut_a, cut_b)
    clock = m.clock
    head = ",\n".join(m.inputs + [f"    output wire [{w - 1}:0] {n}" for n, w, _ in m.top_out])
    d_out = b.latency - a.latency

    gold = [f"module pipe_gold (\n{head}\n);"]
    m.common(gold)
    for n, w, _ in m.top_out:
        _delay(gold, clock, f"a_{_wire(n)}", w, d_out, f"late_{_wire(n)}")
        gold.append(f"    assign {n} = late_{_wire(n)};")
    gold.append("endmodule\n")

    gate = [f"module pipe_gate (\n{head}\n);"]
    m.common(gate)
    joined = {}
    for inst, (ins, outs) in m.box_ports.items():
        d = delays[inst]
        if d < 0:
            raise UserError(f"box {inst}: fewer register stages before it in the longer-latency design")
        tag = _wire(inst)
        compared = [(p, w) for p, w in ins if p not in assumed]
        settled = m.settled(gate, tag, d, reset_too=len(compared) < len(ins))
        for p, w in ins:
            gate.append(f"    wire [{w - 1}:0] b_{_wire(p)};")
        if compared:
            width_in = sum(w for _, w in compared)
            gate.append(f"    wire [{width_in - 1}:0] {tag}_in_a = {{{', '.join(f'a_{_wire(p)}' for p, _ in compared)}}};")
            _delay(gate, clock, f"{tag}_in_a", width_in, d, f"{tag}_in_then")
            gate.append(f"    wire {tag}_same = {settled} & "
                        f"({{{', '.join(f'b_{_wire(p)}' for p, _ in compared)}}} == {tag}_in_then);")
        else:
            gate.append(f"    wire {tag}_same = {settled};")
        for p, w in outs:
            _delay(gate, clock, f"oa_{_wire(p)}", w, d, f"{_wire(p)}_then")
            gate.append(f"    wire [{w - 1}:0] b_box_{_wire(p)} = {tag}_same ? {_wire(p)}_then : fb_{_wire(p)};")
            joined[p] = f"b_box_{_wire(p)}"
    for n, w, _ in m.top_out:
        gate.append(f"    wire [{w - 1}:0] b_{_wire(n)};")
    gate += m.instance("pipe_b", "b", joined)
    for n, w, _ in m.top_out:
        gate.append(f"    assign {n} = b_{_wire(n)};")
    gate.append("endmodule\n")
    return "\n".join(gold), "\n".join(gate)


def lemma_wrappers(a, b, cut_a: dict, cut_b: dict, delays: dict[str, int],
                   assumed: frozenset[str]) -> tuple[str, str]:
    """Verilog of ``cfg_gold`` and ``cfg_gate``: for each box input in ``assumed``, A's value ``d`` cycles
    ago (gold) and B's now (gate), both zero until settled. Every box output is a free input in both
    designs, so the lemma holds whatever the boxes compute (and fails if the datapath reaches the port)."""
    m = _Miter(a, b, cut_a, cut_b)
    outs = [(p, w, inst) for inst, (ins, _) in m.box_ports.items() for p, w in ins if p in assumed]
    head = ",\n".join(m.inputs + [f"    output wire [{w - 1}:0] lem_{_wire(p)}" for p, w, _ in outs])
    sides = []
    for module in ("cfg_gold", "cfg_gate"):
        lines = [f"module {module} (\n{head}\n);"]
        m.common(lines)
        if module == "cfg_gate":
            for p, w in [(p, w) for ins, _ in m.box_ports.values() for p, w in ins] + \
                    [(n, w) for n, w, _ in m.top_out]:
                lines.append(f"    wire [{w - 1}:0] b_{_wire(p)};")
            lines += m.instance("pipe_b", "b", {p: f"fb_{_wire(p)}" for _, o in m.box_ports.values() for p, _ in o})
        for inst in sorted({inst for _, _, inst in outs}):
            m.settled(lines, _wire(inst), delays[inst], reset_too=True)
        for p, w, inst in outs:
            if module == "cfg_gold":
                # Cleared by the configuration reset as banks that clear are: the delayed bus then equals
                # B's in every cycle, an equality the induction finds at once (the mask makes it no claim).
                _delay(lines, m.clock, f"a_{_wire(p)}", w, delays[inst], f"then_{_wire(p)}",
                       clear="cfg_reset_ok" if "cfg_reset" in a.ports else None)
                value = f"then_{_wire(p)}"
            else:
                value = f"b_{_wire(p)}"
            lines.append(f"    assign lem_{_wire(p)} = {_wire(inst)}_settled ? {value} : {w}'d0;")
        lines.append("endmodule\n")
        sides.append("\n".join(lines))
    return sides[0], sides[1]


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
    delays = _box_delays(a, b, cut_a["boxes"])
    assumed = frozenset(cut_a["config"] & cut_b["config"])
    boxes = ", ".join(f"{i} {d}" for i, d in sorted(delays.items()))
    d = b.latency - a.latency
    where = (f"tops with their boxes cut (cycles later in {b.dir.name}: {boxes}), data outputs {d} "
             f"cycle{'' if d == 1 else 's'} later: ")
    lemma = ""
    if assumed:
        gold, gate = lemma_wrappers(a, b, cut_a, cut_b, delays, assumed)
        (tmp / "cfg_gold.v").write_text(gold)
        (tmp / "cfg_gate.v").write_text(gate)
        r = prove(Side([tmp / "pipe_a.v", tmp / "cfg_gold.v"], "cfg_gold"),
                  Side([tmp / "pipe_a.v", tmp / "pipe_b.v", tmp / "cfg_gate.v"], "cfg_gate"),
                  timeout=timeout - (time.monotonic() - t0))
        lemma = f"weight buses ({', '.join(sorted(assumed))}) {r['result']} in {r['seconds']} s"
        if r["result"] != "equivalent":
            return {**r, "seconds": round(time.monotonic() - t0, 1), "detail": f"{where}{lemma}: {r['detail']}"}
        lemma += "; "
    gold, gate = wrappers(a, b, cut_a, cut_b, delays, assumed)
    (tmp / "pipe_gold.v").write_text(gold)
    (tmp / "pipe_gate.v").write_text(gate)
    r = prove(Side([tmp / "pipe_a.v", tmp / "pipe_gold.v"], "pipe_gold"),
              Side([tmp / "pipe_a.v", tmp / "pipe_b.v", tmp / "pipe_gate.v"], "pipe_gate"),
              timeout=timeout - (time.monotonic() - t0))
    r["seconds"] = round(time.monotonic() - t0, 1)         # the tops' cutting and the lemma included
    r["detail"] = f"{where}{lemma}{'outputs ' if lemma else ''}{r.get('detail', '')}"
    return r
