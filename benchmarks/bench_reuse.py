"""--reuse R: acceptance in simulation, and what each R costs.

Default (``make sim-reuse``): econt_8x8 and econt_4x4x3 (random weights in the
formats of configs/, seeded), both weight modes, R in {1, 2, 4, 8}: each design
generated with `encoder rtl --reuse R` and run through the cocotb testbench
(2,000 vectors, every corner case, a reset and a weight reload mid-run, the
driver one module every R cycles, too-soon valids that must be ignored and
flagged); exits 1 unless every run has zero mismatches. Prints one row per
run and writes WORK/sim.json.

--synth: the cost table. For each design (--designs: the ECON-T chip configuration
from tests/data/econt/AE/init.yaml, programmable; econt_8x8 programmable and constant,
and the other constant form) and R: multipliers (from the manifest), generic yosys estimate
(`encoder synth DIR --liberty none`: transistors, flip-flops), the clock each R
needs for one module per 25 ns (R x 40 MHz), and an energy proxy (transistors x
R clock cycles per module, relative to R = 1). Writes WORK/synth.json, a
markdown table and, with matplotlib, docs/reuse_cost_generic.png.

--synth --liberty sky130hd: the same designs in SKY130 HD library terms
(`encoder synth DIR --liberty sky130hd --clock 25/R`, the report in
DIR/synth_sky130hd/, activity from --synth-vectors simulated modules driven one
every R clocks): mm^2 of cells, gate equivalents, flip-flops, the highest
passing clock against the R x 40 MHz needed, power at the needed clock and
energy per inference (power x 25 ns: R clocks of 25/R ns). A report already
there (newer than every file of its design) is read, not re-made;
--measured-only reads what is there and lists the rest as missing instead of
synthesising it (an ECON-T-size programmable design takes 15-60 minutes).
Writes WORK/synth_sky130hd.json, the table, the comparison with the published
ECON-T autoencoder and, with matplotlib, docs/reuse_cost.png.

Usage:
    python benchmarks/bench_reuse.py [--reuse 1,2,4,8] [--vectors N] [--presets econt_8x8,econt_4x4x3]
                                     [--weights programmable,constant] [--sim auto|icarus|verilator] [--work DIR]
    python benchmarks/bench_reuse.py --synth [--designs 'chip:programmable;econt_8x8:constant@1,8'] [--reuse 1,2,4,8]
    python benchmarks/bench_reuse.py --synth --liberty sky130hd [--designs 'chip:programmable;chip:constant']
                                     [--synth-vectors 300] [--measured-only]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from encoder.ir import save_ir                       # noqa: E402
from encoder.rtl_gen.design import generate_from_file, write_design   # noqa: E402
from encoder.verif.presets import preset_ir          # noqa: E402
from encoder.verif.runner import SimOptions, run     # noqa: E402

SEED = 11
CHIP_CONFIG = ROOT / "tests" / "data" / "econt" / "AE" / "init.yaml"


def _simulator(preset: str, weights: str, reuse: int, choice: str) -> str:
    """econt_8x8 on Icarus (2-5 min per R > 1 run, 3 s builds; the programmable R = 1 design too, as in
    tests/test_verif_acceptance.py), everything else on Verilator (econt_4x4x3's conv layer is 3x
    larger; constant R = 1 designs evaluate slowly event by event)."""
    if choice != "auto":
        return choice
    if preset == "econt_8x8" and (weights == "programmable" or reuse > 1):
        return "icarus"
    return "verilator"


def ir_file(work: Path, preset: str) -> Path:
    path = work / f"{preset}_ir.json"
    if not path.exists():
        if preset == "chip":
            import subprocess
            subprocess.run([sys.executable, "-m", "encoder", "econt", "import", str(CHIP_CONFIG), "--out", str(path)],
                           check=True, cwd=ROOT, capture_output=True)
        else:
            save_ir(preset_ir(ROOT / "configs" / f"{preset}.yaml", seed=SEED), path)
    return path


def design_dir(work: Path, preset: str, weights: str, reuse: int) -> Path:
    """weights: programmable, programmable-direct (one configuration bank, no shadow: --config-bank direct),
    constant, or constant-products (the other constant form, for the measurement); programmable-registered
    and constant-registered: --product-register (R > 1)."""
    d = work / f"{preset}_{weights}_r{reuse}"
    form = "products" if weights == "constant-products" else "multiplier"
    bank = "direct" if weights == "programmable-direct" else "shadow"
    generated = generate_from_file(ir_file(work, preset), weights.split("-")[0], reuse=reuse, reuse_constants=form,
                                   config_bank=bank, product_register=weights.endswith("-registered"))
    # Rewritten only when it changed: a synthesis report beside it stays valid as long as it is newer.
    on_disk = {n: (d / n).read_text() for n in generated.files if (d / n).is_file()}
    if on_disk == generated.files:
        return d
    return write_design(generated, d, force=True)


def simulate(args) -> int:
    rows, bad = [], 0
    for preset in args.presets.split(","):
        for weights in args.weights.split(","):
            for reuse in (int(r) for r in args.reuse.split(",")):
                d = design_dir(args.work, preset, weights, reuse)
                m = json.loads((d / "manifest.json").read_text())
                sim = _simulator(preset, weights, reuse, args.sim)
                t0 = time.monotonic()
                lines: list[str] = []
                code, s = run(d, SimOptions(sim=sim, vectors=args.vectors, seed=SEED, out=str(d / f"run_{sim}"),
                                            build_root=str(ROOT / "sim" / "build"), progress=False, force=True),
                              log=lines.append)
                ok = (code == 0 and s["status"] == "pass" and s["mismatches"] == 0 and s["stale_outputs"] == 0
                      and s.get("overrun_errors", 0) == 0 and set(s["latency_seen"]) == {str(m["latency"])})
                bad += not ok
                row = {"preset": preset, "weights": weights, "reuse": reuse, "simulator": sim,
                       "multipliers": m["multipliers"]["total"], "latency": m["latency"], "status": s["status"],
                       "checked": s["checked"], "mismatches": s["mismatches"], "stale": s["stale_outputs"],
                       "overrun_errors": s.get("overrun_errors"), "overrun_flags": s.get("overrun_flags_seen"),
                       "x_or_z": s["x_or_z_samples"], "readback_errors": s["register_read_back_errors"],
                       "seconds": round(time.monotonic() - t0, 1)}
                rows.append(row)
                print(f"{preset:12s} {weights:12s} R={reuse}  {sim:9s} {row['multipliers']:5d} mult  latency "
                      f"{row['latency']:2d}  {row['status']:8s} {row['checked']} checked, {row['mismatches']} "
                      f"mismatches, {row['stale']} stale, overrun errors {row['overrun_errors']}  "
                      f"{row['seconds']} s", flush=True)
                if not ok:
                    print("\n".join(lines[-15:]))
    (args.work / "sim.json").write_text(json.dumps(rows, indent=1) + "\n")
    print(f"{len(rows) - bad} of {len(rows)} runs pass; {args.work / 'sim.json'}")
    return 1 if bad else 0


def _specs(args):
    """(preset, weights, R) of --designs, each spec PRESET:WEIGHTS[@R,...] (default: --reuse)."""
    for spec in args.designs.split(";"):
        spec, _, rs = spec.partition("@")
        preset, weights = spec.split(":")
        for reuse in (int(r) for r in (rs or args.reuse).split(",")):
            if (weights == "constant-products" or weights.endswith("-registered")) and reuse == 1:
                continue                    # R = 1 has one form of each (no phases, no product register)
            yield preset, weights, reuse


def synth(args) -> int:
    if args.liberty != "none":
        return silicon(args)
    import subprocess
    rows = []
    for preset, weights, reuse in _specs(args):
        d = design_dir(args.work, preset, weights, reuse)
        m = json.loads((d / "manifest.json").read_text())
        rep = d / "synth" / "synth.json"
        if not rep.is_file():
            t0 = time.monotonic()
            subprocess.run([sys.executable, "-m", "encoder", "synth", str(d), "--liberty", "none", "--no-depth",
                            "--force"], check=True, cwd=ROOT)
            print(f"  {d.name}: yosys {time.monotonic() - t0:.0f} s", flush=True)
        s = json.loads(rep.read_text())
        rows.append({"design": preset, "weights": weights, "reuse": reuse,
                     "multipliers": m["multipliers"]["total"], "products": m["multipliers"].get("products",
                                                                                           m["multipliers"]["total"]),
                     "transistors": s["transistors"], "flip_flops": s["flip_flops"],
                     "clock_mhz": 40 * reuse, "latency_cycles": m["latency"],
                     "latency_ns": m["latency"] * 25.0 / reuse})
    for r in rows:
        base = next(b for b in rows if (b["design"], b["weights"].split("-")[0], b["reuse"])
                    == (r["design"], r["weights"].split("-")[0], 1))
        r["area_vs_r1"] = r["transistors"] / base["transistors"]
        # Energy proxy per module: switched capacitance ~ transistors, switched R times per module.
        r["energy_proxy_vs_r1"] = r["transistors"] * r["reuse"] / base["transistors"]
        r["multipliers_vs_r1"] = r["multipliers"] / base["multipliers"]
    (args.work / "synth.json").write_text(json.dumps(rows, indent=1) + "\n")
    print("| design | weights | R | multipliers | est. transistors | vs R=1 | flip-flops | clock | latency |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['design']} | {r['weights']} | {r['reuse']} | {r['multipliers']:,} | {r['transistors'] / 1e6:.3f} M "
              f"| {r['area_vs_r1']:.2f} | {r['flip_flops']:,} | {r['clock_mhz']} MHz | {r['latency_cycles']} cycles = "
              f"{r['latency_ns']:g} ns |")
    _plot(rows, ROOT / "docs" / "reuse_cost_generic.png")
    return 0


# ---- SKY130 HD ---------------------------------------------------------

CROSSING_NS = 25.0
# The published ECON-T autoencoder (Di Guglielmo et al., IEEE TNS 2021): 65 nm LP CMOS, placed and
# routed, triplicated configuration registers; see /work/shared/reference/README.md.
ECONT_MM2 = 3.6
# Assumed NAND2 X1 area of 65 nm libraries (9- to 12-track), as benchmarks/bench_synth.py: no
# 65 nm Liberty file is at hand, so a range, not a measurement.
NAND2_65NM_UM2 = (1.0, 2.0)


def _fresh(report: Path, design: Path) -> bool:
    """The report exists and is newer than every file of the design it was made from."""
    if not report.is_file():
        return False
    newest = max(f.stat().st_mtime for f in design.iterdir() if f.is_file())
    return report.stat().st_mtime >= newest


def _flip_flop_power_mw(sta_log: Path) -> float | None:
    """Power of the sequential cells in the simulated-activity run (the first report_power in sta.log), internal
    power halved as encoder.silicon.power does."""
    from encoder.silicon.power import INTERNAL_SCALE
    if not sta_log.is_file():
        return None
    for line in sta_log.read_text().splitlines():
        if line.startswith("Sequential"):
            internal, switching, leakage = (float(v) for v in line.split()[1:4])
            return (internal * INTERNAL_SCALE + switching + leakage) * 1e3
    return None


def _config_bank_mm2(report: dict) -> float:
    return sum(m["instances"] * m["area_um2"] for m in report.get("per_module", [])
               if m["module"].startswith("enc_cfg_block")) / 1e6


def silicon(args) -> int:
    import subprocess
    rows, missing = [], []
    tag = f"synth_{Path(args.liberty).stem.split('.')[0]}"
    for preset, weights, reuse in _specs(args):
        d = design_dir(args.work, preset, weights, reuse)
        m = json.loads((d / "manifest.json").read_text())
        rep = d / tag / "synth.json"
        clock = CROSSING_NS / reuse
        if not _fresh(rep, d):
            if args.measured_only:
                missing.append(f"{preset} {weights} R={reuse}")
                continue
            t0 = time.monotonic()
            subprocess.run([sys.executable, "-m", "encoder", "synth", str(d), "--liberty", args.liberty,
                            "--clock", f"{clock:g}", "--vectors", str(args.synth_vectors), "--out", str(d / tag),
                            "--force"], check=True, cwd=ROOT)
            print(f"  {d.name}: {time.monotonic() - t0:.0f} s", flush=True)
        s = json.loads(rep.read_text())
        if abs(s["clock_ns"] - clock) > 1e-9:
            raise SystemExit(f"{rep}: made at {s['clock_ns']} ns, R = {reuse} needs {clock:g} ns")
        mw = s["power_mw"]["total"]
        rows.append({"design": preset, "weights": weights, "reuse": reuse,
                     "multipliers": m["multipliers"]["total"], "area_mm2": s["area_um2"] / 1e6,
                     "gate_equivalents": s["gate_equivalents"], "ge_um2": s["liberty"]["gate_equivalent_um2"],
                     "flip_flops": s["flip_flops"], "clock_mhz": 1000 / clock, "fmax_mhz": s["fmax_mhz"],
                     "wns_ns": s["wns_ns"], "met": s["timing_met"], "power_mw": mw,
                     # R clocks of 25/R ns per module: one crossing's worth of power per inference.
                     "energy_nj": mw * CROSSING_NS * 1e-3,
                     "activity": s["activity"]["flip_flop_mean_activity"] if s.get("activity") else None,
                     "flip_flop_mw": _flip_flop_power_mw(d / tag / "sta.log"), "config_bank_mm2": _config_bank_mm2(s),
                     "latency_cycles": m["latency"], "latency_ns": m["latency"] * clock,
                     "seconds": sum(s.get("seconds", {}).values())})
    for r in rows:
        # A registered-products row compares with the same weights' R = 1 (which has no product register).
        plain = r["weights"].removesuffix("-registered")
        base = next((b for b in rows if (b["design"], b["weights"], b["reuse"]) == (r["design"], plain, 1)), None)
        r["multipliers_vs_r1"] = r["multipliers"] / base["multipliers"] if base and base["multipliers"] else None
        r["area_vs_r1"] = r["area_mm2"] / base["area_mm2"] if base else None
        r["energy_vs_r1"] = r["energy_nj"] / base["energy_nj"] if base else None
    (args.work / f"{tag}.json").write_text(json.dumps({"rows": rows, "missing": missing}, indent=1) + "\n")
    print(f"| design | weights | R | multipliers | mm^2 | gate equiv. | vs R = 1 | flip-flops | clock needed | fmax "
          f"| met | mW at the needed clock | of it flip-flops | nJ per inference | vs R = 1 | latency |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")

    def ratio(v):
        return f"{v:.2f}" if v is not None else "-"
    for r in rows:
        print(f"| {r['design']} | {r['weights']} | {r['reuse']} | {r['multipliers']:,} | {r['area_mm2']:.3f} "
              f"| {r['gate_equivalents']:,.0f} | {ratio(r['area_vs_r1'])} | {r['flip_flops']:,} "
              f"| {r['clock_mhz']:g} MHz | {r['fmax_mhz']:.1f} MHz | {'yes' if r['met'] else 'no'} "
              f"({r['wns_ns']:+.2f} ns) | {r['power_mw']:.1f} | {_share(r)} | {r['energy_nj']:.3f} "
              f"| {ratio(r['energy_vs_r1'])} "
              f"| {r['latency_cycles']} cycles = {r['latency_ns']:g} ns |")
    if missing:
        print(f"not measured: {', '.join(missing)}")
    for r in rows:
        if r["config_bank_mm2"]:
            print(f"{r['design']} {r['weights']} R = {r['reuse']}: configuration bank {r['config_bank_mm2']:.3f} mm^2 "
                  f"({r['config_bank_mm2'] / r['area_mm2']:.0%} of the cells)")
    lo, hi = (ECONT_MM2 * 1e6 / a for a in NAND2_65NM_UM2[::-1])
    print(f"\nECON-T autoencoder (published, 65 nm, placed and routed): {ECONT_MM2} mm^2 = {lo / 1e6:.2f}-"
          f"{hi / 1e6:.2f} M gate equivalents with an assumed 65 nm NAND2 X1 of {NAND2_65NM_UM2[0]}-"
          f"{NAND2_65NM_UM2[1]} um^2 (layout: includes utilisation and routing)")
    for r in rows:
        if r["weights"] in ("programmable", "programmable-registered"):
            print(f"  {r['design']} {r['weights']} R = {r['reuse']}: {r['gate_equivalents'] / 1e6:.2f} M gate equivalents "
                  f"of cells (NAND2 {r['ge_um2']:.4g} um^2) = {r['gate_equivalents'] / hi:.2f}-"
                  f"{r['gate_equivalents'] / lo:.2f} x ECON-T")
    if rows:
        _plot_silicon(rows, sorted({r for _, _, r in _specs(args)}), ROOT / "docs" / "reuse_cost.png")
    return 0


def _share(r: dict) -> str:
    return f"{r['flip_flop_mw'] / r['power_mw']:.0%}" if r["flip_flop_mw"] is not None else "-"


def _pyplot():
    """matplotlib's pyplot without a display, or None (said once) when matplotlib is not installed."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot")
        return None
    return plt


def _plot_silicon(rows: list[dict], factors: list[int], path: Path) -> None:
    plt = _pyplot()
    if plt is None:
        return
    from matplotlib.ticker import NullFormatter, ScalarFormatter
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    rs_all = factors
    for k, key in enumerate(sorted({(r["design"], r["weights"]) for r in rows})):
        rs = sorted((r for r in rows if (r["design"], r["weights"]) == key), key=lambda r: r["reuse"])
        x = [r["reuse"] for r in rs]
        colour = f"C{k}"          # the same in both panels (the rings below would advance the cycle)
        a1.plot(x, [r["area_mm2"] for r in rs], "o-", color=colour, label=f"{key[0]} {key[1]}")
        a2.plot(x, [r["energy_nj"] for r in rs], "o-", color=colour, label=f"{key[0]} {key[1]}")
        for r in rs:
            if not r["met"]:        # hollow marker: R x 40 MHz not met (fmax below it)
                a2.plot([r["reuse"]], [r["energy_nj"]], "o", mfc="white", mec="black", ms=9, zorder=0)
    for a in (a1, a2):
        a.set_xscale("log", base=2)
        a.set_yscale("log")
        a.set_xticks(rs_all, [f"{r}\n{40 * r} MHz" for r in rs_all])
        a.xaxis.set_minor_formatter(NullFormatter())
        a.yaxis.set_major_formatter(ScalarFormatter())
        a.yaxis.set_minor_formatter(ScalarFormatter())
        a.set_xlabel("reuse factor R, clock needed")
        a.grid(True, alpha=0.3, which="both")
    a1.set_ylabel("SKY130 HD cell area, mm$^2$ (log)")
    a1.set_title("Area against R")
    a2.set_ylabel("nJ per inference (power x 25 ns; log)")
    a2.set_title("Energy per inference (ringed: clock not met)")
    a1.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(exist_ok=True)
    fig.savefig(path, dpi=110)
    print(f"plot: {path}")


def _plot(rows: list[dict], path: Path) -> None:
    plt = _pyplot()
    if plt is None:
        return
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    for key in sorted({(r["design"], r["weights"]) for r in rows}):
        rs = sorted((r for r in rows if (r["design"], r["weights"]) == key), key=lambda r: r["reuse"])
        x = [r["reuse"] for r in rs]
        a1.plot(x, [r["transistors"] / 1e6 for r in rs], "o-", label=f"{key[0]} {key[1]}")
        a2.plot(x, [r["energy_proxy_vs_r1"] for r in rs], "o-", label=f"{key[0]} {key[1]}")
    for a in (a1, a2):
        a.set_xscale("log", base=2)
        a.set_xlabel("reuse factor R (clock = R x 40 MHz)")
        a.grid(True, alpha=0.3)
    a1.set_ylabel("generic estimate, M transistors")
    a1.set_title("Area against R")
    a2.set_ylabel("transistors x R, relative to R = 1")
    a2.set_title("Energy proxy per module against R")
    a1.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(exist_ok=True)
    fig.savefig(path, dpi=110)
    print(f"plot: {path}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reuse", default="1,2,4,8")
    ap.add_argument("--vectors", type=int, default=2000)
    ap.add_argument("--presets", default="econt_8x8,econt_4x4x3")
    ap.add_argument("--weights", default="programmable,constant")
    ap.add_argument("--sim", default="auto", choices=("auto", "icarus", "verilator"))
    ap.add_argument("--synth", action="store_true", help="the cost table instead of the simulations")
    ap.add_argument("--designs", default=None,
                    help="PRESET:WEIGHTS[@R,...] separated by ';' (weights constant-products: the other constant "
                         "form; programmable-direct: one configuration bank, no shadow; programmable-registered, "
                         "constant-registered: --product-register); default: the chip "
                         "configuration and econt_8x8 (generic), the chip configuration in both weight modes "
                         "(--liberty)")
    ap.add_argument("--liberty", default="none", metavar="none|sky130hd|FILE.lib",
                    help="--synth: the generic yosys estimate (none) or the silicon flow in this library")
    ap.add_argument("--synth-vectors", type=int, default=300, metavar="N",
                    help="--synth --liberty: modules simulated for the switching activity")
    ap.add_argument("--measured-only", action="store_true",
                    help="--synth --liberty: read the reports already made, list the rest as missing")
    ap.add_argument("--work", type=Path, default=ROOT / "out" / "bench_reuse")
    args = ap.parse_args()
    if args.designs is None:
        args.designs = ("chip:programmable;chip:constant" if args.liberty != "none" else
                        "chip:programmable;econt_8x8:programmable;econt_8x8:constant;econt_8x8:constant-products@2,8")
    args.work.mkdir(parents=True, exist_ok=True)
    return synth(args) if args.synth else simulate(args)


if __name__ == "__main__":
    from encoder.interrupts import script_main
    sys.exit(script_main(main, "bench_reuse"))
