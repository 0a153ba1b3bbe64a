"""Figures of one algorithm (by hand on crafted modules) and the study's baseline task and table."""

import json
from pathlib import Path

import numpy as np
import pytest

from encoder import geometry
from encoder.data import save_data
from encoder.data.synth import synthesize
from encoder.metrics import bandwidth, emd, run_all
from encoder.studies.datasets import split
from encoder.studies.points import run_baselines
from encoder.studies.report import markdown_table, pareto_plot, rows
from encoder.studies.scoring import score

REF = json.loads((Path(geometry.__file__).parent / "hgcal_module.json").read_text())
XY = np.asarray(REF["tc_xy_cm"])
UNIT = REF["emd_distance_unit_cm"]


def crafted():
    """Module 0: 10 MIP moved from cell 0 to cell 21; 1: exact; 2: twice the charge; 3: empty."""
    x = np.zeros((4, 48))
    r = np.zeros((4, 48))
    x[0, 0], r[0, 21] = 10.0, 10.0
    x[1, [3, 4, 40]] = [1.0, 2.0, 5.0]
    r[1] = x[1]
    x[2, [10, 11]] = [4.0, 1.0]
    r[2] = 2 * x[2]
    return x, r


def test_score_figures_equal_hand_computations():
    x, r = crafted()
    s = score("algo", x, r, 61, n_elinks=1).summary
    d = np.hypot(*(XY[0] - XY[21]))
    assert s["emd"]["n_input_empty"] == 1 and s["emd"]["count"] == 3
    assert s["emd"]["mean"] == pytest.approx(d / UNIT / 3, rel=1e-12)
    assert s["centroid_shift_cm_mean"] == pytest.approx(d / 3, rel=1e-12)
    assert s["mse_mean"] == pytest.approx((2 / 48) / 3, rel=1e-12)
    assert s["sum_ratio_mean"] == pytest.approx((1 + 1 + 2) / 3)
    b = s["bandwidth"]
    assert (b["bits_mean"], b["elinks_p99"], b["budget_bits"], b["fraction_over_budget"]) == (61, 2, 32, 1.0)
    assert b["compression_ratio"] == pytest.approx(336 / 61)
    occ = s["emd_vs_occupancy"]
    # cells strictly above 1 MIP: module 0 one (10), module 1 two (2, 5), module 2 one (4; 1.0 is not above)
    assert sum(occ["count"]) == 3
    assert occ["count"][occ["lo"].index(1)] == 2 and occ["count"][occ["lo"].index(2)] == 1


@pytest.fixture(scope="module")
def small_data(tmp_path_factory):
    d = tmp_path_factory.mktemp("base")
    data = synthesize(600, 11, geometry.load("hgcal"))
    save_data(d / "data.npz", data)
    return d, data


def test_baseline_task_equals_run_all_on_the_evaluation_split(small_data):
    d, data = small_data
    spec = {"name": "eval", "path": str(d / "data.npz"), "fingerprint": "f", "elinks": [3, 2],
            "out": str(d / "baselines.json"), "split": {"eval_fraction": 0.25, "split_seed": 3}}
    res = run_baselines(spec)
    assert json.loads((d / "baselines.json").read_text())["algorithms"].keys() == res["algorithms"].keys()
    _, ev = split(600, 0.25, 3)
    x = data.charges[ev]
    ref = run_all(x, n_elinks=2)
    ref["best_choice_6"] = run_all(x, n_elinks=3)["best_choice_6"]
    assert sorted(res["algorithms"]) == sorted(ref)
    for name, r in ref.items():
        got = res["algorithms"][name]
        e = emd(x, r.reconstructed)
        assert got["emd"]["mean"] == pytest.approx(e[e >= 0].mean(), rel=1e-12), name
        assert got["bandwidth"]["bits_mean"] == pytest.approx(r.bits.mean()), name
        assert got["over_budget"] == {"2": pytest.approx(np.mean(r.bits > 64)), "3": pytest.approx(np.mean(r.bits > 96))}
    assert res["algorithms"]["best_choice_4"]["bandwidth"]["n_elinks"] == 2
    assert res["algorithms"]["best_choice_6"]["bandwidth"]["n_elinks"] == 3
    n_low = (x > 1.35).sum(axis=1)
    assert res["algorithms"]["threshold_low"]["bandwidth"]["bits_p99"] == \
        pytest.approx(np.percentile(bandwidth.threshold_bits(n_low), 99))


def test_table_lists_points_then_baselines_and_the_plot_is_written(small_data, tmp_path):
    d, _ = small_data
    base = json.loads((d / "baselines.json").read_text()) if (d / "baselines.json").exists() else run_baselines(
        {"name": "eval", "path": str(d / "data.npz"), "fingerprint": "f", "elinks": [2, 3],
         "out": str(tmp_path / "b.json"), "split": None})
    ae = {"emd": {"mean": 1.1, "median": 1.0, "sem": 0.01}, "bandwidth": {
        "bits_mean": 61.0, "bits_p99": 61.0, "bits_max": 61.0, "elinks_p99": 2, "fraction_over_budget": 0.0,
        "compression_ratio": 336 / 61}, "mse_mean": 0.01, "centroid_shift_cm_mean": 0.5,
        "sum_ratio_mean": 1.0, "sum_ratio_std": 0.02}
    result = {"id": "elinks2_bits3-x", "label": "elinks2_bits3", "index": 0, "elinks": 2, "n_latent": 16,
              "latent_bits": 3, "train": {"epochs_run": 3, "best_val_loss": 0.5},
              "evaluations": {"eval": {"algorithms": {"ae_golden": ae, "ae_qkeras": ae}}}}
    table = rows([result], {"eval": base}, [])
    names = [r["name"] for r in table]
    assert names == ["elinks2_bits3", "threshold_low", "threshold_high", "stc4", "stc16",
                     "best_choice_4", "best_choice_6"]
    assert table[0]["label"] == "AE 2 e-links, 16x3 bits" and table[0]["emd_mean"] == 1.1
    assert table[1]["emd_mean"] == base["algorithms"]["threshold_low"]["emd"]["mean"]
    md = markdown_table(table, []).splitlines()
    assert len(md) == 2 + len(table) and md[2].startswith("| AE 2 e-links, 16x3 bits | 2 | 61.0 |")
    pareto_plot(table, [], tmp_path / "p.png", {})
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_baseline_task_scores_the_chip_algorithms_on_every_elink_budget(small_data, tmp_path):
    from encoder.metrics import chip_baselines
    d, data = small_data
    cfg = chip_baselines.ChipBaselines(threshold_mip=(1.35,), stc_types=(0, 1))
    spec = {"name": "eval", "path": str(d / "data.npz"), "fingerprint": "f", "elinks": [2, 3],
            "out": str(tmp_path / "b.json"), "split": None, "chip": cfg.to_dict()}
    res = run_baselines(spec)
    assert res["chip"] == cfg.to_dict()
    chip = [k for k in res["algorithms"] if k.startswith("chip_")]
    # STC type 1 (STC16_9) fills at most 2 e-links: no row at 3
    assert chip == ["chip_ts_1.35_e2", "chip_stc0_e2", "chip_stc1_e2", "chip_bc_e2",
                    "chip_ts_1.35_e3", "chip_stc0_e3", "chip_bc_e3"]
    for e in (2, 3):
        for name, r in chip_baselines.run_all(data.charges, n_elinks=e, config=cfg).items():
            got = res["algorithms"][name]
            v = emd(data.charges, r.reconstructed)
            assert got["emd"]["mean"] == pytest.approx(v[v >= 0].mean(), rel=1e-12), name
            assert got["kind"] == "chip" and got["bandwidth"]["n_elinks"] == e, name
    table = rows([], {"eval": res}, [])
    names = [r["name"] for r in table]
    assert names[-7:] == ["chip_ts_1.35_e2", "chip_stc0_e2", "chip_stc1_e2", "chip_bc_e2",
                          "chip_ts_1.35_e3", "chip_stc0_e3", "chip_bc_e3"]
    assert "best_choice_4" in names and table[-1]["kind"] == "chip" and table[-1]["elinks"] == 3
