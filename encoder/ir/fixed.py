"""Fixed-point formats and the integer operations on them.

A value with format (signed, bits, frac) is an integer code c standing for
c * 2**-frac. Every rounding and overflow rule the hardware may use is
spelled out here once, for NumPy int64 arrays; the golden model and the
RTL emitter both follow these definitions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ROUNDINGS = ("half_even", "floor", "half_up")
OVERFLOWS = ("saturate", "wrap")


@dataclass(frozen=True)
class FixedFormat:
    signed: bool
    bits: int
    frac: int

    def __post_init__(self):
        if not isinstance(self.bits, int) or not 1 <= self.bits <= 64:
            raise ValueError(f"fixed-point bits must be an integer in 1..64, got {self.bits!r}")
        if not isinstance(self.frac, int):
            raise ValueError(f"fixed-point frac must be an integer, got {self.frac!r}")

    @property
    def integer(self) -> int:
        """Integer bits, sign included (hls4ml's ap_fixed<W, I> I)."""
        return self.bits - self.frac

    @property
    def min_code(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def max_code(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    @property
    def lsb(self) -> float:
        return 2.0 ** -self.frac

    def to_dict(self) -> dict:
        return {"signed": self.signed, "bits": self.bits, "frac": self.frac}

    @classmethod
    def from_dict(cls, d: dict, where: str = "format") -> "FixedFormat":
        try:
            signed, bits, frac = d["signed"], d["bits"], d["frac"]
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{where}: needs signed, bits and frac ({exc})") from None
        if not isinstance(signed, bool):
            raise ValueError(f"{where}.signed: must be true or false, got {signed!r}")
        try:
            return cls(signed, bits, frac)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None

    def __str__(self) -> str:
        kind = "s" if self.signed else "u"
        return f"{kind}{self.bits}.{self.frac}"


def bits_for_range(lo: int, hi: int) -> tuple[bool, int]:
    """Smallest (signed, bits) two's-complement or unsigned type holding [lo, hi]."""
    lo, hi = int(lo), int(hi)
    if lo > hi:
        raise ValueError(f"empty range [{lo}, {hi}]")
    if lo >= 0:
        return False, max(1, hi.bit_length())
    need = max((-lo - 1).bit_length(), hi.bit_length() if hi > 0 else 0)
    return True, need + 1


def shift_round(x: np.ndarray, shift: int, rounding: str) -> np.ndarray:
    """x * 2**-shift rounded to an integer (shift >= 0), or x << -shift.

    ``floor`` is an arithmetic right shift (truncation towards -inf),
    ``half_even`` is TensorFlow's tf.round on the exact quotient,
    ``half_up`` adds half an LSB then floors.
    """
    x = np.asarray(x, dtype=np.int64)
    if shift <= 0:
        return x << (-shift)
    if rounding == "floor":
        return x >> shift
    half = np.int64(1) << (shift - 1)
    if rounding == "half_up":
        return (x + half) >> shift
    if rounding == "half_even":
        q = x >> shift
        rem = x - (q << shift)
        up = (rem > half) | ((rem == half) & ((q & 1) == 1))
        return q + up
    raise ValueError(f"unknown rounding {rounding!r}; choose one of {ROUNDINGS}")


def apply_overflow(x: np.ndarray, fmt: FixedFormat, overflow: str) -> np.ndarray:
    """Bring integer codes into fmt's range by saturation or two's-complement wrap."""
    x = np.asarray(x, dtype=np.int64)
    if overflow == "saturate":
        return np.clip(x, fmt.min_code, fmt.max_code)
    if overflow == "wrap":
        mask = (np.int64(1) << fmt.bits) - 1
        y = x & mask
        if fmt.signed:
            y = np.where(y > fmt.max_code, y - (np.int64(1) << fmt.bits), y)
        return y
    raise ValueError(f"unknown overflow {overflow!r}; choose one of {OVERFLOWS}")


def requantize(x: np.ndarray, frac_in: int, fmt: FixedFormat, rounding: str, overflow: str) -> np.ndarray:
    """Codes at frac_in -> codes of fmt (rounding, then overflow handling)."""
    return apply_overflow(shift_round(x, frac_in - fmt.frac, rounding), fmt, overflow)
