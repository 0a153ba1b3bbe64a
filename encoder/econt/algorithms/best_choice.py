"""Best choice (algorithm select 2): the highest trigger cells, as many as the e-links carry.

Rules (ECON-T emulator, cmantill/ECONT_Emulator ASICBlocks/Algorithms.py
``BestChoice``, bestchoice.py ``sorter``/``batcher_sort``,
ASICBlocks/Formatter.py ``formatBestChoiceOutput``/``Format_BestChoice``,
Utils/linkAllocation.py ``tcPerLink``):

- Charges c_i = CALQ_i >> drop_lsb are sorted, highest first, by Batcher's
  odd-even merge network over the 48 cells (Knuth's Algorithm M with
  t = 6): a comparator swaps its pair only when the lower position holds
  the strictly smaller value. Ties are therefore ordered by the network, not
  by address, and that decides which cells are sent when a tie straddles
  the cut (many empty cells tie at zero).
- The first n = TC_PER_LINKS[N] sorted cells are sent for N e-links.
- Module sum (5E3M, 8 bits) of the sorted c: all 48 (``use_sum`` 1) or the
  ones not sent (``use_sum`` 0).
- Frame: the 4-bit BX header (bit 4 and bits 2..0 of the 5-bit BX counter:
  15 on the reset BX, the counter mod 8 otherwise), the 8-bit sum, then the
  addresses of the sent cells in ascending order: 6 bits each when n < 8
  (padded with address 0 up to n), else the 48-bit map (TC 0 first); then
  the 4E3M codes of the sent cells' c in address order, leaving out cells
  whose c is zero. Zero padded to 16-bit words; the frame always takes 2N
  words of the buffer (25 with 13 e-links), its padding words are 0.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .buffer import FRAME_SLOTS, Formatted
from .codes import Frame, float_code, pack_fields, padded_rows

N_CELLS = 48
# Cells sent for 0..13 e-links (Utils/linkAllocation.py tcPerLink): the most that fit 32N bits.
TC_PER_LINKS = (0, 1, 4, 6, 9, 14, 18, 23, 28, 32, 37, 41, 46, 48)
ADDRESS_LIST_BELOW = 8


@lru_cache(maxsize=None)
def comparators(n: int = N_CELLS) -> tuple[tuple[int, int], ...]:
    """The (i, i + d) pairs of Batcher's merge-exchange sort for n keys, in order (Knuth 5.2.2 M)."""
    t = max(1, (n - 1).bit_length())
    pairs = []
    p = 1 << (t - 1)
    while p >= 1:
        q, r, d = 1 << (t - 1), 0, p
        while q >= p:
            pairs += [(i, i + d) for i in range(n - d) if i & p == r]
            d, q, r = q - p, q >> 1, p
        p >>= 1
    return tuple(pairs)


def sort_desc(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(BX, 48) -> sorted values and their addresses, highest first, ties as the network leaves them."""
    v = np.array(values, dtype=np.int64)
    a = np.broadcast_to(np.arange(v.shape[1], dtype=np.int64), v.shape).copy()
    for i, j in comparators(v.shape[1]):
        swap = v[:, i] < v[:, j]
        if swap.any():
            vi, ai = v[swap, i], a[swap, i]
            v[swap, i], a[swap, i] = v[swap, j], a[swap, j]
            v[swap, j], a[swap, j] = vi, ai
    return v, a


def header4(bx_field: int) -> int:
    """The 4-bit BX header of best choice and STC frames: bit 4, then bits 2..0 of the 5-bit counter."""
    b = int(bx_field)
    return ((b >> 4) & 1) << 3 | (b & 7)


def frame_words(n_elinks: int) -> int:
    return 2 * n_elinks if n_elinks < 13 else 25


def frame(bx_field: int, sorted_q, sorted_addr, n_sent: int, module_sum: int) -> Frame:
    sent = np.zeros(N_CELLS, dtype=bool)
    q = np.zeros(N_CELLS, dtype=np.int64)
    sent[sorted_addr[:n_sent]] = True
    q[sorted_addr[:n_sent]] = sorted_q[:n_sent]
    f = Frame().put(header4(bx_field), 4).put(module_sum, 8)
    if n_sent < ADDRESS_LIST_BELOW:
        addrs = list(np.flatnonzero(sent))
        f.put_many(addrs + [0] * (n_sent - len(addrs)), 6)
    else:
        f.put_many(sent, 1)
    return f.put_many(float_code(q[q > 0], 4, 3), 7)


def format_bx(calq, bx_field, drop_lsb: int, use_sum: int, n_elinks: int) -> Formatted:
    """Every BX's frame at once (``pack_fields``; the fields of ``frame``, which stays the reference)."""
    c = np.asarray(calq, dtype=np.int64) >> drop_lsb
    n_bx = len(c)
    sq, sa = sort_desc(c)
    n_sent = TC_PER_LINKS[n_elinks]
    sums = float_code((sq if use_sum else sq[:, n_sent:]).sum(axis=1), 5, 3)
    sent = np.zeros(c.shape, dtype=bool)
    np.put_along_axis(sent, sa[:, :n_sent], True, axis=1)
    q = np.where(sent, c, 0)
    bx = np.asarray(bx_field, dtype=np.int64)
    head = [np.array([header4(b) for b in bx.tolist()], dtype=np.int64).reshape(n_bx), sums]
    if n_sent < ADDRESS_LIST_BELOW:
        addr = np.sort(sa[:, :n_sent], axis=1)
        addr_w = np.full(addr.shape, 6)
    else:
        addr, addr_w = sent.astype(np.int64), np.ones(c.shape, dtype=np.int64)
    values = np.column_stack(head + [addr, float_code(q, 4, 3)])
    widths = np.column_stack([np.full(n_bx, 4), np.full(n_bx, 8), addr_w, np.where(q > 0, 7, 0)])
    words, nwords = pack_fields(values, widths)
    numw = frame_words(n_elinks)
    return Formatted(padded_rows(words, nwords, 0, FRAME_SLOTS), [numw] * n_bx, [(0, 0)] * n_bx)
