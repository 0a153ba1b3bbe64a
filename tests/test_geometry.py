"""Geometry facts: arrangements, sectors, distances and cell outlines.

References are hand geometry: the HGCAL module is a hexagon of three
rhombic 4x4 sectors with 60-degree rhombi of side equal to the trigger-cell
pitch p; the EMD distance unit is p / 2.
"""

import math

import numpy as np
import pytest

from encoder import geometry

HGCAL = geometry.load("hgcal")
SQUARE = geometry.load("square8")


def _random_cells(g, n=5, seed=0):
    return np.random.default_rng(seed).random((n, g.n_cells))


# ---------------------------------------------------------------- arrangements

@pytest.mark.parametrize("name", ["8x8", "4x4x3"])
def test_hgcal_arrangement_round_trip_recovers_all_48_cells(name):
    arr = HGCAL.arrangement(name)
    cells = _random_cells(HGCAL)
    image = arr.to_image(cells)
    assert image.shape == (5,) + arr.shape
    np.testing.assert_array_equal(arr.to_cells(image), cells)


@pytest.mark.parametrize("name", ["8x8", "4x4x3"])
def test_hgcal_arrangement_reads_each_cell_back_from_a_pixel_that_holds_it(name):
    arr = HGCAL.arrangement(name)
    assert sorted(arr.cell_to_pixel.tolist()) == sorted(set(arr.cell_to_pixel.tolist()))
    for cell, pixel in enumerate(arr.cell_to_pixel):
        assert arr.pixel_to_cell[pixel] == cell


def test_hgcal_8x8_uses_every_cell_once_and_masks_the_bottom_right_quadrant():
    arr = HGCAL.arrangement("8x8")
    grid = arr.pixel_to_cell.reshape(8, 8)
    assert np.all(grid[4:, 4:] == -1)
    used = grid[grid >= 0]
    assert sorted(used.tolist()) == list(range(48))
    # Each 4x4 quadrant of the image holds one sector.
    for rows, cols in [(slice(0, 4), slice(0, 4)), (slice(0, 4), slice(4, 8)), (slice(4, 8), slice(0, 4))]:
        assert len(set(HGCAL.sector[grid[rows, cols].ravel()].tolist())) == 1
    image = arr.to_image(np.ones((1, 48)))
    assert image[0, 4:, 4:, 0].sum() == 0 and image.sum() == 48


def test_hgcal_4x4x3_puts_one_sector_in_each_channel():
    arr = HGCAL.arrangement("4x4x3")
    grid = arr.pixel_to_cell.reshape(4, 4, 3)
    assert sorted(grid.ravel().tolist()) == list(range(48))
    for ch in range(3):
        assert set(HGCAL.sector[grid[:, :, ch].ravel()].tolist()) == {ch}


def test_unknown_arrangement_names_the_choices():
    with pytest.raises(KeyError, match="4x4x3"):
        HGCAL.arrangement("6x6")


# ---------------------------------------------------------------- sectors

def test_every_hgcal_cell_is_in_exactly_one_of_three_sectors_of_16():
    assert HGCAL.n_cells == 48 and HGCAL.n_sectors == 3
    assert np.bincount(HGCAL.sector).tolist() == [16, 16, 16]
    members = [set(g) for g in HGCAL.stc16_groups]
    assert len(members) == 3
    assert sorted(c for g in members for c in g) == list(range(48))
    for g in members:
        assert len({int(HGCAL.sector[c]) for c in g}) == 1


def test_stc4_groups_tile_the_module_in_2x2_blocks_of_adjacent_cells():
    groups = HGCAL.stc4_groups
    assert len(groups) == 12
    assert sorted(c for g in groups for c in g) == list(range(48))
    d = HGCAL.distance_matrix
    for g in groups:
        # four cells of one sector, all within one lattice step (2 or 2*sqrt(3) units)
        assert len({int(HGCAL.sector[c]) for c in g}) == 1
        sub = d[np.ix_(g, g)]
        assert sub.max() <= 2 * math.sqrt(3) + 1e-4


# ---------------------------------------------------------------- distances

@pytest.mark.parametrize("g", [HGCAL, SQUARE], ids=["hgcal", "square8"])
def test_distance_matrix_is_symmetric_with_zero_diagonal(g):
    d = g.distance_matrix
    assert d.shape == (g.n_cells, g.n_cells)
    np.testing.assert_array_equal(d, d.T)
    np.testing.assert_array_equal(np.diag(d), 0.0)
    assert (d + np.eye(g.n_cells) > 0).all()


def test_distance_unit_is_half_the_pitch():
    assert HGCAL.distance_unit_cm == pytest.approx(HGCAL.pitch_cm / 2)
    assert SQUARE.distance_unit_cm == pytest.approx(SQUARE.pitch_cm / 2)


def test_every_hgcal_cell_has_a_same_sector_neighbour_at_exactly_2_units():
    d = HGCAL.distance_matrix
    for c in range(48):
        same = (HGCAL.sector == HGCAL.sector[c]) & (np.arange(48) != c)
        assert d[c, same].min() == pytest.approx(2.0, abs=1e-5)


def test_hgcal_cells_on_sector_borders_face_a_neighbour_at_sqrt13_over_2_units():
    # Across a sector border the rhombi are rotated by 120 degrees; the centre
    # of the facing cell is offset by (sqrt(3)/2, 1/4) pitches, i.e.
    # sqrt(3/4 + 1/16) = sqrt(13)/4 pitches = sqrt(13)/2 units. No two cells
    # are closer than that, and cells away from the borders have all their
    # nearest neighbours at 2 units.
    d = HGCAL.distance_matrix + np.eye(48) * 1e9
    border = math.sqrt(13) / 2
    nearest = d.min(axis=1)
    assert nearest.min() == pytest.approx(border, abs=1e-5)
    on_border = np.isclose(nearest, border, atol=1e-5)
    assert np.all(on_border | np.isclose(nearest, 2.0, atol=1e-5))
    cross = HGCAL.sector[:, None] != HGCAL.sector[None, :]
    close_pairs = np.argwhere(np.isclose(d, border, atol=1e-5))
    assert all(cross[i, j] for i, j in close_pairs)
    # each of the three borders has 4 facing pairs
    assert len(close_pairs) // 2 == 12
    # same-sector lattice: 6 neighbours at most at 2 units (hexagonal lattice)
    n2 = np.isclose(d, 2.0, atol=1e-5).sum(axis=1)
    assert n2.max() == 6 and n2.min() >= 2


def test_square8_neighbours_are_2_units_apart_with_4_in_the_interior():
    d = SQUARE.distance_matrix + np.eye(64) * 1e9
    np.testing.assert_allclose(d.min(axis=1), 2.0)
    n = np.isclose(d, 2.0).sum(axis=1).reshape(8, 8)
    assert n[1:-1, 1:-1].tolist() == [[4] * 6] * 6
    assert n[0, 0] == 2 and n[0, 3] == 3


# ---------------------------------------------------------------- outlines

def _shoelace(poly):
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def _inside(point, poly):
    """Point strictly inside a convex polygon (either winding)."""
    a, b = poly, np.roll(poly, -1, axis=0)
    cross = (b[:, 0] - a[:, 0]) * (point[1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (point[0] - a[:, 0])
    return bool(np.all(cross > 1e-9) or np.all(cross < -1e-9))


@pytest.mark.parametrize("g", [HGCAL, SQUARE], ids=["hgcal", "square8"])
def test_each_cell_centre_lies_in_its_own_outline_only(g):
    for c in range(g.n_cells):
        hits = [k for k in range(g.n_cells) if _inside(g.xy_cm[c], g.outline_cm[k])]
        assert hits == [c]


def test_hgcal_outlines_are_60_degree_rhombi_of_side_one_pitch():
    p = HGCAL.pitch_cm
    for poly in HGCAL.outline_cm:
        sides = np.linalg.norm(np.roll(poly, -1, axis=0) - poly, axis=1)
        np.testing.assert_allclose(sides, p, rtol=1e-5)
        assert _shoelace(poly) == pytest.approx(p * p * math.sin(math.pi / 3), rel=1e-5)


def test_hgcal_outlines_tile_the_hexagon_without_overlap():
    # Hexagon side = 4 pitches, area (3 sqrt(3) / 2) (4p)^2, equal to 48 rhombi.
    p = HGCAL.pitch_cm
    total = sum(_shoelace(poly) for poly in HGCAL.outline_cm)
    assert total == pytest.approx(1.5 * math.sqrt(3) * (4 * p) ** 2, rel=1e-5)
    # No point of a fine grid is inside two cells; the covered area equals the sum.
    lo = HGCAL.outline_cm.reshape(-1, 2).min(axis=0)
    hi = HGCAL.outline_cm.reshape(-1, 2).max(axis=0)
    step = p / 20
    xs = np.arange(lo[0] + step / 2, hi[0], step)
    ys = np.arange(lo[1] + step / 2, hi[1], step)
    gx, gy = np.meshgrid(xs, ys)
    pts = np.stack([gx.ravel(), gy.ravel()], axis=1)
    count = np.zeros(len(pts), dtype=int)
    for poly in HGCAL.outline_cm:
        a, b = poly, np.roll(poly, -1, axis=0)
        cross = ((b[:, 0] - a[:, 0])[None] * (pts[:, 1:2] - a[:, 1][None])
                 - (b[:, 1] - a[:, 1])[None] * (pts[:, 0:1] - a[:, 0][None]))
        count += (np.all(cross > 0, axis=1) | np.all(cross < 0, axis=1)).astype(int)
    assert count.max() == 1
    assert count.sum() * step * step == pytest.approx(total, rel=0.01)


def test_hgcal_same_sector_neighbours_share_a_full_edge_or_one_corner():
    d = HGCAL.distance_matrix
    o = HGCAL.outline_cm
    full_edges = 0
    for i in range(48):
        for j in range(i + 1, 48):
            if not np.isclose(d[i, j], 2.0, atol=1e-5):
                continue
            shared = sum(np.linalg.norm(o[j] - corner, axis=1).min() < 1e-4 for corner in o[i])
            # along the rhombus sides: an edge; along the short diagonal: one corner
            assert shared in (1, 2)
            full_edges += shared == 2
    # 3 sectors x 2 directions x 4 rows x 3 steps
    assert full_edges == 72


def test_square8_facts():
    g = SQUARE
    assert g.n_cells == 64 and g.n_sectors == 4
    assert np.bincount(g.sector).tolist() == [16] * 4
    assert g.pitch_cm == 1.0
    arr = g.arrangement("8x8")
    np.testing.assert_array_equal(arr.pixel_to_cell, np.arange(64))
    np.testing.assert_array_equal(arr.cell_to_pixel, np.arange(64))
    cells = _random_cells(g)
    np.testing.assert_array_equal(arr.to_cells(arr.to_image(cells)), cells)
    assert sum(_shoelace(p) for p in g.outline_cm) == pytest.approx(64.0)
    assert len(g.stc4_groups) == 16 and all(len(b) == 4 for b in g.stc4_groups)
    assert sorted(c for b in g.stc4_groups for c in b) == list(range(64))
    # row-major cells: cell 9 is one right of 8 and one below 1
    assert g.xy_cm[9, 0] - g.xy_cm[8, 0] == pytest.approx(1.0)
    assert g.xy_cm[1, 1] - g.xy_cm[9, 1] == pytest.approx(1.0)


def test_unknown_geometry_names_the_choices():
    with pytest.raises(KeyError, match="square8"):
        geometry.load("hexagon")
