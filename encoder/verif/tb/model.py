"""The reference model: the golden model run on what the input monitor saw.

Each observed input is tagged with the model (weight set) the design holds
at that moment; expected outputs are computed in batches, because one call
of the vectorised golden model on many modules costs about as much as on
one.

With a ``FrameSpec`` (designs with the e-link framing block) every input
also gives an expected frame: its golden latents and module-sum code framed
by ``encoder.econt.framing.frame_words``, the spec checked against the
chip's output words, with the BX-counter field of the chip's semantics
(``framing.bx_fields_by_cycle``): the counter counts every crossing, with
data or not, and bx_reset is taken on any cycle, so the input monitor
reports every bx_reset cycle and the first cycle after each design reset
(which restarts the count at 0, sending no 31). A crossing is ``crossing``
clock cycles (the initiation interval of a --reuse design); a bx_reset
starts one, which sends 31, and the k-th crossing after it sends k mod 16.

The frame also depends on the framing registers (e-link count, latent mask)
as they stand when the BX reaches the framing block: the configuration
monitor reports every change with its cycle, and a BX sampled at cycle c is
framed with the last value written before cycle c + latency (the cycle its
latents are on the outputs; a write in that same cycle lands on the clock
edge that registers the frame, too late for it). An expected frame's words
are therefore worked out only when it is due, once every write that can
touch it has been seen.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from dataclasses import dataclass

import numpy as np

from ... import golden
from ...econt import framing
from ...ir import EncoderIR
from .monitor import InputTxn

BX_COUNT_MODULO = 16            # the BX counter field counts in its low 4 bits


@dataclass
class ExpectedTxn:
    seq: int                    # position among all observed inputs (matches the driver's order)
    cycle: int                  # cycle the input was sampled
    counts: list[int]
    model: int                  # index of the weight set that was loaded
    latents: list[int]
    sum_code: int


@dataclass(frozen=True)
class FrameSpec:
    """What the expected frames need from the design: e-links on the port, the framing registers'
    reset values, field widths, and the latency at which a BX reaches the framing block."""

    elinks: int
    mask: int                   # latent mask register's reset value
    latent_bits: int
    sum_code_bits: int
    count: int = 0              # e-link count register's reset value (0: the port's e-links)
    latency: int = 0            # cycles from valid_in to the encoder outputs (valid_out)
    crossing: int = 1           # clock cycles per crossing (BX)


@dataclass
class ExpectedFrame:
    seq: int
    cycle: int
    counts: list[int]
    model: int
    bx_reset: int
    bx_field: int
    latents: list[int]
    sum_code: int
    frame: int | None = None    # e-link 0 (TX_DATA_0) in the top 32 bits; None until resolved
    count: int = -1             # the framing registers in force for this BX (set when resolved)
    mask: int = -1


class ReferenceModel:
    def __init__(self, models: list[EncoderIR], frames: FrameSpec | None = None):
        self.models = models
        self.active = 0
        # Designs with shadow banks: the set written into the shadow (the testbench says), and the
        # switches a COMMIT schedules: (first input cycle that meets the new set, its model).
        self.shadow: int | None = None
        self.commit_delay = 2
        self.switches: deque[tuple[int, int]] = deque()
        self.commits_seen: list[int] = []
        self.frame_spec = frames
        self._pending: list[tuple[int, InputTxn, int, int]] = []
        self._seq = 0
        self._bx_start = 0          # cycle that started the count: a design reset's end or a bx_reset
        self._bx_start_reset = False    # started by a bx_reset: its crossing sends 31
        self.expected: deque[ExpectedTxn] = deque()
        self.frames: deque[ExpectedFrame] = deque()
        # Framing registers over time: (cycle of the change, count, mask), in cycle order.
        if frames is not None:
            self._cfg_cycles = [-(1 << 62)]
            self._cfg_values = [(frames.count or frames.elinks, frames.mask)]

    def on_config(self, cycle: int, count: int, mask: int) -> None:
        """Configuration monitor subscriber: the framing registers hold (count, mask) after ``cycle``."""
        self._cfg_cycles.append(cycle)
        self._cfg_values.append((count, mask))

    def config_for(self, cycle: int) -> tuple[int, int]:
        """(count, mask) that frames the BX sampled at ``cycle``: the last change before cycle + latency."""
        k = bisect_left(self._cfg_cycles, cycle + self.frame_spec.latency) - 1
        return self._cfg_values[k]

    def commit(self, cycle: int) -> None:
        """Configuration monitor subscriber: a COMMIT write sampled at ``cycle``. Inputs sampled
        ``commit_delay`` cycles later or after meet the shadow's weight set."""
        self.commits_seen.append(cycle)
        if self.shadow is not None:
            self.switches.append((cycle + self.commit_delay, self.shadow))

    def write(self, txn: InputTxn) -> None:
        """Input monitor subscriber."""
        while self.switches and txn.cycle >= self.switches[0][0]:
            self.active = self.switches.popleft()[1]
        bx_field = 0
        if self.frame_spec is not None:
            if txn.bx_reset:           # the monitor reported it already; the same cycle again changes nothing
                self.on_bx_reset(txn.cycle)
            k = (txn.cycle - self._bx_start) // self.frame_spec.crossing
            bx_field = framing.BX_RESET_FIELD if self._bx_start_reset and k == 0 else k % BX_COUNT_MODULO
        self._pending.append((self._seq, txn, self.active, bx_field))
        self._seq += 1

    def on_run(self, cycle: int) -> None:
        """Input monitor: ``cycle`` is the first after a design reset, phase 0 of BX 0."""
        self._bx_start, self._bx_start_reset = cycle, False

    def on_bx_reset(self, cycle: int) -> None:
        """Input monitor: bx_reset high in ``cycle`` (outside reset, valid_in or not)."""
        self._bx_start, self._bx_start_reset = cycle, True

    def on_reset(self, cycle: int) -> None:
        """Input monitor reset subscriber (the counter restarts when the reset ends: ``on_run``)."""

    def compute(self) -> None:
        """Turn every pending input into an expected output, in arrival order."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        out: list[ExpectedTxn | None] = [None] * len(pending)
        tags = np.array([m for _, _, m, _ in pending])
        for m in np.unique(tags):
            idx = np.flatnonzero(tags == m)
            counts = np.array([pending[i][1].counts for i in idx], dtype=np.int64)
            res = golden.run(self.models[int(m)], counts=counts)
            for k, i in enumerate(idx):
                seq, txn, _, _ = pending[i]
                out[i] = ExpectedTxn(seq, txn.cycle, txn.counts, int(m),
                                     [int(v) for v in res.latents[k]], int(res.sum_code[k]))
        self.expected.extend(out)
        if self.frame_spec is not None:
            self._frames(out, [bx for _, _, _, bx in pending], [txn.bx_reset for _, txn, _, _ in pending])

    def _frames(self, exp: list[ExpectedTxn], bx_fields: list[int], bx_resets: list[int]) -> None:
        for e, bx, reset in zip(exp, bx_fields, bx_resets):
            self.frames.append(ExpectedFrame(e.seq, e.cycle, e.counts, e.model, int(reset), bx, e.latents,
                                             e.sum_code))

    def resolve(self, frames: list[ExpectedFrame]) -> None:
        """Work out the words of frames whose framing registers are settled, batched by configuration."""
        f = self.frame_spec
        groups: dict[tuple[int, int], list[ExpectedFrame]] = {}
        for e in frames:
            if e.frame is None:
                groups.setdefault(self.config_for(e.cycle), []).append(e)
        for (count, mask), group in groups.items():
            # The frame carries each latent's bits as the port does: two's complement when signed.
            lat = np.array([e.latents for e in group], dtype=np.int64) & ((1 << f.latent_bits) - 1)
            words = framing.port_words(lat, [e.sum_code for e in group], [e.bx_field for e in group], count,
                                       f.elinks, mask, f.latent_bits, f.sum_code_bits)
            for e, row in zip(group, words.tolist()):
                value = 0
                for w in row:
                    value = (value << framing.ELINK_BITS) | w
                e.frame, e.count, e.mask = value, count, mask
