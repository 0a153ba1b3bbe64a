"""Drivers: module vectors onto the input port, reset, and register writes/reads.

Drivers change inputs just after a rising clock edge; monitors sample on
the falling edge, when every simulator (event-driven Icarus, cycle-based
Verilator) shows settled values. An input driven after rising edge r is
captured at edge r+1.
"""

from __future__ import annotations

import random

from cocotb.triggers import FallingEdge, Lock, RisingEdge

from .bus import Bus


IDLE_BX_RESET_EVERY = 64


class InputDriver:
    """Drives vectors with a given number of idle cycles before each one.

    While valid is low the counts bus carries random bits, so a design that
    looks at data without valid shows up as a mismatch. On designs with
    framing, bx_reset is high on about one idle cycle in
    ``IDLE_BX_RESET_EVERY`` (seeded): the BX counter must take it without
    data, as the chip's does (``idle_bx_resets = False`` keeps it low, for
    replays that set the counter up with vectors). The design's initiation interval ``ii``
    is honoured: at least ii - 1 idle cycles between two vectors (a plan's
    back-to-back vectors come every ii cycles), unless ``send(..., early=True)``
    drives one too soon on purpose.
    """

    def __init__(self, bus: Bus, rng: random.Random, ii: int = 1):
        self.bus = bus
        self.rng = rng
        self.ii = ii
        self.rise = RisingEdge(bus.clk)
        self.sent: list[int] = []            # vector ids in the order they were driven (and taken)
        self.idle_since = ii                 # idle cycles driven since the last vector
        self.idle_bx_resets = True

    async def idle(self, cycles: int) -> None:
        b = self.bus
        for _ in range(cycles):
            await self.rise
            b.in_valid.value = 0
            b.in_counts.handle.value = b.junk(self.rng)
            if b.framing:
                b.bx_reset.value = int(self.idle_bx_resets and self.rng.randrange(IDLE_BX_RESET_EVERY) == 0)
        self.idle_since += cycles

    async def hold(self, cycles: int) -> None:
        """Idle cycles with the data bus left as it is: a long wait (a live weight reload) without the
        cost of the datapath computing junk every cycle in simulation."""
        if cycles <= 0:
            return
        await self.rise
        self.bus.in_valid.value = 0
        if self.bus.framing:
            self.bus.bx_reset.value = 0
        for _ in range(cycles - 1):
            await self.rise
        self.idle_since += cycles

    async def send(self, vector_id: int, word: int, gap: int = 0, bx_reset: int = 0, early: bool = False,
                   exact: bool = False) -> None:
        """``early``: drive it after ``gap`` idle cycles although that is sooner than the initiation
        interval allows (the design must ignore it; not recorded as sent). ``exact``: after exactly
        ``gap`` idle cycles, the caller having counted them from the last vector taken."""
        if not (early or exact):
            gap = max(gap, self.ii - 1 - self.idle_since)
        if gap:
            await self.idle(gap)
        await self.rise
        self.bus.in_valid.value = 1
        self.bus.in_counts.handle.value = word
        if self.bus.framing:
            self.bus.bx_reset.value = bx_reset
        if not early:
            self.sent.append(vector_id)
            self.idle_since = 0


class ResetDriver:
    """Asserts reset for a number of cycles; inputs stay valid with random data meanwhile."""

    def __init__(self, bus: Bus, rng: random.Random):
        self.bus = bus
        self.rng = rng
        self.rise = RisingEdge(bus.clk)

    async def pulse(self, cycles: int, valid_during: bool = True, cfg_writes: tuple = ()) -> None:
        """``cfg_writes``: (address, word) pairs written on the configuration port during the reset, one a
        cycle from its first cycle (the caller holds the port); otherwise cfg_we stays low."""
        b = self.bus
        await self.rise
        b.rst.value = b.rst_on
        for k in range(cycles):
            b.in_valid.value = int(valid_during)
            b.in_counts.handle.value = b.junk(self.rng)
            if b.framing:
                b.bx_reset.value = self.rng.getrandbits(1)
            if b.has_cfg:
                b.cfg_we.value = int(k < len(cfg_writes))
                if k < len(cfg_writes):
                    b.cfg_addr.value, b.cfg_wdata.value = cfg_writes[k]
            await self.rise
        if b.has_cfg:
            b.cfg_we.value = 0
        b.rst.value = 1 - b.rst_on
        b.in_valid.value = 0
        if b.framing:
            # Held low after the reset: the count must restart from the reset itself.
            b.bx_reset.value = 0


class ConfigDriver:
    """Writes and reads configuration registers, one address per cycle (pipelined reads)."""

    def __init__(self, bus: Bus, read_latency: int):
        self.bus = bus
        self.read_latency = read_latency
        self.lock = Lock()
        self.rise = RisingEdge(bus.clk)
        self.fall = FallingEdge(bus.clk)

    async def write(self, words: dict[int, int]) -> None:
        """The words, one a cycle. Writers running side by side (a live weight reload, framing
        register writes) take turns: each call holds the port to its end."""
        await self.lock.acquire()
        try:
            b = self.bus
            for addr, word in words.items():
                await self.rise
                b.cfg_we.value = 1
                b.cfg_addr.value = addr
                b.cfg_wdata.value = word
            await self.rise
            b.cfg_we.value = 0
        finally:
            self.lock.release()

    async def read(self, addresses: list[int]) -> dict[int, object]:
        """Address -> read-back value (a LogicArray: may hold X/Z)."""
        b = self.bus
        lat = self.read_latency
        out = {}
        issued = list(addresses) + [addresses[-1]] * lat if addresses else []
        await self.lock.acquire()
        try:
            for i, addr in enumerate(issued):
                await self.rise
                b.cfg_we.value = 0
                b.cfg_addr.value = addr
                await self.fall
                j = i - lat
                if 0 <= j < len(addresses):
                    out[addresses[j]] = b.cfg_rdata.value
        finally:
            self.lock.release()
        return out
