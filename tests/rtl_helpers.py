"""Shared helpers of the tests/test_rtl_* files: designs to check and tool runners."""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from encoder.ir import load_ir
from encoder.ir.synthetic import synthetic_ir

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
