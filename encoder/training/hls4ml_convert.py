"""An hls4ml model of a QKeras encoder with the IR's exact types (TensorFlow and hls4ml: training side).

``encoder.hls4ml_config`` writes the configuration from the IR alone; this
module hands it to hls4ml together with the Keras model.
"""

from __future__ import annotations

from ..hls4ml_config import config, names_from_keras


# hls4ml reserves this layer name (ModelGraph refuses a Keras layer called "input").
RESERVED_INPUT = "input"


def convert(model, ir, output_dir, *, default: bool = False, io_type: str = "io_parallel"):
    """The hls4ml model of a QKeras encoder with this IR's explicit types (``default=True``:
    hls4ml's own inference of the types, for comparison). Call ``.compile()`` and ``.predict(x)``
    on the result; x is the model's float input, as for the QKeras model.

    Needs hls4ml (``pip install -e '.[hls4ml]'``). Two adaptations: a model whose input layer is
    named ``input`` (as ``encoder train`` names it) is rebuilt around an input called ``charges``
    (same layers, same weights), and hls4ml 1.3 reads ``import keras`` to pick its parser, which in
    this kit's environment is Keras 3 while QKeras models are tf-keras, so ``keras`` names tf-keras
    during the conversion.
    """
    import sys

    import hls4ml
    import tf_keras

    from .tf_env import keras
    if model.layers[0].name == RESERVED_INPUT:
        inp = keras.Input(model.input_shape[1:], name="charges")
        x = inp
        for layer in model.layers[1:]:
            x = layer(x)
        model = keras.Model(inp, x, name=model.name)
    saved = sys.modules.get("keras")
    sys.modules["keras"] = tf_keras
    try:
        if default:
            cfg = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vivado")
        else:
            cfg = config(ir, names_from_keras(model, ir))
        return hls4ml.converters.convert_from_keras_model(model, hls_config=cfg, output_dir=str(output_dir),
                                                          backend="Vivado", io_type=io_type)
    finally:
        if saved is None:
            sys.modules.pop("keras", None)
        else:
            sys.modules["keras"] = saved
