"""Import trigger-cell charges from an ECON-T style CSV file.

The file has one row per module. With a header, the charges are the
columns ``CALQ_0`` .. ``CALQ_<n-1>`` (any order, any position) and every
other column is kept as per-module metadata; without a header the first n
columns are the charges and the rest metadata (``col_<j>``). Charges are
divided by ``units_per_mip`` to give MIPs.

Parsing goes by blocks of whole lines: plain unsigned integers (the ECON-T
format) through a vectorised digit parser, anything else through NumPy's C
reader. A block that a fast reader cannot parse, or whose values fail a
check, is scanned again line by line in Python to name the exact line and
column of the first problem. So good files go fast and bad files get a precise
one-line error.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UserError
from .fastcsv import parse_unsigned_block
from .store import SensorData

CHARGE_PREFIX = "CALQ_"
BLOCK_BYTES = 4 << 20        # about 40,000 lines of 48 charges


@dataclass(frozen=True)
class ImportResult:
    data: SensorData
    header: bool            # the file had a header line
    zero_rows: int          # modules whose charges are all zero (kept)


@dataclass(frozen=True)
class _Layout:
    n_cols: int
    names: list[str]             # one per column (charges CALQ_i, extras sanitised)
    charge_cols: list[int]       # column of CALQ_0 .. CALQ_{n-1}
    extra_cols: list[int]
    extra_names: list[str]
    text_cols: set[int]          # extra columns holding text, not numbers

    @property
    def numeric_cols(self) -> list[int]:
        return [j for j in range(self.n_cols) if j not in self.text_cols]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _split(line: str) -> list[str]:
    return line.rstrip("\r\n").split(",")


def _meta_name(raw: str, j: int, taken: set[str]) -> str:
    name = re.sub(r"\W", "_", raw.strip()) or f"col_{j}"
    base, k = name, 2
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    taken.add(name)
    return name


def _layout_from_header(path: Path, fields: list[str], n_cells: int) -> _Layout:
    names = [f.strip().strip('"').strip() for f in fields]
    seen: dict[str, int] = {}
    for j, name in enumerate(names):
        if name in seen and name:
            raise UserError(f"{path}: line 1: column {name!r} appears twice (columns {seen[name] + 1} and {j + 1})")
        seen[name] = j
    wanted = [f"{CHARGE_PREFIX}{i}" for i in range(n_cells)]
    missing = [w for w in wanted if w not in seen]
    if len(missing) == n_cells:
        raise UserError(f"{path}: line 1: neither a header naming {wanted[0]}..{wanted[-1]} "
                        f"nor a row of numbers ({', '.join(repr(n) for n in names[:3])}, ...)")
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise UserError(f"{path}: line 1: header lacks charge column(s) {shown}")
    charge_cols = [seen[w] for w in wanted]
    extra_cols = [j for j in range(len(names)) if j not in set(charge_cols)]
    taken: set[str] = set()
    extra_names = [_meta_name(names[j], j, taken) for j in extra_cols]
    return _Layout(len(names), names, charge_cols, extra_cols, extra_names, set())


def _layout_headerless(path: Path, fields: list[str], n_cells: int) -> _Layout:
    if len(fields) < n_cells:
        raise UserError(f"{path}: line 1: {len(fields)} columns; a file without a header needs the "
                        f"{n_cells} charges first (or a header naming {CHARGE_PREFIX}0..{CHARGE_PREFIX}{n_cells - 1})")
    names = [f"{CHARGE_PREFIX}{i}" for i in range(n_cells)] + [f"col_{j}" for j in range(n_cells, len(fields))]
    extra_cols = list(range(n_cells, len(fields)))
    return _Layout(len(fields), names, list(range(n_cells)), extra_cols, [names[j] for j in extra_cols], set())


class _Reader:
    """Parses blocks of complete lines against a layout; raises UserError on the first bad value."""

    def __init__(self, path: Path, layout: _Layout):
        self.path = path
        self.layout = layout
        self.charge_set = set(layout.charge_cols)
        self.charge_pos = [layout.numeric_cols.index(c) for c in layout.charge_cols]
        self.charges_first = self.charge_pos == list(range(len(self.charge_pos)))

    def _where(self, line_no: int, data_row: int, col: int | None = None) -> str:
        where = f"{self.path}: line {line_no} (data row {data_row})"
        if col is not None:
            where += f", column {self.layout.names[col]}"
        return where

    def parse(self, block: bytes, first_line: int, first_row: int):
        """(charges (rows, n_cells) float64, {extra column: values}) for a block of lines.

        Fast readers first; any surprise (blank line, ragged row, bad value)
        sends the block to the line-by-line reader, which names the problem.
        """
        lay = self.layout
        if b"\r" in block:
            block = block.replace(b"\r\n", b"\n")
        block = block.rstrip(b"\n") + b"\n"            # blank lines at the end of the file
        n_lines = block.count(b"\n")
        values = None
        if not lay.text_cols:
            values = parse_unsigned_block(block, lay.n_cols)
        if values is None:
            try:
                values = np.loadtxt(io.BytesIO(block), delimiter=",", dtype=np.float64, comments=None,
                                    ndmin=2, usecols=lay.numeric_cols if lay.text_cols else None,
                                    encoding="utf-8")
            except (ValueError, UnicodeDecodeError):
                return self._parse_slow(block, first_line, first_row)
            if values.shape != (n_lines, len(lay.numeric_cols)):
                return self._parse_slow(block, first_line, first_row)
            if lay.text_cols and block.count(b",") != n_lines * (lay.n_cols - 1):
                return self._parse_slow(block, first_line, first_row)
        charges = self._charges(values)
        if not (np.isfinite(charges).all() and (charges >= 0).all()):
            return self._parse_slow(block, first_line, first_row)
        return self._split_columns(values, self._text_columns(block))

    def _text_columns(self, block: bytes) -> dict[int, np.ndarray]:
        if not self.layout.text_cols:
            return {}
        lines = block.decode("utf-8").split("\n")[:-1]
        return {c: np.array([_split(ln)[c].strip() for ln in lines]) for c in sorted(self.layout.text_cols)}

    def _charges(self, values: np.ndarray) -> np.ndarray:
        if self.charges_first and values.shape[1] == len(self.charge_pos):
            return values                   # the common case: nothing to reorder
        return values[:, self.charge_pos]

    def _split_columns(self, values: np.ndarray, text: dict[int, np.ndarray]):
        """(charges, {extra column: values}) from the numeric block and text columns."""
        lay = self.layout
        charges = self._charges(values)
        extras = {}
        for c in lay.extra_cols:
            extras[c] = text[c] if c in lay.text_cols else values[:, lay.numeric_cols.index(c)].copy()
        return charges, extras

    def _parse_slow(self, block: bytes, first_line: int, first_row: int):
        lay = self.layout
        numeric_cols = lay.numeric_cols
        rows: list[list[float]] = []
        text: dict[int, list[str]] = {c: [] for c in lay.text_cols}
        data_row = first_row
        for k, raw_line in enumerate(block.split(b"\n")[:-1]):
            line_no = first_line + k
            try:
                line = raw_line.decode("utf-8")
            except UnicodeDecodeError:
                raise UserError(f"{self._where(line_no, data_row)}: not UTF-8 text") from None
            if not line.strip():
                continue
            fields = _split(line)
            if len(fields) != lay.n_cols:
                raise UserError(f"{self._where(line_no, data_row)}: {len(fields)} columns, expected {lay.n_cols}")
            row = []
            for c in numeric_cols:
                raw = fields[c].strip()
                try:
                    v = float(raw)
                except ValueError:
                    raise UserError(f"{self._where(line_no, data_row, c)}: not a number ({raw!r})") from None
                if c in self.charge_set:
                    if not math.isfinite(v):
                        raise UserError(f"{self._where(line_no, data_row, c)}: charge is {raw!r}, must be finite")
                    if v < 0:
                        raise UserError(f"{self._where(line_no, data_row, c)}: negative charge ({raw})")
                row.append(v)
            rows.append(row)
            for c in lay.text_cols:
                text[c].append(fields[c].strip())
            data_row += 1
        values = np.array(rows, dtype=np.float64).reshape(len(rows), len(numeric_cols))
        return self._split_columns(values, {c: np.array(v) for c, v in text.items()})


def _blocks(fh, first: bytes):
    """Blocks of whole lines of about BLOCK_BYTES from a binary file, ``first`` prepended."""
    pending = first
    while True:
        chunk = fh.read(BLOCK_BYTES)
        if not chunk:
            break
        chunk = pending + chunk + fh.readline()
        pending = b""
        if not chunk.endswith(b"\n"):
            chunk += b"\n"
        yield chunk
    if pending:
        yield pending if pending.endswith(b"\n") else pending + b"\n"


def import_csv(path, units_per_mip: float = 1.0, n_cells: int = 48, geometry: str = "hgcal",
               progress=None) -> ImportResult:
    """Read an ECON-T CSV into SensorData (charges in MIPs = value / units_per_mip).

    ``progress(n)`` is called with the number of bytes read after each block.
    Raises UserError naming file, line and column on bad input.
    """
    path = Path(path)
    if not (isinstance(units_per_mip, (int, float)) and math.isfinite(units_per_mip) and units_per_mip > 0):
        raise UserError(f"--units-per-mip must be a positive number, got {units_per_mip!r}")
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror or exc})") from None
    charge_parts, extra_parts = [], []
    with fh:
        try:
            first = fh.readline()
            if first.startswith(b"\xef\xbb\xbf"):
                first = first[3:]
            try:
                first_text = first.decode("utf-8")
            except UnicodeDecodeError:
                raise UserError(f"{path}: line 1: not UTF-8 text") from None
            if not first_text.strip():
                raise UserError(f"{path}: empty file (no header and no data)")
            fields = _split(first_text)
            header = any(f.strip() and not _is_number(f) for f in fields)
            layout = (_layout_from_header if header else _layout_headerless)(path, fields, n_cells)
            line_no = 2 if header else 1
            data_row = 1
            reader = None
            for block in _blocks(fh, b"" if header else first):
                if reader is None:
                    layout = _with_text_columns(layout, block)
                    reader = _Reader(path, layout)
                charges, extras = reader.parse(block, line_no, data_row)
                charge_parts.append(charges)
                extra_parts.append(extras)
                line_no += block.count(b"\n")
                data_row += charges.shape[0]
                if progress is not None:
                    progress(len(block))
        except OSError as exc:
            raise UserError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if sum(c.shape[0] for c in charge_parts) == 0:
        raise UserError(f"{path}: no data rows" + (" (only a header)" if header else ""))

    charges = charge_parts[0] if len(charge_parts) == 1 else np.concatenate(charge_parts)
    del charge_parts
    if units_per_mip != 1:
        charges /= float(units_per_mip)
    meta = {name: np.concatenate([e[c] for e in extra_parts])
            for c, name in zip(layout.extra_cols, layout.extra_names)}
    zero_rows = int(np.count_nonzero(~charges.any(axis=1)))
    return ImportResult(SensorData(charges, geometry, {}, meta), header, zero_rows)


def _with_text_columns(layout: _Layout, block: bytes) -> _Layout:
    """Mark the extra columns that hold text in the first data line."""
    if not layout.extra_cols:
        return layout
    first = next((ln for ln in block.split(b"\n", 64)[:64] if ln.strip()), None)
    if first is None:
        return layout
    fields = _split(first.decode("utf-8", errors="replace"))
    if len(fields) != layout.n_cols:
        return layout          # the reader reports the column count
    text = {c for c in layout.extra_cols if not _is_number(fields[c])}
    return _Layout(layout.n_cols, layout.names, layout.charge_cols, layout.extra_cols,
                   layout.extra_names, text)
