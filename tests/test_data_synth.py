"""The synthetic shower generator: determinism, physics, occupancy targets."""

import math

import numpy as np
import pytest

from encoder import geometry
from encoder.data.cell_lookup import CellLookup, polygon_area
from encoder.data.summary import occupancy
from encoder.data.synth import (MIP_PER_GEV, TRUTH_KEYS, ShowerModel, layer_fraction,
                                pileup_density, synthesize)

HGCAL = geometry.load("hgcal")
SQUARE = geometry.load("square8")


@pytest.fixture(scope="module")
def default_20k():
    return synthesize(20_000, seed=11, geometry=HGCAL)


# ---------------------------------------------------------------- determinism

def test_same_seed_gives_identical_data_and_truth():
    a = synthesize(3000, seed=5, geometry=HGCAL)
    b = synthesize(3000, seed=5, geometry=HGCAL)
    np.testing.assert_array_equal(a.charges, b.charges)
    for k in TRUTH_KEYS:
        np.testing.assert_array_equal(a.truth[k], b.truth[k])


def test_different_seeds_give_different_data():
    a = synthesize(500, seed=1, geometry=HGCAL)
    b = synthesize(500, seed=2, geometry=HGCAL)
    assert not np.array_equal(a.charges, b.charges)


def test_a_shorter_run_is_a_prefix_of_a_longer_one():
    # chunks have a fixed size and their own seeded streams
    short = synthesize(1000, seed=3, geometry=HGCAL)
    long = synthesize(40_000, seed=3, geometry=HGCAL)
    np.testing.assert_array_equal(short.charges, long.charges[:1000])


# ---------------------------------------------------------------- default data set

def test_default_occupancy_matches_ttbar_at_200_pileup(default_20k):
    # CMS ttbar, 200 pileup, shower max: median 3, mean 4.4 cells above 1 MIP
    occ = occupancy(default_20k.charges)
    assert 2 <= np.median(occ) <= 4
    assert 3.5 <= occ.mean() <= 5.5


def test_default_data_has_no_all_zero_module_and_valid_charges(default_20k):
    q = default_20k.charges
    assert q.shape == (20_000, 48) and q.dtype == np.float64
    assert np.all(np.isfinite(q)) and q.min() >= 0
    assert q.any(axis=1).all()
    assert default_20k.geometry == "hgcal"


def test_truth_arrays_are_present_one_value_per_module(default_20k):
    assert set(default_20k.truth) == set(TRUTH_KEYS)
    for k in TRUTH_KEYS:
        assert default_20k.truth[k].shape == (20_000,)
        assert np.all(np.isfinite(default_20k.truth[k]))


def test_truth_is_consistent_with_the_charges(default_20k):
    t = default_20k.truth
    q = default_20k.charges
    eta = t["eta"]
    assert eta.min() >= 1.6 and eta.max() <= 2.9
    np.testing.assert_allclose(t["signal_energy_gev"], t["signal_et_gev"] * np.cosh(eta))
    assert t["signal_showers"].min() >= 1
    # charges = deposits + noise - zero suppression: the module sum follows the deposits
    deposits = t["signal_mip"] + t["pileup_mip"]
    sums = q.sum(axis=1)
    big = deposits > 20
    np.testing.assert_allclose(sums[big], deposits[big], rtol=0.15)
    # the module sum grows with the signal energy (means of energy quartiles increase)
    edges = np.percentile(t["signal_et_gev"], [0, 25, 50, 75, 100])
    means = [sums[(t["signal_et_gev"] >= lo) & (t["signal_et_gev"] <= hi)].mean()
             for lo, hi in zip(edges[:-1], edges[1:])]
    assert all(b > a for a, b in zip(means, means[1:]))
    # impact points range over the module plus the margin
    lo = HGCAL.outline_cm.reshape(-1, 2).min(axis=0) - ShowerModel().impact_margin_cm
    hi = HGCAL.outline_cm.reshape(-1, 2).max(axis=0) + ShowerModel().impact_margin_cm
    assert np.all(t["impact_x_cm"] >= lo[0]) and np.all(t["impact_x_cm"] <= hi[0])
    assert np.all(t["impact_y_cm"] >= lo[1]) and np.all(t["impact_y_cm"] <= hi[1])


# ---------------------------------------------------------------- physics

def _clean(**kw):
    """One shower per module, no pileup, no noise: charges are the shower alone."""
    base = dict(pileup_mu=0.0, noise_mip=0.0, zero_suppression_mip=0.0, signal_showers_mean=1.0)
    base.update(kw)
    return ShowerModel(**base)


def test_contained_shower_deposits_layer_fraction_times_energy_in_mips():
    # Hand number: E_layer = f_9 * E, spots of 0.0625 GeV, 100 MIP/GeV, transverse / cosh(eta);
    # for showers whose impact is > 4 r0 from every edge, the expected module sum is
    # f_9 * E_T * 100 MIP (cosh cancels). Averaged over modules to beat the Poisson noise.
    model = _clean(signal_et_min_gev=5.0, signal_et_max_gev=5.0 * (1 + 1e-9), impact_margin_cm=0.0)
    d = synthesize(4000, seed=9, geometry=HGCAL, model=model)
    ix, iy = d.truth["impact_x_cm"], d.truth["impact_y_cm"]
    # centre of the hexagon and its inscribed radius (4 pitches * sqrt(3)/2)
    centre = HGCAL.xy_cm.mean(axis=0)
    r_in = 4 * HGCAL.pitch_cm * math.sqrt(3) / 2
    deep = np.hypot(ix - centre[0], iy - centre[1]) < r_in - 4 * model.r0_cm
    assert deep.sum() > 100
    expected = layer_fraction(9) * 5.0 * MIP_PER_GEV
    assert layer_fraction(9) == pytest.approx(477.7 / 6598.4)
    mean = d.charges[deep].sum(axis=1).mean()
    # spots beyond 4 r0 (radius ~ Exponential(r0)): e^-4 = 1.8 % at most are lost;
    # ~800 modules of ~26 spots: Poisson spread of the mean about 0.7 %
    assert expected * 0.96 < mean < expected * 1.03
    np.testing.assert_allclose(d.truth["signal_mip"][deep], d.charges[deep].sum(axis=1))


def test_shower_centroid_sits_at_the_impact_point():
    model = _clean(signal_et_min_gev=20.0, signal_et_max_gev=20.0 * (1 + 1e-9), impact_margin_cm=0.0)
    d = synthesize(2000, seed=4, geometry=HGCAL, model=model)
    w = d.charges / d.charges.sum(axis=1, keepdims=True)
    cx, cy = w @ HGCAL.xy_cm[:, 0], w @ HGCAL.xy_cm[:, 1]
    centre = HGCAL.xy_cm.mean(axis=0)
    deep = np.hypot(d.truth["impact_x_cm"] - centre[0], d.truth["impact_y_cm"] - centre[1]) < 5.0
    dist = np.hypot(cx - d.truth["impact_x_cm"], cy - d.truth["impact_y_cm"])[deep]
    # the cell-centre centroid is off by at most about half a cell
    assert np.median(dist) < 0.6 * HGCAL.pitch_cm


def test_narrow_showers_concentrate_in_fewer_cells_than_wide_ones():
    kw = dict(signal_et_min_gev=10.0, signal_et_max_gev=10.0 * (1 + 1e-9))
    narrow = synthesize(2000, seed=2, geometry=HGCAL, model=_clean(r0_cm=0.5, **kw))
    wide = synthesize(2000, seed=2, geometry=HGCAL, model=_clean(r0_cm=3.0, **kw))
    frac_n = (narrow.charges.max(axis=1) / narrow.charges.sum(axis=1)).mean()
    frac_w = (wide.charges.max(axis=1) / wide.charges.sum(axis=1)).mean()
    assert frac_n > frac_w + 0.2


def test_without_pileup_there_is_no_pileup_deposit_and_less_occupancy():
    no_pu = synthesize(3000, seed=8, geometry=HGCAL, model=ShowerModel(pileup_mu=0.0))
    pu = synthesize(3000, seed=8, geometry=HGCAL, model=ShowerModel(pileup_mu=200.0))
    assert no_pu.truth["pileup_mip"].max() == 0 and no_pu.truth["pileup_count"].max() == 0
    assert pu.truth["pileup_mip"].mean() > 1
    assert occupancy(pu.charges).mean() > occupancy(no_pu.charges).mean()


def test_pileup_density_grows_with_eta_like_sinh2_tanh():
    assert pileup_density(np.array([2.2]))[0] == pytest.approx(1.0)
    ratio = pileup_density(np.array([2.9]))[0] / pileup_density(np.array([1.6]))[0]
    hand = (math.sinh(2.9) ** 2 * math.tanh(2.9)) / (math.sinh(1.6) ** 2 * math.tanh(1.6))
    assert ratio == pytest.approx(hand)


def test_zero_suppression_removes_noise_below_threshold():
    model = ShowerModel(pileup_mu=0.0, noise_mip=0.25, zero_suppression_mip=0.5)
    d = synthesize(2000, seed=1, geometry=HGCAL, model=model)
    raw = d.charges * np.cosh(d.truth["eta"])[:, None]
    nz = raw[raw > 0]
    assert nz.min() >= 0.5


# ---------------------------------------------------------------- other geometries

def test_square8_geometry_works():
    d = synthesize(2000, seed=3, geometry=SQUARE)
    assert d.charges.shape == (2000, 64) and d.geometry == "square8"
    assert d.charges.any(axis=1).all()
    assert occupancy(d.charges).mean() > 1
    assert set(d.truth) == set(TRUTH_KEYS)


def test_cell_lookup_maps_cell_centres_to_their_cells_and_outside_to_minus_one():
    for g in (HGCAL, SQUARE):
        lk = CellLookup.for_geometry(g)
        np.testing.assert_array_equal(lk.cell_of(g.xy_cm[:, 0], g.xy_cm[:, 1]), np.arange(g.n_cells))
        far = lk.cell_of(np.array([1e3, -1e3, g.xy_cm[:, 0].mean()]), np.array([0.0, 0.0, 1e3]))
        assert far.tolist() == [-1, -1, -1]
        # each cell's raster area matches its polygon area
        areas = np.bincount(lk.table[lk.table >= 0].astype(int), minlength=g.n_cells) * lk.step**2
        np.testing.assert_allclose(areas, polygon_area(g.outline_cm), rtol=0.03)


# ---------------------------------------------------------------- parameters

@pytest.mark.parametrize("kw", [
    dict(r0_cm=0.0), dict(spot_energy_gev=-1.0), dict(pileup_mu=-1.0), dict(layer=0),
    dict(layer=29), dict(signal_et_index=1.0), dict(signal_showers_mean=0.5),
    dict(pileup_charged_fraction=1.5), dict(eta_min=3.0, eta_max=2.0),
])
def test_bad_model_parameters_are_refused(kw):
    with pytest.raises(ValueError):
        ShowerModel(**kw)


def test_negative_module_count_is_refused():
    with pytest.raises(ValueError):
        synthesize(-1, seed=0, geometry=HGCAL)
