"""Reconstruction losses on the decoded cells (N, n_cells), normalised units.

- ``mse``: mean over cells of (t - p)^2.
- ``weighted_mse``: d(t, p) = mean((t - p)^2 * max(t, p)), which stresses
  the cells that carry charge.
- ``telescope`` (C. Herwig, used for ECON-T): 4 d(t, p) on the cells
  + 2 mean_j(w_j (T_j - P_j)^2 max(T_j, P_j)) on the weighted 2x2 groups
  (``geometry.telescope_groups``) + d on the sector sums
  (``geometry.sector``): shape information at three scales.
- ``emd_tree``: the tree-Wasserstein distance between the unit-sum maps on
  the cell -> 2x2 group -> sector tree, an exact upper bound of the EMD.
- ``sinkhorn``: entropic optimal transport on the EMD's own ground
  distance, the EMD itself up to a small entropic excess.

The last two compare shapes only (both sides scaled to unit sum), as the
EMD does; the module sum travels beside the latents.
"""

from __future__ import annotations

import numpy as np

from ..geometry import Geometry
from .tf_env import tf


def _d(a, b):
    return tf.reduce_mean(tf.square(a - b) * tf.maximum(a, b), axis=-1)


def mse(y_true, y_pred):
    y_true = tf.cast(y_true, y_pred.dtype)
    return tf.reduce_mean(tf.square(y_true - y_pred), axis=-1)


def weighted_mse(y_true, y_pred):
    return _d(tf.cast(y_true, y_pred.dtype), y_pred)


def group_matrices(geo: Geometry) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cells -> 2x2 groups) matrix, group weights, (cells -> sectors) matrix, all (n_cells, k)."""
    groups = [cells for cells, _ in geo.telescope_groups]
    weights = np.array([w for _, w in geo.telescope_groups], dtype=np.float32)
    sectors = [np.flatnonzero(geo.sector == s) for s in range(geo.n_sectors)]
    return (geo.group_matrix(groups).T.astype(np.float32), weights,
            geo.group_matrix(sectors).T.astype(np.float32))


def telescope(geo: Geometry):
    g2, w2, g3 = (tf.constant(a) for a in group_matrices(geo))

    def telescope_loss(y_true, y_pred):
        y_true = tf.cast(y_true, y_pred.dtype)
        cells = _d(y_true, y_pred)
        t2, p2 = tf.matmul(y_true, g2), tf.matmul(y_pred, g2)
        groups = tf.reduce_mean(w2 * tf.square(t2 - p2) * tf.maximum(t2, p2), axis=-1)
        sectors = _d(tf.matmul(y_true, g3), tf.matmul(y_pred, g3))
        return 4.0 * cells + 2.0 * groups + sectors

    return telescope_loss



# -- losses shaped like the metric (EMD) ---------------------------------

def _unit(x, eps: float = 1e-9):
    """Each row scaled to unit sum: EMD compares shapes, not the module sum (sent beside the latents)."""
    return x / (tf.reduce_sum(x, axis=-1, keepdims=True) + eps)


def tree_levels(geo: Geometry) -> list[tuple[np.ndarray, np.ndarray]]:
    """The cell -> 2x2 group -> sector -> module tree, as (membership, edge length) per level.

    Each level is a (n_cells, n_nodes) 0/1 matrix of which node holds each
    cell, and the length of the edge from every node up to its parent: the
    distance between their centres in EMD units. A path through the tree is
    never shorter than the straight line, so the tree distance bounds the
    EMD from above, and it is exact (an L1 norm per level) to compute.
    """
    unit = geo.distance_unit_cm
    xy = geo.xy_cm / unit
    groups = [list(g) for g in geo.stc4_groups]
    sectors = [list(np.flatnonzero(geo.sector == s)) for s in range(geo.n_sectors)]
    g_xy = np.array([xy[g].mean(0) for g in groups])
    s_xy = np.array([xy[s].mean(0) for s in sectors])
    g_of_cell = np.full(geo.n_cells, -1)
    for j, g in enumerate(groups):
        g_of_cell[g] = j
    s_of_group = np.array([int(geo.sector[g[0]]) for g in groups])
    if (g_of_cell < 0).any() or any(len(set(geo.sector[g])) != 1 for g in groups):
        raise ValueError(f"geometry {geo.name}: the 2x2 groups must tile the cells inside sectors")
    centre = xy.mean(0)
    cell_m = np.eye(geo.n_cells, dtype=np.float32)
    group_m = geo.group_matrix(groups).T.astype(np.float32)
    sector_m = geo.group_matrix(sectors).T.astype(np.float32)
    return [
        (cell_m, np.linalg.norm(xy - g_xy[g_of_cell], axis=1).astype(np.float32)),
        (group_m, np.linalg.norm(g_xy - s_xy[s_of_group], axis=1).astype(np.float32)),
        (sector_m, np.linalg.norm(s_xy - centre, axis=1).astype(np.float32)),
    ]


def emd_tree(geo: Geometry):
    """Tree-Wasserstein distance between the unit-sum charge maps (an upper bound of the EMD).

    On a tree, optimal transport moves across each edge exactly the
    imbalance of the charge below it, so the distance is a weighted L1 sum
    over the tree's nodes: no solver, and a gradient that, unlike squared
    errors, does not fade for the small charges that blur a reconstruction.
    """
    levels = [(tf.constant(m), tf.constant(w)) for m, w in tree_levels(geo)]

    def emd_tree_loss(y_true, y_pred):
        t, p = _unit(tf.cast(y_true, y_pred.dtype)), _unit(y_pred)
        diff = t - p
        return tf.add_n([tf.reduce_sum(w * tf.abs(tf.matmul(diff, m)), axis=-1) for m, w in levels])

    return emd_tree_loss


SINKHORN_EPSILON = 0.5      # EMD units; the nearest neighbours sit 2 apart
SINKHORN_ITERATIONS = 40


def sinkhorn(geo: Geometry, epsilon: float = SINKHORN_EPSILON, iterations: int = SINKHORN_ITERATIONS):
    """Entropic optimal transport (Sinkhorn) on the module's own ground distance.

    The transport cost <P, C> of the entropic plan P between the unit-sum
    maps; it approaches the exact EMD from above as ``epsilon`` falls
    (within about 2 epsilon log n). Fixed iterations in the kernel domain
    keep it a few small matrix products per step; ``epsilon`` is large
    enough that exp(-C/epsilon) stays far from float32 underflow across
    the module.
    """
    cost = geo.distance_matrix.astype(np.float32)
    kernel = np.exp(-cost / epsilon).astype(np.float32)
    c, k = tf.constant(cost), tf.constant(kernel)
    tiny = 1e-30

    def sinkhorn_loss(y_true, y_pred):
        a, b = _unit(tf.cast(y_true, y_pred.dtype)), _unit(y_pred)
        v = tf.ones_like(b)
        for _ in range(iterations):
            u = a / (tf.matmul(v, k, transpose_b=True) + tiny)
            v = b / (tf.matmul(u, k) + tiny)
        plan = u[:, :, None] * k[None] * v[:, None, :]
        return tf.reduce_sum(plan * c[None], axis=[1, 2])

    return sinkhorn_loss

def get(name: str, geo: Geometry):
    if name == "telescope":
        return telescope(geo)
    if name == "mse":
        return mse
    if name == "weighted_mse":
        return weighted_mse
    if name == "emd_tree":
        return emd_tree(geo)
    if name == "sinkhorn":
        return sinkhorn(geo)
    raise ValueError(f"unknown loss {name!r}")

