"""Verilog text of sequential miters between two designs' cut tops (encoder.verify.pipeline).

A cut top (yosys ``expose -evert``) has its cut instances' inputs as outputs named
``<instance>.<port>`` and their outputs as inputs. :class:`Miter` holds what every wrapper of a
pair of cut tops shares: the ports, the write rules on the configuration port, and design A's
instance with its cut instances' outputs free.
"""

from __future__ import annotations

import re

from ..errors import UserError


def esc(port: str) -> str:
    """A port name as a Verilog identifier (escaped when it holds a dot)."""
    return port if re.fullmatch(r"[A-Za-z_]\w*", port) else f"\\{port} "


def wire(port: str) -> str:
    return re.sub(r"\W", "_", port)


def delay(lines: list[str], clock: str, src: str, width: int, cycles: int, dst: str, clear: str | None = None):
    """Declare ``dst``: ``src`` delayed by ``cycles`` registers (zero at start, and after ``clear``)."""
    prev = src
    for k in range(cycles):
        lines.append(f"    reg [{width - 1}:0] {dst}_d{k + 1};")
        value = f"{clear} ? {width}'d0 : {prev}" if clear else prev
        lines.append(f"    always @(posedge {clock}) {dst}_d{k + 1} <= {value};")
        prev = f"{dst}_d{k + 1}"
    lines.append(f"    wire [{width - 1}:0] {dst} = {prev};")


def history(lines: list[str], clock: str, name: str, cycles: int, bit: str):
    """Declare ``name``: the last ``cycles`` values of ``bit`` (``name[0]`` the newest; zero at start)."""
    lines.append(f"    reg [{cycles - 1}:0] {name};")
    shifted = bit if cycles == 1 else f"{{{name}[{cycles - 2}:0], {bit}}}"
    lines.append(f"    always @(posedge {clock}) {name} <= {shifted};")


def commit_window(design) -> bool:
    """Shadow banks with a COMMIT: weight writes may come while data flows, except in a commit's copy."""
    regs = design.registers
    return bool(regs is not None and regs.live_reload and regs.control and "COMMIT" in regs.control)


def port_difference(cut_a: dict, cut_b: dict, inst: str) -> list[str]:
    """The ports of cut instance ``inst`` that one cut top has and the other has not, or has at another width."""
    ports = [{(p, w) for p, (_, w) in cut["ports"].items() if p.startswith(inst + ".")} for cut in (cut_a, cut_b)]
    return sorted({p for p, _ in ports[0] ^ ports[1]})


class Miter:
    """What the wrappers share: their ports, the write rules, design A's instance (module doc)."""

    def __init__(self, a, b, cut_a: dict, cut_b: dict, modules: tuple[str, str] = ("pipe_a", "pipe_b")):
        self.a, self.b = a, b
        self.modules = modules                      # the cut tops' module names
        self.top_in = [(p.name, p.width, role) for role, p in a.ports.items() if p.direction == "input"]
        # The data outputs only: the configuration read-back shows each stage's active bank, which a commit
        # switches at each design's own stage times.
        self.top_out = [(p.name, p.width, role) for role, p in a.ports.items() if p.direction == "output"
                        and role.startswith("out_")]
        self.clock, self.reset = a.port("clock").name, a.port("reset").name
        self.flight = max(a.latency, b.latency)
        # Every cut instance: the boxes (combinational, encoder.verify.pipeline) and the configuration blocks
        # (sequential, cut for encoder.verify.weight_buses): instance -> ([(port, width)] in, [(port, width)] out)
        self.box_ports = {}
        for inst in list(cut_a["boxes"]) + list(cut_a.get("blocks", {})):
            ins = sorted((p, w) for p, (d, w) in cut_a["ports"].items() if p.startswith(inst + ".") and d == "output")
            outs = sorted((p, w) for p, (d, w) in cut_a["ports"].items() if p.startswith(inst + ".") and d == "input")
            if port_difference(cut_a, cut_b, inst):
                raise UserError(f"box {inst}: its ports differ between the two designs")
            self.box_ports[inst] = (ins, outs)
        free = [(f"oa_{wire(p)}", w) for ins, outs in self.box_ports.values() for p, w in outs]
        free += [(f"fb_{wire(p)}", w) for ins, outs in self.box_ports.values() for p, w in outs]
        self.inputs = [f"    input  wire [{w - 1}:0] {n}" for n, w, _ in self.top_in if n != self.reset]
        self.inputs += [f"    input  wire [{w - 1}:0] {n}" for n, w in free]

    def instance(self, module: str, label: str, box_out: dict) -> list[str]:
        conns = []
        for n, _, role in self.top_in:
            value = {self.reset: "1'b0"}.get(n, {"cfg_we": "we_ok", "cfg_reset": "cfg_reset_ok"}.get(role, n))
            conns.append(f".{esc(n)}({value})")
        conns += [f".{esc(n)}({label}_{wire(n)})" for n, _, _ in self.top_out]
        conns += [f".{esc(p.name)}()" for role, p in self.a.ports.items() if p.direction == "output"
                  and not role.startswith("out_")]
        for ins, outs in self.box_ports.values():
            conns += [f".{esc(p)}({label}_{wire(p)})" for p, _ in ins]
            conns += [f".{esc(p)}({box_out[p]})" for p, _ in outs]
        return [f"    {module} u_{label} (", "        " + ",\n        ".join(conns), "    );"]

    def common(self, lines: list[str]):
        """The write rules and design A, its boxes' outputs the free inputs ``oa_*``."""
        a, b, clock = self.a, self.b, self.clock
        # Configuration changes only while no valid crossing is in flight in either design.
        history(lines, clock, "in_flight", self.flight, a.port("in_valid").name)
        lines.append(f"    wire quiet = ~{a.port('in_valid').name} & ~|in_flight;")
        if "cfg_reset" in a.ports:
            lines.append(f"    wire cfg_reset_ok = {a.port('cfg_reset').name} & quiet;")
        if "cfg_we" in a.ports:
            we, addr, data = (a.port(r).name for r in ("cfg_we", "cfg_addr", "cfg_wdata"))
            regs = a.registers
            if commit_window(a):
                # Shadow banks: writes may come while data flows, but not while a COMMIT is still copying
                # the shadow banks stage by stage (each design drops them then, for its own copy's length).
                window = max(int(d.manifest.get("registers", {}).get("commit_stages", self.flight)) for d in (a, b))
                lines.append(f"    wire we_ok = {we} & ~|after_commit;")
                lines.append(f"    wire commit_wr = we_ok & {addr} == {regs.control['COMMIT']} & {data}[0];")
                history(lines, clock, "after_commit", window, "commit_wr")
            else:
                lines.append(f"    wire we_ok = {we} & quiet;")
        for n, w, _ in self.top_out:
            lines.append(f"    wire [{w - 1}:0] a_{wire(n)};")
        for ins, outs in self.box_ports.values():
            for p, w in ins:
                lines.append(f"    wire [{w - 1}:0] a_{wire(p)};")
        lines += self.instance(self.modules[0], "a", {p: f"oa_{wire(p)}" for ins, outs in self.box_ports.values()
                                                      for p, _ in outs})

    def begin(self, module: str, outputs: list[str], with_b: bool) -> list[str]:
        """A wrapper's first lines: its header (the shared inputs, then ``outputs``), the write rules and
        design A, and with ``with_b`` design B with its cut instances' outputs free."""
        head = ",\n".join(self.inputs + outputs)
        lines = [f"module {module} (\n{head}\n);"]
        self.common(lines)
        if with_b:
            self.declare_b(lines)
            self.instance_b(lines)
        return lines

    def declare_b(self, lines: list[str]):
        """A wire ``b_*`` per output and cut-instance input of design B."""
        for p, w in [(p, w) for ins, _ in self.box_ports.values() for p, w in ins] + \
                [(n, w) for n, w, _ in self.top_out]:
            lines.append(f"    wire [{w - 1}:0] b_{wire(p)};")

    def instance_b(self, lines: list[str], box_out: dict | None = None):
        """Design B, its cut instances' outputs ``box_out`` (default: the free inputs ``fb_*``)."""
        free = {p: f"fb_{wire(p)}" for _, outs in self.box_ports.values() for p, _ in outs}
        lines += self.instance(self.modules[1], "b", {**free, **(box_out or {})})

    def settled(self, lines: list[str], tag: str, d: int, reset_too: bool) -> str:
        """Declare ``<tag>_settled``: the cycle is at least ``d`` (A's values ``d`` cycles ago were real, not a
        delay line's start-up zeros) and, with ``reset_too``, no configuration reset in the last ``d`` cycles
        (it clears both designs' banks at once, so for ``d`` cycles B's differ from A's ``d`` cycles ago)."""
        if not d:
            lines.append(f"    wire {tag}_settled = 1'b1;")
            return f"{tag}_settled"
        history(lines, self.clock, f"{tag}_hist", d, "1'b1")
        term = f"{tag}_hist[{d - 1}]"
        if reset_too and "cfg_reset" in self.a.ports:
            history(lines, self.clock, f"{tag}_resets", d, "cfg_reset_ok")
            term += f" & ~|{tag}_resets"
        lines.append(f"    wire {tag}_settled = {term};")
        return f"{tag}_settled"
