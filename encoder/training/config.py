"""Model configs (YAML): reading, merging and validation, without TensorFlow.

A config describes one autoencoder: the sensor geometry and input
arrangement, the hardware input path, the quantized encoder (conv layers,
then a dense layer producing the latents, every weight, bias and
activation with its QKeras bit width), the float decoder and the training
recipe. ``extends: other.yaml`` starts from another config and overrides
the keys given (mappings merge, lists and scalars replace).

Formats follow QKeras: weights and biases are ``quantized_bits(bits,
integer, alpha=1)`` (signed, ``bits - 1 - integer`` fractional bits),
activations ``quantized_relu(bits, integer)`` (unsigned, ``bits - integer``
fractional bits), the input ``quantized_bits(bits, integer,
keep_negative=0)`` (unsigned, ``bits - integer`` fractional bits).

Every error names the file and the key. Besides errors, validation warns
(``Float32ExactnessWarning``) when some partial sum could need more than
float32's 24-bit mantissa: QKeras computes in float32, so for such a
config it is not guaranteed to match the integer golden model bit for bit.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from .. import geometry as geometry_mod
from ..errors import UserError
from ..files import read_yaml
from ..ir.fixed import FixedFormat, bits_for_range
from ..ir.schema import (
    Conv2DLayer,
    DenseLayer,
    EncoderIR,
    FlattenLayer,
    InputPath,
    Requant,
    accumulator_frac,
    output_code_range,
)

LOSSES = ("telescope", "mse", "weighted_mse", "emd_tree", "sinkhorn")
PADDINGS = ("same", "valid")
NORMALISATIONS = ("leading_one", "fixed_shift")
OUTPUT_ACTIVATIONS = ("sigmoid", "relu", "linear")
MONITORS = ("val_emd", "val_loss")
MAX_BITS = 32
FLOAT32_EXACT = 1 << 24        # every integer up to 2**24 is a float32
GOLDEN_MAX_ACC_BITS = 62       # the golden model accumulates in int64


class ConfigError(UserError):
    """A config file that cannot describe a model; the message names file and key."""


class Float32ExactnessWarning(UserWarning):
    """QKeras' float32 arithmetic may round where the integer model does not."""


# -- the config objects --------------------------------------------------

@dataclass(frozen=True)
class Quant:
    """Bit width and integer bits of one QKeras quantizer."""

    bits: int
    integer: int

    def signed_format(self) -> FixedFormat:
        """quantized_bits(bits, integer): sign + integer bits, the rest fractional."""
        return FixedFormat(True, self.bits, self.bits - 1 - self.integer)

    def unsigned_format(self) -> FixedFormat:
        """quantized_relu(bits, integer) or quantized_bits(..., keep_negative=0)."""
        return FixedFormat(False, self.bits, self.bits - self.integer)

    def to_dict(self) -> dict:
        return {"bits": self.bits, "integer": self.integer}


@dataclass(frozen=True)
class InputSpec:
    bits: int = 8
    integer: int = 1
    charge_bits: int = 22
    counts_per_mip: float = 35.0
    normalisation: str = "leading_one"
    shift: int = 0

    @property
    def quant(self) -> Quant:
        return Quant(self.bits, self.integer)

    @property
    def format(self) -> FixedFormat:
        return self.quant.unsigned_format()

    def to_dict(self) -> dict:
        return {"bits": self.bits, "integer": self.integer, "charge_bits": self.charge_bits,
                "counts_per_mip": self.counts_per_mip, "normalisation": self.normalisation,
                "shift": self.shift}


@dataclass(frozen=True)
class ConvSpec:
    filters: int
    kernel: tuple[int, int]
    strides: tuple[int, int]
    padding: str
    weight: Quant
    bias: Quant
    activation: Quant

    def to_dict(self) -> dict:
        return {"filters": self.filters, "kernel": list(self.kernel), "strides": list(self.strides),
                "padding": self.padding, "weight": self.weight.to_dict(), "bias": self.bias.to_dict(),
                "activation": self.activation.to_dict()}


@dataclass(frozen=True)
class LatentSpec:
    size: int
    weight: Quant
    bias: Quant
    activation: Quant

    def to_dict(self) -> dict:
        return {"size": self.size, "weight": self.weight.to_dict(), "bias": self.bias.to_dict(),
                "activation": self.activation.to_dict()}


@dataclass(frozen=True)
class DecoderSpec:
    """The float decoder (off-detector, so free of the chip's limits).

    ``filters``: channels of its hidden layers (default: mirror the
    encoder's conv filters); ``extra_layers``: stride-1 transposed
    convolutions of that width before the output layer.
    """

    output_activation: str = "sigmoid"
    filters: int | None = None
    extra_layers: int = 0

    def to_dict(self) -> dict:
        d = {"output_activation": self.output_activation}
        if self.filters is not None:
            d["filters"] = self.filters
        if self.extra_layers:
            d["extra_layers"] = self.extra_layers
        return d


@dataclass(frozen=True)
class FinetuneSpec:
    """A second training stage from the first one's best epoch, usually with another loss."""

    loss: str
    epochs: int
    learning_rate: float
    patience: int

    def to_dict(self) -> dict:
        return {"loss": self.loss, "epochs": self.epochs, "learning_rate": self.learning_rate,
                "patience": self.patience}


@dataclass(frozen=True)
class TrainingSpec:
    # Defaults measured on 2 cores (docs/training_findings.md): converged in 10-20 minutes on 100k modules.
    loss: str = "sinkhorn"
    learning_rate: float = 3e-3
    batch_size: int = 1000
    epochs: int = 150
    patience: int = 10
    validation_fraction: float = 0.2
    seed: int = 0
    monitor: str = "val_emd"
    lr_patience: int = 3
    lr_factor: float = 0.5
    min_learning_rate: float = 1e-5
    val_emd_modules: int = 5000
    augment: bool = False
    stream_modules: int = 0
    train_modules: int = 0
    finetune: FinetuneSpec | None = None

    def to_dict(self) -> dict:
        d = {"loss": self.loss, "learning_rate": self.learning_rate, "batch_size": self.batch_size,
             "epochs": self.epochs, "patience": self.patience,
             "validation_fraction": self.validation_fraction, "seed": self.seed,
             "monitor": self.monitor, "lr_patience": self.lr_patience, "lr_factor": self.lr_factor,
             "min_learning_rate": self.min_learning_rate, "val_emd_modules": self.val_emd_modules,
             "augment": self.augment, "stream_modules": self.stream_modules,
             "train_modules": self.train_modules}
        if self.finetune is not None:
            d["finetune"] = self.finetune.to_dict()
        return d


@dataclass(frozen=True)
class ModelConfig:
    name: str
    geometry: str
    arrangement: str
    input: InputSpec
    conv: tuple[ConvSpec, ...]
    latent: LatentSpec
    decoder: DecoderSpec = DecoderSpec()
    training: TrainingSpec = TrainingSpec()
    description: str = ""
    elinks: int | None = None
    path: str = "<config>"                # where it was read from (for messages)
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(geometry_mod.load(self.geometry).arrangement(self.arrangement).shape)

    def conv_shapes(self) -> list[tuple[tuple[int, int, int], tuple[int, int, int]]]:
        """(input shape, output shape) of every conv layer."""
        shapes, shape = [], self.input_shape
        for c in self.conv:
            out = conv_output_shape(shape, c)
            shapes.append((shape, out))
            shape = out
        return shapes

    @property
    def n_params(self) -> int:
        return skeleton_ir(self).n_params

    def to_dict(self) -> dict:
        d = {"name": self.name}
        if self.description:
            d["description"] = self.description
        d.update({"geometry": self.geometry, "arrangement": self.arrangement})
        if self.elinks is not None:
            d["elinks"] = self.elinks
        d.update({
            "input": self.input.to_dict(),
            "encoder": {"conv": [c.to_dict() for c in self.conv], "latent": self.latent.to_dict()},
            "decoder": self.decoder.to_dict(),
            "training": self.training.to_dict(),
        })
        return d

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    def replace_training(self, **changes) -> "ModelConfig":
        from dataclasses import replace
        return replace(self, training=replace(self.training, **changes))


# -- shapes --------------------------------------------------------------

def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """Keras 'same' padding (before, after): the odd pixel goes after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def conv_padding(in_shape, c: ConvSpec) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) zero padding of a conv layer."""
    if c.padding == "valid":
        return (0, 0, 0, 0)
    return (*same_padding(in_shape[0], c.kernel[0], c.strides[0]),
            *same_padding(in_shape[1], c.kernel[1], c.strides[1]))


def conv_output_shape(in_shape, c: ConvSpec) -> tuple[int, int, int]:
    h, w, _ = in_shape
    if c.padding == "same":
        return (-(-h // c.strides[0]), -(-w // c.strides[1]), c.filters)
    return ((h - c.kernel[0]) // c.strides[0] + 1 if h >= c.kernel[0] else 0,
            (w - c.kernel[1]) // c.strides[1] + 1 if w >= c.kernel[1] else 0, c.filters)


# -- reading ---------------------------------------------------------------

def _read_yaml(path: Path, chain: tuple[Path, ...] = ()) -> dict:
    path = Path(path)
    if path.resolve() in chain:
        raise ConfigError(f"{path}: extends: circular chain {' -> '.join(str(p) for p in chain)}")
    raw = read_yaml(path, ConfigError, "no such config file")
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: top level must be a mapping of keys")
    base = raw.pop("extends", None)
    if base is None:
        return raw
    if not isinstance(base, str):
        raise ConfigError(f"{path}: extends: must be a file name, got {base!r}")
    parent = _read_yaml(path.parent / base, chain + (path.resolve(),))
    return _merge(parent, raw)


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def load_config(path) -> ModelConfig:
    """Read, merge and validate a config file (warnings via ``warnings.warn``)."""
    return parse_config(_read_yaml(Path(path)), str(path))


class _Section:
    """Typed access to one mapping of the config with errors naming file and key."""

    def __init__(self, d, where: str, path: str, allowed: tuple[str, ...]):
        self.path, self.where = path, where
        if d is None:
            d = {}
        if not isinstance(d, dict):
            self.fail("", f"must be a mapping, got {type(d).__name__}")
        unknown = [k for k in d if k not in allowed]
        if unknown:
            self.fail(str(unknown[0]), f"unknown key (allowed here: {', '.join(allowed)})")
        self.d = d

    def key(self, k: str) -> str:
        return f"{self.where}.{k}" if self.where and k else (self.where or k)

    def fail(self, k: str, msg: str):
        raise ConfigError(f"{self.path}: {self.key(k)}: {msg}")

    def has(self, k: str) -> bool:
        return k in self.d

    def get(self, k, default=None, required=False):
        if k not in self.d:
            if required:
                self.fail(k, "missing (required)")
            return default
        return self.d[k]

    def int(self, k, default=None, lo=None, hi=None, required=False) -> int:
        v = self.get(k, default, required)
        if isinstance(v, bool) or not isinstance(v, int):
            self.fail(k, f"must be an integer, got {v!r}")
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            rng = f"{lo}..{hi}" if hi is not None else f">= {lo}"
            self.fail(k, f"{v} outside {rng}")
        return v

    def float(self, k, default=None, lo=None, hi=None, open_lo=False, open_hi=False) -> float:
        v = self.get(k, default)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
            self.fail(k, f"must be a number, got {v!r}")
        v = float(v)
        if lo is not None and (v < lo or (open_lo and v == lo)):
            self.fail(k, f"{v} must be {'>' if open_lo else '>='} {lo}")
        if hi is not None and (v > hi or (open_hi and v == hi)):
            self.fail(k, f"{v} must be {'<' if open_hi else '<='} {hi}")
        return v

    def bool(self, k, default=None) -> bool:
        v = self.get(k, default)
        if not isinstance(v, bool):
            self.fail(k, f"must be true or false, got {v!r}")
        return v

    def choice(self, k, options, default=None, required=False) -> str:
        v = self.get(k, default, required)
        if v not in options:
            self.fail(k, f"{v!r} is not one of {', '.join(options)}")
        return v

    def pair(self, k, default=None, required=False) -> tuple[int, int]:
        v = self.get(k, default, required)
        if isinstance(v, int) and not isinstance(v, bool):
            v = [v, v]
        if (not isinstance(v, (list, tuple)) or len(v) != 2
                or not all(isinstance(i, int) and not isinstance(i, bool) for i in v)):
            self.fail(k, f"must be an integer or a pair of integers, got {v!r}")
        if min(v) < 1:
            self.fail(k, f"{list(v)}: must be >= 1")
        return int(v[0]), int(v[1])

    def sub(self, k, allowed, required=False) -> "_Section":
        v = self.get(k, None, required)
        return _Section(v, self.key(k), self.path, allowed)


def _quant(s: _Section, k: str, signed: bool, default: Quant | None = None) -> Quant:
    if not s.has(k) and default is not None:
        return default
    q = s.sub(k, ("bits", "integer"), required=True)
    bits = q.int("bits", required=True, lo=1, hi=MAX_BITS)
    if signed and bits < 2:
        q.fail("bits", "signed weights and biases need at least 2 bits (QKeras quantized_bits with "
                       "1 bit is a +-1 binary quantizer, not a fixed-point number)")
    # QKeras 0.9 computes 2**integer with integer tensors, which fails for negative exponents.
    integer = q.int("integer", required=True, lo=0, hi=MAX_BITS)
    return Quant(bits, integer)


TOP_KEYS = ("name", "description", "geometry", "arrangement", "elinks", "input", "encoder",
            "decoder", "training")


def parse_config(d: dict, path: str = "<config>") -> ModelConfig:
    """A merged config mapping -> validated ``ModelConfig``."""
    top = _Section(d, "", path, TOP_KEYS)
    name = top.get("name", Path(path).stem)
    if not isinstance(name, str) or not name:
        top.fail("name", f"must be a non-empty string, got {name!r}")
    description = top.get("description", "")
    if not isinstance(description, str):
        top.fail("description", "must be a string")

    geo = top.get("geometry", "hgcal")
    if geo not in geometry_mod.available():
        top.fail("geometry", f"{geo!r} is not one of {', '.join(geometry_mod.available())}")
    g = geometry_mod.load(geo)
    arrangement = top.get("arrangement", "8x8")
    if arrangement not in g.arrangements:
        top.fail("arrangement", f"{arrangement!r}: geometry {geo} has {', '.join(sorted(g.arrangements))}")
    elinks = top.get("elinks")
    if elinks is not None:
        elinks = top.int("elinks", lo=1, hi=64)

    si = top.sub("input", ("bits", "integer", "charge_bits", "counts_per_mip", "normalisation", "shift"))
    inp = InputSpec(
        bits=si.int("bits", 8, lo=1, hi=MAX_BITS),
        integer=si.int("integer", 1, lo=0, hi=MAX_BITS),
        charge_bits=si.int("charge_bits", 22, lo=1, hi=40),
        counts_per_mip=si.float("counts_per_mip", 35.0, lo=0.0, open_lo=True),
        normalisation=si.choice("normalisation", NORMALISATIONS, "leading_one"),
        shift=si.int("shift", 0, lo=0, hi=63),
    )

    se = top.sub("encoder", ("conv", "latent"), required=True)
    conv_list = se.get("conv", [])
    if not isinstance(conv_list, list):
        se.fail("conv", "must be a list of conv layers (may be empty)")
    convs = []
    shape = g.arrangement(arrangement).shape
    for i, cd in enumerate(conv_list):
        sc = _Section(cd, f"encoder.conv[{i}]", path,
                      ("filters", "kernel", "strides", "padding", "weight", "bias", "activation"))
        c = ConvSpec(
            filters=sc.int("filters", required=True, lo=1, hi=4096),
            kernel=sc.pair("kernel", required=True),
            strides=sc.pair("strides", (1, 1)),
            padding=sc.choice("padding", PADDINGS, "same"),
            weight=_quant(sc, "weight", True),
            bias=_quant(sc, "bias", True),
            activation=_quant(sc, "activation", False),
        )
        out = conv_output_shape(shape, c)
        if min(out[:2]) < 1:
            sc.fail("kernel", f"{c.kernel[0]}x{c.kernel[1]} with padding {c.padding} on a "
                              f"{'x'.join(map(str, shape))} input leaves no output")
        convs.append(c)
        shape = out
    sl = se.sub("latent", ("size", "weight", "bias", "activation"), required=True)
    latent = LatentSpec(
        size=sl.int("size", required=True, lo=1, hi=4096),
        weight=_quant(sl, "weight", True),
        bias=_quant(sl, "bias", True),
        activation=_quant(sl, "activation", False),
    )

    sd = top.sub("decoder", ("output_activation", "filters", "extra_layers"))
    decoder = DecoderSpec(sd.choice("output_activation", OUTPUT_ACTIVATIONS, "sigmoid"),
                          sd.int("filters", lo=1, hi=4096) if sd.get("filters") is not None else None,
                          sd.int("extra_layers", 0, lo=0, hi=8))

    st = top.sub("training", ("loss", "learning_rate", "batch_size", "epochs", "patience",
                              "validation_fraction", "seed", "monitor", "lr_patience", "lr_factor",
                              "min_learning_rate", "val_emd_modules", "augment", "stream_modules",
                              "train_modules", "finetune"))
    dflt = TrainingSpec()
    learning_rate = st.float("learning_rate", dflt.learning_rate, lo=0.0, open_lo=True)
    patience = st.int("patience", dflt.patience, lo=0)
    finetune = None
    if st.has("finetune") and st.get("finetune") is not None:
        sf = st.sub("finetune", ("loss", "epochs", "learning_rate", "patience"), required=True)
        finetune = FinetuneSpec(
            loss=sf.choice("loss", LOSSES, required=True),
            epochs=sf.int("epochs", required=True, lo=1),
            learning_rate=sf.float("learning_rate", learning_rate, lo=0.0, open_lo=True),
            patience=sf.int("patience", patience, lo=0),
        )
    training = TrainingSpec(
        loss=st.choice("loss", LOSSES, dflt.loss),
        learning_rate=learning_rate,
        batch_size=st.int("batch_size", dflt.batch_size, lo=1),
        epochs=st.int("epochs", dflt.epochs, lo=1),
        patience=patience,
        validation_fraction=st.float("validation_fraction", dflt.validation_fraction, lo=0.0, hi=1.0,
                                     open_lo=True, open_hi=True),
        seed=st.int("seed", dflt.seed, lo=0),
        monitor=st.choice("monitor", MONITORS, dflt.monitor),
        lr_patience=st.int("lr_patience", dflt.lr_patience, lo=0),
        lr_factor=st.float("lr_factor", dflt.lr_factor, lo=0.0, hi=1.0, open_lo=True, open_hi=True),
        min_learning_rate=st.float("min_learning_rate", dflt.min_learning_rate, lo=0.0),
        val_emd_modules=st.int("val_emd_modules", dflt.val_emd_modules, lo=1),
        augment=st.bool("augment", dflt.augment),
        stream_modules=st.int("stream_modules", dflt.stream_modules, lo=0, hi=10_000_000),
        train_modules=st.int("train_modules", dflt.train_modules, lo=0),
        finetune=finetune,
    )
    if finetune is not None and training.monitor != "val_emd":
        st.fail("finetune", "needs monitor: val_emd (the stages' losses are not comparable with each other)")

    cfg = ModelConfig(name=name, geometry=geo, arrangement=arrangement, input=inp, conv=tuple(convs),
                      latent=latent, decoder=decoder, training=training, description=description,
                      elinks=elinks, path=path)
    if elinks is not None:
        need = latent.size * latent.activation.bits
        room = payload_bits(elinks)
        if need > room:
            top.fail("elinks", f"{elinks} e-links carry {room} latent bits per crossing; "
                               f"{latent.size} latents x {latent.activation.bits} bits need {need}")
    notes = check_arithmetic(cfg)
    for note in notes:
        warnings.warn(note, Float32ExactnessWarning, stacklevel=2)
    object.__setattr__(cfg, "warnings", tuple(notes))
    return cfg


def payload_bits(elinks: int, header_bits: int = 5, sum_bits: int = 9) -> int:
    """Latent bits per crossing on ``elinks`` 32-bit e-links after header and module sum."""
    return 32 * elinks - header_bits - sum_bits


# -- formats and arithmetic bounds ------------------------------------------

def skeleton_ir(cfg: ModelConfig, weights=None) -> EncoderIR:
    """The config's encoder as an IR with zero weights (or the given integer codes).

    ``weights`` is a list of (weight codes, bias codes) per MAC layer. The
    skeleton carries every format, shape and the input path, so bounds can
    be computed before any training.
    """
    g = geometry_mod.load(cfg.geometry)
    arr = g.arrangement(cfg.arrangement)
    ip = InputPath(n_cells=g.n_cells, arrangement=arr.name, shape=tuple(arr.shape),
                   pixel_to_cell=np.asarray(arr.pixel_to_cell), format=cfg.input.format,
                   rounding="half_even", charge_bits=cfg.input.charge_bits,
                   counts_per_mip=cfg.input.counts_per_mip, normalisation=cfg.input.normalisation,
                   shift=cfg.input.shift)
    layers, shape, k = [], tuple(arr.shape), 0
    for i, c in enumerate(cfg.conv):
        w, b = _codes(weights, k, (*c.kernel, shape[2], c.filters), c.filters)
        layer = Conv2DLayer(name=f"conv{i}" if len(cfg.conv) > 1 else "conv", input_shape=shape,
                            weight=w, weight_format=c.weight.signed_format(), bias=b,
                            bias_format=c.bias.signed_format(),
                            output=Requant(c.activation.unsigned_format(), "half_even", "saturate"),
                            activation="relu", kernel=c.kernel, strides=c.strides,
                            padding=conv_padding(shape, c))
        layers.append(layer)
        shape = layer.output_shape
        k += 1
    if len(shape) == 3:
        layers.append(FlattenLayer("flatten", shape))
        shape = (int(np.prod(shape)),)
    lt = cfg.latent
    w, b = _codes(weights, k, (shape[0], lt.size), lt.size)
    layers.append(DenseLayer(name="dense", input_shape=shape, weight=w,
                             weight_format=lt.weight.signed_format(), bias=b,
                             bias_format=lt.bias.signed_format(),
                             output=Requant(lt.activation.unsigned_format(), "half_even", "saturate"),
                             activation="relu"))
    return EncoderIR(name=cfg.name, geometry=cfg.geometry, input=ip, layers=layers, arithmetic="qkeras")


def _codes(weights, k, wshape, n_out):
    if weights is None:
        return np.zeros(wshape, dtype=np.int64), np.zeros(n_out, dtype=np.int64)
    w, b = weights[k]
    return np.asarray(w, dtype=np.int64).reshape(wshape), np.asarray(b, dtype=np.int64).reshape(n_out)


def partial_sum_bound(layer, in_hi: int, in_frac: int, programmable: bool = False) -> int:
    """Largest |partial sum| of the layer's accumulation, in accumulator LSBs.

    Inputs are codes in [0, in_hi]; any subset of the products, with or
    without the bias, in any order, stays within the bound. With
    ``programmable`` the bound holds for every weight the formats allow.
    Products are taken exact (the QKeras arithmetic).
    """
    af = max(in_frac + layer.weight_format.frac, layer.bias_format.frac)
    w_shift = af - (in_frac + layer.weight_format.frac)
    b_shift = af - layer.bias_format.frac
    n_taps = int(np.prod(layer.weight.shape[:-1]))
    if programmable:
        wf, bf = layer.weight_format, layer.bias_format
        pos = n_taps * max(wf.max_code, 0) * in_hi
        neg = n_taps * -min(wf.min_code, 0) * in_hi
        bpos, bneg = max(bf.max_code, 0), -min(bf.min_code, 0)
        return max((pos << w_shift) + (bpos << b_shift), (neg << w_shift) + (bneg << b_shift))
    w = layer.weight.reshape(n_taps, -1).astype(object)
    pos = np.where(w > 0, w, 0).sum(axis=0) * in_hi
    neg = -np.where(w < 0, w, 0).sum(axis=0) * in_hi
    b = layer.bias.astype(object)
    bpos, bneg = np.where(b > 0, b, 0), -np.where(b < 0, b, 0)
    bound = np.maximum(pos * (1 << w_shift) + bpos * (1 << b_shift),
                       neg * (1 << w_shift) + bneg * (1 << b_shift))
    return int(bound.max(initial=0))


def layer_bounds(ir: EncoderIR, programmable: bool = False) -> list[tuple[str, int, int]]:
    """(layer name, partial-sum bound, accumulator frac) for every MAC layer."""
    out = []
    hi, frac = ir.input.format.max_code, ir.input.format.frac
    for layer in ir.mac_layers:
        out.append((layer.name, partial_sum_bound(layer, hi, frac, programmable),
                    accumulator_frac(layer, frac)))
        hi = output_code_range(layer)[1]
        frac = layer.output.format.frac
    return out


def float32_notes(ir: EncoderIR, programmable: bool = False) -> list[str]:
    """Why QKeras (float32) might not match the integer model bit for bit; empty when it must."""
    notes = []
    for name, bound, frac in layer_bounds(ir, programmable):
        if bound > FLOAT32_EXACT:
            what = "weights the formats allow" if programmable else "these weights"
            notes.append(f"layer {name}: partial sums can reach {bound} x 2^-{frac} with {what} "
                         f"(more than 2^24); QKeras computes in float32 and may round where the "
                         f"integer golden model does not")
    if ir.input.charge_bits > 24:
        notes.append(f"input.charge_bits {ir.input.charge_bits} > 24: the normalised float input "
                     f"cannot hold every count exactly in float32")
    return notes


def check_arithmetic(cfg: ModelConfig) -> list[str]:
    """Errors for accumulators the golden model cannot hold; float32 notes for the rest."""
    ir = skeleton_ir(cfg)
    hi, frac = ir.input.format.max_code, ir.input.format.frac
    for i, layer in enumerate(ir.mac_layers):
        bound = partial_sum_bound(layer, hi, frac, programmable=True)
        _, bits = bits_for_range(-bound, bound)
        if bits > GOLDEN_MAX_ACC_BITS:
            key = f"encoder.conv[{i}]" if i < len(cfg.conv) else "encoder.latent"
            raise ConfigError(f"{cfg.path}: {key}: accumulator would need {bits} bits, more than the "
                              f"{GOLDEN_MAX_ACC_BITS} the integer model handles; use fewer bits")
        hi = output_code_range(layer)[1]
        frac = layer.output.format.frac
    return float32_notes(ir, programmable=True)


# -- input-path settings for exporting models trained elsewhere --------------

@dataclass(frozen=True)
class InputSettings:
    """Everything of the input path that a QKeras model does not hold itself."""

    geometry: str = "hgcal"
    arrangement: str = "8x8"
    charge_bits: int = 22
    counts_per_mip: float = 35.0
    normalisation: str = "leading_one"
    shift: int = 0

    @classmethod
    def from_config(cls, cfg: ModelConfig) -> "InputSettings":
        i = cfg.input
        return cls(cfg.geometry, cfg.arrangement, i.charge_bits, i.counts_per_mip, i.normalisation, i.shift)


INPUT_SETTING_KEYS = ("geometry", "arrangement", "charge_bits", "counts_per_mip", "normalisation", "shift")


def parse_input_settings(d: dict, path: str = "<input config>", base: InputSettings | None = None) -> InputSettings:
    """A flat mapping of INPUT_SETTING_KEYS (missing keys from ``base``) -> InputSettings."""
    b = base or InputSettings()
    s = _Section(d, "", path, INPUT_SETTING_KEYS)
    geo = s.get("geometry", b.geometry)
    if geo not in geometry_mod.available():
        s.fail("geometry", f"{geo!r} is not one of {', '.join(geometry_mod.available())}")
    arrangement = s.get("arrangement", b.arrangement)
    arrs = geometry_mod.load(geo).arrangements
    if arrangement not in arrs:
        s.fail("arrangement", f"{arrangement!r}: geometry {geo} has {', '.join(sorted(arrs))}")
    return InputSettings(
        geometry=geo,
        arrangement=arrangement,
        charge_bits=s.int("charge_bits", b.charge_bits, lo=1, hi=40),
        counts_per_mip=s.float("counts_per_mip", b.counts_per_mip, lo=0.0, open_lo=True),
        normalisation=s.choice("normalisation", NORMALISATIONS, b.normalisation),
        shift=s.int("shift", b.shift, lo=0, hi=63),
    )


def load_input_settings(path, base: InputSettings | None = None) -> InputSettings:
    """A small YAML of input-path keys, or a full model config (its input path is used)."""
    d = _read_yaml(Path(path))
    if "encoder" in d:
        return InputSettings.from_config(parse_config(d, str(path)))
    return parse_input_settings(d, str(path), base)
