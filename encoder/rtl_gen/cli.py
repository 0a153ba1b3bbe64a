"""``encoder rtl`` (IR -> Verilog) and ``encoder synth`` (yosys area/timing estimate)."""

from __future__ import annotations

import time
from pathlib import Path

from ..errors import UserError
from ..files import check_writable


def register(sub) -> None:
    p = sub.add_parser(
        "rtl",
        help="generate synthesizable Verilog-2001 from an encoder IR",
        description="Writes the encoder as Verilog-2001 into DIR: hand-written primitives from rtl/, "
                    "generated glue (one module per file), manifest.json (top, ports, latency, "
                    "multipliers, accumulators, register map) and a copy of the IR. The same IR and "
                    "options always give byte-identical files. Does not import TensorFlow.",
    )
    p.add_argument("ir", help="encoder IR (JSON) from `encoder export` or `encoder econt import`")
    p.add_argument("--out", metavar="DIR", help="output directory (created; must not exist); required but with --cuts list")
    p.add_argument("--weights", choices=("programmable", "constant"), default="programmable",
                   help="programmable: weights in a configuration register file written through "
                        "cfg_addr/cfg_wdata/cfg_we (as the ECON-T chip); constant: weights as literals, "
                        "no multiplier for a zero weight (default: %(default)s)")
    p.add_argument("--config-bank", choices=("shadow", "direct"), default="shadow",
                   help="programmable weights: shadow (writes land in a shadow bank; a COMMIT register write "
                        "copies it into the active bank so that every crossing meets one complete weight set) "
                        "or direct (one bank written in place: half the configuration flip-flops, but a reload "
                        "mixes weight sets while data flows) (default: %(default)s)")
    p.add_argument("--config-port", choices=("parallel", "i2c"), default="parallel",
                   help="programmable weights: parallel (cfg_we/cfg_addr/cfg_wdata/cfg_rdata, one field per "
                        "address) or i2c (an I2C target on scl/sda/sda_oe, byte registers with auto-increment, "
                        "the weights as the chip's AUTOENCODER_<b>INPUT blocks; map in manifest.json and "
                        "i2c_map.md) (default: %(default)s)")
    p.add_argument("--operand-isolation", choices=("on", "off"), default="on",
                   help="on: the top's register stages load only when the crossing they take is valid and the "
                        "input path sees zeros while no valid crossing comes in (idle cycles do not switch the "
                        "datapath); off: they load every cycle (default: %(default)s)")
    p.add_argument("--i2c-address", default="0x20", metavar="ADDR",
                   help="--config-port i2c: the target's 7-bit address (default: %(default)s)")
    p.add_argument("--pipeline", default=None, metavar="N|auto",
                   help="N: extra register stages beyond the default 2-cycle latency (default: 0), taken in "
                        "this order: after each MAC layer but the last, after the input path, on the charges. "
                        "auto: place stages among all cut points (see --cuts) so that the design mapped to "
                        "--liberty meets --clock: characterised by synthesis and OpenSTA, then verified; the "
                        "result is recorded under timing_closure in the manifest (minutes for ECON-T sizes)")
    p.add_argument("--clock", type=float, default=25.0, metavar="NS",
                   help="--pipeline auto: the clock period to meet, in ns (default: %(default)s = 40 MHz)")
    p.add_argument("--liberty", default="sky130hd", metavar="sky130hd|FILE.lib",
                   help="--pipeline auto: the cell library to meet it in (default: %(default)s)")
    p.add_argument("--max-latency", type=int, default=None, metavar="CYCLES",
                   help="--pipeline auto: fail if meeting the clock takes more cycles than this")
    p.add_argument("--cuts", default=None, metavar="NAME[,NAME...]",
                   help="the exact set of register stages, by name, instead of --pipeline (latency: their number "
                        "+ 1): 'charges' (the charge inputs), 'input_path.sum' (inside the input path, after the "
                        "module sum and its leading one), 'input_path' (after it), and per MAC layer L: "
                        "'L.products' (every product), 'L.tree' (half-way through each adder tree), "
                        "'L.accumulator' (before requantization), 'L' (after its output codes; not the last "
                        "layer). 'none': output registers only. 'list' prints this IR's names with the "
                        "flip-flops each stage costs, and exits")
    p.add_argument("--elinks", default=None, metavar="N|chip",
                   help="add the e-link framing block (enc_elink_frame) with up to N e-links (1..13): ports "
                        "bx_reset, tx_valid, tx_data[N*32-1:0], one more cycle of latency, and two configuration "
                        "registers on the configuration port (a byte-wide one on constant-weight designs): the "
                        "e-link count (reset N) and the latent mask (reset all ones, or the chip "
                        "configuration's). 'chip' takes N and the mask from the IR's chip configuration "
                        "(`encoder econt import`). Default: no framing")
    p.add_argument("--tmr", default="none", metavar="none|config|full",
                   help="radiation tolerance: none (default, the design as always); config: the configuration "
                        "bank triplicated (three copies, majority voter, every copy reloaded with the voted value "
                        "each cycle) with a counter of corrected upsets per block on the configuration port; "
                        "full: every register triplicated the same way (pipeline, valid, outputs, framing, "
                        "control, read-back, counters), so no single upset reaches an output; "
                        "the manifest lists the triplicated registers and the counters")
    p.add_argument("--reuse", type=int, default=1, metavar="R",
                   help="reuse factor: each multiplier and adder serves R products over R cycles of a clock R times "
                        "the module rate (R x 40 MHz for one module per 25 ns); a module is taken at most every R "
                        "cycles, sooner ones are ignored and flagged on the overrun port. 1: fully parallel "
                        "(default: %(default)s). With R > 1 register stages go only before the first layer")
    p.add_argument("--product-register", action="store_true",
                   help="with --reuse R > 1: a register after every multiplier, so that a phase's longest path "
                        "is either the operand selector and multiplier or the adder tree and accumulator, not "
                        "both; one more cycle of latency per layer, a flip-flop per product bit")
    p.add_argument("--force", action="store_true", help="replace an existing output directory")
    p.set_defaults(func=run_rtl)

    s = sub.add_parser(
        "synth",
        help="area, timing and power of a generated design (standard-cell library or generic estimate)",
        description="With --liberty sky130hd (shipped: SkyWater SKY130 HD cells, typical corner) or a Liberty "
                    "file: maps the design to the library with yosys module by module (flip-flops with "
                    "dfflibmap, logic with abc against the Liberty file, delay target = a fifth of the clock), runs "
                    "OpenSTA at the clock (worst and total negative slack, critical path through the "
                    "hierarchy, highest passing clock) and estimates power from switching activity "
                    "measured in the design's own RTL simulation (or a stated default activity). Writes "
                    "synth.json, synth.txt, netlist.v (for `encoder sim DIR --netlist REPORT_DIR`), map.log and "
                    "sta.log. With --liberty none (the default): generic yosys gates; cells by type, "
                    "flip-flops, estimated transistors (stat -tech cmos) and gate levels.",
    )
    s.add_argument("design", metavar="DIR", help="design directory (with manifest.json)")
    s.add_argument("--out", metavar="REPORT_DIR", help="report directory (default: DIR/synth)")
    s.add_argument("--abc", choices=("fast", "full"), default="fast",
                   help="ABC script for gate mapping: fast (abc -fast, minutes for ECON-T size) or "
                        "full (much slower; default: %(default)s)")
    s.add_argument("--no-depth", action="store_true",
                   help="skip the flattened longest-path analysis (saves time on large designs)")
    s.add_argument("--liberty", default="none", metavar="sky130hd|FILE.lib|none",
                   help="standard-cell library to map to: sky130hd (shipped), a Liberty file (.lib or .lib.gz), "
                        "or none for the generic transistor estimate (default: %(default)s)")
    s.add_argument("--clock", type=float, default=None, metavar="NS",
                   help="clock period for mapping, timing and power, in ns (default: 25 / the design's initiation "
                        "interval: 25 = 40 MHz, a --reuse R design R x 40 MHz)")
    s.add_argument("--activity", choices=("simulated", "vectorless", "none"), default="simulated",
                   help="power: switching activity from an RTL simulation of the design (simulated), a default "
                        "activity on every input and register (vectorless), or no power figures "
                        "(default: %(default)s)")
    s.add_argument("--vectors", type=int, default=1000, metavar="N",
                   help="simulated activity: modules simulated (default: %(default)s)")
    s.add_argument("--data", metavar="D", help="simulated activity: data file (.npz) of the modules "
                                                 "(default: synthetic modules, seeded)")
    s.add_argument("--seed", type=int, default=1, metavar="S", help="seed of the simulated modules (default 1)")
    s.add_argument("--map-for", choices=("delay", "area"), default="delay",
                   help="--liberty: abc maps for delay with the clock as target, then buffers and sizes gates "
                        "(delay), or runs abc -fast for area (default: %(default)s)")
    s.add_argument("--default-activity", type=float, default=0.1, metavar="A",
                   help="vectorless activity, transitions per clock on every input and register "
                        "(default: %(default)s)")
    s.add_argument("--log", metavar="FILE", help="also write the full yosys log here")
    s.add_argument("--baseline", metavar="REPORT",
                   help="compare with another design's report (its synth.json, report directory or design "
                        "directory): e.g. the same weights in QKeras' arithmetic, to see what the chip's "
                        "arithmetic saves; writes compare.json and compare.txt beside the report")
    s.add_argument("--force", action="store_true", help="replace existing report files")
    s.set_defaults(func=run_synth)


def _pipeline_arg(value: str | None) -> int:
    if value is None:
        return 0
    try:
        return int(value)
    except ValueError:
        raise UserError(f"--pipeline: {value!r} is neither a number of stages nor 'auto'") from None


def _auto(args):
    """--pipeline auto: stages chosen by the silicon flow, recorded in the manifest."""
    import json
    from ..ir import load_ir
    from ..silicon.pipelining import auto_pipeline
    if args.clock <= 0:
        raise UserError(f"--clock: {args.clock} ns is not a positive period")
    ir_text = Path(args.ir).read_text()
    design, closure = auto_pipeline(load_ir(args.ir), args.weights, args.clock, args.liberty, elinks=args.elinks,
                                    max_latency=args.max_latency, ir_text=ir_text)
    design.manifest["timing_closure"] = closure.to_dict()
    design.files["manifest.json"] = json.dumps(design.manifest, indent=1) + "\n"
    c = closure
    print(f"--pipeline auto: {c.latency_cycles} cycles = {c.latency_cycles * c.clock_ns:g} ns at {c.clock_ns:g} ns in "
          f"{c.liberty}, worst slack {c.wns_ns:+.2f} ns")
    return design


def _i2c_address(value: str) -> int:
    try:
        return int(value, 0)
    except ValueError:
        raise UserError(f"--i2c-address: {value!r} is not a number (e.g. 0x20)") from None


def _cuts_arg(value: str | None) -> list[str] | None:
    if value is None:
        return None
    if value.strip() == "none":
        return []
    names = [n.strip() for n in value.split(",")]
    if not all(names):
        raise UserError(f"--cuts: empty name in {value!r} (names separated by commas; 'none' for no stage)")
    return names


def _list_cuts(args) -> int:
    from ..ir import load_ir
    from .cuts import describe_cuts
    from .plan import plan_design
    plan = plan_design(load_ir(args.ir), args.weights)
    print(f"Cut points of {plan.top} ({args.weights} weights), datapath order: name, flip-flops a stage there "
          f"adds (data, module-sum code, valid bit{', bx_reset bit' if args.elinks else ''}), place:")
    text = describe_cuts(plan, framing=args.elinks is not None)
    if args.reuse > 1:
        from .mac_reuse import REUSE_CUTS
        print(f"(--reuse {args.reuse}: only the stages before the first layer; the layers register on their own)")
        text = "".join(line.replace("  (--pipeline 0)", "") + "\n" for line in text.splitlines()
                       if line.split()[0] in REUSE_CUTS)
    print(text, end="")
    return 0


def run_rtl(args) -> int:
    from .design import generate_from_file, write_design
    if args.cuts is not None and args.cuts.strip() == "list":
        return _list_cuts(args)
    if args.cuts is not None and args.pipeline is not None:
        raise UserError("--pipeline and --cuts are exclusive: --cuts names every register stage")
    if args.out is None:
        raise UserError("rtl: --out DIR is required")
    t0 = time.monotonic()
    out = Path(args.out)
    check_writable(out, args.force, marker="manifest.json")
    if args.pipeline == "auto":
        if args.tmr != "none":
            raise UserError("--tmr: not yet combined with --pipeline auto; give --pipeline N or --cuts")
        if args.reuse != 1:
            raise UserError(f"--pipeline auto is not supported with --reuse {args.reuse}; give --pipeline N or --cuts")
        design = _auto(args)
    else:
        design = generate_from_file(args.ir, args.weights, _pipeline_arg(args.pipeline), elinks=args.elinks,
                                    cuts=_cuts_arg(args.cuts), config_bank=args.config_bank,
                                    tmr_mode=args.tmr, config_port=args.config_port, i2c_address=_i2c_address(args.i2c_address),
                                    operand_isolation=args.operand_isolation == "on", reuse=args.reuse,
                                    product_register=args.product_register)
    write_design(design, out, force=args.force)
    m = design.manifest
    mult = m["multipliers"]
    widths = ", ".join(
        (f"{r['count']} x {r['a_bits']}{'s' if r['a_signed'] else 'u'}*{r['b_bits']}{'s' if r['b_signed'] else 'u'}"
         if "b_bits" in r else f"{r['count']} x {r['a_bits']}-bit*const") + f" ({r['layer']})"
        for r in mult["by_width"])
    accs = ", ".join(f"{layer['name']} {'s' if layer['accumulator']['signed'] else 'u'}"
                     f"{layer['accumulator']['bits']}.{layer['accumulator']['frac']}" for layer in m["layers"])
    print(f"{out}: top {m['top']}, {len(m['sources'])} Verilog files, latency {m['latency']} cycles, "
          f"{args.weights} weights ({time.monotonic() - t0:.2f} s)")
    if "reuse" in m:
        ru = m["reuse"]
        print(f"  reuse {ru['factor']}: clock {ru['clock_ratio']} x the module rate ({ru['clock_mhz_for_40mhz_modules']} "
              f"MHz for 40 MHz modules), a module every {ru['initiation_interval_cycles']} cycles, latency "
              f"{ru['latency_cycles']} cycles = {ru['latency_modules']:g} module periods; "
              f"{mult['products']} products on {mult['total']} multipliers")
    print(f"  register stages: {', '.join(m['cuts']) or 'none'} (and the output registers)")
    print(f"  multipliers: {mult['total']} = {widths}")
    print(f"  accumulators: {accs}")
    rb = m["register_bits"]
    regs = m.get("registers", {})
    n = regs.get("fields", 0)
    what = f"{n} fields" if "framing" not in regs else \
        f"{n} weight fields and the framing registers" if n else "the framing registers"
    extra = f", configuration {rb['config']} ({what})" if regs else ""
    print(f"  register bits: {rb['total']} (pipeline {rb['pipeline']}{extra})")
    if "framing" in m:
        fr = m["framing"]
        regs = {r["name"]: r for r in m["registers"]["framing"]}
        print(f"  e-link framing: up to {fr['elinks']} e-links (tx_data {32 * fr['elinks']} bits), latency "
              f"{fr['latency']} cycles; e-link count at address {regs['elinks']['addr']} (reset {fr['elinks']}), "
              f"latent mask at {regs['latent_mask']['addr']}..{regs['latent_mask']['addr'] + regs['latent_mask']['words'] - 1} "
              f"(reset from {fr['latent_mask_source']})")
    return 0


def run_synth(args) -> int:
    design = Path(args.design)
    out = Path(args.out) if args.out else design / "synth"
    if args.liberty != "none":
        return _run_silicon(args, design, out)
    from .synth import synthesize, write_report
    for name in ("synth.json", "synth.txt"):
        if (out / name).exists() and not args.force:
            raise UserError(f"{out / name}: already exists; pass --force to replace it")
    baseline = None
    if args.baseline:
        from .compare import read_report
        baseline = read_report(args.baseline)          # checked before the long yosys run
        for name in ("compare.json", "compare.txt"):
            if (out / name).exists() and not args.force:
                raise UserError(f"{out / name}: already exists; pass --force to replace it")
    if args.log:
        check_writable(args.log, args.force)
    report = synthesize(design, abc=args.abc, depth=not args.no_depth, log_path=args.log, log_overwrite=args.force)
    j, t = write_report(report, out, force=args.force)
    levels = f", {report.gate_levels} gate levels" if report.gate_levels is not None else ""
    print(f"{design}: {report.transistors:,} transistors (estimate), {report.cells:,} cells, "
          f"{report.flip_flops:,} flip-flops{levels}; yosys {report.seconds:.0f} s")
    print(f"  reports: {j}, {t}")
    if baseline is not None:
        import json
        from dataclasses import asdict
        from ..files import write_text
        from .compare import compare, to_text
        cmp = compare(asdict(report), baseline)
        write_text(out / "compare.json", json.dumps(cmp, indent=1) + "\n", overwrite=args.force)
        write_text(out / "compare.txt", to_text(cmp), overwrite=args.force)
        print(to_text(cmp), end="")
    return 0


def _run_silicon(args, design: Path, out: Path) -> int:
    from ..silicon.flow import PowerOptions, characterise
    if args.baseline:
        raise UserError("--baseline compares generic estimates; use it with --liberty none")
    if args.vectors < 1:
        raise UserError(f"--vectors: {args.vectors} is not a positive count")
    if not 0 < args.default_activity <= 2:
        raise UserError(f"--default-activity: {args.default_activity} outside (0, 2] transitions per clock")
    power = PowerOptions(mode=args.activity, vectors=args.vectors, data=args.data, seed=args.seed,
                         default_activity=args.default_activity)
    rep = characterise(design, out, args.liberty, args.clock, power, abc="fast" if args.map_for == "area" else "delay",
                       force=args.force)
    mw = f", {rep.power_mw['total']:.2f} mW, {rep.energy_nj_per_inference:.3f} nJ/inference" if rep.power_mw else ""
    print(f"{design}: {rep.area_um2 / 1e6:.4f} mm^2 ({rep.gate_equivalents:,.0f} GE), {rep.flip_flops:,} flip-flops; "
          f"{'meets' if rep.timing_met else 'MISSES'} {rep.clock_ns:g} ns (slack {rep.wns_ns:+.2f} ns, fmax "
          f"{rep.fmax_mhz:.1f} MHz){mw}")
    print(f"  reports: {out / 'synth.json'}, {out / 'synth.txt'}; netlist {out / 'netlist.v'}")
    return 0
