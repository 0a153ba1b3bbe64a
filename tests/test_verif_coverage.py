"""`encoder sim --coverage` and the protocol checkers, on a small generated design (synthetic tiny_conv IR:
16 cells, 3 latents, programmable weights with shadow banks, e-link framing on 2 e-links), Icarus.

Coverage bins count only what the design showed: the leading-one bins hit include the leading one of
every module sum the plan drove (worked out here from the counts, without the design or the golden
model), the reset-per-stage and configuration-boundary bins follow what the testbench does, and every
unreachable bin carries a reason. The checkers stay silent on the good design and fire, naming the
checker, the cycle and the signal, on copies with one planted bug each. Verilator line/toggle data is
merged and reported per module from coverage.dat text (merge compared with verilator_coverage when
one is installed).
"""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from encoder.verif import code_coverage
from encoder.verif.tb.coverage import neuron_bin, requant_bins
from verif_helpers import framed_design, junit, sim

VECTORS = 300
BROKEN_VECTORS = 40

pytestmark = pytest.mark.xdist_group("verif_framing")


@pytest.fixture(scope="module")
def framed(tmp_path_factory) -> Path:
    return framed_design(tmp_path_factory)


@pytest.fixture(scope="module")
def covered(framed, tmp_path_factory):
    return sim(framed, tmp_path_factory.mktemp("cov") / "run", vectors=VECTORS, seed=3, coverage=True)


def test_coverage_run_passes_with_checkers_silent_on_the_good_design(covered):
    code, s, out, rd = covered
    assert code == 0 and s["status"] == "pass", out
    assert s["assertion_violations"] == 0 and set(s["assertions"]["checkers"]) >= {
        "valid_latency", "no_x_after_reset", "stable_between_valids", "config_handshake", "frame_structure"}
    assert junit(rd)["protocol_assertions_hold"] is False


def test_summary_holds_hit_total_missed_and_justified_unreachable_bins(covered):
    code, s, out, rd = covered
    f = s["coverage"]["functional"]
    assert f["total"] == f["hit"] + len(f["missed"]) and 0 < f["hit"] <= f["total"]
    assert sum(g["total"] for g in f["groups"].values()) == f["total"]
    assert all(u["reason"] for u in f["unreachable"]) and f["unreachable_but_hit"] == []
    assert {"rounding_tie", "relu_negative", "saturation_neuron", "saturation_layer", "leading_one", "sum_exponent",
            "elinks", "latent_mask", "reset_in_stage", "cfg_write", "cfg_read",
            "reload_during_traffic"} <= set(f["groups"])
    # The testbench resets with the pipeline full, writes and reads every register block, reloads live.
    assert f["groups"]["reset_in_stage"]["hit"] == f["groups"]["reset_in_stage"]["total"] == 4
    assert f["groups"]["cfg_write"]["hit"] == f["groups"]["cfg_write"]["total"]
    assert f["hits"]["reload_during_traffic"] > 0
    c = s["coverage"]["code"]
    assert c["measured"] is False and "Icarus" in c["reason"] and c["line_pct"] is None
    assert "functional coverage:" in out and "Icarus has no line or toggle coverage" in out


def test_leading_one_bins_include_every_module_sum_the_plan_drove(covered):
    code, s, out, rd = covered
    with np.load(rd / "shards" / "00" / "plan.npz") as z:
        sums = z["counts"].sum(axis=1)
    want = {"leading_one:zero_sum" if v == 0 else f"leading_one:{int(v).bit_length() - 1}" for v in sums}
    hit = {b for b in s["coverage"]["functional"]["hits"] if b.startswith("leading_one:")}
    assert want <= hit


def test_requantizer_bins_follow_relu_rounding_and_clamps():
    p = {"IN_SIGNED": 1, "RELU": 1, "SHIFT": 2, "ROUNDING": 0, "OVERFLOW": 0, "OUT_BITS": 3, "OUT_SIGNED": 0,
         "CLAMP_HI": 1, "CLAMP_LO": 0}
    assert requant_bins(p, "11110") == ["relu_negative"]               # -2
    assert requant_bins(p, "00110") == ["rounding_tie"]                # 6 = 1.10b: a tie
    assert requant_bins(p, "01111") == []                              # 15 >> 2 = 3 <= 7
    assert requant_bins(dict(p, IN_BITS=7), "0100110") == ["rounding_tie", "saturation_neuron:top"]  # 38 >> 2 = 9 > 7
    assert requant_bins(dict(p, CLAMP_HI=0), "0111111") == []     # no clamp built: never a saturation bin
    assert requant_bins(dict(p, ROUNDING=1, OUT_SIGNED=1, RELU=0, CLAMP_LO=1), "10010") == ["rounding_tie"] and \
        requant_bins(dict(p, OUT_SIGNED=1, RELU=0, CLAMP_LO=1, OUT_BITS=2), "10010") == ["rounding_tie",
                                                                                        "saturation_neuron:bottom"]


def test_every_requantizer_hit_is_named_as_the_spec_names_its_bin(framed):
    # The sampler once counted "saturation_neuron:top:NEURON" against the spec's
    # "saturation_neuron:NEURON:top": no neuron saturation could ever be hit, only the layer's.
    from encoder.verif import coverage_spec
    from encoder.verif.design import load_design
    d = load_design(framed)
    s = coverage_spec.spec(d, d.load_ir())
    names = set(s["bins"])
    for r in s["requants"]:
        for name in ("relu_negative", "rounding_tie", "saturation_neuron:top", "saturation_neuron:bottom"):
            assert neuron_bin(name, r["neuron"]) in names, (name, r["neuron"])
    assert neuron_bin("saturation_neuron:top", "dense_j3") == "saturation_neuron:dense_j3:top"


TOP = "tiny_conv_econt_s1.v"
BROKEN = {
    # valid_out drops the second of two back-to-back crossings
    "valid_latency": (TOP, "assign valid_out = valid_pipe[1];", "assign valid_out = valid_pipe[1] & ~valid_pipe[0];",
                      "valid_out"),
    # the output register toggles a latent bit while no crossing arrives
    "stable_between_valids": (TOP, "        end else if (valid_pipe[0]) begin\n            latents  <= dense_out;",
                              "        end else if (!valid_pipe[0]) begin\n            latents  <= latents ^ 27'd1;\n"
                              "        end else begin\n            latents  <= dense_out;", "latents"),
    # an unmapped address reads 1
    "config_handshake": (TOP, "always @(posedge clk) cfg_rdata <= cfg_rdata_next;",
                         "always @(posedge clk) cfg_rdata <= cfg_rdata_next | {6'd0, cfg_addr == 6'd61};", "cfg_rdata"),
    # e-links above the count send ones
    "frame_structure": ("enc_elink_frame.v", "assign by_count[n] = {used, {EMPTY{1'b0}}};",
                        "assign by_count[n] = {used, {EMPTY{1'b1}}};", "tx_data[e-link 1]"),
    # tx_data not cleared by reset: X until the first frame
    "no_x_after_reset": ("enc_elink_frame.v", "            tx_data  <= {FRAME{1'b0}};\n", "", "tx_data"),
}


# Two bugs per copy where they sit apart (and their checkers watch other signals): three runs, not five.
COPIES = [("valid_latency", "stable_between_valids"), ("config_handshake", "frame_structure"), ("no_x_after_reset",)]


@pytest.mark.parametrize("checkers", COPIES, ids=["+".join(c) for c in COPIES])
def test_checker_fires_on_a_planted_bug_naming_cycle_and_signal(framed, tmp_path, checkers):
    d = tmp_path / "planted"
    shutil.copytree(framed, d)
    for checker in checkers:
        file, old, new, _ = BROKEN[checker]
        text = (d / file).read_text()
        assert text.count(old) == 1
        (d / file).write_text(text.replace(old, new))
    code, s, out, rd = sim(d, tmp_path / "run", vectors=BROKEN_VECTORS, seed=3)
    assert code == 1, out
    for checker in checkers:
        signal = BROKEN[checker][3]
        assert s["assertions"]["by_checker"].get(checker, 0) > 0, (checker, s["assertions"])
        first = next(v for v in s["assertions"]["first"] if v["checker"] == checker)
        assert first["signal"] == signal and first["cycle"] > 0
    assert set(s["assertions"]["by_checker"]) <= set(checkers) | {"no_x_after_reset"}
    assert any(f"assertion {c} failed at cycle" in out for c in checkers)
    assert junit(rd)["protocol_assertions_hold"] is True


DAT_A = ("# SystemC::Coverage-3\n"
         "C '\x01t\x02line\x01page\x02v_line/enc_mul\x01f\x02enc_mul.v\x01l\x0210\x01h\x02TOP.a\x01' 3\n"
         "C '\x01t\x02line\x01page\x02v_line/enc_mul\x01f\x02enc_mul.v\x01l\x0212\x01h\x02TOP.a\x01' 0\n"
         "C '\x01t\x02toggle\x01page\x02v_toggle/enc_mul\x01f\x02enc_mul.v\x01l\x023\x01o\x02p[0]:0->1"
         "\x01h\x02TOP.a\x01' 0\n"
         "C '\x01t\x02toggle\x01page\x02v_toggle/top\x01f\x02top.v\x01l\x024\x01o\x02v:0->1\x01h\x02TOP\x01' 1\n")
DAT_B = ("# SystemC::Coverage-3\n"
         "C '\x01t\x02line\x01page\x02v_line/enc_mul\x01f\x02enc_mul.v\x01l\x0212\x01h\x02TOP.a\x01' 2\n")


def test_code_coverage_merges_counts_and_reports_per_module_against_the_target(tmp_path):
    (tmp_path / "a.dat").write_text(DAT_A)
    (tmp_path / "b.dat").write_text(DAT_B)
    merged = code_coverage.merge([tmp_path / "a.dat", tmp_path / "b.dat"], tmp_path / "merged.dat")
    rep = code_coverage.report(merged, target=90.0)
    assert rep["per_module"]["enc_mul"] == {"line_pct": 100.0, "toggle_pct": 0.0, "line_points": 2, "toggle_points": 1}
    assert rep["per_module"]["top"]["toggle_pct"] == 100.0 and rep["line_pct"] == 100.0 and rep["toggle_pct"] == 50.0
    assert rep["pass"] is False and rep["modules_below_target"] == ["enc_mul"]
    assert code_coverage.read(tmp_path / "merged.dat") == merged
    tool = shutil.which("verilator_coverage")
    if tool is None:
        pytest.skip("no verilator_coverage installed to compare the merge with")
    subprocess.run([tool, "--write", str(tmp_path / "ref.dat"), str(tmp_path / "a.dat"), str(tmp_path / "b.dat")],
                   check=True, capture_output=True)
    assert code_coverage.read(tmp_path / "ref.dat") == merged


def test_coverage_spec_reads_the_generated_instances_and_states_why_bins_are_unreachable(framed, tmp_path):
    from encoder.verif.coverage_spec import spec
    from encoder.verif.design import load_design
    d = load_design(framed)
    sp = spec(d, d.load_ir())
    manifest = json.loads((framed / "manifest.json").read_text())
    outputs = sum(layer["outputs"] for layer in manifest["layers"])
    assert len(sp["requants"]) == outputs                     # one requantizer per neuron, found in the Verilog
    assert sorted(r["index"] for r in sp["requants"] if r["layer"] == "dense") == [0, 1, 2]
    assert sorted(r["index"] for r in sp["requants"] if r["layer"] == "conv") == list(range(8))
    why = {u["bin"]: u["reason"] for u in sp["unreachable"]}
    # ReLU layers with unsigned outputs: no bottom clamp was built, so no bottom saturation anywhere.
    assert all("no clamp built" in why[f"saturation_neuron:{r['neuron']}:bottom"] for r in sp["requants"])
    # Leading-one positions above the largest module sum cannot occur.
    top = (manifest["input_path"]["cells_used"] * ((1 << manifest["input_path"]["charge_bits"]) - 1)).bit_length() - 1
    assert f"leading_one:{top}" not in why and all(f"leading_one:{p}" in why for p in range(top + 1, sp["leading_one"]["in_bits"]))
    assert sp["commit_addr"] == manifest["registers"]["control"]["base"] and "reload_during_traffic" in sp["bins"]


def test_coverage_with_bulk_mode_is_a_one_line_error(framed, tmp_path):
    from encoder.errors import UserError
    with pytest.raises(UserError, match="--coverage: .*drop --bulk"):
        sim(framed, tmp_path / "run", vectors=10, coverage=True, bulk=True)
    assert not (tmp_path / "run").exists()


def test_merged_reach_calls_a_bin_out_of_reach_only_if_no_weight_set_reaches_it():
    from encoder.verif.coverage_spec import merge_reach, _weight_limited
    trained = {"conv": {"outputs": 2, "relu_negative": [0], "rounding_tie": [], "saturation_top": []}}
    extreme = {"conv": {"outputs": 2, "relu_negative": [1], "rounding_tie": [1], "saturation_top": [0, 1]}}
    merged = merge_reach([trained, None, extreme])
    assert merged == {"conv": {"outputs": 2, "relu_negative": [0, 1], "rounding_tie": [1], "saturation_top": [0, 1]}}
    assert merge_reach([None]) is None
    spec_ = {"requants": [{"layer": "conv", "index": j, "neuron": f"conv[{j}]"} for j in (0, 1)]}
    alone = _weight_limited(spec_, trained)
    assert set(alone) == {"relu_negative:conv[1]", "rounding_tie:conv[0]", "rounding_tie:conv[1]",
                          "saturation_neuron:conv[0]:top", "saturation_neuron:conv[1]:top", "saturation_layer:conv"}
    assert set(_weight_limited(spec_, merged)) == {"rounding_tie:conv[0]"}
