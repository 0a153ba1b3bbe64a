"""Module symmetries: isometries of the cells, a group, complete, and safe
for augmentation.

Completeness is checked against an independent search: a backtracking
enumeration of every permutation of the cells that preserves the full
distance matrix. For a planar point set such permutations are exactly the
isometries of the set, so the two must agree.
"""

import dataclasses
import math

import numpy as np
import pytest

from encoder import geometry
from encoder.geometry.symmetry import apply, augment, symmetries
from encoder.metrics import emd

HGCAL = geometry.load("hgcal")
SQUARE = geometry.load("square8")
BOTH = pytest.mark.parametrize("geom", [HGCAL, SQUARE], ids=["hgcal", "square8"])


def _distance_tol(g):
    return 1e-3 * g.pitch_cm / g.distance_unit_cm


def _distance_preserving_permutations(d, tol):
    n = len(d)
    # A distance-preserving map keeps each cell's multiset of distances.
    profile = np.sort(d, axis=1)
    options = [np.flatnonzero(np.all(np.abs(profile - profile[i]) <= tol, axis=1)) for i in range(n)]
    found, perm, used = [], np.full(n, -1), np.zeros(n, bool)

    def place(i):
        if i == n:
            found.append(tuple(perm.tolist()))
            return
        for j in options[i]:
            if not used[j] and np.all(np.abs(d[i, :i] - d[j, perm[:i]]) <= tol):
                perm[i], used[j] = j, True
                place(i + 1)
                used[j] = False
        perm[i] = -1

    place(0)
    return set(found)


def _orientation_preserved(g, perm):
    # Signed area of a non-degenerate triangle of cells keeps its sign under
    # rotations and flips it under reflections.
    def area(p):
        (x0, y0), (x1, y1), (x2, y2) = p
        return (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
    tri = [0, 1, int(np.argmax(np.abs([area(g.xy_cm[[0, 1, k]]) for k in range(g.n_cells)])))]
    return area(g.xy_cm[tri]) * area(g.xy_cm[perm[tri]]) > 0


def _order(perm):
    p, k = perm.copy(), 1
    while not np.array_equal(p, np.arange(len(perm))):
        p, k = perm[p], k + 1
    return k


# ---------------------------------------------------------------- the group

@BOTH
def test_every_symmetry_preserves_the_full_distance_matrix(geom):
    d = geom.distance_matrix
    for perm in symmetries(geom):
        np.testing.assert_allclose(d[np.ix_(perm, perm)], d, atol=_distance_tol(geom))


@BOTH
def test_symmetries_form_a_group_with_the_identity_first(geom):
    perms = symmetries(geom)
    members = {tuple(p) for p in perms.tolist()}
    assert len(members) == len(perms)
    np.testing.assert_array_equal(perms[0], np.arange(geom.n_cells))
    for a in perms:
        assert tuple(np.argsort(a).tolist()) in members                 # inverse
        for b in perms:
            assert tuple(a[b].tolist()) in members                      # composition


@BOTH
def test_symmetries_are_all_the_distance_preserving_permutations(geom):
    found = _distance_preserving_permutations(geom.distance_matrix, _distance_tol(geom))
    assert {tuple(p) for p in symmetries(geom).tolist()} == found


def test_square8_has_the_eight_symmetries_of_the_square_d4():
    perms = symmetries(SQUARE)
    assert perms.shape == (8, 64)
    assert sorted(_order(p) for p in perms) == [1, 2, 2, 2, 2, 2, 4, 4]
    assert sum(_orientation_preserved(SQUARE, p) for p in perms) == 4   # 4 rotations, 4 mirrors
    corners = {0, 7, 56, 63}
    for p in perms:
        assert set(p[list(corners)].tolist()) == corners


def test_hgcal_has_only_the_three_rotations_of_c3_and_no_mirror():
    perms = symmetries(HGCAL)
    assert perms.shape == (3, 48)
    assert [_order(p) for p in perms] == [1, 3, 3]
    assert all(_orientation_preserved(HGCAL, p) for p in perms)
    # Each rotation cycles the three sectors.
    images = [[int(HGCAL.sector[p[HGCAL.sector == s][0]]) for s in range(3)] for p in perms[1:]]
    assert sorted(images) == [[1, 2, 0], [2, 0, 1]]


@BOTH
def test_sectors_map_onto_whole_sectors(geom):
    for perm in symmetries(geom):
        for s in range(geom.n_sectors):
            image = geom.sector[perm[geom.sector == s]]
            assert np.all(image == image[0]), (perm, s)


@pytest.mark.parametrize("m, expected", [(3, 6), (4, 8), (6, 12), (7, 14), (16, 32)])
def test_a_regular_polygon_gets_its_dihedral_group_even_beyond_12_sides(m, expected):
    t = 2 * np.pi * np.arange(m) / m + 0.3
    xy = np.stack([5 + 2 * np.cos(t), -1 + 2 * np.sin(t)], axis=1)
    polygon = dataclasses.replace(SQUARE, name=f"polygon{m}", xy_cm=xy, pitch_cm=2 * 2 * math.sin(np.pi / m))
    assert len(symmetries(polygon)) == expected


def test_a_set_without_symmetry_gets_only_the_identity():
    xy = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 1.0], [1.0, 2.5]])
    lonely = dataclasses.replace(SQUARE, name="scalene", xy_cm=xy)
    np.testing.assert_array_equal(symmetries(lonely), [np.arange(4)])


def test_symmetries_are_cached_per_geometry_and_read_only():
    assert symmetries("hgcal") is symmetries(HGCAL)
    with pytest.raises(ValueError):
        symmetries("hgcal")[0, 0] = 5


# ---------------------------------------------------------------- apply / augment

def test_apply_moves_the_charge_of_cell_c_to_cell_perm_c():
    perm = symmetries(HGCAL)[1]
    for c in (0, 17, 47):
        unit = np.zeros(48)
        unit[c] = 1.0
        assert np.flatnonzero(apply(unit, perm)).tolist() == [perm[c]]


@pytest.mark.parametrize("dtype", [np.float32, np.int32])
def test_augment_keeps_module_sum_and_sorted_charges(dtype):
    x = (np.random.default_rng(0).random((500, 48)) * 100).astype(dtype)
    y = augment(x, symmetries(HGCAL), np.random.default_rng(1))
    assert y.dtype == x.dtype and y.shape == x.shape
    # Float sums may differ in the last bit: summation order follows cell order.
    np.testing.assert_allclose(y.sum(axis=1, dtype=np.float64), x.sum(axis=1, dtype=np.float64), rtol=1e-12)
    np.testing.assert_array_equal(np.sort(y, axis=1), np.sort(x, axis=1))


def test_augment_gives_inputs_and_targets_the_same_element_per_row():
    perms = symmetries(SQUARE)
    x = np.random.default_rng(2).random((300, 64))
    xi, xt = augment((x, 2 * x), perms, np.random.default_rng(3))
    np.testing.assert_array_equal(xt, 2 * xi)


@BOTH
def test_augment_is_deterministic_for_a_seed_and_uses_every_element(geom):
    perms = symmetries(geom)
    labels = np.tile(np.arange(geom.n_cells), (2000, 1))
    a = augment(labels, perms, np.random.default_rng(7))
    np.testing.assert_array_equal(a, augment(labels, perms, np.random.default_rng(7)))
    # Augmenting the cell labels writes out, per row, the inverse of the element used.
    used = {tuple(np.argsort(row).tolist()) for row in a}
    assert used == {tuple(p) for p in perms.tolist()}


def test_augment_rejects_arrays_of_the_wrong_shape():
    perms = symmetries(HGCAL)
    with pytest.raises(ValueError):
        augment(np.zeros((4, 64)), perms, np.random.default_rng(0))
    with pytest.raises(ValueError):
        augment((np.zeros((4, 48)), np.zeros((5, 48))), perms, np.random.default_rng(0))


@BOTH
def test_emd_is_unchanged_when_inputs_and_outputs_get_the_same_symmetry(geom):
    rng = np.random.default_rng(11)
    x = rng.random((40, geom.n_cells)) * (rng.random((40, geom.n_cells)) < 0.3)
    y = rng.random((40, geom.n_cells)) * (rng.random((40, geom.n_cells)) < 0.3)
    x[:, 0] += 1.0                      # no empty modules: EMD codes -1 / -0.5 are not distances
    y[:, 1] += 1.0
    base = emd(x, y, geom)
    for perm in symmetries(geom)[1:]:
        np.testing.assert_allclose(emd(apply(x, perm), apply(y, perm), geom), base, rtol=1e-6, atol=1e-9)
