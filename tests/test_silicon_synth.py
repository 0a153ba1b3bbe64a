"""`encoder synth --liberty`: area, cells and timing of a small design mapped to SKY130 HD.

The figures are checked against independent counts: the cell instances in the
written netlist times the areas in the Liberty file, the flip-flops the
manifest states, and the slack arithmetic of a second OpenSTA run.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from encoder.cli import main
from encoder.ir.synthetic import synthetic_ir
from encoder.pdk import cell_areas, resolve
from encoder.rtl_gen import generate, write_design
from encoder.silicon import timing
from encoder.silicon.flow import constraints_for
from rtl_helpers import need_tool



@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    need_tool("yosys")
    need_tool("sta")
    tmp = tmp_path_factory.mktemp("silicon")
    d = generate(synthetic_ir("tiny_conv", "econt", seed=3), "programmable", 0)
    write_design(d, tmp / "design")
    assert main(["synth", str(tmp / "design"), "--liberty", "sky130hd", "--vectors", "200",
                 "--out", str(tmp / "rep")]) == 0
    return d, tmp


def test_area_is_the_netlist_cells_times_the_liberty_areas(mapped):
    d, tmp = mapped
    rep = json.loads((tmp / "rep" / "synth.json").read_text())
    netlist = (tmp / "rep" / "netlist.v").read_text()
    # Instances per module in the written netlist, multiplied up through the hierarchy.
    modules = dict(re.findall(r"^module\s+(\S+)\s*\((.*?)^endmodule", netlist, re.M | re.S))
    memo: dict[str, Counter] = {}

    def cells(mod: str) -> Counter:
        if mod not in memo:
            c = Counter()
            for typ in re.findall(r"^\s*(\S+)\s+\S+\s*\(", modules[mod], re.M):
                if typ.startswith("sky130_fd_sc_hd__"):
                    c[typ] += 1
                elif typ in modules:
                    for k, v in cells(typ).items():
                        c[k] += v
            memo[mod] = c
        return memo[mod]

    counted = cells(rep["top"])
    areas = cell_areas(resolve("sky130hd").text())
    assert dict(counted) == rep["cells_by_type"]
    assert sum(counted.values()) == rep["cells"]
    assert rep["area_um2"] == pytest.approx(sum(n * areas[c] for c, n in counted.items()), abs=0.01)
    assert rep["gate_equivalents"] == pytest.approx(rep["area_um2"] / areas["sky130_fd_sc_hd__nand2_1"], abs=0.1)
    # Every register bit the manifest states is one library flip-flop, no more.
    dffs = sum(n for c, n in counted.items() if "__df" in c)
    assert rep["flip_flops"] == dffs == d.manifest["register_bits"]["total"]


def test_report_has_the_chip_designers_keys_and_a_readable_text(mapped):
    _, tmp = mapped
    rep = json.loads((tmp / "rep" / "synth.json").read_text())
    for key in ("area_um2", "gate_equivalents", "cells", "flip_flops", "clock_ns", "wns_ns", "tns_ns", "fmax_mhz",
                "critical_path", "power_mw", "energy_nj_per_inference", "activity", "liberty", "tool_versions"):
        assert key in rep, key
    assert rep["clock_ns"] == 25.0 and rep["liberty"]["name"] == "sky130hd"
    assert set(rep["tool_versions"]) == {"yosys", "opensta"}
    cp = rep["critical_path"]
    assert cp["cells"] == sum(s["cells"] for s in cp["through"]) > 5
    assert sum(s["ns"] for s in cp["through"]) == pytest.approx(cp["arrival_ns"], abs=0.2)
    p = rep["power_mw"]
    assert p["total"] == pytest.approx(p["internal"] + p["switching"] + p["leakage"], abs=1e-5)
    assert p["leakage"] > 0 and p["switching"] > 0
    assert rep["energy_nj_per_inference"] == pytest.approx(p["total"] * 25.0 * 1e-3, rel=1e-4)
    a = rep["activity"]
    assert a["mode"] == "simulated" and a["vectors"] == 200 and a["flip_flops_unmatched"] == 0
    assert rep["power_vectorless_mw"]["total"] > 0
    text = (tmp / "rep" / "synth.txt").read_text()
    assert "nJ" in text and "simulated activity" in text
    assert "mm^2" in text and "gate equivalents" in text and "critical path" in text and "wire load" in text


def test_slack_moves_with_the_clock_and_fmax_is_where_it_reaches_zero(mapped):
    _, tmp = mapped
    rep = json.loads((tmp / "rep" / "synth.json").read_text())
    lib = resolve("sky130hd")
    liberty = tmp / "plain.lib"
    liberty.write_text(lib.text())
    text = liberty.read_text()
    slow = timing.analyse(liberty, tmp / "rep" / "netlist.v", rep["top"], constraints_for(lib, text, 1000.0),
                          tmp / "sta_slow")
    fast = timing.analyse(liberty, tmp / "rep" / "netlist.v", rep["top"], constraints_for(lib, text, 2.0),
                          tmp / "sta_fast")
    assert slow.met and not fast.met
    # Same netlist, same paths: the worst slack shifts by exactly the period difference.
    assert slow.wns_ns - fast.wns_ns == pytest.approx(998.0, abs=0.01)
    assert fast.tns_ns < 0 and slow.tns_ns == 0
    for r in (slow, fast):
        assert r.fmax_mhz == pytest.approx(1000.0 / (r.clock_ns - r.wns_ns), rel=1e-3)
    assert rep["fmax_mhz"] == pytest.approx(slow.fmax_mhz, rel=1e-3)


def test_liberty_errors_and_overwrites_are_refused_with_one_line(mapped, tmp_path, capsys):
    _, tmp = mapped
    design = str(tmp / "design")
    assert main(["synth", design, "--liberty", "nosuchlib", "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nosuchlib" in err[0]
    bad = tmp_path / "bad.lib"
    bad.write_text("not a liberty file\n")
    assert main(["synth", design, "--liberty", str(bad), "--out", str(tmp_path / "r")]) == 1
    assert "not a Liberty file" in capsys.readouterr().err
    assert main(["synth", design, "--liberty", "sky130hd", "--clock", "0", "--out", str(tmp_path / "r")]) == 1
    assert main(["synth", design, "--liberty", "sky130hd", "--activity", "none", "--out", str(tmp / "rep")]) == 1
    assert "already exists" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_the_reported_netlist_simulates_bit_exact_at_gate_level(mapped, tmp_path):
    """`encoder synth --liberty` output feeds `encoder sim --netlist` directly (relative paths too)."""
    need_tool("iverilog")
    _, tmp = mapped
    assert main(["sim", str(tmp / "design"), "--netlist", str(tmp / "rep"), "--vectors", "200",
                 "--out", str(tmp_path / "gates")]) == 0
    summary = json.loads((tmp_path / "gates" / "summary.json").read_text())
    assert summary["level"] == "gates"
