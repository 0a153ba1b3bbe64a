"""Constant against programmable with tied weights, cut at the requantizers (encoder.verify.cutpoint).

Checked by hand on the integer reading of two words of different widths (encoder.verify.cutpoint.
same_integer), on yosys' multipliers against Python's products at every input (the shift-and-add
map algebraic rewriting reads them through), and end to end on tiny_conv (econt arithmetic, seed
3): both layers proven equal by the cut, and two planted differences in the constant design (a
neuron's bias off by one, a requantizer's rounding changed) not proven by the cut and found not
equivalent by the whole-module proof it falls back to.
"""

import itertools
import re
import shutil
from pathlib import Path

import pytest

from encoder.ir import save_ir
from encoder.ir.synthetic import synthetic_ir
from encoder.rtl_gen.design import generate_from_file, write_design
from encoder.verify import algebra, equiv
from encoder.verify.cutpoint import prove_cut, same_integer
from encoder.verify.linear import value_at
from encoder.verify.prove import Side
from rtl_helpers import need_tool

X0, X1 = frozenset({("x", 0)}), frozenset({("x", 1)})
ONE = frozenset()


def _word(coefs: dict, bits: int) -> dict:
    """A polynomial as rewriting gives it: coefficients reduced modulo 2^bits, zeros dropped."""
    return {m: c % (1 << bits) for m, c in coefs.items() if c % (1 << bits)}


def test_words_of_different_widths_holding_x_minus_3_are_the_same_integer():
    # x is 2 bits: x - 3 lies in [-3, 0], which a signed 4-bit and a signed 6-bit word both hold.
    q = {ONE: -3, X0: 1, X1: 2}
    r = same_integer(_word(q, 4), 4, True, _word(q, 6), 6, True)
    assert r["result"] == "equal" and r["range"] == [-3, 0]


def test_x_minus_3_against_x_minus_2_differs_at_x_0():
    r = same_integer(_word({ONE: -3, X0: 1, X1: 2}, 4), 4, True, _word({ONE: -2, X0: 1, X1: 2}, 6), 6, True)
    assert r["result"] == "differ" and r["counterexample"] == {}          # all inputs 0: -3 against -2


def test_a_value_the_narrow_word_cannot_hold_is_undecided():
    # x + 3 in [3, 6] does not fit a signed 3-bit word ([-4, 3]): congruence alone proves nothing.
    q = {ONE: 3, X0: 1, X1: 2}
    assert same_integer(_word(q, 3), 3, True, _word(q, 6), 6, True)["result"] == "undecided"


def test_a_coefficient_past_half_the_narrow_modulus_is_read_from_the_wider_word():
    # 15*x0 on an unsigned 4-bit word reads as -x0 in symmetric form; the 6-bit word keeps 15.
    r = same_integer(_word({X0: 15}, 4), 4, False, _word({X0: 15}, 6), 6, True)
    assert r["result"] == "equal" and r["range"] == [0, 15]


@pytest.mark.parametrize("decl,expr,signed", [
    ("input [3:0] a, input [2:0] b, output [6:0] y", "a * b", False),
    ("input signed [3:0] a, input signed [2:0] b, output signed [6:0] y", "a * b", True),
    ("input signed [3:0] a, input signed [2:0] b, output signed [4:0] y", "a * b", True),     # truncated
    ("input signed [3:0] a, input signed [2:0] b, output signed [9:0] y", "a * b", True),     # extended
    ("input signed [3:0] a, input signed [2:0] b, output signed [7:0] y", "a * -3'sd3 + b", True),
])
def test_a_multiplier_is_its_product_at_every_input_and_its_polynomial_says_so(tmp_path, decl, expr, signed):
    need_tool("yosys")
    (tmp_path / "m.v").write_text(f"module m({decl}); assign y = {expr}; endmodule\n")
    aig = algebra.side_aig(Side([tmp_path / "m.v"], "m"), "m", tmp_path, 60)
    width = len(aig.outputs["y"])
    poly = algebra.word_polynomial(aig, aig.outputs["y"])

    def read(v, bits):
        return v - (1 << bits) if signed and v >> (bits - 1) else v
    for a, b in itertools.product(range(16), range(8)):
        want = eval(expr.replace("-3'sd3", "-3"), {"a": read(a, 4), "b": read(b, 3)}) % (1 << width)
        assert algebra.evaluate(aig, {"a": a, "b": b})["y"] == want, (a, b)
        got = value_at(poly, {"a": a, "b": b}) % (1 << width)
        assert got == want, (a, b)


ROOT = Path(__file__).resolve().parent.parent
NEURON = """module {name} (input wire [3:0] a, input wire [3:0] b, output wire [7:0] y);
    wire [{msb}:0] acc = {{{pad}'b0, ^a[1:0]}} + {{{bpad}'b0, b}};
    enc_requant #(.IN_BITS({bits}), .IN_SIGNED(1), .RELU(1), .SHIFT(0), .ROUNDING(0), .OVERFLOW(0),
                  .OUT_BITS(8), .OUT_SIGNED(0), .CLAMP_HI(1), .CLAMP_LO(0), .CODE_BITS(8)) u_requant (.acc(acc), .y(y));
endmodule
"""


def test_an_accumulator_the_word_reading_cannot_express_is_decided_at_the_bit_level(tmp_path):
    # A reduction XOR is not arithmetic: the word-level reading gives up on it, and the accumulators
    # (6 bits against 8) are proven the same integer by their bit-level polynomials instead.
    need_tool("yosys")
    prims = [ROOT / "rtl" / "enc_requant.v", ROOT / "rtl" / "enc_round_shift.v"]
    sides = []
    for name, bits in (("narrow", 6), ("wide", 8)):
        f = tmp_path / f"{name}.v"
        f.write_text(NEURON.format(name=name, msb=bits - 1, pad=bits - 1, bpad=bits - 4, bits=bits))
        sides.append(Side(prims + [f], name))
    work = tmp_path / "work"
    work.mkdir()
    r = prove_cut(sides[0], sides[1], work, 120)
    assert r["result"] == "equivalent", r
    assert r["words"] == {"algebraic rewriting": 1, "interval reasoning on the words": 1}, r


def _both_modes(tmp: Path, arithmetic: str, seed: int, arch: str = "tiny_conv") -> dict[str, Path]:
    """``arch`` (tiny_conv) of this arithmetic and seed, generated with constant and with programmable weights."""
    need_tool("yosys")
    save_ir(synthetic_ir(arch, arithmetic, seed=seed), tmp / "ir.json")
    return {m: write_design(generate_from_file(tmp / "ir.json", m), tmp / m) for m in ("constant", "programmable")}


@pytest.fixture(scope="module")
def designs(tmp_path_factory):
    return _both_modes(tmp_path_factory.mktemp("tied"), "econt", 3)


def _results(const: Path, prog: Path) -> dict:
    return {m["module"]: m for m in equiv.compare(const, prog, timeout=120, log=lambda line: None)["modules"]}


def test_both_layers_equal_the_programmable_ones_with_tied_weights_by_the_cut(designs):
    r = _results(designs["constant"], designs["programmable"])
    layers = [m for m in r if not m.endswith("_input_path")]
    assert len(layers) == 2
    for mod in layers:
        assert r[mod]["result"] == "equivalent" and r[mod]["method"] == "cut at the requantizers", r[mod]
        assert r[mod]["cuts"] >= 3
    assert next(m for m in r.values() if m["module"].endswith("_input_path"))["result"] == "equivalent"


def _planted(designs, tmp: Path, pattern: str, repl: str) -> Path:
    """A copy of the constant design with one edit in its first conv neuron."""
    copy = tmp / "constant"
    shutil.copytree(designs["constant"], copy)
    neuron = next(copy.glob("*_conv_r0_c0_f0.v"))
    text, n = re.subn(pattern, repl, neuron.read_text(), count=1)
    assert n == 1
    neuron.write_text(text)
    return copy


def test_a_bias_off_by_one_is_not_proven_by_the_cut_and_found_by_the_whole_module(designs, tmp_path):
    # acc = ... + N'dK: one more in the constant makes that accumulator differ at every input.
    broken = _planted(designs, tmp_path, r"(wire \[\d+:0\] acc = .*\+ \d+'d)(\d+);",
                      lambda m: f"{m.group(1)}{int(m.group(2)) + 1};")
    (r,) = [v for k, v in _results(broken, designs["programmable"]).items() if k.endswith("_conv")]
    assert r["result"] == "not equivalent", r
    assert "u_conv_r0_c0_f0.u_requant.acc: the two sides hold different integers" in r["detail"], r


def test_a_changed_requantizer_shift_is_not_proven_by_the_cut_and_found_by_the_whole_module(designs, tmp_path):
    # The neuron's weights are all positive and its bias too: its accumulator is at least 64, where
    # SHIFT 1 halves what SHIFT 0 passes.
    broken = _planted(designs, tmp_path, r"\.SHIFT\(0\)", ".SHIFT(1)")
    (r,) = [v for k, v in _results(broken, designs["programmable"]).items() if k.endswith("_conv")]
    assert r["result"] == "not equivalent", r
    assert "requantizers of" in r["detail"] and "not equivalent" in r["detail"], r


@pytest.fixture(scope="module")
def qkeras_s1(tmp_path_factory):
    # tiny_conv, qkeras arithmetic, seed 1: the conv layer's codes reach 1,302 of the 2,047 their 11 bits
    # hold, and the constant dense layer's adders are sized for that; its conv requantizers leave out
    # what their accumulators never reach.
    return _both_modes(tmp_path_factory.mktemp("s1"), "qkeras", 1)


def test_layers_whose_inputs_and_accumulators_have_narrow_ranges_are_proven_over_those_ranges(qkeras_s1):
    r = _results(qkeras_s1["constant"], qkeras_s1["programmable"])
    (dense,) = [v for k, v in r.items() if k.endswith("_dense")]
    (conv,) = [v for k, v in r.items() if k.endswith("_conv")]
    assert conv["result"] == "equivalent" and conv["method"] == "cut at the requantizers", conv
    assert dense["result"] == "equivalent" and dense["method"] == "cut at the requantizers", dense
    assert "inputs in [0, 1302]" in dense["detail"] and "give codes in [0, 1302]" in dense["detail"], dense


def test_a_code_range_the_requantizers_exceed_is_refused(qkeras_s1, tmp_path):
    from encoder.verif.design import load_design
    from encoder.verify.cutpoint import codes_within
    c = load_design(qkeras_s1["constant"])
    where, texts = equiv.module_index(c.dir, equiv.rel_sources(c))
    mod = f"{c.top}_conv"
    side = Side([c.dir / f for f in equiv.closure(mod, where, texts)], mod)
    # The conv layer against itself: the cut proof only serves to find each accumulator's range.
    work = tmp_path / "cut"
    work.mkdir()
    cut = prove_cut(side, side, work, 120)
    assert cut["result"] == "equivalent", cut
    assert codes_within(side, cut, (0, 1302), tmp_path, 120)["result"] == "equivalent"
    assert codes_within(side, cut, (0, 1000), tmp_path, 120)["result"] == "not equivalent"


def test_exact_bits_added_apart_from_their_floors_are_bounded_as_one_part_each(tmp_path):
    """tiny_masked, econt arithmetic, seed 1: a dense neuron adds the exact bits of its negative products
    (``x mod 16 == 0``, a product of four complemented bits of the input code) in one tree node, beside
    three positive floors, on 8 bits: at most 6 + 3 * 81 = 249 with the codes in [0, 1301]. Bounded
    monomial by monomial each exact bit gave [-7, 8], the node 288, and the adder was left unread;
    bounded as one part, value by value over its code's range, it is [0, 1] and the layer is proven."""
    d = _both_modes(tmp_path, "econt", 1, arch="tiny_masked")
    (dense,) = [v for k, v in _results(d["constant"], d["programmable"]).items() if k.endswith("_dense")]
    assert dense["result"] == "equivalent" and dense["method"] == "cut at the requantizers", dense
    assert dense["words"] == {"interval reasoning on the words": 3}, dense
