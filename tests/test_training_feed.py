"""The modules of each training epoch: order, symmetry augmentation, fresh synthetic modules."""

import numpy as np

from encoder import geometry
from encoder.data.synth import synthesize
from encoder.training.config import load_config
from encoder.training.feed import Feed
from encoder.training.inputs import model_inputs

from pathlib import Path

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "econt_8x8.yaml"


def cells(n=400, seed=3):
    cfg = load_config(CONFIG)
    prepared = model_inputs(cfg, synthesize(n, seed, geometry.load("hgcal")).charges)
    return cfg, prepared.cells


def test_each_epoch_is_a_seeded_new_order_of_the_same_modules():
    cfg, c = cells()
    feed = Feed(cfg, c, seed=5)
    x1, y1 = feed.epoch(1)
    x2, y2 = feed.epoch(2)
    assert not np.array_equal(y1, y2)
    key = lambda a: np.sort(a.round(6).view([("", a.dtype)] * a.shape[1]).ravel())  # noqa: E731
    assert np.array_equal(key(y1), key(c)) and np.array_equal(key(y2), key(c))
    again = Feed(cfg, c, seed=5).epoch(2)
    assert np.array_equal(again[0], x2) and np.array_equal(again[1], y2)
    arr = geometry.load("hgcal").arrangement("8x8")
    np.testing.assert_array_equal(arr.to_cells(x1), y1)          # image and target stay paired


def test_augmentation_rotates_modules_onto_the_sensor_and_keeps_their_charges():
    cfg, c = cells()
    geo = geometry.load("hgcal")
    plain = Feed(cfg, c, seed=5).epoch(1)[1]
    rotated = Feed(cfg, c, seed=5, augment=True).epoch(1)[1]
    np.testing.assert_allclose(np.sort(rotated, axis=1), np.sort(plain, axis=1))
    np.testing.assert_allclose(rotated.sum(1), plain.sum(1), rtol=1e-5)
    moved = np.flatnonzero(np.any(rotated != plain, axis=1))
    assert len(moved) > len(c) // 2                               # two thirds get a real rotation
    # each row is one of the group's images of the unaugmented row
    perms = Feed(cfg, c, seed=5, augment=True).perms
    for i in moved[:20]:
        options = [np.zeros(48, np.float32) for _ in perms]
        for k, p in enumerate(perms):
            options[k][p] = plain[i]
        assert any(np.array_equal(o, rotated[i]) for o in options)
    assert geo.n_cells == 48


def test_streaming_adds_fresh_synthetic_modules_every_epoch():
    cfg, c = cells(200)
    feed = Feed(cfg, c, seed=1, stream_modules=300)
    y1, y2 = feed.epoch(1)[1], feed.epoch(2)[1]
    assert len(y1) == len(y2) == 500 == feed.modules_per_epoch
    fresh1, fresh2 = feed.fresh_cells(1), feed.fresh_cells(2)
    assert len(fresh1) == 300 and not np.array_equal(fresh1, fresh2)
    np.testing.assert_array_equal(fresh1, Feed(cfg, c, seed=1, stream_modules=300).fresh_cells(1))
    assert np.all(fresh1.sum(1) >= 1.0) and np.all(fresh1.sum(1) < 2.0)   # normalised as the chip does
