"""The one place that imports TensorFlow, QKeras and Keras for the kit.

QKeras runs only on the legacy Keras 2 API (the tf-keras package), which
TensorFlow picks when TF_USE_LEGACY_KERAS=1 is set before its first import.
Importing this module sets it, quiets TensorFlow's start-up chatter (C++
log lines printed before logging is configured, CUDA probing on a machine
without GPUs) and exposes ``tf``, ``keras`` and ``qkeras``. Every module of
the kit that needs TensorFlow imports it from here, inside the functions
that commands run, so ``encoder --help`` never pays for it.
"""

from __future__ import annotations

import os
import sys
import tempfile
import warnings

if "tensorflow" in sys.modules and os.environ.get("TF_USE_LEGACY_KERAS") != "1":
    raise ImportError("tensorflow was imported before encoder.training.tf_env; QKeras needs "
                      "TF_USE_LEGACY_KERAS=1 set before the first tensorflow import")

os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _import_quietly():
    """Import TensorFlow with file descriptor 2 sent to a temp file.

    TensorFlow's native libraries write to stderr before any logging level
    applies; the captured text is replayed only if the import fails.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as sink, warnings.catch_warnings():
        # QKeras' dependencies use distutils version classes at import time.
        warnings.simplefilter("ignore", DeprecationWarning)
        os.dup2(sink.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
            import tf_keras  # noqa: F401
            import qkeras  # noqa: F401
            # The CUDA probe runs on the first device query and logs "failed call to cuInit" at
            # error level on a machine without a GPU; doing it here keeps it in the sink too.
            tensorflow.config.list_physical_devices()
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            sys.stderr.write(sink.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


_import_quietly()

import tensorflow as tf  # noqa: E402
import qkeras  # noqa: E402

tf.get_logger().setLevel("ERROR")
keras = tf.keras

__all__ = ["tf", "keras", "qkeras", "seed_everything"]


def seed_everything(seed: int) -> None:
    """Same seed, same weights: Python, NumPy and TF generators, deterministic ops."""
    keras.utils.set_random_seed(int(seed))
    try:
        tf.config.experimental.enable_op_determinism()
    except (AttributeError, RuntimeError):
        pass
