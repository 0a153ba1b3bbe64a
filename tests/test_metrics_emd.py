"""EMD: hand-computable cases, the reference conventions, and agreement with
plain ot.emd2 on the full 48 x 48 problem."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from encoder import geometry
from encoder.metrics import emd, emd_reference

DATA = Path(__file__).parent / "data" / "metrics"
GEOM = geometry.load("hgcal")
M = GEOM.distance_matrix


def unit(cell, n=48):
    v = np.zeros(n)
    v[cell] = 1.0
    return v


def real_modules():
    return np.loadtxt(DATA / "real_calq_300.csv", delimiter=",", skiprows=1) / 35.0


def test_neighbouring_unit_masses_are_two_half_pitches_apart():
    # Cells 0 and 1 are lattice neighbours: one pitch = two EMD units.
    assert np.linalg.norm(GEOM.xy_cm[0] - GEOM.xy_cm[1]) == pytest.approx(GEOM.pitch_cm, rel=1e-6)
    assert emd(unit(0), unit(1)) == pytest.approx(2.0, rel=1e-6)
    assert emd(3.0 * unit(0), 0.2 * unit(1)) == pytest.approx(2.0, rel=1e-6)


def test_identical_and_scaled_distributions_give_zero():
    x = real_modules()[:20]
    assert np.all(emd(x, x) == 0.0)
    assert np.allclose(emd(x[1:], 7.5 * x[1:]), 0.0, atol=1e-12)


def test_empty_module_conventions():
    x = real_modules()[:3]
    zero = np.zeros(48)
    inputs = np.stack([zero, zero, x[0], x[1]])
    outputs = np.stack([x[2], zero, zero, x[1]])
    assert list(emd(inputs, outputs)) == [-1.0, -1.0, -0.5, 0.0]
    assert list(emd_reference(inputs, outputs)) == [-1.0, -1.0, -0.5, 0.0]


def test_split_mass_costs_the_weighted_distances():
    out = 0.5 * unit(5) + 0.5 * unit(40)
    assert emd(unit(0), out) == pytest.approx(0.5 * M[0, 5] + 0.5 * M[0, 40], rel=1e-12)
    assert emd(out, unit(0)) == pytest.approx(0.5 * M[0, 5] + 0.5 * M[0, 40], rel=1e-12)


def test_two_by_two_problem_picks_the_short_matching():
    # Cells 0, 1, 2, 3 lie on a line one pitch apart: 0->1 and 2->3 (2 + 2) beat 0->3 and 2->1.
    a = 0.5 * unit(0) + 0.5 * unit(2)
    b = 0.5 * unit(1) + 0.5 * unit(3)
    assert M[0, 3] == pytest.approx(3 * M[0, 1], rel=1e-6)
    assert emd(a, b) == pytest.approx(0.5 * M[0, 1] + 0.5 * M[2, 3], rel=1e-12)


def test_matches_full_pot_emd2_on_random_and_real_modules():
    rng = np.random.default_rng(7)
    n = 120
    sparse_in = rng.exponential(3.0, (n, 48)) * (rng.random((n, 48)) < 0.15)
    sparse_out = rng.exponential(3.0, (n, 48)) * (rng.random((n, 48)) < 0.3)
    dense_out = rng.random((n, 48))
    real = real_modules()
    blur = np.exp(-M**2 / 2.0)
    smooth = real @ (blur / blur.sum(axis=1, keepdims=True))
    shuffled = real[rng.permutation(len(real))]
    cases = [(sparse_in, sparse_out), (sparse_in, dense_out), (real, smooth), (real, shuffled)]
    for a, b in cases:
        fast = emd(a, b)
        ref = emd_reference(a, b)
        assert np.max(np.abs(fast - ref)) < 1e-9
        assert np.any(fast > 0.5)     # the cases move real mass


def test_process_pool_gives_the_same_values():
    real = real_modules()[:200]
    other = real[::-1].copy()
    serial = emd(real, other)
    done = []
    pooled = emd(real, other, workers=2, chunk_size=40, progress=done.append)
    assert np.array_equal(serial, pooled)
    assert sum(done) == 200


def test_spawned_pool_gives_the_same_values(monkeypatch):
    # The start method used when forking is unsafe (threads or TensorFlow in the parent).
    from encoder.metrics import emd_solver
    monkeypatch.setattr(emd_solver, "pool_start_method", lambda: "spawn")
    real = real_modules()[:60]
    other = np.roll(real, 1, axis=0)
    assert np.array_equal(emd(real, other, workers=2, chunk_size=30), emd(real, other))


def test_square_geometry_uses_its_own_distances():
    sq = geometry.load("square8")
    a, b = np.zeros(64), np.zeros(64)
    a[0], b[9] = 1.0, 1.0                       # one diagonal step of a 1 cm grid, unit 0.5 cm
    assert emd(a, b, sq) == pytest.approx(2 * np.sqrt(2), rel=1e-12)


@pytest.mark.parametrize("bad, message", [
    (-1.0, "row 1, cell 4"),
    (np.nan, "row 1, cell 4"),
    (np.inf, "row 1, cell 4"),
])
def test_rejects_bad_charges_naming_row_and_cell(bad, message):
    x = np.ones((3, 48))
    y = x.copy()
    y[1, 4] = bad
    with pytest.raises(ValueError, match=message):
        emd(x, y)


def test_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="shape"):
        emd(np.ones((3, 48)), np.ones((2, 48)))
    with pytest.raises(ValueError, match=r"\(modules, 48\)"):
        emd(np.ones((3, 47)), np.ones((3, 47)))


def test_emd_does_not_import_tensorflow():
    code = (
        "import sys, numpy as np\n"
        "import encoder.metrics as m\n"
        "x = np.zeros((2, 48)); x[:, 0] = 1\n"
        "y = np.zeros((2, 48)); y[:, 1] = 1; y[1, 7] = 2; y[1, 30] = 1\n"
        "x[1, 20] = 3\n"
        "v = m.emd(x, y); r = m.emd_reference(x, y)\n"
        "assert abs(v - r).max() < 1e-12\n"
        "assert 'ot' in sys.modules\n"
        "bad = sorted(k for k in sys.modules if k.split('.')[0] in ('tensorflow', 'torch', 'jax', 'cupy'))\n"
        "print(bad)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"
