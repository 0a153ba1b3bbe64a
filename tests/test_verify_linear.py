"""Exact integer values of words read off yosys' word-level netlist (encoder.verify.linear).

Each case is a small module whose word has a known integer value; the reading is checked against a
hand-written polynomial where one is short, and against the circuit itself at every input: the
polynomial's value must be the word's bits read signed or unsigned (the circuit's value comes from
the bit-level AIG, encoder.verify.algebra.evaluate, an independent path through yosys). A word
that wraps for inputs that occur must not be read as exact.
"""

import itertools
import json
from pathlib import Path

import pytest

from encoder.verify import algebra
from encoder.verify.linear import ONE, Unknown, Words, _outer_bounds, bounds, floor_div, value_at
from encoder.verify.prove import Side, _read, run_script
from rtl_helpers import need_tool


def _words(tmp: Path, body: str, ports: str) -> tuple[Words, dict, algebra.Aig]:
    need_tool("yosys")
    (tmp / "m.v").write_text(f"module m({ports}); {body} endmodule\n")
    side = Side([tmp / "m.v"], "m")
    assert run_script(_read(side, "w") + ["design -load w", "hierarchy -top w", "write_json w.json"],
                      "w", tmp, 60, "read the module")
    mod = json.loads((tmp / "w.json").read_text())["modules"]["w"]
    return Words(mod), mod, algebra.side_aig(side, "b", tmp, 60)


def _check_every_input(words, mod, aig, signed: bool, widths: dict) -> dict:
    form = words.exact(mod["ports"]["y"]["bits"], signed)
    w = len(mod["ports"]["y"]["bits"])
    names = sorted(widths)
    for vals in itertools.product(*(range(1 << widths[n]) for n in names)):
        v = dict(zip(names, vals))
        got = algebra.evaluate(aig, v)["y"]
        if signed and got >> (w - 1):
            got -= 1 << w
        assert value_at(form, v) == got, v
    return form


def test_a_zero_extended_sum_is_the_sum_of_its_weighted_bits(tmp_path):
    words, mod, aig = _words(tmp_path, "assign y = {1'b0, a} + {1'b0, b};",
                             "input [2:0] a, input [2:0] b, output [3:0] y")
    form = _check_every_input(words, mod, aig, False, {"a": 3, "b": 3})
    assert form == {frozenset({(p, i)}): 1 << i for p in "ab" for i in range(3)}


def test_an_adder_narrower_than_its_free_operands_is_exact_where_they_cannot_reach(tmp_path):
    # t = a[3:1] is at most 7 and u = b[3:2] at most 3: a 4-bit sum of t and u never wraps, though
    # its operands' ports could hold 15 + 15.
    body = "wire [2:0] t = a[3:1]; wire [1:0] u = b[3:2]; wire [3:0] s = t + u; assign y = {1'b0, s} + 5'd9;"
    words, mod, aig = _words(tmp_path, body, "input [3:0] a, input [3:0] b, output [4:0] y")
    _check_every_input(words, mod, aig, False, {"a": 4, "b": 4})


def test_a_complement_zero_extended_reads_as_its_unsigned_value(tmp_path):
    words, mod, aig = _words(tmp_path, "wire [2:0] c = ~a; assign y = {2'b0, c} + {2'b0, b};",
                             "input [2:0] a, input [2:0] b, output [4:0] y")
    form = _check_every_input(words, mod, aig, False, {"a": 3, "b": 3})
    assert form[ONE] == 7 and form[frozenset({("a", 2)})] == -4


def test_a_negative_product_floored_and_sign_extended_is_exact(tmp_path):
    # p = -3a on 7 bits (signed), q = floor(p / 2) on 6 bits, sign-extended into an 8-bit sum.
    body = ("wire signed [6:0] p = $signed({1'b0, a}) * -7'sd3; wire [5:0] q = p[6:1]; "
            "assign y = {{2{q[5]}}, q} + {4'b0, b};")
    words, mod, aig = _words(tmp_path, body, "input [3:0] a, input [3:0] b, output [7:0] y")
    _check_every_input(words, mod, aig, True, {"a": 4, "b": 4})


def test_a_sum_that_wraps_for_inputs_that_occur_is_not_read_as_exact(tmp_path):
    # t + 1 on 3 bits wraps at t = 7: the word is not the integer t + 1, and must not be claimed so.
    words, mod, _ = _words(tmp_path, "wire [2:0] s = a + 3'd1; assign y = {1'b0, s};",
                           "input [2:0] a, output [3:0] y")
    with pytest.raises(Unknown):
        words.exact(mod["ports"]["y"]["bits"], False)


def test_a_word_wider_than_its_reading_holds_is_not_read_as_exact(tmp_path):
    words, mod, _ = _words(tmp_path, "assign y = a + b;", "input [3:0] a, input [3:0] b, output [3:0] y")
    with pytest.raises(Unknown):
        words.exact(mod["ports"]["y"]["bits"], False)


def test_a_comparison_is_left_to_the_bit_level(tmp_path):
    words, mod, _ = _words(tmp_path, "assign y = (a < b) ? a : b;", "input [3:0] a, input [3:0] b, output [3:0] y")
    with pytest.raises(Unknown):
        words.exact(mod["ports"]["y"]["bits"], False)


def test_floor_division_and_bounds_by_hand():
    x0, x1, x2 = (frozenset({("x", i)}) for i in range(3))
    # floor(7x / 2) for a 3-bit x: 3 x0 + 7 x1 + 14 x2 (7x - x0 is even).
    assert floor_div({x0: 7, x1: 14, x2: 28}, 1) == {x0: 3, x1: 7, x2: 14}
    assert bounds({ONE: -5, x0: 3, x1: -2}) == (-7, -2)


def test_a_sum_that_wraps_only_outside_its_inputs_range_is_exact_within_it(tmp_path):
    # a + 3 on 4 bits wraps for a >= 13; with a known to stay in [0, 12] it is the integer a + 3.
    words, mod, aig = _words(tmp_path, "wire [3:0] s = a + 4'd3; assign y = {1'b0, s};",
                             "input [3:0] a, output [4:0] y")
    with pytest.raises(Unknown):
        words.exact(mod["ports"]["y"]["bits"], False)
    ranged = Words(mod, (("a", 0, 4, 0, 12),))
    form = ranged.exact(mod["ports"]["y"]["bits"], False)
    for a in range(13):
        assert value_at(form, {"a": a}) == algebra.evaluate(aig, {"a": a})["y"] == a + 3


def test_bounds_of_a_field_in_its_range_by_hand():
    x = [frozenset({("x", i)}) for i in range(3)]
    field = (("x", 0, 3, 0, 5),)
    assert bounds({x[0]: 1, x[1]: 2, x[2]: 4}, field) == (0, 5)            # x itself
    # floor(5x / 2) = 2 x0 + 5 x1 + 10 x2: 2.5 x and a residual of -0.5 x0, so at most 12.5.
    assert bounds({x[0]: 2, x[1]: 5, x[2]: 10}) == (0, 17)
    assert bounds({x[0]: 2, x[1]: 5, x[2]: 10}, field) == (0, 13)


def test_bounds_of_an_exact_floor_bit_take_its_monomials_together():
    """``x mod 4 == 0`` is (1 - x0)(1 - x1) = 1 - x0 - x1 + x0 x1: monomial by monomial [-1, 2], really
    [0, 1]. Beside it floor(x / 4) of the same field x in [0, 9] (at most 2) and an unrelated bit y:
    the parts are independent, so their ranges add up exactly."""
    x = [frozenset({("x", i)}) for i in range(4)]
    y = frozenset({("y", 0)})
    exact = {frozenset(): 1, x[0]: -1, x[1]: -1, x[0] | x[1]: 1}
    assert bounds(exact) == (0, 1)
    assert _outer_bounds(exact) == (-1, 2)
    field = (("x", 0, 4, 0, 9),)
    q = {**exact, x[2]: 1, x[3]: 2, y: 3}
    # at x = 8: exact bit 1 and floor 2 -> 3; with y -> 6. The lowest: x = 1 (0 + 0), y = 0.
    assert bounds(q, field) == (0, 6)
    assert bounds(q, field) == (min(_value(q, v, b) for v in range(10) for b in (0, 1)),
                                max(_value(q, v, b) for v in range(10) for b in (0, 1)))


def _value(q, xv: int, yv: int) -> int:
    return value_at(q, {"x": xv, "y": yv})
