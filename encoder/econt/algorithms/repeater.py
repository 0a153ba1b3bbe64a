"""Repeater (algorithm select 3): every trigger cell's charge, as many words of it as the e-links carry.

Rules (ECON-T emulator, cmantill/ECONT_Emulator ASICBlocks/Algorithms.py
``Repeater``, ASICBlocks/Formatter.py ``formatRepeaterOutput``/
``Format_Repeater``; the layout as cmantill/econt_test-vectors
Utils/unpack_utils.py ``Repeater_unpack`` reads it):

- Charges: the 4E3M code of CALQ_i >> drop_lsb for all 48 cells, in cell
  order (after the mux).
- Frame: 5-bit BX counter, then the 48 7-bit codes (341 bits, zero padded
  to 22 words). The frame always takes 2N words of the buffer: with fewer
  than 11 e-links only its first 2N words leave, with more the rest are
  padding words (0).
"""

from __future__ import annotations

import numpy as np

from .buffer import FRAME_SLOTS, Formatted
from .codes import Frame, float_code


def format_bx(calq, bx_field, drop_lsb: int, n_elinks: int) -> Formatted:
    codes = float_code(np.asarray(calq, dtype=np.int64) >> drop_lsb, 4, 3)
    words = []
    for i in range(len(codes)):
        w = Frame().put(bx_field[i], 5).put_many(codes[i], 7).words()
        words.append((w + [0] * FRAME_SLOTS)[:FRAME_SLOTS])
    return Formatted(words, [2 * n_elinks] * len(codes), [(0, 0)] * len(codes))
