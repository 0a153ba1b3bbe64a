"""Power of a mapped design from OpenSTA's ``report_power``, and the energy of one inference.

Units, checked by hand in ``tests/test_silicon_power.py`` (one
sky130_fd_sc_hd__dfxtp_1 and four inv_1 at a known activity):

- OpenSTA reports watts (the SKY130 Liberty states leakage in nW: an inv_1's
  0.0053267 nW comes out as 5.3267e-12); the report here is in mW.
- Activity is transitions per clock period: switching power is
  0.5 * C * V^2 * activity / period, with C the fan-out pins' capacitance
  (the larger of rise and fall), the ``set_load`` on ports and the
  library's default wire load ("Small" in SKY130 HD: 1.42e-5 pF per unit
  length at the fan-out's length), V = 1.8 V.
- Internal power: the Liberty tables hold pJ (pF x V^2) per rising or
  falling transition, looked up at the slews and loads OpenSTA computes. The
  2019 OpenSTA charges (E_rise + E_fall) per transition, twice the mean
  energy of a transition (later OpenSTA averages the two: ``energy /=
  rf_count``). The hand calculation finds OpenSTA's internal power at 1.99x
  the tables' figure (inverters and flip-flop together; the flip-flop's
  clock pin alone, two transitions a period, at 2.00x), so the report halves OpenSTA's
  internal power (``INTERNAL_SCALE``) and keeps its own figure as
  ``sta_internal_mw``.

``energy_nj`` = total power x clock period, the energy of one clock: of one
inference when the design takes a module every clock; ``flow`` multiplies it
by the initiation interval for a ``--reuse R`` design (R clocks a module).

Two activity modes: ``simulated`` (an ``Activity`` from
``encoder.silicon.activity``: OpenSTA 2019 takes it as the flip-flops' mean,
see there) or vectorless (every net and input at ``VECTORLESS`` activity
and duty); the report says which, and with what figures.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import UserError
from . import sta

VECTORLESS = (0.1, 0.5)          # (activity per clock period, duty)
INTERNAL_SCALE = 0.5             # OpenSTA 2019 counts (E_rise + E_fall) for every transition
TOTAL = re.compile(r"^Total\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)", re.M)
GROUP = re.compile(r"^(Sequential|Combinational|Macro|Pad)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)", re.M)


@dataclass
class PowerReport:
    """Power in mW at one clock, and the energy of one inference."""

    internal_mw: float
    switching_mw: float
    leakage_mw: float
    total_mw: float
    clock_ns: float
    energy_nj: float                 # total power x clock period (one clock; one inference at interval 1)
    activity: str                    # "simulated" or "vectorless"
    activity_note: str               # what the activity was: vectors and data, or the value assumed
    groups: dict[str, dict[str, float]] = field(default_factory=dict)   # Sequential/Combinational, mW
    unmatched: int = 0               # flip-flops at the default activity (simulated mode)
    sta_internal_mw: float = 0.0     # OpenSTA's own internal power (twice the tables' mean energy)
    sta: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        return (f"{self.total_mw:.4g} mW at {self.clock_ns:g} ns (internal {self.internal_mw:.4g}, switching "
                f"{self.switching_mw:.4g}, leakage {self.leakage_mw:.4g}); {self.energy_nj * 1e3:.4g} pJ per "
                f"inference; activity {self.activity}: {self.activity_note}")


def vectorless_tcl(activity: float, duty: float) -> str:
    return (f"# vectorless: every net and input at activity {activity:g} per clock, duty {duty:g}\n"
            f"set_power_activity -global -activity {activity:g} -duty {duty:g}\n"
            f"set_power_activity -input -activity {activity:g} -duty {duty:g}\n")


def _paths(mapped) -> tuple[Path, Path, str]:
    if isinstance(mapped, (tuple, list)):
        liberty, netlist, top = mapped
    else:
        liberty, netlist, top = mapped.liberty, mapped.netlist, mapped.top
    liberty, netlist = Path(liberty), Path(netlist)
    for p, what in ((netlist, "netlist"), (liberty, "Liberty file")):
        if not p.is_file():
            raise UserError(f"{p}: no such {what} (map the design first)")
    return liberty, netlist, str(top)


def parse(text: str, internal_scale: float = 1.0) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """``report_power`` (watts) -> totals and groups in mW, internal power times ``internal_scale``."""
    m = TOTAL.search(text)
    if m is None:
        raise UserError("OpenSTA's report_power printed no Total line")

    def row(values) -> dict[str, float]:
        internal, switching, leakage = (float(v) * 1e3 for v in values[:3])
        internal *= internal_scale
        return {"internal_mw": internal, "switching_mw": switching, "leakage_mw": leakage,
                "total_mw": internal + switching + leakage}
    return row(m.groups()), {g[0]: row(g[1:]) for g in GROUP.findall(text)}


def power(mapped, constraints: sta.Constraints, activity=None, work: Path | None = None,
          vectorless: tuple[float, float] = VECTORLESS, name: str = "power") -> PowerReport:
    """OpenSTA's power of ``mapped`` (a ``Mapped`` or (liberty, netlist, top)) under ``constraints``.

    ``activity`` None means vectorless at ``vectorless`` (activity, duty).
    """
    liberty, netlist, top = _paths(mapped)
    if constraints is None or constraints.clock_ns <= 0:
        raise UserError("power: a clock period is needed (constraints.clock_ns > 0)")
    if work is None:
        work = netlist.parent
    tcl = sta.load_design(liberty, netlist, top, constraints)
    if activity is None:
        tcl += vectorless_tcl(*vectorless)
        mode, note, unmatched = "vectorless", (f"every net and input at {vectorless[0]:g} transitions "
                                               f"per clock, duty {vectorless[1]:g}"), 0
    else:
        tcl += activity.to_tcl()
        mode, note, unmatched = activity.source, activity.describe(), activity.unmatched
    tcl += "puts \"== power\"\nreport_power -digits 8\n"
    out = sta.run(tcl, work, name)
    text = out.split("== power", 1)[-1]
    total, groups = parse(text, INTERNAL_SCALE)
    return PowerReport(**total, clock_ns=constraints.clock_ns,
                       energy_nj=total["total_mw"] * constraints.clock_ns * 1e-3,
                       activity=mode, activity_note=note, groups=groups, unmatched=unmatched,
                       sta_internal_mw=parse(text)[0]["internal_mw"], sta=out)
