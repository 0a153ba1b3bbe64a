"""Gate-level simulation: the SKY130-mapped netlist runs the RTL's cocotb testbench against the golden model.

Each weight mode is mapped once per module (yosys, 15-20 s for tiny_conv);
the runs share the simulator build cache of the other testbench tests.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from encoder.errors import UserError
from encoder.ir.synthetic import synthetic_ir
from encoder.pdk import resolve
from encoder.rtl_gen import generate, write_design
from encoder.silicon.mapping import map_design
from rtl_helpers import need_tool
from verif_helpers import sim

pytestmark = pytest.mark.slow

VECTORS = 300


def _mapped(root: Path, weights: str) -> tuple[Path, Path]:
    """(design dir, synth dir) of tiny_conv mapped to sky130hd, with the synth.json keys `encoder sim` reads."""
    need_tool("iverilog")
    need_tool("yosys")
    design = root / "design"
    write_design(generate(synthetic_ir("tiny_conv", "econt", seed=3), weights, 0), design)
    synth = root / "synth"
    m = map_design(design, resolve("sky130hd"), synth, progress=False)
    (synth / "synth.json").write_text(json.dumps({"design": str(design.resolve()), "top": m.top,
                                                  "liberty": {"name": "sky130hd"}}))
    return design, synth


@pytest.fixture(scope="module")
def programmable(tmp_path_factory):
    return _mapped(tmp_path_factory.mktemp("gates_prog"), "programmable")


@pytest.fixture(scope="module")
def constant(tmp_path_factory):
    return _mapped(tmp_path_factory.mktemp("gates_const"), "constant")


@pytest.mark.parametrize("mode", ["programmable", "constant"])
def test_mapped_netlist_is_bit_exact_against_golden_model(request, tmp_path, mode):
    design, synth = request.getfixturevalue(mode)
    code, summary, text, _ = sim(design, tmp_path / "run", vectors=VECTORS, netlist=str(synth))
    assert code == 0, text
    assert summary["status"] == "pass" and summary["checked"] == VECTORS and summary["mismatches"] == 0
    assert summary["level"] == "gates"
    assert summary["gate_level"]["library"] == "sky130hd"
    assert summary["gate_level"]["netlist"] == str((synth / "netlist.v").resolve())
    assert summary["x_or_z_samples"] == 0
    if mode == "programmable":      # both weight sets written and read back through the cells
        assert len(summary["models"]) == 2 and summary["register_read_back_errors"] == 0


def _mutate(netlist: Path, module_suffix: str, cell: str, into: str, pins: dict[str, str]) -> str:
    """Swap the first ``cell`` of the module whose name ends in ``module_suffix`` for ``into``
    (pins renamed by ``pins``); returns the instance name."""
    text = netlist.read_text()
    mod = re.search(rf"^module \S*{re.escape(module_suffix)}\(.*?^endmodule", text, re.M | re.S)
    assert mod, module_suffix
    inst = re.compile(rf"  {re.escape(cell)} (\S+) \((.*?)\);", re.S).search(text, mod.start(), mod.end())
    assert inst, f"no {cell} in {module_suffix}"
    body = inst.group(2)
    for old, new in pins.items():
        body = body.replace(f".{old}(", f".{new}(")
    netlist.write_text(text[:inst.start()] + f"  {into} {inst.group(1)} ({body});" + text[inst.end():])
    return inst.group(1)


def test_netlist_with_one_swapped_datapath_cell_fails_with_mismatches(constant, tmp_path):
    design, synth = constant
    bad = tmp_path / "synth_bad"
    shutil.copytree(synth, bad)
    # nand2 -> and2 inverts one gate of the last layer's output sum: a netlist that no longer
    # computes the golden function.
    _mutate(bad / "netlist.v", "_dense", "sky130_fd_sc_hd__nand2_1", "sky130_fd_sc_hd__and2_1", {"Y": "X"})
    code, summary, text, run = sim(design, tmp_path / "run", vectors=VECTORS, netlist=str(bad))
    assert code == 1
    assert summary["status"] == "mismatch" and summary["mismatches"] > 0, text
    assert "mismatches" in text and (run / "failures.json").is_file()
    # The mutated netlist got its own build, not the good one's.
    good_build = sim(design, tmp_path / "good", vectors=1, netlist=str(synth))[1]["build"]["key"]
    assert summary["build"]["key"] != good_build


def test_netlist_of_another_design_or_missing_is_refused(programmable, constant, tmp_path):
    design_p, synth_p = programmable
    design_c, _ = constant
    with pytest.raises(UserError, match="mapped from"):
        sim(design_c, tmp_path / "r1", vectors=1, netlist=str(synth_p))
    other = tmp_path / "other_top"
    shutil.copytree(synth_p, other, ignore=shutil.ignore_patterns("*.lib"))
    s = json.loads((other / "synth.json").read_text())
    (other / "synth.json").write_text(json.dumps({**s, "top": "something_else"}))
    with pytest.raises(UserError, match="its top is something_else"):
        sim(design_p, tmp_path / "r2", vectors=1, netlist=str(other))
    (other / "synth.json").write_text(json.dumps(s))
    (other / "netlist.v").unlink()
    with pytest.raises(UserError, match="no netlist.v"):
        sim(design_p, tmp_path / "r3", vectors=1, netlist=str(other))
    with pytest.raises(UserError, match="no synth.json"):
        sim(design_p, tmp_path / "r4", vectors=1, netlist=str(tmp_path))


def test_user_liberty_without_cell_models_is_refused(programmable, tmp_path):
    design, synth = programmable
    user = tmp_path / "synth_user_lib"
    shutil.copytree(synth, user, ignore=shutil.ignore_patterns("*.lib"))
    shutil.copy(synth / "library.lib", tmp_path / "mylib.lib")
    s = json.loads((user / "synth.json").read_text())
    (user / "synth.json").write_text(json.dumps({**s, "liberty": {"name": str(tmp_path / "mylib.lib")}}))
    with pytest.raises(UserError, match="no Verilog cell models"):
        sim(design, tmp_path / "run", vectors=1, netlist=str(user))
