"""Mutation sites of a generated design: where a bug can be planted, and the planted text.

Five kinds, each a textual edit of one line of one source file of the design:

- ``operator``: a binary ``+ - & | << >>`` swapped for its counterpart (``+``/``-``, ``&``/``|``,
  ``<<``/``>>``); operators inside ``[...]`` (widths and part-selects) are not sites.
- ``bit``: a bit dropped: a wire declaration narrowed by its top bit (``wire [H:L] n`` ->
  ``[H-1:L]``), an indexed part-select narrowed (``+: N`` -> ``+: N-1``), or a concatenated
  constant bit forced (``1'b0`` <-> ``1'b1``).
- ``constant``: a sized literal (``N'dV``, ``N'hV``, N > 1) or an integer instance parameter
  (``.NAME(V)``) off by one.
- ``register``: a one-line pipeline register (``always @(posedge clk) [if (c)] q <= d;``)
  replaced by a wire (``always @* q = d;``): the latency drops by one cycle.
- ``mux``: the select of a ``?:`` inverted (``= s ? a : b`` -> ``= !(s) ? a : b``).

Sites are found on code only (comments stripped), never on port, parameter or localparam
declarations. Files are split into the design's own generated modules and its copies of the
hand-written primitives (``enc_*.v``); `choose` samples both (see there).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

KINDS = ("operator", "bit", "constant", "register", "mux")
SWAP = {"+": "-", "-": "+", "&": "|", "|": "&", "<<": ">>", ">>": "<<"}

_OPERATOR = re.compile(r"(?<=\s)(<<|>>|\+|-|&|\|)(?=\s)")
_DECL = re.compile(r"^\s*(wire|reg)\s*(?:signed\s*)?\[(\d+|[A-Za-z_][\w]*\s*-\s*1):(\d+)\]\s*\w+")
_PART = re.compile(r"\+:\s*(\d+)\]")
_BIT = re.compile(r"1'b([01])")
_SIZED = re.compile(r"\b(\d+)'([dh])([0-9a-fA-F_]+)\b")
_PARAM = re.compile(r"\.([A-Z][A-Z0-9_]*)\((\d+)\b")
_REGISTER = re.compile(r"^(\s*)always @\(posedge clk\)\s*(?:if \((.*?)\)\s*)?(\w+)\s*<=\s*(.+);\s*$")
_MUX = re.compile(r"(?<![!<>=])=(?!=)\s*([^=;?]+?)\s*\?")
_SKIP_LINE = re.compile(r"^\s*(input|output|inout|parameter|localparam|module|`)")


@dataclass(frozen=True)
class Site:
    file: str            # relative to the design folder
    line: int            # 1-based
    start: int           # column span of the old text in the line
    end: int
    kind: str
    old: str
    new: str
    module: str          # the module the line belongs to
    primitive: bool      # in a copy of a hand-written primitive (enc_*.v)

    def describe(self) -> str:
        return f"{self.file}:{self.line} ({self.module}) {self.kind}: {self.old!r} -> {self.new!r}"

    def to_json(self) -> dict:
        return asdict(self)


def _code(line: str, in_block: bool) -> tuple[str, bool]:
    """The line with comments blanked (same length, so columns stay valid); the block-comment state after it."""
    out, i = [], 0
    while i < len(line):
        if in_block:
            j = line.find("*/", i)
            if j < 0:
                out.append(" " * (len(line) - i))
                return "".join(out), True
            out.append(" " * (j + 2 - i))
            i, in_block = j + 2, False
        elif line.startswith("//", i):
            out.append(" " * (len(line) - i))
            break
        elif line.startswith("/*", i):
            in_block = True
        else:
            out.append(line[i])
            i += 1
    return "".join(out), in_block


def _in_brackets(code: str, pos: int) -> bool:
    return code.count("[", 0, pos) > code.count("]", 0, pos)


def _off_by_one(value: int, top: int, rng_bit: int) -> int:
    if value == 0:
        return 1
    if value >= top:
        return value - 1
    return value + 1 if rng_bit else value - 1


def _line_sites(code: str, raw: str, lineno: int) -> list[tuple[str, int, int, str, str]]:
    """(kind, start, end, old, new) for every site of one line; ``code`` is ``raw`` without comments."""
    if not code.strip() or _SKIP_LINE.match(code):
        return []
    found = []
    m = _REGISTER.match(code)
    if m and "cfg" not in m.group(3):          # the configuration bank's registers are not pipeline stages
        indent, q, d = m.group(1), m.group(3), m.group(4).strip()
        found.append(("register", 0, len(raw.rstrip("\n")), raw.rstrip("\n"), f"{indent}always @* {q} = {d};"))
        return found
    for m in _OPERATOR.finditer(code):
        if not _in_brackets(code, m.start()):
            found.append(("operator", m.start(), m.end(), m.group(1), SWAP[m.group(1)]))
    m = _DECL.match(code)
    if m:
        hi = m.group(2)
        if hi.isdigit():
            if int(hi) > int(m.group(3)):
                found.append(("bit", m.start(2), m.end(2), hi, str(int(hi) - 1)))
        else:
            found.append(("bit", m.start(2), m.end(2), hi, re.sub(r"1$", "2", hi.rstrip())))
    for m in _PART.finditer(code):
        if int(m.group(1)) > 1:
            found.append(("bit", m.start(1), m.end(1), m.group(1), str(int(m.group(1)) - 1)))
    for m in _BIT.finditer(code):
        found.append(("bit", m.start(), m.end(), m.group(0), "1'b" + ("1" if m.group(1) == "0" else "0")))
    for m in _SIZED.finditer(code):
        width, base, digits = int(m.group(1)), m.group(2), m.group(3).replace("_", "")
        if width < 2:
            continue
        value = int(digits, 16 if base == "h" else 10)
        # The direction of the step is fixed by the site (line parity), not by the sampler: a site is one mutant.
        new = _off_by_one(value, (1 << width) - 1, (lineno + m.start()) & 1)
        text = f"{width}'{base}{new:x}" if base == "h" else f"{width}'d{new}"
        found.append(("constant", m.start(), m.end(), m.group(0), text))
    for m in _PARAM.finditer(code):
        value = int(m.group(2))
        new = value + 1 if value == 0 or (lineno + m.start()) & 1 else value - 1
        found.append(("constant", m.start(2), m.end(2), m.group(2), str(new)))
    m = _MUX.search(code)
    if m and not _in_brackets(code, m.start()) and "{" not in m.group(1):
        sel = m.group(1)
        found.append(("mux", m.start(1), m.end(1), sel, f"!({sel})"))
    return found


def file_sites(design_dir: Path, rel: str) -> list[Site]:
    text = (design_dir / rel).read_text()
    primitive = Path(rel).name.startswith("enc_")
    sites, module, in_block = [], "?", False
    for lineno, raw in enumerate(text.splitlines(), 1):
        code, in_block = _code(raw, in_block)
        mm = re.match(r"^\s*module\s+(\w+)", code)
        if mm:
            module = mm.group(1)
            continue
        for kind, start, end, old, new in _line_sites(code, raw, lineno):
            sites.append(Site(rel, lineno, start, end, kind, old, new, module, primitive))
    return sites


def design_sites(design_dir: Path, sources: list[str]) -> list[Site]:
    out = []
    for rel in sources:
        out.extend(file_sites(design_dir, rel))
    return out


def choose(sites: list[Site], n: int, seed: int) -> list[Site]:
    """``n`` distinct sites, deterministic in ``seed``.

    The kinds take turns (in an order drawn from the seed); each kind's picks alternate between
    the generated modules and the primitive copies, generated first (so a primitive, shared by
    every neuron, gets every other pick of its kind, not a share proportional to its lines); within
    a group a pick is uniform. A kind or group that has run out of sites passes its turn on.
    """
    rng = np.random.default_rng(seed)
    pools: dict[tuple[str, bool], list[Site]] = {}
    for s in sites:
        pools.setdefault((s.kind, s.primitive), []).append(s)
    for key in pools:                              # a fixed order before the seeded draws
        pools[key].sort(key=lambda s: (s.file, s.line, s.start))
    order = [KINDS[i] for i in rng.permutation(len(KINDS))]
    turn = {k: 0 for k in KINDS}
    picked: list[Site] = []
    while len(picked) < n and any(pools.values()):
        for kind in order:
            if len(picked) >= n:
                break
            groups = [False, True] if turn[kind] % 2 == 0 else [True, False]
            for prim in groups:
                pool = pools.get((kind, prim))
                if pool:
                    picked.append(pool.pop(int(rng.integers(len(pool)))))
                    turn[kind] += 1
                    break
    return picked


def plant(design_dir: Path, site: Site) -> None:
    """Applies ``site`` to the design at ``design_dir`` (a copy: the caller's own folder)."""
    path = design_dir / site.file
    lines = path.read_text().split("\n")
    line = lines[site.line - 1]
    if line[site.start:site.end] != site.old:
        raise ValueError(f"{path}:{site.line}: expected {site.old!r} at column {site.start}")
    lines[site.line - 1] = line[:site.start] + site.new + line[site.end:]
    path.write_text("\n".join(lines))
