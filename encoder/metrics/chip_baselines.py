"""The ECON-T's own algorithms, bit for bit, scored on modules: what the chip sends, decoded.

The path for a set of modules (charges in MIPs, the data sets' units):

1. Front end. CALQ = round(charge x 35) counts (``counts_per_mip``, half
   to even), the integers the autoencoder's golden model also starts from
   (``encoder.inputpath.to_counts``), so both see the same module. With
   ``erx_codes`` the counts first pass the HGCROC's 7-bit code (3 dropped
   bits, high density) and the chip's decoder (``encoder.econt.erx``,
   mid-bin), as real eRx words would bring them; calibration is 1.0.
2. Mux. Chip cell 4k + j takes the geometry's STC4 group k, cell j (groups
   in sector order), so the chip's consecutive 4- and 16-cell groups are the
   geometry's 2x2 groups and sectors, which is what an STC configuration's
   mux is for. The same mux is used for every algorithm (threshold sum and
   best choice do not depend on it except best choice's tie order).
3. The chip. ``encoder.econt.algorithms`` formats every module's frame,
   the modules taken as consecutive filled bunch crossings (no empty
   crossings between them: the buffer's worst case), and pushes them
   through the formatter buffer with thresholds T1/T2/T3; empty crossings
   are appended so the buffer drains.
4. The back end. ``encoder.econt.algorithms.unpack`` reads the e-link
   words; codes are decoded to the centre of their interval (dropped bits
   put back, ``charge_code.FloatCode``; code 0 is 0), divided by ``counts_per_mip`` and
   put back through the mux into the geometry's cell order:
   - threshold sum: each sent cell at its address; a truncated frame
     (T1, or T2/T3) brings no cells (its module sum alone is not placed);
   - best choice: the sent cells at their addresses (codes in address
     order, see ``unpack.best_choice``);
   - STC: each sum on the cell the position names (``stc_placement``
     "max"), or spread evenly over the group's cells ("spread"); CTC4_7
     (type 2) has no positions and is always spread.

Bits per BX: 16 x the words each frame took in the buffer (a truncated
frame one word).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..econt import erx
from ..econt.algorithms import best_choice as bc_algo
from ..econt.algorithms import stc as stc_algo
from ..econt.algorithms import threshold_sum as ts_algo
from ..econt.algorithms import unpack
from ..econt.algorithms.buffer import Formatted, run_buffer
from ..econt.framing import bx_counter_field
from .charge_code import TC_CODE, FloatCode
from .emd_solver import resolve_geometry

N_CELLS = 48
COUNTS_PER_MIP = 35.0
SYNC_WORD = 0x122           # idle words' 11-bit pattern, as the shipped configurations set it
# Buffer thresholds of the shipped best-choice and STC configurations (tests/data/econt/algorithms).
DEFAULT_BUFFER = (338, 314, 25)
STC_PLACEMENTS = ("max", "spread")


@dataclass(frozen=True)
class ChipSettings:
    """Registers of the chip algorithms that the studies may set; the rest as the shipped files."""

    drop_lsb: int = 0
    use_sum: int = 0
    buffer: tuple[int, int, int] = DEFAULT_BUFFER      # buff_t1, buff_t2, buff_t3 (16-bit words)
    counts_per_mip: float = COUNTS_PER_MIP
    erx_codes: bool = False
    stc_placement: str = "max"

    def __post_init__(self):
        if not 0 <= self.drop_lsb <= 4:
            raise ValueError(f"drop_lsb must lie in [0, 4], got {self.drop_lsb}")
        if self.use_sum not in (0, 1):
            raise ValueError(f"use_sum must be 0 or 1, got {self.use_sum}")
        if len(self.buffer) != 3 or min(self.buffer) < 0:
            raise ValueError(f"buffer must be three non-negative thresholds T1, T2, T3, got {self.buffer}")
        if not self.counts_per_mip > 0:
            raise ValueError(f"counts_per_mip must be positive, got {self.counts_per_mip}")
        if self.stc_placement not in STC_PLACEMENTS:
            raise ValueError(f"stc_placement must be one of {STC_PLACEMENTS}, got {self.stc_placement!r}")


@dataclass(frozen=True)
class ChipResult:
    name: str
    reconstructed: np.ndarray      # (N, n_cells) charges the back end rebuilds, MIPs, geometry order
    bits: np.ndarray               # (N,) bits each module's frame took in the buffer
    sent: np.ndarray               # (N, n_cells) True where a charge is placed on the cell
    truncated: np.ndarray          # (N,) True where the buffer replaced the frame by a truncated one
    lost_cells: np.ndarray         # (N,) cells the frame would have sent but the buffer dropped
    max_fill: int = 0              # most 16-bit words waiting in the buffer
    placed_by_order: np.ndarray | None = None   # (N,) best choice: codes given to addresses in order

    @property
    def fixed_size(self) -> bool:
        return bool(np.all(self.bits == self.bits[0])) if self.bits.size else True

    def stats(self) -> dict:
        n = max(len(self.bits), 1)
        out = {"truncated_frames": int(self.truncated.sum()), "truncated_fraction": float(self.truncated.sum() / n),
               "lost_cells": int(self.lost_cells.sum()), "buffer_max_fill_words": int(self.max_fill)}
        if self.placed_by_order is not None:
            out["placed_by_order_fraction"] = float(self.placed_by_order.sum() / n)
        return out


def chip_mux(geometry="hgcal") -> np.ndarray:
    """mux[i] = the geometry cell on chip cell i (STC4 groups back to back, in sector order)."""
    geom = resolve_geometry(geometry)
    if geom.n_cells != N_CELLS:
        raise ValueError(f"the ECON-T takes {N_CELLS} cells; geometry {geom.name} has {geom.n_cells}")
    groups = [tuple(g) for g in geom.stc4_groups]
    mux = np.asarray([c for g in groups for c in g], dtype=np.int64)
    if len(groups) != N_CELLS // 4 or sorted(mux.tolist()) != list(range(N_CELLS)):
        raise ValueError(f"geometry {geom.name}: STC4 groups do not tile the {N_CELLS} cells in fours")
    return mux


def calq(charges, settings: ChipSettings, mux: np.ndarray) -> np.ndarray:
    """(N, 48) charges in MIPs, geometry order -> the chip's CALQ counts, chip order."""
    c = np.asarray(charges, dtype=np.float64)
    if c.ndim != 2 or c.shape[1] != N_CELLS:
        raise ValueError(f"charges must have shape (modules, {N_CELLS}), got {c.shape}")
    bad = ~np.isfinite(c) | (c < 0)
    if bad.any():
        row, cell = np.argwhere(bad)[0]
        raise ValueError(f"charges row {row}, cell {cell}: {c[row, cell]!r} is not a finite non-negative number")
    counts = np.rint(c * settings.counts_per_mip).astype(np.int64)
    if settings.erx_codes:
        counts = erx.decode_codes(TC_CODE.encode(counts), density=1)
    return counts[:, mux]


def _drain_bx(settings: ChipSettings, n_elinks: int) -> int:
    """Empty crossings after the modules so every frame leaves: at most T1 words wait, and each
    empty crossing adds a one-word frame while 2N words leave."""
    return settings.buffer[0] // (2 * n_elinks - 1) + 2


def _with_empty(q: np.ndarray, extra: int) -> np.ndarray:
    return np.concatenate([q, np.zeros((extra, q.shape[1]), dtype=q.dtype)])


def _to_geometry(values_chip: np.ndarray, mux: np.ndarray) -> np.ndarray:
    out = np.empty_like(values_chip)
    out[:, mux] = values_chip
    return out


def _decode(codes, exp_bits: int, mant_bits: int, drop: int) -> np.ndarray:
    """Codes -> CALQ at the centre of each code's interval, but code 0 -> 0: with dropped bits its
    interval is [0, 2^drop), and an empty cell or group, the common case, must not gain charge."""
    c = np.asarray(codes)
    return np.where(c > 0, FloatCode(exp_bits, mant_bits, drop_bits=drop).decode(c), 0).astype(np.float64)


def _run(fmt: Formatted, n_elinks: int, settings: ChipSettings):
    t1, t2, t3 = settings.buffer
    return run_buffer(fmt, n_elinks, t1, t2, t3)


def _fixed_buffer_check(fmt: Formatted, settings: ChipSettings, what: str) -> None:
    worst = max(fmt.numw) if fmt.numw else 0
    if settings.buffer[0] < worst:
        raise ValueError(f"buffer T1 = {settings.buffer[0]} words is below the {worst}-word {what} frame: "
                         f"the chip would truncate every frame")


def threshold_sum(charges, geometry="hgcal", *, n_elinks: int, threshold_mip: float,
                  settings: ChipSettings = ChipSettings()) -> ChipResult:
    """Threshold sum: cells with CALQ above ``threshold_mip`` x counts_per_mip, through the buffer.

    The chip keeps CALQ >= register value; the register is set to
    floor(threshold_mip x counts_per_mip) + 1, so a cell is kept when its
    charge is strictly above the level, as the approximate baseline does.
    """
    if not threshold_mip > 0:
        raise ValueError(f"threshold_mip must be positive, got {threshold_mip}")
    if not 1 <= n_elinks <= 13:
        raise ValueError(f"n_elinks must lie in [1, 13], got {n_elinks}")
    mux = chip_mux(geometry)
    q = calq(charges, settings, mux)
    n = len(q)
    reg = int(np.floor(threshold_mip * settings.counts_per_mip)) + 1
    thresholds = [reg] * N_CELLS
    qq = _with_empty(q, _drain_bx(settings, n_elinks))
    bx = bx_counter_field(len(qq), [0])
    fmt = ts_algo.format_bx(qq, bx, thresholds, settings.drop_lsb, settings.use_sum, SYNC_WORD)
    out = _run(fmt, n_elinks, settings)
    u = unpack.threshold_sum(out.words, bx[:n])
    wanted = ts_algo.select(q, thresholds, settings.drop_lsb)["selected"]
    truncated = u.frame_type[:n] >= unpack.TYPE_TRUNCATED
    values = _decode(u.codes[:n], 4, 3, settings.drop_lsb) / settings.counts_per_mip
    recon = _to_geometry(np.where(u.sent[:n], values, 0.0), mux)
    sent = _to_geometry(u.sent[:n] & (u.codes[:n] > 0), mux)
    lost = np.where(truncated, wanted.sum(axis=1), 0)
    bits = 16 * np.where(truncated, 1, np.asarray(fmt.numw[:n]))
    name = f"chip_ts_{threshold_mip:g}_e{n_elinks}"
    return ChipResult(name, recon, bits.astype(np.int64), sent, truncated, lost, out.max_fill)


def best_choice(charges, geometry="hgcal", *, n_elinks: int,
                settings: ChipSettings = ChipSettings()) -> ChipResult:
    """Best choice on ``n_elinks`` e-links: the chip's sort network, frame and buffer."""
    if not 1 <= n_elinks <= 13:
        raise ValueError(f"n_elinks must lie in [1, 13], got {n_elinks}")
    mux = chip_mux(geometry)
    q = calq(charges, settings, mux)
    n = len(q)
    bx = bx_counter_field(n, [0])
    fmt = bc_algo.format_bx(q, bx, settings.drop_lsb, settings.use_sum, n_elinks)
    _fixed_buffer_check(fmt, settings, "best-choice")
    out = _run(fmt, n_elinks, settings)
    u = unpack.best_choice(out.words, n_elinks, bx)
    values = _decode(u.codes, 4, 3, settings.drop_lsb) / settings.counts_per_mip
    recon = _to_geometry(np.where(u.sent, values, 0.0), mux)
    sent = _to_geometry(u.sent & (u.codes > 0), mux)
    none = np.zeros(n, dtype=bool)
    # fewer non-zero codes than addresses: the decoder gave them to the first addresses
    by_order = u.sent.sum(axis=1) > (u.codes > 0).sum(axis=1)
    return ChipResult(f"chip_bc_e{n_elinks}", recon, np.full(n, 16 * fmt.numw[0], dtype=np.int64), sent,
                      none, np.zeros(n, dtype=np.int64), out.max_fill, by_order)


def super_trigger_cells(charges, geometry="hgcal", *, n_elinks: int, stc_type: int,
                        settings: ChipSettings = ChipSettings()) -> ChipResult:
    """STC type ``stc_type`` on ``n_elinks`` e-links; groups past what the e-links carry are not sent."""
    if stc_type not in stc_algo.TYPES:
        raise ValueError(f"stc_type must be one of {sorted(stc_algo.TYPES)}, got {stc_type}")
    if not 1 <= n_elinks <= len(stc_algo.GROUPS_SENT[stc_type]):
        raise ValueError(f"STC type {stc_type} ({stc_algo.TYPE_NAMES[stc_type]}) runs on 1 to "
                         f"{len(stc_algo.GROUPS_SENT[stc_type])} e-links, got {n_elinks}")
    size, _, (e_bits, m_bits), with_pos = stc_algo.TYPES[stc_type]
    mux = chip_mux(geometry)
    q = calq(charges, settings, mux)
    n = len(q)
    bx = bx_counter_field(n, [0])
    fmt = stc_algo.format_bx(q, bx, settings.drop_lsb, stc_type, n_elinks)
    _fixed_buffer_check(fmt, settings, "STC")
    out = _run(fmt, n_elinks, settings)
    u = unpack.stc(out.words, stc_type, n_elinks, bx)
    drop = 0 if e_bits + m_bits == 9 else settings.drop_lsb      # 9-bit sums carry every bit
    sums = _decode(u.codes, e_bits, m_bits, drop) / settings.counts_per_mip
    k = stc_algo.n_groups_sent(stc_type, n_elinks)
    if with_pos and settings.stc_placement == "max":
        chip_vals = np.where(u.sent, sums, 0.0)
        sent_chip = u.sent & (u.codes > 0)
    else:
        # a group's sum code sits on its sent cell (or first cell for CTC); spread it over the group
        group_sum = np.where(u.sent, sums, 0.0).reshape(n, -1, size).sum(axis=2) if with_pos else \
            sums.reshape(n, -1, size)[:, :, 0]
        chip_vals = np.repeat(group_sum / size, size, axis=1)
        chip_vals[:, size * k:] = 0.0
        sent_chip = chip_vals > 0
    recon = _to_geometry(chip_vals, mux)
    name = f"chip_stc{stc_type}_e{n_elinks}"
    none = np.zeros(n, dtype=bool)
    return ChipResult(name, recon, 16 * np.asarray(fmt.numw, dtype=np.int64), _to_geometry(sent_chip, mux),
                      none, np.zeros(n, dtype=np.int64), out.max_fill)


@dataclass(frozen=True)
class ChipBaselines:
    """Which chip algorithms a study or an evaluation scores, and their registers."""

    threshold_mip: tuple[float, ...] = (1.35, 2.0)     # threshold-sum levels, one row each
    stc_types: tuple[int, ...] = (0, 1, 2, 3)          # each where the e-link count fits its type
    best_choice: bool = True
    settings: ChipSettings = ChipSettings()

    def to_dict(self) -> dict:
        s = self.settings
        return {"threshold_mip": list(self.threshold_mip), "stc_types": list(self.stc_types),
                "best_choice": self.best_choice, "drop_lsb": s.drop_lsb, "use_sum": s.use_sum,
                "buffer": {"t1": s.buffer[0], "t2": s.buffer[1], "t3": s.buffer[2]},
                "counts_per_mip": s.counts_per_mip, "erx_codes": s.erx_codes, "stc_placement": s.stc_placement}

    @classmethod
    def from_dict(cls, d: dict) -> "ChipBaselines":
        """The inverse of ``to_dict`` (a study's task spec carries the plain dict to its workers)."""
        b = d["buffer"]
        settings = ChipSettings(drop_lsb=d["drop_lsb"], use_sum=d["use_sum"], buffer=(b["t1"], b["t2"], b["t3"]),
                                counts_per_mip=d["counts_per_mip"], erx_codes=d["erx_codes"],
                                stc_placement=d["stc_placement"])
        return cls(tuple(d["threshold_mip"]), tuple(d["stc_types"]), d["best_choice"], settings)


DEFAULT_CHIP = ChipBaselines()


def supports(geometry) -> bool:
    """The chip algorithms take 48 cells in STC4 groups; other geometries get no chip rows."""
    try:
        chip_mux(geometry)
    except ValueError:
        return False
    return True


def run_all(charges, geometry="hgcal", n_elinks: int = 5, config: ChipBaselines = DEFAULT_CHIP
            ) -> dict[str, ChipResult]:
    """Every configured chip algorithm on ``n_elinks`` e-links, by name (``chip_..._eN``)."""
    out = {}
    s = config.settings
    for level in config.threshold_mip:
        r = threshold_sum(charges, geometry, n_elinks=n_elinks, threshold_mip=level, settings=s)
        out[r.name] = r
    for t in config.stc_types:
        if n_elinks <= len(stc_algo.GROUPS_SENT[t]):
            r = super_trigger_cells(charges, geometry, n_elinks=n_elinks, stc_type=t, settings=s)
            out[r.name] = r
    if config.best_choice:
        r = best_choice(charges, geometry, n_elinks=n_elinks, settings=s)
        out[r.name] = r
    return out


def label(name: str) -> str:
    """A readable row label for a ``chip_...`` name."""
    body, _, e = name.rpartition("_e")
    if body.startswith("chip_ts_"):
        return f"chip threshold sum {body[8:]} MIP ({e} e-links, buffer)"
    if body.startswith("chip_stc"):
        t = int(body[8:])
        return f"chip STC type {t} {stc_algo.TYPE_NAMES[t]} ({e} e-links)"
    if body == "chip_bc":
        return f"chip best choice, {bc_algo.TC_PER_LINKS[int(e)]} cells ({e} e-links)"
    return name
