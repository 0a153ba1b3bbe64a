"""`encoder study` killed mid-way and resumed: same table, no finished point trained again.

A two-point e-link study (1 epoch, 300 synthetic modules) runs three times:
uninterrupted in this process (the reference); in a subprocess that is
killed with SIGKILL the moment the first point's result.json appears;
then resumed on a Dask cluster given by its scheduler address. The
finished point's files must be untouched (mtimes, one training attempt
in its train.log), the second point trained on resume, and the final
table equal to the reference's.
"""

import csv
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from encoder.studies.runner import run_study

pytestmark = pytest.mark.xdist_group("tensorflow")

ROOT = Path(__file__).resolve().parents[1]
ENCODER = Path(sys.executable).parent / "encoder"


def study_config(d: Path) -> Path:
    (d / "base.yaml").write_text(f"extends: {ROOT / 'configs' / 'econt_8x8.yaml'}\n"
                                 "training: {batch_size: 100, patience: 1}\n")
    (d / "study.yaml").write_text(
        "name: tiny_elinks\n"
        "extends: base.yaml\n"
        "data: {synth: {modules: 300, seed: 5}, eval_fraction: 0.3, split_seed: 2}\n"
        "epochs: 1\nseed: 3\nplots: false\n"
        "sweep:\n  points:\n"
        "    - {elinks: 2, encoder.latent.activation.bits: 3}\n"
        "    - {elinks: 3, encoder.latent.activation.bits: 5}\n")
    return d / "study.yaml"


def kill_when_first_point_finishes(proc, points: Path, found: list) -> None:
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None:
        done = list(points.glob("*/result.json"))
        if done:
            os.killpg(proc.pid, signal.SIGKILL)
            found.extend(done)
            return
        time.sleep(0.05)


def read_table(path: Path) -> list[dict]:
    with open(path) as fh:
        return list(csv.DictReader(fh))


def test_killed_study_resumes_without_retraining_and_gives_the_uninterrupted_table(tmp_path):
    cfg = study_config(tmp_path)
    interrupted = tmp_path / "interrupted"
    log = open(tmp_path / "killed.log", "w")
    proc = subprocess.Popen([str(ENCODER), "study", "--config", str(cfg), "--out", str(interrupted), "--in-process"],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=tmp_path)
    found: list = []
    watcher = threading.Thread(target=kill_when_first_point_finishes, args=(proc, interrupted / "points", found))
    watcher.start()
    try:
        reference = run_study(cfg, tmp_path / "reference", in_process=True, progress=False)
    finally:
        watcher.join(timeout=600)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        log.close()
    assert reference.complete and reference.finished_now == 2
    assert proc.returncode == -signal.SIGKILL, (tmp_path / "killed.log").read_text()
    assert len(found) == 1
    first = found[0].parent
    assert len(list(interrupted.glob("points/*/result.json"))) == 1
    assert not (interrupted / "table.csv").exists()
    kept = {p: p.stat().st_mtime_ns for p in (first / "result.json", first / "ir.json", first / "run" / "encoder.h5",
                                               first / "eval" / "metrics.json")}

    # resumed on an existing Dask cluster, through its scheduler address
    from dask.distributed import LocalCluster
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        resumed = run_study(cfg, interrupted, scheduler=cluster.scheduler_address, max_points=1, progress=False)
    assert (resumed.finished_before, resumed.finished_now, resumed.complete) == (1, 1, True)
    assert {p: p.stat().st_mtime_ns for p in kept} == kept
    assert (first / "train.log").read_text().count("start ") == 1
    second = next(p for p in (interrupted / "points").iterdir() if p != first)
    assert (second / "result.json").exists() and (second / "run" / "encoder.h5").exists()
    assert not [p.name for p in second.iterdir() if p.name.startswith(".")]     # no temporary leftovers
    assert sorted(p.name for p in (interrupted / "points").iterdir()) == \
        sorted(p.name for p in (tmp_path / "reference" / "points").iterdir())
    assert read_table(interrupted / "table.csv") == read_table(tmp_path / "reference" / "table.csv")
    assert (interrupted / "table.md").read_text() == (tmp_path / "reference" / "table.md").read_text()
    assert "Points finished: 2 of 2." in (interrupted / "report.md").read_text()
    assert (interrupted / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    again = run_study(cfg, interrupted, in_process=True, progress=False)
    assert (again.finished_before, again.finished_now) == (2, 0)
    assert {p: p.stat().st_mtime_ns for p in kept} == kept
