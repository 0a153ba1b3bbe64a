"""`encoder evaluate` on a tiny trained model: what is scored is what the chip sends.

One training of the 3-bit-latent (2 e-link) config, 1 epoch on 400
synthetic modules, is shared by the module. The references are built
independently of the kit's decoding code: the decoder is loaded with
QKeras, the image is read back to cells with the geometry table's
``tc_to_pixel_8x8`` and scaled by hand.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from encoder import geometry, inputpath
from encoder.cli import main
from encoder.data import load_data, save_data
from encoder.data.synth import synthesize
from encoder.ir import load_ir
from encoder.metrics import emd, run_all

pytestmark = pytest.mark.xdist_group("tensorflow")

ROOT = Path(__file__).resolve().parents[1]
REF = json.loads((Path(geometry.__file__).parent / "hgcal_module.json").read_text())
CHIP = ["chip_ts_1.35_e2", "chip_ts_2_e2", "chip_stc0_e2", "chip_stc1_e2", "chip_stc2_e2", "chip_stc3_e2", "chip_bc_e2"]
ALGORITHMS = ["ae_golden", "ae_qkeras", "threshold_low", "threshold_high", "stc4", "stc16", "best_choice_4", *CHIP]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    d = tmp_path_factory.mktemp("evaluate")
    save_data(d / "train.npz", synthesize(400, 21, geometry.load("hgcal")))
    data = synthesize(300, 22, geometry.load("hgcal"))
    data.charges[5] = 0.0                          # an empty module must be counted apart
    save_data(d / "test.npz", data)
    (d / "small.yaml").write_text(f"extends: {ROOT / 'configs' / 'econt_8x8_2elinks.yaml'}\n"
                                  "training: {batch_size: 100, patience: 1}\n")
    assert main(["train", "--config", str(d / "small.yaml"), "--data", str(d / "train.npz"),
                 "--out", str(d / "run"), "--epochs", "1", "--seed", "4"]) == 0
    assert main(["evaluate", str(d / "run"), "--data", str(d / "test.npz"), "--out", str(d / "ev")]) == 0
    return d


def independent_golden_decode(run_dir: Path, ir, charges: np.ndarray) -> np.ndarray:
    """Golden codes x LSB -> QKeras-loaded decoder -> cells by the geometry table -> transmitted sum."""
    from encoder.golden import run as golden_run
    from encoder.training import tf_env  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)
    from qkeras.utils import load_qmodel
    g = golden_run(ir, charges)
    lat = g.latents * 2.0 ** -ir.latent_format.frac
    dec = load_qmodel(str(run_dir / "decoder.h5"), compile=False)
    img = dec.predict(lat.astype(np.float32), batch_size=4096, verbose=0).reshape(len(lat), -1)
    cells = img[:, REF["tc_to_pixel_8x8"]].astype(np.float64)
    sent = inputpath.decode_sum(g.sum_code)             # 5-bit exponent, 4-bit mantissa
    assert np.any(sent != g.module_sum)                  # the transmitted sum is coarser than the true one
    m = np.floor(np.log2(np.maximum(sent, 1))).astype(int)
    cells = cells * 2.0 ** m[:, None] / 35.0
    total = cells.sum(axis=1)
    scale = np.divide(sent / 35.0, total, out=np.zeros_like(total), where=total > 0)
    return cells * scale[:, None]


def test_metrics_json_has_every_algorithm_with_emd_statistics_and_bandwidth(work):
    m = json.loads((work / "ev" / "metrics.json").read_text())
    assert list(m["algorithms"]) == ALGORITHMS
    assert (m["n_modules"], m["n_empty_modules"], m["n_elinks"], m["best_choice"]) == (300, 1, 2, "best_choice_4")
    for name, a in m["algorithms"].items():
        e, b = a["emd"], a["bandwidth"]
        assert e["modules"] == 300 and e["n_input_empty"] == 1 and e["count"] + e["n_output_empty"] == 299, name
        assert 0 < e["median"] and 0 < e["mean"] and e["p16"] <= e["median"] <= e["p84"], name
        assert b["input_bits"] == 336 and b["n_elinks"] == 2 and b["budget_bits"] == 64, name
        assert b["compression_ratio"] == pytest.approx(336 / b["bits_mean"]), name
        assert {"mse_mean", "centroid_shift_cm_mean", "sum_ratio_mean", "emd_vs_occupancy", "emd_vs_energy"} <= set(a)
        assert sum(a["emd_vs_occupancy"]["count"]) == e["count"]
    ae = m["algorithms"]["ae_golden"]["bandwidth"]
    # 4-bit header + 9-bit module-sum code + 16 latents x 3 bits
    assert (ae["bits_mean"], ae["bits_max"], ae["elinks_max"], ae["fraction_over_budget"]) == (61, 61, 2, 0.0)
    thr = m["algorithms"]["threshold_low"]["bandwidth"]
    assert not thr["fixed_size"] and thr["bits_p99"] >= thr["bits_mean"]
    rows = (work / "ev" / "metrics.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ALGORITHMS


def test_autoencoder_rows_decode_the_golden_latent_codes_rescaled_to_the_transmitted_sum(work):
    from encoder.studies.evaluate import evaluate, load_run
    data = load_data(work / "test.npz")
    run = load_run(work / "run")
    assert main(["export", str(work / "run"), "--out", str(work / "ir.json")]) == 0
    ir = load_ir(work / "ir.json")
    ev = evaluate(run, data, ir, with_baselines=False, progress=False)
    ref = independent_golden_decode(work / "run", ir, data.charges)
    np.testing.assert_allclose(ev.reconstructions["ae_golden"], ref, rtol=1e-6, atol=1e-9)
    # the directory written by the command holds the EMD of exactly that reconstruction
    per_module = np.load(work / "ev" / "modules.npz")
    np.testing.assert_allclose(per_module["emd_ae_golden"], emd(data.charges, ref), rtol=1e-9, atol=1e-12)
    assert np.all(per_module["bits_ae_golden"] == 61)
    # the float path rescales to the exact sum instead: its sum ratio is 1, the chip's is not
    m = json.loads((work / "ev" / "metrics.json").read_text())["algorithms"]
    assert m["ae_qkeras"]["sum_ratio_mean"] == pytest.approx(1.0, abs=2e-3)
    assert m["ae_golden"]["sum_ratio_std"] > m["ae_qkeras"]["sum_ratio_std"]


def test_baselines_equal_metrics_run_all_on_the_same_modules(work):
    data = load_data(work / "test.npz")
    per_module = np.load(work / "ev" / "modules.npz")
    for name, r in run_all(data.charges, n_elinks=2).items():
        np.testing.assert_array_equal(per_module[f"bits_{name}"], r.bits)
        np.testing.assert_allclose(per_module[f"emd_{name}"], emd(data.charges, r.reconstructed), rtol=1e-12)


def test_chip_rows_are_the_chip_algorithms_decoded_from_their_words(work):
    from encoder.metrics import chip_baselines
    data = load_data(work / "test.npz")
    per_module = np.load(work / "ev" / "modules.npz")
    m = json.loads((work / "ev" / "metrics.json").read_text())
    rows = chip_baselines.run_all(data.charges, n_elinks=2)
    assert list(rows) == CHIP
    for name, r in rows.items():
        np.testing.assert_array_equal(per_module[f"bits_{name}"], r.bits)
        np.testing.assert_allclose(per_module[f"emd_{name}"], emd(data.charges, r.reconstructed), rtol=1e-12)
        a = m["algorithms"][name]
        assert a["kind"] == "chip" and a["chip"]["truncated_frames"] == int(r.truncated.sum()), name
    assert m["chip_baselines"]["buffer"] == {"t1": 338, "t2": 314, "t3": 25}
    assert "chip_bc_e2" in (work / "ev" / "metrics.csv").read_text()


def test_given_ir_is_what_the_golden_model_runs_and_elinks_pick_best_choice(work):
    assert main(["evaluate", str(work / "run"), "--data", str(work / "test.npz"), "--out", str(work / "ev_ir"),
                 "--ir", str(work / "ir.json"), "--elinks", "3", "--no-plots"]) == 0
    m = json.loads((work / "ev_ir" / "metrics.json").read_text())
    assert m["ir"]["hash"] == load_ir(work / "ir.json").hash and m["ir"]["matches_run_weights"]
    assert m["best_choice"] == "best_choice_6" and m["n_elinks"] == 3
    a = np.load(work / "ev" / "modules.npz")["emd_ae_golden"]
    b = np.load(work / "ev_ir" / "modules.npz")["emd_ae_golden"]
    np.testing.assert_array_equal(a, b)
    assert not list((work / "ev_ir").glob("*.png"))


def test_plots_and_tables_are_written(work):
    ev = work / "ev"
    for f in ("emd_hist.png", "emd_vs_occupancy.png", "emd_vs_energy.png"):
        assert (ev / f).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f
    assert len(list(ev.glob("display_*.png"))) == 3
    occ = (ev / "emd_by_occupancy.csv").read_text().splitlines()
    assert occ[0] == "algorithm,variable,lo,hi,count,mean,median"
    rows = [r.split(",") for r in (ev / "emd_by_energy.csv").read_text().splitlines()[1:]]
    per_algorithm = {a: [r for r in rows if r[0] == a] for a in ALGORITHMS}
    n_bins = len(per_algorithm["ae_golden"])
    assert n_bins >= 2 and all(len(v) == n_bins for v in per_algorithm.values())
    assert all(r[1] == "signal charge in the module (truth) [MIP]" for r in rows)
    m = json.loads((ev / "metrics.json").read_text())["algorithms"]
    for a, v in per_algorithm.items():      # quantile bins of the truth hold every module with a valid EMD
        assert sum(int(r[4]) for r in v) == m[a]["emd"]["count"], a


def test_existing_output_is_kept_unless_forced(work, capsys):
    before = (work / "ev" / "metrics.json").stat().st_mtime_ns
    assert main(["evaluate", str(work / "run"), "--data", str(work / "test.npz"), "--out", str(work / "ev")]) == 1
    assert "already exists" in capsys.readouterr().err
    assert (work / "ev" / "metrics.json").stat().st_mtime_ns == before
    bad = work / "bad.npz"
    np.savez(bad, charges=np.ones((3, 40)))
    assert main(["evaluate", str(work / "run"), "--data", str(bad), "--out", str(work / "ev_bad")]) == 1
    assert "48" in capsys.readouterr().err and not (work / "ev_bad").exists()


def test_chip_arithmetic_shift_is_measured_against_qkeras_arithmetic_on_the_same_weights(work):
    if not (work / "ir.json").exists():
        assert main(["export", str(work / "run"), "--out", str(work / "ir.json")]) == 0
    assert main(["export", str(work / "run"), "--out", str(work / "ir_econt.json"), "--arithmetic", "econt"]) == 0
    assert main(["evaluate", str(work / "run"), "--data", str(work / "test.npz"), "--out", str(work / "ev_econt"),
                 "--ir", str(work / "ir_econt.json"), "--no-plots"]) == 0
    m = json.loads((work / "ev_econt" / "metrics.json").read_text())
    sh = m["arithmetic_shift"]
    assert m["ir"]["arithmetic"] == "econt" and sh["arithmetic"] == "econt"
    # Independent reference: both IRs through the golden model, codes compared by hand.
    from encoder.golden import run as golden_run
    charges = load_data(work / "test.npz").charges
    chip = golden_run(load_ir(work / "ir_econt.json"), charges).latents
    qk = golden_run(load_ir(work / "ir.json"), charges).latents
    assert chip.shape == qk.shape
    changed = chip != qk
    assert sh["modules_with_a_changed_latent"] == pytest.approx(changed.any(axis=1).mean())
    assert sh["latents_changed"] == pytest.approx(changed.mean())
    assert sh["max_abs_code_change"] == np.abs(chip - qk).max()
    assert changed.any()                     # 1 epoch of training: flooring does move some codes
    # The QKeras-arithmetic row is exactly the default evaluation's golden row.
    a = np.load(work / "ev" / "modules.npz")["emd_ae_golden"]
    b = np.load(work / "ev_econt" / "modules.npz")["emd_ae_golden_qkeras_arith"]
    np.testing.assert_array_equal(a, b)
    # The IR-level transformation states exactly what export --arithmetic econt writes.
    from encoder.ir.arithmetic import with_arithmetic
    moved = with_arithmetic(load_ir(work / "ir.json"), "econt").to_dict(with_hash=False)
    exported = load_ir(work / "ir_econt.json").to_dict(with_hash=False)
    for d in (moved, exported):
        d.pop("source")
    assert moved == exported
    back = with_arithmetic(load_ir(work / "ir_econt.json"), "qkeras").to_dict(with_hash=False)
    original = load_ir(work / "ir.json").to_dict(with_hash=False)
    back.pop("source"), original.pop("source")
    assert back == original
    ev = json.loads((work / "ev" / "metrics.json").read_text())
    assert sh["emd_mean"]["qkeras"] == pytest.approx(ev["algorithms"]["ae_golden"]["emd"]["mean"])
    assert sh["emd_mean"]["econt"] == pytest.approx(m["algorithms"]["ae_golden"]["emd"]["mean"])
