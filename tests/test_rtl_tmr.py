"""`encoder rtl --tmr`: none stays the design it always was; config triplicates the configuration bank,
the copies survive synthesis, single upsets in the bank never reach an output and the counters count
them; double upsets in one triplet are reported as such."""

from __future__ import annotations

import json

import pytest

from encoder.cli import main
from encoder.errors import UserError
from encoder.rtl_gen import generate, write_design
from irtools import tiny_conv_ir
from rtl_helpers import IR_CASES, ir_case, need_tool
from verif_helpers import sim

pytestmark = pytest.mark.xdist_group("verif_bulk")


@pytest.mark.parametrize("label", list(IR_CASES))
def test_tmr_none_is_the_design_as_it_was(label):
    """Byte for byte: the default and --tmr none give the same files, without a trace of TMR.
    (Checked against the generator before TMR existed, on these designs: identical.)"""
    ir = ir_case(label)
    for mode in ("programmable", "constant"):
        a, b = generate(ir, mode, 0), generate(ir, mode, 0, tmr_mode="none")
        assert a.files == b.files
        assert "tmr" not in a.manifest and not any("tmr" in f for f in a.sources)


def test_tmr_config_header_manifest_and_errors(tmp_path):
    d = generate(tiny_conv_ir(seed=3), "programmable", tmr_mode="config")
    top = d.files[f"{d.top}.v"]
    assert "--tmr config" in top and "the configuration bank is triplicated" in top
    assert top.count("enc_cfg_block_tmr #(") == d.manifest["registers"]["blocks"]
    t = d.manifest["tmr"]
    # both banks of every block: shadow (writes) and active (datapath)
    assert t["mode"] == "config" and t["triplicated_bits"] == 2 * d.manifest["registers"]["total_bits"]
    assert all(len(r["copies"]) == 3 for r in t["triplicated"])
    blocks = t["counters"]["blocks"]
    assert len(blocks) == d.manifest["registers"]["blocks"]
    assert blocks[0]["addr"] >= d.manifest["registers"]["fields"]
    with pytest.raises(UserError, match="--tmr"):
        generate(tiny_conv_ir(seed=3), "programmable", tmr_mode="everything")
    with pytest.raises(UserError, match="--tmr config"):
        generate(tiny_conv_ir(seed=3), "constant", tmr_mode="config")


def test_triplicated_bank_survives_synthesis(tmp_path):
    """yosys merges identical flip-flops inside a module: the copies are separate instances, so the
    flip-flop count grows by two copies of the bank plus the counters."""
    need_tool("yosys")
    ir = tiny_conv_ir(seed=3)
    ff = {}
    for mode in ("none", "config"):
        d = generate(ir, "programmable", tmr_mode=mode)
        write_design(d, tmp_path / mode)
        assert main(["synth", str(tmp_path / mode), "--out", str(tmp_path / f"rep_{mode}"), "--no-depth"]) == 0
        ff[mode] = json.loads((tmp_path / f"rep_{mode}" / "synth.json").read_text())["flip_flops"]
        assert ff[mode] == d.manifest["register_bits"]["total"]
    t = d.manifest["tmr"]
    assert ff["config"] - ff["none"] == 2 * t["triplicated_bits"] + t["counters"]["bits"] * len(t["counters"]["blocks"])


@pytest.fixture(scope="module")
def designs(tmp_path_factory):
    root = tmp_path_factory.mktemp("tmr")
    ir = tiny_conv_ir(seed=3)
    return {m: write_design(generate(ir, "programmable", elinks=2, tmr_mode=m), root / m) for m in ("none", "config")}


def test_single_upsets_in_the_bank_are_outvoted_and_counted(designs, tmp_path):
    runs = {}
    for mode, d in designs.items():
        code, s, _, _ = sim(d, tmp_path / mode, sim="verilator", vectors=3000, seed=5, seu=40, seu_target="config")
        runs[mode] = (code, s)
    code, s = runs["none"]
    assert code == 1 and s["seu_output_errors"] > 0 and s["seu_sensitivity"]["fraction"] > 0.2
    code, s = runs["config"]
    assert code == 0 and s["status"] == "pass" and s["seu_output_errors"] == 0 and s["seu_reached_output"] == []
    assert s["seu_injected"] == 40 and s["seu_corrected"] == 40
    assert s["seu_counters"]["equal_to_upsets_injected"]


def test_double_upsets_in_one_triplet_are_reported_as_such(designs, tmp_path):
    code, s, _, _ = sim(designs["config"], tmp_path / "double", sim="verilator", vectors=3000, seed=6, seu=20,
                        seu_target="config", seu_multiplicity=2)
    doubles = s["seu_double_upsets_in_one_triplet"]
    assert s["seu_injected"] == 40 and len(doubles) == 20
    assert all(len(d["copies"]) == 2 for d in doubles)
    # Two copies outvote the third: most such upsets of a weight corrupt outputs.
    assert sum(d["reached_output"] for d in doubles) > 0 and code == 1


def test_a_campaign_over_every_kind_blames_nothing_on_the_triplicated_bank(designs, tmp_path):
    """Every upset ends within its window (held registers given back, the BX counter hit only where a
    bx_reset follows), so a mixed campaign attributes each wrong output to the upset that caused it."""
    code, s, _, _ = sim(designs["config"], tmp_path / "all", sim="verilator", vectors=6000, seed=3, seu=150)
    kinds = s["seu_sensitivity"]["by_kind"]
    assert kinds["config"]["injected"] > 0 and kinds["config"]["reached_output"] == 0
    assert kinds["pipeline"]["reached_output"] > 0 and code == 1          # the rest is not hardened
    assert s["seu_unattributed_errors"] == 0 and s["seu_counters"]["equal_to_upsets_injected"]
