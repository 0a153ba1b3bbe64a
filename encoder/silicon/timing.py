"""Static timing of a mapped design with OpenSTA: slack, critical path, highest clock.

The critical path is read from ``report_checks -format full`` and summarised
the way a designer reads it: where it starts and ends, how many cells it
crosses, and which instances of the generated hierarchy it runs through
with the time spent in each. All paths are single-cycle paths of one clock
(inputs and outputs are constrained against it too), so the shortest clock
that passes is the period minus the worst slack. Paths from the configuration
port are reported as a group of their own (see ``group_tcl``).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import sta
from .sta import Constraints

PATH_LINE = re.compile(r"^\s*(-?\d+\.\d+)\s+(-?\d+\.\d+)\s+[\^v]\s+(\S+)\s+\(([^)]+)\)\s*$")
START = re.compile(r"^Startpoint:\s+(\S+)\s+\((.*)\)")
END = re.compile(r"^Endpoint:\s+(\S+)\s+\((.*)\)")
ARRIVAL = re.compile(r"^\s*(-?\d+\.\d+)\s+data arrival time")
REQUIRED = re.compile(r"^\s*(-?\d+\.\d+)\s+data required time")
SLACK = re.compile(r"^\s*(-?\d+\.\d+)\s+slack")


@dataclass
class PathSegment:
    instance: str        # hierarchical instance the cells belong to ("" = top)
    cells: int
    ns: float


@dataclass
class CriticalPath:
    start: str
    start_kind: str
    end: str
    end_kind: str
    arrival_ns: float
    required_ns: float
    slack_ns: float
    cells: int
    through: list[PathSegment] = field(default_factory=list)

    def describe(self) -> str:
        hops = " -> ".join(f"{s.instance or '(top)'} [{s.cells} cells, {s.ns:.2f} ns]" for s in self.through)
        return (f"{self.start} ({self.start_kind}) to {self.end} ({self.end_kind}): {self.arrival_ns:.2f} ns "
                f"through {self.cells} cells; slack {self.slack_ns:.2f} ns\n  through: {hops}")


@dataclass
class TimingReport:
    clock_ns: float
    wns_ns: float            # worst slack, negative = violated (positive slack reported as is)
    tns_ns: float            # sum of negative endpoint slacks (0 when met)
    min_period_ns: float
    fmax_mhz: float
    met: bool
    critical_path: CriticalPath
    constraints: dict
    configuration: dict | None = None     # the configuration-write group (see ``group_tcl``)

    def to_dict(self) -> dict:
        return asdict(self)


def parse_path(text: str) -> CriticalPath:
    start = end = None
    arrival = required = slack = None
    pins: list[tuple[float, str, str]] = []       # (delay, pin, cell type)
    in_arrival = True
    # OpenSTA wraps long start/end point names: "(kind)" moves to the next line.
    text = re.sub(r"^(Startpoint|Endpoint):\s+(\S+)[ \t]*\n\s+\(", r"\1: \2 (", text, flags=re.M)
    for line in text.splitlines():
        if (m := START.match(line)) and start is None:
            start = m.groups()
        elif (m := END.match(line)) and end is None:
            end = m.groups()
        elif (m := ARRIVAL.match(line)) and arrival is None:
            arrival = float(m.group(1))
            in_arrival = False
        elif (m := REQUIRED.match(line)) and required is None and not in_arrival:
            required = float(m.group(1))
        elif (m := SLACK.match(line)) and slack is None:
            slack = float(m.group(1))
        elif in_arrival and start is not None and (m := PATH_LINE.match(line)):
            pins.append((float(m.group(1)), m.group(3), m.group(4)))
    if start is None or end is None or arrival is None or slack is None:
        raise ValueError("no path in the OpenSTA report")
    cells = [(d, p) for d, p, c in pins if "/" in p and not c.startswith(("in", "out"))]
    segments: list[PathSegment] = []
    seen: set[str] = set()
    for d, pin in cells:
        inst = pin.rsplit("/", 1)[0]              # the cell instance
        where = inst.rsplit("/", 1)[0] if "/" in inst else ""
        if segments and segments[-1].instance == where:
            seg = segments[-1]
        else:
            seg = PathSegment(where, 0, 0.0)
            segments.append(seg)
        if inst not in seen:
            seen.add(inst)
            seg.cells += 1
        seg.ns = round(seg.ns + d, 3)
    return CriticalPath(start=start[0], start_kind=start[1], end=end[0], end_kind=end[1], arrival_ns=arrival,
                        required_ns=required if required is not None else float("nan"), slack_ns=slack,
                        cells=len(seen), through=segments)


CONFIG_GROUP = "configuration"        # configuration port -> register file (writes)
READ_GROUP = "readback"                # register file -> read-back register (reads)
CONFIG_PORTS = "cfg_rst cfg_we cfg_addr* cfg_wdata*"
# A row of ``report_checks -format end``: endpoint (pin or port), its kind in brackets (a cell type,
# or "output"), required time, arrival, slack.
END_ROW = re.compile(r"^(\S+)\s+\((\S+)\)\s+(-?\d+\.\d+)\s+(-?\d+\.\d+)\s+(-?\d+\.\d+)", re.M)


def group_tcl(ports: str = CONFIG_PORTS) -> str:
    """Paths from the configuration port into the register file, and from the register file into
    the read-back register, form groups of their own.

    The chip writes its weights through a slow serial interface (I2C), never at
    the data clock, and a designer constrains that interface on its own; here it
    shares the clock, so its figures are reported apart and the datapath's
    (inputs, weights and pipeline registers to outputs) make the headline."""
    return (f"set cfg_in [get_ports {{{ports}}}]\n"
            f"if {{[llength $cfg_in] > 0}} {{ group_path -name {CONFIG_GROUP} -from $cfg_in }}\n"
            "set cfg_rb [get_cells -of_objects [get_nets {cfg_rdata*}]]\n"
            f"if {{[llength $cfg_rb] > 0}} {{ group_path -name {READ_GROUP} -to $cfg_rb }}\n")


def analyse(liberty: Path, netlist: Path, top: str, constraints: Constraints, work: Path) -> TimingReport:
    return analyse_with(liberty, netlist, top, constraints, work)[0]


def analyse_with(liberty: Path, netlist: Path, top: str, constraints: Constraints, work: Path,
                 extra: str = "") -> tuple[TimingReport, str]:
    """``analyse``, and in the same OpenSTA run the Tcl ``extra`` (loading a big netlist takes
    minutes): returns the report and what ``extra`` printed."""
    tcl = sta.load_design(liberty, netlist, top, constraints) + group_tcl()
    tcl += ("puts \"== datapath\"\n"
            "report_checks -path_delay max -format full -digits 3 -group_count 1 -endpoint_count 1 -path_group clk\n"
            "puts \"== violations\"\n"
            "report_checks -path_delay max -format end -digits 3 -group_count 1000000 -endpoint_count 1 "
            "-slack_max 0 -path_group clk\n"
            f"puts \"== {CONFIG_GROUP}\"\n"
            f"if {{[llength $cfg_in] > 0}} {{ report_checks -path_delay max -format full -digits 3 -group_count 1 "
            f"-endpoint_count 1 -path_group {CONFIG_GROUP} }}\n"
            f"puts \"== {READ_GROUP}\"\n"
            f"if {{[llength $cfg_rb] > 0}} {{ report_checks -path_delay max -format full -digits 3 -group_count 1 "
            f"-endpoint_count 1 -path_group {READ_GROUP} }}\n")
    tcl += "puts \"== extra\"\n" + extra
    out = sta.run(tcl, work, "timing")
    data = out.split("== datapath", 1)[1].split("== violations", 1)[0]
    violations = out.split("== violations", 1)[1].split(f"== {CONFIG_GROUP}", 1)[0]
    out, extra_out = out.split("== extra", 1)
    config, readback = out.split(f"== {CONFIG_GROUP}", 1)[1].split(f"== {READ_GROUP}", 1)
    path = parse_path(data)
    tns = sum(float(row[4]) for row in END_ROW.findall(violations) if float(row[4]) < 0)
    wns = path.slack_ns
    min_period = constraints.clock_ns - wns
    cfg = None
    for name, text in (("write", config), ("read", readback)):
        if "Startpoint" in text:
            cp = parse_path(text)
            period = constraints.clock_ns - cp.slack_ns
            cfg = cfg or {}
            cfg[name] = {"wns_ns": cp.slack_ns, "fmax_mhz": round(1000.0 / period, 2), "critical_path": asdict(cp)}
    report = TimingReport(clock_ns=constraints.clock_ns, wns_ns=wns, tns_ns=round(min(tns, 0.0), 3),
                          min_period_ns=round(min_period, 3), fmax_mhz=round(1000.0 / min_period, 2),
                          met=wns >= 0, critical_path=path, constraints=constraints.to_dict(), configuration=cfg)
    return report, extra_out
