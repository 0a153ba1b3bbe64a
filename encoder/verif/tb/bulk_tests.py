"""cocotb test module of bulk runs (``encoder sim --bulk``): start the clock, wait for the harness.

The harness (``encoder.verif.bulk``) streams the cycle image and writes the
dumps by itself; Python touches the simulation only here, at the start and
at the end, so the run goes at the simulator's own speed. The clock is
cocotb's C++ clock: no Python runs per cycle.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge

CLOCK_NS = 10


@cocotb.test()
async def bulk(dut):
    """Run the cycle image to its end; the runner compares the dumps with the golden model."""
    t0 = time.monotonic()
    Clock(dut.clk, CLOCK_NS, unit="ns", impl="gpi").start(start_high=False)
    # done is X until the harness's initial block has run (time 0): compare its text, not an int.
    if str(dut.done.value) != "1":
        await RisingEdge(dut.done)
    shard = Path(os.environ["ENCODER_SIM_SHARD"])
    (shard / "bulk_seconds").write_text(f"{time.monotonic() - t0:.3f}\n")
