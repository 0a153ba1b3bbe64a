"""cocotb test module: one regression per shard, driven by the shard's plan.

The runner points ENCODER_SIM_SHARD at the shard directory holding
plan.json and plan.npz.
"""

from __future__ import annotations

import os
from pathlib import Path

import cocotb

from .testbench import EncoderTestbench


@cocotb.test()
async def regression(dut):
    """Reset, weight load and read-back, vectors against the golden model, mid-stream reset and reload;
    with framing, every e-link frame against the framed golden outputs."""
    tb = EncoderTestbench(dut, Path(os.environ["ENCODER_SIM_SHARD"]))
    res = await tb.run()
    frames = (f"{res['frame_mismatches']} mismatching frames, {res['n_unexpected_frames']} stale frames, "
              if "frame_mismatches" in res else "")
    assert res["errors"] == 0, (
        f"{res['mismatches']} mismatching vectors, {res['n_unexpected_outputs']} stale outputs, {frames}"
        f"{res['assertions']['violations']} protocol assertion violations (first: {res['assertions']['first'][:1]}), "
        f"{len(res['x_events'])} X/Z samples, {len(res['readback_errors'])} register read-back errors, "
        f"harness: {res['harness_errors']}")
