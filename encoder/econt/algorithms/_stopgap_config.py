"""STOP-GAP, to be removed when ``registers.read_config`` reads the algorithm layout (branch econt-layouts).

A minimal private reader of the chip-configuration layout of the shipped
algorithm vectors (top-level blocks ``Algorithm`` or ``ConfigAlgo``,
``AlgoThreshold``, ``AlgoDroplsb``, ``Cal``, ``Mux``, ``FormatterBuffer``),
filling the ``ChipConfig`` fields ``econt run`` needs. ``load_config`` uses
it only when ``read_config`` refuses a file that has these blocks, so once
the real reader takes the layout this module is never reached.

``active_etxs``: written in hex or binary it is the bit mask of the active
e-links (``0x7``: e-links 0-2); written in decimal it is the count (the
shipped BC_5eTx gives ``5`` for five e-links). Registers left out stay None
and ``econt run`` names the one it needs.
"""

from __future__ import annotations

import re
from pathlib import Path

from ...errors import UserError
from ...files import read_yaml
from .. import registers

BLOCKS = ("Algorithm", "ConfigAlgo", "AlgoThreshold", "AlgoDroplsb", "Cal", "Mux", "FormatterBuffer")
_ETX = re.compile(r"^\s*active_etxs\s*:\s*(\S+)", re.MULTILINE)


def is_algorithm_layout(doc) -> bool:
    return isinstance(doc, dict) and any(b in doc for b in BLOCKS)


def _int(value, where: str) -> int:
    return registers.parse_int(value, where)


def _indexed(block, where: str, lo: int, hi: int) -> list[int] | None:
    if block is None:
        return None
    if not isinstance(block, dict):
        raise UserError(f"{where}: expected a mapping 0..{registers.N_CELLS - 1} -> value")
    values = []
    for i in range(registers.N_CELLS):
        if i not in block and str(i) not in block:
            raise UserError(f"{where}.{i}: missing (expected {registers.N_CELLS} entries)")
        v = _int(block[i] if i in block else block[str(i)], f"{where}.{i}")
        if not lo <= v <= hi:
            raise UserError(f"{where}.{i}: value {v} outside {lo}..{hi}")
        values.append(v)
    return values


def _global(doc, block: str, path: str):
    b = doc.get(block)
    if b is None:
        return None
    if not isinstance(b, dict) or "Global" not in b:
        raise UserError(f"{path}: block {block}: expected a 'Global' entry")
    return b["Global"]


def read(path) -> registers.ChipConfig:
    path = Path(path)
    doc = read_yaml(path)
    p = str(path)
    cfg = registers.ChipConfig(path=p, layout="algorithm (stop-gap reader)")
    algo = _global(doc, "Algorithm", p)
    if algo is not None:
        cfg.algorithm = None if algo.get("select") is None else _int(algo["select"], f"{p}: Algorithm.Global.select")
        cfg.density = None if algo.get("density") is None else _int(algo["density"], f"{p}: Algorithm.Global.density")
    conf = _global(doc, "ConfigAlgo", p)
    if conf is not None:
        if conf.get("alg_type") is not None:
            cfg.algorithm = _int(conf["alg_type"], f"{p}: ConfigAlgo.Global.alg_type")
        if conf.get("alg_high_density") is not None:
            cfg.density = _int(conf["alg_high_density"], f"{p}: ConfigAlgo.Global.alg_high_density")
    drop = _global(doc, "AlgoDroplsb", p)
    if isinstance(drop, dict):
        drop = drop.get("drop_lsb")
    cfg.drop_lsb = None if drop is None else _int(drop, f"{p}: AlgoDroplsb.Global.drop_lsb")
    cfg.thresholds = _indexed(doc.get("AlgoThreshold"), f"{p}: AlgoThreshold", 0, (1 << 22) - 1)
    cfg.cal = _indexed(doc.get("Cal"), f"{p}: Cal", 0, (1 << registers.CAL_BITS) - 1)
    cfg.mux = _indexed(doc.get("Mux"), f"{p}: Mux", 0, registers.N_CELLS - 1)
    fb = _global(doc, "FormatterBuffer", p) or {}
    for name in ("buff_t1", "buff_t2", "buff_t3", "stc_type", "use_sum", "link_reset_pattern"):
        if fb.get(name) is not None:
            setattr(cfg, name, _int(fb[name], f"{p}: FormatterBuffer.Global.{name}"))
    if fb.get("active_etxs") is not None:
        value = _int(fb["active_etxs"], f"{p}: FormatterBuffer.Global.active_etxs")
        m = _ETX.search(path.read_text())
        text = m.group(1).lower() if m else ""
        if text.startswith(("0x", "0b")):
            cfg.active_etxs = value
        else:
            cfg.n_elinks = value
            cfg.active_etxs = (1 << value) - 1 if value > 0 else 0
    return cfg
