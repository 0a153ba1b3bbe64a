"""One set of flags: --jobs/--force/--seed alike in every command, old spellings still read, the help."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from encoder.cli import WORKFLOW, build_parser, main
from encoder.errors import UserError
from encoder.files import discard
from encoder.studies.study_config import load_study

ROOT = Path(__file__).resolve().parents[1]


def test_plain_encoder_prints_the_help_in_workflow_order():
    res = subprocess.run([sys.executable, "-m", "encoder"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert res.returncode == 0 and res.stderr == ""
    listed = [line.split()[0] for line in res.stdout.splitlines()
              if line.startswith("    ") and not line.startswith("     ")]
    assert listed == [c for c in WORKFLOW if c in listed] and listed[:3] == ["data", "train", "predict"]
    assert {"rtl", "sim", "synth", "study", "econt"} <= set(listed)


@pytest.mark.parametrize("cmd", [["evaluate", "RUN", "--data", "d.npz", "--out", "o"],
                                 ["study", "--config", "c.yaml", "--out", "o"]])
def test_jobs_everywhere_and_workers_kept_as_a_hidden_alias(cmd):
    p = build_parser()
    assert p.parse_args(cmd + ["--jobs", "3"]).jobs == 3
    assert p.parse_args(cmd + ["--workers", "4"]).jobs == 4
    assert not hasattr(p.parse_args(cmd), "workers")
    sub = p._subparsers._group_actions[0].choices[cmd[0]]
    assert "--workers" not in sub.format_help() and "--jobs" in sub.format_help()


def test_seed_defaults_to_one_where_it_was_required(tmp_path):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    assert main(["data", "synth", "--modules", "30", "--out", str(a)]) == 0
    assert main(["data", "synth", "--modules", "30", "--seed", "1", "--out", str(b)]) == 0
    with np.load(a) as x, np.load(b) as y:
        assert np.array_equal(x["charges"], y["charges"])


def test_every_writing_command_has_force():
    p = build_parser()
    choices = p._subparsers._group_actions[0].choices
    for name in ("data", "train", "predict", "export", "golden", "evaluate", "rtl", "sim", "synth", "study"):
        sp = choices[name]
        subs = sp._subparsers._group_actions[0].choices.values() if sp._subparsers else [sp]
        for s in subs:
            opts = {o for a in s._actions for o in a.option_strings}
            if "--out" in opts:
                assert "--force" in opts, f"{s.prog} has --out but no --force"


def test_study_force_discards_only_an_earlier_study(tmp_path):
    old = tmp_path / "st"
    (old / "points").mkdir(parents=True)
    (old / "study.yaml").write_text("name: x\n")
    assert discard(old, marker="study.yaml") and not old.exists()
    assert list(tmp_path.iterdir()) == []              # nothing left aside
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(UserError, match="not an earlier output"):
        discard(foreign, marker="study.yaml")
    assert (foreign / "notes.txt").read_text() == "keep me"
    assert discard(tmp_path / "missing", marker="study.yaml") is False


def test_study_force_refuses_a_bad_config_before_discarding(tmp_path, capsys):
    out = tmp_path / "st"
    out.mkdir()
    (out / "study.yaml").write_text("name: x\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("extends: nowhere.yaml\n")
    assert main(["study", "--config", str(bad), "--out", str(out), "--force"]) == 1
    assert "nowhere.yaml" in capsys.readouterr().err and (out / "study.yaml").exists()


def test_study_force_refuses_a_study_that_is_running(tmp_path, capsys):
    from encoder.studies.runner import _lock
    out = tmp_path / "st"
    out.mkdir()
    (out / "study.yaml").write_text("name: x\n")
    cfg = tmp_path / "s.yaml"
    cfg.write_text(f"extends: {ROOT / 'configs' / 'econt_8x8.yaml'}\ndata: {{synth: {{modules: 100, seed: 1}}}}\n"
                   "sweep: {points: [{elinks: 5}]}\n")
    held = _lock(out)                      # as a running study holds it
    try:
        assert main(["study", "--config", str(cfg), "--out", str(out), "--force"]) == 1
        assert "another `encoder study` is running" in capsys.readouterr().err
        assert (out / "study.yaml").is_file()
    finally:
        held.close()


def test_study_configs_inherit_with_extends_and_read_base_config_with_a_note(tmp_path, capsys):
    base = ROOT / "configs" / "econt_8x8.yaml"
    body = "data: {synth: {modules: 100, seed: 1}}\nsweep: {points: [{elinks: 5}]}\n"
    new, old, both = tmp_path / "new.yaml", tmp_path / "old.yaml", tmp_path / "both.yaml"
    new.write_text(f"extends: {base}\n{body}")
    old.write_text(f"base_config: {base}\n{body}")
    both.write_text(f"extends: {base}\nbase_config: {base}\n{body}")
    a = load_study(new)
    assert "deprecated" not in capsys.readouterr().err
    b = load_study(old)
    err = capsys.readouterr().err
    assert "base_config" in err and "deprecated" in err and "extends" in err
    assert a.points[0].model == b.points[0].model and a.base_config == b.base_config == base
    with pytest.raises(UserError, match="base_config"):
        load_study(both)


def test_no_cuda_noise_even_at_log_level_2():
    # Make used to export TF_CPP_MIN_LOG_LEVEL=2, which still shows TensorFlow's "failed call to cuInit"
    # on a machine without a GPU; the probe now runs while the import's stderr is captured.
    code = ("from encoder.training.tf_env import tf; import numpy as np; "
            "print(float(tf.reduce_sum(tf.constant(np.ones(3)))))")
    env = {k: v for k, v in __import__("os").environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300,
                         env={**env, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT)})
    assert res.returncode == 0 and res.stdout.strip() == "3.0"
    assert "cuInit" not in res.stderr and "cuda" not in res.stderr.lower(), res.stderr
