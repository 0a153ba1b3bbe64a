"""Checking a failures file (``encoder sim --replay``) before any of it reaches a simulator.

Every vector must fit the design it is replayed on: as many counts as the
design has input cells, each an integer code the input port can carry
(a negative or too wide count would be wrapped silently by the port), a
gap that is a non-negative integer, an id that is one too or -1 (a reset
filler or replay preamble: the testbench drives it again but counts no
check of it), a model that exists.
"""

from __future__ import annotations

from ..errors import UserError
from .design import Design

SCHEMA = "encoder-sim-failures"
MAX_GAP = 1_000_000            # idle cycles before one vector; more is a corrupt file, not a test


def _int(v, where: str, lo: int, hi: int | None = None) -> int:
    if not isinstance(v, int) or isinstance(v, bool):
        raise UserError(f"{where}: expected an integer, got {v!r}")
    if v < lo or (hi is not None and v > hi):
        raise UserError(f"{where}: {v} outside {lo}..{hi if hi is not None else 'inf'}")
    return v


def check_failures(d, path, design: Design) -> dict:
    """The parsed failures file ``d`` of ``path``, checked against ``design``; returns ``d``."""
    if not isinstance(d, dict) or d.get("schema") != SCHEMA:
        got = d.get("schema") if isinstance(d, dict) else type(d).__name__
        raise UserError(f"{path}: not a failures file of `encoder sim` (schema {got!r})")
    models = d.get("models")
    if not isinstance(models, list) or not models:
        raise UserError(f"{path}: models: expected a non-empty list")
    for i, m in enumerate(models):
        if not isinstance(m, dict) or not isinstance(m.get("path"), str) or not isinstance(m.get("name"), str):
            raise UserError(f"{path}: models[{i}]: expected an object with 'name' and 'path' strings")
    vectors = d.get("vectors")
    if not isinstance(vectors, list):
        raise UserError(f"{path}: vectors: expected a list")
    port = design.port("in_counts")
    n_cells, bits = port.fields, port.element_width
    top = (1 << bits) - 1
    for i, v in enumerate(vectors):
        where = f"{path}: vectors[{i}]"
        if not isinstance(v, dict):
            raise UserError(f"{where}: expected an object")
        for k in ("id", "model", "counts", "gap"):
            if k not in v:
                raise UserError(f"{where}: missing field {k!r}")
        _int(v["id"], f"{where}.id", -1)
        _int(v["model"], f"{where}.model", 0, len(models) - 1)
        _int(v["gap"], f"{where}.gap", 0, MAX_GAP)
        if "bx_reset" in v:
            _int(v["bx_reset"], f"{where}.bx_reset", 0, 1)
        counts = v["counts"]
        if not isinstance(counts, list) or len(counts) != n_cells:
            got = len(counts) if isinstance(counts, list) else type(counts).__name__
            raise UserError(f"{where}.counts: {got} counts, the design has {n_cells} input cells")
        for j, c in enumerate(counts):
            _int(c, f"{where}.counts[{j}]", 0, top)
    return d
