"""Design kit for on-detector autoencoder data-compression ASICs.

The core (geometry, sensor data, the hardware input path, the IR and the
golden model) is plain NumPy; TensorFlow is imported only by
``encoder.training``.

The Python API (``encoder.api``) is reachable from the package itself:
``encoder.load_ir``, ``encoder.from_keras``, ``encoder.from_econt``, ``encoder.load_data``,
``encoder.synth_data``, ``encoder.emd``, ``encoder.evaluate``,
``encoder.load_run``, ``encoder.IR``, ``encoder.Design``. They load on first
use, so ``import encoder`` imports neither the subpackages nor TensorFlow.
"""

__version__ = "0.1.0"

_API = ("IR", "Design", "SimResult", "load_ir", "from_keras", "from_econt", "load_data", "synth_data", "emd", "load_run",
        "evaluate")


def __getattr__(name):
    # PEP 562: the API module is imported on first use of one of its names.
    if name in _API:
        from . import api
        return getattr(api, name)
    raise AttributeError(f"module 'encoder' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_API))
