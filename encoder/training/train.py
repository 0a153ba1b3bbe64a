"""Quantization-aware training of a config on a data file into a run directory.

A run directory holds: ``config.yaml`` (the merged config as used, with
the seed and epochs of this run), ``encoder.h5`` (the QKeras encoder,
loadable with ``qkeras.utils.load_qmodel``), ``decoder.h5`` (float Keras),
``history.csv`` and ``history.png`` (learning curves) and ``run.json``
(data, split sizes, best epoch). It is written to a temporary directory
and renamed into place, so a failed run leaves nothing behind.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import geometry as geometry_mod
from ..data import SensorData
from ..errors import UserError
from ..files import atomic_dir, check_writable
from . import inputs as inputs_mod
from .config import ModelConfig
from .schedule import Plateau, Schedule, estimate_text, run_eta

ENCODER_FILE = "encoder.h5"
DECODER_FILE = "decoder.h5"
CONFIG_FILE = "config.yaml"
HISTORY_CSV = "history.csv"
HISTORY_PNG = "history.png"
RUN_JSON = "run.json"


@dataclass
class TrainResult:
    out: Path
    epochs_run: int
    best_epoch: int
    best_val_loss: float
    n_train: int
    n_val: int
    n_params: int
    best_val_emd: float = float("nan")
    stop_reason: str = ""
    train_seconds: float = 0.0


@dataclass
class _Stage:
    name: str
    loss: str
    epochs: int
    learning_rate: float
    patience: int


def _stages(t) -> list[_Stage]:
    stages = [_Stage("main", t.loss, t.epochs, t.learning_rate, t.patience)]
    if t.finetune is not None:
        f = t.finetune
        stages.append(_Stage("finetune", f.loss, f.epochs, f.learning_rate, f.patience))
    return stages


def train(cfg: ModelConfig, data: SensorData, out, *, epochs: int | None = None, seed: int | None = None,
          force: bool = False, verbose: int | None = None, data_path: str = "<memory>",
          mix: list[tuple[str, SensorData]] = ()) -> TrainResult:
    """Train ``cfg`` on ``data`` (plus the modules of ``mix``) and write the run directory ``out``.

    ``epochs`` caps the first stage; training stops earlier when the
    monitored validation value (``training.monitor``) has not improved for
    ``training.patience`` epochs, lowering the learning rate on the way,
    and the best epoch's weights are the ones written.
    """
    check_writable(out, force)
    cfg = cfg.replace_training(**{k: v for k, v in (("epochs", epochs), ("seed", seed)) if v is not None})
    t = cfg.training
    inputs_mod.check_data(cfg, data.charges, data.geometry, data_path)
    charges = data.charges
    for where, extra in mix:
        inputs_mod.check_data(cfg, extra.charges, extra.geometry, where)
        charges = np.concatenate([charges, extra.charges])
    prepared = inputs_mod.model_inputs(cfg, charges)
    keep = np.flatnonzero(prepared.module_sum > 0)
    n_dropped = int(len(prepared.module_sum) - len(keep))
    train_idx, val_idx = inputs_mod.split(len(keep), t.validation_fraction, t.seed)
    train_idx, val_idx = keep[train_idx], keep[val_idx]
    if t.train_modules:
        # a seeded subset, so that a smaller set is part of every larger one (learning curves in data)
        pick = np.random.default_rng([t.seed, 1]).permutation(len(train_idx))[: t.train_modules]
        train_idx = train_idx[np.sort(pick)]

    from . import losses, model as model_mod
    from .feed import Feed
    from .tf_env import keras, seed_everything

    seed_everything(t.seed)
    geo = geometry_mod.load(cfg.geometry)
    encoder = model_mod.build_encoder(cfg)
    decoder = model_mod.build_decoder(cfg, output_mean=float(prepared.cells[train_idx].mean()))
    ae = model_mod.build_autoencoder(cfg, encoder, decoder)
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    say = print if verbose else (lambda *a, **k: None)

    feed = Feed(cfg, prepared.cells[train_idx], t.seed, stream_modules=t.stream_modules, augment=t.augment)
    x_val, y_val = prepared.image[val_idx], prepared.cells[val_idx]
    n_emd = min(t.val_emd_modules, len(val_idx))
    emd_rows = np.sort(np.random.default_rng(t.seed).permutation(len(val_idx))[:n_emd])
    history: dict[str, list] = {k: [] for k in HISTORY_KEYS}
    schedule = Schedule()
    best_weights = None
    stages = _stages(t)
    total_cap = sum(s.epochs for s in stages)
    t_start = time.time()
    epoch = 0
    diverged = False
    for stage in stages:
        loss_fn = losses.get(stage.loss, geo)
        ae.compile(optimizer=keras.optimizers.Adam(learning_rate=stage.learning_rate), loss=loss_fn)
        lr = stage.learning_rate
        rule = Plateau(patience=stage.patience, lr_patience=t.lr_patience, lr_factor=t.lr_factor,
                       min_lr=t.min_learning_rate)
        schedule.start_stage()
        if len(stages) > 1:
            say(f"stage {stage.name}: loss {stage.loss}, learning rate {lr:g}, at most {stage.epochs} epochs")
        stopped = False
        for k in range(stage.epochs):
            epoch += 1
            t0 = time.time()
            x, y = feed.epoch(epoch)
            fit = ae.fit(x, y, epochs=1, batch_size=t.batch_size, shuffle=False, verbose=0)
            val_loss = float(ae.evaluate(x_val, y_val, batch_size=max(t.batch_size, 4096), verbose=0))
            val_emd = _val_emd(ae, x_val[emd_rows], y_val[emd_rows], geo) if t.monitor == "val_emd" else float("nan")
            seconds = time.time() - t0
            value = val_emd if t.monitor == "val_emd" else val_loss
            improved, new_lr, stop = schedule.update(epoch, stage.name, value, lr, rule, t.monitor)
            if improved:
                best_weights = ae.get_weights()
            for key, v in zip(HISTORY_KEYS, (stage.name, float(fit.history["loss"][0]), val_loss, val_emd,
                                             lr, seconds, len(x) / seconds)):
                history[key].append(v)
            say(f"epoch {epoch:>3} [{stage.name}] loss {history['loss'][-1]:.5g}  val_loss {val_loss:.5g}  "
                f"val_emd {val_emd:.4f}  lr {lr:.2g}  {seconds:.1f} s{'  *' if improved else ''}  "
                f"| {_eta(history['seconds'], schedule, rule, stages, stage, k, stop)}")
            if epoch == min(2, total_cap):
                # the first epoch also traces the graph; the second shows the steady speed
                say("  " + estimate_text(seconds, len(x), total_cap - epoch))
            if new_lr is not None:
                lr = new_lr
                ae.optimizer.learning_rate.assign(lr)
            if stop:
                stopped = True
                break
            if not np.isfinite(history["loss"][-1]):
                schedule.stop_reason = f"{stage.name}: training loss is not finite at epoch {epoch}"
                stopped = diverged = True
                break
        if not stopped:
            schedule.cap_reached(stage.name, stage.epochs)
        if best_weights is not None:
            ae.set_weights(best_weights)         # the next stage starts from the best so far
        if diverged:
            break
    train_seconds = time.time() - t_start
    say(f"stopped: {schedule.stop_reason}; kept epoch {schedule.best_epoch}")

    best = max(schedule.best_epoch, 1) - 1
    result = TrainResult(out=Path(out), epochs_run=epoch, best_epoch=best + 1,
                         best_val_loss=float(history["val_loss"][best]), n_train=len(train_idx),
                         n_val=len(val_idx), n_params=encoder.count_params(),
                         best_val_emd=float(history["val_emd"][best]), stop_reason=schedule.stop_reason,
                         train_seconds=train_seconds)
    events = dict(schedule.events)
    events[result.best_epoch] = "kept" + (f"; {events[result.best_epoch]}" if result.best_epoch in events else "")
    events[epoch] = (events[epoch] + "; " if epoch in events else "") + f"stopped: {schedule.stop_reason}"
    history["event"] = [events.get(i + 1, "") for i in range(epoch)]
    header = (f"# trained: kept epoch {result.best_epoch} of {epoch} ({t.monitor} "
              f"{history['val_emd' if t.monitor == 'val_emd' else 'val_loss'][best]:.5g}); "
              f"stopped because {schedule.stop_reason}; {train_seconds:.0f} s\n")
    with atomic_dir(out, overwrite=force) as tmp:
        (tmp / CONFIG_FILE).write_text(header + cfg.to_yaml())
        _save_keras(encoder, tmp / ENCODER_FILE)
        _save_keras(decoder, tmp / DECODER_FILE)
        write_history_csv(history, tmp / HISTORY_CSV)
        plot_history(history, tmp / HISTORY_PNG, f"{cfg.name}: {t.loss} loss", result.best_epoch)
        (tmp / RUN_JSON).write_text(json.dumps({
            "config": cfg.name, "config_file": cfg.path, "data": str(data_path),
            "mixed_in": [w for w, _ in mix],
            "n_modules": int(len(charges)), "n_zero_sum_dropped": n_dropped,
            "n_train": result.n_train, "n_val": result.n_val, "seed": t.seed,
            "epochs_run": result.epochs_run, "best_epoch": result.best_epoch,
            "best_stage": schedule.best_stage or stages[0].name,
            "best_val_loss": result.best_val_loss, "best_val_emd": _finite_or_none(result.best_val_emd),
            "monitor": t.monitor, "n_val_emd": int(n_emd), "stop_reason": result.stop_reason,
            "train_seconds": round(train_seconds, 2),
            "modules_per_second": round(float(np.mean(history["modules_per_s"])), 1),
            "n_params": result.n_params, "n_cells_clipped": prepared.n_clipped,
        }, indent=1) + "\n")
    return result


HISTORY_KEYS = ("stage", "loss", "val_loss", "val_emd", "lr", "seconds", "modules_per_s")


def _eta(seconds: list, schedule: Schedule, rule: Plateau, stages: list, stage, k: int, stop: bool) -> str:
    """The whole run's remaining time after epoch k (0-based) of ``stage``, as a range (see run_eta).

    Speed: the mean epoch after the first (which also traces the graph). Later stages count at
    their caps, or at their patience when the value stays flat.
    """
    if len(seconds) < 2 and not stop:
        return "run ETA: from epoch 2 on (epoch 1 also builds the graph)"
    per = float(np.mean(seconds[1:] if len(seconds) > 1 else seconds))
    later = stages[stages.index(stage) + 1:]
    cap_left = 0 if stop else stage.epochs - (k + 1)
    flat = schedule.epochs_until_stop(rule)
    flat_left = cap_left if flat is None else min(flat, cap_left)
    most = cap_left + sum(s.epochs for s in later)
    least = flat_left + sum(min(s.patience, s.epochs) if s.patience else s.epochs for s in later)
    return run_eta(per, least, most)


def _finite_or_none(v: float):
    return v if np.isfinite(v) else None


def _val_emd(ae, x, y, geo) -> float:
    """Mean EMD of the float autoencoder on validation modules (what the study ranks by)."""
    from ..metrics.emd_solver import emd
    pred = ae.predict(x, batch_size=4096, verbose=0)
    return float(np.mean(emd(y, np.maximum(pred, 0.0), geo)))


def _save_keras(model, path: Path) -> None:
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")       # Keras nags that HDF5 is a legacy format
        model.save(str(path), include_optimizer=False)


def write_history_csv(history: dict, path: Path) -> None:
    keys = list(history)
    n = max((len(v) for v in history.values()), default=0)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["epoch", *keys])
        for i in range(n):
            w.writerow([i + 1, *(_cell(history[k][i]) if i < len(history[k]) else "" for k in keys)])


def _cell(v):
    return repr(v) if isinstance(v, float) else v


def plot_history(history: dict, path: Path, title: str, kept: int | None = None) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = np.arange(1, len(history.get("loss", [])) + 1)
    has_emd = any(np.isfinite(v) for v in history.get("val_emd", []))
    fig, axes = plt.subplots(1, 2 if has_emd else 1, figsize=(11 if has_emd else 6, 4), squeeze=False)
    ax = axes[0, 0]
    stages = history.get("stage", ["main"] * len(epochs))
    for st in dict.fromkeys(stages):
        sel = np.array([s == st for s in stages])
        for key, label in (("loss", "training"), ("val_loss", "validation")):
            if history.get(key):
                ax.plot(epochs[sel], np.asarray(history[key])[sel], marker=".", label=f"{label} ({st})")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (per stage)")
    if all(v > 0 for k in ("loss", "val_loss") for v in history.get(k, [])):
        ax.set_yscale("log")
    ax.set_title(title)
    if has_emd:
        ax2 = axes[0, 1]
        ax2.plot(epochs, history["val_emd"], marker=".", color="tab:green", label="validation EMD")
        ax2.set_xlabel("epoch")
        ax2.set_ylabel("mean EMD (float model)")
        ax2.set_title("validation EMD")
    for a in axes[0]:
        if kept:
            a.axvline(kept, color="grey", ls="--", lw=1, label=f"kept epoch {kept}")
        a.grid(alpha=0.3)
        a.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def read_run_config(run_dir) -> ModelConfig:
    from .config import load_config
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG_FILE).exists():
        raise UserError(f"{run_dir}: not a training run (no {CONFIG_FILE}; make one with `encoder train`)")
    return load_config(run_dir / CONFIG_FILE)
