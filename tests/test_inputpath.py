"""The hardware input path, checked against hand-worked examples.

Every expected number below is worked out by hand in the comment beside it
(ECON-T rules: counts = round(charge * counts_per_mip), m = floor(log2 sum),
x = counts * 2**(frac - m); module-sum code 5-bit exponent, 4-bit mantissa).
"""

import numpy as np
import pytest

from encoder.inputpath import (decode_sum, elinks_for, encode_sum, input_bits_per_bx,
                               leading_one, module_sum, normalise, normalised_float, to_counts)
from encoder.ir.fixed import FixedFormat

U8_7 = FixedFormat(False, 8, 7)      # the chip's input code: unsigned, 7 fractional bits


# ---------------------------------------------------------------- to_counts

def test_to_counts_rounds_ties_to_even():
    # 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, 3.5 -> 4; off-tie values round to nearest
    res = to_counts(np.array([[0.5, 1.5, 2.5, 3.5, 0.49, 0.51, 2.0]]), counts_per_mip=1.0, bits=8)
    assert res.counts.tolist() == [[0, 2, 2, 4, 0, 1, 2]]
    assert res.counts.dtype == np.int64
    assert res.n_clipped == 0


def test_to_counts_scales_by_counts_per_mip():
    # 1.25 MIP * 4 = 5 counts; 0.125 * 4 = 0.5 -> 0 (tie to even); 0.375 * 4 = 1.5 -> 2
    res = to_counts(np.array([1.25, 0.125, 0.375]), counts_per_mip=4.0, bits=8)
    assert res.counts.tolist() == [5, 0, 2]


def test_to_counts_clips_at_the_top_code_and_counts_the_clipped_cells():
    # 3 bits: top code 7. 6.5 -> 6 (tie even), 7.4 -> 7 (fits), 7.5 -> 8 -> clipped,
    # 8 -> clipped, 100 -> clipped: three cells clipped.
    res = to_counts(np.array([6.5, 7.4, 7.5, 8.0, 100.0]), counts_per_mip=1.0, bits=3)
    assert res.counts.tolist() == [6, 7, 7, 7, 7]
    assert res.n_clipped == 3


@pytest.mark.parametrize("bad", [-0.1, np.nan, np.inf])
def test_to_counts_refuses_negative_or_non_finite_charges(bad):
    with pytest.raises(ValueError):
        to_counts(np.array([1.0, bad]), counts_per_mip=1.0, bits=8)


# ---------------------------------------------------------------- leading_one

def test_leading_one_at_and_around_powers_of_two():
    ks = np.arange(1, 62)
    p = np.int64(1) << ks
    np.testing.assert_array_equal(leading_one(p), ks)            # 2^k -> k
    np.testing.assert_array_equal(leading_one(p - 1), ks - 1)    # 2^k - 1 -> k - 1
    np.testing.assert_array_equal(leading_one(p + 1), ks)        # 2^k + 1 -> k
    assert leading_one(np.array([0, 1, 2, 3, 5, 1000])).tolist() == [0, 0, 1, 1, 2, 9]


# ---------------------------------------------------------------- module sums and normalisation

def test_module_sum_at_powers_of_two_sets_the_shift():
    # sums 1023, 1024, 1025 -> m = 9, 10, 10
    counts = np.array([[1000, 23], [1000, 24], [1000, 25]])
    assert module_sum(counts).tolist() == [1023, 1024, 1025]
    _, m = normalise(counts, U8_7, "floor")
    assert m.tolist() == [9, 10, 10]


def test_normalise_left_shift_is_exact():
    # counts [3, 5], sum 8, m = 3, x = counts * 2^(7 - 3) = [48, 80]
    codes, m = normalise(np.array([[3, 5]]), U8_7, "floor")
    assert m.tolist() == [3] and codes.tolist() == [[48, 80]]


@pytest.mark.parametrize("rounding, expected", [
    # counts [1, 3, 5, 247], sum 256, m = 8: x = counts / 2 = [0.5, 1.5, 2.5, 123.5]
    ("floor", [0, 1, 2, 123]),
    ("half_even", [0, 2, 2, 124]),
])
def test_normalise_right_shift_rounds_ties_by_the_rule(rounding, expected):
    codes, m = normalise(np.array([[1, 3, 5, 247]]), U8_7, rounding)
    assert m.tolist() == [8]
    assert codes.tolist() == [expected]


def test_normalise_off_tie_values_round_to_nearest_with_half_even():
    # counts [3, 1021], sum 1024, m = 10, x = counts / 8 = [0.375, 127.625]
    codes, _ = normalise(np.array([[3, 1021]]), U8_7, "half_even")
    assert codes.tolist() == [[0, 128]]
    codes, _ = normalise(np.array([[3, 1021]]), U8_7, "floor")
    assert codes.tolist() == [[0, 127]]


def test_single_cell_at_full_scale_saturates_at_255():
    # one cell of 511: m = 8, x = 511 / 2 = 255.5: floor 255; half_even 256 -> saturated 255
    for rounding in ("floor", "half_even"):
        codes, m = normalise(np.array([[511, 0, 0]]), U8_7, rounding)
        assert m.tolist() == [8] and codes.tolist() == [[255, 0, 0]]
    # one cell of 255: m = 7, x = 255 exactly
    codes, _ = normalise(np.array([[255, 0]]), U8_7, "half_even")
    assert codes.tolist() == [[255, 0]]
    # one cell of 256: m = 8, x = 128 (a power of two lands on 1.0)
    codes, _ = normalise(np.array([[256]]), U8_7, "half_even")
    assert codes.tolist() == [[128]]


def test_normalise_all_zero_module_gives_zero_codes():
    codes, m = normalise(np.zeros((1, 4), dtype=np.int64), U8_7, "half_even")
    assert m.tolist() == [0] and codes.tolist() == [[0, 0, 0, 0]]


def test_normalise_fixed_shift_uses_the_given_shift():
    # shift 4: x = counts * 2^(7 - 4) = counts * 8, saturating at 255
    codes, m = normalise(np.array([[1, 31, 32]]), U8_7, "floor", normalisation="fixed_shift", shift=4)
    assert m.tolist() == [4] and codes.tolist() == [[8, 248, 255]]


def test_normalised_float_is_counts_over_two_to_the_m():
    # sum 12, m = 3: [4, 8] / 8 = [0.5, 1.0]
    np.testing.assert_array_equal(normalised_float(np.array([[4, 8]])), [[0.5, 1.0]])


# ---------------------------------------------------------------- module-sum code

@pytest.mark.parametrize("s, code", [
    (0, 0), (1, 1), (15, 15),  # below 16: sent as is
    (16, 16),                  # bit length 5: exponent 1, mantissa 16 & 15 = 0 -> 1 << 4 | 0
    (31, 31),                  # exponent 1, mantissa 31 & 15 = 15 -> 16 + 15
    (32, 32),                  # bit length 6: exponent 2, mantissa (32 >> 1) & 15 = 0
    (33, 32),                  # (33 >> 1) & 15 = 0: the low bit is dropped
    (35, 33),                  # (35 >> 1) & 15 = 1 -> 2 << 4 | 1
    (1000, 111),               # bit length 10: exponent 6, (1000 >> 5) & 15 = 15 -> 96 + 15
])
def test_encode_sum_hand_examples(s, code):
    assert int(encode_sum(np.array(s))) == code


def test_encode_sum_saturates_at_511():
    # largest unsaturated: exponent 31 = bit length 35, all mantissa ones -> 511
    assert int(encode_sum(np.array((1 << 35) - 1))) == 511
    assert int(encode_sum(np.array(1 << 35))) == 511        # exponent 32 does not fit
    assert int(encode_sum(np.array(1 << 50))) == 511
    # just below: exponent 31, mantissa 0
    assert int(encode_sum(np.array(1 << 34))) == 31 << 4


def test_decode_sum_hand_examples():
    # code 111: exponent 6, mantissa 15: base (16 + 15) << 5 = 992, interval 32, centre 1008
    assert int(decode_sum(np.array(111), midpoint=False)) == 992
    assert int(decode_sum(np.array(111))) == 1008
    # code 16: exponent 1: base 16, interval 1 (exact)
    assert int(decode_sum(np.array(16))) == 16
    # code 32: exponent 2: base 32, interval 2, centre 33
    assert int(decode_sum(np.array(32))) == 33
    assert int(decode_sum(np.array(9))) == 9


def test_sum_code_round_trip_stays_in_the_codes_interval():
    s = np.concatenate([np.arange(0, 5000), np.int64(1) << np.arange(13, 35),
                        (np.int64(1) << np.arange(13, 35)) - 1])
    code = encode_sum(s)
    assert code.min() >= 0 and code.max() <= 511
    lo = decode_sum(code, midpoint=False)
    e = code >> 4
    width = np.where(e >= 2, np.int64(1) << np.maximum(e - 1, 0), 1)
    assert np.all(lo <= s) and np.all(s < lo + width)
    mid = decode_sum(code)
    assert np.all(np.abs(mid - s) <= width // 2)
    # codes are monotonic in the sum
    order = np.argsort(s, kind="stable")
    assert np.all(np.diff(code[order]) >= 0)


# ---------------------------------------------------------------- bandwidth

def test_input_bits_per_bx_is_48_cells_of_7_bits():
    assert input_bits_per_bx() == 336
    assert input_bits_per_bx(64) == 448
    assert input_bits_per_bx(48, 9) == 432


@pytest.mark.parametrize("bits, links", [(0, 0), (1, 1), (32, 1), (33, 2), (64, 2), (160, 5), (336, 11)])
def test_elinks_for_rounds_up_to_whole_32_bit_links(bits, links):
    assert elinks_for(bits) == links


def test_elinks_for_works_on_arrays():
    assert elinks_for(np.array([31, 32, 33, 416])).tolist() == [1, 1, 2, 13]
