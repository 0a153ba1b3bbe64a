"""Super trigger cells (algorithm select 1): sums of 4 or 16 neighbouring cells, with the maximum's position.

Rules (ECON-T emulator, cmantill/ECONT_Emulator ASICBlocks/Algorithms.py
``SuperTriggerCell``, ASICBlocks/supertriggercell.py,
ASICBlocks/Formatter.py ``formatSTC_4_9``/``formatSTC_16_9``/
``formatSTC_4_7``/``formatCTC_4_7``/``Format_SuperTriggerCell``):

- Groups are consecutive cells after the mux: 12 groups of 4 (cells
  4k..4k+3) or 3 groups of 16 (cells 16k..16k+15). Each group gives the
  sum S of its cells' CALQ and the position of its largest CALQ, sent as
  (size - 1) - index of the first largest cell (the emulator's output words
  carry the position counted from the group's last cell: 3 for cell 4k on
  ties, checked on every BX of the STC_type0_eTx3 vectors).
- 9-bit sums (types 0, 1) are the 5E4M code of S itself; 7-bit sums (types
  2, 3) the 4E3M code of S >> drop_lsb (the shift after the sum: the
  emulator's encode drops bits from its argument; the 9-bit sums of the
  STC_type0_eTx3 vectors carry no dropped bits although drop_lsb is 3).
- ``stc_type`` selects what is sent:
  0  STC4_9: 4-cell groups, 2-bit positions, 9-bit (5E4M) sums;
  1  STC16_9: 16-cell groups, 4-bit positions, 9-bit (5E4M) sums;
  2  CTC4_7: 4-cell groups, sums only, 7-bit (4E3M);
  3  STC4_7: 4-cell groups, 2-bit positions, 7-bit (4E3M) sums.
- The first k groups are sent, k set by the e-links (table ``GROUPS_SENT``);
  with more e-links than a type uses (type 0: 5, 1: 2, 2: 3, 3: 4) the
  emulator sends nothing: the frame is empty and takes 2 words of zeros.
- Frame: the 4-bit BX header (as best choice), the k positions, then the k
  sums; zero padded to whole 32-bit words. Padding words are 0.
"""

from __future__ import annotations

import numpy as np

from .best_choice import header4
from .buffer import FRAME_SLOTS, Formatted
from .codes import float_code, pack_fields, padded_rows

# stc_type -> (cells per group, position bits, (exponent, mantissa) bits of the sum, sends positions)
TYPES = {
    0: (4, 2, (5, 4), True),
    1: (16, 4, (5, 4), True),
    2: (4, 0, (4, 3), False),
    3: (4, 2, (4, 3), True),
}
TYPE_NAMES = {0: "STC4_9", 1: "STC16_9", 2: "CTC4_7", 3: "STC4_7"}
# stc_type -> groups sent on 1, 2, 3, ... e-links; past the end of a row the type sends nothing.
GROUPS_SENT = {
    0: (2, 5, 8, 11, 12),
    1: (2, 3),
    2: (4, 8, 12),
    3: (3, 6, 10, 12),
}
EMPTY_FRAME_WORDS = 2


def groups(calq, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(BX, 48) -> per group the CALQ sum and the sent position of the largest cell."""
    c = np.asarray(calq, dtype=np.int64).reshape(len(calq), -1, size)
    return c.sum(axis=2), (size - 1) - c.argmax(axis=2)


def sum_codes(sums, drop_lsb: int, exp_bits: int, mant_bits: int) -> np.ndarray:
    """9-bit (5E4M) sums carry every bit; 7-bit (4E3M) sums drop drop_lsb bits after the sum."""
    s = np.asarray(sums, dtype=np.int64)
    return float_code(s if exp_bits + mant_bits == 9 else s >> drop_lsb, exp_bits, mant_bits)


def n_groups_sent(stc_type: int, n_elinks: int) -> int:
    row = GROUPS_SENT[stc_type]
    return row[n_elinks - 1] if n_elinks <= len(row) else 0


def format_bx(calq, bx_field, drop_lsb: int, stc_type: int, n_elinks: int) -> Formatted:
    """Every BX's frame at once (``pack_fields``), aligned to 32 bits."""
    size, pos_bits, (e_bits, m_bits), with_pos = TYPES[stc_type]
    sums, pos = groups(calq, size)
    codes = sum_codes(sums, drop_lsb, e_bits, m_bits)
    k = n_groups_sent(stc_type, n_elinks)
    n_bx = len(codes)
    if k == 0:
        return Formatted([[0] * FRAME_SLOTS for _ in range(n_bx)], [EMPTY_FRAME_WORDS] * n_bx, [(0, 0)] * n_bx)
    bx = np.asarray(bx_field, dtype=np.int64).tolist()
    cols = [np.array([header4(b) for b in bx], dtype=np.int64).reshape(n_bx, 1)]
    widths = [np.full((n_bx, 1), 4)]
    if with_pos:
        cols.append(pos[:, :k])
        widths.append(np.full((n_bx, k), pos_bits))
    cols.append(codes[:, :k])
    widths.append(np.full((n_bx, k), e_bits + m_bits))
    words, nwords = pack_fields(np.hstack(cols), np.hstack(widths), align=32)
    return Formatted(padded_rows(words, nwords, 0, FRAME_SLOTS), nwords.tolist(), [(0, 0)] * n_bx)
