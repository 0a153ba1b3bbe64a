"""Standard-cell libraries the kit maps designs to (Liberty + cell models).

``sky130hd`` ships with the package (SkyWater SKY130 high-density cells,
Apache 2.0, see ``sky130hd/NOTICE.md``); any other Liberty file can be given
by path. ``resolve`` turns the user's ``--liberty`` value into a ``Library``.

Mapping uses a subset of the cells: yosys 0.23's ``abc`` and ``dfflibmap``
have no dont-use list, so ``mapping_liberty`` writes a copy of the Liberty
file without the cells a logic mapper must not pick (power-gating and
isolation cells, probes, delay lines, clock-tree buffers, fillers). Timing
and power always read the complete file.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UserError

HERE = Path(__file__).resolve().parent
BUILTIN = {
    "sky130hd": {
        "liberty": HERE / "sky130hd" / "sky130hd_tt.lib.gz",
        "models": [HERE / "sky130hd" / "sky130_fd_sc_hd_primitives.v.gz", HERE / "sky130hd" / "sky130_fd_sc_hd.v.gz"],
        "defines": ["FUNCTIONAL", "UNIT_DELAY=#0"],
        "corner": "tt, 25 C, 1.80 V",
        # Cells a logic mapper must not use (the usual dont-use list of SKY130 HD flows, plus
        # clock-tree and delay cells: they exist for clock and hold fixing, not logic).
        "dont_use": r"sky130_fd_sc_hd__(lpflow_|probe|clkdly|dlygate|dlymetal|macro_sparecell|decap|diode|"
                    r"clkinvlp|clkbuf|clkinv|bufbuf|fill|tap)",
        "tie": ("sky130_fd_sc_hd__conb_1", "HI", "LO"),
        "buffer": ("sky130_fd_sc_hd__buf_1", "A", "X"),
        "driver": ("sky130_fd_sc_hd__buf_2", "X"),
        "nand2": "sky130_fd_sc_hd__nand2_1",
        "receiver": ("sky130_fd_sc_hd__dfxtp_1", "D"),
        # Drives each group of a fanout tree (encoder.silicon.fanout): twelve pins and the next
        # level's buffers in about 0.2 ns.
        "fanout_buffer": ("sky130_fd_sc_hd__buf_4", "A", "X"),
    },
}
CELL = re.compile(r'\n\s*cell\s*\(\s*"?([A-Za-z0-9_$.\[\]]+)"?\s*\)\s*\{')
AREA = re.compile(r'\barea\s*:\s*([0-9.eE+-]+)\s*;')


@dataclass
class Library:
    name: str                        # "sky130hd" or the file's stem
    liberty: Path                    # as given (may be gzip-compressed)
    models: list[Path] = field(default_factory=list)   # functional cell models, for gate-level simulation
    defines: list[str] = field(default_factory=list)   # macros the models need
    corner: str = "as in the Liberty file"
    dont_use: str | None = None      # regex of cells the mapper must not use
    tie: tuple[str, str, str] | None = None            # (cell, high pin, low pin)
    buffer: tuple[str, str, str] | None = None         # (cell, in pin, out pin)
    driver: tuple[str, str] | None = None              # (cell, out pin) assumed to drive every input
    nand2: str | None = None          # the gate-equivalent reference cell
    receiver: tuple[str, str] | None = None            # (cell, pin) every output is assumed to drive
    fanout_buffer: tuple[str, str, str] | None = None  # (cell, in pin, out pin) of fanout trees

    def text(self) -> str:
        """The Liberty file's text (decompressed)."""
        try:
            if self.liberty.suffix == ".gz":
                with gzip.open(self.liberty, "rt") as f:
                    return f.read()
            return self.liberty.read_text()
        except (OSError, UnicodeDecodeError, EOFError) as exc:
            raise UserError(f"{self.liberty}: cannot read the Liberty file ({exc})") from None

    def describe(self) -> str:
        return f"{self.name} ({self.liberty.name}, {self.corner})"


def resolve(spec: str) -> Library:
    """``sky130hd`` or the path of a Liberty file (.lib or .lib.gz)."""
    if spec in BUILTIN:
        b = BUILTIN[spec]
        return Library(spec, b["liberty"], list(b["models"]), list(b["defines"]), b["corner"], b["dont_use"],
                       b["tie"], b["buffer"], b["driver"], b["nand2"], b["receiver"],
                       b["fanout_buffer"])
    path = Path(spec)
    if not path.is_file():
        raise UserError(f"--liberty: {spec}: neither a built-in library ({', '.join(BUILTIN)}) nor a file")
    lib = Library(path.name.split(".")[0], path)
    text = lib.text()
    if "library" not in text[:5000]:
        raise UserError(f"{path}: not a Liberty file (no 'library' group at the start)")
    cells = cell_areas(text)
    lib.nand2 = _guess(cells, r"(?i)nand2(_?x?1|_1)?$")
    lib.buffer = (b, "A", "X") if (b := _guess(cells, r"(?i)^(.*__)?buf_?x?1$")) else None
    lib.driver = (lib.buffer[0], lib.buffer[2]) if lib.buffer else None
    lib.receiver = (lib.buffer[0], lib.buffer[1]) if lib.buffer else None
    b4 = _guess(cells, r"(?i)^(.*__)?buf_?x?4$")
    lib.fanout_buffer = (b4, "A", "X") if b4 else lib.buffer
    return lib


def _guess(cells: dict[str, float], pattern: str) -> str | None:
    found = sorted((a, c) for c, a in cells.items() if re.search(pattern, c))
    return found[0][1] if found else None


def cell_areas(text: str) -> dict[str, float]:
    """Area of every cell of a Liberty text (first ``area`` attribute inside the cell group)."""
    out = {}
    for name, start, end in _cell_spans(text):
        a = AREA.search(text, start, end)      # only the cell group has an area attribute
        if a:
            out[name] = float(a.group(1))
    return out


def pin_capacitance(text: str, cell: str, pin: str) -> float:
    """The ``capacitance`` of a cell's input pin, in the library's capacitance unit."""
    for name, start, end in _cell_spans(text):
        if name == cell:
            m = re.search(r'pin\s*\(\s*"?' + re.escape(pin) + r'"?\s*\)\s*\{[^}]*?\bcapacitance\s*:\s*([0-9.eE+-]+)',
                          text[start:end])
            if m:
                return float(m.group(1))
            break
    raise UserError(f"Liberty: no capacitance for pin {pin} of cell {cell}")


def _cell_spans(text: str):
    """(name, start, end) of every top-level cell group, by brace matching."""
    pos = 0
    for m in CELL.finditer(text):
        if m.start() < pos:
            continue
        depth, j = 0, m.end() - 1
        n = len(text)
        while j < n:
            c = text[j]
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        pos = j + 1
        yield m.group(1), m.start(), pos


def write_plain(lib: Library, dest: Path) -> Path:
    """The complete Liberty file, decompressed (OpenSTA and yosys' stat read plain text)."""
    dest.write_text(lib.text())
    return dest


def write_mapping(lib: Library, dest: Path) -> tuple[Path, list[str]]:
    """The Liberty file without the dont-use cells; returns the path and the cells left out."""
    text = lib.text()
    if not lib.dont_use:
        dest.write_text(text)
        return dest, []
    drop = re.compile(lib.dont_use)
    parts, pos, dropped = [], 0, []
    for name, start, end in _cell_spans(text):
        if drop.match(name):
            parts.append(text[pos:start])
            pos = end
            dropped.append(name)
    parts.append(text[pos:])
    dest.write_text("".join(parts))
    return dest, dropped


def gate_equivalent_area(lib: Library, areas: dict[str, float]) -> float:
    if lib.nand2 is None or lib.nand2 not in areas:
        raise UserError(f"{lib.liberty}: no 2-input NAND cell found to define a gate equivalent")
    return areas[lib.nand2]
