"""Loading the POT optimal-transport library without its array backends.

On import POT probes for PyTorch, JAX, CuPy and TensorFlow and imports
whichever is installed. TensorFlow is installed here (for training), and
importing it is slow and must happen only in the training package, after
its own environment set-up. POT reads ``POT_BACKEND_DISABLE_<NAME>`` at
import time, so these are set just around the import and restored after;
the metrics only need POT's NumPy network-simplex solver.
"""

from __future__ import annotations

import os
import threading

_DISABLE_KEYS = (
    "POT_BACKEND_DISABLE_TENSORFLOW",
    "POT_BACKEND_DISABLE_PYTORCH",
    "POT_BACKEND_DISABLE_JAX",
    "POT_BACKEND_DISABLE_CUPY",
)
_lock = threading.Lock()
_cache: dict = {}


def load():
    """The ``ot`` module, imported with every non-NumPy backend disabled."""
    with _lock:
        if "ot" not in _cache:
            saved = {k: os.environ.get(k) for k in _DISABLE_KEYS}
            try:
                for k in _DISABLE_KEYS:
                    os.environ[k] = "1"
                import ot  # noqa: PLC0415  (deliberately lazy)
                import ot.lp  # noqa: F401,PLC0415
            finally:
                for k, v in saved.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
            _cache["ot"] = ot
        return _cache["ot"]


def network_simplex():
    """POT's compiled dense network-simplex entry point ``emd_c``.

    ``emd_c(a, b, M, max_iter, n_threads)`` returns (plan, cost, u, v,
    result_code) and skips the Python-level checks of ``ot.emd2`` (backend
    dispatch, marginal checks, dual post-processing) that dominate the cost
    of the small problems solved here. Result code 1 means optimal.
    """
    load()
    from ot.lp.emd_wrap import emd_c  # noqa: PLC0415
    return emd_c
