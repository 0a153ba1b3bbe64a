"""Layouts ``rw`` and ``rw-flat``: ``ECON-T: RW: <block>: registers: <register>: value``.

A bit field is found in any of the forms the chip's test files use:
``<reg>: params: <field>: param_value`` (rw), ``<reg>: value`` cut with the
field's ``param_mask``/``param_shift``, or a flat register named after the
field (``FMTBUF_ALL: registers: eporttx_numen: value: 5``, rw-flat). A register
the file leaves out holds the chip's reset value (resets.py), as on the chip.
"""

from __future__ import annotations

from ...errors import UserError
from .. import registers as R
from . import resets
from .base import Layout, header_lines, hex_int

FMT = "FMTBUF_ALL"
ALGO = "MFC_ALGORITHM_SEL_DENSITY"
# Bit fields: ChipConfig field -> (block, register, field).
BIT_FIELDS = {
    "algorithm": (ALGO, "algo", "select"),
    "density": (ALGO, "algo", "density"),
    "n_elinks": (FMT, "config", "eporttx_numen"),
    "use_sum": (FMT, "config", "use_sum"),
    "stc_type": (FMT, "config", "stc_type"),
}
REGISTERS = dict(R.FIELD_REGISTERS)
FLAT_REGISTERS = dict(REGISTERS, **{f: f"{block}.{name}" for f, (block, _, name) in BIT_FIELDS.items()},
                      active_etxs=f"{FMT}.eporttx_numen")


def matches(doc) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("ECON-T"), dict) and "RW" in doc["ECON-T"]


def _rw(doc) -> dict:
    rw = doc["ECON-T"]["RW"]
    if not isinstance(rw, dict):
        raise UserError("'ECON-T: RW:' is not a mapping of register blocks")
    return rw


def _regs(rw: dict, block: str) -> dict | None:
    b = rw.get(block)
    if b is None:
        return None
    regs = b.get("registers") if isinstance(b, dict) else None
    if not isinstance(regs, dict):
        raise UserError(f"register block {block}: expected a 'registers' mapping")
    return regs


def _value(rw: dict, block: str, reg: str, where: str):
    regs = _regs(rw, block)
    r = None if regs is None else regs.get(reg)
    if r is None:
        return None
    if not isinstance(r, dict) or "value" not in r:
        raise UserError(f"{where}: expected a 'value' entry")
    return r["value"]


def _bit_field(rw: dict, block: str, reg: str, name: str, where: str):
    """(value, form) of a bit field, form 'nested' or 'flat'; (None, None) if absent."""
    regs = _regs(rw, block)
    if regs is None:
        return None, None
    r = regs.get(reg)
    params = r.get("params") if isinstance(r, dict) else None
    p = params.get(name) if isinstance(params, dict) else None
    if p is not None:
        if not isinstance(p, dict):
            raise UserError(f"{where}: expected a mapping with 'param_value'")
        if "param_value" in p:
            return p["param_value"], "nested"
        if "value" in r and "param_mask" in p and "param_shift" in p:
            v = R.parse_int(r["value"], where) >> R.parse_int(p["param_shift"], where)
            return v & R.parse_int(p["param_mask"], where), "nested"
        raise UserError(f"{where}: expected 'param_value'")
    flat = regs.get(name)
    if flat is not None:
        if not isinstance(flat, dict) or "value" not in flat:
            raise UserError(f"{where}: expected a 'value' entry")
        return flat["value"], "flat"
    return None, None


def flavour(doc) -> str:
    """rw-flat if any bit field is written as a flat register, else rw."""
    rw = _rw(doc)
    for block, reg, name in BIT_FIELDS.values():
        if _bit_field(rw, block, reg, name, f"register {block}.{name}")[1] == "flat":
            return "rw-flat"
    return "rw"


def _weight_blocks(rw: dict, path: str) -> list[list[int]] | None:
    present = sorted(k for k in rw if isinstance(k, str) and k.startswith("AUTOENCODER_") and k.endswith("INPUT"))
    if not present:
        return None
    expected = [R.block_name(i) for i in range(R.N_BLOCKS)]
    extra = [k for k in present if k not in expected]
    if extra:
        raise UserError(f"{path}: register block {extra[0]}: the weight image has {R.N_BLOCKS} blocks "
                        f"AUTOENCODER_0INPUT..AUTOENCODER_{R.N_BLOCKS - 1}INPUT")
    blocks = []
    for name in expected:
        # The image is one 12,864-bit number: a file that writes part of it is damaged, not a
        # request for the reset value of the rest.
        if name not in rw:
            raise UserError(f"{path}: missing register block {name} (the weight image has {R.N_BLOCKS} blocks)")
        regs = []
        for reg, bits in R.BLOCK_REGISTERS:
            where = f"{path}: register {name}.{reg}"
            v = _value(rw, name, reg, where)
            if v is None:
                raise UserError(f"{path}: missing register {name}.{reg}")
            regs.append(R.fits(v, bits, where))
        blocks.append(regs)
    return blocks


def read(doc, path: str) -> R.ChipConfig:
    rw = _rw(doc)
    w = f"{path}: register "
    cfg = R.ChipConfig(path=path)

    def field(name: str, lo: int, hi: int, reset: int) -> int:
        block, reg, fname = BIT_FIELDS[name]
        v, _ = _bit_field(rw, block, reg, fname, w + REGISTERS[name])
        return reset if v is None else R.ranged(v, lo, hi, w + REGISTERS[name])

    def value(name: str, block: str, reg: str, bits: int, reset: int) -> int:
        v = _value(rw, block, reg, w + REGISTERS[name])
        return reset if v is None else R.fits(v, bits, w + REGISTERS[name])

    def cells(name: str, block: str, reg: str, hi: int, reset: list[int]) -> list[int]:
        v = _value(rw, block, reg, w + REGISTERS[name])
        return list(reset) if v is None else R.int_list(v, R.N_CELLS, 0, hi, w + REGISTERS[name])

    cfg.algorithm = field("algorithm", 0, max(R.ALGORITHMS), resets.ALGORITHM)
    cfg.density = field("density", 0, 1, resets.DENSITY)
    cfg.mux = cells("mux", "MFC_MUX_SELECT", "mux_select_*", R.N_CELLS - 1, resets.MUX)
    cfg.cal = cells("cal", "MFC_CAL_VAL", "cal_*", (1 << R.CAL_BITS) - 1, resets.CAL)
    cfg.n_elinks = field("n_elinks", 1, R.MAX_ELINKS, resets.N_ELINKS)
    # eporttx_numen counts e-links; the chip uses eTx 0..N-1.
    cfg.active_etxs = R.mask_of_count(cfg.n_elinks)
    cfg.mask_ae = value("mask_ae", FMT, "mask_ae", R.MASK_AE_BITS, resets.MASK_AE)
    cfg.mask_ae2 = value("mask_ae2", FMT, "mask_ae2", R.MASK_AE2_BITS, resets.MASK_AE2)
    cfg.weight_blocks = _weight_blocks(rw, path)
    cfg.thresholds = cells("thresholds", "ALGO_THRESHOLD_VAL", "threshold_val_*", (1 << R.THRESHOLD_BITS) - 1,
                           resets.THRESHOLDS)
    cfg.drop_lsb = value("drop_lsb", "ALGO_DROPLSB", "drop_lsb", R.DROP_LSB_BITS, resets.DROP_LSB)
    cfg.buff_t1 = value("buff_t1", FMT, "buff_t1", R.BUFF_T12_BITS, resets.BUFF_T1)
    cfg.buff_t2 = value("buff_t2", FMT, "buff_t2", R.BUFF_T12_BITS, resets.BUFF_T2)
    cfg.buff_t3 = value("buff_t3", FMT, "buff_t3", R.BUFF_T3_BITS, resets.BUFF_T3)
    cfg.stc_type = field("stc_type", 0, (1 << R.STC_TYPE_BITS) - 1, resets.STC_TYPE)
    cfg.use_sum = field("use_sum", 0, 1, resets.USE_SUM)
    cfg.link_reset_pattern = value("link_reset_pattern", FMT, "tx_sync_word", R.SYNC_BITS, resets.TX_SYNC_WORD)
    return cfg


# -- writing -------------------------------------------------------------

def _list_lines(values: list[int], per_line: int, indent: int) -> str:
    width = max(len(str(v)) for v in values)
    rows = [", ".join(f"{v:{width}d}" for v in values[i:i + per_line]) for i in range(0, len(values), per_line)]
    return "[" + (",\n" + " " * indent).join(rows) + "]"


def elink_count(cfg: R.ChipConfig, register: str) -> int:
    """The e-link count a count register holds; refuses masks that are not eTx 0..N-1."""
    n = cfg.n_elinks
    if cfg.active_etxs is not None:
        if cfg.active_etxs != R.mask_of_count(R.popcount(cfg.active_etxs)):
            raise UserError(f"{cfg.path}: active e-links 0x{cfg.active_etxs:x} are not eTx 0..N-1; "
                            f"{register} can only count e-links from eTx 0 (write the production layout)")
        n = R.popcount(cfg.active_etxs)
    if n is None:
        cfg.need("n_elinks")
    return n


def _write(cfg: R.ChipConfig, header: str, flat: bool) -> str:
    cfg.need("algorithm", "density", "mux", "cal")
    n = elink_count(cfg, REGISTERS["n_elinks"])

    def bit_fields(reg: str, fields: list[tuple[str, int, str]]) -> list[str]:
        if flat:
            out = []
            for name, v, note in fields:
                out += [f"    {name}:"] + ([f"     # {note}"] if note else []) + [f"     value: {v}"]
            return out
        out = [f"    {reg}:", "     params:"]
        for name, v, note in fields:
            out += [f"      {name}:"] + ([f"       # {note}"] if note else []) + [f"       param_value: {v}"]
        return out

    algos = ", ".join(f"{k}: {v}" for k, v in R.ALGORITHMS.items())
    lines = header_lines(header) + ["ECON-T:", " RW:", f"  {ALGO}:", "   registers:"]
    lines += bit_fields("algo", [("select", cfg.algorithm, algos),
                                 ("density", cfg.density, "1: high density, 0: low density")])
    lines += ["", "  MFC_MUX_SELECT:", "   registers:", "    mux_select_*:",
              "     value: " + _list_lines(cfg.mux, 8, 13),
              "", "  MFC_CAL_VAL:", "   registers:", "    cal_*:",
              "     value: " + _list_lines(cfg.cal, 8, 13)]
    if cfg.thresholds is not None:
        lines += ["", "  ALGO_THRESHOLD_VAL:", "   registers:", "    threshold_val_*:",
                  "     value: " + _list_lines(cfg.thresholds, 8, 13)]
    if cfg.drop_lsb is not None:
        lines += ["", "  ALGO_DROPLSB:", "   registers:", "    drop_lsb:", f"     value: {cfg.drop_lsb}"]
    lines += ["", f"  {FMT}:", "   registers:"]
    for name, reg, v, fmt in (("link_reset_pattern", "tx_sync_word", cfg.link_reset_pattern, hex_int),
                              ("buff_t1", "buff_t1", cfg.buff_t1, str), ("buff_t2", "buff_t2", cfg.buff_t2, str),
                              ("buff_t3", "buff_t3", cfg.buff_t3, str), ("mask_ae", "mask_ae", cfg.mask_ae, hex_int),
                              ("mask_ae2", "mask_ae2", cfg.mask_ae2, hex_int)):
        if v is not None:
            lines += [f"    {reg}:", f"     value: {fmt(v)}"]
    config = [("eporttx_numen", n, "active output e-links eTx 0..N-1")]
    config += [(k, v, "") for k, v in (("use_sum", cfg.use_sum), ("stc_type", cfg.stc_type)) if v is not None]
    lines += bit_fields("config", config)
    for i, regs in enumerate(cfg.weight_blocks or []):
        lines += ["", f"  {R.block_name(i)}:", "   registers:"]
        for (reg, _), v in zip(R.BLOCK_REGISTERS, regs):
            lines += [f"    {reg}:", f"     value: {hex_int(v)}"]
    return "\n".join(lines) + "\n"


NESTED = Layout("rw", REGISTERS, matches, read, lambda cfg, header: _write(cfg, header, flat=False))
FLAT = Layout("rw-flat", FLAT_REGISTERS, matches, read, lambda cfg, header: _write(cfg, header, flat=True))
