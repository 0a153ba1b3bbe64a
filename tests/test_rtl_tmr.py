"""`encoder rtl --tmr`: none stays the design it always was; config triplicates the configuration bank,
the copies survive synthesis, single upsets in the bank never reach an output and the counters count
them; full triplicates every register and no single upset anywhere reaches an output; double upsets in
one triplet are reported as such."""

from __future__ import annotations

import json

import pytest

from encoder.cli import main
from encoder.errors import UserError
from encoder.rtl_gen import generate, tmr_full, write_design
from encoder.verif import seu
from encoder.verif.design import load_design
from irtools import tiny_conv_ir
from rtl_helpers import IR_CASES, ir_case, need_tool, run
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


def test_triplicated_registers_survive_synthesis(tmp_path):
    """yosys merges identical flip-flops inside a module: the copies are separate instances, so the
    flip-flop count grows by two copies of the bank plus the counters (config), and is three times the
    design's and the counters' (full)."""
    need_tool("yosys")
    ir = tiny_conv_ir(seed=3)
    ff = {}
    for mode in ("none", "config", "full"):
        d = generate(ir, "programmable", tmr_mode=mode)
        write_design(d, tmp_path / mode)
        assert main(["synth", str(tmp_path / mode), "--out", str(tmp_path / f"rep_{mode}"), "--no-depth"]) == 0
        ff[mode] = json.loads((tmp_path / f"rep_{mode}" / "synth.json").read_text())["flip_flops"]
        assert ff[mode] == d.manifest["register_bits"]["total"]
        if mode == "config":
            t = d.manifest["tmr"]
            counter_bits = t["counters"]["bits"] * len(t["counters"]["blocks"])
            assert ff["config"] - ff["none"] == 2 * t["triplicated_bits"] + counter_bits
    assert ff["full"] == 3 * (ff["none"] + counter_bits)


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


# ---- --tmr full ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def full_design(tmp_path_factory):
    return write_design(generate(tiny_conv_ir(seed=3), "programmable", elinks=2, tmr_mode="full"),
                        tmp_path_factory.mktemp("tmr_full") / "full")


def test_tmr_full_leaves_no_flip_flop_outside_a_triplet(full_design):
    """Every clocked block of the design is the one inside enc_tmr_copy, every register the inventory finds
    is a copy of a triplet of three, and the manifest's triplicated bits are the design's without TMR plus
    the counters (so nothing was missed or counted twice)."""
    none = generate(tiny_conv_ir(seed=3), "programmable", elinks=2)
    d = load_design(full_design)
    texts = {s.name: s.read_text() for s in d.sources}
    clocked = [s for s, t in texts.items() if "posedge" in t]
    assert clocked == ["enc_tmr_copy.v"]
    regs = seu.inventory(d.dir, d.top, d.sources)
    assert regs and all(seu.triplet(r.path) is not None for r in regs)
    by_trip = {}
    for r in regs:
        by_trip.setdefault(seu.triplet(r.path)[0], []).append(seu.triplet(r.path)[1])
    assert all(sorted(c) == [0, 1, 2] for c in by_trip.values())
    assert {r.kind for r in regs} == set(seu.KINDS)
    t = d.manifest["tmr"]
    assert t["mode"] == "full" and t["not_triplicated"] == []
    counter_bits = t["counters"]["bits"] * len(t["counters"]["blocks"])
    # (tiny_conv at --pipeline 0 has no register stage with constant-zero low bits: declared = flip-flops)
    assert t["triplicated_bits"] == t["flip_flops_per_copy"] == none.manifest["register_bits"]["total"] + counter_bits
    assert d.manifest["register_bits"]["total"] == 3 * t["triplicated_bits"] == sum(r.width for r in regs)
    assert "--tmr full" in texts[f"{d.top}.v"] and "Every other register is triplicated" in texts[f"{d.top}.v"]


def test_tmr_full_refuses_what_it_does_not_build():
    ir = tiny_conv_ir(seed=3)
    with pytest.raises(UserError, match="--tmr full: .*constant"):
        generate(ir, "constant", tmr_mode="full")
    with pytest.raises(UserError, match="--reuse 2 .*--tmr full"):
        generate(ir, "programmable", tmr_mode="full", reuse=2)
    with pytest.raises(UserError, match="--tmr: .*i2c"):
        generate(ir, "programmable", tmr_mode="full", config_port="i2c")


def test_tmr_full_rewrite_holds_enabled_registers_and_avoids_name_clashes():
    """A register loaded on an enable takes its voted value back otherwise (so an upset copy is rewritten
    each cycle); a module that already has X_next gets X_tmr_next."""
    src = ("`default_nettype none\nmodule m (input wire clk, input wire en, input wire [3:0] d,\n"
           "    output reg [3:0] q);\n    wire [3:0] q_next = d + 4'd1;\n    reg [3:0] r;\n"
           "    always @(posedge clk) if (en) r <= d;\n    always @(posedge clk) q <= q_next ^ r;\nendmodule\n"
           "`default_nettype wire\n")
    out, regs = tmr_full.rewrite(src)
    assert regs == [("r", "4"), ("q", "4")] and "posedge" not in out
    assert "r_next = r;\n        if (en) r_next = d;" in out
    assert "q_tmr_next = q_next ^ r;" in out and "output wire [3:0] q" in out
    assert ".d(r_next), .q(r)" in out and ".d(q_tmr_next), .q(q)" in out


def test_tmr_full_design_is_lint_clean(full_design):
    d = load_design(full_design)
    srcs = [str(s) for s in d.sources]
    need_tool("iverilog")
    r = run(["iverilog", "-g2001", "-Wall", "-o", "/dev/null", *srcs])
    assert r.returncode == 0 and r.stderr.strip() == "", r.stderr
    need_tool("verilator")
    r = run(["verilator", "--lint-only", "-Wall", "--top-module", d.top, *srcs])
    assert r.returncode == 0, r.stderr


def test_tmr_full_single_upsets_in_any_register_never_reach_an_output(full_design, tmp_path):
    """Upsets drawn over every register bit (banks, pipeline, valid, outputs, framing, control, read-back,
    counters): none reaches an output, and the bank counters count exactly the bank upsets. (Icarus: no
    build to wait for; about 10 s of simulation.)"""
    code, s, _, _ = sim(full_design, tmp_path / "all", sim="icarus", vectors=6000, seed=3, seu=150)
    kinds = s["seu_sensitivity"]["by_kind"]
    assert s["seu_injected"] == 150 and len(kinds) >= 6 and kinds["pipeline"]["injected"] > 0
    assert code == 0 and s["status"] == "pass" and s["seu_output_errors"] == 0 and s["seu_reached_output"] == []
    assert s["seu_corrected"] == kinds["config"]["injected"] and s["seu_counters"]["equal_to_upsets_injected"]


def test_tmr_full_double_upsets_in_datapath_triplets_are_reported_and_reach_outputs(full_design, tmp_path):
    """The injector reaches the copies of pipeline, output and framing registers: two copies of one bit
    outvote the third, and the campaign lists each such event as a double upset in one triplet."""
    code, s, _, _ = sim(full_design, tmp_path / "double", sim="icarus", vectors=3000, seed=4, seu=30,
                        seu_multiplicity=2, seu_target="pipeline,output,framing")
    doubles = s["seu_double_upsets_in_one_triplet"]
    assert s["seu_injected"] == 60 and len(doubles) == 30 and all(len(d["copies"]) == 2 for d in doubles)
    assert sum(d["reached_output"] for d in doubles) > 10 and code == 1
