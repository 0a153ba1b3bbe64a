"""The chip's output words for any algorithm select: eRx words + configuration -> TX_DATA words per BX.

Front end as for the autoencoder (``encoder.econt.erx``): eRx words -> TC
codes -> decoded charges -> mux -> calibration (CALQ). The BX counter is the
5-bit field of the autoencoder frames (31 on a BX whose eRx header is 0x9,
else BX since the last reset mod 16). Then by ``algorithm``:

0 threshold sum, 1 super trigger cells, 2 best choice, 3 repeater: the
  algorithm's frames through the formatter buffer (``buffer``);
4 autoencoder: the chip's encoder (``encoder.econt.chip`` IR on the golden
  model) framed by ``encoder.econt.framing``; when the configuration also
  gives the buffer thresholds the frames pass the buffer too (a frame of 2N
  words leaves unchanged unless 2N > T1).

The configuration comes from ``registers.read_config`` (any layout;
registers a file leaves out hold the chip's reset values there). The idle
words' 11-bit sync pattern is ``link_reset_pattern`` (FMTBUF_ALL.tx_sync_word
in the I2C layout), as the emulator's words show (idle words ...0x122 for
files that set 290 = 0x122).

drop_lsb above 4 counts as 0, as the emulator's RunFromYamlInput.py
(cmantill/ECONT_Emulator) treats it. One row per input BX: words still in
the buffer after the last BX are not drained (the shipped vectors have
exactly one row per BX).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ...errors import UserError
from .. import registers
from ..erx import HEADER_BX_RESET, calq_from_words, headers
from ..framing import bx_counter_field, frame_words
from . import best_choice, repeater, stc, threshold_sum
from .buffer import FRAME_SLOTS, Formatted, run_buffer

THRESHOLD_SUM, SUPER_TRIGGER_CELL, BEST_CHOICE, REPEATER, AUTOENCODER = 0, 1, 2, 3, 4
MAX_DROP_LSB = 4


@dataclass
class RunResult:
    words: np.ndarray               # (BX, N) 32-bit words, column 0 = TX_DATA_0
    algorithm: int
    n_elinks: int
    t1_truncations: int = 0
    t2_truncations: int = 0
    max_fill: int = 0               # most words waiting in the buffer
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def _bad(cfg, name: str, value, why: str) -> UserError:
    label = registers.register_label(cfg.layout, name)
    return UserError(f"{cfg.path}: register {label} is {value}: {why}")


def check_algorithm(cfg) -> int:
    cfg.need("algorithm")
    if cfg.algorithm not in registers.ALGORITHMS:
        known = ", ".join(f"{k} {v}" for k, v in registers.ALGORITHMS.items())
        raise _bad(cfg, "algorithm", cfg.algorithm, f"not an ECON-T algorithm ({known})")
    return cfg.algorithm


def _drop_lsb(cfg) -> int:
    cfg.need("drop_lsb")
    if cfg.drop_lsb < 0:
        raise _bad(cfg, "drop_lsb", cfg.drop_lsb, "must not be negative")
    return 0 if cfg.drop_lsb > MAX_DROP_LSB else cfg.drop_lsb


def _buffer_thresholds(cfg) -> tuple[int, int, int]:
    cfg.need("buff_t1", "buff_t2", "buff_t3")
    for name in ("buff_t1", "buff_t2", "buff_t3"):
        if getattr(cfg, name) < 0:
            raise _bad(cfg, name, getattr(cfg, name), "must not be negative")
    return cfg.buff_t1, cfg.buff_t2, cfg.buff_t3


def formatted(cfg, algorithm: int, calq: np.ndarray, bx_field: np.ndarray, n: int) -> Formatted:
    """The formatter's frames of a non-autoencoder algorithm."""
    drop = _drop_lsb(cfg)
    if algorithm == THRESHOLD_SUM:
        cfg.need("thresholds", "use_sum", "link_reset_pattern")
        if len(cfg.thresholds) != registers.N_CELLS or min(cfg.thresholds) < 0:
            raise _bad(cfg, "thresholds", f"{len(cfg.thresholds)} values",
                       f"expected {registers.N_CELLS} non-negative thresholds")
        return threshold_sum.format_bx(calq, bx_field, cfg.thresholds, drop, cfg.use_sum, cfg.link_reset_pattern)
    if algorithm == SUPER_TRIGGER_CELL:
        cfg.need("stc_type")
        if cfg.stc_type not in stc.TYPES:
            raise _bad(cfg, "stc_type", cfg.stc_type, "STC types are 0 (STC4_9), 1 (STC16_9), 2 (CTC4_7), "
                       "3 (STC4_7)")
        if stc.n_groups_sent(cfg.stc_type, n) == 0:
            from ...errors import warn
            warn(f"{cfg.path}: STC type {cfg.stc_type} ({stc.TYPE_NAMES[cfg.stc_type]}) fills at most "
                 f"{len(stc.GROUPS_SENT[cfg.stc_type])} e-links; on {n} the chip's emulator sends zeros")
        return stc.format_bx(calq, bx_field, drop, cfg.stc_type, n)
    if algorithm == BEST_CHOICE:
        cfg.need("use_sum")
        return best_choice.format_bx(calq, bx_field, drop, cfg.use_sum, n)
    return repeater.format_bx(calq, bx_field, drop, n)


def autoencoder_words(cfg, calq: np.ndarray, bx_field: np.ndarray, n: int) -> np.ndarray:
    """The chip's autoencoder frames (the path of ``encoder econt import`` + golden + ``frames``)."""
    from ... import golden
    from ..chip import build_ir
    from ..weights import decode_blocks

    cfg.need("weight_blocks", "mask_ae", "mask_ae2")
    ir = build_ir(decode_blocks(cfg.weight_blocks), cfg)
    res = golden.run(ir, counts=calq)
    return frame_words(res.latents, res.sum_code, bx_field, n, cfg.latent_mask)


def split16(words: np.ndarray, n: int) -> Formatted:
    """Fixed-size frames of 2N words (32-bit e-link words cut in halves) as formatter output."""
    rows = []
    for row in np.asarray(words, dtype=np.int64).tolist():
        halves = [h for w in row for h in ((w >> 16) & 0xFFFF, w & 0xFFFF)]
        rows.append(halves + [0] * (FRAME_SLOTS - len(halves)))
    return Formatted(rows, [2 * n] * len(rows), [(0, 0)] * len(rows))


def run_chip(cfg, words: np.ndarray) -> RunResult:
    """The chip's TX_DATA words for every BX of the eRx words, by the configuration's algorithm."""
    t0 = time.perf_counter()
    algorithm = check_algorithm(cfg)
    cfg.need("density", "mux", "cal")
    n = registers.framed_elinks(cfg)
    words = np.asarray(words, dtype=np.int64)
    calq = calq_from_words(words, cfg.density, cfg.mux, cfg.cal)
    bx_field = bx_counter_field(len(words), np.flatnonzero(headers(words)[:, 0] == HEADER_BX_RESET))
    notes = []
    if algorithm == AUTOENCODER:
        ae = autoencoder_words(cfg, calq, bx_field, n)
        if None in (cfg.buff_t1, cfg.buff_t2, cfg.buff_t3):
            notes.append("no buffer thresholds in the configuration: frames sent as formed")
            return RunResult(ae, algorithm, n, seconds=time.perf_counter() - t0, notes=notes)
        fmt = split16(ae, n)
    else:
        fmt = formatted(cfg, algorithm, calq, bx_field, n)
    t1, t2, t3 = _buffer_thresholds(cfg)
    out = run_buffer(fmt, n, t1, t2, t3)
    return RunResult(out.words, algorithm, n, out.t1_truncations, out.t2_truncations, out.max_fill,
                     time.perf_counter() - t0, notes)
