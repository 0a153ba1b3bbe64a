"""The ECON-T chip reproduced in RTL: generated design + e-link framing vs the chip's output words.

Two halves in one module, as ``cocotb_first``:

- ``check_rtl(config, input_csv, expected_csv, out_dir)`` (plain Python)
  imports the chip configuration into an IR, decodes the chip's eRx input
  words into CALQ charges and BX-counter resets, generates the design with
  programmable weights and the framing block on all 13 of the chip's
  e-links (count and latent mask at their reset values: 13, all ones),
  builds it with Icarus and runs the cocotb test below, then compares every
  BX's 13 e-link words with the chip's testOutput.csv, unused columns too.
- ``chip_frames_match`` (the cocotb test) loads the register image through
  the configuration port, writes the framing registers from the chip
  configuration (eporttx_numen, mask_ae/mask_ae2) through the same port,
  reads every field back, drives one BX per clock (bx_reset from the eRx
  header) and records tx_data while tx_valid is high.

Nothing here is fitted to one configuration: weights, mux, calibration,
density, e-links and latent mask all come from the init.yaml given.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import UserError

ENV_DESIGN = "ENCODER_FRAMES_DESIGN"
ENV_STIMULUS = "ENCODER_FRAMES_STIMULUS"
ENV_RESULT = "ENCODER_FRAMES_RESULT"
ENV_FLIP = "ENCODER_FRAMES_FLIP_FIELD"     # testing the test: load one field with its LSB flipped
ENV_FRAMING = "ENCODER_FRAMES_FRAMING"     # JSON: the e-link count and latent mask to write


@dataclass
class FrameCheck:
    """What ``check_rtl`` found."""

    n_bx: int
    n_elinks: int
    equal: int                       # BXs whose every TX_DATA column equals the chip's
    readback_errors: int             # configuration fields that read back differently from what was written
    fields: int                      # configuration fields written and read back
    mismatches: list[dict] = field(default_factory=list)    # first few differing BXs
    sim_seconds: float = 0.0         # the whole simulation: configuration load and read-back, then the BXs
    data_seconds: float = 0.0        # driving the BXs alone (one per clock)
    build_seconds: float = 0.0
    log: Path | None = None          # the simulator's output
    csv: Path | None = None          # the RTL's frames in the chip's CSV format
    tmr: str = "none"
    counters: dict | None = None     # --tmr config: corrected-upset counter of every block, read at the end

    @property
    def ok(self) -> bool:
        return self.equal == self.n_bx and self.readback_errors == 0 and self.n_bx > 0


def read_tx_csv(path) -> np.ndarray:
    """The chip's testOutput.csv -> (BX, 13) int64 words; one-line errors naming file and line."""
    from ..econt.framing import TX_COLUMNS
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read as text ({exc})") from None
    if not lines or [c.strip() for c in lines[0].split(",")] != list(TX_COLUMNS):
        raise UserError(f"{path}: line 1: expected the header {','.join(TX_COLUMNS[:2])},...,{TX_COLUMNS[-1]}")
    rows = []
    for lineno, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split(",")]
        if len(cells) != len(TX_COLUMNS):
            raise UserError(f"{path}: line {lineno}: expected {len(TX_COLUMNS)} columns, got {len(cells)}")
        try:
            row = [int(c, 16) for c in cells]
        except ValueError:
            raise UserError(f"{path}: line {lineno}: expected 32-bit hex words") from None
        if max(row) >= 1 << 32 or min(row) < 0:
            raise UserError(f"{path}: line {lineno}: a word is wider than 32 bits")
        rows.append(row)
    if not rows:
        raise UserError(f"{path}: no data rows")
    return np.asarray(rows, dtype=np.int64)


def chip_stimulus(config, input_csv, layout: str | None = None):
    """(ChipConfig, IR, CALQ (BX, 48) in the autoencoder's input order, bx_reset (BX,) bool).

    ``layout``: the configuration file's register layout (None: detected).
    """
    from ..econt.chip import ir_from_config
    from ..econt.erx import HEADER_BX_RESET, calibrate, decode_codes, headers, read_words, tc_codes
    from ..econt.registers import read_config

    from ..econt.registers import framed_elinks

    cfg = read_config(config, layout).need("density", "mux", "cal", "n_elinks", "mask_ae", "mask_ae2")
    framed_elinks(cfg)
    ir = ir_from_config(config, cfg=cfg)
    words = read_words(input_csv)
    calq = calibrate(decode_codes(tc_codes(words), cfg.density), cfg.mux, cfg.cal)
    top = (1 << ir.input.charge_bits) - 1
    if calq.min() < 0 or calq.max() > top:
        raise UserError(f"{input_csv}: a calibrated charge lies outside the design's {ir.input.charge_bits}-bit input")
    bx_reset = headers(words)[:, 0] == HEADER_BX_RESET
    return cfg, ir, np.asarray(calq, dtype=np.int64), bx_reset


def check_rtl(config, input_csv, expected_csv, out_dir, *, limit: int | None = None,
              flip_field: int | None = None, seed: int = 1, quiet: bool = True,
              layout: str | None = None, tmr: str = "none", config_port: str = "parallel", reuse: int = 1) -> FrameCheck:
    """Generate, simulate on Icarus and compare every BX with the chip's output words.

    ``reuse``: generate with --reuse R (clock R x 40 MHz): one BX every R clocks, idle between.

    ``quiet``: the compiler's and simulator's output go to OUT/build/build.log and sim.log.
    ``config_port``: "i2c" generates the design with the I2C target and writes every register over I2C
    (fast mode), reading the whole weight image back.
    """
    from ..econt.framing import format_tx_csv
    from ..rtl_gen import generate, write_design
    from .toolchain import find_icarus

    find_icarus()          # one-line error when Icarus is missing
    cfg, ir, calq, bx_reset = chip_stimulus(config, input_csv, layout)
    expected = read_tx_csv(expected_csv)
    if len(expected) != len(calq):
        raise UserError(f"{expected_csv}: {len(expected)} BX, {input_csv} has {len(calq)}")
    if limit is not None:
        if limit < 1:
            raise UserError(f"--bx: {limit} must be at least 1")
        calq, bx_reset, expected = calq[:limit], bx_reset[:limit], expected[:limit]
    n_links = cfg.n_elinks

    out = Path(out_dir)
    design_dir, build_dir = out / "design", (out / "build").resolve()
    # The framing registers are written at run time, as on the chip: the design carries every
    # e-link the chip has, and its reset values are not the configuration's.
    from ..rtl_gen.top import MAX_ELINKS
    design = generate(ir, "programmable", 0, elinks=MAX_ELINKS, tmr_mode=tmr, config_port=config_port,
                      reuse=reuse)
    write_design(design, design_dir, force=True)
    build_dir.mkdir(parents=True, exist_ok=True)
    stim = build_dir / "stimulus.npz"
    np.savez(stim, counts=calq, bx_reset=bx_reset.astype(np.int64), expected=expected[:, :MAX_ELINKS])
    result = build_dir / "frames.npz"
    result.unlink(missing_ok=True)

    from cocotb_tools.runner import get_runner
    manifest = design.manifest
    from ..interrupts import patch_cocotb_runner
    runner = patch_cocotb_runner(get_runner("icarus"))
    t0 = time.monotonic()
    build_log, sim_log = (build_dir / "build.log", build_dir / "sim.log") if quiet else (None, None)
    runner.build(sources=[design_dir.resolve() / s for s in manifest["sources"]], hdl_toplevel=manifest["top"],
                 build_dir=build_dir, timescale=("1ns", "1ps"), always=True, log_file=build_log)
    t1 = time.monotonic()
    try:
        runner.test(test_module="encoder.verif.econt_frames", hdl_toplevel=manifest["top"],
                    build_dir=build_dir, test_dir=build_dir, seed=seed, results_xml=str(build_dir / "results.xml"),
                    extra_env={ENV_DESIGN: str(design_dir.resolve()), ENV_STIMULUS: str(stim),
                               ENV_RESULT: str(result),
                               ENV_FRAMING: json.dumps({"elinks": n_links, "latent_mask": hex(cfg.latent_mask)}),
                               **({ENV_FLIP: str(flip_field)} if flip_field is not None else {})},
                    log_file=sim_log)
    except SystemExit:
        pass                 # the runner exits on a failed test; the result file says what was seen
    t2 = time.monotonic()
    if not result.is_file():
        raise UserError(f"{build_dir}: the simulation wrote no result (see {sim_log or 'its output above'})")
    with np.load(result) as z:
        got, readback = z["tx"], z["readback_errors"]
        n_fields = int(z["fields"])
        data_seconds = float(z["data_seconds"])
        counters = ({str(k): int(v) for k, v in zip(z["counter_blocks"], z["counters"])}
                    if "counters" in z.files else None)

    # Every column of the chip's CSV, unused e-links included: the RTL sends them as zero.
    n = min(len(got), len(expected))
    got_rows = np.zeros((len(got), expected.shape[1]), dtype=np.int64)
    got_rows[:, :got.shape[1]] = got
    same = (got_rows[:n] == expected[:n]).all(axis=1)
    bad = np.flatnonzero(~same)
    mismatches = [{"bx": int(i), "expected": [f"{v:08x}" for v in expected[i]],
                   "got": [f"{v:08x}" for v in got_rows[i]]} for i in bad[:5]]
    if len(got) != len(expected):
        mismatches.append({"bx": n, "note": f"{len(got)} frames out for {len(expected)} BX in"})
    csv = out / "testOutput.csv"
    csv.write_text(format_tx_csv(got_rows))
    return FrameCheck(n_bx=len(expected), n_elinks=n_links, equal=int(same.sum()),
                      readback_errors=int(np.count_nonzero(readback)), fields=n_fields, mismatches=mismatches,
                      sim_seconds=t2 - t1, data_seconds=data_seconds, build_seconds=t1 - t0, csv=csv, log=sim_log,
                      tmr=tmr, counters=counters)


# -- the cocotb side ---------------------------------------------------------

try:
    import cocotb
except ImportError:                      # the runner half works without the simulator's side
    cocotb = None


if cocotb is not None:
    from cocotb.clock import Clock
    from cocotb.triggers import FallingEdge, RisingEdge

    async def _configure_parallel(dut, manifest: dict, image: list, framing: dict) -> np.ndarray:
        """The parallel port: image, commit and enable, framing registers, every register read back;
        returns 0/1 per register read back (1: wrong)."""
        from ..rtl_gen import control_writes
        # Configuration port: write the whole image and put it in force (commit, enable), then read
        # every field back (read data is registered: the value of the address set one cycle before).
        for addr, code in list(enumerate(image)) + control_writes(manifest):
            await FallingEdge(dut.clk)
            dut.cfg_we.value = 1
            dut.cfg_addr.value = addr
            dut.cfg_wdata.value = int(code)
        await FallingEdge(dut.clk)
        dut.cfg_we.value = 0
        # The framing registers out of reset (rst loads their reset values, 13 e-links and all
        # ones): the chip configuration's e-link count and latent mask, after the weights.
        dut.rst.value = 0
        for addr, word in framing.items():
            await FallingEdge(dut.clk)
            dut.cfg_we.value = 1
            dut.cfg_addr.value = addr
            dut.cfg_wdata.value = word
        await FallingEdge(dut.clk)
        dut.cfg_we.value = 0
        # Read back out of reset, in normal operation (a design may hold cfg_rdata in reset;
        # the fields themselves keep their value through it).
        want = dict(enumerate(int(v) for v in image)) | framing
        readback = np.zeros(len(want), dtype=np.int64)
        for k, (addr, word) in enumerate(want.items()):
            dut.cfg_addr.value = addr
            await FallingEdge(dut.clk)
            got = dut.cfg_rdata.value
            readback[k] = 0 if got.is_resolvable and got.to_unsigned() == word else 1
        return readback

    @cocotb.test()
    async def chip_frames_match(dut):
        """Every BX's tx_data equals the chip's output words; every register field reads back."""
        from ..ir import load_ir
        from ..rtl_gen import control_writes, has_cfg_reset, register_image

        design_dir = Path(os.environ[ENV_DESIGN])
        manifest = json.loads((design_dir / "manifest.json").read_text())
        with np.load(os.environ[ENV_STIMULUS]) as z:
            counts, bx_reset, expected = z["counts"], z["bx_reset"], z["expected"]
        ports = {p["role"]: p for p in manifest["ports"]}
        cb = ports["in_counts"]["field_width"]
        n_links = ports["out_tx_data"]["fields"]
        ir = load_ir(design_dir / manifest["ir"])
        image = list(register_image(ir))
        if ENV_FLIP in os.environ:
            image[int(os.environ[ENV_FLIP])] ^= 1

        cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
        dut.rst.value = 1
        dut.valid_in.value = 0
        dut.bx_reset.value = 0
        dut.charges.value = 0
        over_i2c = manifest["registers"].get("port") == "i2c"
        if not over_i2c:
            dut.cfg_we.value = 0
            dut.cfg_addr.value = 0
            dut.cfg_wdata.value = 0
        cfg_rst = has_cfg_reset(manifest)
        if cfg_rst:
            getattr(dut, cfg_rst).value = 1
        for _ in range(3):
            await RisingEdge(dut.clk)
        if cfg_rst:
            getattr(dut, cfg_rst).value = 0

        chip = json.loads(os.environ[ENV_FRAMING])
        regs = {r["name"]: r for r in manifest["registers"]["framing"]}
        count, mask = regs["elinks"], regs["latent_mask"]
        wb = mask["word_bits"]
        framing = {count["addr"]: int(chip["elinks"])}
        framing.update({mask["addr"] + j: (int(chip["latent_mask"], 16) >> (wb * j)) & ((1 << wb) - 1)
                        for j in range(mask["words"])})
        if over_i2c:
            # Over I2C, as the chip is configured: the weight image block by block, the framing registers
            # (out of reset: rst loads their reset values), commit and enable; status and blocks read back.
            from .tb.i2c import configure
            dut.rst.value = 0
            res = await configure(dut, manifest, image, framing=framing, read_back_blocks=tuple(
                range(len(manifest["registers"]["i2c"]["blocks"]))))
            readback = np.array([res["readback_errors"] + len(res["errors"])], dtype=np.int64)
        else:
            readback = await _configure_parallel(dut, manifest, image, framing)

        tx: list[list[int]] = []

        def sample():
            # Called just after a falling edge: outputs settled since the rising edge.
            if dut.tx_valid.value.is_resolvable and int(dut.tx_valid.value) == 1:
                v = dut.tx_data.value
                if not v.is_resolvable:
                    tx.append([-1] * n_links)
                    return
                word = v.to_unsigned()
                tx.append([(word >> (32 * (n_links - 1 - i))) & 0xFFFFFFFF for i in range(n_links)])

        await FallingEdge(dut.clk)
        t_data = time.monotonic()
        ii = int(manifest.get("initiation_interval", 1))     # --reuse R: one BX every R clocks
        for row, reset in zip(counts.tolist(), bx_reset.tolist()):
            sample()
            word = 0
            for c, v in enumerate(row):
                word |= int(v) << (cb * c)
            dut.charges.value = word
            dut.bx_reset.value = int(reset)
            dut.valid_in.value = 1
            await FallingEdge(dut.clk)
            if ii > 1:
                dut.valid_in.value = 0
                dut.bx_reset.value = 0
                for _ in range(ii - 1):
                    sample()
                    await FallingEdge(dut.clk)
        dut.valid_in.value = 0
        dut.bx_reset.value = 0
        for _ in range(manifest["framing"]["latency"] + 2):
            sample()
            await FallingEdge(dut.clk)

        got = np.asarray(tx, dtype=np.int64).reshape(-1, n_links)
        data_seconds = time.monotonic() - t_data
        # --tmr: the corrected-upset counters, read through the port (0 in a run without upsets).
        extra = {}
        if "tmr" in manifest:
            c = manifest["tmr"]["counters"]
            dw = ports["cfg_wdata"]["width"]
            values = []
            for b in c["blocks"]:
                v = 0
                for j in range(c["words"]):
                    dut.cfg_addr.value = b["addr"] + j
                    await FallingEdge(dut.clk)
                    await FallingEdge(dut.clk)
                    r = dut.cfg_rdata.value
                    v |= (r.to_unsigned() if r.is_resolvable else (1 << dw) - 1) << (dw * j)
                values.append(v)
            extra = {"counters": np.array(values, dtype=np.int64),
                     "counter_blocks": np.array([b["block"] for b in c["blocks"]])}
        n_regs = len(image) + len(framing)
        np.savez(os.environ[ENV_RESULT], tx=got, readback_errors=readback, fields=n_regs,
                 data_seconds=data_seconds, **extra)
        assert not readback.any(), f"{int(readback.sum())} of {n_regs} configuration registers read back wrong"
        assert len(got) == len(expected), f"{len(got)} frames for {len(expected)} BX"
        bad = np.flatnonzero((got != expected).any(axis=1))
        for i in bad[:5]:
            dut._log.error(f"BX {i}: expected {' '.join(f'{v:08x}' for v in expected[i])}, "
                           f"got {' '.join(f'{v:08x}' for v in got[i])}")
        assert not bad.size, f"{bad.size} of {len(expected)} BX differ from the chip's output words"
        dut._log.info(f"{len(expected)} BX equal the chip's output words on {n_links} e-links "
                      f"({chip['elinks']} enabled)")
