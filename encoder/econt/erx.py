"""The chip's input side: eRx words -> 7-bit TC codes -> decoded charges -> mux -> CALQ.

Each BX brings 12 eRx words of 32 bits. Bits 31..28 are a header (0x9 marks
the BX-counter reset, 0xa otherwise); bits 27..0 of word g hold four 7-bit
codes, mux input 4g+k = (word_g >> 7k) & 127.

A code is a float with a 4-bit exponent e and 3-bit mantissa m:
d = m if e == 0 else (8 + m) << (e - 1); then the dropped low bits are put
back (b = 3 on a high-density module, 1 on low density) with the middle of
the dropped range: d = (d << b) + (1 << (s - 1)) with s = max(e - 1, 0) + b.
Mux output i takes decoded input mux[i]; calibration CALQ_i = (d_i * cal_i) >> 11.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import UserError

N_ERX = 12
CODES_PER_WORD = 4
CODE_BITS = 7
HEADER_SHIFT = 28
HEADER_BX_RESET = 0x9
CAL_FRAC = 11
COLUMNS = tuple(f"RX_DATA_{g}" for g in range(N_ERX))
_HEX = re.compile(r"^(0[xX])?[0-9a-fA-F]{1,8}$")


def dropped_bits(density: int) -> int:
    """Low bits the front end drops before the 7-bit code: 3 on high density, 1 on low."""
    return 3 if density == 1 else 1


def read_words(path) -> np.ndarray:
    """testInput.csv -> (N, 12) int64 eRx words; one-line errors with file, line and column."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read as text ({exc})") from None
    lines = text.splitlines()
    if not lines:
        raise UserError(f"{path}: empty file")
    header = [c.strip() for c in lines[0].split(",")]
    if header != list(COLUMNS):
        raise UserError(f"{path}: line 1: expected the header {','.join(COLUMNS[:2])},...,{COLUMNS[-1]} "
                        f"({N_ERX} columns), got {len(header)} columns starting {header[0]!r}")
    rows = []
    for lineno, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = [f.strip() for f in line.split(",")]
        if len(fields) != N_ERX:
            raise UserError(f"{path}: line {lineno}: expected {N_ERX} columns, got {len(fields)}")
        row = []
        for g, f in enumerate(fields):
            if not _HEX.match(f):
                raise UserError(f"{path}: line {lineno}, column {COLUMNS[g]}: malformed 32-bit hex word {f!r}")
            row.append(int(f, 16))
        rows.append(row)
    if not rows:
        raise UserError(f"{path}: no data rows after the header")
    return np.asarray(rows, dtype=np.int64)


def headers(words: np.ndarray) -> np.ndarray:
    """(N, 12) 4-bit headers."""
    return (np.asarray(words, dtype=np.int64) >> HEADER_SHIFT) & 0xF


def tc_codes(words: np.ndarray) -> np.ndarray:
    """(N, 12) words -> (N, 48) 7-bit codes in mux-input order."""
    w = np.asarray(words, dtype=np.int64)
    shifts = CODE_BITS * np.arange(CODES_PER_WORD)
    codes = (w[:, :, None] >> shifts) & ((1 << CODE_BITS) - 1)
    return codes.reshape(len(w), N_ERX * CODES_PER_WORD)


def decode_codes(codes: np.ndarray, density: int) -> np.ndarray:
    """7-bit codes -> decoded charges with the dropped bits restored at mid-bin."""
    c = np.asarray(codes, dtype=np.int64)
    e, m = c >> 3, c & 7
    d = np.where(e == 0, m, (8 + m) << np.maximum(e - 1, 0))
    b = dropped_bits(density)
    s = np.maximum(e - 1, 0) + b
    return (d << b) + np.where(s > 0, np.int64(1) << np.maximum(s - 1, 0), 0)


def calibrate(decoded: np.ndarray, mux, cal) -> np.ndarray:
    """Mux then calibration: CALQ_i = (decoded[mux[i]] * cal[i]) >> 11."""
    d = np.asarray(decoded, dtype=np.int64)[:, np.asarray(mux, dtype=np.int64)]
    return (d * np.asarray(cal, dtype=np.int64)) >> CAL_FRAC


def calq_from_words(words: np.ndarray, density: int, mux, cal) -> np.ndarray:
    return calibrate(decode_codes(tc_codes(words), density), mux, cal)
