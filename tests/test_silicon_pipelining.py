"""`encoder rtl --pipeline auto`: register stages placed so the mapped design meets the clock."""

from __future__ import annotations

import json

import pytest

from encoder.cli import main
from encoder.ir.synthetic import synthetic_ir
from encoder.silicon.pipelining import OUT, balanced, choose, longest_stage
from rtl_helpers import need_tool


def test_choose_takes_the_fewest_stages_then_the_fewest_flip_flops():
    order = ["a", "b", "c", "d", OUT]
    delays = {"a": 4.0, "b": 5.0, "c": 3.0, "d": 6.0, OUT: 2.0}
    costs = {"a": 10, "b": 50, "c": 20, "d": 5}
    # Budget 10: a+b = 9 fits, a+b+c = 12 does not; c+d = 9 fits, c+d+out = 11 does not.
    # Two cuts are needed; (b, d) costs 55, (a, c)... a | b+c | d+out = 4, 8, 8 costs 30: cheapest.
    assert choose(order, delays, costs, 10.0) == ["a", "c"]
    # A budget that fits everything needs no stage at all.
    assert choose(order, delays, costs, 100.0) == []
    # Exactly at the budget still fits; a segment alone over the budget cannot be fixed.
    assert choose(order, delays, costs, 20.0) == []
    assert choose(order, delays, costs, 5.5) is None
    # A forced cut stays even where another placement is cheaper: a+b | c+d | out (cost 55, not 30).
    assert choose(order, delays, costs, 10.0, forced=("b",)) == ["b", "d"]
    assert choose(order, delays, costs, 100.0, forced=("b",)) == ["b"]
    # Every boundary when nothing can be merged.
    assert choose(order, {"a": 4, "b": 4, "c": 4, "d": 4, OUT: 4}, costs, 5.0) == ["a", "b", "c", "d"]


def test_balanced_cuts_minimise_the_longest_stage_then_the_flip_flops():
    order = ["a", "b", "c", "d", OUT]
    delays = {"a": 5.0, "b": 1.0, "c": 1.0, "d": 5.0, OUT: 1.0}
    costs = {"a": 1, "b": 10, "c": 3, "d": 1}
    # One cut: after a 5 | 8, after b 6 | 7, after c 7 | 6, after d 12 | 1. b and c tie at 7;
    # c has fewer flip-flops.
    assert balanced(order, delays, costs, 1) == ["c"]
    # Two cuts: a | b+c | d+out = 5, 2, 6 is the best largest stage (6), cost 1 + 3.
    assert balanced(order, delays, costs, 2) == ["a", "c"]
    assert balanced(order, delays, costs, 0) == []
    assert balanced(order, delays, costs, 4) == ["a", "b", "c", "d"]
    assert balanced(order, delays, costs, 5) is None          # only four cut points
    # A forced cut is kept: with b forced and one cut, the stages are a+b | c+d+out.
    assert balanced(order, delays, costs, 1, forced=("b",)) == ["b"]
    # The longest stage of a placement, as the squeeze predicts from it: a+b+c | d+out = 7 | 6.
    assert longest_stage(order, delays, ["c"]) == 7.0
    assert longest_stage(order, delays, []) == 13.0
    assert longest_stage(order, delays, ["a", "b", "c", "d"]) == 5.0


@pytest.mark.parametrize("weights", ["programmable"])
def test_auto_pipeline_meets_a_tight_clock_and_the_design_stays_bit_exact(weights, tmp_path, capsys):
    need_tool("yosys")
    need_tool("sta")
    need_tool("iverilog")
    from encoder.ir.irfile import save_ir
    ir_path = tmp_path / "ir.json"
    save_ir(synthetic_ir("tiny_conv", "econt", seed=3), ir_path)
    design = tmp_path / "design"
    clock = 9.0
    assert main(["rtl", str(ir_path), "--weights", weights, "--pipeline", "auto", "--clock", str(clock),
                 "--out", str(design)]) == 0
    manifest = json.loads((design / "manifest.json").read_text())
    closure = manifest["timing_closure"]
    assert closure["met"] and closure["clock_ns"] == clock
    assert manifest["latency"] == closure["latency_cycles"] == len(manifest["cuts"]) + 1 > 2
    assert set(manifest["cuts"]) == set(closure["cuts"])
    # An independent run of the silicon flow on the written design confirms the timing.
    assert main(["synth", str(design), "--liberty", "sky130hd", "--clock", str(clock), "--activity", "none",
                 "--out", str(tmp_path / "rep")]) == 0
    rep = json.loads((tmp_path / "rep" / "synth.json").read_text())
    assert rep["timing_met"] and rep["wns_ns"] >= 0
    # The pipelined design computes what the golden model computes, at the latency it states.
    assert main(["sim", str(design), "--vectors", "200", "--out", str(tmp_path / "sim")]) == 0
    assert "latency" in capsys.readouterr().out
