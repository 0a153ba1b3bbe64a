"""Progress that tells the truth: the sim bar's phases and its end, the training run's estimate."""

import threading
import time

from encoder.verif.runner import _poll_progress


class FakeBar:
    def __init__(self):
        self.n, self.phases, self.closed = 0, [], False

    def set_description(self, text):
        self.phases.append(text)

    def update(self, k):
        self.n += k

    def close(self):
        self.closed = True


def test_sim_bar_names_the_weight_load_then_vectors_and_ends_at_the_total(tmp_path):
    shards = [tmp_path / "00", tmp_path / "01"]
    for d in shards:
        d.mkdir()
    bar, done = FakeBar(), threading.Event()
    t = threading.Thread(target=_poll_progress, args=(shards, 100, done, True, "reset + weight load", bar))
    t.start()
    time.sleep(0.7)
    assert bar.n == 0 and bar.phases == []                 # still loading: no shard has started its vectors
    (shards[0] / "progress").write_text("0")
    time.sleep(0.7)
    assert bar.phases == []                                # one shard still loading its weights
    (shards[1] / "progress").write_text("10")
    deadline = time.monotonic() + 10                       # a loaded machine may delay the poller
    while bar.n != 10 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert bar.phases == ["sim: vectors"] and bar.n == 10
    # Both shards finish and the run ends within the same poll interval: the last counts still land.
    (shards[0] / "progress").write_text("50")
    (shards[1] / "progress").write_text("50")
    done.set()
    t.join(5)
    assert bar.n == 100 and bar.closed


def test_run_eta_is_a_range_from_early_stopping_to_the_caps():
    from encoder.training.schedule import Plateau, Schedule, run_eta
    s, rule = Schedule(), Plateau(patience=3, lr_patience=0)
    s.update(1, "main", 1.0, 1e-3, rule, "val_emd")          # improved: 3 flat epochs to the stop
    assert s.epochs_until_stop(rule) == 3
    s.update(2, "main", 1.0, 1e-3, rule, "val_emd")          # flat
    assert s.epochs_until_stop(rule) == 2
    assert Schedule().epochs_until_stop(Plateau(patience=0, lr_patience=0)) is None
    # 10 s per epoch: 2 epochs if it stays flat, 38 if it improves until the cap
    assert run_eta(10.0, 2, 38) == "run ETA: 20 s if it stops improving now, at most 6.3 min (2-38 epochs)"
    assert run_eta(10.0, 5, 5) == "run ETA: 50 s (5 epochs)"
    assert run_eta(10.0, 1, 1) == "run ETA: 10 s (1 epoch)"
    assert run_eta(10.0, 0, 0) == "run ETA: done"


def test_eta_counts_the_later_stages(monkeypatch):
    from encoder.training.schedule import Plateau, Schedule
    from encoder.training.train import _eta, _Stage
    main, fine = _Stage("main", "sinkhorn", 40, 3e-3, 5), _Stage("finetune", "mse", 10, 1e-4, 4)
    s, rule = Schedule(), Plateau(patience=5, lr_patience=0)
    s.update(1, "main", 1.0, 1e-3, rule, "val_emd")
    # after epoch 2 of 40 (k=1), best just now: flat -> 5 more + finetune's patience 4 = 9; at most
    # 38 + 10 = 48. Speed: the first epoch (graph tracing, 30 s) is left out once a second one exists.
    text = _eta([30.0, 2.0], s, rule, [main, fine], main, 1, False)
    assert text == "run ETA: 18 s if it stops improving now, at most 1.6 min (9-48 epochs)"
    # stopped early in main: only finetune is left
    assert _eta([30.0, 2.0], s, rule, [main, fine], main, 1, True).endswith("(4-10 epochs)")
    assert "from epoch 2 on" in _eta([30.0], s, rule, [main, fine], main, 0, False)
