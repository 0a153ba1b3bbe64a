"""Machine-readable results: `data info --json` and the summary.json of `econt check-rtl`."""

import csv
import json
from pathlib import Path

import numpy as np

from encoder.cli import main
from rtl_helpers import need_tool

ROOT = Path(__file__).resolve().parents[1]
ECONT = ROOT / "tests" / "data" / "econt"


def test_data_info_json_equals_numpy_on_the_file(tmp_path, capsys):
    path = tmp_path / "d.npz"
    assert main(["data", "synth", "--modules", "300", "--seed", "4", "--out", str(path)]) == 0
    capsys.readouterr()
    assert main(["data", "info", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    with np.load(path) as z:
        q = z["charges"]
    sums = q.sum(axis=1)
    assert info["n_modules"] == 300 and info["n_cells"] == 48 and info["file"] == str(path)
    assert info["occupancy_mean"] == np.count_nonzero(q > 1.0, axis=1).mean()
    assert info["sum_quantiles"]["50"] == np.median(sums)
    assert info["zero_fraction"] == np.mean(q == 0)
    assert "MIP" in info["units"]["sum_mean"]


def test_check_rtl_writes_a_summary_that_agrees_with_its_csv(tmp_path, capsys):
    need_tool("iverilog")
    out = tmp_path / "chk"
    args = ["econt", "check-rtl", "--config", str(ECONT / "AE" / "init.yaml"), "--input",
            str(ECONT / "testInput.csv"), "--expected", str(ECONT / "AE" / "testOutput.csv"), "--out", str(out),
            "--bx", "12"]
    assert main(args) == 0
    s = json.loads((out / "summary.json").read_text())
    with open(out / "testOutput.csv") as a, open(ECONT / "AE" / "testOutput.csv") as b:
        got, want = list(csv.reader(a))[1:13], list(csv.reader(b))[1:13]
    equal = sum(g == w for g, w in zip(got, want))
    assert (s["status"], s["bx"], s["bx_equal"], s["bx_different"]) == ("pass", 12, equal, 0) and equal == 12
    # 2,144 weight fields, then the framing registers: the e-link count and the mask's 24 words.
    assert s["register_fields"] == 2144 + 1 + 24 and s["register_read_back_errors"] == 0
    assert s["rtl_words"] == str(out / "testOutput.csv")        # the final place, not the staging folder


def test_evaluate_table_counts_empty_outputs_and_explains_its_columns(tmp_path):
    from encoder.studies.evaluate import Evaluation
    from encoder.studies.outputs import headline, write_files
    from encoder.studies.scoring import score
    rng = np.random.default_rng(2)
    x = rng.exponential(1.0, (40, 48)) * (rng.random((40, 48)) < 0.3)
    x[:, 0] += 0.5                                     # no empty input
    thr = np.where(x > 2.0, x, 0.0)                     # a threshold: some modules send nothing
    n_empty = int((thr.sum(axis=1) == 0).sum())
    assert 0 < n_empty < 40
    scores = {"ae_golden": score("ae_golden", x, x * 0.9, 157, n_elinks=5),
              "threshold_high": score("threshold_high", x, thr, 100, n_elinks=5)}
    meta = {"n_modules": 40, "n_elinks": 5, "budget_bits": 160, "input_bits": 336, "geometry": "hgcal"}
    text = headline(Evaluation(meta, scores, x, {}))
    rows = {line.split("[")[1].split("]")[0]: line.split("]")[1].split() for line in text.splitlines()
            if "[" in line and line[0] != "("}
    assert int(rows["threshold_high"][2]) == n_empty and int(rows["ae_golden"][2]) == 0
    assert "threshold 2.0 MIP [threshold_high]" in text
    assert "half trigger-cell pitches" in text and "empty: modules whose output is all zero" in text
    write_files(Evaluation(meta, scores, x, {}), tmp_path, plot=False)
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert "trigger-cell" in m["units"]["emd"] and m["algorithms"]["threshold_high"]["emd"]["n_output_empty"] == n_empty
