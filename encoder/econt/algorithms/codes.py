"""The chip's number codes and the packing of a frame into 16-bit words.

Float codes (ECON-T emulator, cmantill/ECONT_Emulator Utils/encode.py as
used in ASICBlocks/Algorithms.py and ASICBlocks/Formatter.py): a value v
with ``e`` exponent and ``m`` mantissa bits is sent as v itself while
v < 2^m; otherwise, with n the bit length of v, the exponent is n - m and
the mantissa the m bits below the leading one. A value whose exponent does
not fit saturates to the all-ones code. The chip uses:

- 4E3M (7 bits) for trigger-cell charges (threshold sum, best choice,
  repeater) and for the 4-cell sums of STC types 2 and 3;
- 5E3M (8 bits) for the threshold-sum and best-choice module sums;
- 5E4M (9 bits) for the 4- and 16-cell sums of STC types 0 and 1.

A frame is built most significant field first (the emulator concatenates
bit strings) and cut into 16-bit words, the first word first, zero padded
at the end to a whole number of words.
"""

from __future__ import annotations

import numpy as np

WORD_BITS = 16


def bit_length(values) -> np.ndarray:
    """Bit length of non-negative integers below 2^53 (frexp is exact there)."""
    v = np.asarray(values, dtype=np.int64)
    _, e = np.frexp(v.astype(np.float64))
    return np.where(v > 0, e, 0).astype(np.int64)


def float_code(values, exp_bits: int, mant_bits: int) -> np.ndarray:
    """Non-negative integers -> (exp_bits + mant_bits)-bit float codes, saturating."""
    v = np.asarray(values, dtype=np.int64)
    if v.size and v.min() < 0:
        raise ValueError("float codes take non-negative values")
    n = bit_length(v)
    exp = np.maximum(n - mant_bits, 0)
    mant = np.where(exp > 0, (v >> np.maximum(n - mant_bits - 1, 0)) & ((1 << mant_bits) - 1), v)
    code = (exp << mant_bits) | mant
    return np.where(exp >= (1 << exp_bits), (1 << (exp_bits + mant_bits)) - 1, code)


def float_decode(codes, mant_bits: int) -> np.ndarray:
    """The lowest value of each code's range (the inverse of ``float_code`` below saturation)."""
    c = np.asarray(codes, dtype=np.int64)
    e, m = c >> mant_bits, c & ((1 << mant_bits) - 1)
    return np.where(e == 0, m, ((1 << mant_bits) + m) << np.maximum(e - 1, 0))


class Frame:
    """A frame built field by field, most significant first: an integer and its width in bits."""

    __slots__ = ("value", "bits")

    def __init__(self):
        self.value = 0
        self.bits = 0

    def put(self, value: int, width: int) -> "Frame":
        if width:
            self.value = (self.value << width) | (int(value) & ((1 << width) - 1))
            self.bits += width
        return self

    def put_many(self, values, width: int) -> "Frame":
        for v in values:
            self.put(v, width)
        return self

    def truncate(self, bits: int) -> "Frame":
        """Keep the first ``bits`` bits (the most significant)."""
        if bits < self.bits:
            self.value >>= self.bits - bits
            self.bits = bits
        return self

    def words(self, align: int = WORD_BITS) -> list[int]:
        """Zero pad to a multiple of ``align`` bits, then cut into 16-bit words, first word first."""
        pad = -self.bits % align
        value, bits = self.value << pad, self.bits + pad
        n = bits // WORD_BITS
        return [(value >> (WORD_BITS * (n - 1 - i))) & 0xFFFF for i in range(n)]
