"""The EMD-shaped losses against exact optimal transport (POT) on the module's geometry.

- ``emd_tree`` is optimal transport under the tree metric (cell -> 2x2 group
  -> sector -> module centre): equal to ``ot.emd2`` with that metric, and
  never below the EMD with the straight-line metric;
- ``sinkhorn`` equals POT's entropic transport cost for the same
  regularisation and approaches the exact EMD as the regularisation falls.
"""

import numpy as np
import pytest

from encoder import geometry
from encoder.training import tf_env  # noqa: F401  (before POT, which imports TensorFlow as a backend)
import ot  # noqa: E402
from encoder.metrics.emd_solver import emd_reference

pytestmark = pytest.mark.xdist_group("tensorflow")


def pairs(seed, n=40):
    """Sparse random charge maps and blurred reconstructions (unit sums not required)."""
    rng = np.random.default_rng(seed)
    t = rng.exponential(1.0, (n, 48)) * (rng.random((n, 48)) < 0.25)
    t[:, 0] += 0.1                         # no empty module
    p = np.abs(t + rng.normal(0, 0.3, t.shape)) * (rng.random((n, 48)) < 0.6) + 1e-3
    return t.astype(np.float32), p.astype(np.float32)


def tree_metric(geo):
    """Path length between every two cells through the cell -> group -> sector -> centre tree."""
    from encoder.training.losses import tree_levels
    (cm, cw), (gm, gw), (sm, sw) = tree_levels(geo)
    g_of = gm.argmax(1)
    s_of_g = (gm.T @ sm).argmax(1)
    n = geo.n_cells
    d = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            up = cw[i] + cw[j]
            gi, gj = g_of[i], g_of[j]
            if gi != gj:
                up += gw[gi] + gw[gj]
                if s_of_g[gi] != s_of_g[gj]:
                    up += sw[s_of_g[gi]] + sw[s_of_g[gj]]
            d[i, j] = up
    return d


def unit(x):
    x = np.asarray(x, dtype=np.float64)
    return x / x.sum()


def test_emd_tree_equals_exact_transport_under_the_tree_metric_and_bounds_the_emd():
    from encoder.training import losses
    geo = geometry.load("hgcal")
    t, p = pairs(1)
    got = losses.emd_tree(geo)(t, p).numpy()
    dtree = tree_metric(geo)
    want = np.array([ot.emd2(unit(a), unit(b), dtree) for a, b in zip(t, p)])
    np.testing.assert_allclose(got, want, rtol=2e-4, atol=1e-5)
    exact = emd_reference(t.astype(np.float64), p.astype(np.float64), geo)
    assert np.all(got >= exact - 1e-4)
    assert float(losses.emd_tree(geo)(t, t).numpy().max()) < 1e-5


def test_sinkhorn_equals_pot_entropic_cost_and_approaches_the_emd():
    from encoder.training import losses
    geo = geometry.load("hgcal")
    t, p = pairs(2, 12)
    cost = geo.distance_matrix
    got = losses.sinkhorn(geo, epsilon=0.5, iterations=400)(t, p).numpy()
    want = np.array([ot.sinkhorn2(unit(a), unit(b), cost, reg=0.5, numItermax=4000, stopThr=1e-10)
                     for a, b in zip(t, p)])
    np.testing.assert_allclose(got, want, rtol=2e-3)
    exact = emd_reference(t.astype(np.float64), p.astype(np.float64), geo)
    for eps in (0.5, 0.25):
        sk = losses.sinkhorn(geo, epsilon=eps, iterations=400)(t, p).numpy()
        # the entropic plan is feasible, so it costs at least the optimum; its excess is O(eps log n)
        assert np.all(sk >= exact - 1e-3)
        assert np.all(sk - exact <= 2 * eps * np.log(48))
    coarse = losses.sinkhorn(geo, epsilon=0.5, iterations=400)(t, p).numpy() - exact
    fine = losses.sinkhorn(geo, epsilon=0.25, iterations=400)(t, p).numpy() - exact
    assert fine.mean() < coarse.mean()


def test_emd_losses_ignore_the_module_scale_and_have_finite_gradients():
    from encoder.training import losses
    from encoder.training.tf_env import tf
    geo = geometry.load("hgcal")
    t, p = pairs(3, 8)
    for fn in (losses.emd_tree(geo), losses.sinkhorn(geo)):
        np.testing.assert_allclose(fn(t, p).numpy(), fn(3 * t, 0.5 * p).numpy(), rtol=1e-4)
        pv = tf.Variable(p)
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(fn(t, pv))
        g = tape.gradient(loss, pv).numpy()
        assert np.isfinite(g).all() and np.abs(g).sum() > 0


def test_every_configured_loss_builds():
    from encoder.training import losses
    from encoder.training.config import LOSSES
    geo = geometry.load("hgcal")
    t, p = pairs(4, 4)
    for name in LOSSES:
        v = losses.get(name, geo)(t, p).numpy()
        assert v.shape == (4,) and np.isfinite(v).all() and (v > 0).all(), name


def test_telescope_equals_the_published_formula_on_random_pairs():
    """loss = 4 d(t,p) + 2 mean_j w_j (T_j-P_j)^2 max(T_j,P_j) + d(S3 t, S3 p), d = mean((a-b)^2 max(a,b)),
    written here in plain NumPy from the raw tables of hgcal_module.json."""
    import json
    from pathlib import Path
    from encoder.training import losses
    raw = json.loads((Path(geometry.__file__).parent / "hgcal_module.json").read_text())
    t, p = pairs(5, 200)
    t, p = t.astype(np.float64), p.astype(np.float64)

    def d(a, b):
        return np.mean((a - b) ** 2 * np.maximum(a, b), axis=-1)

    groups = raw["telescope_2x2_groups"]
    T = np.stack([t[:, g["tcs"]].sum(1) for g in groups], 1)
    P = np.stack([p[:, g["tcs"]].sum(1) for g in groups], 1)
    w = np.array([g["weight"] for g in groups])
    sec = np.asarray(raw["tc_sector"])
    S = lambda x: np.stack([x[:, sec == s].sum(1) for s in range(3)], 1)  # noqa: E731
    want = 4 * d(t, p) + 2 * np.mean(w * (T - P) ** 2 * np.maximum(T, P), axis=-1) + d(S(t), S(p))
    got = losses.telescope(geometry.load("hgcal"))(t.astype(np.float32), p.astype(np.float32)).numpy()
    np.testing.assert_allclose(got, want, rtol=2e-5)
