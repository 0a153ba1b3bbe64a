"""First cocotb test on Icarus: generated designs equal the golden model bit for bit.

Inputs: raw counts with empty modules, a single hot cell, tiny sums, sums
near the top of the 22-bit range, uniform noise and sparse showers; for the
chip configuration also real ECON-T test-vector inputs, whose expected chip
outputs the golden model reproduces. Programmable designs are loaded with
the register image through the configuration port first.
"""

from __future__ import annotations

import numpy as np
import pytest

from encoder import golden
from encoder.ir.synthetic import synthetic_ir
from encoder.rtl_gen import generate, write_design
from encoder.verif.cocotb_first import first_stimulus, run_first_test
from rtl_helpers import DATA, ir_case, need_tool

pytestmark = pytest.mark.slow


def _chip_rows(n: int):
    calq = np.loadtxt(DATA / "econt" / "calq_ae_order.csv", delimiter=",", skiprows=1, dtype=np.int64)[:n, 1:]
    exp = np.loadtxt(DATA / "econt" / "AE" / "expected_outputs.csv", delimiter=",", skiprows=1,
                     dtype=np.int64)[:n]
    return calq, exp


def _run(tmp_path, ir, weights, counts, **kw):
    need_tool("iverilog")
    d = generate(ir, weights, 0)
    write_design(d, tmp_path / "design")
    return run_first_test(tmp_path / "design", counts, tmp_path / "build", **kw)


@pytest.mark.parametrize("weights", ["programmable", "constant"])
def test_chip_design_equals_golden_model_and_chip_outputs(tmp_path, weights):
    ir = ir_case("chip")
    calq, exp = _chip_rows(120)
    gold = golden.run(ir, counts=calq)
    assert (gold.latents == exp[:, 3:]).all() and (gold.sum_code == exp[:, 2]).all()
    counts = np.concatenate([calq, first_stimulus(120, 48, 22, seed=5)])
    assert _run(tmp_path, ir, weights, counts) == (1, 0)


@pytest.mark.parametrize("label,weights", [("econt_8x8_qkeras", "programmable"),
                                           ("econt_8x8_econt", "constant"),
                                           ("econt_4x4x3_qkeras", "constant")])
def test_synthetic_econt_sized_design_equals_golden_model(tmp_path, label, weights):
    ir = ir_case(label)
    counts = first_stimulus(150, ir.input.n_cells, ir.input.charge_bits, seed=6)
    assert _run(tmp_path, ir, weights, counts) == (1, 0)


@pytest.mark.parametrize("weights", ["programmable", "constant"])
def test_wrap_overflow_and_signed_latents_equal_golden_model(tmp_path, weights):
    ir = synthetic_ir("tiny_masked", "econt", seed=2, overflow="wrap", last_activation="linear")
    counts = first_stimulus(200, ir.input.n_cells, ir.input.charge_bits, seed=7)
    assert _run(tmp_path, ir, weights, counts) == (1, 0)


def test_a_wrong_register_field_is_caught(tmp_path):
    """One dense weight loaded with its LSB flipped: the comparison fails."""
    ir = synthetic_ir("tiny_conv", "qkeras", seed=4)
    counts = first_stimulus(80, ir.input.n_cells, ir.input.charge_bits, seed=8)
    d = generate(ir, "programmable", 0)
    dense = next(g for g in d.manifest["registers"]["groups"] if g["name"] == "dense_weight")
    assert _run(tmp_path, ir, "programmable", counts, flip_field=dense["address"] + 1) == (1, 1)
