"""``encoder synth --liberty``: map, time, estimate power, write the report.

Steps: map the design to the library (``mapping``), static timing at the
clock (``timing``), power with switching activity from the design's own
simulation or a stated default (``power``), then ``synth.json``,
``synth.txt`` and the netlist (``netlist.v``, for ``encoder sim
--netlist``) into the report directory.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
from ..files import check_writable, write_text
from ..pdk import Library, cell_areas, gate_equivalent_area, pin_capacitance, resolve
from . import mapping, timing
from .report import SiliconReport, write
from .sta import Constraints, sta_version

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
    if lib.driver:
        c.driving_cell, c.driving_pin = lib.driver
    if lib.receiver:
        c.load_pf = pin_capacitance(liberty_text, *lib.receiver)
    return c


def check_outputs(out: Path, force: bool) -> None:
    for name in OUTPUTS:
        check_writable(out / name, force)


def characterise(design_dir: str | Path, out: str | Path, liberty: str = "sky130hd", clock_ns: float = 25.0,
                 power: PowerOptions | None = None, abc: str = "delay", force: bool = False,
                 progress: bool = True, log=print) -> SiliconReport:
    design_dir, out = Path(design_dir), Path(out)
    if clock_ns <= 0:
        raise UserError(f"--clock: {clock_ns} ns is not a positive period")
    power = power or PowerOptions()
    lib = resolve(liberty)
    check_outputs(out, force)
    manifest, top, _ = mapping.design_sources(design_dir)
    versions = {"yosys": mapping.yosys_version(), "opensta": sta_version()}
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="encoder-silicon-") as tmp:
        work = Path(tmp)
        t0 = time.monotonic()
        mapped = mapping.map_design(design_dir, lib, work, clock_ns, abc, progress)
        seconds["map"] = round(time.monotonic() - t0, 1)
        log(f"mapped to {lib.name}: {mapped.cells:,} cells, {mapped.area_um2 / 1e6:.4f} mm^2 ({seconds['map']:.0f} s)")
        text = mapped.liberty.read_text()
        cons = constraints_for(lib, text, clock_ns)
        t0 = time.monotonic()
        tim = timing.analyse(mapped.liberty, mapped.netlist, top, cons, work)
        seconds["timing"] = round(time.monotonic() - t0, 1)
        log(f"timing at {clock_ns:g} ns: worst slack {tim.wns_ns:+.2f} ns, fmax {tim.fmax_mhz:.1f} MHz")
        pw, act, vectorless = None, None, None
        if power.mode != "none":
            from . import power as pwr
            t0 = time.monotonic()
            pw, act, vectorless = pwr.for_report(design_dir, mapped, top, cons, power, work, progress)
            seconds["power"] = round(time.monotonic() - t0, 1)
            log(f"power ({act['mode']} activity): {pw['total']:.3f} mW, "
                f"{pw['total'] * clock_ns * 1e-3:.4f} nJ per inference")
        areas = cell_areas(text)
        ge = gate_equivalent_area(lib, areas)
        report = SiliconReport(
            design=str(design_dir), top=top, weights=manifest.get("weights", "?"),
            latency_cycles=manifest.get("latency"),
            liberty={"name": lib.name, "file": str(lib.liberty), "corner": lib.corner,
                     "gate_equivalent": lib.nand2, "gate_equivalent_um2": ge},
            area_um2=round(mapped.area_um2, 3), gate_equivalents=round(mapped.area_um2 / ge, 1),
            cells=mapped.cells, flip_flops=mapped.flip_flops, cells_by_type=mapped.cells_by_type,
            clock_ns=clock_ns, wns_ns=tim.wns_ns, tns_ns=tim.tns_ns, fmax_mhz=tim.fmax_mhz, timing_met=tim.met,
            critical_path=tim.to_dict()["critical_path"], constraints=cons.to_dict(),
            power_mw=pw, energy_nj_per_inference=round(pw["total"] * clock_ns * 1e-3, 6) if pw else None,
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


def copy_netlist(src: Path, dst: Path) -> None:
    shutil.copyfile(src, dst)
