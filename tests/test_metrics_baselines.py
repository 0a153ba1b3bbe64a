"""The non-ML baselines on hand-made modules."""

import numpy as np
import pytest

from encoder import geometry
from encoder.metrics import baselines
from encoder.metrics.charge_code import TC_CODE, ChargeCoding

GEOM = geometry.load("hgcal")


def module(values):
    v = np.zeros(48)
    for cell, q in values.items():
        v[cell] = q
    return v[None, :]


def test_best_choice_with_one_cell_keeps_the_maximum():
    x = module({3: 2.0, 17: 9.5, 40: 9.0})
    r = baselines.best_choice(x, n_keep=1, coding=None)
    assert np.array_equal(r.reconstructed, module({17: 9.5}))
    assert r.bits[0] == 4 + 8 + 6 + 7


def test_best_choice_breaks_ties_by_lowest_cell_and_uses_the_elink_table():
    x = module({5: 3.0, 2: 3.0, 30: 1.0})
    r = baselines.best_choice(x, n_keep=1, coding=None)
    assert np.flatnonzero(r.reconstructed[0]).tolist() == [2]
    rng = np.random.default_rng(0)
    dense = rng.permutation(48)[None, :] + 1.0
    r5 = baselines.best_choice(dense, n_elinks=5, coding=None)
    assert r5.sent.sum() == 14
    assert np.all(r5.reconstructed[0][r5.sent[0]] >= 35) and r5.reconstructed[0].max() == 48
    assert r5.bits[0] == 4 + 8 + 48 + 14 * 7


def test_best_choice_sends_coded_charges():
    coding = ChargeCoding(counts_per_mip=35.0)
    x = module({9: 10.0, 11: 0.2})
    r = baselines.best_choice(x, n_keep=1, coding=coding)
    assert r.reconstructed[0, 9] == TC_CODE.roundtrip(np.array([350]))[0] / 35.0
    assert abs(r.reconstructed[0, 9] - 10.0) <= 10.0 / 16


def test_stc_sums_equal_group_sums_on_the_largest_cell():
    x = module({0: 1.0, 1: 4.0, 4: 2.0, 5: 0.5, 10: 3.0, 47: 6.0, 46: 6.0})
    r = baselines.super_trigger_cells(x, kind="stc4", coding=None)
    assert r.reconstructed[0, 1] == 7.5                 # group (0, 1, 4, 5)
    assert r.reconstructed[0, 10] == 3.0                # group (10, 11, 14, 15)
    assert r.reconstructed[0, 46] == 12.0               # tie 46/47 goes to the lower cell
    assert r.reconstructed.sum() == x.sum()
    for cells in GEOM.stc4_groups:
        assert r.reconstructed[0, list(cells)].sum() == x[0, list(cells)].sum()
    assert r.bits[0] == 4 + 12 * (7 + 2)


def test_stc16_puts_each_sector_sum_on_its_largest_cell():
    x = module({0: 1.0, 9: 2.0, 20: 5.0, 33: 0.5, 34: 0.25})
    r = baselines.super_trigger_cells(x, kind="stc16", coding=None)
    assert np.array_equal(r.reconstructed, module({9: 3.0, 20: 5.0, 33: 0.75}))
    assert r.bits[0] == 4 + 3 * (7 + 4)


def test_threshold_drops_cells_at_or_below_the_level():
    x = module({0: 1.0, 1: 1.35, 2: 1.5, 3: 2.0, 4: 3.0})
    low = baselines.threshold(x, level="low", coding=None)
    high = baselines.threshold(x, level="high", coding=None)
    assert np.flatnonzero(low.reconstructed[0]).tolist() == [2, 3, 4]
    assert np.flatnonzero(high.reconstructed[0]).tolist() == [4]
    assert low.bits[0] == 4 + 8 + 1 + 3 + 3 * 6 + 3 * 7
    assert high.bits[0] == 4 + 8 + 1 + 3 + 6 + 7


def test_threshold_word_switches_to_the_map_above_seven_cells():
    x = np.full((1, 48), 5.0)
    r = baselines.threshold(x, level=1.35, coding=None)
    assert r.bits[0] == 4 + 8 + 1 + 48 + 48 * 7
    assert np.array_equal(r.reconstructed, x)


def test_run_all_gives_every_baseline_on_the_same_modules():
    rng = np.random.default_rng(1)
    x = rng.exponential(2.0, (10, 48))
    res = baselines.run_all(x, n_elinks=3)
    assert set(res) == {"threshold_low", "threshold_high", "stc4", "stc16", "best_choice_6"}
    for r in res.values():
        assert r.reconstructed.shape == (10, 48) and r.bits.shape == (10,)
        assert np.all(r.reconstructed[~r.sent] == 0)
    assert not res["threshold_low"].fixed_size or len(set(res["threshold_low"].bits)) == 1
    assert res["stc4"].fixed_size and res["best_choice_6"].fixed_size


def test_square_geometry_baselines():
    sq = geometry.load("square8")
    x = np.arange(64, dtype=float)[None, :]
    r = baselines.super_trigger_cells(x, sq, "stc16", coding=None)
    assert r.reconstructed[0].sum() == x.sum() and r.sent.sum() == 4
    assert r.bits[0] == 4 + 4 * (7 + 4)


@pytest.mark.parametrize("call", [
    lambda x: baselines.threshold(x),
    lambda x: baselines.best_choice(x, n_keep=3),
    lambda x: baselines.super_trigger_cells(x),
])
def test_baselines_reject_negative_charges_naming_the_row(call):
    x = np.ones((2, 48))
    x[1, 8] = -2.0
    with pytest.raises(ValueError, match="row 1, cell 8"):
        call(x)


def test_best_choice_needs_one_size():
    with pytest.raises(ValueError, match="exactly one"):
        baselines.best_choice(np.ones((1, 48)), n_elinks=3, n_keep=3)
    with pytest.raises(ValueError, match="e-links"):
        baselines.best_choice(np.ones((1, 48)), n_elinks=14)
