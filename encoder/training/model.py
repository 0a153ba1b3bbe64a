"""QKeras encoder and float decoder built from a ``ModelConfig``.

Encoder layer names are fixed so export and tests can find them:
``input_q`` (input quantizer), ``conv`` (or ``conv0``, ``conv1``, ...) with
``<conv>_act``, ``flatten``, ``dense`` and ``latent``. Weights and biases
use ``quantized_bits(bits, integer, alpha=1)``: without alpha=1 QKeras
would switch the kernel quantizer to a learned power-of-two scale
("auto_po2"), which is not a fixed-point format.
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import geometry as geometry_mod
from .config import ModelConfig, Quant
from .tf_env import keras, qkeras, tf

QActivation, QConv2D, QDense = qkeras.QActivation, qkeras.QConv2D, qkeras.QDense


def weight_quantizer(q: Quant):
    return qkeras.quantized_bits(q.bits, q.integer, alpha=1)


def relu_quantizer(q: Quant):
    return qkeras.quantized_relu(q.bits, q.integer)


def input_quantizer(q: Quant):
    return qkeras.quantized_bits(q.bits, q.integer, keep_negative=False, alpha=1)


def conv_names(cfg: ModelConfig) -> list[str]:
    return ["conv"] if len(cfg.conv) == 1 else [f"conv{i}" for i in range(len(cfg.conv))]


def build_encoder(cfg: ModelConfig) -> keras.Model:
    # QKeras' QInitializer may draw a kernel more than once until its spread suits the
    # quantizer; tf-keras then warns about reusing an unseeded initializer. The draws
    # are still governed by the global seed (``tf_env.seed_everything``).
    warnings.filterwarnings("ignore", message="The initializer .* is unseeded")
    inp = keras.Input(cfg.input_shape, name="input")
    x = QActivation(input_quantizer(cfg.input.quant), name="input_q")(inp)
    for name, c in zip(conv_names(cfg), cfg.conv):
        x = QConv2D(c.filters, c.kernel, strides=c.strides, padding=c.padding,
                    kernel_quantizer=weight_quantizer(c.weight), bias_quantizer=weight_quantizer(c.bias),
                    kernel_initializer="glorot_uniform", name=name)(x)
        x = QActivation(relu_quantizer(c.activation), name=f"{name}_act")(x)
    if len(x.shape) > 2:
        x = keras.layers.Flatten(name="flatten")(x)
    lt = cfg.latent
    x = QDense(lt.size, kernel_quantizer=weight_quantizer(lt.weight), bias_quantizer=weight_quantizer(lt.bias),
               kernel_initializer="glorot_uniform", name="dense")(x)
    x = QActivation(relu_quantizer(lt.activation), name="latent")(x)
    return keras.Model(inp, x, name=f"{cfg.name}_encoder")


def _fit(x, shape, name):
    """Crop or zero-pad (bottom/right) a feature map to ``shape`` (rows, cols)."""
    h, w = int(x.shape[1]), int(x.shape[2])
    if h > shape[0] or w > shape[1]:
        x = keras.layers.Cropping2D(((0, max(h - shape[0], 0)), (0, max(w - shape[1], 0))), name=f"{name}_crop")(x)
    if h < shape[0] or w < shape[1]:
        x = keras.layers.ZeroPadding2D(((0, max(shape[0] - h, 0)), (0, max(shape[1] - w, 0))), name=f"{name}_pad")(x)
    return x


def _output_bias(activation: str, mean: float | None):
    """Start the decoder at the mean target value (a sigmoid at 0.5 is far from sparse data)."""
    if mean is None:
        return "zeros"
    m = float(np.clip(mean, 1e-4, 1 - 1e-4)) if activation == "sigmoid" else float(mean)
    return keras.initializers.Constant(np.log(m / (1 - m)) if activation == "sigmoid" else m)


def build_decoder(cfg: ModelConfig, output_mean: float | None = None) -> keras.Model:
    """Float decoder mirroring the encoder (ECON-T: Dense 16->128, 4x4x8, two transposed convs).

    ``output_mean``: the mean target value; the output layer's bias starts there.
    """
    inp = keras.Input((cfg.latent.size,), name="latents")
    out_act = cfg.decoder.output_activation
    in_shape = cfg.input_shape
    bias0 = _output_bias(out_act, output_mean)
    if not cfg.conv:
        x = keras.layers.Dense(int(np.prod(in_shape)), activation=out_act, bias_initializer=bias0,
                               name="dec_dense")(inp)
        x = keras.layers.Reshape(in_shape, name="dec_reshape")(x)
        return keras.Model(inp, x, name=f"{cfg.name}_decoder")
    shapes = cfg.conv_shapes()
    width = cfg.decoder.filters
    last = shapes[-1][1] if width is None else shapes[-1][1][:2] + (width,)
    x = keras.layers.Dense(int(np.prod(last)), activation="relu", name="dec_dense")(inp)
    x = keras.layers.Reshape(last, name="dec_reshape")(x)
    for i in reversed(range(len(cfg.conv))):
        c, (cin_shape, _) = cfg.conv[i], shapes[i]
        x = keras.layers.Conv2DTranspose(c.filters if width is None else width, c.kernel, strides=c.strides,
                                         padding="same", activation="relu", name=f"dec_convT{i}")(x)
        x = _fit(x, cin_shape[:2], f"dec_convT{i}")
    for j in range(cfg.decoder.extra_layers):
        x = keras.layers.Conv2DTranspose(width or cfg.conv[0].filters, cfg.conv[0].kernel, strides=1,
                                         padding="same", activation="relu", name=f"dec_extra{j}")(x)
    x = keras.layers.Conv2DTranspose(in_shape[2], cfg.conv[0].kernel, strides=1, padding="same",
                                     bias_initializer=bias0, name="dec_out")(x)
    x = keras.layers.Activation(out_act, name="dec_act")(x)
    return keras.Model(inp, x, name=f"{cfg.name}_decoder")


def build_autoencoder(cfg: ModelConfig, encoder: keras.Model, decoder: keras.Model) -> keras.Model:
    """Image in, the 48 (n_cells) decoded cell values out (what the losses compare)."""
    arr = geometry_mod.load(cfg.geometry).arrangement(cfg.arrangement)
    idx = tf.constant(np.asarray(arr.cell_to_pixel, dtype=np.int32))
    n_pix = arr.n_pixels
    inp = keras.Input(cfg.input_shape, name="image")
    img = decoder(encoder(inp))
    cells = keras.layers.Lambda(lambda t: tf.gather(tf.reshape(t, (-1, n_pix)), idx, axis=1),
                                name="to_cells")(img)
    return keras.Model(inp, cells, name=f"{cfg.name}_autoencoder")


def mac_layers(model: keras.Model) -> list:
    return [layer for layer in model.layers if isinstance(layer, (QConv2D, QDense))]


def set_random_weights(model: keras.Model, rng: np.random.Generator, extreme: float = 0.0,
                       scale: float = 1.0) -> None:
    """Random weights and biases on each quantizer's grid (for tests without training).

    Codes are drawn uniformly over ``scale`` times the format's range; with
    ``extreme`` > 0 that fraction of them is pushed to the format's end
    codes, to drive accumulators and activations into saturation.
    """
    for layer in mac_layers(model):
        new = []
        for var, q in zip(layer.get_weights(), (layer.kernel_quantizer_internal, layer.bias_quantizer_internal)):
            bits, integer = int(q.bits), int(q.integer)
            frac = bits - 1 - integer
            lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
            codes = rng.integers(int(np.floor(lo * scale)), int(np.ceil(hi * scale)) + 1, size=var.shape)
            if extreme > 0:
                pick = rng.random(var.shape) < extreme
                codes = np.where(pick, np.where(rng.random(var.shape) < 0.7, hi, lo), codes)
            new.append(np.ldexp(codes.astype(np.float64), -frac).astype(np.float32))
        layer.set_weights(new)


def predict(model: keras.Model, x: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """Forward pass without Keras' per-call overhead for large arrays."""
    return model.predict(x, batch_size=batch_size, verbose=0)
