"""MSE, centroid shift, sum ratio, occupancy and binned tables by hand."""

import numpy as np
import pytest

from encoder import geometry
from encoder.metrics import quality

GEOM = geometry.load("hgcal")


def unit(cell, scale=1.0):
    v = np.zeros(48)
    v[cell] = scale
    return v


def test_mse_compares_unit_sum_vectors():
    a = np.stack([unit(0), unit(0), 2 * unit(3) + 2 * unit(4)])
    b = np.stack([5 * unit(0), unit(1), unit(3)])
    # row 2: (0.5, 0.5) against (1, 0) -> (0.25 + 0.25) / 48
    assert np.allclose(quality.mse(a, b), [0.0, 2 / 48, 0.5 / 48])
    assert np.isnan(quality.mse(np.zeros((1, 48)), unit(0)[None])[0])


def test_centroid_shift_is_the_distance_the_charge_moved():
    pitch = np.linalg.norm(GEOM.xy_cm[0] - GEOM.xy_cm[1])
    assert quality.centroid_shift_cm(unit(0)[None], unit(1, 9.0)[None])[0] == pytest.approx(pitch)
    half = unit(0) + unit(1)
    assert quality.centroid_shift_cm(half[None], unit(0)[None])[0] == pytest.approx(pitch / 2)
    far = np.linalg.norm(GEOM.xy_cm[3] - GEOM.xy_cm[44])
    assert quality.centroid_shift_cm(unit(3)[None], unit(44)[None])[0] == pytest.approx(far)


def test_sum_ratio_is_output_over_input():
    a = np.stack([unit(0, 4.0), np.zeros(48)])
    b = np.stack([unit(5, 3.0), unit(5)])
    r = quality.sum_ratio(a, b)
    assert r[0] == 0.75 and np.isnan(r[1])


def test_occupancy_counts_cells_strictly_above_threshold():
    x = np.array([[0.5, 1.0, 1.01, 7.0] + [0.0] * 44])
    assert quality.occupancy(x)[0] == 2
    assert quality.occupancy(x, threshold_mip=0.4)[0] == 4


def test_binned_table_by_hand():
    values = [1.0, 3.0, 2.0, 10.0, np.nan, 5.0, 4.0]
    by = [0.0, 0.5, 1.0, 1.5, 1.0, 2.0, 9.0]
    t = quality.binned(values, by, [0, 1, 2])
    assert list(t["count"]) == [2, 3]                  # 2.0 lands in the last bin, closed on the right
    assert t["mean"][0] == 2.0 and t["median"][0] == 2.0
    assert t["mean"][1] == pytest.approx(17 / 3) and t["median"][1] == 5.0
    assert t["n_invalid"] == 1 and t["n_outside"] == 1
    empty = quality.binned([1.0], [0.5], [0, 1, 2])
    assert np.isnan(empty["mean"][1]) and empty["count"][1] == 0


def test_binned_rejects_bad_edges():
    with pytest.raises(ValueError, match="increasing"):
        quality.binned([1.0], [1.0], [2, 1])


def test_emd_tables_leave_out_empty_module_codes():
    emd = np.array([1.0, 2.0, -1.0, -0.5, 3.0])
    charges = np.zeros((5, 48))
    charges[:, :3] = [[2, 0, 0], [2, 2, 0], [0, 0, 0], [3, 0, 0], [2, 2, 2]]
    t = quality.emd_vs_occupancy(emd, charges, edges=[0, 1, 2, 3, 4])
    assert list(t["count"]) == [0, 1, 1, 1]          # the -0.5 module (occupancy 1) is left out
    assert list(t["mean"][1:]) == [1.0, 2.0, 3.0]
    s = quality.emd_summary(emd)
    assert s == {"modules": 5, "count": 3, "mean": 2.0, "median": 2.0, "n_input_empty": 1, "n_output_empty": 1}


def test_emd_vs_energy_quantile_bins_hold_every_valid_module():
    rng = np.random.default_rng(3)
    emd = rng.random(200)
    emd[:5] = -1.0
    energy = rng.exponential(10.0, 200)
    t = quality.emd_vs_energy(emd, energy, n_bins=4)
    assert t["count"].sum() == 195
    assert np.all(np.abs(t["count"] - 195 / 4) <= 2)
