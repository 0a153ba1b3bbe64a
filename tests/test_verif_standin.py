"""The testbench on a hand-written 4-cell encoder (tests/data/verif/tiny): it passes the correct design
and catches each kind of bug planted in a copy (rounding, latency, stale data after reset, X on outputs,
register read-back, ignored reload), on Icarus Verilog."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from encoder import golden
from encoder.ir import load_ir
from verif_helpers import BUILD, junit, plant, sim

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "verif"

pytestmark = pytest.mark.xdist_group("verif_standin")


def _sim(design, tmp_path, name="run", **kw):
    return sim(design, tmp_path / name, **kw)


def _planted(tmp_path, old=None, new=None, manifest=None):
    """A copy of the tiny design with ``old`` replaced by ``new`` in its Verilog (and its manifest edited)."""
    for f in ("tiny_a.json", "tiny_b.json"):
        shutil.copy(DATA / f, tmp_path / f)
    return plant(DATA / "tiny", tmp_path / "planted", "tiny_encoder.v" if old is not None else None, old, new,
                 manifest)


_junit = junit


def test_programmable_design_passes_with_reset_and_reload_mid_run(tmp_path):
    code, s, out, rd = _sim(DATA / "tiny", tmp_path, vectors=400, seed=3)
    assert code == 0 and s["status"] == "pass", out
    assert s["checked"] == 400 and s["mismatches"] == 0 and s["latency_seen"] == {"2": s["checked"] + 1}
    assert s["register_read_back_errors"] == 0 and s["x_or_z_samples"] == 0 and s["stale_outputs"] == 0
    assert s["flushed_by_reset"] == 1                   # latency 2: one filler vector was inside at the reset
    assert [m["name"] for m in s["models"]] == ["tiny_a", "tiny_a_reweighted_s3"]
    result = json.loads((rd / "shards" / "00" / "result.json").read_text())
    assert [e.get("when") for e in result["events"] if e["event"] == "read_back"] == \
        ["load tiny_a", "load tiny_a_reweighted_s3"]
    cases = _junit(rd)
    assert set(cases) >= {"vectors_match_golden_model", "latency_is_2_cycles", "weights_read_back_as_loaded",
                          "reset_mid_stream_leaves_nothing_stale", "outputs_free_of_x_and_z_after_reset",
                          "reload_other_model_mid_run"}
    assert not any(cases.values())
    assert s["vectors_per_second"] > 0 and s["cycles"] > 400


def test_constant_design_in_two_parallel_shards(tmp_path):
    code, s, out, rd = _sim(DATA / "tiny_const", tmp_path, vectors=300, jobs=2)
    assert code == 0 and s["shards"] == 2, out
    assert sum(p["checked"] for p in s["per_shard"]) == 300 == s["checked"]
    assert len(s["models"]) == 1 and "weights_read_back_as_loaded" not in _junit(rd)


def test_rounding_bug_is_printed_saved_and_replayed_from_the_command_line(tmp_path):
    # half to even -> half up in the output requantisation: only exact ties differ
    bad = _planted(tmp_path, "up = (rem > 3'd4) || ((rem == 3'd4) && q[0]);", "up = (rem >= 3'd4);")
    enc = [sys.executable, "-m", "encoder.cli", "sim"]
    env = {**os.environ, "ENCODER_SIM_BUILD": str(BUILD)}
    p = subprocess.run(enc + [str(bad), "--vectors", "600", "--out", str(tmp_path / "r1")],
                       capture_output=True, text=True, env=env)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "MISMATCH" in p.stdout and "expected latents" in p.stdout and "got      latents" in p.stdout
    assert "input    [" in p.stdout and " at cycle " in p.stdout
    failures = json.loads((tmp_path / "r1" / "failures.json").read_text())
    vs = failures["vectors"]
    assert vs and all(v["what"] == "data" for v in vs)
    # every saved vector is a tie: half up and half to even really disagree on it
    for v in vs:
        ir = load_ir(next(m["path"] for m in failures["models"] if m["name"] == v["model_name"]))
        assert golden.run(ir, counts=np.array([v["counts"]])).latents[0].tolist() == v["expected"]["latents"]
        assert v["got"]["latents"] != v["expected"]["latents"]
    p2 = subprocess.run(enc + [str(bad), "--replay", str(tmp_path / "r1" / "failures.json"),
                               "--out", str(tmp_path / "r2")], capture_output=True, text=True, env=env)
    assert p2.returncode == 1
    again = json.loads((tmp_path / "r2" / "failures.json").read_text())["vectors"]
    assert sorted(v["id"] for v in again) == sorted(v["id"] for v in vs)
    p3 = subprocess.run(enc + [str(DATA / "tiny"), "--replay", str(tmp_path / "r1" / "failures.json"),
                               "--out", str(tmp_path / "r3")], capture_output=True, text=True, env=env)
    assert p3.returncode == 0, p3.stdout + p3.stderr
    assert json.loads((tmp_path / "r3" / "summary.json").read_text())["checked"] == len(vs)


def test_latency_other_than_the_manifest_states_fails_every_vector(tmp_path):
    bad = _planted(tmp_path, manifest=lambda m: m.update(latency=3))
    code, s, out, rd = _sim(bad, tmp_path, vectors=150)
    first = json.loads((rd / "failures.json").read_text())["vectors"][0]
    assert code == 1 and first["what"] == "latency" and first["latency"] == 2
    assert first["got"] == first["expected"]               # the data itself is right
    assert s["mismatches"] >= 150 and _junit(rd)["latency_is_3_cycles"]


def test_valid_pipeline_surviving_reset_shows_up_as_stale_output(tmp_path):
    bad = _planted(tmp_path, "            v1 <= 1'b0;\n", "")
    code, s, out, rd = _sim(bad, tmp_path, vectors=200, seed=5)
    assert code == 1 and s["status"] == "mismatch"
    reset_cycle = json.loads((rd / "shards" / "00" / "result.json").read_text())["events"]
    first = json.loads((rd / "failures.json").read_text())["vectors"][0]
    at = next(e["cycle"] for e in reset_cycle if e["event"] == "reset")
    assert first["cycle_out"] > at              # nothing wrong before the reset, wrong right after it


def test_outputs_computed_from_unloaded_registers_show_x(tmp_path):
    bad = _planted(tmp_path, "            if (v1) begin\n", "            begin\n")
    code, s, out, rd = _sim(bad, tmp_path, vectors=60)
    assert code == 1 and s["x_or_z_samples"] > 0 and s["mismatches"] == 0
    assert _junit(rd)["outputs_free_of_x_and_z_after_reset"]


def test_register_read_back_from_the_wrong_address_is_caught(tmp_path):
    bad = _planted(tmp_path, "{4'd0, regs[cfg_addr]}", "{4'd0, regs[cfg_addr ^ 4'd1]}")
    code, s, out, rd = _sim(bad, tmp_path, vectors=60)
    assert code == 1 and s["register_read_back_errors"] > 0 and s["mismatches"] == 0
    assert _junit(rd)["weights_read_back_as_loaded"]


def test_registers_that_ignore_a_second_load_fail_only_after_the_reload(tmp_path):
    bad = _planted(tmp_path, "if (cfg_we && cfg_addr < 4'd10)",
                   "if (cfg_we && cfg_addr < 4'd10 && regs[cfg_addr] === 4'bx)")     # write-once registers
    code, s, out, rd = _sim(bad, tmp_path, vectors=400, reload_ir=str(DATA / "tiny_b.json"))
    assert code == 1 and s["models"][1]["name"] == "tiny_b"
    fails = json.loads((rd / "failures.json").read_text())["vectors"]
    assert fails and {v["model_name"] for v in fails} == {"tiny_b"}
    assert s["register_read_back_errors"] > 0


def test_waves_are_recorded_per_shard(tmp_path):
    code, s, out, rd = _sim(DATA / "tiny_const", tmp_path, vectors=40, waves=True)
    assert code == 0, out
    assert (rd / "shards" / "00" / "tiny_encoder_const.fst").stat().st_size > 0


def test_existing_run_directory_is_not_overwritten(tmp_path):
    (tmp_path / "run").mkdir()
    from encoder.errors import UserError
    with pytest.raises(UserError, match="already exists; pass --force"):
        _sim(DATA / "tiny_const", tmp_path, vectors=10)


def test_cli_run_with_a_relative_output_directory_passes(tmp_path, monkeypatch):
    """The simulator runs in its build directory: a relative --out must still reach the testbench."""
    from encoder.cli import main
    monkeypatch.chdir(tmp_path)
    code = main(["sim", str(DATA / "tiny"), "--vectors", "60", "--seed", "2", "--out", "relative_run",
                 "--build-dir", str(BUILD)])
    assert code == 0
    s = json.loads((tmp_path / "relative_run" / "summary.json").read_text())
    assert s["status"] == "pass" and s["checked"] == 60
