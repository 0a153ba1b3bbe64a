"""Reading and writing IR files: the only way an IR enters or leaves the kit as a file.

``load_ir`` checks everything a file can get wrong (each field's type and
range in ``document``, consistency in ``schema.validate``, the fields that
only repeat what the rest implies, and the content against its hash);
``save_ir`` checks what it is about to write as strictly, so no command
writes an IR that another would refuse.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import UserError
from ..files import atomic_path
from ..inputs import read_json
from .document import IRError, check_document
from .schema import EncoderIR, infer_accumulators, validate


def _check_derived(ir: "EncoderIR", d: dict) -> None:
    """Fields of a file that only repeat what the rest implies must agree with it.

    The hash covers them only as recomputed, so an edit here would otherwise pass unseen.
    """
    for i, (layer, ld) in enumerate(zip(ir.layers, d["layers"])):
        if "output_shape" in ld and tuple(ld["output_shape"]) != tuple(layer.output_shape):
            raise IRError(f"layers[{i}].output_shape: {ld['output_shape']} but the layer gives "
                          f"{list(layer.output_shape)}")
    if "summary" in d:
        want = ir.to_dict(with_hash=False)["summary"]
        for k, v in d["summary"].items():
            if v != want[k]:
                raise IRError(f"summary.{k}: {v!r} but the layers give {want[k]!r}")


# Setting this environment variable lets an IR without its hash load (documented in the README).
ALLOW_UNHASHED_ENV = "ENCODER_ALLOW_UNHASHED_IR"


def read_ir_document(path: str | os.PathLike):
    """The parsed JSON of an IR file; one-line IRErrors for every way reading can fail."""
    try:
        return read_json(path, "JSON IR file", hints=("ir.json", "chip_ir.json"))
    except UserError as exc:
        raise IRError(str(exc)) from None


def load_ir(path: str | os.PathLike, *, allow_unhashed: bool | None = None) -> EncoderIR:
    """Read and fully check an IR file: every field, the content against its hash.

    A file without a hash is refused unless ``allow_unhashed`` (default: the
    environment variable ENCODER_ALLOW_UNHASHED_IR is set to 1).
    """
    path = Path(path)
    d = read_ir_document(path)
    try:
        ir = EncoderIR.from_dict(d)
        _check_derived(ir, d)
    except IRError as exc:
        raise IRError(f"{path}: {exc}") from None
    if allow_unhashed is None:
        allow_unhashed = os.environ.get(ALLOW_UNHASHED_ENV, "") not in ("", "0")
    if "hash" not in d and not allow_unhashed:
        raise IRError(f"{path}: hash: missing, so the content cannot be checked; if the file is meant as it "
                      f"is, `encoder ir rehash {path} --in-place` adds it ({ALLOW_UNHASHED_ENV}=1 skips the check)")
    return ir


def save_ir(ir: EncoderIR, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write atomically; refuses to replace an existing file unless overwrite."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: exists; pass --force to replace it")
    if any(layer.accumulator is None for layer in ir.mac_layers):
        infer_accumulators(ir)
    validate(ir)
    d = ir.to_dict()
    try:
        check_document(d)            # never write what no command would read back
    except IRError as exc:
        raise IRError(f"{path}: not written: {exc}") from None
    text = json.dumps(d, indent=1)
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_text(text + "\n")
    return path
