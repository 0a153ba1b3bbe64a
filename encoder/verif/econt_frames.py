"""The ECON-T chip reproduced in RTL: generated design + e-link framing vs the chip's output words.

Two halves in one module, as ``cocotb_first``:

- ``check_rtl(config, input_csv, expected_csv, out_dir)`` (plain Python)
  imports the chip configuration into an IR, decodes the chip's eRx input
  words into CALQ charges and BX-counter resets, generates the design with
  programmable weights and the framing block for the configuration's
  e-links, builds it with Icarus and runs the cocotb test below, then
  compares every BX's e-link words with the chip's testOutput.csv.
- ``chip_frames_match`` (the cocotb test) loads the register image through
  the configuration port, reads every field back, drives one BX per clock
  (bx_reset from the eRx header) and records tx_data while tx_valid is high.

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


def chip_stimulus(config, input_csv):
    """(ChipConfig, IR, CALQ (BX, 48) in the autoencoder's input order, bx_reset (BX,) bool)."""
    from ..econt.chip import ir_from_config
    from ..econt.erx import HEADER_BX_RESET, calibrate, decode_codes, headers, read_words, tc_codes
    from ..econt.registers import read_config

    cfg = read_config(config).need("density", "mux", "cal", "n_elinks", "mask_ae", "mask_ae2")
    ir = ir_from_config(config)
    words = read_words(input_csv)
    calq = calibrate(decode_codes(tc_codes(words), cfg.density), cfg.mux, cfg.cal)
    top = (1 << ir.input.charge_bits) - 1
    if calq.min() < 0 or calq.max() > top:
        raise UserError(f"{input_csv}: a calibrated charge lies outside the design's {ir.input.charge_bits}-bit input")
    bx_reset = headers(words)[:, 0] == HEADER_BX_RESET
    return cfg, ir, np.asarray(calq, dtype=np.int64), bx_reset


def check_rtl(config, input_csv, expected_csv, out_dir, *, limit: int | None = None,
              flip_field: int | None = None, seed: int = 1, quiet: bool = True, reuse: int = 1) -> FrameCheck:
    """Generate, simulate on Icarus and compare every BX with the chip's output words.

    ``reuse``: generate with --reuse R (clock R x 40 MHz): one BX every R clocks, idle between.

    ``quiet``: the compiler's and simulator's output go to OUT/build/build.log and sim.log.
    """
    from ..econt.framing import format_tx_csv
    from ..rtl_gen import generate, write_design
    from .toolchain import find_icarus

    find_icarus()          # one-line error when Icarus is missing
    cfg, ir, calq, bx_reset = chip_stimulus(config, input_csv)
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
    design = generate(ir, "programmable", 0, elinks="chip", reuse=reuse)
    write_design(design, design_dir, force=True)
    build_dir.mkdir(parents=True, exist_ok=True)
    stim = build_dir / "stimulus.npz"
    np.savez(stim, counts=calq, bx_reset=bx_reset.astype(np.int64), expected=expected[:, :n_links])
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

    # Every row of the chip's CSV, unused e-links included (the RTL drives only the active ones).
    n = min(len(got), len(expected))
    got_rows = np.zeros((len(got), expected.shape[1]), dtype=np.int64)
    got_rows[:, :n_links] = got
    same = (got_rows[:n] == expected[:n]).all(axis=1)
    bad = np.flatnonzero(~same)
    mismatches = [{"bx": int(i), "expected": [f"{v:08x}" for v in expected[i, :n_links]],
                   "got": [f"{v:08x}" for v in got_rows[i, :n_links]],
                   "unused_links_nonzero": bool(expected[i, n_links:].any())} for i in bad[:5]]
    if len(got) != len(expected):
        mismatches.append({"bx": n, "note": f"{len(got)} frames out for {len(expected)} BX in"})
    csv = out / "testOutput.csv"
    csv.write_text(format_tx_csv(got))
    return FrameCheck(n_bx=len(expected), n_elinks=n_links, equal=int(same.sum()),
                      readback_errors=int(np.count_nonzero(readback)), fields=n_fields, mismatches=mismatches,
                      sim_seconds=t2 - t1, data_seconds=data_seconds, build_seconds=t1 - t0, csv=csv, log=sim_log)


# -- the cocotb side ---------------------------------------------------------

try:
    import cocotb
except ImportError:                      # the runner half works without the simulator's side
    cocotb = None


if cocotb is not None:
    from cocotb.clock import Clock
    from cocotb.triggers import FallingEdge, RisingEdge

    @cocotb.test()
    async def chip_frames_match(dut):
        """Every BX's tx_data equals the chip's output words; every register field reads back."""
        from ..ir import load_ir
        from ..rtl_gen import register_image

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
        dut.cfg_we.value = 0
        dut.cfg_addr.value = 0
        dut.cfg_wdata.value = 0
        for _ in range(3):
            await RisingEdge(dut.clk)

        # Configuration port: write the whole image, then read every field back
        # (read data is registered: the value of the address set one cycle before).
        for addr, code in enumerate(image):
            await FallingEdge(dut.clk)
            dut.cfg_we.value = 1
            dut.cfg_addr.value = addr
            dut.cfg_wdata.value = int(code)
        await FallingEdge(dut.clk)
        dut.cfg_we.value = 0
        # Read back out of reset, in normal operation (a design may hold cfg_rdata in reset;
        # the fields themselves keep their value through it).
        dut.rst.value = 0
        readback = np.zeros(len(image), dtype=np.int64)
        for addr in range(len(image)):
            dut.cfg_addr.value = addr
            await FallingEdge(dut.clk)
            got = dut.cfg_rdata.value
            readback[addr] = 0 if got.is_resolvable and got.to_unsigned() == image[addr] else 1

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
        np.savez(os.environ[ENV_RESULT], tx=got, readback_errors=readback, fields=len(image),
                 data_seconds=time.monotonic() - t_data)
        assert not readback.any(), f"{int(readback.sum())} of {len(image)} configuration fields read back wrong"
        assert len(got) == len(expected), f"{len(got)} frames for {len(expected)} BX"
        bad = np.flatnonzero((got != expected).any(axis=1))
        for i in bad[:5]:
            dut._log.error(f"BX {i}: expected {' '.join(f'{v:08x}' for v in expected[i])}, "
                           f"got {' '.join(f'{v:08x}' for v in got[i])}")
        assert not bad.size, f"{bad.size} of {len(expected)} BX differ from the chip's output words"
        dut._log.info(f"{len(expected)} BX equal the chip's output words on {n_links} e-links")
