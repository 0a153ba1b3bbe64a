"""Shared by the netlist proof tests: tiny_conv mapped to SKY130 HD, and a netlist with one gate changed."""

from pathlib import Path

from encoder.ir.synthetic import synthetic_ir
from encoder.pdk import resolve
from encoder.rtl_gen.design import generate, write_design
from encoder.silicon.mapping import map_design
from encoder.verif import gates
from encoder.verif.design import load_design
from encoder.verify import netlist
from rtl_helpers import need_tool


def map_tiny_conv(root: Path, arithmetic: str):
    """(design, netlist text, Liberty file) of tiny_conv, constant weights, seed 3, mapped under ``root``."""
    need_tool("yosys")
    write_design(generate(synthetic_ir("tiny_conv", arithmetic, seed=3), "constant", 0), root / "design")
    m = map_design(root / "design", resolve("sky130hd"), root / "synth", progress=False)
    d = load_design(root / "design")
    lib = root / "cells.lib"
    lib.write_text(gates.library("sky130hd").text())
    return d, m.netlist.read_text(), lib


def one_gate_swapped(text: str, name: str) -> str:
    """The netlist with the first nand2/nor2/xnor2 of module ``name`` made another of the same pins (A, B, Y)."""
    body = netlist.split(text)[name]
    old, new = next((f"sky130_fd_sc_hd__{a} ", f"sky130_fd_sc_hd__{b} ") for a, b in
                    (("nand2_1", "nor2_1"), ("nor2_1", "nand2_1"), ("xnor2_1", "nand2_1"))
                    if f"sky130_fd_sc_hd__{a} " in body)
    return text.replace(body, body.replace(old, new, 1))
