"""``encoder econt``: the ECON-T chip's register image, input words and output frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import UserError

DESCRIPTION = """\
Compatibility with the CMS HGCAL ECON-T concentrator chip:
  import        init.yaml (I2C configuration) -> IR with the chip's weights and arithmetic
  export        IR -> init.yaml register image (weights, mux, calibration, density, e-links)
  convert       a configuration file -> the same registers in another layout
  decode-input  testInput.csv (eRx words) -> data file of calibrated charges (CALQ)
  frames        latents from `encoder golden` -> testOutput.csv (the chip's e-link words)
  check-rtl     generated RTL with e-link framing on Icarus vs the chip's testOutput.csv
  run           any algorithm the configuration selects (threshold sum, STC, best choice,
                repeater, autoencoder) on eRx words -> the chip's output words

Configuration files are read in every register layout of the chip's generations
(rw, rw-flat, intermediate, production; detected, or named with --layout);
export writes the production layout unless --layout names another.
"""


def register(sub) -> None:
    p = sub.add_parser("econt", help="ECON-T chip: import/export register images, decode inputs, frame outputs",
                       description=DESCRIPTION, formatter_class=_raw())
    s = p.add_subparsers(dest="econt_command", metavar="ACTION", required=True)

    a = s.add_parser("import", help="read an ECON-T init.yaml into an IR with the chip's arithmetic",
                     description="Decode the 12-block weight image (AUTOENCODER_{0..11}INPUT) and write the "
                                 "chip's encoder as an IR; mux, calibration, density, e-links and latent "
                                 "masks are kept in the IR's source field.")
    a.add_argument("config", help="ECON-T I2C configuration (init.yaml)")
    a.add_argument("--out", required=True, help="IR JSON to write")
    a.add_argument("--name", default=None, help="IR name (default: econt_<config file stem>)")
    a.add_argument("--counts-per-mip", type=float, default=None,
                   help="CALQ counts per transverse MIP stored in the IR (default 35, the training data's scale)")
    _layout_option(a)
    a.add_argument("--force", action="store_true", help="replace an existing output file")
    a.set_defaults(func=cmd_import)

    e = s.add_parser("export", help="write an IR's weights as the chip's init.yaml register image",
                     description="Write the AUTOENCODER weight blocks plus mux, calibration, density, e-links "
                                 "and latent masks (options, else the IR's source, else defaults: mux from the "
                                 "IR's arrangement, calibration 2048 = 1.0, high density, 5 e-links, all "
                                 "latent bits). Refuses IRs whose architecture or formats the chip cannot run.")
    e.add_argument("ir", help="encoder IR (JSON)")
    e.add_argument("--out", required=True, help="init.yaml to write")
    e.add_argument("--elinks", type=int, default=None, help="active output e-links 1..13 (eporttx_numen)")
    e.add_argument("--density", choices=("high", "low"), default=None, help="module density")
    e.add_argument("--cal", type=int, default=None, help="one calibration value for all 48 cells (2048 = 1.0)")
    e.add_argument("--mux", default=None, help="48 comma-separated mux inputs (mux output i takes input mux[i])")
    _layout_option(e, writing=True)
    e.add_argument("--force", action="store_true", help="replace an existing output file")
    e.set_defaults(func=cmd_export)

    v = s.add_parser("convert", help="write a configuration file's registers in another register layout",
                     description="Read a configuration in any layout (registers it leaves out hold the chip's "
                                 "reset values) and write the same registers in --layout (default: production). "
                                 "Refuses an e-link mask a count register cannot hold.")
    v.add_argument("config", help="ECON-T configuration (init.yaml)")
    v.add_argument("--out", required=True, help="configuration file to write")
    v.add_argument("--from-layout", dest="from_layout", choices=_layout_names(), default=None,
                   help="register layout of CONFIG (default: detected)")
    _layout_option(v, writing=True)
    v.add_argument("--force", action="store_true", help="replace an existing output file")
    v.set_defaults(func=cmd_convert)

    d = s.add_parser("decode-input", help="decode the chip's eRx words into calibrated charges (a data file)",
                     description="testInput.csv (RX_DATA_0..11 hex words) -> 7-bit TC codes -> decoded charges "
                                 "(density-dependent shift, mid-bin) -> mux -> calibration. Writes a data file "
                                 "whose charges (MIPs) times counts-per-MIP are the chip's integer CALQ, in the "
                                 "autoencoder's input order; meta arrays: bx, header (of RX_DATA_0), calq, tc_code.")
    d.add_argument("input", help="testInput.csv")
    d.add_argument("--config", required=True, help="ECON-T init.yaml (density, mux, calibration)")
    d.add_argument("--out", required=True, help="data file (.npz) to write")
    g = d.add_mutually_exclusive_group()
    g.add_argument("--ir", default=None, help="take counts-per-MIP from this chip IR")
    g.add_argument("--counts-per-mip", type=float, default=None, help="CALQ counts per MIP (default 35)")
    _layout_option(d)
    d.add_argument("--force", action="store_true", help="replace an existing output file")
    d.set_defaults(func=cmd_decode_input)

    f = s.add_parser("frames", help="frame latents into the chip's output words (testOutput.csv)",
                     description="Per BX: 5-bit BX counter, 9-bit module-sum code, then the latent field, over "
                                 "N e-links (TX_DATA_0 most significant, unused e-links 00000000). The BX "
                                 "counter is (BX - reset) mod 16 and 31 on the reset BX; resets come from the "
                                 "data file's header meta (0x9) with --data, else BX 0.")
    f.add_argument("latents", help="output of `encoder golden` (.npz with latents, sum_code)")
    f.add_argument("--config", default=None, help="ECON-T init.yaml (e-links, latent masks)")
    f.add_argument("--elinks", type=int, default=None, help="active e-links 1..13 (default: from --config)")
    f.add_argument("--data", default=None, help="data file from `encoder econt decode-input` (BX resets)")
    f.add_argument("--out", required=True, help="CSV to write (TX_DATA_0..12)")
    _layout_option(f)
    f.add_argument("--force", action="store_true", help="replace an existing output file")
    f.set_defaults(func=cmd_frames)

    c = s.add_parser("check-rtl", help="simulate the generated RTL of a chip configuration against its output words",
                     description="Import init.yaml, generate the design with programmable weights and the e-link "
                                 "framing block on all 13 of the chip's e-links (`encoder rtl --elinks 13`), "
                                 "load the register image through the configuration port, write the e-link count "
                                 "and latent mask from the configuration into the framing registers through the "
                                 "same port, read every field back, drive the decoded testInput.csv one BX per clock on Icarus (cocotb; "
                                 "bx_reset from the eRx header) and compare every BX's TX_DATA words with the "
                                 "expected CSV. Writes DIR/design, DIR/build and DIR/testOutput.csv (the RTL's "
                                 "words). Exit status 1 on any difference.")
    c.add_argument("--config", required=True, help="ECON-T init.yaml")
    c.add_argument("--input", required=True, help="testInput.csv (eRx words)")
    c.add_argument("--expected", required=True, help="testOutput.csv (the chip's TX_DATA words)")
    c.add_argument("--out", default="out/econt/rtl", metavar="DIR", help="work directory (default: %(default)s)")
    _layout_option(c)
    c.add_argument("--force", action="store_true", help="replace an existing work directory")
    c.add_argument("--bx", type=int, default=None, metavar="N", help="only the first N BX (default: all)")
    c.add_argument("--reuse", type=int, default=1, metavar="R",
                   help="generate with `encoder rtl --reuse R` (each multiplier serves R products; clock R x 40 "
                        "MHz) and drive one BX every R clocks (default: %(default)s)")
    c.add_argument("--config-port", choices=("parallel", "i2c"), default="parallel",
                   help="write the configuration through the parallel port or over I2C (`encoder rtl "
                        "--config-port i2c`: the weight image as the chip's AUTOENCODER blocks, fast mode, every "
                        "block read back) (default: %(default)s)")
    c.add_argument("--flip-field", type=int, default=None, metavar="ADDR",
                   help="load this register field with its lowest bit flipped (shows the check catches a "
                        "wrong configuration)")
    c.add_argument("--tmr", default="none", metavar="none|config",
                   help="generate the design with `encoder rtl --tmr` (config: triplicated configuration bank; the "
                        "corrected-upset counters are read at the end and must be 0)")
    c.set_defaults(func=cmd_check_rtl)

    from .algorithms.cli import register as register_run
    register_run(s, _raw(), _layout_option)


def _layout_names() -> tuple[str, ...]:
    from .layouts import LAYOUT_NAMES
    return LAYOUT_NAMES


def _layout_option(p, writing: bool = False) -> None:
    from .layouts import DEFAULT_WRITE_LAYOUT
    if writing:
        p.add_argument("--layout", choices=_layout_names(), default=DEFAULT_WRITE_LAYOUT,
                       help="register layout to write (default: %(default)s, the production chip's)")
    else:
        p.add_argument("--layout", choices=_layout_names(), default=None,
                       help="register layout of the configuration file (default: detected)")


def _raw():
    import argparse
    return argparse.RawDescriptionHelpFormatter


# -- import --------------------------------------------------------------

def cmd_import(args) -> int:
    from ..files import check_writable
    from ..ir import save_ir
    from .chip import COUNTS_PER_MIP, describe, ir_from_config
    from .registers import read_config

    check_writable(args.out, args.force)
    cpm = COUNTS_PER_MIP if args.counts_per_mip is None else args.counts_per_mip
    cfg = read_config(args.config, args.layout)
    ir = ir_from_config(args.config, name=args.name, counts_per_mip=cpm, cfg=cfg)
    save_ir(ir, args.out, overwrite=args.force)
    print(f"{args.out}: {ir.name}, {ir.n_params} weights and biases, {describe(cfg)}; "
          f"conv output {ir.layers[0].output.format}, latents {ir.latent_format}")
    return 0


# -- export --------------------------------------------------------------

def _parse_mux(text: str) -> list[int]:
    from .registers import N_CELLS
    try:
        mux = [int(v) for v in text.replace(" ", "").split(",") if v != ""]
    except ValueError:
        raise UserError(f"--mux: expected {N_CELLS} comma-separated integers") from None
    if len(mux) != N_CELLS or min(mux) < 0 or max(mux) >= N_CELLS:
        raise UserError(f"--mux: expected {N_CELLS} integers in 0..{N_CELLS - 1}, got {len(mux)}")
    return mux


def cmd_export(args) -> int:
    from ..files import check_writable, write_text
    from ..ir import load_ir
    from .chip import arithmetic_notes, check_fits, describe, mux_for, source_registers, weights_of
    from .registers import AUTOENCODER, CAL_BITS, MAX_ELINKS, N_CELLS, ChipConfig, format_config
    from .weights import encode_blocks

    check_writable(args.out, args.force)
    ir = load_ir(args.ir)
    check_fits(ir, args.ir)
    src = source_registers(ir)
    n_elinks = args.elinks if args.elinks is not None else src.get("n_elinks", 5)
    if not 1 <= n_elinks <= MAX_ELINKS:
        raise UserError(f"--elinks: {n_elinks} outside 1..{MAX_ELINKS}")
    density = {"high": 1, "low": 0}[args.density] if args.density else src.get("density", 1)
    if args.cal is not None:
        if not 0 <= args.cal < (1 << CAL_BITS):
            raise UserError(f"--cal: {args.cal} outside 0..{(1 << CAL_BITS) - 1}")
        cal = [args.cal] * N_CELLS
    else:
        cal = list(src.get("cal", [2048] * N_CELLS))
    mux = _parse_mux(args.mux) if args.mux else mux_for(ir)
    try:
        mask_ae = int(src.get("mask_ae", hex((1 << 128) - 1)), 16)
        mask_ae2 = int(src.get("mask_ae2", hex((1 << 16) - 1)), 16)
    except (TypeError, ValueError):
        raise UserError(f"{args.ir}: source.econt masks must be hex strings") from None
    cfg = ChipConfig(path=args.out, algorithm=AUTOENCODER, density=density, mux=mux, cal=cal,
                     n_elinks=n_elinks, mask_ae=mask_ae, mask_ae2=mask_ae2,
                     weight_blocks=encode_blocks(weights_of(ir)), layout=args.layout)
    _source_extras(cfg, src, args.ir)
    header = (f"ECON-T register image of encoder IR {ir.name} ({ir.hash})\n"
              "written by `encoder econt export`; the chip floors every product (see the IR of "
              "`encoder econt import` of this file)")
    write_text(args.out, format_config(cfg, header, args.layout), overwrite=args.force)
    _warn_dropped_bits(n_elinks, bin((mask_ae << 16) | mask_ae2).count("1"))
    print(f"{args.out}: {ir.n_params} weights and biases in 12 blocks, {describe(cfg)}")
    for note in arithmetic_notes(ir):
        print(f"note: {note}; the chip's latents will differ from this IR's golden model")
    return 0


def _source_extras(cfg, src: dict, where) -> None:
    """The imported configuration's other registers, so an export writes back what was read.

    The active e-link mask is kept only if it has the exported number of e-links (else eTx 0..N-1).
    """
    from .registers import mask_of_count, popcount
    try:
        for name in ("drop_lsb", "buff_t1", "buff_t2", "buff_t3", "stc_type", "use_sum", "link_reset_pattern"):
            if src.get(name) is not None:
                setattr(cfg, name, int(src[name]))
        if src.get("thresholds") is not None:
            cfg.thresholds = [int(v) for v in src["thresholds"]]
        etx = src.get("active_etxs")
        cfg.active_etxs = int(etx) if etx is not None and popcount(int(etx)) == cfg.n_elinks \
            else mask_of_count(cfg.n_elinks)
    except (TypeError, ValueError):
        raise UserError(f"{where}: source.econt registers must be integers") from None


def _warn_dropped_bits(n_elinks: int, selected: int) -> None:
    """The frame carries the lowest 32 N - 14 bits of the masked latent word; say when that is not all."""
    from ..errors import warn
    from .framing import latent_field_bits
    room = latent_field_bits(n_elinks)
    if selected > room:
        warn(f"{n_elinks} e-links leave room for {room} latent bits: {selected - room} of the {selected} "
             "latent bits the mask selects are dropped; use more e-links or a mask that selects fewer bits")


# -- convert -------------------------------------------------------------

def cmd_convert(args) -> int:
    from ..files import check_writable, write_text
    from .chip import describe
    from .registers import format_config, read_config

    check_writable(args.out, args.force)
    cfg = read_config(args.config, args.from_layout)
    src_layout = cfg.layout
    text = format_config(cfg, f"ECON-T configuration {Path(args.config).name} ({src_layout} layout) written in "
                              f"the {args.layout} layout by `encoder econt convert`", args.layout)
    write_text(args.out, text, overwrite=args.force)
    cfg.layout = args.layout
    print(f"{args.out}: {describe(cfg)} (read as {src_layout})"
          + ("" if cfg.weight_blocks is not None else "; no weight image"))
    return 0


# -- decode-input --------------------------------------------------------

def cmd_decode_input(args) -> int:
    from ..data import SensorData, save_data
    from ..files import check_writable
    from .chip import COUNTS_PER_MIP, GEOMETRY
    from .erx import HEADER_BX_RESET, calibrate, decode_codes, headers, read_words, tc_codes
    from .registers import read_config

    check_writable(args.out, args.force)
    cfg = read_config(args.config, args.layout).need("density", "mux", "cal")
    if args.ir:
        from ..ir import load_ir
        ir = load_ir(args.ir)
        if ir.input.n_cells != len(cfg.mux):
            raise UserError(f"{args.ir}: {ir.input.n_cells} cells, the chip has {len(cfg.mux)}")
        cpm = ir.input.counts_per_mip
    else:
        cpm = COUNTS_PER_MIP if args.counts_per_mip is None else args.counts_per_mip
    if not cpm > 0:
        raise UserError(f"counts per MIP must be positive, got {cpm}")
    words = read_words(args.input)
    codes = tc_codes(words)
    calq = calibrate(decode_codes(codes, cfg.density), cfg.mux, cfg.cal)
    hdr = headers(words)[:, 0]
    data = SensorData(charges=calq / cpm, geometry=GEOMETRY,
                      meta={"bx": np.arange(len(words), dtype=np.int64), "header": hdr, "calq": calq,
                            "tc_code": codes})
    save_data(args.out, data, overwrite=args.force)
    resets = np.flatnonzero(hdr == HEADER_BX_RESET)
    print(f"{args.out}: {len(words)} BX x {calq.shape[1]} calibrated charges (CALQ / {cpm:g} MIP), "
          f"BX-counter resets at {resets[:5].tolist()}{' ...' if len(resets) > 5 else ''}")
    return 0


# -- frames --------------------------------------------------------------

def _load_latents(path) -> tuple[np.ndarray, np.ndarray]:
    from ..data.store import read_npz
    path = Path(path)
    z = read_npz(path, "output of `encoder golden`")
    if "latents" not in z or "sum_code" not in z:
        raise UserError(f"{path}: expected arrays 'latents' and 'sum_code' (output of `encoder golden`)")
    lat, sc = np.asarray(z["latents"]), np.asarray(z["sum_code"])
    try:
        frac = int(z["latent_frac"]) if "latent_frac" in z else None
    except (TypeError, ValueError):
        raise UserError(f"{path}: latent_frac must be one integer") from None
    if lat.ndim != 2 or sc.shape != (lat.shape[0],):
        raise UserError(f"{path}: latents must be (BX, n) and sum_code (BX,), got {lat.shape} and {sc.shape}")
    if lat.shape[0] == 0:
        raise UserError(f"{path}: no BX")
    if not np.issubdtype(lat.dtype, np.integer) or not np.issubdtype(sc.dtype, np.integer):
        raise UserError(f"{path}: latents and sum_code must be integer codes")
    if frac is not None and frac != 8:
        raise UserError(f"{path}: latents have {frac} fractional bits, the chip sends u9.8 codes")
    return lat.astype(np.int64), sc.astype(np.int64)


def cmd_frames(args) -> int:
    from ..data import load_data
    from ..files import check_writable, write_text
    from .erx import HEADER_BX_RESET
    from .framing import bx_counter_field, format_tx_csv, frame_words, full_mask
    from .registers import MAX_ELINKS, framed_elinks, read_config

    check_writable(args.out, args.force)
    if args.config is None and args.elinks is None:
        raise UserError("give --config (e-links and latent masks) or --elinks")
    cfg = read_config(args.config, args.layout) if args.config else None
    if args.elinks is not None:
        n_elinks = args.elinks
    else:
        n_elinks = framed_elinks(cfg)
    if not 1 <= n_elinks <= MAX_ELINKS:
        raise UserError(f"--elinks: {n_elinks} outside 1..{MAX_ELINKS}")
    lat, sc = _load_latents(args.latents)
    mask = cfg.latent_mask if cfg is not None else None
    if lat.shape[1] != 16:
        raise UserError(f"{args.latents}: {lat.shape[1]} latents per BX, the chip sends 16")
    resets = [0]
    if args.data:
        data = load_data(args.data)
        if data.n_modules != len(lat):
            raise UserError(f"{args.data}: {data.n_modules} BX, {args.latents} has {len(lat)}")
        if "header" in data.meta:
            resets = np.flatnonzero(np.asarray(data.meta["header"]) == HEADER_BX_RESET).tolist() or [0]
    try:
        words = frame_words(lat, sc, bx_counter_field(len(lat), resets), n_elinks, mask)
    except ValueError as exc:
        raise UserError(f"{args.latents}: {exc}") from None
    write_text(args.out, format_tx_csv(words), overwrite=args.force)
    kept = bin(mask if mask is not None else full_mask()).count("1")
    _warn_dropped_bits(n_elinks, kept)
    from .framing import latent_field_bits
    print(f"{args.out}: {len(lat)} BX on {n_elinks} e-links ({min(kept, latent_field_bits(n_elinks))} latent "
          "bits sent), "
          f"BX-counter resets at {resets[:5]}")
    return 0


# -- check-rtl -----------------------------------------------------------

def _check_summary(r, args) -> dict:
    """check-rtl's verdict as JSON (DIR/summary.json), paths naming the folder's final place."""
    return {
        "status": "pass" if r.ok else "mismatch",
        "config": str(args.config), "input": str(args.input), "expected": str(args.expected),
        "bx": r.n_bx, "bx_equal": r.equal, "bx_different": r.n_bx - r.equal, "elinks": r.n_elinks,
        "register_fields": r.fields, "register_read_back_errors": r.readback_errors,
        "flipped_field": args.flip_field,
        "first_mismatches": r.mismatches,
        "seconds": {"build": round(r.build_seconds, 2), "simulation": round(r.sim_seconds, 2),
                    "bx_stream": round(r.data_seconds, 2)},
        "units": {"bx": "bunch crossings (one per clock)", "seconds": "wall-clock seconds"},
        "rtl_words": str(r.csv) if r.csv else None, "log": str(r.log) if r.log else None,
    }


def cmd_check_rtl(args) -> int:
    import dataclasses

    from ..files import atomic_dir
    from ..verif.econt_frames import check_rtl

    import json

    out = Path(args.out)
    # The work folder is built under a temporary name and renamed into place when the check is done.
    with atomic_dir(out, overwrite=args.force, marker="design/manifest.json") as tmp:
        r = check_rtl(args.config, args.input, args.expected, tmp, limit=args.bx, flip_field=args.flip_field,
                      layout=args.layout, tmr=args.tmr, config_port=args.config_port, reuse=args.reuse)

        def moved(p):
            return None if p is None else out / Path(p).resolve().relative_to(tmp.resolve())
        r = dataclasses.replace(r, csv=moved(r.csv), log=moved(r.log))
        (tmp / "summary.json").write_text(json.dumps(_check_summary(r, args), indent=1) + "\n")
    rate = r.n_bx / r.data_seconds if r.data_seconds > 0 else float("nan")
    print(f"{args.out}: {r.equal}/{r.n_bx} BX equal {args.expected} (all 13 TX_DATA columns; e-link count "
          f"{r.n_elinks} and latent mask written through the {args.config_port} configuration port); "
          f"{r.fields - r.readback_errors}/{r.fields} register fields written and read back")
    print(f"  Icarus: build {r.build_seconds:.0f} s, simulation {r.sim_seconds:.0f} s ({rate:.0f} BX/s one per {'clock' if args.reuse == 1 else f'{args.reuse} clocks'}, "
          f"after the configuration load); log {r.log}")
    for m in r.mismatches:
        if "note" in m:
            print(f"  {m['note']}")
        else:
            print(f"  BX {m['bx']}: expected {' '.join(m['expected'])}, got {' '.join(m['got'])}")
    print(f"  RTL words: {r.csv}; summary {out / 'summary.json'}")
    bad_counters = {}
    if r.counters is not None:
        bad_counters = {k: v for k, v in r.counters.items() if v}
        print(f"  --tmr {r.tmr}: {len(r.counters)} corrected-upset counters read, "
              + ("all 0" if not bad_counters else f"non-zero: {bad_counters}"))
    return 0 if r.ok and not bad_counters else 1
