"""The back end's side: the chip's output words -> per BX the cells and codes it sent.

Written from the frame formats of ``threshold_sum``, ``stc`` and
``best_choice`` (docs/econt_algorithms.md has the table); the tests build
frames by hand, so a format change on either side shows.

- ``words16``: the e-link words of every BX as the buffer emits them, word
  2k of a BX in the upper half of e-link k's 32-bit word.
- ``threshold_sum``: the 16-bit word stream holds variable-size frames back
  to back; between them the buffer sends idle words (when it runs dry) and
  a truncated frame's idle word. A frame starts at a word whose 5-bit BX
  equals the next expected BX and whose 3-bit type is a frame type; other
  words are skipped (idle words carry type 0b001 with the kit's sync
  pattern 0x122, and the previous frame's BX), as the test-vector unpacker
  (cmantill/econt_test-vectors Utils/unpack_utils.py) skips them.
- ``best_choice`` and ``stc``: one frame of fixed size per BX at the start of
  the BX's 2N words (the buffer never holds them back while T1 >= the
  frame size), unpacked for all BXs at once from the bits.

Every unpacker returns per BX the 48 codes in chip-cell order (0 where
nothing was sent) and what else the frame carries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .best_choice import ADDRESS_LIST_BELOW, TC_PER_LINKS, header4
from .stc import TYPES, n_groups_sent
from .threshold_sum import LOW_OCCUPANCY, TYPE_EMPTY, TYPE_HIGH, TYPE_LOW, TYPE_TRUNCATED

N_CELLS = 48
TYPE_TRUNCATED_T2 = TYPE_TRUNCATED | 1
FRAME_TYPES = (TYPE_EMPTY, TYPE_LOW, TYPE_HIGH, TYPE_TRUNCATED, TYPE_TRUNCATED_T2)
MAX_BODY_WORDS = -(-(N_CELLS + 7 * N_CELLS) // 16)      # a threshold-sum frame after its first word


@dataclass
class Unpacked:
    codes: np.ndarray          # (BX, 48) charge codes (or STC sum codes on a group's sent cell), chip-cell order
    sent: np.ndarray           # (BX, 48) True where the frame names the cell (address or STC position)
    sum_code: np.ndarray       # (BX,) 8-bit module-sum code (-1 where the format has none)
    frame_type: np.ndarray     # (BX,) threshold-sum data type (-1 for other algorithms)
    frame_words: np.ndarray    # (BX,) 16-bit words the frame took in the stream


def words16(tx_words: np.ndarray) -> np.ndarray:
    """(BX, N) 32-bit e-link words -> (BX, 2N) 16-bit words in the order the buffer emitted them."""
    w = np.asarray(tx_words, dtype=np.int64)
    return np.stack([(w >> 16) & 0xFFFF, w & 0xFFFF], axis=2).reshape(len(w), -1)


def _bits(words: np.ndarray, n_bits: int) -> np.ndarray:
    """(BX, W) 16-bit words -> (BX, n_bits) bits, most significant first."""
    w = np.asarray(words, dtype=np.int64)
    shifts = np.arange(15, -1, -1)
    b = ((w[:, :, None] >> shifts) & 1).reshape(len(w), -1)
    if b.shape[1] < n_bits:
        raise ValueError(f"frames of {b.shape[1]} bits cannot hold the {n_bits} bits of the format")
    return b[:, :n_bits]


def _fields(bits: np.ndarray, start: int, width: int, count: int) -> np.ndarray:
    """``count`` consecutive unsigned fields of ``width`` bits from bit ``start`` -> (BX, count)."""
    if count == 0:
        return np.zeros((len(bits), 0), dtype=np.int64)
    chunk = bits[:, start:start + width * count].reshape(len(bits), count, width)
    return chunk @ (1 << np.arange(width - 1, -1, -1, dtype=np.int64))


def best_choice(tx_words: np.ndarray, n_elinks: int, expected_bx=None) -> Unpacked:
    """Best-choice frames (one per BX): the sent addresses, their codes in address order.

    The frame lists the codes of the sent cells whose charge is not zero, in
    address order, so when fewer non-zero codes than addresses arrive the
    decoder cannot tell which addresses they belong to; like a reader of the
    format it gives them to the addresses in order (the remaining addresses
    get the zero padding). This happens only when every non-zero cell of the
    module was sent.
    """
    n = TC_PER_LINKS[n_elinks]
    w16 = words16(tx_words)
    head = 12 + (6 * n if n < ADDRESS_LIST_BELOW else N_CELLS)
    bits = _bits(w16, head + 7 * n)
    n_bx = len(bits)
    if expected_bx is not None:
        _check_headers(_fields(bits, 0, 4, 1)[:, 0], [header4(b) for b in expected_bx], "best-choice")
    sum_code = _fields(bits, 4, 8, 1)[:, 0]
    sent = np.zeros((n_bx, N_CELLS), dtype=bool)
    rows = np.arange(n_bx)
    if n < ADDRESS_LIST_BELOW:
        addrs = _fields(bits, 12, 6, n)
        if addrs.size and addrs.max() >= N_CELLS:
            raise ValueError(f"best-choice frame lists address {int(addrs.max())}; the chip has {N_CELLS} cells")
        sent[rows[:, None], addrs] = True
    else:
        sent[:] = bits[:, 12:12 + N_CELLS].astype(bool)
    listed = _fields(bits, head, 7, n)
    # the j-th listed code goes to the j-th sent address (ascending)
    rank = np.cumsum(sent, axis=1) - 1
    ok = sent & (rank < n)
    codes = np.zeros((n_bx, N_CELLS), dtype=np.int64)
    codes[ok] = listed[np.nonzero(ok)[0], rank[ok]]
    words = np.full(n_bx, 2 * n_elinks if n_elinks < 13 else 25, dtype=np.int64)
    return Unpacked(codes, sent, sum_code, np.full(n_bx, -1), words)


def stc(tx_words: np.ndarray, stc_type: int, n_elinks: int, expected_bx=None) -> Unpacked:
    """STC frames (one per BX): per sent group its sum code, on the cell its position names.

    CTC4_7 (type 2) sends no positions: the sum code is put on the group's
    first cell and ``sent`` marks all four (the decoder spreads it).
    """
    if stc_type not in TYPES:
        raise ValueError(f"stc_type {stc_type}: STC types are {sorted(TYPES)}")
    size, pos_bits, (e_bits, m_bits), with_pos = TYPES[stc_type]
    k = n_groups_sent(stc_type, n_elinks)
    w16 = words16(tx_words)
    n_bx = len(w16)
    codes = np.zeros((n_bx, N_CELLS), dtype=np.int64)
    sent = np.zeros((n_bx, N_CELLS), dtype=bool)
    words = np.full(n_bx, 2 if k == 0 else -(-(4 + k * (pos_bits + e_bits + m_bits)) // 32) * 2, dtype=np.int64)
    if k == 0:
        return Unpacked(codes, sent, np.full(n_bx, -1), np.full(n_bx, -1), words)
    bits = _bits(w16, 4 + k * (pos_bits + e_bits + m_bits))
    if expected_bx is not None:
        _check_headers(_fields(bits, 0, 4, 1)[:, 0], [header4(b) for b in expected_bx], "STC")
    pos = _fields(bits, 4, pos_bits, k) if with_pos else None
    sums = _fields(bits, 4 + k * pos_bits, e_bits + m_bits, k)
    first = size * np.arange(k)
    if with_pos:
        # the chip sends (size - 1) - index of the group's largest cell
        cells = first[None, :] + (size - 1) - pos
        rows = np.arange(n_bx)[:, None]
        codes[rows, cells] = sums
        sent[rows, cells] = True
    else:
        codes[:, first] = sums
        sent[:, :size * k] = True
    return Unpacked(codes, sent, np.full(n_bx, -1), np.full(n_bx, -1), words)


def threshold_sum(tx_words: np.ndarray, expected_bx) -> Unpacked:
    """Threshold-sum frames from the word stream, one per expected BX, in order.

    Truncated frames (types 0b110, 0b111) carry only the module sum: their
    cells are lost. Raises ValueError (naming the frame and word) when the
    stream ends early or a frame names an address outside the module.
    """
    stream = words16(tx_words).ravel().tolist()
    expected = [int(b) & 0x1F for b in expected_bx]
    n_fr = len(expected)
    codes = np.zeros((n_fr, N_CELLS), dtype=np.int64)
    sent = np.zeros((n_fr, N_CELLS), dtype=bool)
    sum_code = np.zeros(n_fr, dtype=np.int64)
    ftype = np.zeros(n_fr, dtype=np.int64)
    nwords = np.zeros(n_fr, dtype=np.int64)
    i, end = 0, len(stream)
    for f, bx in enumerate(expected):
        while i < end and not (stream[i] >> 11 == bx and (stream[i] >> 8) & 7 in FRAME_TYPES):
            i += 1
        if i >= end:
            raise ValueError(f"threshold-sum stream ends after {f} of {n_fr} frames")
        w0 = stream[i]
        t, s = (w0 >> 8) & 7, w0 & 0xFF
        ftype[f], sum_code[f] = t, s
        if t in (TYPE_EMPTY, TYPE_TRUNCATED, TYPE_TRUNCATED_T2):
            nwords[f] = 1
            i += 1
            continue
        # read enough words for the longest frame (48-bit map and 48 charges: 24 words after the
        # header), then cut at the real length
        body_words = stream[i + 1:i + 1 + MAX_BODY_WORDS]
        value = 0
        for w in body_words:
            value = (value << 16) | w
        avail = 16 * len(body_words)
        if t == TYPE_LOW:
            n = (value >> (avail - 3)) & 7
            if n == 0 or n >= LOW_OCCUPANCY:
                raise ValueError(f"threshold-sum frame {f} (word {i}): low-occupancy type with {n} cells")
            addrs = [(value >> (avail - 3 - 6 * (j + 1))) & 63 for j in range(n)]
            body = 3 + 6 * n
        else:
            amap = (value >> (avail - N_CELLS)) & ((1 << N_CELLS) - 1)
            addrs = [a for a in range(N_CELLS) if amap >> (N_CELLS - 1 - a) & 1]
            n = len(addrs)
            body = N_CELLS
        if max(addrs) >= N_CELLS:
            raise ValueError(f"threshold-sum frame {f} (word {i}): address {max(addrs)} outside the module")
        if avail < body + 7 * n:
            raise ValueError(f"threshold-sum stream ends inside frame {f} (word {i})")
        q = [(value >> (avail - body - 7 * (j + 1))) & 127 for j in range(n)]
        codes[f, addrs] = q
        sent[f, addrs] = True
        nwords[f] = 1 + -(-(body + 7 * n) // 16)
        i += nwords[f]
    return Unpacked(codes, sent, sum_code, ftype, nwords)


def _check_headers(got, want, what: str) -> None:
    bad = np.flatnonzero(np.asarray(got) != np.asarray(want))
    if bad.size:
        b = int(bad[0])
        raise ValueError(f"{what} frame of BX {b}: header {int(got[b])}, expected {int(want[b])} "
                         f"({bad.size} frames out of step)")
