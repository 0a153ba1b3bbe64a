"""`encoder synth --liberty` on a --reuse R design (a tiny one): the activity bench drives one
module every R clocks, the default clock is R x 40 MHz, and energy per inference spans R clocks.

The activity bench used to drive a module every clock whatever the design: a --reuse 4 design
then ignored three valids in four (overrun raised), and its activity was that of the wrong
stimulus. The checks below count on the VCD what a correct bench must show: valid_in high one
clock in R (duty 1/R, 2 transitions per R clocks), overrun never raised, every module's output
as the golden model computes it.
"""

from __future__ import annotations

import json
import time

import pytest

from encoder.silicon import activity
from rtl_helpers import need_tool

R = 4


@pytest.fixture(scope="module")
def reuse_design(tmp_path_factory):
    from encoder.ir.synthetic import synthetic_ir
    from encoder.rtl_gen import generate, write_design
    work = tmp_path_factory.mktemp("silicon_reuse")
    write_design(generate(synthetic_ir("tiny_conv", "econt", seed=3), "constant", reuse=R), work / "design")
    return work / "design"


def test_activity_bench_drives_one_module_every_r_clocks(reuse_design, tmp_path):
    need_tool("iverilog")
    m = json.loads((reuse_design / "manifest.json").read_text())
    assert m["initiation_interval"] == R
    vectors = 40
    t0 = time.monotonic()
    toggles, _ = activity.simulate(reuse_design, vectors=vectors, seed=5, work=tmp_path / "sim")
    print(f"activity bench, {vectors} modules at R = {R}: {time.monotonic() - t0:.1f} s")
    assert toggles.cycles == vectors * R                       # the window spans R clocks a module
    assert toggles.activity(((), "valid_in", 0)) == (2 / R, 1 / R)
    assert toggles.activity(((), "overrun", 0)) == (0.0, 0.0)  # no valid came too soon
    in_flight = -(-m["latency"] // R)
    assert toggles.golden_matches >= vectors - in_flight - 2


def test_synth_default_clock_is_r_times_40_mhz_and_energy_spans_r_clocks(reuse_design, tmp_path):
    for tool in ("yosys", "sta", "iverilog"):
        need_tool(tool)
    from encoder.silicon.flow import PowerOptions, characterise
    t0 = time.monotonic()
    rep = characterise(reuse_design, tmp_path / "synth", "sky130hd", power=PowerOptions(vectors=40),
                       progress=False, log=lambda line: None)
    print(f"characterise at R = {R}: {time.monotonic() - t0:.1f} s")
    assert rep.clock_ns == 25.0 / R and rep.initiation_interval == R
    assert rep.energy_nj_per_inference == pytest.approx(rep.power_mw["total"] * 25.0 * 1e-3, rel=1e-5)
    assert rep.activity["cycles"] == 40 * R
    assert rep.activity["golden_matches"] >= 40 - -(-rep.latency_cycles // R) - 2
    assert f"per {R} clocks" in (tmp_path / "synth" / "synth.txt").read_text()
