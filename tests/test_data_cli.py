"""``encoder data synth|info|compare`` end to end (in-process)."""

from pathlib import Path

import numpy as np
import pytest

from encoder import geometry
from encoder.cli import main
from encoder.data import SensorData, load_data, save_data
from encoder.data.summary import format_comparison, summarize
from encoder.data.synth import TRUTH_KEYS, synthesize


@pytest.fixture(scope="module")
def synth_file(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "s.npz"
    assert main(["data", "synth", "--modules", "3000", "--seed", "7", "--out", str(out)]) == 0
    return out


def test_synth_command_writes_the_generator_output_with_truth(synth_file):
    data = load_data(synth_file)
    ref = synthesize(3000, seed=7, geometry=geometry.load("hgcal"))
    np.testing.assert_array_equal(data.charges, ref.charges)
    assert set(data.truth) == set(TRUTH_KEYS)
    np.testing.assert_array_equal(data.truth["impact_x_cm"], ref.truth["impact_x_cm"])
    assert data.geometry == "hgcal"


def test_synth_command_on_square8_and_pileup_option(tmp_path):
    out = tmp_path / "sq.npz"
    assert main(["data", "synth", "--modules", "500", "--seed", "1", "--geometry", "square8",
                 "--pileup", "0", "--out", str(out)]) == 0
    data = load_data(out)
    assert data.charges.shape == (500, 64) and data.geometry == "square8"
    assert data.truth["pileup_count"].max() == 0


def test_synth_refuses_to_overwrite_without_force(synth_file, capsys):
    before = synth_file.read_bytes()
    assert main(["data", "synth", "--modules", "10", "--seed", "1", "--out", str(synth_file)]) == 1
    assert "--force" in capsys.readouterr().err
    assert synth_file.read_bytes() == before


@pytest.mark.parametrize("args, fragment", [
    (["--modules", "0", "--seed", "1"], "--modules"),
    (["--modules", "10", "--seed", "-1"], "--seed"),
    (["--modules", "10", "--seed", "1", "--pileup", "-5"], "--pileup"),
    (["--modules", "10", "--seed", "1", "--geometry", "hexagon"], "hexagon"),
])
def test_synth_bad_options_give_one_line_errors(tmp_path, capsys, args, fragment):
    out = tmp_path / "x.npz"
    assert main(["data", "synth", *args, "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and fragment in err
    assert not out.exists()


def test_info_reports_hand_computable_figures(tmp_path, capsys):
    # 4 modules of 48 cells: occupancy (> 1 MIP; 1.0 itself is not above) 0, 1, 2, 3
    # -> median 1.5, mean 1.5; sums 0.5, 2, 12, 7.5; largest cell 10; 10 non-zero cells.
    q = np.zeros((4, 48))
    q[0, 0] = 0.5
    q[1, :2] = [1.5, 0.5]
    q[2, :3] = [1.5, 10.0, 0.5]
    q[3, :4] = [2.0, 2.0, 2.5, 1.0]
    path = tmp_path / "hand.npz"
    save_data(path, SensorData(q))
    assert main(["data", "info", str(path)]) == 0
    out = capsys.readouterr().out
    s = summarize(SensorData(q))
    assert s.occupancy_median == 1.5 and s.occupancy_mean == 1.5
    assert s.sum_quantiles[50] == pytest.approx(np.median([0.5, 2, 12, 7.5]))
    assert s.largest == 10.0
    assert s.zero_fraction == pytest.approx(1 - 10 / 192)
    assert "occupancy (> 1 MIP) median" in out and "1.5" in out
    assert "modules" in out and " 4" in out
    assert "94.8 %" in out                      # 182 of 192 cells are zero


def test_info_on_missing_or_foreign_file_gives_one_line_error(tmp_path, capsys):
    assert main(["data", "info", str(tmp_path / "none.npz")]) == 1
    assert "no such file" in capsys.readouterr().err
    other = tmp_path / "other.npz"
    np.savez(other, x=np.zeros(3))
    assert main(["data", "info", str(other)]) == 1
    assert "charges" in capsys.readouterr().err


def test_compare_prints_a_table_and_writes_a_png(synth_file, tmp_path, capsys):
    real = tmp_path / "real.npz"
    csv = Path(__file__).parent / "data" / "real_data" / "calq_ttbar_first500.csv"
    assert main(["data", "import", str(csv), "--units-per-mip", "35", "--out", str(real)]) == 0
    capsys.readouterr()
    plot = tmp_path / "cmp.png"
    assert main(["data", "compare", str(synth_file), str(real), "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0]
    assert "s" in header.split() and "real" in header.split()
    assert "3,000" in out and "500" in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # refuses to overwrite the plot
    assert main(["data", "compare", str(synth_file), str(real), "--plot", str(plot)]) == 1


def test_comparison_table_has_one_column_per_data_set():
    a = SensorData(np.full((2, 48), 2.0))
    b = SensorData(np.zeros((3, 48)) + np.eye(48)[:3] * 5)
    text = format_comparison(["a", "b"], [summarize(a), summarize(b)])
    lines = text.splitlines()
    row = next(ln for ln in lines if ln.startswith("occupancy (> 1 MIP) mean"))
    assert row.split()[-2:] == ["48.00", "1.00"]
    row = next(ln for ln in lines if ln.startswith("module sum 50 %"))
    assert row.split()[-2:] == ["96", "5"]
