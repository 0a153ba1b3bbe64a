"""Inputs: reading the files a command is given, and remembering them.

Every reader here turns every way a file can be unreadable (missing, a
folder, binary, not UTF-8, not JSON or YAML) into one UserError naming the
file. While the CLI runs a command (``inputs_scope``), the paths the
command reads are recorded, so that ``files`` can refuse an output that is
one of them.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from .errors import UserError

_inputs: set[Path] | None = None


@contextlib.contextmanager
def inputs_scope(paths=()):
    """Record the inputs of one command (the CLI opens this); outputs may not be one of them."""
    global _inputs
    saved, _inputs = _inputs, set()
    try:
        for p in paths:
            note_input(p)
        yield
    finally:
        _inputs = saved


def note_input(path) -> None:
    """Called by the readers of IRs, data files, configs and designs."""
    if _inputs is not None and path is not None:
        with contextlib.suppress(OSError, ValueError):
            _inputs.add(Path(path).resolve())


@contextlib.contextmanager
def allow_in_place(path):
    """Let one input be replaced by this command's output (``encoder ir rehash --in-place``)."""
    real = Path(path).resolve()
    had = _inputs is not None and real in _inputs
    if had:
        _inputs.discard(real)
    try:
        yield
    finally:
        if had and _inputs is not None:
            _inputs.add(real)


def _same_file(a: Path, b: Path) -> bool:
    """The same file under two names (a hard link too)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def refuse_input(path: Path) -> None:
    """An output may not be an input of the running command, nor a folder holding one."""
    if not _inputs:
        return
    out = path.resolve()
    for inp in _inputs:
        if inp == out or _same_file(inp, out):
            raise UserError(f"{path}: is also an input of this command; choose another output")
        if out in inp.parents:
            raise UserError(f"{path}: would replace a folder holding the input {inp}; choose another output")


# -- reading -------------------------------------------------------------------------

def read_text(path, what: str = "file", hints: tuple[str, ...] = ()) -> str:
    """Text of an input file; every failure is one UserError naming the file.

    ``hints``: names to suggest when ``path`` is a folder holding one of them
    (``rtl out/run`` -> "did you mean out/run/ir.json?").
    """
    path = Path(path)
    note_input(path)
    if path.is_dir():
        for h in hints:
            if (path / h).is_file():
                raise UserError(f"{path}: is a folder, not a {what}; did you mean {path / h}?")
        raise UserError(f"{path}: is a folder, not a {what}")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: cannot read (no such file)") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror})") from None
    if b"\0" in raw[:8192]:
        kind = " (a .npz data file?)" if raw[:2] == b"PK" else ""
        raise UserError(f"{path}: binary data, not a {what}{kind}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not a text {what} (byte {exc.start} is not UTF-8)") from None


def read_json(path, what: str = "JSON file", hints: tuple[str, ...] = ()):
    text = read_text(path, what, hints)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not JSON (line {exc.lineno}: {exc.msg})") from None


def read_yaml(path, error: type[Exception] = UserError, missing: str = "no such file"):
    """Parse a YAML file; every failure becomes one ``error`` naming the file (and line)."""
    import yaml

    path = Path(path)
    note_input(path)
    try:
        return yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise error(f"{path}: {missing}") from None
    except IsADirectoryError:
        raise error(f"{path}: is a folder, not a YAML file") from None
    except UnicodeDecodeError:
        raise error(f"{path}: binary data, not a YAML file") from None
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "YAML"
        raise error(f"{path}: {where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
