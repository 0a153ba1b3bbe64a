"""The work of one study point and of the baselines, as Dask tasks.

A point directory ``OUT/points/<id>/`` fills up in this order, each file
or directory written atomically, so an interrupted point resumes from the
last finished step and a finished one is never touched again:

1. ``config.yaml``: the point's model config (``encoder train --config``
   reproduces the run);
2. ``run/``: the training run (``encoder train``), on the training split;
   ``train.log`` gets a "start" line per training attempt (the learning
   curve is in ``run/history.csv``);
3. ``ir.json``: its encoder exported with QKeras arithmetic;
4. ``eval/`` (and ``eval_<name>/`` per further data set): ``encoder
   evaluate`` without the baselines, on the evaluation split;
5. ``result.json``: the summary the table is made of, written last.

Tasks take and return plain dicts, so any Dask worker that has the kit
installed and sees the same file system can run them.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np

from ..data import load_data
from ..files import write_text
from .datasets import split
from .scoring import jsonable

RESULT = "result.json"
TRAIN_LOG = "train.log"
RUN = "run"
IR = "ir.json"


def _clean_partial(d: Path) -> None:
    """Remove temporary files and directories an interrupted step left behind."""
    for p in d.iterdir():
        if p.name.startswith("."):
            shutil.rmtree(p) if p.is_dir() else p.unlink()


def _train_data(spec: dict):
    data = load_data(spec["data"]["path"])
    tr, ev = split(data.n_modules, spec["data"]["eval_fraction"], spec["data"]["split_seed"])
    return data.subset(tr), data.subset(ev)


def run_point(spec: dict) -> dict:
    """Train, export, golden model and evaluate one point; returns (and writes) its result."""
    import warnings

    from ..ir import load_ir, save_ir
    from ..training.config import parse_config
    from ..training.train import train
    from .evaluate import AE_GOLDEN, AE_QKERAS, ae_word_bits, evaluate, ir_of_run, load_run
    from .outputs import write_evaluation

    t0 = time.time()
    d = Path(spec["dir"])
    d.mkdir(parents=True, exist_ok=True)
    _clean_partial(d)
    where = f"{d / 'config.yaml'}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cfg = parse_config(spec["model"], where)
    if not (d / "config.yaml").exists():
        write_text(d / "config.yaml", cfg.to_yaml())
    train_set, eval_set = _train_data(spec)

    timing = {}
    run_dir = d / RUN
    if not run_dir.exists():
        t = time.time()
        # One "start" line per training attempt: the record that a point was trained once.
        # (Keras' own output is not redirected: sys.stdout is shared by a worker's threads.)
        with open(d / TRAIN_LOG, "a") as log:
            log.write(f"start {time.strftime('%Y-%m-%d %H:%M:%S')} {len(train_set.charges)} modules\n")
        train(cfg, train_set, run_dir, verbose=0, data_path=f"{spec['data']['path']} (training split)")
        with open(d / TRAIN_LOG, "a") as log:
            log.write(f"done in {time.time() - t:.1f} s\n")
        timing["train_s"] = time.time() - t
    run = load_run(run_dir)
    ir_path = d / IR
    if not ir_path.exists():
        ir = ir_of_run(run)
        ir.source.update({"from": "encoder study", "point": spec["id"]})
        save_ir(ir, ir_path)
    ir = load_ir(ir_path)

    n_elinks = spec.get("elinks")
    evaluations = {}
    sets = [("eval", eval_set, f"{Path(spec['data']['path']).name} (evaluation split)", "eval")]
    for e in spec.get("extras", []):
        sets.append((e["name"], load_data(e["path"]), Path(e["path"]).name, f"eval_{e['name']}"))
    for name, data, label, sub in sets:
        t = time.time()
        ev = evaluate(run, data, ir, n_elinks=n_elinks, with_baselines=False, progress=False,
                      ir_path=str(ir_path), data_path=label, ir_matches_run=True)
        write_evaluation(ev, d / sub, overwrite=True, plot=spec.get("plots", True))
        timing[f"evaluate_{name}_s"] = time.time() - t
        evaluations[name] = {
            "n_modules": ev.meta["n_modules"],
            "n_elinks": ev.meta["n_elinks"],
            "algorithms": {k: ev.scores[k].summary for k in (AE_GOLDEN, AE_QKERAS) if k in ev.scores},
        }
    info = json.loads((run_dir / "run.json").read_text())
    result = {
        "id": spec["id"],
        "label": spec["label"],
        "index": spec["index"],
        "overrides": spec["overrides"],
        "config": cfg.name,
        "elinks": n_elinks,
        "n_latent": ir.n_latent,
        "latent_bits": ir.latent_format.bits,
        "word_bits": ae_word_bits(ir),
        "n_params": ir.n_params,
        "ir_hash": ir.hash,
        "train": {k: info.get(k) for k in ("epochs_run", "best_epoch", "best_val_loss", "best_val_emd",
                                           "monitor", "stop_reason", "train_seconds", "modules_per_second",
                                           "n_train", "n_val")},
        "evaluations": evaluations,
        "timing_s": {**timing, "total_s": time.time() - t0},
    }
    write_text(d / RESULT, json.dumps(jsonable(result), indent=1, allow_nan=False) + "\n")
    return result


def run_baselines(spec: dict) -> dict:
    """The non-ML algorithms on one data set for every e-link budget of the study; writes spec['out']."""
    from .. import inputpath
    from ..metrics import baselines, chip_baselines
    from .evaluate import label
    from .scoring import energy_edges, energy_variable, score

    data = load_data(spec["path"])
    if spec.get("split"):
        _, ev = split(data.n_modules, spec["split"]["eval_fraction"], spec["split"]["split_seed"])
        data = data.subset(ev)
    x, geom = data.charges, data.geometry
    elinks = sorted(set(spec["elinks"]))
    algos = dict(baselines.run_all(x, geom, n_elinks=elinks[0]))
    for e in elinks[1:]:
        r = baselines.best_choice(x, geom, n_elinks=e)
        algos.setdefault(r.name, r)
    # the chip's own algorithms on every e-link budget (names end in _e<N>)
    chip_cfg = chip_baselines.ChipBaselines.from_dict(spec["chip"]) if spec.get("chip") else None
    chip_rows = {}
    if chip_cfg is not None and chip_baselines.supports(geom):
        for e in elinks:
            for name, r in chip_baselines.run_all(x, geom, e, chip_cfg).items():
                chip_rows[name] = (e, r)
    ev = energy_variable(data.truth)
    energy = data.truth[ev[0]] if ev else None
    edges = energy_edges(energy, x) if ev else None
    out = {}
    for name, r in algos.items():
        budget = None
        if name.startswith("best_choice_"):
            budget = next(e for e in elinks if baselines.best_choice(x[:1], geom, n_elinks=e).name == name)
        s = score(name, x, r.reconstructed, r.bits, geometry=geom, n_elinks=budget, energy=energy,
                  energy_edges_=edges, energy_label=ev[1] if ev else None,
                  info={"kind": "baseline", "label": label(name)})
        s.summary["over_budget"] = {str(e): float(np.mean(r.bits > e * inputpath.ELINK_BITS_PER_BX))
                                    for e in elinks}
        out[name] = s.summary
    for name, (e, r) in chip_rows.items():
        s = score(name, x, r.reconstructed, r.bits, geometry=geom, n_elinks=e, energy=energy,
                  energy_edges_=edges, energy_label=ev[1] if ev else None,
                  info={"kind": "chip", "label": label(name), "chip": r.stats()})
        out[name] = s.summary
    result = {"dataset": spec["name"], "fingerprint": spec["fingerprint"], "elinks": elinks,
              "chip": spec.get("chip"), "n_modules": int(len(x)), "algorithms": out}
    write_text(spec["out"], json.dumps(jsonable(result), indent=1, allow_nan=False) + "\n", overwrite=True)
    return result
