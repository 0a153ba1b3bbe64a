"""Fixed-point rounding and overflow rules, checked against exact rational arithmetic."""

from fractions import Fraction

import numpy as np
import pytest

from encoder.ir.fixed import FixedFormat, apply_overflow, bits_for_range, requantize, shift_round


def _half_even(fr: Fraction) -> int:
    return round(fr)          # Python's round on a Fraction is round-half-to-even


@pytest.mark.parametrize("shift", [1, 2, 3, 5])
def test_half_even_equals_exact_rational_rounding(shift):
    xs = np.arange(-200, 201, dtype=np.int64)
    got = shift_round(xs, shift, "half_even")
    want = [_half_even(Fraction(int(x), 2**shift)) for x in xs]
    assert got.tolist() == want


def test_half_even_ties_go_to_even_neighbour():
    # 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -0.5 -> 0, -1.5 -> -2 (tf.round semantics)
    assert shift_round(np.array([1, 3, 5, -1, -3]), 1, "half_even").tolist() == [0, 2, 2, 0, -2]


def test_floor_is_arithmetic_shift_towards_minus_infinity():
    assert shift_round(np.array([7, -7, -1, 8]), 2, "floor").tolist() == [1, -2, -1, 2]


def test_half_up_adds_half_then_floors():
    assert shift_round(np.array([1, 3, -1, -3]), 1, "half_up").tolist() == [1, 2, 0, -1]


def test_negative_shift_is_exact_left_shift():
    assert shift_round(np.array([3, -3]), -4, "floor").tolist() == [48, -48]


def test_saturate_and_wrap_on_signed_and_unsigned_formats():
    s4 = FixedFormat(True, 4, 0)
    u4 = FixedFormat(False, 4, 0)
    x = np.array([-20, -9, -8, 7, 8, 17])
    assert apply_overflow(x, s4, "saturate").tolist() == [-8, -8, -8, 7, 7, 7]
    assert apply_overflow(x, s4, "wrap").tolist() == [-4, 7, -8, 7, -8, 1]
    assert apply_overflow(x, u4, "saturate").tolist() == [0, 0, 0, 7, 8, 15]
    assert apply_overflow(x, u4, "wrap").tolist() == [12, 7, 8, 7, 8, 1]


def test_requantize_rounds_then_saturates():
    u9_8 = FixedFormat(False, 9, 8)
    # accumulator at 12 fractional bits, 16 accumulator LSBs per output LSB:
    # 0x10080 is 16.03 -> saturates at 511; 8/16 = 0.5 -> 0; 136/16 = 8.5 -> 8; 56/16 = 3.5 -> 4; 24/16 = 1.5 -> 2
    got = requantize(np.array([0x10080, 8, 136, 56, 24]), 12, u9_8, "half_even", "saturate")
    assert got.tolist() == [511, 0, 8, 4, 2]


@pytest.mark.parametrize("lo,hi,signed,bits", [
    (0, 0, False, 1), (0, 1, False, 1), (0, 255, False, 8), (0, 256, False, 9),
    (-1, 0, True, 1), (-128, 127, True, 8), (-129, 0, True, 9), (-1, 128, True, 9), (-5, 3, True, 4),
])
def test_bits_for_range_is_the_smallest_type(lo, hi, signed, bits):
    assert bits_for_range(lo, hi) == (signed, bits)
    fmt = FixedFormat(signed, bits, 0)
    assert fmt.min_code <= lo and hi <= fmt.max_code
    if bits > 1:
        smaller = FixedFormat(signed, bits - 1, 0)
        assert lo < smaller.min_code or hi > smaller.max_code


def test_format_rejects_bad_widths():
    with pytest.raises(ValueError):
        FixedFormat(True, 0, 0)
    with pytest.raises(ValueError):
        FixedFormat.from_dict({"signed": 1, "bits": 6, "frac": 5})
