"""Symmetries of a sensor module as cell permutations, for data augmentation.

A symmetry is a rotation or reflection of the plane about the centroid of
the cell centres that maps every cell centre onto a cell centre (within
``TOLERANCE`` pitches). It is returned as a permutation ``perm`` of the
cells: the isometry carries cell ``c`` onto cell ``perm[c]``. They are found
from the positions alone, so a new geometry needs no table.

What the shipped geometries have:

* ``square8``: D4, order 8 -- the identity, rotations by 90, 180 and 270
  degrees, and reflections in the horizontal, vertical and two diagonal
  axes through the grid centre.
* ``hgcal``: C3, order 3 -- the identity and rotations by 120 and 240
  degrees, which cycle the three sectors. The 48 trigger-cell centres have
  no mirror symmetry (so not D3) and no 60-degree rotation (so not C6/D6):
  the three 4x4 sector lattices sit like a pinwheel around the centre
  (a sector's centre is 4.1 degrees off the line of its rhombus diagonal
  through the module centre), and the best mirror in any direction still
  leaves cells about 0.47 cm (0.19 pitch) off a cell centre. Augmentation therefore multiplies the HGCAL data by three, not
  six; a mirrored event is not a physical HGCAL module.

``augment`` applies an independently drawn group element to each row,
the same one to all arrays passed together (e.g. inputs and targets).
"""

from __future__ import annotations

import numpy as np

from .model import Geometry, load

# In pitches: the stored HGCAL positions are float32-rounded (the 120-degree
# rotation is exact to 3e-6 pitch) while the nearest non-symmetry is ~0.2 pitch
# off, so any value in between gives the same answer.
TOLERANCE = 1e-3

_cache: dict[tuple, np.ndarray] = {}


def symmetries(geometry: Geometry | str) -> np.ndarray:
    """(k, n_cells) int read-only array of the module's symmetry permutations.

    Row 0 is the identity; then rotations by increasing angle, then
    reflections by increasing axis angle.
    """
    geom = load(geometry) if isinstance(geometry, str) else geometry
    # The name alone would let a hand-built geometry reuse a stock one's group.
    key = (geom.name, geom.xy_cm.shape, np.ascontiguousarray(geom.xy_cm, dtype=float).tobytes())
    if key not in _cache:
        perms = _find(np.asarray(geom.xy_cm, dtype=float), float(geom.pitch_cm) * TOLERANCE)
        perms.setflags(write=False)
        _cache[key] = perms
    return _cache[key]


def _find(xy: np.ndarray, tol: float) -> np.ndarray:
    n = len(xy)
    rel = xy - xy.mean(axis=0)
    radius = np.hypot(rel[:, 0], rel[:, 1])
    angle = np.arctan2(rel[:, 1], rel[:, 0])
    # An isometry fixing the centroid is fixed by where it sends one
    # off-centre point and whether it flips orientation; that point can only
    # go to a cell at the same radius. This covers every C_m / D_m, with no
    # cap on m.
    ref = int(np.argmax(radius))
    if radius[ref] <= tol:                      # a single cell (or all coincident)
        return np.arange(n)[None, :]
    candidates = np.flatnonzero(np.abs(radius - radius[ref]) <= tol)
    found: dict[tuple, tuple] = {}
    for q in candidates:
        for flip in (False, True):
            if flip:                            # mirror in the axis at angle phi
                phi = np.mod(0.5 * (angle[ref] + angle[q]), np.pi)
                c, s = np.cos(2 * phi), np.sin(2 * phi)
                m = np.array([[c, s], [s, -c]])
            else:
                phi = np.mod(angle[q] - angle[ref], 2 * np.pi)
                c, s = np.cos(phi), np.sin(phi)
                m = np.array([[c, -s], [s, c]])
            perm = _as_permutation(rel @ m.T, rel, tol)
            if perm is not None:
                # Rounded, and a hair below a full turn wraps to 0, so the
                # order is stable and the identity sorts first.
                key = (flip, round(float(phi), 6) % round(np.pi if flip else 2 * np.pi, 6))
                found.setdefault(tuple(perm.tolist()), key)
    ordered = sorted(found, key=lambda p: (found[p], p))
    return np.array(ordered, dtype=np.intp).reshape(-1, n)


def _as_permutation(moved: np.ndarray, xy: np.ndarray, tol: float) -> np.ndarray | None:
    d = np.hypot(*(moved[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    perm = d.argmin(axis=1)
    if d[np.arange(len(xy)), perm].max() > tol or len(np.unique(perm)) != len(xy):
        return None
    return perm


def apply(cells, perm) -> np.ndarray:
    """Move the value of cell c to cell perm[c] along the last axis of ``cells``."""
    cells = np.asarray(cells)
    perm = np.asarray(perm)
    return cells[..., np.argsort(perm)]         # gather form: out[perm[c]] = cells[c]


def augment(cells, perms, rng: np.random.Generator):
    """Apply a uniformly drawn element of ``perms`` to each row (axis 0).

    ``cells`` is an (N, ..., n_cells) array, or a tuple/list of such arrays
    with the same N which all receive the same element per row; the result
    has the same form. Draws N integers from ``rng``.
    """
    single = isinstance(cells, np.ndarray) or not isinstance(cells, (tuple, list))
    arrays = [np.asarray(cells)] if single else [np.asarray(a) for a in cells]
    perms = np.asarray(perms)
    n_rows = arrays[0].shape[0] if arrays[0].ndim else -1
    for a in arrays:
        if a.ndim < 2 or a.shape[0] != n_rows or a.shape[-1] != perms.shape[1]:
            raise ValueError(f"expected arrays of shape (N, ..., {perms.shape[1]}) with one N, "
                             f"got {[x.shape for x in arrays]}")
    choice = rng.integers(len(perms), size=n_rows)
    gather = np.argsort(perms, axis=1)
    outs = [np.empty_like(a) for a in arrays]
    # One pass per group element keeps the index arrays at (n_cells,) rather
    # than (N, n_cells), which matters at 1e6 rows.
    for g in range(len(perms)):
        rows = choice == g
        for a, out in zip(arrays, outs):
            out[rows] = np.take(a[rows], gather[g], axis=-1)
    return outs[0] if single else tuple(outs)
