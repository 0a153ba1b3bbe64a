"""Static timing of a mapped design with OpenSTA: slack, critical path, highest clock.

The critical path is read from ``report_checks -format full`` and summarised
the way a designer reads it: where it starts and ends, how many cells it
crosses, and which instances of the generated hierarchy it runs through
with the time spent in each. All paths are single-cycle paths of one clock
(inputs and outputs are constrained against it too), so the shortest clock
that passes is the period minus the worst slack.
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
TNS = re.compile(r"^tns\s+(-?\d+(\.\d+)?)", re.M)


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

    def to_dict(self) -> dict:
        return asdict(self)


def parse_path(text: str) -> CriticalPath:
    start = end = None
    arrival = required = slack = None
    pins: list[tuple[float, str, str]] = []       # (delay, pin, cell type)
    in_arrival = True
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


def analyse(liberty: Path, netlist: Path, top: str, constraints: Constraints, work: Path) -> TimingReport:
    tcl = sta.load_design(liberty, netlist, top, constraints)
    tcl += ("report_checks -path_delay max -format full -digits 3 -group_count 1 -endpoint_count 1\n"
            "report_tns\n")
    out = sta.run(tcl, work, "timing")
    path = parse_path(out)
    m = TNS.search(out)
    tns = float(m.group(1)) if m else 0.0
    wns = path.slack_ns
    min_period = constraints.clock_ns - wns
    return TimingReport(clock_ns=constraints.clock_ns, wns_ns=wns, tns_ns=min(tns, 0.0),
                        min_period_ns=round(min_period, 3), fmax_mhz=round(1000.0 / min_period, 2),
                        met=wns >= 0, critical_path=path, constraints=constraints.to_dict())
