"""The testbench on a design with the e-link framing block (`encoder rtl --elinks 2`), on Icarus Verilog
(and the constant-weight design on Verilator).

A small generated design (synthetic tiny_conv IR: 16 cells, 3 latents) passes with every frame checked
against encoder.econt.framing applied to the golden outputs, with the framing registers (e-link count,
latent mask) rewritten three times mid-run through the configuration port and read back; copies with a
bug planted in the framing block fail on the frames alone: a BX counter that restarts at 0 instead of 1
after bx_reset, tx_data not cleared by reset (X after reset), frames a cycle later than the manifest
states, a count register seen one cycle late, unused e-links not zero, a mask register that ignores
writes, a mask reset value other than the manifest's.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from encoder.ir import save_ir
from encoder.ir.synthetic import synthetic_ir
from encoder.rtl_gen.design import generate_from_file, write_design
from verif_helpers import framed_design, junit, plant, sim

VECTORS = 300

pytestmark = pytest.mark.xdist_group("verif_framing")


@pytest.fixture(scope="module")
def framed(tmp_path_factory) -> Path:
    return framed_design(tmp_path_factory)


@pytest.fixture(scope="module")
def framed_constant(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("framed_constant")
    save_ir(synthetic_ir("tiny_conv", arithmetic="econt", seed=1), d / "ir.json")
    return write_design(generate_from_file(d / "ir.json", "constant", elinks=2), d / "design")


def _planted(framed: Path, tmp_path: Path, file=None, old=None, new=None, manifest=None) -> Path:
    return plant(framed, tmp_path / "planted", file, old, new, manifest)


def _sim(design, tmp_path, name="run", **kw):
    return sim(design, tmp_path / name, vectors=VECTORS, seed=3, **kw)


_junit = junit


def test_framed_design_passes_with_every_frame_checked(framed, tmp_path):
    code, s, out, rd = _sim(framed, tmp_path)
    assert code == 0 and s["status"] == "pass", out
    tx_latency = json.loads((framed / "manifest.json").read_text())["framing"]["latency"]
    assert s["checked"] == VECTORS and s["mismatches"] == 0
    assert s["frames_checked"] == VECTORS and s["frame_mismatches"] == 0 and s["stale_frames"] == 0
    assert s["tx_latency_expected"] == tx_latency and set(s["tx_latency_seen"]) == {str(tx_latency)}
    assert s["x_or_z_samples"] == 0 and s["frames_flushed_by_reset"] >= 1
    with np.load(rd / "shards" / "00" / "plan.npz") as z:
        flags = z["bx_reset"]
    reset_at = next(e["before"] for e in json.loads((rd / "shards" / "00" / "plan.json").read_text())["events"]
                    if e["kind"] == "reset")
    # The first BX restarts the counter, and so do a few random ones, with runs long enough (> 16 BXs)
    # for the counter to wrap; after the mid-stream design reset the counter restarts from the reset
    # alone (no BX-counter reset is forced there), so a counter that ignored rst would fail.
    assert flags[0] == 1 and s["bx_resets"] == int(flags.sum()) >= 4
    # bx_reset on idle cycles too, each taken by the counter: the frames after them match all the same.
    assert s["bx_reset_cycles"] > s["bx_resets"]
    assert 0 < reset_at < len(flags)
    assert np.diff(np.flatnonzero(flags)).max() > 16
    cases = _junit(rd)
    assert cases["frames_match_reference"] is False and cases[f"frame_latency_is_{tx_latency}_cycles"] is False
    assert "frames on 2 e-links: 300 checked, 0 mismatches" in out
    # The framing registers: reset values read back, then three writes mid-stream, each read back.
    result = json.loads((rd / "shards" / "00" / "result.json").read_text())
    reads = [e for e in result["events"] if e["event"] == "read_back_framing"]
    writes = [e for e in result["events"] if e["event"] == "framing"]
    assert reads[0]["when"] == "reset values" and len(reads) == 4 and all(e["errors"] == 0 for e in reads)
    assert result["framing_writes"] == 3 == len(writes) and writes[0]["elinks"] == 1   # not the reset value 2
    assert s["framing_writes"] == 3 and "3 writes of the e-link count and latent mask" in out


def _framing_result(rd: Path) -> dict:
    return json.loads((rd / "shards" / "00" / "result.json").read_text())


def test_programmable_design_passes_on_verilator_too(framed, tmp_path):
    code, s, out, rd = _sim(framed, tmp_path, sim="verilator")
    assert code == 0 and s["status"] == "pass", out
    assert s["frames_checked"] == VECTORS and s["frame_mismatches"] == 0 and s["framing_writes"] == 3
    assert s["register_read_back_errors"] == 0


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_constant_weight_design_has_a_configuration_port_for_its_framing_registers(framed_constant, tmp_path,
                                                                                   simulator):
    m = json.loads((framed_constant / "manifest.json").read_text())
    roles = {p["role"] for p in m["ports"]}
    assert {"cfg_we", "cfg_addr", "cfg_wdata", "cfg_rdata"} <= roles and m["registers"]["map"] == []
    assert [r["addr"] for r in m["registers"]["framing"]] == [0, 1] and m["registers"]["data_width"] == 8
    code, s, out, rd = _sim(framed_constant, tmp_path, sim=simulator)
    assert code == 0 and s["status"] == "pass", out
    assert s["frames_checked"] == VECTORS and s["frame_mismatches"] == 0 and s["register_read_back_errors"] == 0
    assert _framing_result(rd)["framing_writes"] == 3


def test_count_register_seen_a_cycle_late_fails_at_the_writes(framed, tmp_path):
    # A write in cycle t must frame every BX whose latents are on the outputs after t: a framing block
    # that registers the count once more sees it one BX late, and only the BX at each change fails.
    d = _planted(framed, tmp_path, "enc_elink_frame.v",
                 "    wire [COUNT_BITS-1:0] count = (n_elinks > MAX_COUNT) ? MAX_COUNT : n_elinks;",
                 "    reg [COUNT_BITS-1:0] n_late;\n    always @(posedge clk) n_late <= n_elinks;\n"
                 "    wire [COUNT_BITS-1:0] count = (n_late > MAX_COUNT) ? MAX_COUNT : n_late;")
    code, s, out, rd = _sim(d, tmp_path)
    assert code == 1 and s["mismatches"] == 0 and s["register_read_back_errors"] == 0
    assert 1 <= s["frame_mismatches"] <= 4          # at most one per count change (3 writes, the reset)
    fails = json.loads((rd / "failures.json").read_text())["vectors"]
    writes = [e["cycle"] for e in _framing_result(rd)["events"] if e["event"] in ("framing", "reset")]
    # each failing frame's BX reached the outputs within a few cycles of a write (or reset) starting
    assert all(any(1 <= f["cycle_in"] + s["latency_expected"] - w <= 4 for w in writes) for f in fails)


def test_count_register_seen_a_cycle_early_fails_at_the_writes(framed, tmp_path):
    # The other side of the boundary: a framing block that takes the count from the write itself (in
    # the write's cycle, before the register holds it) frames the BX on the outputs in that cycle
    # with the new value, one BX too early.
    d = _planted(framed, tmp_path, "enc_frame_cfg.v", "    assign n_elinks = count_q;",
                 "    assign n_elinks = (we && addr == {ADDR_BITS{1'b0}}) ? wdata[COUNT_BITS-1:0] : count_q;")
    code, s, out, rd = _sim(d, tmp_path)
    assert code == 1 and s["mismatches"] == 0 and s["register_read_back_errors"] == 0
    assert 1 <= s["frame_mismatches"] <= 3          # at most one per count write


def test_unused_elinks_not_zero_fail(framed, tmp_path):
    d = _planted(framed, tmp_path, "enc_elink_frame.v", "assign by_count[n] = {used, {EMPTY{1'b0}}};",
                 "assign by_count[n] = {used, {EMPTY{1'b1}}};")
    code, s, out, rd = _sim(d, tmp_path)
    assert code == 1 and s["mismatches"] == 0 and s["frame_mismatches"] > 0
    fails = json.loads((rd / "failures.json").read_text())["vectors"]
    assert all(f["expected"]["elinks"] == 1 and f["got"]["tx_data"][1] == "ffffffff" for f in fails)
    # Replayed, they are framed with the count and mask they failed under (written before them): they
    # fail again bit for bit, though the design resets to 2 e-links.
    saved = json.loads((rd / "failures.json").read_text())
    saved["vectors"] = [f for f in fails if f["id"] >= 0][:3]
    (tmp_path / "some.json").write_text(json.dumps(saved))
    code, s2, out2, rd2 = _sim(d, tmp_path, "replay", replay=str(tmp_path / "some.json"))
    again = {f["id"]: f for f in json.loads((rd2 / "failures.json").read_text())["vectors"] if f["id"] >= 0}
    assert code == 1 and sorted(again) == sorted(f["id"] for f in saved["vectors"])
    for f in saved["vectors"]:
        assert again[f["id"]]["expected"] == f["expected"] and again[f["id"]]["got"] == f["got"]


def test_mask_register_ignoring_writes_fails_read_back_and_frames(framed, tmp_path):
    d = _planted(framed, tmp_path, "enc_frame_cfg.v", "else if (we && addr == ADDR) word_q <= wdata[BITS-1:0];",
                 "else word_q <= word_q;")
    code, s, out, rd = _sim(d, tmp_path)
    assert code == 1 and s["mismatches"] == 0
    assert s["register_read_back_errors"] > 0 and s["frame_mismatches"] > 0


def test_bx_counter_restarting_at_0_after_bx_reset_fails_the_frames_only(framed, tmp_path):
    d = _planted(framed, tmp_path, "enc_elink_frame.v", "bx_count <= crossing_end ? 4'd1 : 4'd0;",
                 "bx_count <= 4'd0;")
    code, s, out, rd = _sim(d, tmp_path)
    assert code == 1 and s["status"] == "mismatch"
    assert s["mismatches"] == 0                     # the latents are right
    # Frames after a counter reset (until a design reset restarts the count) carry a counter one too low.
    fails = json.loads((rd / "failures.json").read_text())["vectors"]
    assert len(fails) == s["frame_mismatches"] and all(f["stream"] == "frame" for f in fails)
    real = [f for f in fails if f["id"] >= 0]         # not the reset fillers
    assert 0 < len(real) <= s["frames_checked"] - s["bx_resets"]
    f = real[0]
    assert f["what"] == "data" and f["bx_reset"] == 0
    exp_bx = int(f["expected"]["tx_data"][0], 16) >> 27          # the top 5 bits of e-link 0
    got_bx = int(f["got"]["tx_data"][0], 16) >> 27
    assert exp_bx == f["expected"]["bx_field"] and got_bx == (exp_bx - 1) % 16
    assert f["expected"]["tx_data"][1] == f["got"]["tx_data"][1]   # e-link 1: latents only, right
    assert _junit(rd)["frames_match_reference"] is True
    assert "frame of vector" in out and "BX field" in out

    # Replaying a few of them: preamble BXs bring the counter back to each frame's field, so the
    # frames fail again, bit for bit, without the BXs that came before them in the run.
    saved = json.loads((rd / "failures.json").read_text())
    saved["vectors"] = [f for f in real if f["expected"]["bx_field"] in (0, 1, 5)][:3]
    assert len(saved["vectors"]) == 3
    (tmp_path / "some.json").write_text(json.dumps(saved))
    code, s2, out2, rd2 = _sim(d, tmp_path, "replay", replay=str(tmp_path / "some.json"))
    assert code == 1 and s2["vectors"] == 3 and s2["frames_checked"] == 3
    again = {f["id"]: f for f in json.loads((rd2 / "failures.json").read_text())["vectors"] if f["id"] >= 0}
    assert sorted(again) == sorted(f["id"] for f in saved["vectors"])
    for f in saved["vectors"]:
        assert again[f["id"]]["expected"]["tx_data"] == f["expected"]["tx_data"]
        assert again[f["id"]]["got"]["tx_data"] == f["got"]["tx_data"]


def test_tx_data_not_cleared_by_reset_shows_x(framed, tmp_path):
    d = _planted(framed, tmp_path, "enc_elink_frame.v", "            tx_data  <= {FRAME{1'b0}};\n", "")
    code, s, out, rd = _sim(d, tmp_path)
    assert code == 1 and s["x_or_z_samples"] > 0 and s["mismatches"] == 0 == s["frame_mismatches"]
    result = json.loads((rd / "shards" / "00" / "result.json").read_text())
    assert {e["port"] for e in result["x_events"]} == {"tx_data"}


def test_frames_later_than_the_manifest_states_fail_their_latency(framed, tmp_path):
    def later(m):
        for p in m["ports"]:
            if p["role"] in ("out_tx_valid", "out_tx_data"):
                p["latency"] -= 1          # the design is one cycle later than this manifest says
        m["framing"]["latency"] -= 1
    d = _planted(framed, tmp_path, manifest=later)
    code, s, out, rd = _sim(d, tmp_path)
    tx_latency = s["tx_latency_expected"]
    assert code == 1 and s["mismatches"] == 0 and s["frame_mismatches"] >= VECTORS
    # Up to the reset every frame comes one cycle late; past it the in-order pairing is off by the filler
    # frame the scoreboard expected to survive the reset (as for latents at a wrong latency).
    assert str(tx_latency) not in s["tx_latency_seen"] and s["tx_latency_seen"][str(tx_latency + 1)] > 100
    fails = json.loads((rd / "failures.json").read_text())["vectors"]
    assert fails[0]["what"] == "latency" and fails[0]["expected"]["tx_data"] == fails[0]["got"]["tx_data"]
    assert _junit(rd)[f"frame_latency_is_{tx_latency}_cycles"] is True


def test_latent_mask_reset_value_is_taken_from_the_manifest(framed, tmp_path):
    # The same partial reset mask in the RTL and the manifest passes (the dropped latent bits are packed
    # down in the frame); the full mask left in the RTL under a manifest stating the partial one fails on
    # the frames that go out under the reset value (before the first write, after the design reset),
    # and on its read-back.
    m = json.loads((framed / "manifest.json").read_text())
    top = framed / f"{m['top']}.v"
    word = 3 * next(p for p in m["ports"] if p["role"] == "out_latents")["field_width"]
    full, partial = (1 << word) - 1, 0x5A5A5A5A & ((1 << word) - 1)
    old = f".MASK_RESET({word}'h{full:x})"
    assert old in top.read_text() and m["registers"]["framing"][1]["reset"] == f"0x{full:x}"

    def masked(mm):
        mm["registers"]["framing"][1]["reset"] = f"0x{partial:x}"
        mm["framing"]["latent_mask"] = f"0x{partial:x}"
    good = _planted(framed, tmp_path / "a", top.name, old, f".MASK_RESET({word}'h{partial:x})", manifest=masked)
    code, s, out, _ = _sim(good, tmp_path, "same_mask")
    assert code == 0 and s["frames_checked"] == VECTORS and s["frame_mismatches"] == 0, out
    wrong = _planted(framed, tmp_path / "b", manifest=masked)
    code, s, out, rd = _sim(wrong, tmp_path, "other_mask")
    assert code == 1 and s["mismatches"] == 0 and s["frame_mismatches"] > 10
    assert any(e["when"] == "reset values" for e in _framing_result(rd)["readback_errors"])
