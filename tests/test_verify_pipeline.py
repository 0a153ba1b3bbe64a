"""Two --pipeline settings' tops proven sequentially equivalent, latency accounted for (encoder.verify.pipeline).

On tiny_conv (econt arithmetic, seed 3) at --pipeline 0 and 2: the constant-weight tops are equal
with the outputs two cycles apart; three planted plumbing faults in the deeper top (a register
loaded one stage early, the module-sum code taken from the wrong stage, a register stage bypassed)
are each found not equivalent; the programmable tops are equal while configuration writes stay
out of a COMMIT's copy window, and not equal without that rule: a field written right after a
COMMIT is dropped by the deeper design, whose copy still runs, and taken by the other. The weight
buses are found by what drives them and proven by their own lemma: two planted faults in the
deeper design's configuration bank (a bank copying a stage early, fields at the wrong addresses, an
active bank copying the shadow on every clock) fail it, and the outputs miter, comparing the buses
itself then, finds each not equivalent; so does the first as one miter of
both configuration subsystems, the lemma's fallback.
"""

import shutil
from pathlib import Path

import pytest

from encoder.ir import save_ir
from encoder.ir.synthetic import synthetic_ir
from encoder.rtl_gen.design import generate_from_file, write_design
from encoder.verif.design import load_design
from encoder.verify import pipeline, weight_buses
from encoder.verify.prove import Side, prove
from rtl_helpers import need_tool


@pytest.fixture(scope="module")
def designs(tmp_path_factory):
    need_tool("yosys")
    tmp = tmp_path_factory.mktemp("pipe")
    save_ir(synthetic_ir("tiny_conv", "econt", seed=3), tmp / "ir.json")
    return {(w, p): write_design(generate_from_file(tmp / "ir.json", w, pipeline=p), tmp / f"{w}_p{p}")
            for w in ("constant", "programmable") for p in (0, 2)}


def _prove(a: Path, b: Path, tmp: Path) -> dict:
    return pipeline.prove_tops(load_design(a), load_design(b), tmp, 300)


def test_the_constant_tops_give_the_same_outputs_two_cycles_apart(designs, tmp_path):
    r = _prove(designs["constant", 0], designs["constant", 2], tmp_path)
    assert r["result"] == "equivalent", r
    assert "data outputs 2 cycles later" in r["detail"] and "u_conv 2" in r["detail"], r


@pytest.mark.parametrize("fault,before,after", [
    ("a register loaded a stage early", "if (valid_pipe[1]) conv_out_q <= conv_out;",
     "if (valid_pipe[0]) conv_out_q <= conv_out;"),
    ("the sum code from the wrong stage", "sum_code <= module_sum_code_conv_q;", "sum_code <= module_sum_code_q;"),
    ("a register stage bypassed", "(.x(cell_codes_q)", "(.x(cell_codes)"),
])
def test_a_plumbing_fault_in_the_deeper_top_is_not_equivalent(designs, tmp_path, fault, before, after):
    broken = Path(shutil.copytree(designs["constant", 2], tmp_path / "broken"))
    top = broken / f"{load_design(broken).top}.v"
    text = top.read_text()
    assert text.count(before) == 1, fault
    top.write_text(text.replace(before, after))
    work = tmp_path / "work"
    work.mkdir()
    assert _prove(designs["constant", 0], broken, work)["result"] == "not equivalent", fault


def test_the_programmable_tops_are_equal_only_with_writes_kept_out_of_a_commits_copy_window(designs, tmp_path):
    a, b = load_design(designs["programmable", 0]), load_design(designs["programmable", 2])
    r = pipeline.prove_tops(a, b, tmp_path, 300)
    assert r["result"] == "equivalent", r
    assert "weight buses (u_conv.bias, u_conv.weight, u_dense.bias, u_dense.weight) equivalent" in r["detail"], r
    assert "per block" in r["detail"], r
    # The weight-bus lemma's glue with the rule dropped: a field written in the cycles after a COMMIT is
    # dropped by the design whose copy is still running and taken by the one whose copy is over.
    gate = (tmp_path / "glue_gate.v").read_text()
    gold = (tmp_path / "glue_gold.v").read_text()
    assert gate.count("~|after_commit") == 1 and gold.count("~|after_commit") == 1
    (tmp_path / "free_gate.v").write_text(gate.replace("~|after_commit", "1'b1"))
    (tmp_path / "free_gold.v").write_text(gold.replace("~|after_commit", "1'b1"))
    r = prove(Side([tmp_path / "pipe_a_blk.v", tmp_path / "free_gold.v"], "glue_gold"),
              Side([tmp_path / "pipe_a_blk.v", tmp_path / "pipe_b_blk.v", tmp_path / "free_gate.v"], "glue_gate"),
              timeout=300)
    assert r["result"] == "not equivalent", r


def test_the_whole_configuration_miter_proves_the_same_lemma(designs, tmp_path, monkeypatch):
    """Where the buses are not wires from enc_cfg_block instances, one miter of both configuration
    subsystems is tried (on tiny_conv it proves; on econt_8x8 it does not within minutes)."""
    monkeypatch.setattr(weight_buses, "block_delays", lambda *args: None)
    (tmp_path / "good").mkdir()
    r = _prove(designs["programmable", 0], designs["programmable", 2], tmp_path / "good")
    assert r["result"] == "equivalent" and "whole configuration" in r["detail"], r
    broken = Path(shutil.copytree(designs["programmable", 2], tmp_path / "broken"))
    top = broken / f"{load_design(broken).top}.v"
    before = ".commit(cfg_commit[3]),\n        .rd_active(cfg_rd_active),\n        .fields(cfg_fields_dense_bias_b0)"
    assert top.read_text().count(before) == 1
    top.write_text(top.read_text().replace(before, before.replace("[3]", "[2]")))
    (tmp_path / "bad").mkdir()
    r = _prove(designs["programmable", 0], broken, tmp_path / "bad")
    assert r["result"] == "not equivalent" and "whole configuration: sequential counterexample" in r["detail"], r


@pytest.mark.parametrize("kind,options,lemma", [
    ("triplicated banks (--tmr config)", {"tmr_mode": "config"}, "per block"),
    ("direct banks, written in place", {"config_bank": "direct"}, None),
])
def test_other_configuration_banks_are_proven_too(tmp_path, kind, options, lemma):
    need_tool("yosys")
    save_ir(synthetic_ir("tiny_conv", "econt", seed=3), tmp_path / "ir.json")
    a, b = (load_design(write_design(generate_from_file(tmp_path / "ir.json", "programmable", pipeline=p, **options),
                                     tmp_path / f"p{p}")) for p in (0, 2))
    (tmp_path / "work").mkdir()
    r = pipeline.prove_tops(a, b, tmp_path / "work", 300)
    assert r["result"] == "equivalent", (kind, r)
    assert (lemma in r["detail"]) if lemma else "weight buses" not in r["detail"], (kind, r)


def test_a_register_stage_inside_a_layer_is_reported_not_proven(tmp_path, capsys):
    """--cuts conv.products puts a register inside the conv layer: its module gains a clock, so neither the
    per-module comparison nor the tops' (which needs combinational boxes) covers it, and both say so."""
    need_tool("yosys")
    from encoder.cli import main
    save_ir(synthetic_ir("tiny_conv", "econt", seed=3), tmp_path / "ir.json")
    a = write_design(generate_from_file(tmp_path / "ir.json", "constant"), tmp_path / "p0")
    b = write_design(generate_from_file(tmp_path / "ir.json", "constant", cuts=["input_path", "conv.products", "conv"]),
                     tmp_path / "c3")
    assert main(["verify", "equiv", str(a), str(b), "--timeout", "120"]) == 1
    out = capsys.readouterr().out
    assert "tiny_conv_econt_s3_conv                  not proven" in out and "clk only in c3" in out, out
    assert "box u_conv has different ports in the two designs (u_conv.clk)" in out, out
    assert "(pipeline): not proven, as not every row is equivalent" in out, out


def test_only_the_weight_buses_are_taken_as_driven_by_the_configuration_port(designs, tmp_path):
    for weights, expected in (("programmable", {"u_conv.bias", "u_conv.weight", "u_dense.bias", "u_dense.weight"}),
                              ("constant", set())):
        for p in (0, 2):
            work = tmp_path / f"{weights}{p}"
            work.mkdir()
            cut = pipeline._cut_top(load_design(designs[weights, p]), "pipe_a", work, 120)
            assert cut["config"] == expected, (weights, p, cut["config"])
            assert {"u_conv.x", "u_dense.x", "u_input_path.charges"} <= set(cut["ports"]), cut["ports"]


@pytest.mark.parametrize("fault,file,before,after", [
    ("a bank copying on an earlier stage's strobe", None,
     ".commit(cfg_commit[3]),\n        .rd_active(cfg_rd_active),\n        .fields(cfg_fields_dense_bias_b0)",
     ".commit(cfg_commit[2]),\n        .rd_active(cfg_rd_active),\n        .fields(cfg_fields_dense_bias_b0)"),
    ("a bank's fields at the wrong addresses", None, "cfg_addr - 6'd44;", "cfg_addr - 6'd43;"),
    ("the active bank copying the shadow on every clock", "enc_cfg_block.v",
     "end else if (commit) begin", "end else if (1'b1) begin"),
])
def test_a_configuration_fault_in_the_deeper_design_fails_the_weight_bus_lemma(designs, tmp_path, fault, file,
                                                                              before, after):
    broken = Path(shutil.copytree(designs["programmable", 2], tmp_path / "broken"))
    top = broken / (file or f"{load_design(broken).top}.v")
    text = top.read_text()
    assert text.count(before) == 1, fault
    top.write_text(text.replace(before, after))
    work = tmp_path / "work"
    work.mkdir()
    r = _prove(designs["programmable", 0], broken, work)
    # The lemma fails, and the join, comparing the buses itself, then finds the outputs differ.
    assert r["result"] == "not equivalent" and "weight buses" in r["detail"], (fault, r)
    assert "not equivalent" in r["detail"].split("weight buses", 1)[1].split("so the join", 1)[0], (fault, r)


def test_the_signoff_table_names_the_row_of_the_tops():
    from encoder.verify.signoff import table
    rows = [{"module": "t_conv", "result": "equivalent", "seconds": 0.0},
            {"module": "t", "result": "equivalent", "seconds": 19.1, "compared": "tops, latency accounted for"}]
    prog = [dict(rows[0]), {**rows[1], "seconds": 75.7}]
    text = table("tiny_conv", {"constant": {"equiv_pipeline": {"modules": rows}},
                               "programmable": {"equiv_pipeline": {"modules": prog}}}, "abc1234")
    # One row per module, a cell per weight mode.
    lines = [ln for ln in text.splitlines() if "top, latency accounted for" in ln]
    assert len(lines) == 1 and "equivalent (19.1 s)" in lines[0] and "equivalent (75.7 s)" in lines[0], lines
    assert len([ln for ln in text.splitlines() if ln.startswith("equiv pipeline 0 = 2: conv")]) == 1
