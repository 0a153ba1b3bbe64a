"""Ctrl-C and SIGTERM stop any command within seconds and leave nothing behind.

Class 1 of the fault campaign (issue 12): `encoder sim` on Icarus used to
hang at vvp's interactive prompt after Ctrl-C. These tests interrupt real
commands in a subprocess, as a terminal (SIGINT to the whole process group)
and as a batch system (SIGTERM to the command alone).
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from encoder import interrupts

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "data" / "verif" / "tiny"
STOP_SECONDS = 10


def _start(args, cwd):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "encoder", *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _wait_for(cond, seconds=90):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return False


def _interrupt(proc, sig, group):
    t0 = time.monotonic()
    if group:
        os.killpg(proc.pid, sig)           # what a terminal's Ctrl-C does
    else:
        proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail(f"still running {STOP_SECONDS} s after {sig.name}")
    return proc.returncode, err, time.monotonic() - t0


def _handlers_installed(proc) -> bool:
    """The command reached main(): /proc shows SIGTERM caught (before, Python's default would kill it)."""
    try:
        status = Path(f"/proc/{proc.pid}/status").read_text()
    except OSError:
        return True
    caught = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), 16)
    return bool(caught & (1 << (signal.SIGTERM - 1)))


def _hidden(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob(".*") if "~enc-" in p.name)


@pytest.mark.parametrize("sig,group,code", [(signal.SIGTERM, False, 143), (signal.SIGINT, True, 130)])
def test_interrupted_synth_exits_at_once_and_leaves_no_temp_file(tmp_path, sig, group, code):
    proc = _start(["data", "synth", "--modules", "3000000", "--seed", "1", "--out", "d.npz"], tmp_path)
    assert _wait_for(lambda: proc.poll() is not None or _handlers_installed(proc))
    time.sleep(1.0)                       # into the generator
    assert proc.poll() is None
    rc, err, seconds = _interrupt(proc, sig, group)
    assert rc == code and "interrupted" in err and "Traceback" not in err, err
    assert list(tmp_path.iterdir()) == []


def test_child_processes_are_stopped_with_the_command():
    """interrupts.call's child runs in its own session; stop_all ends it (and refuses new ones)."""
    import threading
    done = {}

    def run():
        try:
            done["rc"] = interrupts.call(["sleep", "30"])
        except KeyboardInterrupt:
            done["refused"] = True
    t = threading.Thread(target=run)
    t.start()
    assert _wait_for(lambda: interrupts._children, 10)
    child = next(iter(interrupts._children))
    assert os.getpgid(child.pid) == child.pid          # its own group: a terminal's Ctrl-C misses it
    t0 = time.monotonic()
    interrupts.stop_all()
    t.join(5)
    assert not t.is_alive() and done["rc"] == -signal.SIGTERM and time.monotonic() - t0 < 5
    with pytest.raises(KeyboardInterrupt):
        interrupts.call(["true"])
    interrupts._reset()
    assert interrupts.call(["true"]) == 0


def test_vvp_always_runs_non_interactively():
    assert interrupts.noninteractive(["vvp", "-m", "x.so", "sim.vvp", "+a"])[:2] == ["vvp", "-n"]
    assert interrupts.noninteractive(["/usr/bin/vvp", "-n", "sim.vvp"]).count("-n") == 1
    assert interrupts.noninteractive(["make", "-f", "x"]) == ["make", "-f", "x"]


@pytest.mark.skipif(shutil.which("iverilog") is None, reason="needs Icarus Verilog")
@pytest.mark.parametrize("sig,group,code", [(signal.SIGINT, True, 130), (signal.SIGTERM, False, 143)])
def test_interrupted_icarus_sim_stops_its_shards_and_leaves_nothing(tmp_path_factory, sig, group, code):
    pytest.importorskip("cocotb")
    build = tmp_path_factory.getbasetemp() / "interrupt-build"        # shared: the second case reuses it
    work = tmp_path_factory.mktemp("sim")
    proc = _start(["sim", str(TINY), "--vectors", "200000", "--jobs", "2", "--out", "run",
                   "--build-dir", str(build)], work)

    def shards_running():
        return proc.poll() is not None or any((p / "progress").is_file()
                                              for p in work.glob(".run.*/shards/*"))
    assert _wait_for(shards_running, 120), "the shards never started"
    assert proc.poll() is None, proc.communicate()
    rc, err, seconds = _interrupt(proc, sig, group)
    assert rc == code and "interrupted" in err.splitlines()[-1], err
    assert sorted(os.listdir(work)) == [], _hidden(work)        # no run folder, no staging folder
    left = subprocess.run(["pgrep", "-f", str(build)], capture_output=True, text=True).stdout.split()
    assert left == [], "simulator processes survived the interrupt"


def test_a_signal_during_the_final_renames_waits_until_they_are_done(tmp_path):
    """The folder swap of --force cannot be split by Ctrl-C: the interrupt comes after it."""
    from encoder import files
    out = tmp_path / "d"
    out.mkdir()
    (out / "manifest.json").write_text("old")
    real_commit = files._rename_into_place

    def commit_with_a_signal(tmp, path, overwrite):
        os.kill(os.getpid(), signal.SIGTERM)        # arrives between "moved aside" and "renamed in"
        time.sleep(0.2)
        real_commit(tmp, path, overwrite)
    files._rename_into_place = commit_with_a_signal
    try:
        with pytest.raises(interrupts.Interrupted):
            with interrupts.handled():
                with files.atomic_dir(out, overwrite=True, marker="manifest.json") as tmp:
                    (tmp / "manifest.json").write_text("new")
    finally:
        files._rename_into_place = real_commit
    assert (out / "manifest.json").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


@pytest.mark.parametrize("sig,group,code", [(signal.SIGTERM, False, 143), (signal.SIGINT, True, 130)])
def test_interrupted_benchmark_script_ends_in_one_line_without_a_traceback(tmp_path, sig, group, code):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "bench_golden.py"), "--modules", "20000000"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    assert _wait_for(lambda: proc.poll() is not None or _handlers_installed(proc))
    time.sleep(1.0)
    assert proc.poll() is None
    rc, err, _ = _interrupt(proc, sig, group)
    assert rc == code and err.strip().splitlines()[-1] == "bench_golden: interrupted" and "Traceback" not in err, err
