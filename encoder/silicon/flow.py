"""``encoder synth --liberty``: map, time, estimate power, write the report.

Steps: map the design to the library (``mapping``), static timing at the
clock (``timing``), power with switching activity from the design's own
simulation or a stated default (``power``), then ``synth.json``,
``synth.txt`` and the netlist (``netlist.v``, for ``encoder sim
--netlist``) into the report directory.
"""

from __future__ import annotations

import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
from ..files import check_writable, write_text
from ..pdk import Library, gate_equivalent_area, pin_capacitance, resolve
from . import mapping, timing
from .report import SiliconReport, write
from .sta import Constraints, sta_version

CROSSING_NS = 25.0       # one module per bunch crossing (40 MHz)
OUTPUTS = ("synth.json", "synth.txt", "netlist.v", "map.log", "sta.log")


@dataclass
class PowerOptions:
    mode: str = "simulated"          # "simulated", "vectorless" or "none"
    vectors: int = 1000
    data: str | None = None
    seed: int = 1
    default_activity: float = 0.1    # vectorless: transitions per clock on every input and register


def constraints_for(lib: Library, liberty_text: str, clock_ns: float) -> Constraints:
    c = Constraints(clock_ns=clock_ns)
    # OpenSTA applies the library's default wire-load model to every net when no other is set.
    m = re.search(r'default_wire_load\s*:\s*"?([^";]+)"?\s*;', liberty_text[:200000])
    if m:
        mode = re.search(r'default_wire_load_mode\s*:\s*"?([^";]+)"?\s*;', liberty_text[:200000])
        c.wire_load = (f"the library's default model \"{m.group(1).strip()}\" (mode "
                       f"{mode.group(1).strip() if mode else 'top'}): a fanout-based estimate, no placement")
    if lib.driver:
        c.driving_cell, c.driving_pin = lib.driver
    if lib.receiver:
        c.load_pf = pin_capacitance(liberty_text, *lib.receiver)
    return c


def check_outputs(out: Path, force: bool) -> None:
    for name in OUTPUTS:
        check_writable(out / name, force)


def characterise(design_dir: str | Path, out: str | Path, liberty: str = "sky130hd", clock_ns: float | None = None,
                 power: PowerOptions | None = None, abc: str = "delay", force: bool = False,
                 progress: bool = True, log=print, premapped: mapping.Mapped | None = None,
                 pretimed: timing.TimingReport | None = None) -> SiliconReport:
    """``clock_ns`` None: the clock one module per 25 ns crossing needs, 25 / initiation interval
    (a ``--reuse R`` design runs R times faster). ``premapped``/``pretimed``: the mapping and timing of
    this very design at this clock, already done (``--pipeline auto`` verified them), so they are not
    repeated."""
    design_dir, out = Path(design_dir), Path(out)
    power = power or PowerOptions()
    lib = resolve(liberty)
    check_outputs(out, force)
    manifest, top, _ = mapping.design_sources(design_dir)
    # --reuse R designs take a module every R clocks: an inference costs R periods of power.
    ii = int(manifest.get("initiation_interval", 1))
    if clock_ns is None:
        clock_ns = CROSSING_NS / ii
    if clock_ns <= 0:
        raise UserError(f"--clock: {clock_ns} ns is not a positive period")
    versions = {"yosys": mapping.yosys_version(), "opensta": sta_version()}
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="encoder-silicon-") as tmp:
        work = Path(tmp)
        t0 = time.monotonic()
        mapped = premapped or mapping.map_design(design_dir, lib, work, clock_ns, abc, progress)
        seconds["map"] = round(time.monotonic() - t0, 1)
        log(f"mapped to {lib.name}: {mapped.cells:,} cells, {mapped.area_um2 / 1e6:.4f} mm^2 ({seconds['map']:.0f} s)")
        text = mapped.liberty.read_text()
        cons = constraints_for(lib, text, clock_ns)
        t0 = time.monotonic()
        tim = pretimed or timing.analyse(mapped.liberty, mapped.netlist, top, cons, work)
        seconds["timing"] = round(time.monotonic() - t0, 1)
        log(f"timing at {clock_ns:g} ns: worst slack {tim.wns_ns:+.2f} ns, fmax {tim.fmax_mhz:.1f} MHz")
        pw, act, vectorless = None, None, None
        if power.mode != "none":
            t0 = time.monotonic()
            pw, act, vectorless = power_figures(design_dir, mapped, cons, power, work)
            seconds["power"] = round(time.monotonic() - t0, 1)
            log(f"power ({act['mode']} activity): {pw['total']:.3f} mW, "
                f"{pw['total'] * clock_ns * ii * 1e-3:.4f} nJ per inference")
        ge = gate_equivalent_area(lib, mapped.areas)
        report = SiliconReport(
            design=str(design_dir.resolve()), top=top, weights=manifest.get("weights", "?"),
            latency_cycles=manifest.get("latency"),
            liberty={"name": lib.name, "file": str(lib.liberty), "corner": lib.corner,
                     "gate_equivalent": lib.nand2, "gate_equivalent_um2": ge},
            area_um2=round(mapped.area_um2, 3), gate_equivalents=round(mapped.area_um2 / ge, 1),
            cells=mapped.cells, flip_flops=mapped.flip_flops, cells_by_type=mapped.cells_by_type,
            clock_ns=clock_ns, wns_ns=tim.wns_ns, tns_ns=tim.tns_ns, fmax_mhz=tim.fmax_mhz, timing_met=tim.met,
            critical_path=tim.to_dict()["critical_path"], constraints=cons.to_dict(),
            configuration_timing=tim.configuration,
            power_mw=pw, energy_nj_per_inference=round(pw["total"] * clock_ns * ii * 1e-3, 6) if pw else None,
            initiation_interval=ii,
            activity=act, power_vectorless_mw=vectorless, tool_versions=versions,
            flow=f"hierarchical yosys mapping (input path flattened; dfflibmap; {mapped.abc}); "
                 f"OpenSTA {cons.describe()}",
            netlist="netlist.v", seconds=seconds, per_module=mapped.per_module[:40], dont_use=mapped.dont_use,
        )
        out.mkdir(parents=True, exist_ok=True)
        write_text(out / "netlist.v", mapped.netlist.read_text(), overwrite=force)
        write_text(out / "map.log", "\n".join(mapped.log) + "\n", overwrite=force)
        logs = sorted(work.glob("*.log"))
        write_text(out / "sta.log", "".join(f"== {p.name}\n{p.read_text()}" for p in logs), overwrite=force)
        write(report, out, force)
    return report


def power_figures(design_dir: Path, mapped: mapping.Mapped, cons: Constraints, opts: PowerOptions, work: Path
                  ) -> tuple[dict, dict, dict | None]:
    """(power in mW, activity description, vectorless power beside a simulated one)."""
    from . import activity as act_mod
    from . import power as pwr
    vectorless = (opts.default_activity, 0.5)
    if opts.mode == "simulated":
        act = act_mod.simulated(design_dir, mapped, vectors=opts.vectors, seed=opts.seed, data=opts.data,
                                work=work / "activity")
        rep = pwr.power(mapped, cons, act, work, vectorless, name="power")
        (fa, fd), (pa, pd) = act.means()
        activity = {"mode": "simulated", "vectors": act.vectors, "data": act.data, "seed": opts.seed,
                    "cycles": act.cycles, "flip_flop_mean_activity": round(fa, 5), "flip_flop_mean_duty": round(fd, 5),
                    "input_mean_activity": round(pa, 5), "flip_flops_matched": len(act.pins),
                    "flip_flops_unmatched": act.unmatched, "golden_matches": act.golden_matches,
                    "describe": f"{act.vectors} modules ({act.data}) simulated on the RTL; every net at the "
                                f"flip-flops' mean {fa:.3g} transitions per clock (OpenSTA 2019 takes one "
                                f"global activity)"}
        other = pwr.power(mapped, cons, None, work, vectorless, name="power_vectorless")
        vl = {**_mw(other), "describe": other.activity_note}
    else:
        rep = pwr.power(mapped, cons, None, work, vectorless, name="power")
        activity = {"mode": "vectorless", "activity": vectorless[0], "duty": vectorless[1],
                    "describe": rep.activity_note}
        vl = None
    return _mw(rep), activity, vl


def _mw(rep) -> dict:
    return {"internal": round(rep.internal_mw, 6), "switching": round(rep.switching_mw, 6),
            "leakage": round(rep.leakage_mw, 9), "total": round(rep.total_mw, 6),
            "internal_opensta": round(rep.sta_internal_mw, 6)}
