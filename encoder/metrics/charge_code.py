"""Small floating-point codes for charges, as the ECON-T chip uses them.

A code of ``exp_bits`` + ``mant_bits`` bits holds an unsigned integer v
(after dropping ``drop_bits`` low bits): v < 2**mant_bits is sent as it is
(exponent 0); otherwise the exponent is bit_length(v) - mant_bits and the
mantissa the ``mant_bits`` bits under the leading one (truncated). The top
code saturates. Decoding restores the leading one, shifts back and, with
``midpoint``, adds half of the dropped range.

Two instances matter here:
- ``TC_CODE``: the chip's 7-bit trigger-cell charge code (4-bit exponent,
  3-bit mantissa) of a high-density module, whose decoder drops 3 bits.
  The decoding rule is the one verified against the chip's test vectors
  (shared econt_vectors README); the tests check it against them.
- the module-sum codes of ``encoder.inputpath`` (9-bit, 5e4m) belong to
  the same family with no dropped bits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..inputpath import encode_sum


@dataclass(frozen=True)
class FloatCode:
    exp_bits: int
    mant_bits: int
    drop_bits: int = 0
    midpoint: bool = True

    @property
    def bits(self) -> int:
        return self.exp_bits + self.mant_bits

    @property
    def top_code(self) -> int:
        return (1 << self.bits) - 1

    def encode(self, counts) -> np.ndarray:
        """Non-negative integer counts -> codes (saturating at the top code)."""
        c = np.asarray(counts)
        if not np.issubdtype(c.dtype, np.integer):
            if np.any(c != np.floor(c)):
                raise ValueError("charge codes take integer counts")
            c = c.astype(np.int64)
        if np.any(c < 0):
            raise ValueError("charge codes take non-negative counts")
        v = c.astype(np.int64) >> self.drop_bits
        return encode_sum(v, self.exp_bits, self.mant_bits)

    def decode(self, codes) -> np.ndarray:
        """Codes -> integer counts (the centre of each code's interval with ``midpoint``)."""
        code = np.asarray(codes, dtype=np.int64)
        if np.any((code < 0) | (code > self.top_code)):
            raise ValueError(f"codes must lie in [0, {self.top_code}]")
        e = code >> self.mant_bits
        m = code & ((1 << self.mant_bits) - 1)
        d = np.where(e == 0, m, ((1 << self.mant_bits) + m) << np.maximum(e - 1, 0))
        d = d << self.drop_bits
        if self.midpoint:
            s = np.maximum(e - 1, 0) + self.drop_bits
            d = d + np.where(s > 0, np.int64(1) << np.maximum(s - 1, 0), 0)
        return d.astype(np.int64)

    def roundtrip(self, counts) -> np.ndarray:
        return self.decode(self.encode(counts))


TC_CODE = FloatCode(exp_bits=4, mant_bits=3, drop_bits=3)     # 7-bit TC charge, high-density module


@dataclass(frozen=True)
class ChargeCoding:
    """How a baseline turns charges in MIPs into codes and back.

    Charges become integer counts (``counts_per_mip`` per MIP, rounded half
    to even, as the encoder's input path does), each transmitted charge is
    ``code``-encoded, and the receiver decodes it to counts and divides by
    ``counts_per_mip``.
    """

    counts_per_mip: float = 35.0
    code: FloatCode = TC_CODE

    @property
    def bits(self) -> int:
        return self.code.bits

    def to_counts(self, charges_mip) -> np.ndarray:
        return np.rint(np.asarray(charges_mip, dtype=np.float64) * self.counts_per_mip).astype(np.int64)

    def received_mip(self, counts) -> np.ndarray:
        """What the receiver reconstructs from transmitted counts, in MIPs."""
        return self.code.roundtrip(counts) / self.counts_per_mip
