"""Study configs: sweep expansion, dotted keys, validation of every point, stable point ids, data split."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from encoder.cli import main
from encoder.data import SensorData
from encoder.errors import UserError
from encoder.studies.datasets import fingerprint, split
from encoder.studies.study_config import expand_sweep, load_study, set_dotted

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "configs" / "econt_8x8.yaml"


def write(tmp_path, body: str, name="study.yaml") -> Path:
    p = tmp_path / name
    p.write_text(f"extends: {BASE}\ndata: {{synth: {{modules: 100, seed: 1}}}}\n" + body)
    return p


def test_grid_combines_with_every_point_and_varies_fastest():
    out = expand_sweep({"points": [{"elinks": 2}, {"elinks": 3}],
                        "grid": {"training.seed": [1, 2], "training.learning_rate": [0.1, 0.2]}}, "s.yaml")
    assert len(out) == 8
    assert out[0] == {"elinks": 2, "training.seed": 1, "training.learning_rate": 0.1}
    assert out[1] == {"elinks": 2, "training.seed": 1, "training.learning_rate": 0.2}
    assert out[4] == {"elinks": 3, "training.seed": 1, "training.learning_rate": 0.1}


def test_a_key_in_both_points_and_grid_is_refused():
    with pytest.raises(UserError, match="'elinks' is in both points and grid"):
        expand_sweep({"points": [{"elinks": 2}], "grid": {"elinks": [3]}}, "s.yaml")


def test_repeated_points_are_refused():
    with pytest.raises(UserError, match="appears twice"):
        expand_sweep({"points": [{"elinks": 2}, {"elinks": 2}]}, "s.yaml")


def test_dotted_keys_reach_nested_mappings_and_list_items():
    d = {"encoder": {"conv": [{"filters": 8}, {"filters": 4}]}}
    set_dotted(d, "encoder.conv.1.filters", 16, "here")
    set_dotted(d, "decoder.output_activation", "relu", "here")
    assert d == {"encoder": {"conv": [{"filters": 8}, {"filters": 16}]}, "decoder": {"output_activation": "relu"}}
    with pytest.raises(UserError, match="list index below 2"):
        set_dotted(d, "encoder.conv.2.filters", 1, "here")
    with pytest.raises(UserError, match="is a value"):
        set_dotted(d, "encoder.conv.0.filters.bits", 1, "here")


def test_points_become_validated_model_configs_with_study_epochs_and_seed(tmp_path):
    p = write(tmp_path, "epochs: 7\nseed: 5\nsweep:\n  points:\n"
                        "    - {elinks: 2, encoder.latent.activation.bits: 3}\n"
                        "    - {elinks: 4, encoder.latent.activation.bits: 7, training.seed: 9, encoder.conv.0.filters: 4}\n")
    s = load_study(p)
    a, b = (pt.model for pt in s.points)
    assert [pt.label for pt in s.points] == ["elinks2_bits3", "elinks4_bits7_seed9_filters4"]
    assert (a["elinks"], a["encoder"]["latent"]["activation"]["bits"], a["training"]) == \
        (2, 3, {**a["training"], "epochs": 7, "seed": 5})
    assert b["training"]["seed"] == 9 and b["training"]["epochs"] == 7
    assert b["encoder"]["conv"][0]["filters"] == 4
    # the rest comes from the base config
    assert a["encoder"]["latent"]["weight"] == {"bits": 6, "integer": 0} and a["arrangement"] == "8x8"


def test_a_point_the_model_config_rejects_is_named_with_the_study_file(tmp_path):
    p = write(tmp_path, "sweep:\n  grid:\n    elinks: [5, 2]\n")
    with pytest.raises(UserError) as err:
        load_study(p)
    msg = str(err.value)
    assert str(p) in msg and "sweep point 1: elinks2" in msg and "elinks" in msg and "\n" not in msg


def test_unknown_keys_and_missing_data_are_named(tmp_path):
    with pytest.raises(UserError, match=r"study.yaml: epoch: unknown key"):
        load_study(write(tmp_path, "epoch: 3\nsweep: {points: [{}]}\n"))
    bad = tmp_path / "nodata.yaml"
    bad.write_text(f"extends: {BASE}\nsweep: {{points: [{{}}]}}\n")
    with pytest.raises(UserError, match="data: give exactly one of synth"):
        load_study(bad)
    with pytest.raises(UserError, match=r"evaluate_also\[0\].units_per_mip"):
        load_study(write(tmp_path, "evaluate_also: [{name: x, path: a.csv, units_per_mip: 0}]\nsweep: {points: [{}]}\n"))


def test_point_ids_are_stable_and_change_with_the_model_or_the_data(tmp_path):
    body = "sweep:\n  points:\n    - {elinks: 3, encoder.latent.activation.bits: 5}\n"
    a = load_study(write(tmp_path, body, "a.yaml")).points[0]
    again = load_study(write(tmp_path, body, "b.yaml")).points[0]
    other_epochs = load_study(write(tmp_path, "epochs: 3\n" + body, "c.yaml")).points[0]
    ctx = {"data": "sha256:1", "eval_fraction": 0.2, "split_seed": 0}
    assert a.point_id(ctx) == again.point_id(ctx)
    assert a.point_id(ctx).startswith("elinks3_bits5-")
    assert a.point_id(ctx) != other_epochs.point_id(ctx)
    assert a.point_id(ctx) != a.point_id({**ctx, "data": "sha256:2"})


def test_split_is_seeded_disjoint_and_covers_every_module():
    tr, ev = split(1000, 0.2, 4)
    assert len(ev) == 200 and len(tr) == 800
    assert np.array_equal(np.sort(np.concatenate([tr, ev])), np.arange(1000))
    tr2, ev2 = split(1000, 0.2, 4)
    assert np.array_equal(ev, ev2)
    assert not np.array_equal(ev, split(1000, 0.2, 5)[1])


def test_fingerprint_follows_the_charges_not_the_file():
    rng = np.random.default_rng(0)
    c = rng.exponential(1.0, (20, 48))
    a = fingerprint(SensorData(c.copy(), "hgcal", {"x": np.arange(20)}))
    assert a == fingerprint(SensorData(c.copy(), "hgcal"))
    c2 = c.copy()
    c2[3, 7] += 1e-9
    assert a != fingerprint(SensorData(c2, "hgcal"))


def test_study_command_reports_a_bad_config_in_one_line(tmp_path, capsys):
    p = write(tmp_path, "sweep: {points: [{elinks: 1}]}\n")
    assert main(["study", "--config", str(p), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "elinks" in err and str(p) in err
    assert not (tmp_path / "out").exists()


def test_registering_the_commands_imports_neither_tensorflow_nor_dask():
    code = ("import sys; from encoder.cli import build_parser; build_parser(); "
            "print('tensorflow' in sys.modules, 'dask' in sys.modules, 'distributed' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False", "False"]


def test_overrides_apply_to_every_point_without_entering_labels_and_the_sweep_wins(tmp_path):
    p = write(tmp_path, "overrides: {training.learning_rate: 0.003, training.batch_size: 250}\n"
                        "sweep:\n  grid:\n    training.batch_size: [100, 200]\n")
    s = load_study(p)
    assert [pt.label for pt in s.points] == ["batch_size100", "batch_size200"]
    assert [pt.model["training"]["batch_size"] for pt in s.points] == [100, 200]
    assert all(pt.model["training"]["learning_rate"] == 0.003 for pt in s.points)


def test_chip_baselines_block_sets_the_chip_algorithms_and_defaults_the_rest(tmp_path):
    s = load_study(write(tmp_path, "chip_baselines: {threshold_mip: [1.5], stc_types: [], buffer: {t1: 100}}\n"
                                   "sweep: {points: [{elinks: 5}]}\n"))
    assert s.chip.threshold_mip == (1.5,) and s.chip.stc_types == () and s.chip.best_choice
    assert s.chip.settings.buffer == (100, 314, 25) and s.chip.settings.drop_lsb == 0
    assert load_study(write(tmp_path, "sweep: {points: [{elinks: 5}]}\n")).chip.stc_types == (0, 1, 2, 3)


@pytest.mark.parametrize("body, message", [
    ("{stc_types: [4]}", "chip_baselines.stc_types: 4 is not an STC type"),
    ("{threshold_mip: [0]}", "chip_baselines.threshold_mip: levels must be positive"),
    ("{threshold_mip: 1.35}", "chip_baselines.threshold_mip: must be a list"),
    ("{buffer: {t4: 1}}", "chip_baselines.buffer.t4: unknown key"),
    ("{buffer: {t1: -1}}", "chip_baselines.buffer.t1: -1 must be >= 0"),
    ("{drop_lsb: 5}", "chip_baselines.drop_lsb: 5 must be <= 4"),
    ("{stc_placement: centre}", "chip_baselines.stc_placement: must be one of max, spread"),
    ("{elinks: 3}", "chip_baselines.elinks: unknown key"),
])
def test_bad_chip_baselines_block_names_the_field(tmp_path, body, message):
    with pytest.raises(UserError, match=message):
        load_study(write(tmp_path, f"chip_baselines: {body}\nsweep: {{points: [{{elinks: 5}}]}}\n"))
