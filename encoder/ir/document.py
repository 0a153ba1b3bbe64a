"""Type and range checks of an IR document (the parsed JSON) before it becomes objects.

``EncoderIR.from_dict`` converts fields (lists become int64 arrays, numbers
floats), and a conversion would quietly turn 8.7 or "8" or true into a
weight code. So every field is checked here first, as it stands in the
file: its type (an integer is a JSON integer, never a float, a string or a
boolean), its range, and that the object holds no field the schema does
not know (a misspelt key is an error, not a silently ignored line).
Errors name the field by its path, as ``layers[2].weight.values[17]``.
Consistency between fields (shapes chaining, codes inside their formats,
accumulator widths) is ``schema.validate``'s job.
"""

from __future__ import annotations

import math

from ..errors import UserError


class IRError(UserError, ValueError):
    """An IR file or object that does not follow the schema."""


def _kind(v) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
            dict: "an object", type(None): "null"}.get(type(v), type(v).__name__)


def integer(lo: int | None = None, hi: int | None = None):
    def check(v, where):
        if type(v) is not int:
            raise IRError(f"{where}: expected an integer, got {_kind(v)} ({v!r})")
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            raise IRError(f"{where}: {v} outside {lo if lo is not None else '-inf'}.."
                          f"{hi if hi is not None else 'inf'}")
    return check


def number(lo_exclusive: float, hi: float):
    def check(v, where):
        if type(v) not in (int, float):
            raise IRError(f"{where}: expected a number, got {_kind(v)} ({v!r})")
        if not math.isfinite(v) or not lo_exclusive < v <= hi:
            raise IRError(f"{where}: {v!r} outside ({lo_exclusive:g}, {hi:g}]")
    return check


def string(v, where):
    if type(v) is not str or not v:
        raise IRError(f"{where}: expected a non-empty string, got {_kind(v)} ({v!r})")


def boolean(v, where):
    if type(v) is not bool:
        raise IRError(f"{where}: expected true or false, got {_kind(v)} ({v!r})")


def anything(v, where):
    pass


def free_object(v, where):
    if not isinstance(v, dict):
        raise IRError(f"{where}: expected an object, got {_kind(v)}")


def list_of(item, n: int | None = None, min_len: int = 0):
    def check(v, where):
        if not isinstance(v, list):
            raise IRError(f"{where}: expected a list, got {_kind(v)} ({v!r})"[:300])
        if n is not None and len(v) != n:
            raise IRError(f"{where}: expected {n} entries, got {len(v)}")
        if len(v) < min_len:
            raise IRError(f"{where}: expected at least {min_len} entries, got {len(v)}")
        for i, x in enumerate(v):
            item(x, f"{where}[{i}]")
    return check


def obj(required: dict, optional: dict | None = None):
    optional = optional or {}

    def check(v, where):
        if not isinstance(v, dict):
            raise IRError(f"{where}: expected an object, got {_kind(v)} ({v!r})"[:300])
        unknown = [k for k in v if k not in required and k not in optional]
        if unknown:
            raise IRError(f"{where}: unknown field{'s' if len(unknown) > 1 else ''} "
                          f"{', '.join(map(repr, unknown))} (known: {', '.join(list(required) + list(optional))})")
        for k, c in required.items():
            if k not in v:
                raise IRError(f"{where}: missing field {k!r}")
            c(v[k], f"{where}.{k}")
        for k, c in optional.items():
            if k in v:
                c(v[k], f"{where}.{k}")
    return check


FORMAT = obj({"signed": boolean, "bits": integer(1, 64), "frac": integer(-64, 64)})
DIM = integer(1, 1 << 20)
SHAPE = list_of(DIM, min_len=1)
CODES = list_of(integer(-(1 << 63), (1 << 63) - 1))

INPUT = obj({
    "n_cells": integer(1, 1 << 16),
    "charge_bits": integer(1, 40),
    "counts_per_mip": number(0, 1e9),
    "normalisation": string,
    "arrangement": obj({"name": string, "shape": list_of(DIM, n=3), "pixel_to_cell": list_of(integer(-1))}),
    "format": FORMAT,
    "rounding": string,
    "sum_code": obj({"exp_bits": integer(1, 8), "mant_bits": integer(0, 16)}),
}, {"shift": integer(0, 64)})

PRODUCT = obj({"exact": boolean}, {"frac": integer(-64, 128), "rounding": string})

MAC = {
    "name": string, "op": string, "input_shape": SHAPE,
    "weight": obj({"format": FORMAT, "shape": SHAPE, "values": CODES}),
    "bias": obj({"format": FORMAT, "values": CODES}),
    "product": PRODUCT,
    "accumulator": FORMAT,
    "activation": string,
    "output": obj({"format": FORMAT, "rounding": string, "overflow": string}),
}
LAYERS = {
    "conv2d": obj({**MAC, "kernel": list_of(DIM, n=2), "strides": list_of(DIM, n=2),
                   "padding": list_of(integer(0, 1 << 10), n=4)}, {"output_shape": SHAPE}),
    "dense": obj(MAC, {"output_shape": SHAPE}),
    "flatten": obj({"name": string, "op": string, "input_shape": SHAPE}, {"output_shape": SHAPE}),
}

TOP_REQUIRED = {"schema": string, "version": integer(), "name": string, "geometry": string,
                "input": INPUT, "layers": list_of(anything, min_len=1)}
TOP_OPTIONAL = {"arithmetic": string, "source": free_object,
                "summary": obj({"n_params": integer(0), "n_latent": integer(1), "latent_format": FORMAT}),
                "hash": string}


def check_document(d) -> None:
    """Raise IRError naming the first field whose type or range is wrong, or that is unknown."""
    obj(TOP_REQUIRED, TOP_OPTIONAL)(d, "top level")
    for i, layer in enumerate(d["layers"]):
        where = f"layers[{i}]"
        if not isinstance(layer, dict):
            raise IRError(f"{where}: expected an object, got {_kind(layer)}")
        op = layer.get("op")
        if op not in LAYERS:
            if "op" not in layer:
                raise IRError(f"{where}: missing field 'op'")
            raise IRError(f"{where}.op: unknown operation {op!r} (conv2d, flatten, dense)")
        LAYERS[op](layer, where)
