"""A first bit-exact check of a generated design on Icarus, through cocotb.

Two halves in one module:

- ``run_first_test(design_dir, counts, build_dir)`` (plain Python) builds
  the design with Icarus, writes the stimulus to the build directory and
  runs the cocotb test below; it returns (tests, failures).
- ``golden_match`` (the cocotb test, run inside the simulator) reads the
  design's ``manifest.json`` and the stimulus, resets the design, loads the
  register image through the configuration port when the weights are
  programmable (and reads part of it back), drives one module per clock,
  collects every output word while ``valid_out`` is high and compares the
  latents and module-sum codes with ``encoder.golden.run``.

``first_stimulus`` makes random and dataset-like raw counts: empty
modules, single hot cells, sums near the top of the input range, and
sparse showers like the real data.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

ENV_DESIGN = "ENCODER_FIRST_DESIGN"
ENV_STIMULUS = "ENCODER_FIRST_STIMULUS"
ENV_FLIP = "ENCODER_FIRST_FLIP_FIELD"      # testing the test: load one field with its LSB flipped
ENV_I2C_HZ = "ENCODER_FIRST_I2C_HZ"        # --config-port i2c designs: the SCL rate


def first_stimulus(n: int, n_cells: int, charge_bits: int, seed: int) -> np.ndarray:
    """(n, n_cells) raw counts: a mix of corner cases, uniform noise and sparse showers."""
    rng = np.random.default_rng(seed)
    top = (1 << charge_bits) - 1
    rows = [np.zeros(n_cells, dtype=np.int64),                       # empty module
            np.full(n_cells, top, dtype=np.int64)]                   # every cell at the top
    one = np.zeros(n_cells, dtype=np.int64)
    one[rng.integers(n_cells)] = top                                 # one cell holds the whole sum
    rows.append(one)
    for v in (1, 2, 3, 127, 128, 255):                               # tiny sums (m < input frac)
        r = np.zeros(n_cells, dtype=np.int64)
        r[rng.integers(n_cells)] = v
        rows.append(r)
    out = []
    kinds = ["uniform", "sparse", "shower", "large"]
    for i in range(max(n - len(rows), 0)):
        kind = kinds[i % len(kinds)]
        if kind == "uniform":
            bits = int(rng.integers(1, charge_bits + 1))
            r = rng.integers(0, 1 << bits, size=n_cells)
        elif kind == "sparse":
            r = np.where(rng.random(n_cells) < 0.1, rng.integers(0, 1 << min(charge_bits, 12), n_cells), 0)
        elif kind == "shower":                                       # dataset-like: a core and a tail
            centre = rng.integers(n_cells)
            dist = np.abs(np.arange(n_cells) - centre)
            scale = float(rng.uniform(10, min(2.0**charge_bits / 4, 5e4)))
            r = np.rint(scale * np.exp(-dist / rng.uniform(0.5, 3.0)) * rng.random(n_cells))
            r = np.minimum(r, top)
        else:
            r = rng.integers(top // 2, top + 1, size=n_cells)
        out.append(np.asarray(r, dtype=np.int64))
    return np.stack(rows + out)[:n]


def run_first_test(design_dir: str | Path, counts: np.ndarray, build_dir: str | Path,
                   seed: int = 1, flip_field: int | None = None, sim: str = "icarus",
                   i2c_hz: int | None = None) -> tuple[int, int]:
    """Build with Icarus (or Verilator: ``sim``) and run ``golden_match``; returns (tests, failures).

    ``flip_field``: load that register field with its lowest bit flipped (a
    deliberately wrong configuration, to show the comparison catches it).
    ``i2c_hz``: designs with --config-port i2c are loaded over I2C at this SCL
    rate (default fast mode, 400 kHz).
    """
    from cocotb_tools.runner import get_results

    from . import toolchain

    design_dir = Path(design_dir).resolve()
    build_dir = Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    manifest = json.loads((design_dir / "manifest.json").read_text())
    stim = build_dir / "stimulus.npy"
    np.save(stim, np.asarray(counts, dtype=np.int64))
    simulator = toolchain.find(sim)
    runner = toolchain.get_runner(simulator, "fast-build")
    with toolchain.build_environment(simulator):
        runner.build(sources=[design_dir / s for s in manifest["sources"]], hdl_toplevel=manifest["top"],
                     build_dir=build_dir, build_args=list(simulator.build_args), timescale=("1ns", "1ps"),
                     always=True)
    results = build_dir / "results.xml"
    try:
        runner.test(test_module="encoder.verif.cocotb_first", hdl_toplevel=manifest["top"],
                    build_dir=build_dir, test_dir=build_dir, seed=seed, results_xml=str(results),
                    extra_env={ENV_DESIGN: str(design_dir), ENV_STIMULUS: str(stim),
                               **({ENV_FLIP: str(flip_field)} if flip_field is not None else {}),
                               **({ENV_I2C_HZ: str(i2c_hz)} if i2c_hz else {})})
    except SystemExit:
        pass                 # the runner exits on a failed test; the results file says what failed
    return get_results(results)


# -- the cocotb side ---------------------------------------------------------

try:
    import cocotb
except ImportError:                      # the runner half works without the simulator's side
    cocotb = None


def _golden(design_dir: Path, counts: np.ndarray):
    from ..golden import run as golden_run
    from ..ir import load_ir
    manifest = json.loads((design_dir / "manifest.json").read_text())
    ir = load_ir(design_dir / manifest["ir"])
    return manifest, ir, golden_run(ir, counts=counts)


if cocotb is not None:
    from cocotb.clock import Clock
    from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

    @cocotb.test()
    async def golden_match(dut):
        """Every output word equals the golden model's latents and module-sum code."""
        design_dir = Path(os.environ[ENV_DESIGN])
        counts = np.load(os.environ[ENV_STIMULUS])
        manifest, ir, gold = _golden(design_dir, counts)
        ports = {p["role"]: p for p in manifest["ports"]}
        cb = ports["in_counts"]["field_width"]
        lw = ports["out_latents"]["field_width"]
        n_lat = ports["out_latents"]["fields"]
        lat_signed = ports["out_latents"].get("signed", False)

        cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
        dut.rst.value = 1
        dut.valid_in.value = 0
        dut.charges.value = 0
        programmable = manifest["weights"] == "programmable"
        from ..rtl_gen import control_writes, has_cfg_reset, register_image
        cfg_rst = has_cfg_reset(manifest) if programmable else None
        over_i2c = manifest.get("registers", {}).get("port") == "i2c"
        if programmable and not over_i2c:
            dut.cfg_we.value = 0
            dut.cfg_addr.value = 0
            dut.cfg_wdata.value = 0
        if programmable:
            if cfg_rst:
                getattr(dut, cfg_rst).value = 1
        for _ in range(3):
            await RisingEdge(dut.clk)

        if programmable and over_i2c:
            from .tb.i2c import FAST_HZ, configure
            getattr(dut, cfg_rst).value = 0
            image = register_image(ir)
            if ENV_FLIP in os.environ:
                image[int(os.environ[ENV_FLIP])] ^= 1
            res = await configure(dut, manifest, image, speed_hz=int(os.environ.get(ENV_I2C_HZ, FAST_HZ)))
            assert not res["errors"] and res["readback_errors"] == 0, f"I2C configuration: {res}"
        elif programmable:
            if cfg_rst:
                getattr(dut, cfg_rst).value = 0
            image = register_image(ir)
            if ENV_FLIP in os.environ:
                image[int(os.environ[ENV_FLIP])] ^= 1
            # The image, then the control writes that put it in force (commit, enable).
            for addr, code in list(enumerate(image)) + control_writes(manifest):
                await FallingEdge(dut.clk)
                dut.cfg_we.value = 1
                dut.cfg_addr.value = addr
                dut.cfg_wdata.value = code
            await FallingEdge(dut.clk)
            dut.cfg_we.value = 0
            # Read back a spread of addresses (read data is registered: one cycle).
            rng = np.random.default_rng(0)
            probe = sorted({0, len(image) - 1, *rng.integers(0, len(image), 32).tolist()})
            for addr in probe:
                dut.cfg_addr.value = addr
                await FallingEdge(dut.clk)
                got = dut.cfg_rdata.value
                assert got.is_resolvable and got.to_unsigned() == image[addr], \
                    f"register {addr}: read back {got}, wrote {image[addr]}"

        await FallingEdge(dut.clk)
        dut.rst.value = 0
        collected: list[tuple[list[int], int]] = []

        async def monitor():
            while True:
                await RisingEdge(dut.clk)
                await ReadOnly()
                if dut.valid_out.value.is_resolvable and int(dut.valid_out.value) == 1:
                    lat = dut.latents.value
                    sc = dut.sum_code.value
                    assert lat.is_resolvable and sc.is_resolvable, f"output {len(collected)} has X/Z bits"
                    word = lat.to_unsigned()
                    codes = [(word >> (lw * j)) & ((1 << lw) - 1) for j in range(n_lat)]
                    if lat_signed:
                        codes = [c - (1 << lw) if c >> (lw - 1) else c for c in codes]
                    collected.append((codes, sc.to_unsigned()))

        cocotb.start_soon(monitor())
        for row in counts:
            await FallingEdge(dut.clk)
            dut.valid_in.value = 1
            word = 0
            for c, v in enumerate(row):
                word |= int(v) << (cb * c)
            dut.charges.value = word
        await FallingEdge(dut.clk)
        dut.valid_in.value = 0
        for _ in range(manifest["latency"] + 2):
            await RisingEdge(dut.clk)

        assert len(collected) == len(counts), f"{len(collected)} outputs for {len(counts)} inputs"
        bad = []
        for i, (codes, sc) in enumerate(collected):
            if codes != [int(v) for v in gold.latents[i]] or sc != int(gold.sum_code[i]):
                bad.append(i)
        for i in bad[:5]:
            dut._log.error(f"module {i}: counts {counts[i].tolist()}\n  rtl latents {collected[i][0]} "
                           f"sum code {collected[i][1]}\n  golden      {gold.latents[i].tolist()} "
                           f"sum code {int(gold.sum_code[i])}")
        assert not bad, f"{len(bad)} of {len(counts)} modules differ from the golden model"
        dut._log.info(f"{len(counts)} modules equal the golden model")
