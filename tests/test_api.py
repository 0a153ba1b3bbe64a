"""The Python API (``import encoder``), the docs example, and the cocotb Makefile of a generated design."""

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import encoder
from encoder.errors import UserError
from encoder.ir.synthetic import synthetic_ir
from irtools import tiny_dense_ir
from rtl_helpers import need_tool

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


def _env():
    # The venv's bin first (cocotb-config, as an activated venv has it), the checkout importable.
    return {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": str(ROOT)}


def test_import_encoder_is_light_and_exposes_the_api():
    code = ("import sys, encoder; names = [encoder.load_ir, encoder.from_keras, encoder.load_data, encoder.emd, "
            "encoder.evaluate, encoder.IR, encoder.Design, encoder.from_econt]; "
            "heavy = [m for m in ('tensorflow', 'keras', 'qkeras', 'ot', 'matplotlib', 'cocotb') if m in sys.modules]; "
            "print(heavy)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"
    with pytest.raises(AttributeError, match="no attribute 'nonesuch'"):
        encoder.nonesuch


def test_predict_equals_a_case_worked_by_hand(tmp_path):
    # tests/test_hand_golden.py: counts [3, 1, 0, 0] -> u4.3 inputs [6, 2] -> latents [4, 0] (counts_per_mip 1)
    ir = encoder.IR(tiny_dense_ir([[1, -2], [3, 4], [-8, 7], [0, 5]], [2, -3]))
    assert ir.predict(np.array([[3, 1, 0, 0]])).tolist() == [[4, 0]]
    assert ir.predict([3.0, 1.0, 0.0, 0.0], counts=True).tolist() == [[4, 0]]   # one module, as counts
    assert ir.latent_lsb == 0.25
    path = ir.save(tmp_path / "tiny.json")
    again = encoder.load_ir(path)
    assert again.hash == ir.hash and again.predict([[3, 1, 0, 0]]).tolist() == [[4, 0]]
    with pytest.raises(FileExistsError, match="exists"):
        ir.save(path)
    with pytest.raises(UserError, match=r"expected \(modules, 4\)"):
        ir.predict(np.zeros((2, 5)))
    with pytest.raises(UserError, match="non-negative"):
        ir.predict([[-1, 0, 0, 0]])


def test_emd_of_a_moved_charge_is_the_cell_distance():
    # Independent reference: all of one unit moved from cell a to cell b costs the distance between them.
    from encoder import geometry
    g = geometry.load("hgcal")
    a, b = np.zeros(48), np.zeros(48)
    a[0], b[5] = 2.0, 7.0
    assert encoder.emd(a, b) == pytest.approx(np.asarray(g.distance_matrix)[0, 5])


def test_load_data_reads_the_shipped_cms_sample_and_wants_units_for_csv():
    path = ROOT / "data" / "cms" / "calq_ttbar_6050.csv"
    with pytest.raises(UserError, match="units_per_mip"):
        encoder.load_data(path)
    d = encoder.load_data(path, units_per_mip=35)
    assert d.charges.shape == (6050, 48)
    first = np.array(path.read_text().splitlines()[1].split(","), dtype=float)
    assert np.allclose(d.charges[0], first / 35)


def test_docs_example_runs_as_written_and_writes_nothing_in_the_working_folder(tmp_path):
    need_tool("iverilog")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    res = subprocess.run([sys.executable, str(ROOT / "docs" / "api_example.py"), str(tmp_path / "ex"),
                          "--modules", "200", "--vectors", "30"], cwd=cwd, capture_output=True, text=True,
                         env=_env(), timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "cocotb: PASS" in res.stdout and "0 mismatches" in res.stdout
    assert list(cwd.iterdir()) == []            # no sim/build under the caller's folder
    assert (tmp_path / "ex" / "sim" / "results.xml").is_file()


def _failures(results_xml: Path) -> tuple[int, int]:
    root = ET.parse(results_xml).getroot()
    cases = root.findall(".//testcase")
    return len(cases), sum(1 for c in cases if c.find("failure") is not None or c.find("error") is not None)


def test_make_in_a_generated_design_runs_the_testbench_and_catches_a_broken_multiplier(tmp_path):
    need_tool("iverilog")
    d = encoder.IR(synthetic_ir("tiny_conv", "qkeras", seed=4)).write_rtl(tmp_path / "d")
    m = d.manifest
    assert (d.dir / "files.f").read_text().split() == m["sources"]
    mk = (d.dir / "Makefile").read_text()
    assert f"COCOTB_TOPLEVEL     = {m['top']}" in mk and "Makefile.sim" in mk and str(tmp_path) not in mk

    res = subprocess.run(["make", "-C", str(d.dir), "SIM=icarus", "VECTORS=100"], capture_output=True, text=True,
                         env=_env(), timeout=600, cwd=tmp_path)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert _failures(d.dir / "results.xml") == (1, 0)
    assert (d.dir / "sim_build" / "icarus" / "shard" / "result.json").is_file()

    # The same folder with one multiplier input off by one: the golden model must notice.
    bad = tmp_path / "bad"
    encoder.IR(synthetic_ir("tiny_conv", "qkeras", seed=4)).write_rtl(bad)
    mul = bad / "enc_mul.v"
    text = mul.read_text()
    assert "assign a_s = {1'b0, a};" in text
    mul.write_text(text.replace("assign a_s = {1'b0, a};", "assign a_s = {1'b0, a} + 1;"))
    res = subprocess.run(["make", "-C", str(bad), "SIM=icarus", "VECTORS=100"], capture_output=True, text=True,
                         env=_env(), timeout=600, cwd=tmp_path)
    assert res.returncode != 0
    assert _failures(bad / "results.xml") == (1, 1)


def test_design_simulate_through_the_api_matches_the_cli_summary(tmp_path):
    need_tool("iverilog")
    d = encoder.IR(synthetic_ir("tiny_dense", "econt", seed=3)).write_rtl(tmp_path / "d", weights="constant")
    r = d.simulate(vectors=40, out=tmp_path / "run")
    assert r.passed and r["status"] == "pass" and r["mismatches"] == 0 and r["checked"] >= 40
    assert (tmp_path / "run" / "summary.json").is_file()
    with pytest.raises(UserError, match="already exists"):         # nothing a user made is overwritten
        d.simulate(vectors=40, out=tmp_path / "run")
    need_tool("yosys")
    rep = d.synthesize()            # generic yosys: the flip-flops it finds are the manifest's register bits
    assert rep["flip_flops"] == d.manifest["register_bits"]["total"] and rep["transistors"] > 0
    assert (d.dir / "synth" / "synth.json").is_file()


def test_from_keras_takes_a_model_or_an_h5_and_predicts_what_qkeras_computes(tmp_path):
    from encoder.training import model
    from encoder.training.config import load_config
    from encoder.training.inputs import model_inputs
    cfg = load_config(ROOT / "configs" / "econt_8x8.yaml")
    enc = model.build_encoder(cfg)
    model.set_random_weights(enc, np.random.default_rng(5), scale=1.0)
    ir = encoder.from_keras(enc, name="api_test")          # input path: the kit's defaults (hgcal 8x8, 35/MIP)
    assert ir.name == "api_test" and ir.n_latent == 16
    charges = encoder.synth_data(300, seed=9).charges
    q = model.predict(enc, model_inputs(cfg, charges).image)           # QKeras itself, an independent path
    assert np.array_equal(ir.predict(charges), np.rint(q / ir.latent_lsb).astype(np.int64))
    enc.save(tmp_path / "enc.h5")
    again = encoder.from_keras(tmp_path / "enc.h5", counts_per_mip=35)
    assert again.name == "enc"                                          # named after the file
    assert np.array_equal(again.predict(charges), ir.predict(charges))
    with pytest.raises(UserError):
        encoder.from_keras(tmp_path / "enc.h5", counts_per_mip=-1)
