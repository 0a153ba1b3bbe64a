"""Switching activity of a mapped design, measured in the design's own RTL simulation.

The RTL runs on Icarus with a dedicated bench: reset, the weights written
through the configuration port (programmable designs), then one module every
``initiation_interval`` clocks of the manifest (1, or R for a ``--reuse R``
design: valid high one clock, low R - 1 clocks, the charges held) from the
regression's stimulus generator (``encoder.verif.stimulus``: random charges
of a seed, or modules of a data file). A VCD is dumped over the inference
window only: it opens once the pipeline is full of real modules (the
modules in flight, ceil(latency / interval), after the stream starts, well
after configuration) and spans ``cycles`` = modules x interval clock
periods, so activities stay per clock period at the fast clock. Toggles and
time at 1 are counted per bit of every input port and every register; the
clock is left out (OpenSTA knows it from the SDC).

Activities are transitions per clock period and duty the fraction of time
at 1, as ``set_power_activity`` takes them (checked by hand in
``tests/test_silicon_power.py``: OpenSTA multiplies activity by the clock
frequency).

Registers are found in the mapped netlist by name: yosys names the net a
flip-flop's Q drives after the RTL register (``conv_out_q[5]``), or after
the output port that register drives (``fields[3]`` inside
``enc_cfg_block``), and keeps instance names, so the flip-flop at
``u_cfg_conv_weight_b0/_378_`` is matched to the simulated signal
``u_cfg_conv_weight_b0.fields[0]``. Flip-flops whose Q net has no simulated
signal (a name yosys invented) are counted as ``unmatched`` and get
``DEFAULT_ACTIVITY``.

OpenSTA 2019 (Debian's) cannot take these per-bit figures, as tried on
the tiny design: its ``set_power_activity -pins`` is broken (it calls a
missing ``get_pins_error``); the underlying ``sta::set_power_pin_activity``
is overwritten by the propagation at the first power computation, and set
after it changes only that pin, not its net's other pins; its propagation
from input ports alone (no ``-global``) gives nonsense (36 W for the tiny
design, whose vectorless figure at activity 0.5 is 14 mW); and
with ``-global`` the global value wins over every port and pin (``-input``
and ``-input_ports`` included). So ``to_tcl`` hands OpenSTA the simulation as
one number: the mean activity and duty over the flip-flop bits
(configuration bits, at 0, included) as the global activity of every net.
The per-bit figures are kept (``pins``, ``ports``) and written as comments
in the form a newer OpenSTA takes.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import interrupts
from ..errors import UserError

DEFAULT_ACTIVITY = (0.1, 0.5)       # (activity, duty) of flip-flops without a simulated signal
CLOCK_NS = 10                       # of the simulation only: activities are per period, whatever it is
RESET_CYCLES = 3
TB_TOP = "enc_power_tb"


@dataclass
class Toggles:
    """Per bit: transitions and time at 1 over the window, by (scope path inside the design, name, bit)."""

    cycles: int
    period: int                     # simulation time units per clock
    bits: dict[tuple[tuple[str, ...], str, int], tuple[int, int]]   # -> (transitions, time at 1)
    golden_matches: int = 0         # of the stream's outputs, how many the golden model gives too

    def activity(self, key) -> tuple[float, float] | None:
        got = self.bits.get(key)
        if got is None:
            return None
        n, high = got
        return n / self.cycles, high / (self.cycles * self.period)


@dataclass
class Activity:
    """Switching activity for OpenSTA: per input port bit and per flip-flop Q pin."""

    source: str                                     # "simulated"
    vectors: int
    cycles: int
    data: str                                       # where the modules came from
    pins: dict[str, tuple[float, float]] = field(default_factory=dict)   # Q pin path -> (activity, duty)
    ports: dict[str, tuple[float, float]] = field(default_factory=dict)  # input port bit -> (activity, duty)
    unmatched: int = 0                              # flip-flops given DEFAULT_ACTIVITY
    unmatched_pins: list[str] = field(default_factory=list)
    golden_matches: int = 0                         # modules whose outputs matched the golden model
    default: tuple[float, float] = DEFAULT_ACTIVITY
    clock_port: str = "clk"
    initiation_interval: int = 1                    # clocks per module in the simulation

    def per_module_text(self) -> str:
        return "clock" if self.initiation_interval == 1 else f"{self.initiation_interval} clocks"

    def describe(self) -> str:
        return (f"simulated: {self.vectors} modules ({self.data}; {self.golden_matches} outputs as the golden "
                f"model's), {self.cycles} cycles at one inference per {self.per_module_text()}; {len(self.ports)} "
                f"input port bits, "
                f"{len(self.pins)} flip-flops from the simulation, {self.unmatched} unmatched at activity "
                f"{self.default[0]:g}, duty {self.default[1]:g}")

    def means(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """Mean (activity, duty) over the flip-flops (unmatched at the default) and over the input port bits."""
        ffs = list(self.pins.values()) + [self.default] * self.unmatched
        ports = list(self.ports.values())

        def mean(v):
            return (sum(a for a, _ in v) / len(v), sum(d for _, d in v) / len(v)) if v else self.default
        return mean(ffs), mean(ports)

    def to_tcl(self) -> str:
        """OpenSTA 2019 takes the simulation as one number (see the module docstring): the flip-flops'
        mean activity and duty as the global activity; the per-bit figures follow as comments, in the
        commands a newer OpenSTA accepts."""
        (fa, fd), _ = self.means()
        lines = [f"# switching activity, {self.describe()}",
                 f"# every net at the flip-flops' mean: {fa:.4g} transitions per clock, duty {fd:.4g}",
                 f"set_power_activity -global -activity {fa:.6g} -duty {fd:.6g}"]
        lines += [f"# set_power_activity -input_ports {{{p}}} -activity {a:.6g} -duty {d:.6g}"
                  for p, (a, d) in sorted(self.ports.items())]
        pins = dict(self.pins)
        pins.update({p: self.default for p in self.unmatched_pins})
        lines += [f"# set_power_activity -pins [get_pins {{{p}}}] -activity {a:.6g} -duty {d:.6g}"
                  for p, (a, d) in sorted(pins.items())]
        return "\n".join(lines) + "\n"


# ---- the simulation ------------------------------------------------------

def _testbench(design, n_stream: int, n_cfg: int, window_start: int, cycles: int) -> str:
    """Plain Verilog bench: reset, configuration writes, then one vector every initiation interval (valid
    high for one clock of it), VCD over the window of ``cycles`` clocks."""
    ports = design.ports
    counts, valid = ports["in_counts"], ports["in_valid"]
    rst_on = 1 if design.reset_active_high else 0
    decl = ["  reg clk = 0;", f"  reg {design.reset} = {rst_on};",
            f"  reg {valid.name} = 0;", f"  reg [{counts.width - 1}:0] {counts.name} = 0;",
            f"  reg [{counts.width - 1}:0] vec [0:{n_stream - 1}];"]
    conns = [f".{design.clock}(clk)", f".{design.reset}({design.reset})", f".{valid.name}({valid.name})",
             f".{counts.name}({counts.name})"]
    driven = {design.clock, design.reset, valid.name, counts.name}
    cfg = ""
    if design.programmable:
        we, addr, wdata = ports["cfg_we"], ports["cfg_addr"], ports["cfg_wdata"]
        decl += [f"  reg {we.name} = 0;", f"  reg [{addr.width - 1}:0] {addr.name} = 0;",
                 f"  reg [{wdata.width - 1}:0] {wdata.name} = 0;",
                 f"  reg [{addr.width + wdata.width - 1}:0] cfg [0:{max(n_cfg, 1) - 1}];"]
        conns += [f".{p.name}({p.name})" for p in (we, addr, wdata)]
        driven |= {we.name, addr.name, wdata.name}
        cfg = (f'    $readmemh("cfg.hex", cfg);\n'
               f"    for (i = 0; i < {n_cfg}; i = i + 1) begin\n"
               f"      @(posedge clk); #1 {we.name} = 1; {{{addr.name}, {wdata.name}}} = cfg[i];\n"
               f"    end\n"
               f"    @(posedge clk); #1 {we.name} = 0;\n")
    other_in = []
    release = ""
    for p in design.manifest.get("ports", []):
        name = p["name"]
        if name in driven:
            continue
        if p.get("role") == "cfg_reset":     # the configuration reset: released with the datapath reset
            other_in.append(f"  reg {name} = 1;")
            release = f" {name} = 0;"
        elif p["direction"] == "input":      # e.g. bx_reset of the framing block: held low
            other_in.append(f"  reg [{p['width'] - 1}:0] {name} = 0;")
        else:
            other_in.append(f"  wire [{p['width'] - 1}:0] {name};")
        conns.append(f".{name}({name})")
    half = CLOCK_NS // 2
    ii = design.initiation_interval
    # The other clocks of a module's interval: valid low, the charges held as a front end would hold them.
    idle = (f"\n      repeat ({ii - 1}) begin @(posedge clk); #1 {valid.name} = 0; end" if ii > 1 else "")
    valid_out, latents, sum_code = (ports[r].name for r in ("out_valid", "out_latents", "out_sum_code"))
    return f"""`timescale 1ns/1ps
module {TB_TOP};
{chr(10).join(decl + other_in)}
  integer i;
  event window;
  {design.top} dut ({', '.join(conns)});
  always #{half} clk = ~clk;
  initial begin
    $readmemh("vectors.hex", vec);
    repeat ({RESET_CYCLES}) @(posedge clk);
    #1 {design.reset} = {1 - rst_on};{release}
{cfg}    for (i = 0; i < {n_stream}; i = i + 1) begin
      @(posedge clk); #1 {valid.name} = 1; {counts.name} = vec[i];
      if (i == {window_start}) -> window;{idle}
    end
  end
  // The window opens mid-cycle, so each of its periods holds one clock edge and one input change.
  initial begin
    @(window);
    #{half - 1};
    $dumpfile("activity.vcd");
    $dumpvars(0, dut);
    #({cycles * CLOCK_NS});
    $finish;
  end
  // What came out, to check the bench against the golden model.
  integer fo;
  initial fo = $fopen("outputs.txt", "w");
  always @(negedge clk) if ($time > 0 && {valid_out} === 1'b1) $fwrite(fo, "%h %h\\n", {latents}, {sum_code});
endmodule
"""


def _run(cmd: list[str], cwd: Path, what: str) -> None:
    proc = interrupts.popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = proc.communicate()
    finally:
        interrupts.release(proc)
    if proc.returncode != 0:
        raise UserError(f"{what} failed (exit {proc.returncode}): {' | '.join(out.strip().splitlines()[-3:])}")


def stimulus(ir, vectors: int, seed: int, data: str | Path | None) -> tuple[np.ndarray, str]:
    """Counts (vectors, n_cells) from the regression's generator, and where they came from."""
    from ..verif import stimulus as stim
    if vectors < 1:
        raise UserError(f"activity: at least one module needed, got {vectors}")
    rng = np.random.default_rng(seed)
    if data is not None:
        return stim.from_data(ir, data, vectors, rng).counts, f"data file {data}"
    return (stim.random_charges(ir, vectors, rng).counts,
            f"synthetic charges, seed {seed} (uniform, sparse, log-uniform, small sums)")


def simulate(design_dir: str | Path, vectors: int = 200, seed: int = 1, data: str | Path | None = None,
             work: Path | None = None) -> tuple[Toggles, str]:
    """Run the design's RTL on ``vectors`` modules; toggles over the inference window."""
    from ..rtl_gen.design import control_writes
    from ..verif import regmap
    from ..verif.design import load_design
    from ..verif.toolchain import find_icarus
    design = load_design(design_dir)
    ir = design.load_ir()
    counts, where = stimulus(ir, vectors, seed, data)
    field_width = design.ports["in_counts"].element_width
    words = [sum(int(v) << (field_width * i) for i, v in enumerate(row)) for row in counts]
    ii = design.initiation_interval
    in_flight = -(-design.latency // ii)
    # The pipeline first fills with the last modules, so the window sees every module enter once.
    stream = words[-in_flight:] + words + words[:in_flight + 2] if in_flight else words + words[:2]
    tmp = None
    if work is None:
        tmp = tempfile.TemporaryDirectory(prefix="enc-activity-")
        work = Path(tmp.name)
    try:
        work.mkdir(parents=True, exist_ok=True)
        hexw = -(-design.ports["in_counts"].width // 4)
        (work / "vectors.hex").write_text("".join(f"{w:0{hexw}x}\n" for w in stream))
        n_cfg = 0
        if design.programmable:
            wd = design.ports["cfg_wdata"].width
            # The weight image, then the control writes that put it in force (commit, enable).
            image = list(regmap.image(design.registers, ir).items()) + control_writes(design.manifest)
            (work / "cfg.hex").write_text("".join(f"{(a << wd) | w:x}\n" for a, w in image))
            n_cfg = len(image)
        (work / "tb.v").write_text(_testbench(design, len(stream), n_cfg, in_flight, len(words) * ii))
        sim = find_icarus()
        vvp = Path(sim.executable).with_name("vvp")
        _run([sim.executable, "-g2012", "-o", "tb.vvp", "-s", TB_TOP, "tb.v",
              *[str(s.resolve()) for s in design.sources]], work, "iverilog (activity bench)")
        _run([str(vvp) if vvp.exists() else "vvp", "-n", "tb.vvp"], work, "vvp (activity bench)")
        vcd = work / "activity.vcd"
        if not vcd.is_file():
            raise UserError(f"activity bench wrote no VCD in {work}")
        toggles = read_vcd(vcd, scope=(TB_TOP, "dut"), cycles=len(words) * ii, period=CLOCK_NS * 1000,
                           skip={design.clock})
        toggles.golden_matches = _check_outputs(work / "outputs.txt", design, ir, counts)
    finally:
        if tmp is not None:
            tmp.cleanup()
    return toggles, where


def _check_outputs(path: Path, design, ir, counts: np.ndarray) -> int:
    """How many of the modules' golden (latents, sum code) came out of the bench (as multisets)."""
    from collections import Counter

    from .. import golden
    res = golden.run(ir, counts=counts)
    lat = design.ports["out_latents"]
    w, mask = lat.element_width, (1 << lat.element_width) - 1
    want = Counter((tuple(int(v) & mask for v in row), int(sc)) for row, sc in zip(res.latents, res.sum_code))
    got = Counter()
    for line in path.read_text().split("\n") if path.is_file() else []:
        parts = line.split()
        if len(parts) == 2 and not any(c in line for c in "xzXZ"):
            word = int(parts[0], 16)
            got[(tuple((word >> (w * i)) & mask for i in range(lat.fields)), int(parts[1], 16))] += 1
    return sum((want & got).values())


# ---- VCD ---------------------------------------------------------------

VAR = re.compile(r"\$var\s+\S+\s+(\d+)\s+(\S+)\s+(\S+)(?:\s+\[(\d+)(?::(\d+))?\])?\s+\$end")


def read_vcd(path: Path, scope: tuple[str, ...], cycles: int, period: int,
             skip: set[str] = frozenset()) -> Toggles:
    """Transitions and time at 1 per bit of every signal under ``scope``, from the dump's start to
    ``cycles * period`` time units later (the file's timescale must be 1 ps per unit: see the bench)."""
    stack: list[str] = []
    names: dict[str, list[tuple[tuple[str, ...], str, int, int]]] = {}   # id -> (scope, name, width, lsb/msb)
    state: dict[str, list] = {}       # id -> [value, toggles per bit, high time per bit, since]
    t = 0
    end = cycles * period
    with open(path) as fh:
        for line in fh:
            if line.startswith("$scope"):
                stack.append(line.split()[2])
                continue
            if line.startswith("$upscope"):
                stack.pop()
                continue
            if line.startswith("$var"):
                m = VAR.match(line.strip())
                if m and tuple(stack[:len(scope)]) == scope and m.group(3) not in skip:
                    width, ident, name = int(m.group(1)), m.group(2), m.group(3)
                    msb = int(m.group(4)) if m.group(4) is not None else None
                    lsb = int(m.group(5)) if m.group(5) is not None else msb
                    if msb is not None and msb < lsb:
                        lsb = msb       # ascending range: bit 0 of the value is the lowest index
                    names.setdefault(ident, []).append((tuple(stack[len(scope):]), name, width, lsb or 0))
                continue
            if line.startswith("$enddefinitions"):
                break
        t0 = None
        for line in fh:
            c = line[:1]
            if c == "#":
                t = int(line[1:])
                if t0 is None:
                    t0 = t
                if t - t0 >= end:
                    break
                continue
            if c in "01xzXZ":
                ident, val = line[1:].strip(), 1 if c == "1" else 0
            elif c in "bB":
                v, ident = line[1:].split()
                val = int(v.replace("x", "0").replace("z", "0").replace("X", "0").replace("Z", "0"), 2)
            else:
                continue
            if ident not in names:
                continue
            now = t - (t0 or 0)
            s = state.get(ident)
            if s is None:
                width = names[ident][0][2]
                state[ident] = [val, [0] * width, [0] * width, now]
                continue
            old = s[0]
            if val == old:
                continue
            _close_high(s, now)
            diff = old ^ val
            while diff:
                low = diff & -diff
                s[1][low.bit_length() - 1] += 1
                diff ^= low
            s[0] = val
    bits = {}
    for ident, s in state.items():
        _close_high(s, end)
        for sc, name, width, lsb in names[ident]:
            for b in range(width):
                bits[(sc, name, lsb + b)] = (s[1][b], s[2][b])
    if not bits:
        raise UserError(f"{path}: no signals of {'.'.join(scope)} in the dump")
    return Toggles(cycles=cycles, period=period, bits=bits)


def _close_high(s: list, now: int) -> None:
    """Adds the time since the last change to every bit that was at 1."""
    v, dt = s[0], now - s[3]
    b = 0
    while v:
        if v & 1:
            s[2][b] += dt
        v >>= 1
        b += 1
    s[3] = now


# ---- the netlist -------------------------------------------------------

MODULE = re.compile(r"^module\s+(\S+)\s*\(.*?\);(.*?)^endmodule", re.S | re.M)
INSTANCE = re.compile(r"^\s*(\\?\S+)\s+(\\?\S+)\s*\((.*?)\);", re.S | re.M)
CONN = re.compile(r"\.\\?([^\s(]+)\s*\(\s*(.*?)\s*\)\s*(?:,|$)", re.S)
Q_PINS = ("Q", "Q_N")


def flip_flops(netlist: Path, top: str, sequential: set[str]) -> list[tuple[str, tuple[str, ...], str, str]]:
    """Every flip-flop in the hierarchy: (OpenSTA pin path, instance path, Q net, Q pin)."""
    if not netlist.is_file():
        raise UserError(f"{netlist}: no such netlist (map the design first)")
    modules = {}
    for m in MODULE.finditer(netlist.read_text()):
        insts = []
        for cell, name, body in INSTANCE.findall(m.group(2)):
            if cell in ("input", "output", "inout", "wire", "reg", "assign"):
                continue
            insts.append((cell.lstrip("\\"), name.lstrip("\\"), dict(CONN.findall(body))))
        modules[m.group(1).lstrip("\\")] = insts
    if top not in modules:
        raise UserError(f"{netlist}: no module {top}")
    out = []

    def walk(mod: str, path: tuple[str, ...]):
        for cell, name, conns in modules[mod]:
            if cell in modules:
                walk(cell, path + (name,))
            elif cell in sequential:
                for pin in Q_PINS:
                    net = conns.get(pin, "").lstrip("\\").strip()
                    if net:
                        out.append(("/".join(path + (name, pin)), path, net, pin))
    walk(top, ())
    return out


NET = re.compile(r"^(.*?)(?:\[(\d+)\])?$")


def match(ffs, toggles: Toggles) -> tuple[dict[str, tuple[float, float]], list[str]]:
    """Q pin -> simulated (activity, duty); and the pins without a simulated signal."""
    pins, missing = {}, []
    for pin, path, net, qpin in ffs:
        m = NET.match(net)
        parts = m.group(1).split(".")         # a generate block's signals: scope.name
        key = (path + tuple(parts[:-1]), parts[-1], int(m.group(2)) if m.group(2) else 0)
        got = toggles.activity(key)
        if got is None:
            missing.append(pin)
            continue
        a, d = got
        pins[pin] = (a, 1.0 - d) if qpin == "Q_N" else (a, d)
    return pins, missing


def simulated(design_dir: str | Path, mapped, vectors: int = 200, seed: int = 1, data: str | Path | None = None,
              work: Path | None = None) -> Activity:
    """The activity of ``mapped`` (a ``Mapped``) from the RTL simulation of ``design_dir``."""
    from ..verif.design import load_design
    design = load_design(design_dir)
    toggles, where = simulate(design_dir, vectors, seed, data, work)
    ffs = flip_flops(Path(mapped.netlist), mapped.top, mapped.sequential)
    pins, missing = match(ffs, toggles)
    ports = {}
    for p in design.manifest.get("ports", []):
        if p["direction"] != "input" or p["name"] == design.clock:
            continue
        for b in range(p["width"]):
            got = toggles.activity(((), p["name"], b))
            name = f"{p['name']}[{b}]" if p["width"] > 1 else p["name"]
            ports[name] = got if got is not None else (0.0, 0.0)
    # The window may clip the first and last few modules' outputs; more missing means a wrong bench.
    if toggles.golden_matches < vectors - -(-design.latency // design.initiation_interval) - 2:
        raise UserError(f"activity bench: only {toggles.golden_matches} of {vectors} modules came out of "
                        f"{design_dir} as the golden model computes them")
    return Activity(source="simulated", vectors=vectors, cycles=toggles.cycles, data=where, pins=pins,
                    ports=ports, unmatched=len(missing), unmatched_pins=missing, clock_port=design.clock,
                    golden_matches=toggles.golden_matches, initiation_interval=design.initiation_interval)
