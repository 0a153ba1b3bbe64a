"""Bulk verification (`encoder sim --bulk`) and upset injection (`--seu`).

The bulk harness must judge exactly as the per-vector testbench does: the
same vectors pass, the same vectors fail with a planted bug (both
simulators), and its failures file replays in the per-vector testbench.
Upsets must show: with no triplication an upset campaign corrupts outputs,
and every upset is recorded with register, bit and cycle.
"""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from encoder.rtl_gen.design import generate, write_design
from encoder.verif import bulk, seu
from encoder.verif.design import load_design
from irtools import tiny_conv_ir
from verif_helpers import sim

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "verif"

pytestmark = pytest.mark.xdist_group("verif_bulk")


def _planted(tmp_path: Path) -> Path:
    bad = tmp_path / "planted"
    shutil.copytree(DATA / "tiny", bad)
    for f in ("tiny_a.json", "tiny_b.json"):
        shutil.copy(DATA / f, tmp_path / f)
    v = bad / "tiny_encoder.v"
    v.write_text(v.read_text().replace("up = (rem > 3'd4) || ((rem == 3'd4) && q[0]);", "up = (rem >= 3'd4);"))
    return bad


def _failing(run_dir: Path) -> list:
    vs = json.loads((run_dir / "failures.json").read_text())["vectors"]
    return sorted((v["id"], v["latency"], tuple(v["got"]["latents"])) for v in vs)


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_bulk_flags_exactly_the_vectors_the_per_vector_testbench_flags(simulator, tmp_path):
    code, s, _, _ = sim(DATA / "tiny", tmp_path / "good", sim=simulator, vectors=1200, seed=4, bulk=True, jobs=2)
    assert code == 0 and s["status"] == "pass" and s["mode"] == "bulk"
    assert s["checked"] == 1200 and s["register_read_back_errors"] == 0 and s["stale_outputs"] == 0
    bad = _planted(tmp_path)
    code_b, sb, text, run_b = sim(bad, tmp_path / "bulk", sim=simulator, vectors=500, seed=9, bulk=True)
    code_p, sp, _, run_p = sim(bad, tmp_path / "per_vector", sim=simulator, vectors=500, seed=9)
    assert code_b == code_p == 1 and sb["mismatches"] == sp["mismatches"] > 0
    assert _failing(run_b) == _failing(run_p)
    assert "--replay" in text
    # The bulk run's failures replay in the per-vector testbench, failing again.
    code_r, sr, _, _ = sim(bad, tmp_path / "replay", sim=simulator, replay=str(run_b / "failures.json"))
    assert code_r == 1 and sr["mismatches"] == sb["mismatches"]


def test_bulk_sees_a_wrong_latency(tmp_path):
    """The manifest promises one cycle more than the design takes: no output comes when it is due."""
    late = tmp_path / "late"
    shutil.copytree(DATA / "tiny", late)
    for f in ("tiny_a.json", "tiny_b.json"):
        shutil.copy(DATA / f, tmp_path / f)
    m = json.loads((late / "manifest.json").read_text())
    m["latency"] += 1
    (late / "manifest.json").write_text(json.dumps(m))
    code, s, _, _ = sim(late, tmp_path / "run", sim="icarus", vectors=200, seed=2, bulk=True)
    assert code == 1 and s["checked"] == 200 and s["mismatches"] == 200 and s["stale_outputs"] > 0


def test_dump_reader_splits_fields_as_the_harness_prints_them(tmp_path):
    # cycle 7 (8 digits), sum 0x1ab (9 bits: 3 digits), latents [3, 5] of 4 bits (1 digit each), then X
    (tmp_path / "d.hex").write_text("000000071ab35\n000000080x012\n")
    got, unknown = bulk.read_dump(tmp_path / "d.hex", [("cycle", 1, 32), ("sum", 1, 9), ("lat", 2, 4)])
    assert got["cycle"].tolist() == [7, 8] and got["sum"][0] == 0x1AB and got["lat"][0].tolist() == [3, 5]
    assert unknown.tolist() == [False, True]


@pytest.fixture(scope="module")
def conv_design(tmp_path_factory):
    d = tmp_path_factory.mktemp("conv")
    return write_design(generate(tiny_conv_ir(seed=3), "programmable", elinks=2), d / "design")


def test_inventory_lists_every_flip_flop_of_the_generated_design(conv_design):
    d = load_design(conv_design)
    regs = seu.inventory(d.dir, d.top, d.sources)
    m = json.loads((conv_design / "manifest.json").read_text())
    rb = m["register_bits"]
    kinds = {r.kind for r in regs}
    assert {"config", "output", "valid", "framing", "readback"} <= kinds
    # framing: bx_reset pipeline (latency), counter, tx_valid, tx_data, the e-link count and latent mask
    # registers; the rest is in register_bits
    framing_bits = sum(r.width for r in regs if r.kind in ("framing", "framing_config")) + sum(
        r.width for r in regs if r.path.startswith("bx_reset_pipe"))
    assert sum(r.width for r in regs) == rb["total"]
    assert framing_bits == d.latency + 4 + 1 + 64 + d.framing.count_bits + d.framing.mask_bits


def test_upsets_in_an_unhardened_design_reach_the_outputs(conv_design, tmp_path):
    code, s, text, run = sim(conv_design, tmp_path / "seu", sim="verilator", vectors=3000, seed=5, seu=40,
                             seu_target="config")
    assert s["mode"] == "bulk" and s["seu_injected"] == 40 and s["seu_events"] == 40
    assert s["seu_output_errors"] > 0 and code == 1
    reached = s["seu_reached_output"]
    assert 0 < len(reached) <= 40 and s["seu_sensitivity"]["by_kind"]["config"]["injected"] == 40
    # Only the active bank feeds the datapath: an upset of the shadow bank (given back before any
    # commit) never shows.
    assert all(u["upsets"][0]["kind"] == "config" and u["upsets"][0]["register"].endswith(".g_shadow.active")
               for u in reached)
    assert s["seu_unattributed_errors"] == 0           # every wrong output lies in some upset's window
    assert "upsets:" in text
    # Seeded: the same campaign again gives the same upsets and the same verdicts.
    _, s2, _, _ = sim(conv_design, tmp_path / "seu2", sim="verilator", vectors=3000, seed=5, seu=40,
                      seu_target="config")
    assert s2["seu_reached_output"] == reached


def test_seu_options_are_checked(conv_design, tmp_path):
    from encoder.errors import UserError
    with pytest.raises(UserError, match="--seu-target"):
        sim(conv_design, tmp_path / "a", seu=3, seu_target="weights")
    with pytest.raises(UserError, match="--seu"):
        sim(conv_design, tmp_path / "b", seu=-1)
    with pytest.raises(UserError, match="--seu"):
        sim(conv_design, tmp_path / "c", vectors=10, seu=500)


def test_campaign_is_seeded_and_spaced():
    regs = [seu.Register("a", 8, "config"), seu.Register("b", 2, "pipeline")]
    one = seu.campaign(regs, 50, 100, 100 + 50 * 40, 7)
    two = seu.campaign(regs, 50, 100, 100 + 50 * 40, 7)
    assert [[u.to_dict() for u in e] for e in one] == [[u.to_dict() for u in e] for e in two]
    cycles = np.array([e[0].cycle for e in one])
    assert (np.diff(cycles) >= seu.DEFAULT_WINDOW).all()
    only = seu.campaign(regs, 20, 0, 20 * 40, 1, kinds=("pipeline",))
    assert {e[0].register for e in only} == {"b"}
