"""Reconstruction losses on the decoded cells (N, n_cells), normalised units.

- ``mse``: mean over cells of (t - p)^2.
- ``weighted_mse``: d(t, p) = mean((t - p)^2 * max(t, p)), which stresses
  the cells that carry charge.
- ``telescope`` (C. Herwig, used for ECON-T): 4 d(t, p) on the cells
  + 2 mean_j(w_j (T_j - P_j)^2 max(T_j, P_j)) on the weighted 2x2 groups
  (``geometry.telescope_groups``) + d on the sector sums
  (``geometry.sector``): shape information at three scales.
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


def get(name: str, geo: Geometry):
    if name == "telescope":
        return telescope(geo)
    if name == "mse":
        return mse
    if name == "weighted_mse":
        return weighted_mse
    raise ValueError(f"unknown loss {name!r}")

