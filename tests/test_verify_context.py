"""Sound reach of every accumulator (encoder.verify.reach) and the in-context proof of a surviving
mutant (encoder.verify.context), on econt_8x8 with the sign-off's seeded random weights.

The reach must hold every accumulator the golden model produces for inputs the input path can
make (a pool of spikes, pairs, random and corner modules and, per accumulator, the highest and
lowest inputs a local search finds), and be tighter than the interval analysis of the formats
that sized the RTL, or it could prove nothing. Mutants whose answer is known from the Verilog:
a conv neuron whose accumulator never passes 1,494 cannot make a code of 128 or more, so dropping
its output code's top bit is equivalent in context; a swapped adder is not.
"""

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from encoder.golden.model import accumulators, input_codes, mac_layer
from encoder.rtl_gen.plan import plan_design
from encoder.verif.design import load_design
from encoder.verif.stimulus import _candidates, corner_cases, searched
from encoder.verify import context, equiv, sites
from encoder.verify.reach import _greedy, reach
from rtl_helpers import need_tool, signoff_constant_design


@pytest.fixture(scope="module")
def s11(tmp_path_factory):
    return signoff_constant_design(tmp_path_factory.mktemp("context"))


def test_greedy_vertex_takes_the_largest_weights_first_up_to_the_cap_and_the_sum():
    # weights 3, -1, 5; each x <= 4; sum <= 6: x = (2, 0, 4), value 26 by hand
    assert _greedy(np.array([3, -1, 5]), 4, 6).tolist() == [2, 0, 4]
    assert _greedy(np.array([3, -1, 5]), 4, None).tolist() == [4, 0, 4]


def test_reach_holds_every_accumulator_the_input_path_can_feed_and_beats_the_format_analysis(s11):
    ir, _ = s11
    rng = np.random.default_rng(5)
    pool = np.concatenate([_candidates(ir, rng), corner_cases(ir, rng).counts])
    pool = np.concatenate([pool, searched(ir, pool, rng, generations=20)])
    x = input_codes(ir, pool)[0].reshape(len(pool), -1)
    frac = ir.input.format.frac
    plan = plan_design(ir, "constant")
    for layer, lp, r in zip(ir.mac_layers, plan.layers, reach(ir)):
        acc, acc_frac = accumulators(layer, x, frac)
        assert acc_frac == r.acc_frac
        assert (acc >= r.acc_lo).all() and (acc <= r.acc_hi).all(), layer.name
        x = mac_layer(layer, x, frac)
        assert (x >= r.code_lo).all() and (x <= r.code_hi).all(), layer.name
        frac = layer.output.format.frac
        # Tighter than the formats' interval analysis that sized the accumulators.
        assert r.acc_hi.max() < lp.acc_hi and r.acc_lo.min() > lp.acc_lo, layer.name


def _mutant(design: Path, tmp: Path, file_part: str, line_has: str, old: str, new: str):
    d = load_design(design)
    found = sites.design_sites(d.dir, equiv.rel_sources(d))
    site = next(s for s in found if file_part in s.file and s.old == old and s.new == new
                and line_has in (d.dir / s.file).read_text().splitlines()[s.line - 1])
    copy = tmp / "m"
    shutil.copytree(d.dir, copy)
    sites.plant(copy, site)
    prims = [s for s in equiv.rel_sources(d) if Path(s).name.startswith("enc_")]
    return d, site, copy, prims


def test_a_code_bit_dropped_where_the_accumulator_cannot_reach_it_is_equivalent_in_context(s11, tmp_path):
    need_tool("yosys")
    _, design = s11
    d, site, copy, prims = _mutant(design, tmp_path, "conv_r0_c3_f0.v", ".CODE_BITS(", "8", "7")   # .CODE_BITS(8) -> 7
    ranges = context.neuron_ranges(d.dir, d.top)
    assert ranges[site.module].hi < 128 << 5                           # SHIFT 5: codes of 128 need acc >= 4096
    assert equiv.prove_mutant(d.dir, copy, site, equiv.rel_sources(d))["result"] == "not equivalent"
    r = context.prove_in_context(d.dir, copy, site.file, site.module, prims, ranges)
    assert r["result"] == "equivalent", r


def test_a_swapped_adder_is_not_equivalent_in_context_and_an_empty_range_is_refused(s11, tmp_path):
    need_tool("yosys")
    _, design = s11
    d, site, copy, prims = _mutant(design, tmp_path, "conv_r0_c1_f5.v", "sum_", "+", "-")
    ranges = context.neuron_ranges(d.dir, d.top)
    assert context.prove_in_context(d.dir, copy, site.file, site.module, prims, ranges)["result"] == "not equivalent"
    rng = ranges[site.module]
    empty = {site.module: replace(rng, lo=rng.hi + 1)}   # admits no accumulator: a proof under it means nothing
    r = context.prove_in_context(d.dir, copy, site.file, site.module, prims, empty, tighten=False)
    assert r["result"] == "error" and "vacuous" in r["detail"]
