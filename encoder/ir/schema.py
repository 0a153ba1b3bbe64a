"""IR data classes, JSON (de)serialisation and validation.

Schema (version 1), one JSON object:

- ``schema`` = "encoder-ir", ``version`` = 1, ``name``, ``geometry``,
  ``arithmetic`` (a label: "qkeras" or "econt"; the rules themselves are in
  the fields below), ``source`` (free-form provenance), ``hash``.
- ``input``: the hardware input path (see ``InputPath``).
- ``layers``: ``conv2d``, ``flatten`` and ``dense`` entries. A MAC layer
  holds integer ``weight`` and ``bias`` codes with their formats, the
  ``product`` rule (exact, or every product rounded to ``frac`` bits before
  the sum, as the ECON-T chip does), the ``accumulator`` format (interval
  analysis guarantees no overflow), the ``activation`` and the ``output``
  requantization (format, rounding, overflow).

Weight layouts follow Keras: conv kernels (kh, kw, c_in, c_out), dense
kernels (n_in, n_out), both row-major in ``values``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import numpy as np

from .document import IRError, check_document
from .fixed import OVERFLOWS, ROUNDINGS, FixedFormat, bits_for_range, shift_round

IR_SCHEMA = "encoder-ir"
IR_VERSION = 1
ACTIVATIONS = ("relu", "linear")
NORMALISATIONS = ("leading_one", "fixed_shift")


def _req(d: dict, key: str, where: str):
    if not isinstance(d, dict) or key not in d:
        raise IRError(f"{where}: missing field {key!r}")
    return d[key]


def _choice(value, options, where):
    if value not in options:
        raise IRError(f"{where}: {value!r} is not one of {list(options)}")
    return value


def _fmt(d, where) -> FixedFormat:
    try:
        return FixedFormat.from_dict(d, where)
    except ValueError as exc:
        raise IRError(str(exc)) from None


def _int_tuple(v, n, where) -> tuple[int, ...]:
    if not isinstance(v, (list, tuple)) or len(v) != n or not all(isinstance(i, int) for i in v):
        raise IRError(f"{where}: expected a list of {n} integers, got {v!r}")
    return tuple(v)


@dataclass
class Requant:
    """How an accumulator becomes the next tensor: rounding then overflow."""

    format: FixedFormat
    rounding: str = "half_even"
    overflow: str = "saturate"

    def to_dict(self):
        return {"format": self.format.to_dict(), "rounding": self.rounding, "overflow": self.overflow}

    @classmethod
    def from_dict(cls, d, where):
        return cls(
            _fmt(_req(d, "format", where), f"{where}.format"),
            _choice(_req(d, "rounding", where), ROUNDINGS, f"{where}.rounding"),
            _choice(_req(d, "overflow", where), OVERFLOWS, f"{where}.overflow"),
        )


@dataclass
class InputPath:
    """Raw cell charges -> integer input codes of the first layer.

    Charges (MIPs) become unsigned integer counts of ``charge_bits`` bits
    (``counts_per_mip`` counts per MIP, rounded half to even, clipped). With
    ``leading_one`` normalisation each count is scaled by 2**-floor(log2 S)
    (S the module sum of counts) and quantized to ``format`` with
    ``rounding``; ``fixed_shift`` scales by 2**-shift instead. The module
    sum also leaves the encoder as a float code of ``sum_exp_bits`` +
    ``sum_mant_bits`` bits.
    """

    n_cells: int
    arrangement: str
    shape: tuple[int, int, int]
    pixel_to_cell: np.ndarray
    format: FixedFormat
    rounding: str = "half_even"
    charge_bits: int = 22
    counts_per_mip: float = 35.0
    normalisation: str = "leading_one"
    shift: int = 0
    sum_exp_bits: int = 5
    sum_mant_bits: int = 4

    def to_dict(self):
        return {
            "n_cells": self.n_cells,
            "charge_bits": self.charge_bits,
            "counts_per_mip": self.counts_per_mip,
            "normalisation": self.normalisation,
            "shift": self.shift,
            "arrangement": {"name": self.arrangement, "shape": list(self.shape),
                            "pixel_to_cell": [int(i) for i in self.pixel_to_cell]},
            "format": self.format.to_dict(),
            "rounding": self.rounding,
            "sum_code": {"exp_bits": self.sum_exp_bits, "mant_bits": self.sum_mant_bits},
        }

    @classmethod
    def from_dict(cls, d, where="input"):
        arr = _req(d, "arrangement", where)
        shape = _int_tuple(_req(arr, "shape", f"{where}.arrangement"), 3, f"{where}.arrangement.shape")
        p2c = np.asarray(_req(arr, "pixel_to_cell", f"{where}.arrangement"), dtype=np.int64)
        n_cells = _req(d, "n_cells", where)
        if p2c.shape != (int(np.prod(shape)),):
            raise IRError(f"{where}.arrangement.pixel_to_cell: {p2c.size} entries for shape {list(shape)}")
        if p2c.size and (p2c.min() < -1 or p2c.max() >= n_cells):
            raise IRError(f"{where}.arrangement.pixel_to_cell: entries must be -1 or 0..{n_cells - 1}")
        sc = _req(d, "sum_code", where)
        ip = cls(
            n_cells=n_cells,
            arrangement=_req(arr, "name", f"{where}.arrangement"),
            shape=shape,
            pixel_to_cell=p2c,
            format=_fmt(_req(d, "format", where), f"{where}.format"),
            rounding=_choice(_req(d, "rounding", where), ROUNDINGS, f"{where}.rounding"),
            charge_bits=_req(d, "charge_bits", where),
            counts_per_mip=float(_req(d, "counts_per_mip", where)),
            normalisation=_choice(_req(d, "normalisation", where), NORMALISATIONS, f"{where}.normalisation"),
            shift=int(d.get("shift", 0)),
            sum_exp_bits=_req(sc, "exp_bits", f"{where}.sum_code"),
            sum_mant_bits=_req(sc, "mant_bits", f"{where}.sum_code"),
        )
        if ip.format.signed:
            raise IRError(f"{where}.format: input codes are unsigned")
        if not 1 <= ip.charge_bits <= 40:
            raise IRError(f"{where}.charge_bits: {ip.charge_bits} outside 1..40")
        return ip


@dataclass
class FlattenLayer:
    name: str
    input_shape: tuple[int, ...]
    op: str = field(default="flatten", init=False)

    @property
    def output_shape(self) -> tuple[int, ...]:
        return (int(np.prod(self.input_shape)),)

    def to_dict(self):
        return {"name": self.name, "op": self.op, "input_shape": list(self.input_shape),
                "output_shape": list(self.output_shape)}


@dataclass
class MacLayer:
    """Shared part of conv2d and dense: weights, bias, product, accumulator, output."""

    name: str
    input_shape: tuple[int, ...]
    weight: np.ndarray
    weight_format: FixedFormat
    bias: np.ndarray
    bias_format: FixedFormat
    output: Requant
    activation: str = "relu"
    product_frac: int | None = None        # None: products kept exact
    product_rounding: str = "floor"
    accumulator: FixedFormat | None = None  # filled by interval analysis when None

    @property
    def n_out_channels(self) -> int:
        return int(self.weight.shape[-1])

    @property
    def n_params(self) -> int:
        return int(self.weight.size + self.bias.size)

    def _mac_dict(self) -> dict:
        return {
            "weight": {"format": self.weight_format.to_dict(), "shape": list(self.weight.shape),
                       "values": [int(v) for v in self.weight.ravel()]},
            "bias": {"format": self.bias_format.to_dict(), "values": [int(v) for v in self.bias]},
            "product": ({"exact": True} if self.product_frac is None else
                        {"exact": False, "frac": self.product_frac, "rounding": self.product_rounding}),
            "accumulator": self.accumulator.to_dict(),
            "activation": self.activation,
            "output": self.output.to_dict(),
        }

    @staticmethod
    def _mac_fields(d, where) -> dict:
        w = _req(d, "weight", where)
        b = _req(d, "bias", where)
        wshape = tuple(_req(w, "shape", f"{where}.weight"))
        try:
            wv = np.asarray(_req(w, "values", f"{where}.weight"), dtype=np.int64)
            bv = np.asarray(_req(b, "values", f"{where}.bias"), dtype=np.int64)
        except (TypeError, ValueError, OverflowError):
            raise IRError(f"{where}: weight and bias values must be integers") from None
        if wv.size != int(np.prod(wshape)):
            raise IRError(f"{where}.weight: {wv.size} values for shape {list(wshape)}")
        prod = _req(d, "product", where)
        exact = _req(prod, "exact", f"{where}.product")
        return dict(
            name=_req(d, "name", where),
            input_shape=tuple(_req(d, "input_shape", where)),
            weight=wv.reshape(wshape),
            weight_format=_fmt(_req(w, "format", f"{where}.weight"), f"{where}.weight.format"),
            bias=bv,
            bias_format=_fmt(_req(b, "format", f"{where}.bias"), f"{where}.bias.format"),
            product_frac=None if exact else int(_req(prod, "frac", f"{where}.product")),
            product_rounding="floor" if exact else _choice(
                _req(prod, "rounding", f"{where}.product"), ROUNDINGS, f"{where}.product.rounding"),
            accumulator=_fmt(_req(d, "accumulator", where), f"{where}.accumulator"),
            activation=_choice(_req(d, "activation", where), ACTIVATIONS, f"{where}.activation"),
            output=Requant.from_dict(_req(d, "output", where), f"{where}.output"),
        )


@dataclass
class Conv2DLayer(MacLayer):
    kernel: tuple[int, int] = (3, 3)
    strides: tuple[int, int] = (1, 1)
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)   # top, bottom, left, right
    op: str = field(default="conv2d", init=False)

    @property
    def output_shape(self) -> tuple[int, int, int]:
        h, w, _ = self.input_shape
        top, bottom, left, right = self.padding
        oh = (h + top + bottom - self.kernel[0]) // self.strides[0] + 1
        ow = (w + left + right - self.kernel[1]) // self.strides[1] + 1
        return (oh, ow, self.n_out_channels)

    def to_dict(self):
        return {"name": self.name, "op": self.op, "input_shape": list(self.input_shape),
                "output_shape": list(self.output_shape), "kernel": list(self.kernel),
                "strides": list(self.strides), "padding": list(self.padding), **self._mac_dict()}

    @classmethod
    def from_dict(cls, d, where):
        f = cls._mac_fields(d, where)
        layer = cls(**f, kernel=_int_tuple(_req(d, "kernel", where), 2, f"{where}.kernel"),
                    strides=_int_tuple(_req(d, "strides", where), 2, f"{where}.strides"),
                    padding=_int_tuple(_req(d, "padding", where), 4, f"{where}.padding"))
        if len(layer.input_shape) != 3 or layer.weight.ndim != 4:
            raise IRError(f"{where}: conv2d needs a (H, W, C) input and a (kh, kw, c_in, c_out) kernel")
        if layer.weight.shape[:3] != (*layer.kernel, layer.input_shape[2]):
            raise IRError(f"{where}.weight.shape {list(layer.weight.shape)} does not match kernel "
                          f"{list(layer.kernel)} and {layer.input_shape[2]} input channels")
        return layer


@dataclass
class DenseLayer(MacLayer):
    op: str = field(default="dense", init=False)

    @property
    def output_shape(self) -> tuple[int]:
        return (self.n_out_channels,)

    def to_dict(self):
        return {"name": self.name, "op": self.op, "input_shape": list(self.input_shape),
                "output_shape": list(self.output_shape), **self._mac_dict()}

    @classmethod
    def from_dict(cls, d, where):
        layer = cls(**cls._mac_fields(d, where))
        if len(layer.input_shape) != 1 or layer.weight.shape[:1] != layer.input_shape or layer.weight.ndim != 2:
            raise IRError(f"{where}: dense kernel shape {list(layer.weight.shape)} does not match "
                          f"input shape {list(layer.input_shape)}")
        return layer


Layer = Conv2DLayer | DenseLayer | FlattenLayer


@dataclass
class EncoderIR:
    name: str
    geometry: str
    input: InputPath
    layers: list
    arithmetic: str = "qkeras"
    source: dict = field(default_factory=dict)

    # -- derived facts -------------------------------------------------
    @property
    def mac_layers(self) -> list[MacLayer]:
        return [layer for layer in self.layers if isinstance(layer, MacLayer)]

    @property
    def n_params(self) -> int:
        return sum(layer.n_params for layer in self.mac_layers)

    @property
    def latent_format(self) -> FixedFormat:
        return self.mac_layers[-1].output.format

    @property
    def n_latent(self) -> int:
        return int(np.prod(self.layers[-1].output_shape))

    # -- serialisation -------------------------------------------------
    def to_dict(self, with_hash: bool = True) -> dict:
        d = {
            "schema": IR_SCHEMA,
            "version": IR_VERSION,
            "name": self.name,
            "geometry": self.geometry,
            "arithmetic": self.arithmetic,
            "source": self.source,
            "input": self.input.to_dict(),
            "layers": [layer.to_dict() for layer in self.layers],
            "summary": {"n_params": self.n_params, "n_latent": self.n_latent,
                        "latent_format": self.latent_format.to_dict()},
        }
        if with_hash:
            d["hash"] = content_hash(d)
        return d

    @property
    def hash(self) -> str:
        return content_hash(self.to_dict(with_hash=False))

    @classmethod
    def from_dict(cls, d: dict) -> "EncoderIR":
        if not isinstance(d, dict):
            raise IRError("top level: expected a JSON object")
        if d.get("schema") != IR_SCHEMA:
            raise IRError(f"schema: expected {IR_SCHEMA!r}, got {d.get('schema')!r}")
        if d.get("version") != IR_VERSION:
            raise IRError(f"version: this kit reads version {IR_VERSION}, file has {d.get('version')!r}")
        check_document(d)
        layers = []
        for i, ld in enumerate(_req(d, "layers", "top level")):
            where = f"layers[{i}]"
            op = _req(ld, "op", where)
            if op == "conv2d":
                layers.append(Conv2DLayer.from_dict(ld, where))
            elif op == "dense":
                layers.append(DenseLayer.from_dict(ld, where))
            elif op == "flatten":
                layers.append(FlattenLayer(_req(ld, "name", where), tuple(_req(ld, "input_shape", where))))
            else:
                raise IRError(f"{where}.op: unknown operation {op!r} (conv2d, flatten, dense)")
        ir = cls(
            name=_req(d, "name", "top level"),
            geometry=_req(d, "geometry", "top level"),
            input=InputPath.from_dict(_req(d, "input", "top level")),
            layers=layers,
            arithmetic=d.get("arithmetic", "qkeras"),
            source=d.get("source", {}),
        )
        validate(ir)
        if "hash" in d and d["hash"] != ir.hash:
            raise IRError("hash: the content does not match its hash (edited by hand? if the edit is meant, "
                          "`encoder ir rehash FILE --in-place` records it)")
        return ir


def content_hash(d: dict) -> str:
    body = {k: v for k, v in d.items() if k != "hash"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


# -- interval analysis -------------------------------------------------

def input_code_range(ir: EncoderIR) -> tuple[int, int]:
    return 0, ir.input.format.max_code


def product_frac(layer: MacLayer, in_frac: int) -> int:
    exact = in_frac + layer.weight_format.frac
    return exact if layer.product_frac is None else layer.product_frac


def accumulator_frac(layer: MacLayer, in_frac: int) -> int:
    """Products and bias are aligned to the finer of the two."""
    return max(product_frac(layer, in_frac), layer.bias_format.frac)


def _taps(layer: MacLayer) -> np.ndarray:
    """(n_in_per_output, c_out) weights seen by one output (padding taps included)."""
    return layer.weight.reshape(-1, layer.n_out_channels)


def accumulator_range(layer: MacLayer, in_lo: int, in_hi: int, in_frac: int,
                      weights: np.ndarray | None = None, bias: np.ndarray | None = None) -> tuple[int, int]:
    """[lo, hi] of the accumulator codes over every input in [in_lo, in_hi].

    With ``weights``/``bias`` None the layer's own constants are used; pass
    arrays spanning the weight format (see ``programmable_range``) for
    hardware whose weights are loaded at run time. Padding and masked
    inputs are zero, which lies inside [in_lo, in_hi] for unsigned inputs,
    so the bound over all taps is safe.
    """
    w = _taps(layer) if weights is None else weights
    b = layer.bias if bias is None else bias
    pf = product_frac(layer, in_frac)
    af = accumulator_frac(layer, in_frac)
    exact_frac = in_frac + layer.weight_format.frac
    cand = np.stack([w.astype(object) * int(in_lo), w.astype(object) * int(in_hi)])
    p_lo, p_hi = cand.min(axis=0), cand.max(axis=0)
    shift = exact_frac - pf
    if shift > 0:
        p_lo = np.vectorize(lambda v: int(shift_round(np.int64(v), shift, layer.product_rounding)))(p_lo)
        p_hi = np.vectorize(lambda v: int(shift_round(np.int64(v), shift, layer.product_rounding)))(p_hi)
    p_lo = p_lo.astype(object) * (1 << (af - pf))
    p_hi = p_hi.astype(object) * (1 << (af - pf))
    b = np.asarray(b).astype(object) * (1 << (af - layer.bias_format.frac))
    lo = p_lo.sum(axis=0) + b
    hi = p_hi.sum(axis=0) + b
    return int(min(lo.min(), 0)), int(max(hi.max(), 0))


def programmable_range(layer: MacLayer, in_lo: int, in_hi: int, in_frac: int) -> tuple[int, int]:
    """Accumulator range for any weights and biases the formats allow."""
    wf, bf = layer.weight_format, layer.bias_format
    n = _taps(layer).shape[0]
    lo_w = np.full((n, 1), wf.min_code, dtype=np.int64)
    hi_w = np.full((n, 1), wf.max_code, dtype=np.int64)
    lo1, hi1 = accumulator_range(layer, in_lo, in_hi, in_frac, lo_w, np.array([bf.min_code]))
    lo2, hi2 = accumulator_range(layer, in_lo, in_hi, in_frac, hi_w, np.array([bf.max_code]))
    return min(lo1, lo2), max(hi1, hi2)


def output_code_range(layer: MacLayer) -> tuple[int, int]:
    fmt = layer.output.format
    lo = max(fmt.min_code, 0) if layer.activation == "relu" else fmt.min_code
    return lo, fmt.max_code


def infer_accumulators(ir: EncoderIR, *, check: bool = False) -> None:
    """Fill (or, with check, verify) every MAC layer's accumulator format."""
    lo, hi = input_code_range(ir)
    frac = ir.input.format.frac
    for i, layer in enumerate(ir.layers):
        if not isinstance(layer, MacLayer):
            continue
        a_lo, a_hi = accumulator_range(layer, lo, hi, frac)
        signed, bits = bits_for_range(a_lo, a_hi)
        need = FixedFormat(signed, bits, accumulator_frac(layer, frac))
        if check:
            acc = layer.accumulator
            if acc.frac != need.frac or acc.bits < need.bits or (need.signed and not acc.signed):
                raise IRError(f"layers[{i}].accumulator: {acc} cannot hold the range "
                              f"[{a_lo}, {a_hi}] at frac {need.frac} (needs {need})")
        else:
            layer.accumulator = need
        lo, hi = output_code_range(layer)
        frac = layer.output.format.frac


def validate(ir: EncoderIR) -> None:
    """Shapes chain, values fit their formats, accumulators cannot overflow."""
    shape = ir.input.shape
    if not ir.mac_layers:
        raise IRError("layers: the encoder has no conv2d or dense layer")
    for i, layer in enumerate(ir.layers):
        where = f"layers[{i}] ({layer.name})"
        if tuple(layer.input_shape) != tuple(shape):
            raise IRError(f"{where}.input_shape {list(layer.input_shape)} does not follow the "
                          f"previous output {list(shape)}")
        if isinstance(layer, MacLayer):
            for what, vals, fmt in (("weight", layer.weight, layer.weight_format),
                                    ("bias", layer.bias, layer.bias_format)):
                if vals.size and (vals.min() < fmt.min_code or vals.max() > fmt.max_code):
                    raise IRError(f"{where}.{what}: values outside the {fmt} code range "
                                  f"[{fmt.min_code}, {fmt.max_code}]")
            if layer.bias.shape != (layer.n_out_channels,):
                raise IRError(f"{where}.bias: {layer.bias.size} values for {layer.n_out_channels} outputs")
            if isinstance(layer, Conv2DLayer) and min(layer.output_shape[:2]) < 1:
                raise IRError(f"{where}: kernel and strides leave no output")
        shape = layer.output_shape
    if not isinstance(ir.layers[-1], MacLayer):
        raise IRError("layers: the last layer must be conv2d or dense (it produces the latents)")
    infer_accumulators(ir, check=True)
