"""QKeras encoder -> integer IR.

The model must be a chain: an input quantizer, then QConv2D / QDense layers,
each followed by a quantized activation (its own ``activation`` or a
``QActivation``), with ``Flatten`` (and inference no-ops such as
``Dropout``) in between. Every weight and bias is read through its QKeras
quantizer and turned into integer codes of that quantizer's fixed-point
format; anything that is not such a format stops the export with the
layer's name.

Arithmetic rules written into the IR:

- ``qkeras``: what QKeras computes (in exact arithmetic): the input
  rounded half to even, exact products, one rounding (half to even) and
  saturation per activation.
- ``econt``: the ECON-T chip's rules with the same formats: inputs
  truncated, every product floored to the layer's output LSB before the
  sum, outputs floored and saturated.
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import geometry as geometry_mod
from ..errors import UserError
from ..ir.arithmetic import ARITHMETICS, with_arithmetic
from ..ir.fixed import FixedFormat
from ..ir.schema import (
    Conv2DLayer,
    DenseLayer,
    EncoderIR,
    FlattenLayer,
    InputPath,
    Requant,
    infer_accumulators,
    validate,
)
from .config import Float32ExactnessWarning, InputSettings, float32_notes, same_padding
from .tf_env import keras, qkeras

NO_OP_LAYERS = ("Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "ActivityRegularization")


class ExportError(UserError):
    """The model holds something the integer IR cannot represent."""


def _describe(layer) -> str:
    return f"layer {layer.name!r} ({type(layer).__name__})"


def _is_linear(fn) -> bool:
    return fn is None or getattr(fn, "__name__", "") == "linear"


def _is_plain_relu(fn) -> bool:
    return getattr(fn, "__name__", "") == "relu" and not isinstance(fn, qkeras.quantizers.BaseQuantizer)


def _check_common(q, where: str) -> None:
    alpha = getattr(q, "alpha", None)
    if alpha is not None and (isinstance(alpha, str) or not np.all(np.asarray(alpha) == 1)):
        raise ExportError(f"{where}: {q} has alpha={alpha!r}; only alpha=1 or None is a plain "
                          f"fixed-point format (give quantized_bits alpha=1: QKeras turns alpha=None "
                          f"into a learned power-of-two scale for kernels)")
    qnoise = getattr(q, "qnoise_factor", 1.0)
    if float(np.asarray(qnoise)) != 1.0:
        raise ExportError(f"{where}: {q} has qnoise_factor={float(np.asarray(qnoise))}; only 1.0 quantizes fully")


def quantizer_format(q, where: str, *, activation: bool = False) -> tuple[FixedFormat, str]:
    """(format, activation kind) of a QKeras quantizer: 'relu' for quantized_relu, else 'linear'."""
    if isinstance(q, qkeras.quantized_bits):
        _check_common(q, where)
        bits, integer = int(q.bits), int(np.asarray(q.integer))
        if q.keep_negative:
            if bits < 2:
                raise ExportError(f"{where}: {q} with 1 bit is a +-1 binary quantizer, not fixed point")
            return FixedFormat(True, bits, bits - 1 - integer), "linear"
        return FixedFormat(False, bits, bits - integer), "linear"
    if isinstance(q, qkeras.quantized_relu):
        _check_common(q, where)
        if getattr(q, "use_sigmoid", 0):
            raise ExportError(f"{where}: {q} uses a sigmoid; only the plain quantized ReLU is supported")
        if getattr(q, "negative_slope", 0.0):
            raise ExportError(f"{where}: {q} has a negative slope; only the plain quantized ReLU is supported")
        if not getattr(q, "is_quantized_clip", True) and getattr(q, "relu_upper_bound", None) is not None:
            raise ExportError(f"{where}: {q} clips at relu_upper_bound, which is not a format boundary")
        bits, integer = int(q.bits), int(np.asarray(q.integer))
        return FixedFormat(False, bits, bits - integer), "relu"
    name = getattr(q, "__name__", None) or type(q).__name__
    raise ExportError(f"{where}: {name} is not quantized_bits or quantized_relu, "
                      f"so {'its output' if activation else 'it'} is not a fixed-point tensor")


def _codes(values: np.ndarray, q, fmt: FixedFormat, where: str) -> np.ndarray:
    """Float weights -> integer codes, through the QKeras quantizer itself."""
    quantized = np.asarray(q(values.astype(np.float32)), dtype=np.float64)
    scaled = np.ldexp(quantized, fmt.frac)
    codes = np.rint(scaled)
    if not np.array_equal(codes, scaled):
        raise ExportError(f"{where}: quantized values are not multiples of 2^-{fmt.frac}")
    codes = codes.astype(np.int64)
    if codes.size and (codes.min() < fmt.min_code or codes.max() > fmt.max_code):
        raise ExportError(f"{where}: codes outside {fmt}")
    return codes


def _chain(model) -> list:
    """The model's layers in order; refuses branching models."""
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ExportError(f"model {model.name!r}: needs exactly one input and one output")
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    prev = model.inputs[0]
    for layer in layers:
        inbound = layer.input
        if isinstance(inbound, (list, tuple)) or inbound is not prev:
            raise ExportError(f"{_describe(layer)}: the encoder must be a single chain of layers")
        prev = layer.output
    return layers


class _Pending:
    """A MAC layer waiting for its activation."""

    def __init__(self, layer, kind, fields):
        self.layer, self.kind, self.fields = layer, kind, fields
        self.relu_seen = False


def export_model(model, settings: InputSettings, *, name: str | None = None,
                 arithmetic: str = "qkeras", source: dict | None = None) -> EncoderIR:
    """A QKeras encoder and its input-path settings -> validated ``EncoderIR``."""
    if arithmetic not in ARITHMETICS:
        raise ExportError(f"arithmetic {arithmetic!r}: choose one of {', '.join(ARITHMETICS)}")
    geo = geometry_mod.load(settings.geometry)
    arr = geo.arrangement(settings.arrangement)
    in_shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    if in_shape != tuple(arr.shape):
        raise ExportError(f"model input shape {list(in_shape)} does not match arrangement "
                          f"{arr.name} of geometry {geo.name} ({list(arr.shape)})")
    layers = _chain(model)

    if not layers or not isinstance(layers[0], qkeras.QActivation):
        first = _describe(layers[0]) if layers else "nothing"
        raise ExportError(f"model input is not quantized: the first layer is {first}; add "
                          f"QActivation(quantized_bits(bits, integer, keep_negative=False)) at the input")
    in_fmt, _ = quantizer_format(layers[0].quantizer, f"{_describe(layers[0])}: input quantizer", activation=True)
    if in_fmt.signed:
        # A signed quantizer on non-negative inputs uses only its non-negative codes.
        in_fmt = FixedFormat(False, in_fmt.bits - 1, in_fmt.frac)
    ip = InputPath(n_cells=geo.n_cells, arrangement=arr.name, shape=tuple(arr.shape),
                   pixel_to_cell=np.asarray(arr.pixel_to_cell), format=in_fmt, rounding="half_even",
                   charge_bits=settings.charge_bits, counts_per_mip=settings.counts_per_mip,
                   normalisation=settings.normalisation, shift=settings.shift)

    out_layers: list = []
    shape: tuple = tuple(arr.shape)
    pending: _Pending | None = None

    def finish(p: _Pending, fmt: FixedFormat, act: str):
        nonlocal shape
        f = p.fields
        if p.relu_seen:
            act = "relu"
        out = Requant(fmt, "half_even", "saturate")
        if p.kind == "conv":
            layer = Conv2DLayer(output=out, activation=act, **f)
        else:
            layer = DenseLayer(output=out, activation=act, **f)
        out_layers.append(layer)
        shape = layer.output_shape

    for layer in layers[1:]:
        where = _describe(layer)
        cls = type(layer).__name__
        if isinstance(layer, (qkeras.QConv2D, qkeras.QDense)):
            if pending is not None:
                raise ExportError(f"{_describe(pending.layer)}: output is not quantized (no quantized "
                                  f"activation before {where})")
            kind = "conv" if isinstance(layer, qkeras.QConv2D) else "dense"
            f = _mac_fields(layer, kind, shape, where)
            pending = _Pending(layer, kind, f)
            act = layer.activation
            if _is_linear(act):
                continue
            if _is_plain_relu(act):
                pending.relu_seen = True
                continue
            fmt, kind_act = quantizer_format(act, f"{where}: activation", activation=True)
            finish(pending, fmt, kind_act)
            pending = None
        elif isinstance(layer, qkeras.QActivation):
            if pending is None:
                raise ExportError(f"{where}: a second quantizer on an already quantized tensor is not "
                                  f"supported (place exactly one quantized activation after each layer)")
            fmt, kind_act = quantizer_format(layer.quantizer, f"{where}: activation", activation=True)
            finish(pending, fmt, kind_act)
            pending = None
        elif isinstance(layer, keras.layers.Flatten):
            if pending is not None:
                raise ExportError(f"{_describe(pending.layer)}: output is not quantized (Flatten follows "
                                  f"without a quantized activation)")
            if len(shape) != 1:
                out_layers.append(FlattenLayer(layer.name, shape))
                shape = out_layers[-1].output_shape
        elif cls in NO_OP_LAYERS:
            continue
        elif isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D)):
            raise ExportError(f"{where}: not a QKeras layer, its weights are unquantized floats; "
                              f"use QDense/QConv2D with kernel_quantizer and bias_quantizer")
        elif isinstance(layer, keras.layers.Activation) and _is_linear(layer.activation):
            continue
        elif isinstance(layer, (keras.layers.Activation, keras.layers.ReLU)):
            raise ExportError(f"{where}: unquantized activation; use QActivation(quantized_relu(bits, integer))")
        else:
            raise ExportError(f"{where}: not supported by the IR (supported: QActivation, QConv2D, "
                              f"QDense, Flatten)")
    if pending is not None:
        raise ExportError(f"{_describe(pending.layer)}: output is not quantized (no quantized activation "
                          f"after it)")
    if not out_layers or isinstance(out_layers[-1], FlattenLayer):
        raise ExportError(f"model {model.name!r}: must end with a QConv2D or QDense layer and its activation")

    # Built in QKeras' arithmetic (what the model computes); the chip's rules are a transformation
    # of the same weights and formats (encoder.ir.arithmetic).
    ir = EncoderIR(name=name or model.name, geometry=geo.name, input=ip, layers=out_layers,
                   arithmetic="qkeras", source=dict(source or {}))
    infer_accumulators(ir)
    validate(ir)
    if arithmetic != "qkeras":
        ir = with_arithmetic(ir, arithmetic)
        ir.source = dict(source or {})
    if arithmetic == "qkeras":
        notes = float32_notes(ir)
        ir.source["float32_exact"] = not notes
        for note in notes:
            warnings.warn(note, Float32ExactnessWarning, stacklevel=2)
    return ir


def _mac_fields(layer, kind: str, shape: tuple, where: str) -> dict:
    kq, bq = layer.kernel_quantizer_internal, layer.bias_quantizer_internal
    if kq is None:
        raise ExportError(f"{where}: no kernel_quantizer, its weights are unquantized floats")
    if layer.use_bias and bq is None:
        raise ExportError(f"{where}: no bias_quantizer, its biases are unquantized floats")
    w_fmt, _ = quantizer_format(kq, f"{where}: kernel_quantizer")
    weights = layer.get_weights()
    kernel = weights[0]
    w = _codes(kernel, kq, w_fmt, f"{where}: kernel")
    n_out = kernel.shape[-1]
    if layer.use_bias:
        b_fmt, _ = quantizer_format(bq, f"{where}: bias_quantizer")
        b = _codes(weights[1], bq, b_fmt, f"{where}: bias")
    else:
        b_fmt, b = w_fmt, np.zeros(n_out, dtype=np.int64)
    f = dict(name=layer.name, input_shape=tuple(shape), weight=w, weight_format=w_fmt, bias=b, bias_format=b_fmt)
    if kind == "dense":
        if len(shape) != 1:
            raise ExportError(f"{where}: dense layer on a {len(shape)}-D input; add a Flatten before it")
        return f
    if len(shape) != 3:
        raise ExportError(f"{where}: conv layer needs a (rows, cols, channels) input, got {list(shape)}")
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        raise ExportError(f"{where}: only channels_last data format is supported")
    if tuple(layer.dilation_rate) != (1, 1):
        raise ExportError(f"{where}: dilation {tuple(layer.dilation_rate)} is not supported")
    if getattr(layer, "groups", 1) != 1:
        raise ExportError(f"{where}: grouped convolution is not supported")
    kh, kw = (int(k) for k in layer.kernel_size)
    sh, sw = (int(s) for s in layer.strides)
    if layer.padding == "same":
        pad = (*same_padding(shape[0], kh, sh), *same_padding(shape[1], kw, sw))
    elif layer.padding == "valid":
        pad = (0, 0, 0, 0)
    else:
        raise ExportError(f"{where}: padding {layer.padding!r} is not supported")
    f.update(kernel=(kh, kw), strides=(sh, sw), padding=pad)
    return f


def load_keras(path) -> keras.Model:
    """A QKeras model from .h5 (qkeras.utils.load_qmodel), with a one-line error."""
    from pathlib import Path
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return qkeras.utils.load_qmodel(str(path), compile=False)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise UserError(f"{path}: cannot load as a QKeras model ({str(exc).splitlines()[0]})") from None
