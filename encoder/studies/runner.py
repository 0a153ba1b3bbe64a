"""Running a study on Dask: resumable, with a progress bar.

The study directory:

- ``study.yaml``: the study config of the last run; ``data.npz`` /
  ``data.json``: the synthetic data (generated once);
- ``points/<id>/``: one directory per point (``encoder.studies.points``);
  ``result.json`` marks it finished, and a finished point is never
  computed again. The id is the point's label and a hash of its model
  config, epochs, seed and data, so a changed config gets new points and
  never reuses a stale one;
- ``baselines/<data set>.json``: the non-ML algorithms on the same modules;
- ``table.csv``, ``table.md``, ``pareto.png``, ``report.md``; ``selected.json``: the
  kept point of each e-link budget (lowest validation EMD).

Points run as Dask tasks: on a LocalCluster of worker processes with one
thread each (``workers``), on one worker thread in this process
(``in_process``), or on an existing cluster (``scheduler``). At most as
many tasks are in flight as there are worker threads, so stopping early
(``max_points`` or Ctrl-C) abandons at most those.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shlex
import sys
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from .. import inputpath
from ..errors import UserError
from ..files import write_text
from ..metrics import bandwidth
from .datasets import extra_data, main_data, split
from .points import RESULT, run_baselines, run_point
from .report import rows, write_outputs
from .study_config import StudyConfig, load_study

POINTS = "points"
BASELINES = "baselines"


@dataclass
class Outcome:
    out: Path
    complete: bool
    n_points: int
    finished_before: int
    finished_now: int
    failed: list[str] = field(default_factory=list)


def point_elinks(model: dict) -> int:
    """The point's e-link budget: its config's ``elinks``, else what its word needs."""
    if model.get("elinks") is not None:
        return int(model["elinks"])
    lt = model["encoder"]["latent"]
    return int(inputpath.elinks_for(bandwidth.autoencoder_bits(lt["size"], lt["activation"]["bits"], "header")))


def _lock(out: Path):
    """An exclusive lock on the study directory (released when the process ends)."""
    fh = open(out / ".lock", "w")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        raise UserError(f"{out}: another `encoder study` is running on this directory") from None
    return fh


def _client(scheduler, workers: int, in_process: bool):
    from dask.distributed import Client, LocalCluster
    if scheduler:
        try:
            return Client(scheduler, timeout="20s"), None
        except (OSError, TimeoutError) as exc:
            raise UserError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
    kwargs = dict(n_workers=1 if in_process else workers, threads_per_worker=1, processes=not in_process,
                  dashboard_address=None, silence_logs=logging.ERROR)
    if not in_process:
        # TensorFlow sizes its own thread pools from the machine; keep each worker near one core.
        cores = os.cpu_count() or 1
        kwargs["env"] = {"TF_NUM_INTRAOP_THREADS": str(max(1, cores // workers)),
                         "TF_NUM_INTEROP_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    cluster = LocalCluster(**kwargs)
    return Client(cluster), cluster


def _load_results(out: Path, ids: list[str]) -> dict[str, dict]:
    found = {}
    for pid in ids:
        p = out / POINTS / pid / RESULT
        if p.exists():
            try:
                found[pid] = json.loads(p.read_text())
            except json.JSONDecodeError:
                raise UserError(f"{p}: unreadable result (remove the file to recompute the point)") from None
    return found


def run_study(config_path, out, *, scheduler=None, workers: int = 2, in_process: bool = False,
              max_points: int | None = None, progress: bool | None = None) -> Outcome:
    study = load_study(config_path)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    lock = _lock(out)
    try:
        return _run(study, Path(config_path), out, scheduler, workers, in_process, max_points, progress)
    finally:
        lock.close()


def _run(study: StudyConfig, config_path: Path, out: Path, scheduler, workers, in_process, max_points,
         progress) -> Outcome:
    write_text(out / "study.yaml", config_path.read_text(), overwrite=True)
    data = main_data(study, out)
    geometry = study.points[0].model["geometry"]
    extras, notes = extra_data(study, out, geometry)
    tr, ev = split(data.n_modules, study.data.eval_fraction, study.data.split_seed)
    context = {"data": data.fingerprint, "eval_fraction": study.data.eval_fraction,
               "split_seed": study.data.split_seed}
    specs = []
    for p in study.points:
        pid = p.point_id(context)
        specs.append({
            "id": pid, "label": p.label, "index": p.index, "overrides": p.overrides, "model": p.model,
            # absolute paths: workers of a remote cluster need not share this working directory
            "dir": str((out / POINTS / pid).resolve()), "elinks": point_elinks(p.model), "plots": study.plots,
            "data": {"path": str(data.path.resolve()), "fingerprint": data.fingerprint,
                     "eval_fraction": study.data.eval_fraction, "split_seed": study.data.split_seed},
            "extras": [{"name": x.name, "path": str(x.path.resolve())} for x in extras],
        })
    ids = [s["id"] for s in specs]
    done = _load_results(out, ids)
    todo = [s for s in specs if s["id"] not in done]
    elinks = sorted({s["elinks"] for s in specs})

    base_tasks = []
    for d in [data, *extras]:
        path = out / BASELINES / f"{d.name}.json"
        # a changed chip_baselines block recomputes the baselines (the points are not touched)
        key = {"fingerprint": d.fingerprint, "elinks": elinks, "chip": study.chip.to_dict()}
        if path.exists():
            old = json.loads(path.read_text())
            if {"fingerprint": old.get("fingerprint"), "elinks": old.get("elinks"), "chip": old.get("chip")} == key:
                continue
        base_tasks.append({"name": d.name, "path": str(d.path.resolve()), "fingerprint": d.fingerprint,
                           "elinks": elinks, "out": str(path.resolve()), "chip": study.chip.to_dict(),
                           "split": ({"eval_fraction": study.data.eval_fraction,
                                      "split_seed": study.data.split_seed} if d is data else None)})
    (out / BASELINES).mkdir(exist_ok=True)
    (out / POINTS).mkdir(exist_ok=True)

    print(f"study {study.name}: {len(specs)} points, {len(done)} finished before, {len(todo)} to run; "
          f"data {data.path} ({data.n_modules:,} modules: {len(tr):,} training, {len(ev):,} evaluation)")
    for n in notes:
        print(f"note: {n}")

    failed: list[str] = []
    finished_now = 0
    if todo or base_tasks:
        finished_now, failed = _execute(base_tasks, todo, scheduler, workers, in_process, max_points,
                                        len(done), len(specs), progress, out)

    done = _load_results(out, ids)
    base_results = {}
    for d in [data, *extras]:
        path = out / BASELINES / f"{d.name}.json"
        if path.exists():
            base_results[d.name] = json.loads(path.read_text())
    results = [done[i] for i in ids if i in done]
    datasets = {"eval": {"source": data.source, "n_modules": data.n_modules, "n_train": len(tr), "n_eval": len(ev)}}
    for x in extras:
        datasets[x.name] = {"source": x.source, "n_modules": x.n_modules}
    table = rows(results, base_results, [x.name for x in extras])
    command = "encoder study " + " ".join(shlex.quote(a) for a in sys.argv[2:]) if len(sys.argv) > 2 and \
        sys.argv[1] == "study" else f"encoder study --config {config_path} --out {out}"
    all_notes = list(notes) + [f"point {f}" for f in failed]
    if len(results) < len(specs):
        all_notes.append(f"{len(specs) - len(results)} of {len(specs)} points not finished; rerun the same "
                         f"command to continue")
    write_outputs(out, study, table, base_results, results, datasets, all_notes, command, len(specs))
    complete = len(results) == len(specs)
    print(f"{out}: {len(results)} of {len(specs)} points finished ({finished_now} now); "
          f"table.csv, table.md, pareto.png, report.md, selected.json")
    if failed:
        raise UserError(f"{len(failed)} point(s) failed: {failed[0]}" + (" (more in report.md)" if len(failed) > 1 else ""))
    return Outcome(out, complete, len(specs), len(results) - finished_now, finished_now, failed)


def _execute(base_tasks, todo, scheduler, workers, in_process, max_points, n_done, n_total, progress, out):
    from dask.distributed import as_completed
    from tqdm import tqdm

    client, cluster = _client(scheduler, workers, in_process)
    failed, finished = [], 0
    try:
        slots = max(1, sum(client.nthreads().values()))
        queue = deque([("baselines", t) for t in base_tasks] + [("point", s) for s in todo])
        running = {}
        ac = as_completed()

        def submit_next():
            kind, spec = queue.popleft()
            fn = run_point if kind == "point" else run_baselines
            name = spec["id"] if kind == "point" else spec["name"]
            fut = client.submit(fn, spec, key=f"{kind}-{name}-{uuid.uuid4().hex[:8]}", pure=False)
            running[fut.key] = (kind, spec, fut)
            ac.add(fut)

        for _ in range(min(slots, len(queue))):
            submit_next()
        stop = False
        with tqdm(total=n_total, initial=n_done, unit="point", desc="study", disable=progress is False or None) as bar:
            for fut in ac:
                kind, spec, _ = running.pop(fut.key)
                try:
                    fut.result()
                except Exception as exc:  # noqa: BLE001  (a failed point must not stop the others)
                    name = spec["id"] if kind == "point" else f"baselines {spec['name']}"
                    msg = f"{name}: {type(exc).__name__}: {exc}".splitlines()[0]
                    failed.append(msg)
                    if kind == "point":
                        write_text(Path(spec["dir"]) / "error.txt", msg + "\n", overwrite=True)
                    bar.write(f"failed: {msg}")
                else:
                    if kind == "point":
                        finished += 1
                        bar.update(1)
                if kind == "point" and max_points is not None and finished >= max_points:
                    stop = True
                if stop:
                    if not any(k == "baselines" for k, _, _ in running.values()):
                        break
                    continue
                if queue:
                    submit_next()
        if running:                      # abandoned in-flight points (stopped early)
            client.cancel([f for _, _, f in running.values()])
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return finished, failed
