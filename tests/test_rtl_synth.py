"""`encoder synth`: yosys area/timing report of a small generated design."""

from __future__ import annotations

import json


from encoder.cli import main
from encoder.ir.arithmetic import with_arithmetic
from encoder.ir.synthetic import synthetic_ir
from encoder.rtl_gen import generate, write_design
from encoder.rtl_gen.synth import gate_levels
from rtl_helpers import need_tool


def test_synth_report_counts_every_flip_flop_and_sums_modules(tmp_path, capsys):
    need_tool("yosys")
    ir = synthetic_ir("tiny_conv", "econt", seed=3)
    d = generate(ir, "programmable", 1)
    write_design(d, tmp_path / "design")
    assert main(["synth", str(tmp_path / "design"), "--out", str(tmp_path / "rep")]) == 0
    rep = json.loads((tmp_path / "rep" / "synth.json").read_text())
    text = (tmp_path / "rep" / "synth.txt").read_text()
    # Flip-flops after synthesis = register bits the manifest states (pipeline, valid,
    # configuration fields, read-back register): nothing lost, nothing extra.
    assert rep["flip_flops"] == d.manifest["register_bits"]["total"]
    assert rep["cells_by_type"]["$_DFF_P_"] == rep["flip_flops"]
    # stat's hierarchy total = instances x each module's own transistors.
    assert rep["transistors"] == sum(m["instances"] * m["transistors"] for m in rep["per_module"]) > 0
    muls = [m for m in rep["per_module"] if m["module"].startswith("enc_mul(")]
    assert sum(m["instances"] for m in muls) == d.manifest["multipliers"]["total"]
    assert rep["gate_levels"] > 10
    assert "Estimated transistors" in text and "gate levels" in text
    assert "transistors" in capsys.readouterr().out
    assert main(["synth", str(tmp_path / "design"), "--out", str(tmp_path / "rep")]) == 1   # no overwrite


def test_gate_levels_follow_paths_through_instances():
    """A 3-gate chain module used twice in series, then one gate: 7 levels; a flip-flop cuts paths."""
    chain = {"ports": {"a": {"direction": "input", "bits": [2]}, "y": {"direction": "output", "bits": [5]}},
             "cells": {f"g{i}": {"type": "$_NOT_", "port_directions": {"A": "input", "Y": "output"},
                                 "connections": {"A": [2 + i], "Y": [3 + i]}} for i in range(3)}}
    io = {"A": "input", "Y": "output"}
    top = {"ports": {"x": {"direction": "input", "bits": [10]}, "z": {"direction": "output", "bits": [13]},
                     "q": {"direction": "output", "bits": [21]}},
           "cells": {"u0": {"type": "chain", "port_directions": {"a": "input", "y": "output"},
                            "connections": {"a": [10], "y": [11]}},
                     "u1": {"type": "chain", "port_directions": {"a": "input", "y": "output"},
                            "connections": {"a": [11], "y": [12]}},
                     "n": {"type": "$_NAND_", "port_directions": {"A": "input", "B": "input", "Y": "output"},
                           "connections": {"A": [12], "B": ["1"], "Y": [13]}},
                     "ff": {"type": "$_DFF_P_", "port_directions": {"C": "input", "D": "input", "Q": "output"},
                            "connections": {"C": [30], "D": [13], "Q": [20]}},
                     "after": {"type": "$_NOT_", "port_directions": io, "connections": {"A": [20], "Y": [21]}}}}
    assert gate_levels({"modules": {"top": top, "chain": chain}}, "top") == 7


def test_baseline_comparison_reports_what_the_chip_arithmetic_saves(tmp_path, capsys):
    """Same weights, two arithmetics: the report's savings are the difference of the two synth.json files,
    and flooring every product to the output precision (the chip's rule) makes the design smaller."""
    need_tool("yosys")
    qk = synthetic_ir("tiny_conv", "qkeras", seed=3)
    chip = with_arithmetic(qk, "econt")
    for name, ir in (("qkeras", qk), ("econt", chip)):
        write_design(generate(ir, "constant", 0), tmp_path / name)
    assert main(["synth", str(tmp_path / "qkeras"), "--no-depth"]) == 0
    assert main(["synth", str(tmp_path / "econt"), "--no-depth", "--baseline", str(tmp_path / "qkeras")]) == 0
    out = capsys.readouterr().out
    a = json.loads((tmp_path / "econt" / "synth" / "synth.json").read_text())
    b = json.loads((tmp_path / "qkeras" / "synth" / "synth.json").read_text())
    cmp = json.loads((tmp_path / "econt" / "synth" / "compare.json").read_text())
    t = cmp["figures"]["transistors"]
    assert (t["design"], t["baseline"], t["saved"]) == (a["transistors"], b["transistors"],
                                                        b["transistors"] - a["transistors"])
    assert cmp["design"]["arithmetic"] == "econt" and cmp["baseline"]["arithmetic"] == "qkeras"
    assert t["saved"] > 0
    assert "estimated transistors" in out and (tmp_path / "econt" / "synth" / "compare.txt").is_file()
    assert main(["synth", str(tmp_path / "econt"), "--force", "--baseline", str(tmp_path / "nowhere")]) == 1
    assert "nowhere: no synthesis report" in capsys.readouterr().err
