"""Bits per bunch crossing of each algorithm, e-links and compression.

Output formats (bits per BX per module). Where the public ECON-T
description gives no field width, the width below is this kit's choice;
the choices reproduce the ECON-T best-choice table exactly (for every
e-link count the table's N is the largest number of cells whose format
fits 32 bits per e-link), which the tests check.

- Threshold: 4-bit header, 8-bit module-sum code (5-bit exponent, 3-bit
  mantissa) of all cells, a 1-bit address-format flag, then either a 3-bit
  count and a 6-bit address per kept cell (at most 7 cells, when shorter
  than the map) or a 48-bit map; then one 7-bit charge code per kept cell.
  Variable size.
- Best choice (N cells): 4-bit header, 8-bit module-sum code, addresses
  (6 bits per cell or the 48-bit map, whichever is shorter; N is fixed so no
  flag is needed), N 7-bit charge codes. Fixed size.
- Super trigger cells: 4-bit header, then per group a charge code of the
  group sum and the position of its largest cell (2 bits for groups of 4,
  4 bits for groups of 16). The sums carry the module sum. Fixed size.
- Autoencoder, two conventions:
  ``"header"``: 4-bit header + 9-bit module-sum code + n_latent x bits;
  ``"econt"``: the chip's framing, 5-bit BX counter + 9-bit module-sum code
  + the latent field (the chip sends min(18 + 32 (N - 1), 146) latent bits
  on N e-links; ``econt_latent_field_bits``).
For another geometry, 48 becomes the number of cells and 6 bits
ceil(log2(n_cells)).
"""

from __future__ import annotations

import math

import numpy as np

from ..inputpath import ELINK_BITS_PER_BX, INPUT_CODE_BITS, elinks_for, input_bits_per_bx
from .charge_code import FloatCode

HEADER_BITS = 4
BASELINE_SUM_CODE = FloatCode(exp_bits=5, mant_bits=3)    # 8 bits
AE_SUM_BITS = 9                                           # 5-bit exponent, 4-bit mantissa
ECONT_BX_COUNTER_BITS = 5
THRESHOLD_FORMAT_FLAG_BITS = 1
THRESHOLD_COUNT_BITS = 3                                  # address list of at most 7 cells
TC_CHARGE_BITS = 7


def address_bits(n_cells: int = 48) -> int:
    return max(1, math.ceil(math.log2(n_cells)))


def position_bits(group_size: int) -> int:
    return max(0, math.ceil(math.log2(group_size)))


def best_choice_bits(n_keep: int, n_cells: int = 48, charge_bits: int = TC_CHARGE_BITS) -> int:
    """Fixed size of a best-choice word keeping ``n_keep`` cells."""
    addresses = min(n_keep * address_bits(n_cells), n_cells)
    return HEADER_BITS + BASELINE_SUM_CODE.bits + addresses + n_keep * charge_bits


def best_choice_n_for_elinks(n_elinks: int, n_cells: int = 48, charge_bits: int = TC_CHARGE_BITS) -> int:
    """The largest number of cells whose best-choice word fits ``n_elinks`` e-links."""
    budget = n_elinks * ELINK_BITS_PER_BX
    fitting = [n for n in range(n_cells + 1) if best_choice_bits(n, n_cells, charge_bits) <= budget]
    return max(fitting) if fitting else 0


def threshold_bits(n_kept, n_cells: int = 48, charge_bits: int = TC_CHARGE_BITS) -> np.ndarray:
    """Size of each threshold word given the number of kept cells (vectorised)."""
    n = np.asarray(n_kept, dtype=np.int64)
    listed = THRESHOLD_COUNT_BITS + n * address_bits(n_cells)
    use_list = (n < (1 << THRESHOLD_COUNT_BITS)) & (listed < n_cells)
    addresses = np.where(use_list, listed, n_cells)
    return (HEADER_BITS + BASELINE_SUM_CODE.bits + THRESHOLD_FORMAT_FLAG_BITS
            + addresses + n * charge_bits)


def stc_bits(n_groups: int, group_size: int, charge_bits: int = TC_CHARGE_BITS) -> int:
    return HEADER_BITS + n_groups * (charge_bits + position_bits(group_size))


def autoencoder_bits(n_latent: int, latent_bits: int, convention: str = "header") -> int:
    """Bits per BX of an autoencoder word (see the module docstring for the conventions)."""
    payload = n_latent * latent_bits
    if convention == "header":
        return HEADER_BITS + AE_SUM_BITS + payload
    if convention == "econt":
        return ECONT_BX_COUNTER_BITS + AE_SUM_BITS + payload
    raise ValueError(f"unknown convention {convention!r}; choose 'header' or 'econt'")


def econt_latent_field_bits(n_elinks: int) -> int:
    """Latent bits the ECON-T frame carries on ``n_elinks`` e-links."""
    return min(18 + ELINK_BITS_PER_BX * (n_elinks - 1), 146)


def latent_bits_for_elinks(n_elinks: int, n_latent: int = 16, convention: str = "header",
                           max_bits: int = 9) -> int:
    """The widest latent (up to ``max_bits``) whose word fits ``n_elinks`` e-links; 0 if none."""
    budget = n_elinks * ELINK_BITS_PER_BX
    fitting = [b for b in range(1, max_bits + 1) if autoencoder_bits(n_latent, b, convention) <= budget]
    return max(fitting) if fitting else 0


def compression_ratio(bits, n_cells: int = 48, code_bits: int = INPUT_CODE_BITS):
    """Input bits per BX (48 x 7 = 336 for HGCAL) over output bits per BX."""
    return input_bits_per_bx(n_cells, code_bits) / np.asarray(bits, dtype=np.float64)


def summarize(bits, n_elinks: int | None = None, n_cells: int = 48) -> dict:
    """Bandwidth figures of one algorithm from its bits per BX per module.

    Mean, median, 99th percentile and maximum bits; e-links needed to carry
    the mean, the 99th percentile and the maximum; with ``n_elinks`` the
    budget and the fraction of crossings over it; the compression ratio of
    the mean against the uncompressed input.
    """
    b = np.atleast_1d(np.asarray(bits, dtype=np.float64))
    if b.size == 0:
        raise ValueError("no modules to summarise")
    mean, p99, top = float(b.mean()), float(np.percentile(b, 99)), float(b.max())
    out = {
        "modules": int(b.size),
        "fixed_size": bool(np.all(b == b[0])),
        "bits_mean": mean,
        "bits_median": float(np.median(b)),
        "bits_p99": p99,
        "bits_max": top,
        "elinks_mean": int(elinks_for(math.ceil(mean))),
        "elinks_p99": int(elinks_for(math.ceil(p99))),
        "elinks_max": int(elinks_for(math.ceil(top))),
        "input_bits": input_bits_per_bx(n_cells),
        "compression_ratio": float(input_bits_per_bx(n_cells) / mean),
    }
    if n_elinks is not None:
        budget = n_elinks * ELINK_BITS_PER_BX
        out["n_elinks"] = int(n_elinks)
        out["budget_bits"] = int(budget)
        out["fraction_over_budget"] = float(np.mean(b > budget))
    return out
