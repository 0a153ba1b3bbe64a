"""The configuration bank: shadow and active banks with a commit, configuration reset, enable, status.

Generated programmable designs write weights into shadow banks; a COMMIT copies them into the active
banks, each bank when the first crossing after the commit reaches the pipeline stage that reads it.
The testbench (encoder sim) reloads weight sets while vectors keep flowing, places each crossing's
weight set by the COMMIT writes it saw, and checks every output against the golden model for that set;
at power-up it resets the configuration in the middle of a load, drives vectors before any weight set
is committed (they must be dropped), writes unmapped addresses (dropped, counted, read as 0) and checks
the status registers. Planted bugs show that each check can fail.
"""

from __future__ import annotations

import json

import pytest

from encoder.ir import save_ir
from encoder.ir.synthetic import synthetic_ir
from encoder.rtl_gen import generate, write_design
from rtl_helpers import need_tool
from verif_helpers import plant, sim

pytestmark = pytest.mark.slow


def _design(tmp_path, name="design", cuts=None, bank="shadow", arch="tiny_conv", seed=4):
    ir = synthetic_ir(arch, "econt", seed=seed)
    save_ir(ir, tmp_path / f"{name}.json")
    d = generate(ir, "programmable", 0, cuts=cuts, config_bank=bank)
    return write_design(d, tmp_path / name), d.manifest


def test_manifest_describes_the_control_registers_and_the_commit(tmp_path):
    _, m = _design(tmp_path)
    regs = m["registers"]
    ctrl = regs["control"]
    names = [r["name"] for r in ctrl["registers"]]
    assert names == ["COMMIT", "ENABLE", "RD_ACTIVE", "STATUS", "COMMITS", "UNMAPPED", "DROPPED"]
    assert [r["addr"] for r in ctrl["registers"]] == list(range(regs["fields"], regs["fields"] + 7))
    assert regs["bank"] == "shadow" and ctrl["unmapped_read_value"] == 0
    assert (1 << regs["addr_width"]) >= regs["fields"] + 7
    # Writes are dropped from the clock after the COMMIT write until the last stage's banks copy.
    n = ctrl["commit_stages"]
    assert ctrl["dropped_after_commit"] == ([1, n - 1] if n > 1 else None) and ctrl["dropped_window_exact"]
    rb = m["register_bits"]
    assert rb["shadow"] == rb["config"] == regs["total_bits"]
    assert rb["total"] == rb["pipeline"] + rb["config"] + rb["shadow"] + rb["control"] + rb["readback"]
    _, direct = _design(tmp_path, "direct", bank="direct")
    assert direct["register_bits"]["shadow"] == 0 and direct["registers"]["bank"] == "direct"


def test_commit_stages_follow_the_register_stages(tmp_path):
    """Each bank copies when the first new crossing reaches the stage that reads it."""
    _, m = _design(tmp_path, cuts=["input_path", "conv.products", "conv"])
    top = (tmp_path / "design" / f"{m['top']}.v").read_text()
    assert m["registers"]["control"]["commit_stages"] == 4
    # conv weights after input_path (1 stage), conv bias after the products too (2), dense after conv (3)
    assert "cfg_conv_weight;  // read in pipeline stage 1" in top
    assert "cfg_conv_bias;  // read in pipeline stage 2" in top
    assert "cfg_dense_weight;  // read in pipeline stage 3" in top
    # The dense banks copy 3 edges after the conv weights': writes in cycles 1..3 after the COMMIT are dropped.
    assert m["registers"]["control"]["dropped_after_commit"] == [1, 3]


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_live_reloads_match_the_golden_model_on_both_simulators(tmp_path, simulator):
    need_tool("iverilog")
    design, m = _design(tmp_path, cuts=["input_path", "conv.products", "conv"])
    code, s, text, run_dir = sim(design, tmp_path / "run", sim=simulator, vectors=1000, seed=3)
    assert code == 0 and s["status"] == "pass", text
    assert s["live_reloads"] >= 3 and s["config_errors"] == 0 and s["mismatches"] == 0
    assert s["blocked_before_load"] == 8
    result = json.loads(next((run_dir / "shards").iterdir()).joinpath("result.json").read_text())
    events = {e["event"] for e in result["events"]}
    assert {"use_before_load", "unmapped_writes", "read_back", "load", "reset", "writes_while_copying"} <= events


def test_commit_of_every_stage_at_once_mixes_weight_sets_and_is_caught(tmp_path):
    """The bug the shadow bank exists to prevent: a crossing between two stages meets old weights in one
    and new ones in the next."""
    need_tool("iverilog")
    src, m = _design(tmp_path, cuts=["input_path", "conv"])
    top = f"{m['top']}.v"
    text = (src / top).read_text()
    n = text.count(".commit(cfg_commit[1])")
    assert n >= 1
    bad = plant(src, tmp_path / "bad")
    (bad / top).write_text(text.replace(".commit(cfg_commit[1])", ".commit(cfg_commit[0])")
                           .replace(".commit(cfg_commit[2])", ".commit(cfg_commit[0])"))
    code, s, _, _ = sim(bad, tmp_path / "run", vectors=1000, seed=3)
    assert code != 0 and s["mismatches"] >= 1


@pytest.mark.parametrize("pending, fault", [
    ("1'b0", "no write dropped: a write in the copy joins the committed set in the later stages"),
    ("SHADOW != 0 && (|commit_pipe[STAGES-3:0] || last_waits)",
     "the window one cycle short: the last stage's bank takes a write before it copies"),
    ("SHADOW != 0 && (|commit_pipe[STAGES-1:0] || last_waits)",
     "the window one cycle long: a write after the last copy is dropped")])
def test_writes_while_a_commit_copies_are_dropped_exactly_in_the_copy(tmp_path, pending, fault):
    """The commit-window hazard: a COMMIT copies stage by stage, so a weight write before the last bank has
    copied would reach some stages' active banks and not others. The design drops such writes (DROPPED,
    STATUS bit 1); the testbench writes in every cycle of the copy and in the one after it."""
    need_tool("iverilog")
    src, m = _design(tmp_path, cuts=["input_path", "conv.products", "conv"])
    assert m["registers"]["control"]["commit_stages"] == 4
    bad = plant(src, tmp_path / "bad", "enc_cfg_ctrl.v",
                "assign pending = SHADOW != 0 && (|commit_pipe[STAGES-2:0] || last_waits);",
                f"assign pending = {pending};")
    code, s, _, _ = sim(bad, tmp_path / "run", vectors=200, seed=3)
    assert code != 0 and s["config_errors"] >= 1, fault


def test_direct_bank_written_while_data_flows_is_caught(tmp_path):
    """A direct bank announced as a shadow bank: the live reloads show the mixed weights."""
    need_tool("iverilog")
    src, _ = _design(tmp_path, bank="direct")

    def shadow(m):
        m["registers"]["bank"] = "shadow"
    bad = plant(src, tmp_path / "bad", manifest=shadow)
    code, s, _, _ = sim(bad, tmp_path / "run", vectors=600, seed=3)
    assert code != 0 and s["mismatches"] >= 1


def test_vectors_before_the_first_commit_must_be_dropped(tmp_path):
    """A design that lets valid_in through without a committed weight set sends outputs nobody asked for."""
    need_tool("iverilog")
    src, m = _design(tmp_path)
    bad = plant(src, tmp_path / "bad", f"{m['top']}.v", "wire valid_taken = valid_in && cfg_run;",
                "wire valid_taken = valid_in;")
    code, s, _, _ = sim(bad, tmp_path / "run", vectors=200, seed=3)
    assert code != 0 and s["stale_outputs"] + s["x_or_z_samples"] >= 1


def test_unmapped_writes_must_be_counted(tmp_path):
    need_tool("iverilog")
    src, _ = _design(tmp_path)
    bad = plant(src, tmp_path / "bad", "enc_cfg_ctrl.v", "unmapped <= unmapped + ONE;", "unmapped <= unmapped;")
    code, s, _, _ = sim(bad, tmp_path / "run", vectors=200, seed=3)
    assert code != 0 and s["config_errors"] >= 1


def test_configuration_reset_must_clear_the_banks(tmp_path):
    """Reset during configuration: a bank that keeps the half-written set is caught."""
    need_tool("iverilog")
    src, _ = _design(tmp_path)
    bad = plant(src, tmp_path / "bad", "enc_cfg_block.v", "wire clear    = cfg_rst && (CLEAR_ON_RESET != 0);",
                "wire clear    = 1'b0;")
    code, s, _, _ = sim(bad, tmp_path / "run", vectors=200, seed=3)
    assert code != 0 and s["config_errors"] >= 1
