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

An absent ``link_reset_pattern`` (the 11-bit sync word of the idle words,
FMTBUF_ALL.tx_sync_word in the I2C layout) takes the chip's reset value
0b00100100010 = 0x122: the emulator's threshold-sum words for a
configuration that leaves it out (cmantill/econt_test-vectors
counterPatternInTC/TS_Thr47_13eTx) carry idle words ...0x122, as do those
of configurations that set it to 290. Every other register the algorithm
needs must be in the file.

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
TX_SYNC_WORD_RESET = 0b00100100010

# How each field's register is spelled in the chip's files (algorithm layout / I2C register layout).
REGISTER_NAMES = {
    "thresholds": "AlgoThreshold.0..47 (ALGO_THRESHOLD_VAL.threshold_val_*)",
    "drop_lsb": "AlgoDroplsb.Global.drop_lsb (ALGO_DROPLSB.drop_lsb)",
    "active_etxs": "FormatterBuffer.Global.active_etxs (FMTBUF_ALL.config.eporttx_numen)",
    "buff_t1": "FormatterBuffer.Global.buff_t1 (FMTBUF_ALL.buff_t1)",
    "buff_t2": "FormatterBuffer.Global.buff_t2 (FMTBUF_ALL.buff_t2)",
    "buff_t3": "FormatterBuffer.Global.buff_t3 (FMTBUF_ALL.buff_t3)",
    "stc_type": "FormatterBuffer.Global.stc_type (FMTBUF_ALL.config.stc_type)",
    "use_sum": "FormatterBuffer.Global.use_sum (FMTBUF_ALL.config.use_sum)",
    "link_reset_pattern": "FormatterBuffer.Global.link_reset_pattern (FMTBUF_ALL.tx_sync_word)",
    "algorithm": "Algorithm.Global.select (MFC_ALGORITHM_SEL_DENSITY.algo.select)",
    "density": "Algorithm.Global.density (MFC_ALGORITHM_SEL_DENSITY.algo.density)",
    "mux": "Mux.0..47 (MFC_MUX_SELECT.mux_select_*)",
    "cal": "Cal.0..47 (MFC_CAL_VAL.cal_*)",
}


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


def require(cfg, *names: str) -> None:
    """A one-line error naming the file and the register of the first field the configuration lacks."""
    for name in names:
        if getattr(cfg, name) is None:
            where = REGISTER_NAMES.get(name) or registers._FIELDS.get(name, name)
            raise UserError(f"{cfg.path}: missing register {where}")


def _bad(cfg, name: str, value, why: str) -> UserError:
    return UserError(f"{cfg.path}: register {REGISTER_NAMES.get(name, name)} is {value}: {why}")


def n_elinks_of(cfg) -> int:
    """Active output e-links: ``n_elinks`` when the file gives the count, else the ``active_etxs`` mask.

    The chip sends on the lowest N e-links, so the mask must be N ones from bit 0.
    """
    if cfg.n_elinks is not None:
        n = cfg.n_elinks
        name = "active_etxs"
    else:
        require(cfg, "active_etxs")
        mask = cfg.active_etxs
        n = bin(mask).count("1") if mask > 0 else 0
        if mask != (1 << n) - 1:
            raise _bad(cfg, "active_etxs", hex(mask), "the chip sends on e-links 0..N-1, so the mask must "
                       "be N ones from bit 0")
        name = "active_etxs"
    if not 1 <= n <= registers.MAX_ELINKS:
        raise _bad(cfg, name, n, f"the chip has 1..{registers.MAX_ELINKS} output e-links")
    return n


def check_algorithm(cfg) -> int:
    require(cfg, "algorithm")
    if cfg.algorithm not in registers.ALGORITHMS:
        known = ", ".join(f"{k} {v}" for k, v in registers.ALGORITHMS.items())
        raise _bad(cfg, "algorithm", cfg.algorithm, f"not an ECON-T algorithm ({known})")
    return cfg.algorithm


def _drop_lsb(cfg) -> int:
    require(cfg, "drop_lsb")
    if cfg.drop_lsb < 0:
        raise _bad(cfg, "drop_lsb", cfg.drop_lsb, "must not be negative")
    return 0 if cfg.drop_lsb > MAX_DROP_LSB else cfg.drop_lsb


def _buffer_thresholds(cfg) -> tuple[int, int, int]:
    require(cfg, "buff_t1", "buff_t2", "buff_t3")
    for name in ("buff_t1", "buff_t2", "buff_t3"):
        if getattr(cfg, name) < 0:
            raise _bad(cfg, name, getattr(cfg, name), "must not be negative")
    return cfg.buff_t1, cfg.buff_t2, cfg.buff_t3


def formatted(cfg, algorithm: int, calq: np.ndarray, bx_field: np.ndarray, n: int) -> Formatted:
    """The formatter's frames of a non-autoencoder algorithm."""
    drop = _drop_lsb(cfg)
    if algorithm == THRESHOLD_SUM:
        require(cfg, "thresholds", "use_sum")
        if len(cfg.thresholds) != registers.N_CELLS or min(cfg.thresholds) < 0:
            raise _bad(cfg, "thresholds", f"{len(cfg.thresholds)} values",
                       f"expected {registers.N_CELLS} non-negative thresholds")
        sync = TX_SYNC_WORD_RESET if cfg.link_reset_pattern is None else cfg.link_reset_pattern
        return threshold_sum.format_bx(calq, bx_field, cfg.thresholds, drop, cfg.use_sum, sync)
    if algorithm == SUPER_TRIGGER_CELL:
        require(cfg, "stc_type")
        if cfg.stc_type not in stc.TYPES:
            raise _bad(cfg, "stc_type", cfg.stc_type, "STC types are 0 (STC4_9), 1 (STC16_9), 2 (CTC4_7), "
                       "3 (STC4_7)")
        return stc.format_bx(calq, bx_field, drop, cfg.stc_type, n)
    if algorithm == BEST_CHOICE:
        require(cfg, "use_sum")
        return best_choice.format_bx(calq, bx_field, drop, cfg.use_sum, n)
    return repeater.format_bx(calq, bx_field, drop, n)


def autoencoder_words(cfg, calq: np.ndarray, bx_field: np.ndarray, n: int) -> np.ndarray:
    """The chip's autoencoder frames (the path of ``encoder econt import`` + golden + ``frames``)."""
    from ... import golden
    from ..chip import build_ir
    from ..weights import decode_blocks

    require(cfg, "weight_blocks", "mask_ae", "mask_ae2")
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
    require(cfg, "density", "mux", "cal")
    n = n_elinks_of(cfg)
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
