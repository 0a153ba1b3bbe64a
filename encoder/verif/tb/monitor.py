"""Monitors: what the design was given and what it gave back, stamped with the cycle.

Both sample on the falling edge, when every simulator (event-driven Icarus,
cycle-based Verilator) shows settled values. The cycle number is the count
of clock periods since time zero, so stamps of different monitors compare
directly: an input sampled at cycle k and its output sampled at cycle
k + latency. One ``Sampler`` task wakes on each falling edge and lets every
monitor sample in turn: a wake-up costs more Python time than the sampling.
"""

from __future__ import annotations

from dataclasses import dataclass

import cocotb
from cocotb.simtime import get_sim_time
from cocotb.triggers import FallingEdge

from .bus import Bus, bits, known


@dataclass
class InputTxn:
    cycle: int
    counts: list[int]
    bx_reset: int = 0           # designs with framing: the BX-counter reset taken with this input


@dataclass
class FrameTxn:
    cycle: int
    frame: int                  # tx_data: e-link 0 (TX_DATA_0) in the top 32 bits


@dataclass
class OutputTxn:
    cycle: int
    latents: list[int]
    sum_code: int


class Sampler:
    """Calls ``sample(cycle)`` of each monitor at every falling edge of the clock."""

    def __init__(self, clk, period_steps: int):
        self.fall = FallingEdge(clk)
        self.period = period_steps
        self.monitors = []
        self._task = None

    def start(self) -> None:
        if self._task is None:
            self._task = cocotb.start_soon(self._run())

    async def _run(self) -> None:
        monitors = self.monitors
        while True:
            await self.fall
            cycle = get_sim_time("step") // self.period
            for m in monitors:
                m.sample(cycle)


class InputMonitor:
    """Valid inputs go to the subscribers (the reference model); reset assertions to the reset subscribers.

    With an initiation interval ``ii`` above 1 the monitor applies the design's stated rule: a valid
    input fewer than ii cycles after the last one taken is ignored (not sent to the model) and
    listed in ``ignored``; the design must raise its overrun flag the cycle after each.

    On designs with framing the BX counter runs whatever valid_in is: ``run_subscribers`` get the
    first cycle after each reset, ``bx_reset_subscribers`` every cycle with bx_reset high outside
    reset (before that cycle's input, if valid, goes to the subscribers).
    """

    def __init__(self, bus: Bus, ii: int = 1):
        self.bus = bus
        self.ii = ii
        self.on = str(bus.rst_on)
        self.subscribers = []
        self.reset_subscribers = []
        self.run_subscribers = []
        self.bx_reset_subscribers = []
        self.bx_resets = 0              # bx_reset cycles seen outside reset
        self.count = 0
        self.in_reset = False
        self.last_taken: int | None = None
        self.ignored: list[int] = []
        # Inputs the design must refuse (weights not committed yet): counted, not passed on.
        self.blocked = False
        self.blocked_count = 0

    def sample(self, cycle: int) -> None:
        b = self.bus
        rst = bits(b.rst)
        if rst == self.on or not known(rst):
            if not self.in_reset:
                for fn in self.reset_subscribers:
                    fn(cycle)
            self.in_reset = True
            self.last_taken = None
            return
        if self.in_reset:
            for fn in self.run_subscribers:
                fn(cycle)
        self.in_reset = False
        if b.framing and bits(b.bx_reset) == "1":
            self.bx_resets += 1
            for fn in self.bx_reset_subscribers:
                fn(cycle)
        if bits(b.in_valid) == "1" and self.blocked:
            self.blocked_count += 1
            return
        if bits(b.in_valid) == "1":
            if self.last_taken is not None and cycle - self.last_taken < self.ii:
                self.ignored.append(cycle)
                return
            self.last_taken = cycle
            word = bits(b.in_counts.handle)
            txn = InputTxn(cycle, b.in_counts.unpack(int(word, 2) if known(word) else 0),
                           int(bits(b.bx_reset) == "1") if b.framing else 0)
            self.count += 1
            for fn in self.subscribers:
                fn(txn)


class OverrunMonitor:
    """The cycles in which the design's overrun flag is high."""

    def __init__(self, bus: Bus):
        self.bus = bus
        self.cycles: list[int] = []

    def sample(self, cycle: int) -> None:
        if bits(self.bus.overrun) == "1":
            self.cycles.append(cycle)


class CommitMonitor:
    """COMMIT writes on the configuration port go to the subscribers (the reference model), stamped
    with the cycle like the inputs, so that the switch of weight sets is placed by what the design
    was given, not by when the testbench meant to give it."""

    def __init__(self, bus: Bus, commit_addr: int):
        self.bus = bus
        self.addr = commit_addr
        self.subscribers = []

    def sample(self, cycle: int) -> None:
        b = self.bus
        if bits(b.cfg_we) != "1" or (b.cfg_rst is not None and bits(b.cfg_rst) != "0"):
            return
        addr, data = bits(b.cfg_addr), bits(b.cfg_wdata)
        if known(addr) and known(data) and int(addr, 2) == self.addr and int(data, 2) & 1:
            for fn in self.subscribers:
                fn(cycle)


class OutputMonitor:
    """Valid outputs go to the scoreboard; with ``check_x`` the data outputs are checked for X/Z every cycle.

    Whether an output may appear at all (after a reset, say) is the
    scoreboard's judgement: it knows which inputs are still in flight.
    """

    def __init__(self, bus: Bus):
        self.bus = bus
        self.subscribers = []
        self.check_x = False
        self.x_events: list[dict] = []
        self.count = 0

    def sample(self, cycle: int) -> None:
        b = self.bus
        if self.check_x:
            vals = [bits(h) for h in b.data_outputs]
            for h, val in zip(b.data_outputs, vals):
                if not known(val) and len(self.x_events) < 100:
                    self.x_events.append({"cycle": cycle, "port": h._name, "value": val})
            valid, lat, sc = vals[:3]       # then the tx ports, on designs with framing
        else:
            valid = bits(b.out_valid)
            if valid != "1":
                return
            lat, sc = bits(b.out_latents.handle), bits(b.out_sum_code)
        if valid != "1" or not (known(lat) and known(sc)):
            return                            # an unknown valid or data is logged as an X event
        txn = OutputTxn(cycle, b.out_latents.unpack(int(lat, 2)), int(sc, 2))
        self.count += 1
        for fn in self.subscribers:
            fn(txn)


class ConfigMonitor:
    """Writes to the framing registers, as the pins show them, go to the subscribers (the reference model).

    Each subscriber gets (cycle, e-link count, latent mask) whenever the
    registers change: on a write outside reset, and on every reset cycle
    (rst loads the reset values; a write in a reset cycle is lost).
    """

    def __init__(self, bus: Bus, framing: dict):
        self.bus = bus
        self.on = str(bus.rst_on)
        self.fr = framing
        self.count_addr = int(framing["count_addr"])
        self.mask_addr = int(framing["mask_addr"])
        self.words = int(framing["mask_words"])
        self.word_bits = int(framing["word_bits"])
        self.count_mask = (1 << int(framing["count_bits"])) - 1
        self.mask_all = (1 << int(framing["mask_bits"])) - 1
        self.reset_value = (int(framing["count_reset"]), int(framing["latent_mask"], 16))
        self.count, self.mask = self.reset_value
        self.subscribers = []

    def _publish(self, cycle: int) -> None:
        for fn in self.subscribers:
            fn(cycle, self.count, self.mask)

    def sample(self, cycle: int) -> None:
        b = self.bus
        rst = bits(b.rst)
        if rst == self.on or not known(rst):
            if (self.count, self.mask) != self.reset_value:
                self.count, self.mask = self.reset_value
                self._publish(cycle)
            return
        if bits(b.cfg_we) != "1":
            return
        addr, data = bits(b.cfg_addr), bits(b.cfg_wdata)
        if not (known(addr) and known(data)):
            return                 # the testbench never drives X; an X write would show as a mismatch
        a, d = int(addr, 2), int(data, 2)
        if a == self.count_addr:
            self.count = d & self.count_mask
        elif self.mask_addr <= a < self.mask_addr + self.words:
            lo = self.word_bits * (a - self.mask_addr)
            word = ((1 << self.word_bits) - 1) << lo
            self.mask = (self.mask & ~word | (d << lo) & word) & self.mask_all
        else:
            return
        self._publish(cycle)


class FrameMonitor:
    """Frames (tx_data while tx_valid is high) go to the frame scoreboard.

    X/Z on tx_valid and tx_data is the output monitor's: it checks every
    data output, the tx ports included.
    """

    def __init__(self, bus: Bus):
        self.bus = bus
        self.subscribers = []
        self.count = 0

    def sample(self, cycle: int) -> None:
        b = self.bus
        if bits(b.tx_valid) != "1":
            return
        data = bits(b.tx_data)
        if not known(data):
            return                            # logged as an X event by the output monitor
        txn = FrameTxn(cycle, int(data, 2))
        self.count += 1
        for fn in self.subscribers:
            fn(txn)
