"""Energy Mover's Distance (EMD) between input and reconstructed modules.

Both 48-cell charge vectors are normalised to unit sum; the ground distance
is the geometry's ``distance_matrix`` (cell-centre distances in half a
trigger-cell pitch for HGCAL); the value is the exact optimal-transport
cost. Conventions of the ECON-T benchmark code: -1 when the input sums to
zero, -0.5 when the output sums to zero (input checked first).

Speed without approximation. The ground distance is Euclidean, hence a
metric, and for a metric cost the optimal transport cost between a and b
depends only on a - b: the common mass min(a_i, b_i) can stay where it is
at no cost. So each module is solved as a transport from the cells where
a > b to the cells where b > a (disjoint supports, at most 48 cells in
all, usually far fewer arcs than the 48 x 48 problem). A problem with a
single source or a single sink has a closed form (everything moves to or
from that cell) and is computed for all such modules at once; the rest go
to POT's compiled network simplex one by one, without ``ot.emd2``'s Python
overhead. ``emd_reference`` is the plain per-module ``ot.emd2`` on the full
problem, kept for tests and benchmarks.
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from .. import geometry as _geometry
from . import pot

EMD_INPUT_EMPTY = -1.0
EMD_OUTPUT_EMPTY = -0.5
# Network-simplex pivots allowed per module; problems here have < 600 arcs
# and converge in a few hundred pivots.
MAX_ITER = 10_000_000
OPTIMAL = 1


def resolve_geometry(geometry) -> _geometry.Geometry:
    """A Geometry from a name or a Geometry."""
    return _geometry.load(geometry) if isinstance(geometry, str) else geometry


def check_pair(inputs, outputs, n_cells: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """Validate (N, n_cells) or (n_cells,) input/output arrays; returns 2-D float64 copies."""
    a = np.asarray(inputs, dtype=np.float64)
    b = np.asarray(outputs, dtype=np.float64)
    single = a.ndim == 1
    if single:
        a = a[None, :]
        if b.ndim == 1:
            b = b[None, :]
    if a.ndim != 2 or a.shape[1] != n_cells:
        raise ValueError(f"inputs must have shape (modules, {n_cells}), got {np.shape(inputs)}")
    if b.shape != a.shape:
        raise ValueError(f"outputs shape {np.shape(outputs)} differs from inputs shape {np.shape(inputs)}")
    for name, arr in (("inputs", a), ("outputs", b)):
        bad = ~np.isfinite(arr) | (arr < 0)
        if bad.any():
            row, cell = np.argwhere(bad)[0]
            raise ValueError(f"{name} row {row}, cell {cell}: charge {arr[row, cell]!r} "
                             f"is not a finite non-negative number")
    return a, b, single


def _transport_block(a_all: np.ndarray, b_all: np.ndarray, dist: np.ndarray, first_row: int = 0) -> np.ndarray:
    """EMD of each row pair (no validation; ``dist`` writable C-ordered float64).

    ``first_row`` is the index of the block's first module in the caller's
    array, for error messages.
    """
    n = a_all.shape[0]
    out = np.zeros(n)
    sa = a_all.sum(axis=1)
    sb = b_all.sum(axis=1)
    out[sa == 0] = EMD_INPUT_EMPTY
    out[(sa > 0) & (sb == 0)] = EMD_OUTPUT_EMPTY
    rows = np.flatnonzero((sa > 0) & (sb > 0))
    if rows.size == 0:
        return out
    a = a_all[rows] / sa[rows, None]
    b = b_all[rows] / sb[rows, None]
    b *= (a.sum(axis=1) / b.sum(axis=1))[:, None]     # equal masses, as ot.emd2 makes them
    d = a - b
    src = d > 0
    snk = d < 0
    p = np.where(src, d, 0.0)
    q = np.where(snk, -d, 0.0)
    ps = p.sum(axis=1)
    qs = q.sum(axis=1)
    n_src = src.sum(axis=1)
    n_snk = snk.sum(axis=1)
    res = np.zeros(rows.size)
    # a == b up to rounding: nothing (or ~1e-16 of mass) to move.
    moving = (n_src > 0) & (n_snk > 0)
    scale = np.divide(ps, qs, out=np.zeros_like(ps), where=moving)
    one_src = moving & (n_src == 1)
    if one_src.any():
        i = np.argmax(d[one_src], axis=1)
        res[one_src] = (q[one_src] * dist[i]).sum(axis=1) * scale[one_src]
    one_snk = moving & ~one_src & (n_snk == 1)
    if one_snk.any():
        j = np.argmin(d[one_snk], axis=1)
        res[one_snk] = (p[one_snk] * dist[j]).sum(axis=1)        # dist is symmetric
    general = np.flatnonzero(moving & ~one_src & ~one_snk)
    if general.size:
        res[general] = _solve_general(src[general], snk[general], p[general],
                                      q[general] * scale[general, None], dist, first_row + rows[general])
    out[rows] = res
    return out


def _solve_general(src, snk, p, q, dist, row_ids) -> np.ndarray:
    """Network simplex on each row's (sources x sinks) sub-problem.

    Indices and masses of all rows are gathered with one vectorised call
    each; the loop only slices them, so the compiled solver dominates.
    """
    emd_c = pot.network_simplex()
    src_cells = np.nonzero(src)[1]
    snk_cells = np.nonzero(snk)[1]
    src_mass = p[src]
    snk_mass = q[snk]
    s_off = np.concatenate([[0], np.cumsum(src.sum(axis=1))]).tolist()
    t_off = np.concatenate([[0], np.cumsum(snk.sum(axis=1))]).tolist()
    out = np.empty(src.shape[0])
    for k in range(src.shape[0]):
        s0, s1, t0, t1 = s_off[k], s_off[k + 1], t_off[k], t_off[k + 1]
        cost_matrix = dist[src_cells[s0:s1, None], snk_cells[t0:t1]]
        _, cost, _, _, code = emd_c(src_mass[s0:s1], snk_mass[t0:t1], cost_matrix, MAX_ITER, 1)
        if code != OPTIMAL:
            raise RuntimeError(f"module {row_ids[k]}: network simplex did not reach the optimum (code {code})")
        out[k] = cost
    return out


# Worker-process state for the pool (set once per worker by the initializer).
_worker_dist: np.ndarray | None = None


def _worker_init(dist: np.ndarray) -> None:
    global _worker_dist
    _worker_dist = dist
    pot.network_simplex()


def _worker_block(args) -> np.ndarray:
    a, b, first_row = args
    return _transport_block(a, b, _worker_dist, first_row)


def pool_start_method() -> str:
    """'fork' when it is safe (one thread, no TensorFlow loaded), else 'spawn'.

    Forked workers start at once and inherit the already imported POT;
    forking a process whose other threads may hold locks (TensorFlow's
    thread pools, a test runner's I/O threads) can deadlock the child.
    """
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1 and "tensorflow" not in sys.modules:
        return "fork"
    return "spawn"


def emd(inputs, outputs, geometry="hgcal", *, workers: int = 1, chunk_size: int = 4096,
        progress=None) -> np.ndarray | float:
    """EMD of each module: (N, n_cells) inputs and outputs -> (N,) float64.

    1-D arrays give a float. ``workers`` > 1 spreads chunks of
    ``chunk_size`` modules over a process pool (``pool_start_method``).
    ``progress(n)`` is called with the number of modules finished after
    each chunk.
    """
    if workers < 1 or chunk_size < 1:
        raise ValueError(f"workers and chunk_size must be >= 1, got {workers} and {chunk_size}")
    geom = resolve_geometry(geometry)
    a, b, single = check_pair(inputs, outputs, geom.n_cells)
    dist = np.array(geom.distance_matrix, dtype=np.float64, order="C")   # writable copy for Cython
    n = a.shape[0]
    starts = range(0, n, chunk_size)
    result = np.empty(n)
    if workers <= 1 or n <= chunk_size:
        for s in starts:
            result[s:s + chunk_size] = _transport_block(a[s:s + chunk_size], b[s:s + chunk_size], dist, s)
            if progress is not None:
                progress(min(chunk_size, n - s))
    else:
        pot.network_simplex()                  # imported once here, inherited by forked workers
        ctx = multiprocessing.get_context(pool_start_method())
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                                 initializer=_worker_init, initargs=(dist,)) as pool:
            jobs = [(s, pool.submit(_worker_block, (a[s:s + chunk_size], b[s:s + chunk_size], s)))
                    for s in starts]
            for s, job in jobs:
                result[s:s + chunk_size] = job.result()
                if progress is not None:
                    progress(min(chunk_size, n - s))
    return float(result[0]) if single else result


def emd_reference(inputs, outputs, geometry="hgcal") -> np.ndarray | float:
    """Plain per-module ``ot.emd2`` on the full n_cells x n_cells problem (slow; for checks)."""
    geom = resolve_geometry(geometry)
    a, b, single = check_pair(inputs, outputs, geom.n_cells)
    ot = pot.load()
    dist = np.array(geom.distance_matrix, dtype=np.float64, order="C")
    out = np.empty(a.shape[0])
    for k in range(a.shape[0]):
        sa, sb = a[k].sum(), b[k].sum()
        if sa == 0:
            out[k] = EMD_INPUT_EMPTY
        elif sb == 0:
            out[k] = EMD_OUTPUT_EMPTY
        else:
            out[k] = float(ot.emd2(a[k] / sa, b[k] / sb, dist))
    return float(out[0]) if single else out
