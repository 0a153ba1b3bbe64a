"""Outputs: nothing half-written, nothing lost, nothing an input, nothing unreadable to colleagues.

One test per class of the fault campaign (issue 12): atomic replacement of
folders, concurrent runs, an output that is an input, leftovers of killed
runs, permissions, --force never replacing what the kit did not write, and
filesystem errors as one line.
"""

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from encoder import files
from encoder.cli import main
from encoder.errors import UserError
from cli_helpers import one_line_error

ROOT = Path(__file__).resolve().parents[1]
INIT = ROOT / "tests" / "data" / "econt" / "AE" / "init.yaml"


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def chip_ir(tmp_path_factory):
    d = tmp_path_factory.mktemp("ir")
    assert main(["econt", "import", str(INIT), "--out", str(d / "ir.json")]) == 0
    return d / "ir.json"


@pytest.fixture()
def data_file(tmp_path):
    assert main(["data", "synth", "--modules", "200", "--seed", "3", "--out", str(tmp_path / "d.npz")]) == 0
    return tmp_path / "d.npz"


# -- 3: a replaced folder is swapped, never deleted first ---------------------------------

def test_rtl_force_swaps_folders_and_a_kill_between_the_renames_is_undone(tmp_path, chip_ir, monkeypatch):
    out = tmp_path / "design"
    assert main(["rtl", str(chip_ir), "--out", str(out)]) == 0
    before = _tree(out)
    # Die between "old folder moved aside" and "new folder renamed in": the worst moment.
    real_rename = os.rename
    calls = []

    def dying_rename(src, dst):          # from the second rename on, the process is "dead"
        calls.append((src, dst))
        if len(calls) >= 2:
            raise KeyboardInterrupt
        return real_rename(src, dst)

    monkeypatch.setattr(files.os, "rename", dying_rename)
    with pytest.raises(KeyboardInterrupt):
        with files.atomic_dir(out, overwrite=True, marker="manifest.json") as tmp:
            (tmp / "manifest.json").write_text("{}")
    monkeypatch.undo()
    assert not out.exists()                               # the moment a kill -9 would have frozen
    aside = [p for p in tmp_path.iterdir() if "~enc-" in p.name and "-old-" in p.name]
    assert len(aside) == 1
    # The aside folder's owner is "dead" for the next run once its pid is gone; fake that.
    dead = aside[0].with_name(aside[0].name.replace(f"-{os.getpid()}-", f"-{_dead_pid()}-"))
    aside[0].rename(dead)
    files.clean_stale(out)
    assert _tree(out) == before                           # the old design is back, whole
    # A failure that Python sees (not a kill) puts the old folder back at once.
    real_replace = files.os.rename
    calls.clear()

    def failing_second_rename(src, dst):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(5, "Input/output error", str(dst))
        return real_replace(src, dst)
    monkeypatch.setattr(files.os, "rename", failing_second_rename)
    with pytest.raises(OSError):
        with files.atomic_dir(out, overwrite=True, marker="manifest.json") as tmp:
            (tmp / "manifest.json").write_text("{}")
    monkeypatch.undo()
    assert _tree(out) == before and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_rtl_force_killed_at_any_moment_leaves_the_old_or_the_new_design(tmp_path, chip_ir):
    out = tmp_path / "design"
    assert main(["rtl", str(chip_ir), "--out", str(out)]) == 0
    old = _tree(out)
    # The complete new design, made beside it: a kill may only leave one of the two whole trees.
    assert main(["rtl", str(chip_ir), "--out", str(tmp_path / "constant"), "--weights", "constant"]) == 0
    new = _tree(tmp_path / "constant")
    assert new != old
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for delay in (0.3, 0.6, 0.9):
        p = subprocess.Popen([sys.executable, "-m", "encoder", "rtl", str(chip_ir), "--out", str(out), "--force",
                              "--weights", "constant"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait()
        files.clean_stale(out)
        now = _tree(out)
        assert now == old or now == new
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


# -- 4: two runs, one output name ----------------------------------------------------------

def test_an_output_claimed_by_a_live_process_is_refused_at_once(tmp_path, chip_ir, capsys):
    out = tmp_path / "g.json"
    claim = tmp_path / f".{out.name}.~enc-claim"
    claim.write_text(f"{files._HOST} {os.getppid()}\n")             # a live process that is not us
    assert main(["econt", "import", str(INIT), "--out", str(out)]) == 1
    one_line_error(capsys, "another encoder process", str(os.getppid()))
    assert not out.exists()
    claim.write_text(f"{files._HOST} {_dead_pid()}\n")               # its owner died: the claim is stale
    assert main(["econt", "import", str(INIT), "--out", str(out)]) == 0
    assert out.is_file() and not claim.exists()


def test_an_output_that_appears_during_the_run_is_not_overwritten(tmp_path):
    out = tmp_path / "x.txt"
    with pytest.raises(UserError, match="appeared while this command ran"):
        with files.atomic_path(out) as tmp:
            tmp.write_text("mine")
            out.write_text("theirs")                 # another run finished first
    assert out.read_text() == "theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]


def test_default_sim_run_names_differ_within_one_second(tmp_path):
    from encoder.verif.runner import default_run_dir
    a = default_run_dir(tmp_path, "top", "icarus")
    a.mkdir(parents=True)
    b = default_run_dir(tmp_path, "top", "icarus")
    assert a != b and str(os.getpid()) in a.name


# -- 5: an output that is an input ---------------------------------------------------------

def test_out_equal_to_an_input_is_refused_and_the_input_kept(tmp_path, chip_ir, data_file, capsys):
    before = data_file.read_bytes()
    assert main(["golden", str(chip_ir), "--data", str(data_file), "--out", str(data_file), "--force"]) == 1
    one_line_error(capsys, "is also an input")
    assert data_file.read_bytes() == before
    csv = tmp_path / "c.csv"
    csv.write_text("1,2\n")
    assert main(["data", "import", str(csv), "--out", str(csv), "--force"]) == 1
    one_line_error(capsys, "is also an input")
    assert csv.read_text() == "1,2\n"
    y = tmp_path / "init.yaml"
    y.write_bytes(INIT.read_bytes())
    assert main(["econt", "import", str(y), "--out", str(tmp_path / "." / "init.yaml"), "--force"]) == 1
    one_line_error(capsys, "is also an input")
    assert y.read_bytes() == INIT.read_bytes()


def test_a_folder_output_holding_an_input_is_refused(tmp_path, chip_ir, capsys):
    run = tmp_path / "run"
    run.mkdir()
    ir = run / "ir.json"
    ir.write_bytes(chip_ir.read_bytes())
    (run / "manifest.json").write_text("{}")
    assert main(["rtl", str(ir), "--out", str(run), "--force"]) == 1
    one_line_error(capsys, "holding the input")
    assert ir.read_bytes() == chip_ir.read_bytes()


# -- 9: leftovers of killed runs --------------------------------------------------------

def test_a_later_run_removes_the_temp_files_of_dead_runs_of_its_output(tmp_path, chip_ir, data_file):
    out = tmp_path / "g.npz"
    stale = tmp_path / f".g.npz.~enc-{files._HOST}-{_dead_pid()}-new-abc123.npz"
    stale.write_bytes(b"x" * 1000)
    live = tmp_path / f".g.npz.~enc-{files._HOST}-{os.getppid()}-new-def456.npz"
    live.write_bytes(b"y")
    other = tmp_path / f".h.npz.~enc-{files._HOST}-{_dead_pid()}-new-abc.npz"
    other.write_bytes(b"z")
    assert main(["golden", str(chip_ir), "--data", str(data_file), "--out", str(out)]) == 0
    assert not stale.exists()                 # dead writer of this output: removed
    assert live.exists() and other.exists()   # a live writer's, and another output's: left alone


def test_a_killed_synth_leaves_only_a_temp_file_that_the_next_run_removes(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = tmp_path / "d.npz"
    cmd = [sys.executable, "-m", "encoder", "data", "synth", "--modules", "300000", "--seed", "1", "--out", str(out)]
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and p.poll() is None:
        if any(".~enc-" in q.name and "-new-" in q.name for q in tmp_path.iterdir()):
            break
        time.sleep(0.05)
    p.kill()
    p.wait()
    if out.exists():
        pytest.skip("the machine was fast enough to finish before the kill")
    assert main(["data", "synth", "--modules", "50", "--seed", "1", "--out", str(out)]) == 0
    assert sorted(q.name for q in tmp_path.iterdir()) == ["d.npz"]


# -- 10: permissions follow the umask -------------------------------------------------

@pytest.mark.parametrize("umask,file_mode,dir_mode", [(0o022, 0o644, 0o755), (0o002, 0o664, 0o775),
                                                      (0o077, 0o600, 0o700)])
def test_outputs_get_the_permissions_the_umask_allows(tmp_path, chip_ir, umask, file_mode, dir_mode):
    old = os.umask(umask)
    try:
        assert main(["econt", "import", str(INIT), "--out", str(tmp_path / "ir.json")]) == 0
        assert main(["rtl", str(chip_ir), "--out", str(tmp_path / "design")]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "ir.json").stat().st_mode) == file_mode
    assert stat.S_IMODE((tmp_path / "design").stat().st_mode) == dir_mode
    assert stat.S_IMODE((tmp_path / "design" / "manifest.json").stat().st_mode) == file_mode


# -- 11: --force replaces only what the command made ------------------------------------

def test_force_never_replaces_a_folder_the_command_did_not_make(tmp_path, chip_ir, capsys, monkeypatch):
    prims = tmp_path / "rtl"                       # like the kit's own rtl/ primitives
    prims.mkdir()
    (prims / "enc_mult.v").write_text("module enc_mult; endmodule\n")
    for extra in ([], ["--force"]):
        assert main(["rtl", str(chip_ir), "--out", str(prims), *extra]) == 1
        one_line_error(capsys, "not an earlier output", "not even with --force")
    assert _tree(prims) == {"enc_mult.v": b"module enc_mult; endmodule\n"}
    monkeypatch.chdir(tmp_path)
    assert main(["rtl", str(chip_ir), "--out", ".", "--force"]) == 1
    one_line_error(capsys, "current folder")


def test_check_rtl_refuses_an_existing_work_folder_without_force(tmp_path, capsys):
    out = tmp_path / "chk"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    econt = ROOT / "tests" / "data" / "econt"
    args = ["econt", "check-rtl", "--config", str(INIT), "--input", str(econt / "testInput.csv"),
            "--expected", str(econt / "AE" / "testOutput.csv"), "--out", str(out)]
    assert main(args) == 1
    one_line_error(capsys, str(out))
    assert main(args + ["--force"]) == 1                  # not a check-rtl folder: never replaced
    one_line_error(capsys, "not an earlier output")
    assert (out / "notes.txt").read_text() == "mine"


# -- 8: the filesystem refuses ---------------------------------------------------------------

def test_an_unwritable_output_location_is_one_line(tmp_path, chip_ir, data_file, capsys, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["golden", str(chip_ir), "--data", str(data_file), "--out", str(blocker / "g.npz")]) == 1
    one_line_error(capsys, "is not a folder")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        if os.access(ro, os.W_OK):                 # root: permissions do not stop it; fake the refusal
            monkeypatch.setattr(files.tempfile, "mkstemp",
                                lambda **kw: (_ for _ in ()).throw(PermissionError(13, "Permission denied")))
        assert main(["golden", str(chip_ir), "--data", str(data_file), "--out", str(ro / "g.npz")]) == 1
        one_line_error(capsys, "ro", "ermission denied")
    finally:
        ro.chmod(0o755)
    assert list(ro.iterdir()) == []


def test_any_os_error_of_a_command_is_one_line(tmp_path, chip_ir, data_file, capsys, monkeypatch):
    import encoder.golden.cli as golden_cli

    def full_disk(*a, **kw):
        raise OSError(28, "No space left on device", str(tmp_path / "g.npz"))
    monkeypatch.setattr(golden_cli, "save_npz", full_disk)
    assert main(["golden", str(chip_ir), "--data", str(data_file), "--out", str(tmp_path / "g.npz")]) == 1
    one_line_error(capsys, "g.npz", "No space left on device")


def test_a_failed_command_leaves_no_folder_it_made_for_its_output(tmp_path, chip_ir, capsys):
    with pytest.raises(RuntimeError):
        with files.atomic_path(tmp_path / "a" / "b" / "x.txt") as tmp:
            tmp.write_text("half")
            raise RuntimeError("the work failed")
    assert list(tmp_path.iterdir()) == []
    bad = tmp_path / "dc.npz"
    np.savez(bad, charges=-np.ones((2, 48)))
    assert main(["golden", str(chip_ir), "--data", str(bad), "--out", str(tmp_path / "new" / "g.npz")]) == 1
    one_line_error(capsys, "negative")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dc.npz"]


def test_golden_refuses_an_existing_output_before_any_work(tmp_path, chip_ir, capsys, monkeypatch):
    import encoder.golden.cli as golden_cli
    out = tmp_path / "g.npz"
    out.write_bytes(b"mine")
    monkeypatch.setattr(golden_cli, "load_data", lambda p: pytest.fail("read the data before refusing"))
    assert main(["golden", str(chip_ir), "--data", "whatever.npz", "--out", str(out)]) == 1
    one_line_error(capsys, "already exists")
    assert out.read_bytes() == b"mine"


def test_claims_and_temp_folders_of_killed_default_sim_runs_are_cleaned(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    dead = _dead_pid()
    (runs / ".top-icarus-1-2.~enc-claim").write_text(f"{files._HOST} {dead}\n")
    stage = runs / f".top-icarus-1-2.~enc-{files._HOST}-{dead}-new-xyz"
    (stage / "shards").mkdir(parents=True)
    (runs / "top-icarus-0-1").mkdir()                    # a finished run: kept
    files.clean_stale_in(runs)
    assert sorted(p.name for p in runs.iterdir()) == ["top-icarus-0-1"]
