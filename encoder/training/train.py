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
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import geometry as geometry_mod
from ..data import SensorData
from ..errors import UserError
from ..files import atomic_dir, check_writable
from . import inputs as inputs_mod
from .config import ModelConfig

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


def train(cfg: ModelConfig, data: SensorData, out, *, epochs: int | None = None, seed: int | None = None,
          force: bool = False, verbose: int | None = None, data_path: str = "<memory>") -> TrainResult:
    """Train ``cfg`` on ``data`` and write the run directory ``out``."""
    check_writable(out, force)
    cfg = cfg.replace_training(**{k: v for k, v in (("epochs", epochs), ("seed", seed)) if v is not None})
    t = cfg.training
    inputs_mod.check_data(cfg, data.charges, data.geometry, data_path)
    prepared = inputs_mod.model_inputs(cfg, data.charges)
    keep = np.flatnonzero(prepared.module_sum > 0)
    n_dropped = int(len(prepared.module_sum) - len(keep))
    train_idx, val_idx = inputs_mod.split(len(keep), t.validation_fraction, t.seed)
    train_idx, val_idx = keep[train_idx], keep[val_idx]

    from . import losses, model as model_mod
    from .tf_env import keras, seed_everything

    seed_everything(t.seed)
    encoder = model_mod.build_encoder(cfg)
    decoder = model_mod.build_decoder(cfg, output_mean=float(prepared.cells[train_idx].mean()))
    ae = model_mod.build_autoencoder(cfg, encoder, decoder)
    ae.compile(optimizer=keras.optimizers.Adam(learning_rate=t.learning_rate),
               loss=losses.get(t.loss, geometry_mod.load(cfg.geometry)))
    callbacks = []
    if t.patience > 0:
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=t.patience,
                                                       restore_best_weights=True))
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    x, y = prepared.image, prepared.cells
    hist = ae.fit(x[train_idx], y[train_idx], validation_data=(x[val_idx], y[val_idx]),
                  epochs=t.epochs, batch_size=t.batch_size, shuffle=True, callbacks=callbacks,
                  verbose=verbose)
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    val = history.get("val_loss", [])
    best = int(np.argmin(val)) if val else len(history.get("loss", [])) - 1
    result = TrainResult(out=Path(out), epochs_run=len(history.get("loss", [])), best_epoch=best + 1,
                         best_val_loss=float(val[best]) if val else float("nan"),
                         n_train=len(train_idx), n_val=len(val_idx), n_params=encoder.count_params())
    with atomic_dir(out, overwrite=force) as tmp:
        (tmp / CONFIG_FILE).write_text(cfg.to_yaml())
        _save_keras(encoder, tmp / ENCODER_FILE)
        _save_keras(decoder, tmp / DECODER_FILE)
        write_history_csv(history, tmp / HISTORY_CSV)
        plot_history(history, tmp / HISTORY_PNG, f"{cfg.name}: {t.loss} loss")
        (tmp / RUN_JSON).write_text(json.dumps({
            "config": cfg.name, "config_file": cfg.path, "data": str(data_path),
            "n_modules": data.n_modules, "n_zero_sum_dropped": n_dropped,
            "n_train": result.n_train, "n_val": result.n_val, "seed": t.seed,
            "epochs_run": result.epochs_run, "best_epoch": result.best_epoch,
            "best_val_loss": result.best_val_loss, "n_params": result.n_params,
            "n_cells_clipped": prepared.n_clipped,
        }, indent=1) + "\n")
    return result


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
            w.writerow([i + 1, *(repr(history[k][i]) if i < len(history[k]) else "" for k in keys)])


def plot_history(history: dict, path: Path, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for key, label in (("loss", "training"), ("val_loss", "validation")):
        if history.get(key):
            ax.plot(np.arange(1, len(history[key]) + 1), history[key], marker=".", label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if all(v > 0 for k in ("loss", "val_loss") for v in history.get(k, [])):
        ax.set_yscale("log")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def read_run_config(run_dir) -> ModelConfig:
    from .config import load_config
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG_FILE).exists():
        raise UserError(f"{run_dir}: not a training run (no {CONFIG_FILE}; make one with `encoder train`)")
    return load_config(run_dir / CONFIG_FILE)
