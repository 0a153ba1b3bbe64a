"""Learning-rate plateaus, early stopping and the kept epoch, without TensorFlow."""

from encoder.training.schedule import Plateau, Schedule, estimate_text


def run(values, rule, stage="main", start=1, s=None):
    s = s or Schedule()
    s.start_stage()
    lr, log = 1e-3, []
    for i, v in enumerate(values):
        improved, new_lr, stop = s.update(start + i, stage, v, lr, rule, "val_emd")
        log.append((improved, new_lr, stop))
        if new_lr:
            lr = new_lr
        if stop:
            break
    return s, log


def test_stops_after_patience_epochs_without_improvement_and_keeps_the_best():
    s, log = run([3.0, 2.0, 2.5, 2.1, 2.2, 1.0], Plateau(patience=3, lr_patience=0))
    assert [x[0] for x in log] == [True, True, False, False, False]
    assert log[-1][2] and len(log) == 5                # stopped before seeing 1.0
    assert (s.best_epoch, s.best_value) == (2, 2.0)
    assert "not better for 3 epochs" in s.stop_reason and "epoch 2" in s.stop_reason


def test_learning_rate_halves_on_each_plateau_down_to_the_floor():
    s, log = run([1.0] + [1.0] * 8, Plateau(patience=0, lr_patience=2, lr_factor=0.5, min_lr=3e-4))
    lrs = [x[1] for x in log if x[1]]
    assert lrs == [5e-4, 3e-4]                          # 1e-3 -> 5e-4 -> floor
    assert not any(x[2] for x in log)                  # patience 0: never stops early
    assert set(s.events) == {3, 5}


def test_a_change_smaller_than_min_delta_is_no_improvement():
    s, log = run([1.0, 0.99995, 0.5], Plateau(patience=5, lr_patience=0, min_delta=1e-4))
    assert [x[0] for x in log] == [True, False, True]


def test_best_epoch_spans_stages_and_the_cap_is_reported():
    rule = Plateau(patience=2, lr_patience=0)
    s, _ = run([2.0, 1.5], rule)
    s.cap_reached("main", 2)
    assert "cap of 2 epochs" in s.stop_reason
    s, _ = run([1.6, 1.2, 1.3, 1.4], rule, stage="finetune", start=3, s=s)
    assert (s.best_epoch, s.best_stage) == (4, "finetune")
    s, _ = run([1.6, 1.7], Plateau(patience=2, lr_patience=0), stage="finetune", start=3,
               s=run([2.0, 1.5], rule)[0])
    assert (s.best_epoch, s.best_stage) == (2, "main")  # a worse second stage keeps the first's epoch


def test_nan_is_never_an_improvement():
    s, log = run([float("nan"), 1.0], Plateau(patience=3, lr_patience=0))
    assert [x[0] for x in log] == [False, True]


def test_estimate_names_speed_and_worst_case_time():
    text = estimate_text(2.0, 80000, 300)
    assert "40,000 modules/s" in text and "10.0 min" in text
