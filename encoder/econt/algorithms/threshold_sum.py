"""Threshold sum (algorithm select 0): every trigger cell at or above its threshold, variable-size frames.

Rules (ECON-T emulator, cmantill/ECONT_Emulator ASICBlocks/Algorithms.py
``ThresholdSum``/``makeCHARGEQ`` and ASICBlocks/Formatter.py
``formatThresholdOutput``/``formatTruncatedOutput``; data types as
cmantill/econt_test-vectors Utils/unpack_utils.py ``TS_unpack`` reads them):

- Selection: TC i is sent when CALQ_i >= threshold_i (the 48 AlgoThreshold
  registers compare with the calibrated charge itself, before any dropped
  bits). Its charge goes out as the 4E3M code of CALQ_i >> drop_lsb.
  The charges are listed in TC order, taking only the selected TCs whose
  CALQ is not zero (a zero threshold selects empty cells: their address bit
  is set but no charge is listed, and the list is zero padded, as the
  emulator does).
- Module sums (5E3M, 8 bits): of all 48 CALQ (``use_sum`` 1), or of the
  CALQ below threshold, the sum not transmitted (``use_sum`` 0).
- Frame: 5-bit BX counter, 3-bit data type, 8-bit sum, then by the number
  of selected cells n:
  n = 0: type 0b000, nothing more (one word);
  n < 8: type 0b010, n in 3 bits, n 6-bit addresses, n 7-bit charges;
  n >= 8: type 0b100, the 48-bit address map (TC 0 first), n 7-bit charges.
  Zero padded to whole 16-bit words. Padding words after the frame are idle
  words: BX counter << 11 | tx_sync_word (11 bits).
- Truncated frame (what the buffer sends instead): BX counter, type 0b110,
  the 8-bit sum of all 48 CALQ; then one idle word.
"""

from __future__ import annotations

import numpy as np

from .buffer import FRAME_SLOTS, Formatted
from .codes import Frame, float_code, pack_fields, padded_rows

N_CELLS = 48
LOW_OCCUPANCY = 8           # below this many cells the frame lists 6-bit addresses, else a 48-bit map
TYPE_EMPTY, TYPE_LOW, TYPE_HIGH, TYPE_TRUNCATED = 0b000, 0b010, 0b100, 0b110
SYNC_BITS = 11


def select(calq: np.ndarray, thresholds, drop_lsb: int) -> dict:
    """Per BX: the selection map, the 7-bit charge codes listed in the frame, and both 8-bit sums."""
    q = np.asarray(calq, dtype=np.int64)
    sel = q >= np.asarray(thresholds, dtype=np.int64)[None, :]
    codes = float_code(q >> drop_lsb, 4, 3)
    listed = sel & (q > 0)
    return {
        "selected": sel,
        "codes": codes,
        "listed": listed,
        "sum_all": float_code(q.sum(axis=1), 5, 3),
        "sum_not_sent": float_code(np.where(sel, 0, q).sum(axis=1), 5, 3),
    }


def idle_word(bx_field: int, sync_word: int) -> int:
    return ((int(bx_field) & 0x1F) << SYNC_BITS) | (int(sync_word) & ((1 << SYNC_BITS) - 1))


def frame(bx_field: int, selected, codes, listed, module_sum: int) -> Frame:
    """One BX's frame (before padding)."""
    addrs = np.flatnonzero(selected)
    n = len(addrs)
    charges = list(codes[listed]) + [0] * max(0, n - int(listed.sum()))
    f = Frame().put(bx_field, 5)
    if n == 0:
        return f.put(TYPE_EMPTY, 3).put(module_sum, 8)
    if n < LOW_OCCUPANCY:
        f.put(TYPE_LOW, 3).put(module_sum, 8).put(n, 3).put_many(addrs, 6)
    else:
        f.put(TYPE_HIGH, 3).put(module_sum, 8).put_many(selected, 1)
    return f.put_many(charges[:n], 7)


def format_bx(calq, bx_field, thresholds, drop_lsb: int, use_sum: int, sync_word: int) -> Formatted:
    """Every BX's frame at once (``pack_fields``; the fields of ``frame``, which stays the reference)."""
    s = select(calq, thresholds, drop_lsb)
    sums = s["sum_all"] if use_sum else s["sum_not_sent"]
    sel, listed, codes = s["selected"], s["listed"], s["codes"]
    bx = np.asarray(bx_field, dtype=np.int64) & 0x1F
    n_bx = len(sums)
    n = sel.sum(axis=1)
    low, high = (n > 0) & (n < LOW_OCCUPANCY), n >= LOW_OCCUPANCY
    ftype = np.where(n == 0, TYPE_EMPTY, np.where(low, TYPE_LOW, TYPE_HIGH))
    cells = np.arange(N_CELLS)
    # a zero threshold selects empty cells: zero charges fill the list up to n, as in ``frame``
    missing = n - listed.sum(axis=1)
    values = np.column_stack([bx, ftype, sums, n, np.broadcast_to(cells, sel.shape), sel.astype(np.int64),
                              codes, np.zeros(sel.shape, dtype=np.int64)])
    widths = np.column_stack([np.full(n_bx, 5), np.full(n_bx, 3), np.full(n_bx, 8), np.where(low, 3, 0),
                              np.where(sel & low[:, None], 6, 0), np.where(high[:, None], 1, 0) * np.ones_like(sel),
                              np.where(listed, 7, 0), np.where(cells[None, :] < missing[:, None], 7, 0)])
    words, nwords = pack_fields(values, widths)
    idle = (bx << SYNC_BITS) | (int(sync_word) & ((1 << SYNC_BITS) - 1))
    trunc_first = (bx << 11) | (TYPE_TRUNCATED << 8) | s["sum_all"]
    return Formatted(padded_rows(words, nwords, idle, FRAME_SLOTS), nwords.tolist(),
                     list(zip(trunc_first.tolist(), idle.tolist())))
