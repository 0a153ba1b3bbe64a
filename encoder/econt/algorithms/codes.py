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
at the end to a whole number of words. ``Frame`` builds one frame field by
field (the reference); ``pack_fields`` builds the frames of many BXs at
once from arrays of fields, which the formatters use.
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


PACK_CHUNK = 4096           # rows packed at once (bounds the bit arrays' memory)


def pack_fields(values, widths, align: int = WORD_BITS) -> tuple[np.ndarray, np.ndarray]:
    """``Frame`` for many frames at once: per row the fields of ``widths`` bits, most significant first.

    ``values`` and ``widths`` are (rows, fields); a field of width 0 is left
    out, so rows may hold different fields (a frame lists only some cells).
    Each row is zero padded to a multiple of ``align`` bits and cut into
    16-bit words. Returns the words (rows, most words of any row; zeros past
    a row's end) and each row's number of words.
    """
    v = np.asarray(values, dtype=np.int64)
    w = np.asarray(widths, dtype=np.int64)
    if v.shape != w.shape or v.ndim != 2:
        raise ValueError(f"values and widths must be (rows, fields) of one shape, got {v.shape} and {w.shape}")
    n_rows = len(v)
    nbits = w.sum(axis=1)
    nwords = (-(-nbits // align) * align) // WORD_BITS
    words = np.zeros((n_rows, int(nwords.max(initial=0))), dtype=np.int64)
    wmax = int(w.max(initial=0))
    if wmax == 0:
        return words, nwords
    shifts = np.arange(wmax - 1, -1, -1, dtype=np.int64)
    weights = 1 << np.arange(WORD_BITS - 1, -1, -1, dtype=np.int64)
    for s in range(0, n_rows, PACK_CHUNK):
        vv, ww = v[s:s + PACK_CHUNK], w[s:s + PACK_CHUNK]
        bits = ((vv[:, :, None] >> shifts) & 1).astype(np.uint8).reshape(len(vv), -1)
        keep = (shifts[None, None, :] < ww[:, :, None]).reshape(len(vv), -1)   # the low `width` bits
        pos = np.cumsum(keep, axis=1) - 1
        out = np.zeros((len(vv), WORD_BITS * words.shape[1]), dtype=np.int64)
        r, c = np.nonzero(keep)
        out[r, pos[r, c]] = bits[r, c]
        words[s:s + PACK_CHUNK] = out.reshape(len(vv), -1, WORD_BITS) @ weights
    return words, nwords


def padded_rows(words: np.ndarray, nwords: np.ndarray, fill, slots: int) -> list[list[int]]:
    """Per row the frame's words followed by ``fill`` (a value or one per row) up to ``slots`` words."""
    n_rows = len(words)
    width = max(slots, words.shape[1])
    out = np.empty((n_rows, width), dtype=np.int64)
    out[:] = np.asarray(fill, dtype=np.int64).reshape(-1, 1) if np.ndim(fill) else fill
    cols = np.arange(words.shape[1])
    inside = cols[None, :] < nwords[:, None]
    out[:, :words.shape[1]] = np.where(inside, words, out[:, :words.shape[1]])
    keep = np.maximum(slots, nwords)
    return [row[:k] for row, k in zip(out.tolist(), keep.tolist())]
