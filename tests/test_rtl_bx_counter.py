"""The BX counter of a generated design with e-link framing counts every crossing, as the ECON-T's does.

A constant-weight tiny_conv design (`--elinks 2`) is driven by a plain Verilog testbench with data
on some crossings only, bx_reset on crossings without data, and long idle stretches; the BX field of
every frame (the top 5 bits of TX_DATA_0) is compared with fields worked out by hand from the
schedule, not by the project's models. With `--reuse 3` a crossing is 3 clock cycles (the design
takes data at any phase of one), and the design's latency (10 cycles) is not a whole number of
crossings, so the counter's reset phase matters. A copy with the old behaviour planted (a counter of
data crossings that takes bx_reset only with valid_in) gives other fields, so the check can fail.
Icarus always, Verilator (--binary --timing) for the plain design.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from encoder.ir.synthetic import synthetic_ir
from encoder.rtl_gen import generate, write_design
from rtl_helpers import need_tool, run
from verif_helpers import plant

# Input-side cycles after reset (the first cycle out of reset is 0): data, with its bx_reset flag.
# One crossing per cycle; bx_reset alone at 6, 31 and 32.
SCHEDULE_R1 = {"data": {0: 0, 5: 0, 9: 0, 10: 1, 11: 0, 30: 0, 33: 0, 50: 0}, "bx_reset_alone": (6, 31, 32),
               "cycles": 60}
# By hand: 0 and 5 count from the reset; 6 restarts (31 there), so 9 is 3; 10 sends 31, 11 is 1,
# 30 is 20 mod 16 = 4; 32 restarts again: 33 is 1, 50 is 18 mod 16 = 2.
FIELDS_R1 = [0, 5, 3, 31, 1, 4, 1, 2]
# What a counter of data crossings taking bx_reset only with data sends instead.
FIELDS_R1_DATA_ONLY = [0, 1, 2, 31, 1, 2, 3, 4]

# --reuse 3: a crossing every 3 cycles from the reset and from each bx_reset. Data at any phase;
# bx_reset alone at 13.
SCHEDULE_R3 = {"data": {0: 0, 4: 0, 9: 0, 14: 0, 17: 0, 23: 0, 26: 1, 29: 0, 80: 0}, "bx_reset_alone": (13,),
               "cycles": 90}
# By hand: 0 -> BX 0, 4 -> 1, 9 -> 3; 13 starts a crossing, so 14 (in it) sends 31, 17 is 1, 23 is 3;
# 26 sends 31, 29 is 1, 80 is (80 - 26) // 3 = 18 -> 2.
FIELDS_R3 = [0, 1, 3, 31, 1, 3, 31, 1, 2]


@pytest.fixture(scope="module")
def designs(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bx_counter")
    ir = synthetic_ir("tiny_conv", "econt", seed=1)
    return {"r1": write_design(generate(ir, "constant", 0, elinks=2), d / "r1"),
            "r3": write_design(generate(ir, "constant", reuse=3, elinks=2, cuts=["charges"]), d / "r3")}


def _testbench(m: dict, schedule: dict) -> str:
    """Per cycle: valid_in and bx_reset from the schedule (random-looking charges with data); at each
    falling edge, the cycle and the BX field of a frame on tx_data."""
    ports = {p["role"]: p for p in m["ports"]}
    cw, tw = ports["in_counts"]["width"], ports["out_tx_data"]["width"]
    n = schedule["cycles"]
    rows = []
    for c in range(n):
        flag = schedule["data"].get(c)
        valid = int(flag is not None)
        reset = int(bool(flag) or c in schedule["bx_reset_alone"])
        charges = (0x9E3779B97F4A7C15 * (c + 1)) & ((1 << min(cw, 64)) - 1)     # any data will do
        rows.append(f"valid_in = 1'b{valid}; bx_reset = 1'b{reset}; charges = {cw}'h{charges:x};")
    extra = ["    wire overrun;"] if "out_overrun" in ports else []
    conns = ["clk", "rst", "valid_in", "charges", "valid_out", "latents", "sum_code", "cfg_we", "cfg_addr",
             "cfg_wdata", "cfg_rdata", "bx_reset", "tx_valid", "tx_data"] + (["overrun"] if extra else [])
    aw, dw = ports["cfg_addr"]["width"], ports["cfg_wdata"]["width"]
    body = "\n".join(f"        {r} step;" for r in rows)
    return f"""`timescale 1ns/1ps
module tb;
    reg clk = 1'b0;
    always #5 clk = ~clk;
    reg rst = 1'b1, valid_in = 1'b0, bx_reset = 1'b0, cfg_we = 1'b0;
    reg [{cw - 1}:0] charges = {cw}'d0;
    reg [{aw - 1}:0] cfg_addr = {aw}'d0;
    reg [{dw - 1}:0] cfg_wdata = {dw}'d0;
    wire valid_out, tx_valid;
    wire [{ports['out_latents']['width'] - 1}:0] latents;
    wire [{ports['out_sum_code']['width'] - 1}:0] sum_code;
    wire [{dw - 1}:0] cfg_rdata;
    wire [{tw - 1}:0] tx_data;
{chr(10).join(extra)}
    {m['top']} dut ({', '.join(f'.{c}({c})' for c in conns)});
    integer cycle = 0;
    // Sample what the last rising edge gave, then drive this cycle's inputs.
    task step;
        begin
            @(negedge clk);
            cycle = cycle + 1;
            if (tx_valid) $display("frame %0d %0d", cycle, tx_data[{tw - 1}:{tw - 5}]);
        end
    endtask
    initial begin
        // bx_reset and valid_in high during reset: both must be forgotten.
        valid_in = 1'b1; bx_reset = 1'b1;
        repeat (3) @(negedge clk);
        rst = 1'b0;
        cycle = 0;   // the row of cycle c is sampled at cycle c + 1 and its frame printed at c + latency
{body}
        valid_in = 1'b0; bx_reset = 1'b0;
        repeat ({m['framing']['latency'] + 3}) step;
        $finish;
    end
endmodule
"""


def _frames(design: Path, schedule: dict, tmp: Path, simulator: str = "icarus") -> list[tuple[int, int]]:
    """(cycle, BX field) of every frame; the cycle is that of the schedule's row that went in, plus the
    frame latency."""
    m = json.loads((design / "manifest.json").read_text())
    tmp.mkdir(parents=True, exist_ok=True)
    tb = tmp / "tb.v"
    tb.write_text(_testbench(m, schedule))
    srcs = [str(design / s) for s in m["sources"]]
    if simulator == "icarus":
        need_tool("iverilog")
        r = run(["iverilog", "-g2005", "-o", str(tmp / "tb.vvp"), "-s", "tb", str(tb), *srcs])
        assert r.returncode == 0, r.stderr
        r = run(["vvp", "-n", str(tmp / "tb.vvp")])
    else:
        need_tool("verilator")
        r = run(["verilator", "--binary", "--timing", "-Wno-fatal", "-Wno-lint", "-Wno-style", "--top-module", "tb",
                 "-Mdir", str(tmp / "obj"), "-o", "sim", str(tb), *srcs], timeout=900)
        assert r.returncode == 0, r.stderr[-3000:]
        r = run([str(tmp / "obj" / "sim")])
    assert r.returncode == 0, r.stderr[-3000:]
    return [(int(a), int(b)) for _, a, b in (line.split() for line in r.stdout.splitlines()
                                             if line.startswith("frame "))]


def _check(frames: list[tuple[int, int]], schedule: dict, fields: list[int], latency: int) -> None:
    assert [f for _, f in frames] == fields
    # each frame comes out the manifest's latency after its data went in
    assert [c for c, _ in frames] == [c + latency for c in sorted(schedule["data"])]


def test_bx_field_counts_idle_crossings_and_takes_bx_reset_without_data(designs, tmp_path):
    m = json.loads((designs["r1"] / "manifest.json").read_text())
    frames = _frames(designs["r1"], SCHEDULE_R1, tmp_path)
    _check(frames, SCHEDULE_R1, FIELDS_R1, m["framing"]["latency"])


@pytest.mark.slow
def test_bx_field_counts_idle_crossings_on_verilator_too(designs, tmp_path):
    m = json.loads((designs["r1"] / "manifest.json").read_text())
    frames = _frames(designs["r1"], SCHEDULE_R1, tmp_path, "verilator")
    _check(frames, SCHEDULE_R1, FIELDS_R1, m["framing"]["latency"])


def test_bx_field_with_crossings_of_three_cycles_and_a_latency_of_no_whole_crossings(designs, tmp_path):
    m = json.loads((designs["r3"] / "manifest.json").read_text())
    assert m["initiation_interval"] == 3 and m["latency"] % 3 != 0 and m["framing"]["crossing_cycles"] == 3
    frames = _frames(designs["r3"], SCHEDULE_R3, tmp_path)
    _check(frames, SCHEDULE_R3, FIELDS_R3, m["framing"]["latency"])


def test_a_counter_of_data_crossings_fails_the_check(designs, tmp_path):
    """The old behaviour planted back: the count advances only with data, bx_reset only with valid_in."""
    d = plant(designs["r1"], tmp_path / "planted")
    top = f"{json.loads((d / 'manifest.json').read_text())['top']}.v"
    for file, old, new in (
            ("enc_elink_frame.v", "else if (crossing_end) bx_count <= bx_count + 4'd1;",
             "else if (crossing_end && valid) bx_count <= bx_count + 4'd1;"),
            ("enc_elink_frame.v", "if (rst) bx_count <= COUNT_RESET;", "if (rst) bx_count <= 4'd0;"),
            (top, "{bx_reset_pipe[0:0], bx_reset}", "{bx_reset_pipe[0:0], valid_in && bx_reset}")):
        text = (d / file).read_text()
        assert text.count(old) == 1, old
        (d / file).write_text(text.replace(old, new))
    frames = _frames(d, SCHEDULE_R1, tmp_path / "sim")
    assert [f for _, f in frames] == FIELDS_R1_DATA_ONLY != FIELDS_R1
