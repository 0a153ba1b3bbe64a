"""The chip's autoencoder output frame: pure functions on integers.

Per BX the N active e-links carry N * 32 bits, TX_DATA_0 most significant:

    [ 5-bit BX counter | 9-bit module-sum code | latent field of 32N - 14 bits ]

The latent field holds the lowest bits of the 144-bit word
OUT_15 | ... | OUT_0 (OUT_0 least significant, 9 bits each), bits above the
word zero: with N <= 5 that is the README's L = min(18 + 32 (N - 1), 146)
bits (5 e-links: all 16 latents; 2 e-links: OUT_0..OUT_4 and the low 5
bits of OUT_5). With more than 5 e-links the extra bits sit between the
sum code and the latents and are zero (the ECON-T emulator's formatter
zero-extends the latent field).

The latent mask (mask_ae << 16 | mask_ae2, bit k for bit k of the latent
word) drops the bits whose mask bit is 0 and packs the kept ones towards
the least significant end, as the ECON-T emulator's formatter does; the
chip's test vectors only cover the all-ones mask.

The BX counter field is (BX - last reset) mod 16, and 31 on a BX where the
counter resets. It counts every BX, with data or not.
"""

from __future__ import annotations

import numpy as np

ELINK_BITS = 32
BX_FIELD_BITS = 5
SUM_CODE_BITS = 9
HEADER_BITS = BX_FIELD_BITS + SUM_CODE_BITS
BX_RESET_FIELD = 31
N_TX_COLUMNS = 13
TX_COLUMNS = tuple(f"TX_DATA_{i}" for i in range(N_TX_COLUMNS))


def latent_field_bits(n_elinks: int) -> int:
    """Bits after the 14-bit header: 18 + 32 (N - 1)."""
    return ELINK_BITS * n_elinks - HEADER_BITS


def full_mask(n_latent: int = 16, latent_bits: int = 9) -> int:
    return (1 << (n_latent * latent_bits)) - 1


def bx_counter_field(n_bx: int, reset_bx=(0,)) -> np.ndarray:
    """Per BX the 5-bit counter field: 31 on each reset BX, else (BX - last reset) mod 16.

    BXs before the first reset count on from it backwards modulo 16, as a
    counter that had been running would.
    """
    bx = np.arange(int(n_bx), dtype=np.int64)
    resets = np.unique(np.asarray(list(reset_bx), dtype=np.int64))
    resets = resets[(resets >= 0) & (resets < n_bx)]
    if resets.size == 0:
        return bx % 16
    idx = np.searchsorted(resets, bx, side="right") - 1
    last = resets[np.maximum(idx, 0)]
    field = (bx - last) % 16
    field[np.isin(bx, resets)] = BX_RESET_FIELD
    return field


def bx_fields_by_cycle(bx_reset, run_start, crossing: int = 1) -> np.ndarray:
    """Per clock cycle, the BX-counter field of a design whose counter counts every crossing of
    ``crossing`` cycles (enc_elink_frame): a crossing starts on each ``run_start`` cycle (the first
    after a design reset: BX 0), on each ``bx_reset`` cycle (that crossing sends 31), and every
    ``crossing`` cycles after the last such start; the k-th crossing after the start sends k mod 16
    (31 for k = 0 after a bx_reset). Cycle 0 starts a run if nothing else does.
    """
    bxr = np.asarray(bx_reset, dtype=bool)
    run = np.asarray(run_start, dtype=bool)
    idx = np.arange(len(bxr), dtype=np.int64)
    start = bxr | run
    if len(start):
        start = start.copy()
        start[0] = True
    s = np.maximum.accumulate(np.where(start, idx, 0)) if len(idx) else idx
    k = (idx - s) // int(crossing)
    return np.where(bxr[s] & (k == 0), BX_RESET_FIELD, k % 16).astype(np.int64)


def latent_word_bits(latents: np.ndarray, latent_bits: int = 9) -> np.ndarray:
    """(N, n_latent) codes -> (N, n_latent * latent_bits) bits, column k = bit k of OUT_n|...|OUT_0."""
    lat = np.asarray(latents, dtype=np.int64)
    k = np.arange(lat.shape[1] * latent_bits)
    return (lat[:, k // latent_bits] >> (k % latent_bits)) & 1


def frame_words(latents, sum_code, bx_field, n_elinks: int, mask: int | None = None,
                latent_bits: int = 9, sum_code_bits: int = SUM_CODE_BITS) -> np.ndarray:
    """(N, n_elinks) 32-bit words, column 0 = TX_DATA_0 (most significant).

    ``sum_code_bits``: the chip's is 9; generated designs whose IR has another
    module-sum code width frame it the same way (enc_elink_frame's SUM_BITS).
    """
    lat = np.atleast_2d(np.asarray(latents, dtype=np.int64))
    n = lat.shape[0]
    sc = np.broadcast_to(np.asarray(sum_code, dtype=np.int64), (n,))
    bxf = np.broadcast_to(np.asarray(bx_field, dtype=np.int64), (n,))
    if not 1 <= n_elinks <= N_TX_COLUMNS:
        raise ValueError(f"e-links must be 1..{N_TX_COLUMNS}, got {n_elinks}")
    if lat.size and (lat.min() < 0 or lat.max() >= (1 << latent_bits)):
        raise ValueError(f"latent codes must lie in 0..{(1 << latent_bits) - 1}")
    if sc.size and (sc.min() < 0 or sc.max() >= (1 << sum_code_bits)):
        raise ValueError(f"module-sum codes must lie in 0..{(1 << sum_code_bits) - 1}")
    if bxf.size and (bxf.min() < 0 or bxf.max() >= (1 << BX_FIELD_BITS)):
        raise ValueError(f"BX counter fields must lie in 0..{(1 << BX_FIELD_BITS) - 1}")
    word_bits = lat.shape[1] * latent_bits
    mask = full_mask(lat.shape[1], latent_bits) if mask is None else int(mask)
    kept = [k for k in range(word_bits) if (mask >> k) & 1]
    n_field = ELINK_BITS * n_elinks - BX_FIELD_BITS - sum_code_bits
    if n_field < 0:
        raise ValueError(f"{n_elinks} e-links cannot carry a {BX_FIELD_BITS + sum_code_bits}-bit header")
    bits = np.zeros((n, ELINK_BITS * n_elinks), dtype=np.int64)       # column j = frame bit j (LSB first)
    take = min(len(kept), n_field)
    bits[:, :take] = latent_word_bits(lat, latent_bits)[:, kept[:take]]
    for j in range(sum_code_bits):
        bits[:, n_field + j] = (sc >> j) & 1
    for j in range(BX_FIELD_BITS):
        bits[:, n_field + sum_code_bits + j] = (bxf >> j) & 1
    weights = np.int64(1) << np.arange(ELINK_BITS, dtype=np.int64)
    words = np.empty((n, n_elinks), dtype=np.int64)
    for w in range(n_elinks):
        lo = ELINK_BITS * (n_elinks - 1 - w)
        words[:, w] = bits[:, lo:lo + ELINK_BITS] @ weights
    return words


def port_words(latents, sum_code, bx_field, count: int, port_elinks: int, mask: int | None = None,
               latent_bits: int = 9, sum_code_bits: int = SUM_CODE_BITS) -> np.ndarray:
    """(N, port_elinks) words as a tx port of ``port_elinks`` e-links sends them with the e-link count
    register at ``count``: the frame on min(count, port_elinks) e-links in the first columns, the
    other columns zero (the chip's unused TX_DATA columns are 00000000); count 0 sends nothing."""
    lat = np.atleast_2d(np.asarray(latents, dtype=np.int64))
    out = np.zeros((lat.shape[0], port_elinks), dtype=np.int64)
    n = min(int(count), port_elinks)
    if n > 0:
        out[:, :n] = frame_words(lat, sum_code, bx_field, n, mask, latent_bits, sum_code_bits)
    return out


def frame_int(latents_row, sum_code: int, bx_field: int, n_elinks: int, mask: int | None = None,
              latent_bits: int = 9) -> int:
    """One BX's frame as a single N*32-bit integer (TX_DATA_0 in the top 32 bits)."""
    words = frame_words(np.asarray(latents_row)[None, :], [sum_code], [bx_field], n_elinks, mask, latent_bits)[0]
    value = 0
    for w in words.tolist():
        value = (value << ELINK_BITS) | w
    return value


def format_tx_csv(words: np.ndarray) -> str:
    """The chip's output CSV: TX_DATA_0..12, lower-case 8-digit hex, unused e-links 00000000."""
    words = np.asarray(words, dtype=np.int64)
    pad = ["00000000"] * (N_TX_COLUMNS - words.shape[1])
    lines = [",".join(TX_COLUMNS)]
    for row in words.tolist():
        lines.append(",".join([f"{w:08x}" for w in row] + pad))
    return "\n".join(lines) + "\n"
