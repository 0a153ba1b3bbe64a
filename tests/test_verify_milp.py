"""Tight bounds by mixed-integer programming (encoder.verify.milp), internal wires as affine forms
(encoder.verify.wires), and the in-context proof they settle, on econt_8x8 with the sign-off's seeded
random weights (seed 11).

References: in the first layer the greedy vertex is the exact optimum over the input polytope (a box
and one sum), so the program must find it; in the second layer the bound must hold every accumulator
the golden model gives for real inputs (a pool with a local search's extremes) and the golden value at
the program's own best input; the accumulator's affine form read off the RTL must be the golden
model's. The mutant: dense_j1's partial sum ``sum_l2_10`` with its first operand's zero-extension
forced to 1 moves the accumulator by 4,096; it passes 300,000 vectors, and the first proof under the
reach's range finds a counterexample at an accumulator the design never makes.
"""

import shutil
from pathlib import Path

import numpy as np
import pytest

from encoder.golden.model import accumulators, input_codes, mac_layer
from encoder.verif.design import load_design
from encoder.verif.stimulus import _candidates, corner_cases, searched
from encoder.verify import context, equiv, milp, sites, wires
from encoder.verify.reach import _affine, _input_bound, reach
from rtl_helpers import need_tool, signoff_constant_design


@pytest.fixture(scope="module")
def s11(tmp_path_factory):
    ir, design = signoff_constant_design(tmp_path_factory.mktemp("milp"))
    return ir, design, reach(ir)


def _dense_acc(ir, cell_codes_or_pixels):
    x = np.asarray(cell_codes_or_pixels).reshape(len(cell_codes_or_pixels), -1)
    first, second = ir.mac_layers
    frac = ir.input.format.frac
    codes = mac_layer(first, x, frac)
    return accumulators(second, codes, first.output.format.frac)[0]


def test_the_program_finds_the_greedy_vertex_the_exact_first_layer_optimum(s11):
    ir, _, reaches = s11
    cells, _, _ = _input_bound(ir)
    a1, d1 = _affine(ir.mac_layers[0], cells.shape[0], ir.input.format.frac)
    per_cell = cells.T @ a1
    for n in (0, 37, 101):
        b = milp.bound_affine(ir, 0, per_cell[:, n], d1[n], upper=True, reaches=reaches)
        opt = int(reaches[0].acc_hi[n])                # the greedy vertex through the golden model
        assert b.exact and opt < b.value <= opt + 2, (n, opt, b.value)   # the margin: 1 + 1e-6 |bound|


def test_the_dense_bound_holds_every_reachable_accumulator_and_beats_the_linear_relaxation(s11):
    ir, _, reaches = s11
    rng = np.random.default_rng(5)
    pool = np.concatenate([_candidates(ir, rng), corner_cases(ir, rng).counts])
    pool = np.concatenate([pool, searched(ir, pool, rng, generations=10)])
    acc = _dense_acc(ir, input_codes(ir, pool)[0])
    b = milp.bound(ir, 1, upper=True, reaches=reaches)
    assert acc[:, 1].max() <= b.value < reaches[1].acc_hi[1]
    assert b.value < 0                             # j1's ReLU never passes: the mutant below needs that
    at_witness = _dense_acc(ir, milp.witness_pixels(ir, b.witness))[0, 1]
    assert at_witness <= b.value and at_witness >= b.witness_value - 8   # the solver's own point, re-evaluated


def test_the_accumulator_read_off_the_rtl_is_the_golden_models_affine_map(s11):
    need_tool("iverilog")
    ir, design, reaches = s11
    d = load_design(design)
    form = wires.affine_form([Path(s) for s in d.sources], f"{d.top}_dense", "u_dense_j1", "acc", 128, 8, 0, 255)
    coeffs, const, width, signed = form
    c2, d2 = _affine(ir.mac_layers[1], 128, ir.mac_layers[0].output.format.frac)
    assert signed and width == 17 and const == d2[1] and np.array_equal(coeffs, c2[:, 1].astype(np.int64))
    # A conv neuron's output code (ReLU, rounding, saturation at 255) has no affine form.
    assert wires.affine_form([Path(s) for s in d.sources], f"{d.top}_conv", "u_conv_r1_c1_f0", "y",
                             48, 8, 0, 255) is None


def test_a_forced_carry_into_a_partial_sum_that_is_always_past_it_is_equivalent_in_context(s11, tmp_path):
    need_tool("yosys")
    need_tool("iverilog")
    _, design, _ = s11
    d = load_design(design)
    site = next(s for s in sites.design_sites(d.dir, equiv.rel_sources(d))
                if s.file.endswith("dense_j1.v") and s.old == "1'b0" and s.new == "1'b1"
                and "wire [12:0] sum_l2_10 = {{1{1'b0}}, sum_l1_20}" in (d.dir / s.file).read_text().splitlines()[s.line - 1]
                and s.start < (d.dir / s.file).read_text().splitlines()[s.line - 1].index("sum_l1_20"))
    copy = tmp_path / "m"
    shutil.copytree(d.dir, copy)
    sites.plant(copy, site)
    prims = [s for s in equiv.rel_sources(d) if Path(s).name.startswith("enc_")]
    ranges = context.neuron_ranges(d.dir, d.top)
    wire = wires.defined_wire((d.dir / site.file).read_text().splitlines()[site.line - 1])
    assert wire == "sum_l2_10"
    loose = context.prove_in_context(d.dir, copy, site.file, site.module, prims, ranges, tighten=False)
    assert loose["result"] == "not equivalent"
    r = context.prove_in_context(d.dir, copy, site.file, site.module, prims, ranges, wire=wire)
    assert r["result"] == "equivalent" and r["range_from"] == "milp", r
    assert r["wires"]["sum_l2_10"][0] >= 4096 and r["range"][1] < 0


def test_no_bound_without_an_exact_model_one_layer_or_products_rounded_one_by_one():
    from encoder.ir.synthetic import synthetic_ir
    assert milp.bound(synthetic_ir("tiny_dense", "qkeras", seed=1), 0, upper=True) is None     # one MAC layer
    assert milp.bound(synthetic_ir("tiny_conv", "econt", seed=3), 0, upper=True) is None       # ECON-T rounding
    assert milp.bound(synthetic_ir("tiny_conv", "qkeras", seed=3), 0, upper=True) is not None
