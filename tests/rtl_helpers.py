"""Shared helpers of the tests/test_rtl_* files: designs to check and tool runners."""

from __future__ import annotations

import json
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from encoder.ir import load_ir
from encoder.ir.synthetic import synthetic_ir
from encoder.rtl_gen import register_image
from encoder.rtl_gen.design import control_writes, has_cfg_reset
from encoder.rtl_gen.top import CFG_BLOCK

DATA = Path(__file__).parent / "data"
CHIP_IR = DATA / "econt_chip_ir_handbuilt.json"
RTL = Path(__file__).resolve().parents[1] / "rtl"

# Designs every lint/elaboration check covers: (label, IR factory)
IR_CASES = {
    "econt_8x8_qkeras": lambda: synthetic_ir("econt_8x8", "qkeras", seed=11),
    "econt_8x8_econt": lambda: synthetic_ir("econt_8x8", "econt", seed=12),
    "econt_4x4x3_qkeras": lambda: synthetic_ir("econt_4x4x3", "qkeras", seed=13),
    "econt_4x4x3_econt": lambda: synthetic_ir("econt_4x4x3", "econt", seed=14),
    "chip": lambda: load_ir(CHIP_IR),
}


@lru_cache(maxsize=None)
def ir_case(label: str):
    return IR_CASES[label]()


def need_tool(name: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        pytest.skip(f"{name} is not installed (make tools)")
    return exe


def run(cmd: list[str], cwd=None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def simulate_primitive(tmp: Path, module: str, params: dict[str, int], inputs: dict[str, tuple[int, np.ndarray]],
                       output: tuple[str, int], deps: tuple[str, ...] = ()) -> np.ndarray:
    """Drive a primitive from rtl/ with every row of ``inputs`` on Icarus; returns the output codes
    (unsigned bit patterns) in row order."""
    need_tool("iverilog")
    tmp.mkdir(parents=True, exist_ok=True)
    n = len(next(iter(inputs.values()))[1])
    lines = ["`timescale 1ns/1ps", "module tb;"]
    for name, (bits, values) in inputs.items():
        lines.append(f"  reg [{bits - 1}:0] {name};")
        lines.append(f"  reg [{bits - 1}:0] mem_{name} [0:{n - 1}];")
        mask = (1 << bits) - 1
        (tmp / f"{name}.hex").write_text("\n".join(f"{int(v) & mask:x}" for v in values) + "\n")
    oname, obits = output
    lines.append(f"  wire [{obits - 1}:0] {oname};")
    par = ", ".join(f".{k}({v})" for k, v in params.items())
    conns = ", ".join(f".{k}({k})" for k in list(inputs) + [oname])
    lines.append(f"  {module} #({par}) dut ({conns});")
    lines.append("  integer i;")
    lines.append("  initial begin")
    for name in inputs:
        lines.append(f'    $readmemh("{tmp / (name + ".hex")}", mem_{name});')
    lines.append(f"    for (i = 0; i < {n}; i = i + 1) begin")
    for name in inputs:
        lines.append(f"      {name} = mem_{name}[i];")
    lines.append(f'      #1 $display("%h", {oname});')
    lines.append("    end")
    lines.append("    $finish;")
    lines.append("  end")
    lines.append("endmodule")
    tb = tmp / "tb.v"
    tb.write_text("\n".join(lines) + "\n")
    srcs = [str(RTL / f"{m}.v") for m in (module,) + deps]
    r = run(["iverilog", "-g2001", "-o", str(tmp / "tb.vvp"), str(tb), *srcs])
    assert r.returncode == 0, r.stderr
    r = run(["vvp", "-n", str(tmp / "tb.vvp")])
    assert r.returncode == 0, r.stderr
    vals = [int(line, 16) for line in r.stdout.split() if all(c in "0123456789abcdef" for c in line)]
    assert len(vals) == n, r.stdout[-500:]
    return np.array(vals, dtype=object)


def to_signed(codes, bits: int) -> np.ndarray:
    return np.array([c - (1 << bits) if c >> (bits - 1) else c for c in codes], dtype=np.int64)


def simulate_design(design_dir: Path, counts: np.ndarray, tmp: Path) -> tuple[np.ndarray, np.ndarray, int]:
    """Stream ``counts`` (one module per clock) through a generated design on Icarus; returns the
    latent codes and module-sum codes of every valid output, in order, and the latency seen (clock
    edges from the edge that takes a module in to the edge that puts its result on the outputs,
    counted as the manifest does).

    A plain Verilog testbench, much cheaper than the cocotb one for many small designs. With
    programmable weights the register image goes straight into the configuration blocks' banks at
    time 0 (writing it through cfg_* field by field re-evaluates every MAC a block feeds on each
    write: minutes for econt_4x4x3; the port itself is covered by the cocotb tests)."""
    need_tool("iverilog")
    tmp.mkdir(parents=True, exist_ok=True)
    m = json.loads((design_dir / "manifest.json").read_text())
    ports = {p["role"]: p for p in m["ports"]}
    cin, lat = ports["in_counts"], ports["out_latents"]
    cw, lw, sw = cin["width"], lat["width"], ports["out_sum_code"]["width"]
    (tmp / "charges.hex").write_text("".join(
        f"{sum(int(v) << (cin['field_width'] * c) for c, v in enumerate(row)):x}\n" for row in counts))
    prog = "cfg_we" in ports
    lines = ["`timescale 1ns/1ps", "module tb;",
             "    reg clk = 1'b0;", "    always #5 clk = ~clk;",
             "    reg rst = 1'b1, valid_in = 1'b0;", f"    reg [{cw - 1}:0] charges = {cw}'d0;",
             f"    reg [{cw - 1}:0] stim [0:{len(counts) - 1}];",
             "    wire valid_out;", f"    wire [{lw - 1}:0] latents;", f"    wire [{sw - 1}:0] sum_code;"]
    conns = ["clk", "rst", "valid_in", "charges", "valid_out", "latents", "sum_code"]
    if "in_bx_reset" in ports:
        lines += ["    wire bx_reset = 1'b0;", "    wire tx_valid;", f"    wire [{ports['out_tx_data']['width'] - 1}:0] tx_data;"]
        conns += ["bx_reset", "tx_valid", "tx_data"]
    if prog:
        aw, dw = ports["cfg_addr"]["width"], ports["cfg_wdata"]["width"]
        lines += ["    reg cfg_we = 1'b0;", f"    reg [{aw - 1}:0] cfg_addr = {aw}'d0;",
                  f"    reg [{dw - 1}:0] cfg_wdata = {dw}'d0;", f"    wire [{dw - 1}:0] cfg_rdata;"]
        conns += ["cfg_we", "cfg_addr", "cfg_wdata", "cfg_rdata"]
        cfg_rst = has_cfg_reset(m)
        if cfg_rst:
            lines.append(f"    wire {cfg_rst} = 1'b0;")
            conns.append(cfg_rst)
    lines += [f"    {m['top']} dut ({', '.join(f'.{c}({c})' for c in conns)});",
              "    integer i, edges = 0, first_in = -1, first_out = -1;",
              "    always @(posedge clk) begin",
              "        edges <= edges + 1;",
              "        if (!rst && valid_in && first_in < 0) first_in <= edges;",
              "    end",
              "    always @(negedge clk) if (valid_out) begin",
              "        if (first_out < 0) first_out = edges - 1;",
              '        $display("out %h %h", latents, sum_code);',
              "    end",
              "    initial begin",
              f'        $readmemh("{tmp / "charges.hex"}", stim);']
    if prog:
        # The image goes into the bank writes land in; the control writes (COMMIT, ENABLE) then put it
        # in force through the port, as on the chip, before the first module.
        lines += [f"        dut.{inst}.written = {bits}'h{value:x};" for inst, bits, value in _config_banks(design_dir, m)]
        lines += ["        repeat (3) @(negedge clk);", "        rst = 1'b0;"]
        for addr, word in control_writes(m):
            lines += [f"        cfg_we = 1'b1; cfg_addr = {addr}; cfg_wdata = {word};", "        @(negedge clk);"]
        lines += ["        cfg_we = 1'b0;", f"        repeat ({m['latency'] + 3}) @(negedge clk);"]
    else:
        lines += ["        repeat (3) @(negedge clk);", "        rst = 1'b0;"]
    lines += [
              f"        for (i = 0; i < {len(counts)}; i = i + 1) begin",
              "            valid_in = 1'b1; charges = stim[i];", "            @(negedge clk);",
              "        end",
              "        valid_in = 1'b0;",
              f"        repeat ({m['latency'] + 3}) @(negedge clk);",
              '        $display("latency %0d", first_out - first_in + 1);',
              "        $finish;", "    end", "endmodule"]
    tb = tmp / "tb.v"
    tb.write_text("\n".join(lines) + "\n")
    r = run(["iverilog", "-g2005", "-o", str(tmp / "tb.vvp"), "-s", "tb", str(tb),
             *[str(design_dir / s) for s in m["sources"]]])
    assert r.returncode == 0, r.stderr
    r = run(["vvp", "-n", str(tmp / "tb.vvp")])
    assert r.returncode == 0, r.stderr
    outs = [line.split()[1:] for line in r.stdout.splitlines() if line.startswith("out ")]
    assert all("x" not in a + b for a, b in outs), "X on the outputs"
    fw, mask = lat["field_width"], (1 << lat["field_width"]) - 1
    codes = np.array([[(int(a, 16) >> (fw * j)) & mask for j in range(lat["fields"])] for a, _ in outs], dtype=np.int64)
    if lat.get("signed") and len(codes):
        codes = np.where(codes >> (fw - 1), codes - (1 << fw), codes)
    sums = np.array([int(b, 16) for _, b in outs], dtype=np.int64)
    latency = int(next(line.split()[1] for line in r.stdout.splitlines() if line.startswith("latency ")))
    return codes, sums, latency


def _config_banks(design_dir: Path, m: dict) -> list[tuple[str, int, int]]:
    """(instance, bits, value) of every configuration block's bank holding the IR's register image
    (blocks of up to 64 fields per group, as encoder.rtl_gen.top.cfg_blocks lays them out)."""
    image = register_image(load_ir(design_dir / m["ir"]))
    out = []
    for g in m["registers"]["groups"]:
        width, mask = g["width"], (1 << g["width"]) - 1
        for k, first in enumerate(range(0, g["count"], CFG_BLOCK)):
            n = min(CFG_BLOCK, g["count"] - first)
            value = sum((image[g["address"] + first + i] & mask) << (width * i) for i in range(n))
            out.append((f"u_cfg_{g['name']}_b{k}", n * width, value))
    return out


def signoff_constant_design(root: Path):
    """(IR, design dir): econt_8x8 with the sign-off's seeded random weights (seed 11), constant weights."""
    from encoder.ir import save_ir
    from encoder.rtl_gen.design import generate_from_file, write_design
    from encoder.verif.presets import preset_ir
    ir = preset_ir(Path(__file__).resolve().parents[1] / "configs" / "econt_8x8.yaml", seed=11)
    save_ir(ir, root / "ir.json")
    return ir, write_design(generate_from_file(root / "ir.json", "constant"), root / "design")
