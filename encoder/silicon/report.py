"""The report a chip designer reads: ``synth.json`` and ``synth.txt`` of ``encoder synth --liberty``."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..files import write_text


@dataclass
class SiliconReport:
    design: str
    top: str
    weights: str
    latency_cycles: int | None
    liberty: dict                      # name, file, corner, gate-equivalent cell and its area
    area_um2: float
    gate_equivalents: float
    cells: int
    flip_flops: int
    cells_by_type: dict[str, int]
    clock_ns: float
    wns_ns: float
    tns_ns: float
    fmax_mhz: float
    timing_met: bool
    critical_path: dict
    constraints: dict
    configuration_timing: dict | None  # paths from the configuration port, reported apart
    power_mw: dict | None              # internal, switching, leakage, total
    energy_nj_per_inference: float | None
    activity: dict | None              # mode "simulated" (vectors, data) or "vectorless" (default activity)
    power_vectorless_mw: dict | None   # the vectorless estimate beside a simulated one
    tool_versions: dict
    flow: str
    netlist: str
    seconds: dict = field(default_factory=dict)
    per_module: list[dict] = field(default_factory=list)
    dont_use: list[str] = field(default_factory=list)
    initiation_interval: int = 1       # clocks per module (--reuse R: R); energy per inference spans them

    def to_dict(self) -> dict:
        return asdict(self)

    def to_text(self) -> str:
        lib = self.liberty
        lines = [
            f"Design {self.design} (top {self.top}, {self.weights} weights"
            + (f", latency {self.latency_cycles} cycles)" if self.latency_cycles is not None else ")"),
            f"Library {lib['name']} ({lib['file']}, {lib['corner']})",
            f"Flow: {self.flow}",
            f"Tools: " + ", ".join(f"{k} {v}" for k, v in self.tool_versions.items()),
            "",
            "Area",
            f"  {self.area_um2:,.0f} um^2 = {self.area_um2 / 1e6:.4f} mm^2 of standard cells (no placement "
            "utilisation, no routing)",
            f"  {self.gate_equivalents:,.0f} gate equivalents ({lib['gate_equivalent']}, "
            f"{lib['gate_equivalent_um2']:g} um^2)",
            f"  {self.cells:,} cells, {self.flip_flops:,} flip-flops",
            "",
            f"Timing at {self.clock_ns:g} ns ({1000 / self.clock_ns:.1f} MHz), datapath (charges and weights to "
            "outputs)",
            f"  worst slack {self.wns_ns:+.3f} ns, total negative slack {self.tns_ns:.3f} ns: "
            + ("MET" if self.timing_met else "VIOLATED"),
            f"  highest clock that passes: {self.fmax_mhz:.1f} MHz "
            f"({self.clock_ns - self.wns_ns:.2f} ns)",
        ]
        cp = self.critical_path
        lines += [f"  critical path: {cp['start']} ({cp['start_kind']}) -> {cp['end']} ({cp['end_kind']}),",
                  f"    {cp['arrival_ns']:.2f} ns through {cp['cells']} cells:"]
        for s in cp["through"]:
            lines.append(f"      {s['ns']:7.2f} ns {s['cells']:4d} cells  {s['instance'] or '(top)'}")
        for kind, what in (("write", "cfg_* ports to the register file"),
                           ("read", "register file to the read-back register")):
            ct = (self.configuration_timing or {}).get(kind)
            if ct:
                ccp = ct["critical_path"]
                lines += [f"  configuration {kind}s ({what}, a group of their own): worst slack "
                          f"{ct['wns_ns']:+.3f} ns, {ct['fmax_mhz']:.1f} MHz",
                          f"    {ccp['start']} -> {ccp['end']}, {ccp['arrival_ns']:.2f} ns through {ccp['cells']} cells"]
        c = self.constraints
        lines += [f"  constraints: input delay {c['input_delay_ns']:g} ns, output delay {c['output_delay_ns']:g} ns, "
                  f"inputs driven by {c['driving_cell']}, outputs load {c['load_pf']:g} pF,",
                  f"    wire load {c['wire_load']}, clock {c['clock']}"]
        if self.power_mw is not None:
            p, a = self.power_mw, self.activity or {}
            lines += ["", f"Power at {1000 / self.clock_ns:.1f} MHz ({a.get('mode', '?')} activity: "
                          f"{a.get('describe', '')})",
                      f"  internal {p['internal']:.4f} mW, switching {p['switching']:.4f} mW, "
                      f"leakage {p['leakage']:.6f} mW, total {p['total']:.4f} mW",
                      f"  energy per inference (one per "
                      + ("clock" if self.initiation_interval == 1 else f"{self.initiation_interval} clocks")
                      + f"): {self.energy_nj_per_inference:.4f} nJ"]
            if self.power_vectorless_mw is not None:
                v = self.power_vectorless_mw
                lines.append(f"  vectorless estimate for comparison ({v.get('describe', '')}): total "
                             f"{v['total']:.4f} mW")
        if self.per_module:
            lines += ["", "Largest contributions (instances x area each):"]
            for m in self.per_module[:12]:
                lines.append(f"  {m['instances']:>6} x {m['area_um2']:>10,.1f} um^2  {m['module']}")
        lines += ["", "Cells by type:"]
        for k, v in sorted(self.cells_by_type.items(), key=lambda kv: -kv[1])[:25]:
            lines.append(f"  {k:<34} {v:>10,}")
        return "\n".join(lines) + "\n"


def write(report: SiliconReport, out_dir: Path, force: bool = False) -> tuple[Path, Path]:
    j = write_text(out_dir / "synth.json", json.dumps(report.to_dict(), indent=1) + "\n", overwrite=force)
    t = write_text(out_dir / "synth.txt", report.to_text(), overwrite=force)
    return j, t
