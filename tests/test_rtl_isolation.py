"""Operand isolation: the top's register stages load only on a valid crossing and the input path sees
zeros while idle (default), or every register loads every cycle (--operand-isolation off); both equal
the golden model, and with isolation an idle clock leaves the stage registers still."""

from __future__ import annotations

import pytest

from encoder.ir.synthetic import synthetic_ir
from encoder.rtl_gen import generate, write_design
from rtl_helpers import need_tool
from verif_helpers import sim

CUTS = ["charges", "input_path", "conv"]


def _top(iso: bool, cuts=CUTS):
    d = generate(synthetic_ir("tiny_conv", "econt", seed=4), "programmable", 0, cuts=cuts, operand_isolation=iso)
    return d, d.files[f"{d.top}.v"]


def test_stages_load_on_the_valid_entering_them():
    d, top = _top(True)
    assert d.manifest["operand_isolation"] is True
    assert "always @(posedge clk) if (valid_taken) charges_q <= charges;" in top
    assert "always @(posedge clk) if (valid_pipe[0]) cell_codes_q <= cell_codes;" in top
    assert "always @(posedge clk) if (valid_pipe[1]) conv_out_q <= conv_out;" in top
    _, no_charges = _top(True, ["input_path"])
    assert "charges_isolated = charges & {" in no_charges and ".charges(charges_isolated)" in no_charges
    d_off, off = _top(False)
    assert "always @(posedge clk) charges_q <= charges;" in off and "charges_isolated" not in off
    assert "--operand-isolation off" in off and d_off.manifest["operand_isolation"] is False
    # Same flip-flops either way.
    assert d.manifest["register_bits"] == d_off.manifest["register_bits"]


@pytest.mark.slow
@pytest.mark.parametrize("iso", [True, False])
def test_both_forms_equal_the_golden_model(tmp_path, iso):
    need_tool("iverilog")
    d, _ = _top(iso)
    out = write_design(d, tmp_path / "design")
    code, s, text, _ = sim(out, tmp_path / "run", vectors=400, seed=5)
    assert code == 0 and s["mismatches"] == 0 and s["live_reloads"] >= 3, text
