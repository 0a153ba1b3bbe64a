"""When to lower the learning rate, which epoch to keep and when to stop.

Pure bookkeeping, no TensorFlow: the training loop reports each epoch's
monitored value (by default the validation EMD) and asks what to do. The
rules are the usual Keras ones (ReduceLROnPlateau, EarlyStopping with
restored best weights), kept in one place so that they span the stages of
a run: the fine-tuning stage goes on from the best epoch of the first and
competes with it for the kept epoch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class Plateau:
    """Learning-rate and stopping rules of one stage."""

    patience: int              # epochs without improvement before stopping (0: never stop early)
    lr_patience: int           # epochs without improvement before the rate is lowered (0: never)
    lr_factor: float = 0.5
    min_lr: float = 1e-5
    min_delta: float = 1e-4    # relative improvement that counts


@dataclass
class Schedule:
    """Tracks the monitored value over all epochs of a run."""

    best_value: float = math.inf
    best_epoch: int = 0                  # 1-based over the whole run; 0 = none yet
    best_stage: str = ""
    stop_reason: str = ""
    _since_best: int = 0
    _since_lr: int = 0
    events: dict = field(default_factory=dict)

    def start_stage(self) -> None:
        self._since_best = 0
        self._since_lr = 0

    def update(self, epoch: int, stage: str, value: float, lr: float, rule: Plateau,
               monitor: str) -> tuple[bool, float | None, bool]:
        """Record ``value`` at ``epoch``; returns (improved, new learning rate or None, stop)."""
        improved = math.isfinite(value) and value < self.best_value * (1 - rule.min_delta)
        if improved:
            self.best_value, self.best_epoch, self.best_stage = value, epoch, stage
            self._since_best = self._since_lr = 0
        else:
            self._since_best += 1
            self._since_lr += 1
        new_lr = None
        if not improved and rule.lr_patience and self._since_lr >= rule.lr_patience and lr > rule.min_lr:
            new_lr = max(lr * rule.lr_factor, rule.min_lr)
            self._since_lr = 0
            self.events[epoch] = f"learning rate {lr:.3g} -> {new_lr:.3g}"
        stop = bool(rule.patience) and self._since_best >= rule.patience
        if stop:
            self.stop_reason = (f"{stage}: {monitor} not better for {rule.patience} epochs "
                                f"(best {self.best_value:.5g} at epoch {self.best_epoch})")
        return improved, new_lr, stop

    def epochs_until_stop(self, rule: Plateau) -> int | None:
        """Epochs this stage still runs if the monitored value never improves again (None: no early stop)."""
        if not rule.patience:
            return None
        return max(rule.patience - self._since_best, 0)

    def cap_reached(self, stage: str, epochs: int) -> None:
        self.stop_reason = (f"{stage}: reached the cap of {epochs} epochs "
                            f"(best at epoch {self.best_epoch})")


def estimate_text(seconds_per_epoch: float, modules: int, epochs_left: int) -> str:
    """One line: speed now and the longest the rest of the run can take."""
    rate = modules / seconds_per_epoch if seconds_per_epoch > 0 else float("inf")
    worst = seconds_per_epoch * epochs_left
    return (f"{seconds_per_epoch:.1f} s per epoch ({rate:,.0f} modules/s); at most {epochs_left} more epochs, "
            f"{_duration(worst)} (early stopping usually ends sooner)")


def _duration(s: float) -> str:
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


def run_eta(seconds_per_epoch: float, left_if_flat: int, left_at_most: int) -> str:
    """The whole run's remaining time, as a range: the run ends after ``left_if_flat`` more epochs if
    the monitored value stops improving now (early stopping), after ``left_at_most`` if it keeps
    improving until every cap."""
    lo, hi = seconds_per_epoch * left_if_flat, seconds_per_epoch * left_at_most
    if left_at_most == 0:
        return "run ETA: done"
    if left_if_flat == left_at_most:
        return f"run ETA: {_duration(hi)} ({left_at_most} epoch{'s' if left_at_most != 1 else ''})"
    return (f"run ETA: {_duration(lo)} if it stops improving now, at most {_duration(hi)} "
            f"({left_if_flat}-{left_at_most} epochs)")

