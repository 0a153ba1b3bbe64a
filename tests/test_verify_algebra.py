"""Algebraic rewriting (encoder.verify.algebra): output words as polynomials over the input bits.

Checked against exact hand computations (the polynomial of 3a + b, the counterexample of a planted
difference), against the circuits themselves (every order's polynomial equals the AIG's value at
every input, on adders, a subtractor, a constant product and a comparison), on yosys' port-bit
quirk, and as prove's second engine when SAT sweeping gets no time.
"""

import itertools
import time
from pathlib import Path

import pytest

from encoder.verify import algebra, prove
from encoder.verify.linear import value_at
from encoder.verify.prove import Side
from rtl_helpers import need_tool


@pytest.fixture()
def tmp(tmp_path):
    need_tool("yosys")
    return tmp_path


def _aig(tmp: Path, text: str, name: str = "m") -> algebra.Aig:
    (tmp / f"{name}.v").write_text(text)
    return algebra.side_aig(Side([tmp / f"{name}.v"], "m"), name, tmp, 60)


def test_the_polynomial_of_3a_plus_b_is_its_weighted_bits(tmp):
    aig = _aig(tmp, "module m(input [3:0] a, input [3:0] b, output [6:0] y); assign y = 3 * a + b; endmodule\n")
    poly = algebra.word_polynomial(aig, aig.outputs["y"])
    want = {frozenset({("a", i)}): 3 << i for i in range(4)}
    want.update({frozenset({("b", i)}): 1 << i for i in range(4)})
    assert poly == want


@pytest.mark.parametrize("body", [
    "assign y = a + b + c;",
    "wire [5:0] d = {a, 2'b0} - {2'b0, a}; assign y = d[5:1] + ~b + c;",      # floor(3a/2) + complement
    "assign y = a * 4'd11 + c;",
    "assign y = (a < b) ? c : a + 1'b1;",                                    # a comparison: not linear
])
def test_every_order_gives_the_circuits_value_at_every_input(tmp, body):
    aig = _aig(tmp, f"module m(input [3:0] a, b, c, output [7:0] y); {body} endmodule\n")
    for order in algebra.ORDERS:
        poly = algebra.word_polynomial(aig, aig.outputs["y"], order=order)
        for a, b, c in itertools.product(range(16), range(0, 16, 3), range(0, 16, 5)):
            v = {"a": a, "b": b, "c": c}
            assert value_at(poly, v) % 256 == algebra.evaluate(aig, v)["y"], (order, v)


def test_adder_trees_in_different_orders_are_proven_equal_and_a_planted_difference_is_found_exactly(tmp):
    (tmp / "a.v").write_text("module m(input [7:0] a, b, c, output [9:0] y); wire [8:0] s = a + b; "
                             "assign y = s + c; endmodule\n")
    (tmp / "b.v").write_text("module m(input [7:0] a, b, c, output [9:0] y); wire [8:0] s = c + b; "
                             "assign y = a + s; endmodule\n")
    (tmp / "c.v").write_text("module m(input [7:0] a, b, c, output [9:0] y); wire [8:0] s = c + b; "
                             "assign y = a + s + (a == 8'd77 && c == 8'd5); endmodule\n")
    r = algebra.prove_algebraic(Side([tmp / "a.v"], "m"), Side([tmp / "b.v"], "m"), tmp, 60)
    assert r["result"] == "equivalent" and r["words"] == 1
    r = algebra.prove_algebraic(Side([tmp / "a.v"], "m"), Side([tmp / "c.v"], "m"), tmp, 60)
    assert r["result"] == "not equivalent"
    assert r["counterexample"] == {"a": 77, "c": 5}          # the one input where y differs (b free: 0)


def test_a_word_past_the_monomial_limit_is_left_undecided(tmp):
    # A comparison of two 8-bit words has a polynomial of thousands of monomials.
    text = "module m(input [7:0] a, b, output [1:0] y); assign y = {a < b, a == b}; endmodule\n"
    a, b = _aig(tmp, text, "a"), _aig(tmp, text, "b")
    r = algebra.compare_words(a, b, time.monotonic() + 60, max_terms=50)
    assert r["result"] == "not proven" and "past 50 monomials" in r["detail"]


def test_a_word_out_of_its_seconds_is_left_undecided_and_the_words_after_it_still_get_theirs(tmp):
    # Words are taken in name order: c and d (a comparison, an equality) blow up; s, after them, is a sum.
    text = ("module m(input [15:0] a, b, output c, output [16:0] s, output d);\n"
            "  assign c = a < b; assign d = a == b; assign s = a + b;\nendmodule\n")
    a, b = _aig(tmp, text, "a"), _aig(tmp, text, "b")
    r = algebra.compare_words(a, b, time.monotonic() + 120)
    assert r["result"] == "not proven" and r["undecided"] == ["c", "d"], r     # s proven after them
    none = algebra.compare_words(a, b, time.monotonic() + 120, word_seconds=0.0)
    assert none["result"] == "not proven" and none["undecided"] == ["c", "d", "s"], none
    late = algebra.compare_words(a, b, time.monotonic() - 1)
    assert late["result"] == "timeout" and late["undecided"] == ["c", "d", "s"], late


def test_output_bits_sharing_a_net_or_tied_to_constants_are_all_read(tmp):
    # yosys 0.23's write_aiger -map leaves such bits out; the AIG is read from write_json instead.
    aig = _aig(tmp, "module m(input [1:0] a, output [4:0] y); assign y = {a[0], a[0], 1'b0, 1'b1, a[1]}; endmodule\n")
    assert sorted(aig.outputs["y"]) == [0, 1, 2, 3, 4]
    assert [algebra.evaluate(aig, {"a": v})["y"] for v in range(4)] == [0b00010, 0b11010, 0b00011, 0b11011]


def test_prove_with_both_engines_hands_a_pair_to_algebraic_rewriting_when_sat_sweeping_runs_out(tmp, monkeypatch):
    (tmp / "a.v").write_text("module m(input [7:0] a, b, c, d, output [9:0] y); assign y = (a + b) + (c + d); endmodule\n")
    (tmp / "b.v").write_text("module m(input [7:0] a, b, c, d, output [9:0] y); assign y = ((d + a) + c) + b; endmodule\n")
    real_run = prove._run

    def abc_out_of_time(cmd, cwd, timeout):
        if "iprove" in " ".join(cmd):
            return None, ""                                   # as when iprove's share of the time runs out
        return real_run(cmd, cwd, timeout)
    monkeypatch.setattr(prove, "_run", abc_out_of_time)
    a, b = Side([tmp / "a.v"], "m"), Side([tmp / "b.v"], "m")
    r = prove.prove(a, b, timeout=60, engine="both")
    assert r["result"] == "equivalent" and r["detail"] == "combinational, algebraic rewriting of 1 output words"
    r = prove.prove(a, b, timeout=60)                       # the default engine: SAT sweeping alone
    assert r["result"] == "timeout"
    monkeypatch.setattr(prove, "_run", real_run)
    r = prove.prove(a, b, timeout=60, engine="algebra")
    assert r["result"] == "equivalent" and "algebraic rewriting" in r["detail"]


def test_a_combinational_loop_is_refused_in_one_line_not_followed_forever(tmp):
    with pytest.raises(algebra.UserError, match="combinational loop"):
        _aig(tmp, "module m(input a, output y); wire l = ~(l & a); assign y = l; endmodule\n")
