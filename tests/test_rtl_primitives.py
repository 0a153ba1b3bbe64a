"""The hand-written primitives in rtl/ against the Python definitions of the arithmetic.

Each primitive runs on Icarus over every input (or thousands of random
ones) and must equal encoder.ir.fixed / encoder.inputpath, which the golden
model uses: rounding ties, saturation edges, wrap, left shifts, CSD
recoding, leading-one and sum-code corner cases.
"""

from __future__ import annotations

import numpy as np
import pytest

from encoder.inputpath import encode_sum, leading_one
from encoder.ir.fixed import FixedFormat, requantize, shift_round
from rtl_helpers import simulate_primitive, to_signed

ROUND = {0: "floor", 1: "half_even", 2: "half_up"}


def _all(bits: int, signed: bool) -> np.ndarray:
    v = np.arange(1 << bits, dtype=np.int64)
    return np.where(v >> (bits - 1), v - (1 << bits), v) if signed else v


@pytest.mark.parametrize("in_signed", [0, 1])
@pytest.mark.parametrize("shift", [1, 2, 4])
@pytest.mark.parametrize("rounding", [0, 1, 2])
def test_round_shift_equals_shift_round_on_every_input(tmp_path, in_signed, shift, rounding):
    bits = 8
    x = _all(bits, bool(in_signed))
    out_bits = bits - shift + 1
    got = simulate_primitive(tmp_path, "enc_round_shift",
                             dict(IN_BITS=bits, IN_SIGNED=in_signed, SHIFT=shift, ROUNDING=rounding, OUT_BITS=out_bits),
                             {"x": (bits, x)}, ("y", out_bits))
    want = shift_round(x, shift, ROUND[rounding])
    got = to_signed(got, out_bits) if in_signed else got.astype(np.int64)
    np.testing.assert_array_equal(got, want)


REQUANT_CASES = [
    # in_bits, in_signed, relu, shift, rounding, overflow, out_bits, out_signed
    (9, 1, 1, 3, 1, 0, 5, 0),     # QKeras: ReLU, half to even, saturate to unsigned
    (9, 1, 1, 0, 0, 0, 5, 0),     # ECON-T dense: floor with no shift, clamp
    (9, 1, 0, 2, 1, 0, 5, 1),     # linear, signed output, saturate both ways
    (9, 1, 0, 2, 2, 1, 5, 1),     # linear, half up, wrap
    (8, 0, 1, 1, 1, 1, 4, 0),     # unsigned input, wrap
    (7, 1, 1, -2, 0, 0, 8, 0),    # output finer than the accumulator: left shift
    (7, 1, 0, -1, 1, 0, 6, 1),    # left shift into a signed format that saturates
    (10, 1, 1, 5, 1, 0, 4, 0),    # many dropped bits (sticky)
]


@pytest.mark.parametrize("case", REQUANT_CASES, ids=lambda c: "-".join(map(str, c)))
def test_requant_equals_relu_then_requantize_on_every_input(tmp_path, case):
    in_bits, in_signed, relu, shift, rounding, overflow, out_bits, out_signed = case
    x = _all(in_bits, bool(in_signed))
    got = simulate_primitive(tmp_path, "enc_requant", dict(
        IN_BITS=in_bits, IN_SIGNED=in_signed, RELU=relu, SHIFT=shift, ROUNDING=rounding, OVERFLOW=overflow,
        OUT_BITS=out_bits, OUT_SIGNED=out_signed, CLAMP_HI=1, CLAMP_LO=1, CODE_BITS=out_bits),
        {"acc": (in_bits, x)}, ("y", out_bits), deps=("enc_round_shift",))
    out_frac = 3
    fmt = FixedFormat(bool(out_signed), out_bits, out_frac)
    acc = np.maximum(x, 0) if relu else x
    want = requantize(acc, out_frac + shift, fmt, ROUND[rounding], "wrap" if overflow else "saturate")
    got = to_signed(got, out_bits) if out_signed else got.astype(np.int64)
    np.testing.assert_array_equal(got, want)


def test_requant_without_clamps_only_drops_proven_zero_bits(tmp_path):
    """CLAMP_HI=0 and CODE_BITS < OUT_BITS: for inputs the analysis allows, the same codes."""
    x = np.arange(0, 200)                                   # range proved by the caller: [0, 199]
    got = simulate_primitive(tmp_path, "enc_requant", dict(
        IN_BITS=10, IN_SIGNED=1, RELU=1, SHIFT=1, ROUNDING=1, OVERFLOW=0, OUT_BITS=12, OUT_SIGNED=0,
        CLAMP_HI=0, CLAMP_LO=0, CODE_BITS=7), {"acc": (10, x)}, ("y", 7), deps=("enc_round_shift",))
    want = requantize(x, 4, FixedFormat(False, 12, 3), "half_even", "saturate")
    np.testing.assert_array_equal(got.astype(np.int64), want)


@pytest.mark.parametrize("frac,code_bits,rounding", [(7, 8, 0), (7, 8, 1), (3, 4, 1), (3, 5, 2), (4, 4, 1), (5, 4, 2), (2, 5, 1),
                                                     (-2, 2, 1), (-1, 1, 2), (-2, 2, 0)])
def test_normalise_equals_input_path_rule(tmp_path, frac, code_bits, rounding):
    """count * 2^(frac - m) rounded and saturated, for every count below 2^(m+1) (m the leading one).

    Negative frac (the count shifted right by m + POST_SHIFT) and codes narrower and wider than the
    floor's Q_BITS take the saturating, fitting and widening branches."""
    count_bits, shift_bits = 9, 4
    counts, ms = [], []
    for m in range(0, 11):
        top = min((1 << (m + 1)) - 1, (1 << count_bits) - 1)
        c = np.arange(0, top + 1)
        counts.append(c)
        ms.append(np.full(c.size, m))
    counts, ms = np.concatenate(counts), np.concatenate(ms)
    got = simulate_primitive(tmp_path, "enc_normalise", dict(
        COUNT_BITS=count_bits, SHIFT_BITS=shift_bits, PRE_SHIFT=max(frac, 0), POST_SHIFT=max(-frac, 0),
        Q_BITS=max(frac + 1, 1),
        ROUNDING=rounding, CODE_BITS=code_bits), {"count": (count_bits, counts), "m": (shift_bits, ms)},
        ("code", code_bits))
    want = np.array([int(shift_round(np.array([c << max(frac - m, 0)]), max(m - frac, 0), ROUND[rounding])[0])
                     for c, m in zip(counts, ms)])
    want = np.minimum(want, (1 << code_bits) - 1)
    np.testing.assert_array_equal(got.astype(np.int64), want)


@pytest.mark.parametrize("in_bits,out_bits", [(1, 1), (5, 3), (8, 3), (28, 5), (32, 5)])
def test_leading_one_equals_floor_log2(tmp_path, in_bits, out_bits):
    rng = np.random.default_rng(in_bits)
    x = [0, 1] + [1 << k for k in range(in_bits)] + [(1 << (k + 1)) - 1 for k in range(in_bits)]
    x += list(rng.integers(0, 1 << min(in_bits, 62), 300))
    x = np.array(x, dtype=np.int64) & ((1 << in_bits) - 1)
    got = simulate_primitive(tmp_path, "enc_leading_one", dict(IN_BITS=in_bits, OUT_BITS=out_bits),
                             {"x": (in_bits, x)}, ("pos", out_bits))
    np.testing.assert_array_equal(got.astype(np.int64), leading_one(x))


@pytest.mark.parametrize("sum_bits,exp_bits,mant_bits", [(28, 5, 4), (24, 3, 4), (6, 3, 4), (4, 2, 4)])
def test_sum_code_equals_encode_sum(tmp_path, sum_bits, exp_bits, mant_bits):
    """ECON-T rule, including sums below 2^mant, exponent clamp to the all-ones code."""
    rng = np.random.default_rng(sum_bits)
    s = [0, 1, 15, 16, 17, 31, 32, 33] + [(1 << k) - 1 for k in range(1, sum_bits + 1)] + \
        [1 << k for k in range(sum_bits)] + list(rng.integers(0, 1 << sum_bits, 400))
    s = np.array(s, dtype=np.int64) & ((1 << sum_bits) - 1)
    shift_bits = max(1, (sum_bits - 1).bit_length())
    got = simulate_primitive(tmp_path, "enc_sum_code", dict(SUM_BITS=sum_bits, SHIFT_BITS=shift_bits,
                                                           EXP_BITS=exp_bits, MANT_BITS=mant_bits),
                             {"s": (sum_bits, s), "m": (shift_bits, leading_one(s))}, ("code", exp_bits + mant_bits))
    np.testing.assert_array_equal(got.astype(np.int64), encode_sum(s, exp_bits, mant_bits))


@pytest.mark.parametrize("a_bits,a_signed,b_bits,b_signed", [(5, 0, 4, 1), (4, 1, 4, 1), (4, 0, 3, 0), (3, 1, 4, 0)])
def test_multiplier_is_exact_on_every_operand_pair(tmp_path, a_bits, a_signed, b_bits, b_signed):
    a, b = np.meshgrid(_all(a_bits, bool(a_signed)), _all(b_bits, bool(b_signed)))
    a, b = a.ravel(), b.ravel()
    p_bits = a_bits + b_bits
    got = simulate_primitive(tmp_path, "enc_mul", dict(A_BITS=a_bits, A_SIGNED=a_signed, B_BITS=b_bits,
                                                       B_SIGNED=b_signed),
                             {"a": (a_bits, a), "b": (b_bits, b)}, ("p", p_bits))
    signed = a_signed or b_signed
    got = to_signed(got, p_bits) if signed else got.astype(np.int64)
    np.testing.assert_array_equal(got, a * b)


@pytest.mark.parametrize("value", [1, -1, 2, 3, -3, 7, -7, 11, -13, 23, 31, -32, 45])
@pytest.mark.parametrize("a_signed", [0, 1])
def test_constant_multiplier_is_exact(tmp_path, value, a_signed):
    a_bits = 6
    a = _all(a_bits, bool(a_signed))
    prods = a * value
    lo, hi = int(prods.min()), int(prods.max())
    p_bits = max((-lo - 1).bit_length(), hi.bit_length()) + 1 if lo < 0 else max(hi.bit_length(), 1)
    got = simulate_primitive(tmp_path, "enc_mul_const", dict(A_BITS=a_bits, A_SIGNED=a_signed, B_VALUE=value,
                                                             P_BITS=p_bits), {"a": (a_bits, a)}, ("p", p_bits))
    got = to_signed(got, p_bits) if lo < 0 else got.astype(np.int64)
    np.testing.assert_array_equal(got, prods)
