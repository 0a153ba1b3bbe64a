"""RTL against the SKY130 netlist, module by module with submodules cut (encoder.verify.netlist), on
tiny_conv with constant weights (mapped once, about 20 s).

Every module below the top is proven equal to the RTL module it came from (the top, sequential, is
left to `make signoff`); a ``$paramod`` module is traced to its primitive and parameters; a gate
changed inside a neuron, and two wires crossed where a layer feeds a (cut) neuron, are each found.
"""

import re
import tempfile
from pathlib import Path

import pytest

from encoder.ir.synthetic import synthetic_ir
from encoder.pdk import resolve
from encoder.rtl_gen.design import generate, write_design
from encoder.silicon.mapping import map_design
from encoder.verif import gates
from encoder.verif.design import load_design
from encoder.verify import equiv, netlist
from rtl_helpers import need_tool


@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    need_tool("yosys")
    root = tmp_path_factory.mktemp("netlist")
    write_design(generate(synthetic_ir("tiny_conv", "econt", seed=3), "constant", 0), root / "design")
    m = map_design(root / "design", resolve("sky130hd"), root / "synth", progress=False)
    d = load_design(root / "design")
    lib = root / "cells.lib"
    lib.write_text(gates.library("sky130hd").text())
    return d, m.netlist.read_text(), lib


def _compare(mapped, text, only):
    d, _, lib = mapped
    with tempfile.TemporaryDirectory() as tmp:
        return netlist.compare(text, d.top, d.dir, equiv.rel_sources(d), lib, Path(tmp), 120, log=lambda *_: None,
                               only=only)


def test_every_module_below_the_top_equals_its_rtl_module_and_paramods_are_traced(mapped):
    d, text, _ = mapped
    items = netlist.plan(text, d.top, d.dir, equiv.rel_sources(d))
    assert {i["netlist"] for i in items} == set(netlist.split(text))          # every netlist module planned
    requants = [i for i in items if i["netlist"].startswith("$paramod")]
    assert requants and all(i["rtl"] == "enc_requant" and i["params"]["IN_BITS"] in (14, 15) for i in requants)
    rows = _compare(mapped, text, lambda n: n != d.top)
    assert len(rows) == len(items) - 1
    assert all(r["result"] == "equivalent" for r in rows), [r for r in rows if r["result"] != "equivalent"]


def test_a_changed_gate_in_a_neuron_is_not_equivalent(mapped):
    d, text, _ = mapped
    name = f"{d.top}_dense_j1"
    body = netlist.split(text)[name]
    old, new = next((f"sky130_fd_sc_hd__{a} ", f"sky130_fd_sc_hd__{b} ") for a, b in
                    (("nand2_1", "nor2_1"), ("nor2_1", "nand2_1"), ("xnor2_1", "nand2_1"))
                    if f"sky130_fd_sc_hd__{a} " in body)                 # same pins: A, B, Y
    bad = text.replace(body, body.replace(old, new, 1))
    rows = _compare(mapped, bad, lambda n: n == name)
    assert [r["result"] for r in rows] == ["not equivalent"]


def test_two_wires_crossed_into_a_cut_neuron_are_not_equivalent(mapped):
    d, text, _ = mapped
    name = f"{d.top}_dense"
    body = netlist.split(text)[name]
    inst = next(i for i in netlist.instances(body, set(netlist.split(text))) if i[1] == "u_dense_j0")
    block = body[inst[2]:inst[3]]
    conns = re.findall(r"\.\\\S+\s*\(([^()]*)\)", block)
    a, b = next((x, y) for x, y in zip(conns, conns[1:]) if x.strip() != y.strip())
    crossed = block.replace(f"({a})", "(@@)", 1).replace(f"({b})", f"({a})", 1).replace("(@@)", f"({b})", 1)
    bad = text.replace(body, body[:inst[2]] + crossed + body[inst[3]:])
    rows = _compare(mapped, bad, lambda n: n == name)
    assert [r["result"] for r in rows] == ["not equivalent"]
