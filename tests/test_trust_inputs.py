"""Inputs: every field of an IR, every value of a data file, every replay vector is checked on load.

One test per class of the fault campaign (issue 12): IR fields of the wrong
type or range, unknown fields and a missing hash (with `encoder ir rehash`
as the way forward), data files of the wrong kind, shape or values, replay
vectors that do not fit the design, files of the wrong kind where an IR is
expected, and the pitfalls that get a warning.
"""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from encoder.cli import main
from encoder.data import SensorData, load_data, save_data
from encoder.errors import UserError
from encoder.ir import IRError, load_ir
from cli_helpers import one_line_error

ROOT = Path(__file__).resolve().parents[1]
INIT = ROOT / "tests" / "data" / "econt" / "AE" / "init.yaml"
HANDBUILT = ROOT / "tests" / "data" / "econt_chip_ir_handbuilt.json"
TINY = ROOT / "tests" / "data" / "verif"


def _write(tmp_path, d, name="ir.json"):
    path = tmp_path / name
    path.write_text(json.dumps(d))
    return path


@pytest.fixture()
def doc():
    return json.loads(HANDBUILT.read_text())


# -- 2: IR fields -------------------------------------------------------------------------

@pytest.mark.parametrize("edit,needle", [
    (lambda d: d["input"].update(counts_per_mip=-35), "input.counts_per_mip: -35 outside"),
    (lambda d: d["input"].update(counts_per_mip=float("nan")), "input.counts_per_mip"),
    (lambda d: d["input"].update(charge_bits=22.0), "input.charge_bits: expected an integer, got a number"),
    (lambda d: d["layers"][0]["weight"]["values"].__setitem__(3, 8.7), "layers[0].weight.values[3]: expected an integer"),
    (lambda d: d["layers"][0]["weight"]["values"].__setitem__(3, "8"), "layers[0].weight.values[3]: expected an integer, got a string"),
    (lambda d: d["layers"][2]["bias"]["values"].__setitem__(0, True), "layers[2].bias.values[0]: expected an integer, got a boolean"),
    (lambda d: d["layers"][0]["output"]["format"].update(bits=True), "layers[0].output.format.bits"),
    (lambda d: d.update(comment="tuned by hand"), "top level: unknown field 'comment'"),
    (lambda d: d["layers"][2].update(activaton="relu"), "layers[2]: unknown field 'activaton'"),
    (lambda d: d["input"]["sum_code"].update(exp_bit=5), "input.sum_code: unknown field 'exp_bit'"),
    (lambda d: d["summary"].update(n_latent=17), "summary.n_latent: 17 but the layers give 16"),
    (lambda d: d["layers"][0].update(output_shape=[4, 4, 9]), "layers[0].output_shape"),
    (lambda d: d["input"].update(n_cells="48"), "input.n_cells: expected an integer"),
])
def test_every_ir_field_is_checked_for_type_range_and_name(tmp_path, doc, edit, needle):
    edit(doc)
    path = _write(tmp_path, doc)       # the hash is kept: field errors come before the hash check
    with pytest.raises(IRError) as err:
        load_ir(path)
    assert str(path) in str(err.value) and needle in str(err.value)


def test_an_ir_without_its_hash_is_refused_unless_allowed(tmp_path, doc, monkeypatch, capsys):
    doc.pop("hash")
    path = _write(tmp_path, doc)
    with pytest.raises(IRError, match="hash: missing.*encoder ir rehash"):
        load_ir(path)
    assert main(["rtl", str(path), "--out", str(tmp_path / "d")]) == 1
    one_line_error(capsys, "hash: missing")
    assert not (tmp_path / "d").exists()
    monkeypatch.setenv("ENCODER_ALLOW_UNHASHED_IR", "1")
    assert load_ir(path).hash == json.loads(HANDBUILT.read_text())["hash"]


def test_a_deliberate_hand_edit_is_recorded_with_ir_rehash(tmp_path, doc, capsys):
    doc["layers"][0]["weight"]["values"][0] = -doc["layers"][0]["weight"]["values"][0] or 1
    path = _write(tmp_path, doc)
    assert main(["golden", str(path), "--data", str(tmp_path / "none.npz"), "--out", str(tmp_path / "g.npz")]) == 1
    one_line_error(capsys, "does not match its hash", "encoder ir rehash")
    assert main(["ir", "rehash", str(path), "--in-place"]) == 0
    assert "->" in capsys.readouterr().out
    assert load_ir(path).layers[0].weight.ravel()[0] == doc["layers"][0]["weight"]["values"][0]
    # a rehash checks everything else as strictly as a load
    doc["layers"][0]["weight"]["values"][1] = 0.5
    bad = _write(tmp_path, doc, "bad.json")
    assert main(["ir", "rehash", str(bad), "--out", str(tmp_path / "new.json")]) == 1
    one_line_error(capsys, "layers[0].weight.values[1]")
    assert not (tmp_path / "new.json").exists()


def test_rehash_of_an_unedited_ir_keeps_its_hash(tmp_path, capsys):
    shutil.copy(HANDBUILT, tmp_path / "ir.json")
    assert main(["ir", "rehash", str(tmp_path / "ir.json"), "--out", str(tmp_path / "same.json")]) == 0
    assert "content unchanged" in capsys.readouterr().out
    assert json.loads((tmp_path / "same.json").read_text())["hash"] == json.loads(HANDBUILT.read_text())["hash"]
    assert main(["ir", "check", str(HANDBUILT)]) == 0


# -- 8: the wrong kind of file where an IR or a failures file is expected ------------------

def test_a_binary_file_or_a_run_folder_given_as_ir_is_one_line(tmp_path, capsys):
    save_data(tmp_path / "data.npz", SensorData(np.zeros((3, 48))))
    assert main(["rtl", str(tmp_path / "data.npz"), "--out", str(tmp_path / "d")]) == 1
    one_line_error(capsys, "binary data, not a JSON IR file", ".npz")
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(HANDBUILT, run / "ir.json")
    assert main(["rtl", str(run), "--out", str(tmp_path / "d")]) == 1
    one_line_error(capsys, f"did you mean {run / 'ir.json'}?")
    (tmp_path / "latin1.json").write_bytes(b'{"name": "\xe9"}')
    assert main(["ir", "check", str(tmp_path / "latin1.json")]) == 1
    one_line_error(capsys, "not UTF-8")


# -- 6: data files ---------------------------------------------------------------------------

def _npz(path, **arrays):
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    return path


@pytest.mark.parametrize("arrays,needle", [
    (dict(charges=np.ones((4, 48)) * (1 + 2j)), "must hold real numbers, not complex128"),
    (dict(charges=np.array([["1"] * 48] * 4)), "must hold real numbers"),
    (dict(charges=np.ones((4, 48)), geometry=np.array("square8")), "labelled geometry 'square8' (64 cells)"),
    (dict(charges=np.ones(48)), "must be (modules, cells)"),
    (dict(charges=np.where(np.arange(4 * 48).reshape(4, 48) == 100, -0.5, 1.0)), "module 2, cell 4: charge -0.5"),
    (dict(charges=np.full((4, 48), np.inf)), "is not finite"),
    (dict(charges=np.ones((4, 48)), truth_energy=np.ones(3)), "'truth_energy' has 3 rows for 4 modules"),
    (dict(values=np.ones((4, 48))), "no 'charges' array"),
])
def test_data_files_are_checked_whole_on_load(tmp_path, arrays, needle):
    path = _npz(tmp_path / "d.npz", **arrays)
    with pytest.raises(UserError) as err:
        load_data(path)
    assert str(path) in str(err.value) and needle in str(err.value)


def test_truncated_npz_and_json_given_as_data_are_one_line(tmp_path, capsys):
    good = save_data(tmp_path / "good.npz", SensorData(np.random.default_rng(0).random((2000, 48))))
    (tmp_path / "cut.npz").write_bytes(good.read_bytes()[:5000])
    assert main(["data", "info", str(tmp_path / "cut.npz")]) == 1
    one_line_error(capsys, "damaged or truncated")
    shutil.copy(HANDBUILT, tmp_path / "ir.json")
    assert main(["data", "info", str(tmp_path / "ir.json")]) == 1
    one_line_error(capsys, "not a data file of this kit", "JSON")


def test_golden_and_sim_refuse_the_same_bad_data_file(tmp_path, capsys):
    """sim used to check only the rows it drew; the loader now checks every row for every command."""
    from encoder.verif.stimulus import regression_set
    charges = np.ones((1000, 4))
    charges[777, 2] = -1.0
    path = _npz(tmp_path / "d.npz", charges=charges, geometry=np.array("line"))
    ir = load_ir(TINY / "tiny_a.json")
    with pytest.raises(UserError, match="module 777, cell 2"):
        regression_set(ir, 10, 1, path)
    assert main(["golden", str(TINY / "tiny_a.json"), "--data", str(path), "--out", str(tmp_path / "g.npz")]) == 1
    one_line_error(capsys, "module 777, cell 2")


# -- 7: replay files ------------------------------------------------------------------------

@pytest.fixture()
def failures(tmp_path):
    from encoder.verif.design import load_design
    design = load_design(TINY / "tiny")
    doc = {"schema": "encoder-sim-failures", "version": 1, "design": str(TINY / "tiny"),
           "models": [{"name": "tiny_a", "path": str(TINY / "tiny_a.json"), "hash": "x"}],
           "vectors": [{"id": 0, "model": 0, "counts": [1, 2, 3, 4], "gap": 0, "label": "x"}]}
    return design, doc


@pytest.mark.parametrize("edit,needle", [
    (lambda v: v.update(counts=[1, 2, 3]), "vectors[0].counts: 3 counts, the design has 4 input cells"),
    (lambda v: v["counts"].__setitem__(1, -5), "vectors[0].counts[1]: -5 outside 0.."),
    (lambda v: v["counts"].__setitem__(1, 1 << 40), "vectors[0].counts[1]"),
    (lambda v: v["counts"].__setitem__(1, 2.5), "expected an integer"),
    (lambda v: v.update(model=3), "vectors[0].model: 3 outside 0..0"),
    (lambda v: v.update(gap=-1), "vectors[0].gap"),
    (lambda v: v.pop("gap"), "missing field 'gap'"),
    (lambda v: v.update(id=-2), "vectors[0].id: -2 outside -1.."),
])
def test_replay_vectors_must_fit_the_design(tmp_path, failures, edit, needle):
    from encoder.verif.replay import check_failures
    design, doc = failures
    check_failures(doc, "f.json", design)            # the unedited file passes
    edit(doc["vectors"][0])
    with pytest.raises(UserError) as err:
        check_failures(doc, "f.json", design)
    assert "f.json" in str(err.value) and needle in str(err.value)


def test_replay_takes_the_reset_fillers_a_failures_file_holds(failures):
    # A failure near a mid-stream reset saves the filler vectors driven around it with id -1.
    from encoder.verif.replay import check_failures
    design, doc = failures
    doc["vectors"].insert(0, {"id": -1, "model": 0, "counts": [0, 0, 0, 0], "gap": 0, "label": "reset-filler"})
    assert check_failures(doc, "f.json", design) is doc


def test_sim_replay_of_a_bad_or_binary_file_is_one_line_and_leaves_nothing(tmp_path, failures, capsys):
    pytest.importorskip("cocotb")
    if shutil.which("iverilog") is None:
        pytest.skip("needs Icarus Verilog")
    design, doc = failures
    doc["vectors"][0]["counts"] = list(range(47))
    bad = _write(tmp_path, doc, "failures.json")
    out = tmp_path / "runs" / "r1"
    for replay, needle in ((bad, "47 counts"), (ROOT / "tests" / "data" / "econt" / "testInput.csv", "not JSON")):
        assert main(["sim", str(TINY / "tiny"), "--replay", str(replay), "--out", str(out),
                     "--build-dir", str(tmp_path / "build")]) == 1
        one_line_error(capsys, needle)
    assert not (tmp_path / "runs").exists() or list((tmp_path / "runs").iterdir()) == []


def test_sim_seed_and_jobs_out_of_range_are_one_line(tmp_path, capsys):
    if shutil.which("iverilog") is None:
        pytest.skip("needs Icarus Verilog")
    assert main(["sim", str(TINY / "tiny"), "--seed", "-1", "--out", str(tmp_path / "r")]) == 1
    one_line_error(capsys, "--seed: -1 outside")
    assert main(["data", "synth", "--modules", "10", "--seed", "1", "--pileup", "1e9",
                 "--out", str(tmp_path / "d.npz")]) == 1
    one_line_error(capsys, "--pileup must be a number in 0..1000")
    assert not list(tmp_path.iterdir())


# -- 12: pitfalls that deserve a warning ---------------------------------------------------

def test_elinks_that_drop_latent_bits_are_warned_about(tmp_path, capsys):
    assert main(["econt", "import", str(INIT), "--out", str(tmp_path / "ir.json")]) == 0
    capsys.readouterr()
    assert main(["rtl", str(tmp_path / "ir.json"), "--out", str(tmp_path / "d2"), "--elinks", "2"]) == 0
    err = capsys.readouterr().err
    assert "warning" in err and "94 of the 144 latent bits" in err
    assert main(["rtl", str(tmp_path / "ir.json"), "--out", str(tmp_path / "d5"), "--elinks", "5"]) == 0
    assert "warning" not in capsys.readouterr().err


def test_csv_import_without_units_warns_when_sums_are_implausible_mips(tmp_path, capsys):
    rng = np.random.default_rng(0)
    counts = rng.poisson(12.0, (50, 48))                 # raw counts: a median sum near 600
    (tmp_path / "c.csv").write_text("\n".join(",".join(map(str, r)) for r in counts) + "\n")
    assert main(["data", "import", str(tmp_path / "c.csv"), "--out", str(tmp_path / "a.npz")]) == 0
    err = capsys.readouterr().err
    assert "warning" in err and "--units-per-mip" in err
    assert main(["data", "import", str(tmp_path / "c.csv"), "--out", str(tmp_path / "b.npz"),
                 "--units-per-mip", "35"]) == 0
    assert "warning" not in capsys.readouterr().err


def test_econt_export_and_frames_warn_when_the_elinks_drop_latent_bits(tmp_path, capsys):
    assert main(["econt", "import", str(INIT), "--out", str(tmp_path / "ir.json")]) == 0
    assert main(["econt", "export", str(tmp_path / "ir.json"), "--out", str(tmp_path / "e2.yaml"),
                 "--elinks", "2"]) == 0
    assert "94 of the 144 latent bits" in capsys.readouterr().err
    save_data(tmp_path / "d.npz", SensorData(np.random.default_rng(1).random((20, 48)) * 5))
    assert main(["golden", str(tmp_path / "ir.json"), "--data", str(tmp_path / "d.npz"),
                 "--out", str(tmp_path / "l.npz")]) == 0
    capsys.readouterr()
    assert main(["econt", "frames", str(tmp_path / "l.npz"), "--elinks", "2", "--out", str(tmp_path / "f.csv")]) == 0
    out = capsys.readouterr()
    assert "94 of the 144" in out.err and "50 latent bits sent" in out.out
    assert main(["econt", "frames", str(tmp_path / "l.npz"), "--elinks", "5", "--out", str(tmp_path / "g.csv")]) == 0
    assert "warning" not in capsys.readouterr().err


def test_an_empty_data_file_is_refused_and_clipped_charges_are_warned_about(tmp_path, capsys):
    empty = _npz(tmp_path / "empty.npz", charges=np.zeros((0, 48)))
    with pytest.raises(UserError, match="no modules"):
        load_data(empty)
    hot = _npz(tmp_path / "hot.npz", charges=np.full((2, 48), 1e9))
    assert main(["golden", str(HANDBUILT), "--data", str(hot), "--out", str(tmp_path / "g.npz")]) == 0
    assert "96 cell charges exceed the 22-bit input" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    ["data", "import", "x.csv", "--out", "o.npz", "--units-per-mip", "inf"],
    ["econt", "decode-input", "x.csv", "--config", "c.yaml", "--counts-per-mip", "nan", "--out", "o.npz"],
    ["data", "synth", "--modules", "5", "--seed", "1", "--pileup", "inf", "--out", "o.npz"],
])
def test_every_float_option_refuses_inf_and_nan_in_one_line(tmp_path, capsys, argv, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    one_line_error(capsys, "must be a finite number")
    assert list(tmp_path.iterdir()) == []
