"""The hardware input path, shared by training, golden model and RTL.

Charges in MIPs -> unsigned integer counts of the chip's input width ->
module sum -> normalisation by 2**-floor(log2(sum)) -> input codes of the
first layer; plus the module sum's float code that travels with the
latents. All functions are vectorised over modules (leading axis).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .ir.fixed import FixedFormat

# Bandwidth facts of the HGCAL trigger path.
INPUT_CODE_BITS = 7          # 4-bit exponent, 3-bit mantissa per TC charge
ELINK_BITS_PER_BX = 32       # 1.28 Gb/s at 40 MHz
BX_RATE_HZ = 40e6


def input_bits_per_bx(n_cells: int = 48, code_bits: int = INPUT_CODE_BITS) -> int:
    """Bits per crossing entering the concentrator (48 x 7 = 336 for HGCAL)."""
    return n_cells * code_bits


def elinks_for(bits_per_bx: int | np.ndarray) -> int | np.ndarray:
    """E-links (32 bits per crossing each) needed for a payload."""
    if np.ndim(bits_per_bx):
        return -(-np.asarray(bits_per_bx) // ELINK_BITS_PER_BX)
    return -(-int(bits_per_bx) // ELINK_BITS_PER_BX)


@dataclass(frozen=True)
class Counts:
    counts: np.ndarray      # (N, n_cells) int64
    n_clipped: int          # cells that hit the top of the input range


def to_counts(charges_mip: np.ndarray, counts_per_mip: float, bits: int) -> Counts:
    """Charges in MIPs -> unsigned integer counts (round half to even, clipped)."""
    c = np.asarray(charges_mip, dtype=np.float64)
    if np.any(~np.isfinite(c)) or np.any(c < 0):
        raise ValueError("charges must be finite and non-negative")
    q = np.rint(c * counts_per_mip)
    top = float((1 << bits) - 1)
    n_clipped = int(np.count_nonzero(q > top))
    return Counts(np.minimum(q, top).astype(np.int64), n_clipped)


def module_sum(counts: np.ndarray) -> np.ndarray:
    return np.asarray(counts, dtype=np.int64).sum(axis=-1)


def leading_one(s: np.ndarray) -> np.ndarray:
    """floor(log2(s)) for s >= 1, 0 for s == 0 (exact integer arithmetic)."""
    s = np.asarray(s, dtype=np.int64)
    out = np.zeros(s.shape, dtype=np.int64)
    v = s.copy()
    for step in (32, 16, 8, 4, 2, 1):
        big = v >= (np.int64(1) << step)
        out = out + np.where(big, step, 0)
        v = np.where(big, v >> step, v)
    return out


def normalise(counts: np.ndarray, fmt: FixedFormat, rounding: str,
              normalisation: str = "leading_one", shift: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Counts -> input codes x = counts * 2**(frac - m), rounded, saturated.

    m = floor(log2(module sum)) for ``leading_one``, ``shift`` for
    ``fixed_shift``. Returns (codes, m). Codes never exceed the format's
    top code (a single cell holding the whole sum can round up to 2.0).
    """
    counts = np.asarray(counts, dtype=np.int64)
    if normalisation == "leading_one":
        m = leading_one(module_sum(counts))
    elif normalisation == "fixed_shift":
        m = np.full(counts.shape[:-1], shift, dtype=np.int64)
    else:
        raise ValueError(f"unknown normalisation {normalisation!r}")
    # counts < 2**40 times a power of two is exact in float64, and so are
    # floor and rint (IEEE round half to even): no integer shift loops needed.
    scale = np.ldexp(1.0, (fmt.frac - m).astype(np.int32))[..., None]
    scaled = counts * scale
    if rounding == "floor":
        codes = np.floor(scaled)
    elif rounding == "half_even":
        codes = np.rint(scaled)
    elif rounding == "half_up":
        codes = np.floor(scaled + 0.5)
    else:
        raise ValueError(f"unknown rounding {rounding!r}")
    codes = np.minimum(codes, fmt.max_code).astype(np.int64)
    return codes, m


def normalised_float(counts: np.ndarray, normalisation: str = "leading_one", shift: int = 0) -> np.ndarray:
    """counts * 2**-m as float (exact): what the QKeras model receives before its input quantizer."""
    counts = np.asarray(counts, dtype=np.int64)
    m = leading_one(module_sum(counts)) if normalisation == "leading_one" else np.full(counts.shape[:-1], shift)
    return np.ldexp(counts.astype(np.float64), -m[..., None].astype(np.int32))


def encode_sum(s: np.ndarray, exp_bits: int = 5, mant_bits: int = 4) -> np.ndarray:
    """Module sum -> float code (exponent << mant_bits | mantissa), saturating.

    Sums below 2**mant_bits are sent as they are; above, the exponent is
    bit_length - mant_bits and the mantissa the mant_bits bits under the
    leading one (truncated). ECON-T: 5-bit exponent, 4-bit mantissa.
    """
    s = np.asarray(s, dtype=np.int64)
    n = leading_one(s) + 1                         # bit length for s >= 1
    small = s < (1 << mant_bits)
    e = n - mant_bits
    mant = (s >> np.maximum(n - mant_bits - 1, 0)) & ((1 << mant_bits) - 1)
    code = (e << mant_bits) | mant
    top = (1 << (exp_bits + mant_bits)) - 1
    code = np.where(e > (1 << exp_bits) - 1, top, code)
    return np.where(small, s, code).astype(np.int64)


def decode_sum(code: np.ndarray, exp_bits: int = 5, mant_bits: int = 4, midpoint: bool = True) -> np.ndarray:
    """Float code -> module sum (the centre of the code's interval with midpoint)."""
    code = np.asarray(code, dtype=np.int64)
    e = code >> mant_bits
    mant = code & ((1 << mant_bits) - 1)
    base = ((1 << mant_bits) + mant) << np.maximum(e - 1, 0)
    half = np.where(e >= 2, np.int64(1) << np.maximum(e - 2, 0), 0) if midpoint else 0
    return np.where(e == 0, code, base + half).astype(np.int64)
