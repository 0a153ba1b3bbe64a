"""The formatter buffer: variable-size frames in, 2N words of 16 bits out per BX, truncation by T1/T2/T3.

Rules (ECON-T emulator, cmantill/ECONT_Emulator ASICBlocks/BufferBlock.py;
the truncated-frame types from cmantill/econt_test-vectors
Utils/unpack_utils.py):

Each BX the formatter offers a frame of ``numw`` 16-bit words (followed by
its padding words up to 26, which the buffer also writes), plus a two-word
truncated frame. With ``nbuf`` the words already waiting (the write
pointer), in this order:

1. ``nbuf + numw > T1``: the frame does not fit; the truncated frame goes in
   with type bit 8 cleared (data type 0b110);
2. else ``nbuf > T2`` and ``numw <= T3``: the truncated frame goes in with
   bit 8 set (data type 0b111);
3. else the whole frame goes in.

A truncated frame's two words are written but the write pointer advances by
one word only (its second word, the idle word, is overwritten by the next
frame unless it leaves first). Then the first 2N words are read out, word
2k in the upper half of e-link k's 32-bit word, everything moves down by
2N and the write pointer drops by 2N (not below 0). Words past the write
pointer are whatever was last written there: the padding words of an
earlier frame, as in the emulator's array, which this model keeps word for
word (400 words, initially all ones; more if T1 asks for more room).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FRAME_SLOTS = 26            # words the formatter hands over per BX (13 e-links x 2)
EMULATOR_WORDS = 400        # the emulator's buffer array
TYPE_BIT = 1 << 8           # lowest bit of the 3-bit data type in a truncated frame's first word


@dataclass
class Formatted:
    """The formatter's output for every BX."""

    words: list[list[int]]      # per BX: the frame's 16-bit words followed by padding words (<= 26)
    numw: list[int]             # per BX: words the frame occupies in the buffer
    truncated: list[tuple[int, int]]   # per BX: the two words sent in place of a truncated frame


@dataclass
class BufferOutput:
    words: np.ndarray           # (BX, N) 32-bit e-link words, column 0 = TX_DATA_0
    t1_truncations: int         # frames replaced because they did not fit under T1
    t2_truncations: int         # small frames replaced because the buffer was above T2
    max_fill: int               # the highest write pointer seen (words)


def run_buffer(fmt: Formatted, n_elinks: int, t1: int, t2: int, t3: int) -> BufferOutput:
    """Push every BX's frame through the buffer; one row of N e-link words per BX."""
    out_words = 2 * n_elinks
    size = max(EMULATOR_WORDS, t1 + FRAME_SLOTS + out_words)
    buf = [0xFFFF] * size
    wp = 0
    rows = np.zeros((len(fmt.numw), n_elinks), dtype=np.int64)
    n1 = n2 = 0
    max_fill = 0
    for bx, (words, numw, trunc) in enumerate(zip(fmt.words, fmt.numw, fmt.truncated)):
        if wp + numw > t1:
            buf[wp:wp + 2] = [trunc[0] & ~TYPE_BIT & 0xFFFF, trunc[1]]
            wp += 1
            n1 += 1
        elif wp > t2 and numw <= t3:
            buf[wp:wp + 2] = [(trunc[0] | TYPE_BIT) & 0xFFFF, trunc[1]]
            wp += 1
            n2 += 1
        else:
            buf[wp:wp + len(words)] = words
            wp += numw
        max_fill = max(max_fill, wp)
        head = buf[:out_words]
        rows[bx] = [(head[2 * k] << 16) | head[2 * k + 1] for k in range(n_elinks)]
        # Move down by 2N; the top 2N words keep their old contents, as in the emulator's array.
        buf[:size - out_words] = buf[out_words:]
        wp = max(wp - out_words, 0)
    return BufferOutput(rows, n1, n2, max_fill)
