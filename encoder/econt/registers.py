"""The ECON-T I2C configuration file (init.yaml): read it, check it, write it.

The file nests ``ECON-T: RW: <block>: registers: <register>: value`` (or, for
bit fields, ``params: <field>: param_value``). This module reads the
registers the autoencoder path uses and checks every value against the
register's width, so a bad file stops with one line naming the file and the
register. Registers a command does not need may be absent; ``ChipConfig.need``
raises for the ones it does need.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


from ..errors import UserError
from ..files import read_yaml

N_CELLS = 48
N_BLOCKS = 12                       # AUTOENCODER_{0..11}INPUT
BLOCK_REGISTERS = tuple((f"weights_byte{16 * i}", 128) for i in range(8)) + (("weights_byte128", 48),)
BLOCK_BITS = sum(bits for _, bits in BLOCK_REGISTERS)          # 1,072
CAL_BITS = 12                       # calibration value / 2048, below 2.0
MAX_ELINKS = 13
ALGORITHMS = {0: "threshold sum", 1: "super trigger cell", 2: "best choice", 3: "repeater", 4: "autoencoder"}
AUTOENCODER = 4
DENSITY_NAMES = {0: "low", 1: "high"}

# Dotted names used in messages, as the register appears in the file.
REG_SELECT = "MFC_ALGORITHM_SEL_DENSITY.algo.select"
REG_DENSITY = "MFC_ALGORITHM_SEL_DENSITY.algo.density"
REG_MUX = "MFC_MUX_SELECT.mux_select_*"
REG_CAL = "MFC_CAL_VAL.cal_*"
REG_ELINKS = "FMTBUF_ALL.config.eporttx_numen"
REG_MASK_AE = "FMTBUF_ALL.mask_ae"
REG_MASK_AE2 = "FMTBUF_ALL.mask_ae2"

_FIELDS = {
    "algorithm": REG_SELECT, "density": REG_DENSITY, "mux": REG_MUX, "cal": REG_CAL,
    "n_elinks": REG_ELINKS, "mask_ae": REG_MASK_AE, "mask_ae2": REG_MASK_AE2,
    "weight_blocks": f"blocks AUTOENCODER_0INPUT..AUTOENCODER_{N_BLOCKS - 1}INPUT (the weight image)",
}


def block_name(i: int) -> str:
    return f"AUTOENCODER_{i}INPUT"


@dataclass
class ChipConfig:
    """The autoencoder-related registers of one ECON-T configuration (None: absent)."""

    path: str = "<config>"
    algorithm: int | None = None
    density: int | None = None          # 1: high-density module, 0: low density
    mux: list[int] | None = None        # mux output i takes mux input mux[i]
    cal: list[int] | None = None        # CALQ = (d * cal) >> 11
    n_elinks: int | None = None
    mask_ae: int | None = None          # 128 bits
    mask_ae2: int | None = None         # 16 bits
    weight_blocks: list[list[int]] | None = field(default=None, repr=False)   # 12 x 9 register values
    # The other algorithms' registers (threshold sum, super trigger cells, best choice, repeater)
    # and the formatter buffer's; None where the file leaves them out.
    thresholds: list[int] | None = None     # 48 per-trigger-cell thresholds (AlgoThreshold)
    drop_lsb: int | None = None             # AlgoDroplsb
    active_etxs: int | None = None          # bit mask of the active output e-links
    buff_t1: int | None = None              # formatter buffer thresholds
    buff_t2: int | None = None
    buff_t3: int | None = None
    stc_type: int | None = None
    use_sum: int | None = None
    link_reset_pattern: int | None = None
    layout: str | None = None               # which register layout the file was read as

    def need(self, *names: str) -> "ChipConfig":
        """Raise a one-line error for the first named register that the file lacks."""
        for name in names:
            if getattr(self, name) is None:
                raise UserError(f"{self.path}: missing register {_FIELDS[name]}")
        return self

    @property
    def latent_mask(self) -> int:
        """The 144-bit latent mask: mask_ae above mask_ae2, bit k for bit k of OUT_15|...|OUT_0."""
        self.need("mask_ae", "mask_ae2")
        return (self.mask_ae << 16) | self.mask_ae2


def parse_int(value, where: str) -> int:
    """An integer register value: YAML int, or text in decimal/0x/0b with optional underscores."""
    if isinstance(value, bool):
        raise UserError(f"{where}: expected an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip().replace("_", ""), 0)
        except ValueError:
            pass
    raise UserError(f"{where}: expected an integer, got {value!r}")


def _ranged(value, lo: int, hi: int, where: str) -> int:
    v = parse_int(value, where)
    if not lo <= v <= hi:
        raise UserError(f"{where}: value {v} outside {lo}..{hi}")
    return v


def _register(rw: dict, block: str, reg: str):
    b = rw.get(block)
    if b is None:
        return None
    regs = b.get("registers") if isinstance(b, dict) else None
    if not isinstance(regs, dict):
        raise UserError(f"{block}: expected a 'registers' mapping")
    return regs.get(reg)


def _value(rw: dict, block: str, reg: str, where: str):
    r = _register(rw, block, reg)
    if r is None:
        return None
    if not isinstance(r, dict) or "value" not in r:
        raise UserError(f"{where}: expected a 'value' entry")
    return r["value"]


def _param(rw: dict, block: str, reg: str, name: str, where: str):
    """A bit field: ``params: name: param_value``, or ``value`` with the field's mask and shift."""
    r = _register(rw, block, reg)
    if r is None:
        return None
    params = r.get("params") if isinstance(r, dict) else None
    p = params.get(name) if isinstance(params, dict) else None
    if p is None:
        return None
    if not isinstance(p, dict):
        raise UserError(f"{where}: expected a mapping with 'param_value'")
    if "param_value" in p:
        return p["param_value"]
    if "value" in r and "param_mask" in p and "param_shift" in p:
        return (parse_int(r["value"], where) >> parse_int(p["param_shift"], where)) & parse_int(p["param_mask"], where)
    raise UserError(f"{where}: expected 'param_value'")


def _int_list(value, n: int, lo: int, hi: int, where: str) -> list[int]:
    if not isinstance(value, (list, tuple)):
        raise UserError(f"{where}: expected a list of {n} integers, got {type(value).__name__}")
    if len(value) != n:
        raise UserError(f"{where}: expected {n} values, got {len(value)}")
    return [_ranged(v, lo, hi, f"{where}[{i}]") for i, v in enumerate(value)]


def _weight_blocks(rw: dict, path: str) -> list[list[int]] | None:
    present = sorted(k for k in rw if isinstance(k, str) and k.startswith("AUTOENCODER_") and k.endswith("INPUT"))
    if not present:
        return None
    expected = [block_name(i) for i in range(N_BLOCKS)]
    extra = [k for k in present if k not in expected]
    if extra:
        raise UserError(f"{path}: register block {extra[0]}: the weight image has {N_BLOCKS} blocks "
                        f"AUTOENCODER_0INPUT..AUTOENCODER_{N_BLOCKS - 1}INPUT")
    blocks = []
    for i, name in enumerate(expected):
        if name not in rw:
            raise UserError(f"{path}: missing register block {name} (the weight image has {N_BLOCKS} blocks)")
        regs = []
        for reg, bits in BLOCK_REGISTERS:
            where = f"{path}: register {name}.{reg}"
            v = _value(rw, name, reg, where)
            if v is None:
                raise UserError(f"{path}: missing register {name}.{reg}")
            v = parse_int(v, where)
            if not 0 <= v < (1 << bits):
                raise UserError(f"{where}: value 0x{v:x} does not fit its {bits} bits")
            regs.append(v)
        blocks.append(regs)
    return blocks


def read_config(path) -> ChipConfig:
    """Read and check an ECON-T init.yaml (values range-checked; absent registers are None)."""
    path = Path(path)
    doc = read_yaml(path)
    rw = doc.get("ECON-T", {}).get("RW") if isinstance(doc, dict) and isinstance(doc.get("ECON-T"), dict) else None
    if not isinstance(rw, dict):
        raise UserError(f"{path}: not an ECON-T I2C configuration (no 'ECON-T: RW:' section)")
    p = str(path)
    try:
        cfg = ChipConfig(path=p)
        w = f"{p}: register "
        v = _param(rw, "MFC_ALGORITHM_SEL_DENSITY", "algo", "select", w + REG_SELECT)
        cfg.algorithm = None if v is None else _ranged(v, 0, max(ALGORITHMS), w + REG_SELECT)
        v = _param(rw, "MFC_ALGORITHM_SEL_DENSITY", "algo", "density", w + REG_DENSITY)
        cfg.density = None if v is None else _ranged(v, 0, 1, w + REG_DENSITY)
        v = _value(rw, "MFC_MUX_SELECT", "mux_select_*", w + REG_MUX)
        cfg.mux = None if v is None else _int_list(v, N_CELLS, 0, N_CELLS - 1, w + REG_MUX)
        v = _value(rw, "MFC_CAL_VAL", "cal_*", w + REG_CAL)
        cfg.cal = None if v is None else _int_list(v, N_CELLS, 0, (1 << CAL_BITS) - 1, w + REG_CAL)
        v = _param(rw, "FMTBUF_ALL", "config", "eporttx_numen", w + REG_ELINKS)
        cfg.n_elinks = None if v is None else _ranged(v, 1, MAX_ELINKS, w + REG_ELINKS)
        v = _value(rw, "FMTBUF_ALL", "mask_ae", w + REG_MASK_AE)
        cfg.mask_ae = None if v is None else _ranged(v, 0, (1 << 128) - 1, w + REG_MASK_AE)
        v = _value(rw, "FMTBUF_ALL", "mask_ae2", w + REG_MASK_AE2)
        cfg.mask_ae2 = None if v is None else _ranged(v, 0, (1 << 16) - 1, w + REG_MASK_AE2)
        cfg.weight_blocks = _weight_blocks(rw, p)
    except UserError as exc:
        msg = str(exc)
        raise UserError(msg if msg.startswith(p) else f"{p}: {msg}") from None
    return cfg


# -- writing -------------------------------------------------------------

def _hex(v: int) -> str:
    return f"0x{v:x}"


def _list_lines(values: list[int], per_line: int, indent: int) -> str:
    width = max(len(str(v)) for v in values)
    rows = [", ".join(f"{v:{width}d}" for v in values[i:i + per_line]) for i in range(0, len(values), per_line)]
    pad = " " * indent
    return "[" + (",\n" + pad).join(rows) + "]"


def format_config(cfg: ChipConfig, header: str = "") -> str:
    """The register image as init.yaml text (the layout the ECON-T test software reads)."""
    cfg.need("algorithm", "density", "mux", "cal", "n_elinks", "mask_ae", "mask_ae2", "weight_blocks")
    lines = [f"# {line}" for line in header.splitlines()] if header else []
    lines += [
        "ECON-T:",
        " RW:",
        "  MFC_ALGORITHM_SEL_DENSITY:",
        "   registers:",
        "    algo:",
        "     params:",
        "      select:",
        f"       # {', '.join(f'{k}: {v}' for k, v in ALGORITHMS.items())}",
        f"       param_value: {cfg.algorithm}",
        "      density:",
        "       # 1: high density, 0: low density",
        f"       param_value: {cfg.density}",
        "",
        "  MFC_MUX_SELECT:",
        "   registers:",
        "    mux_select_*:",
        "     value: " + _list_lines(cfg.mux, 8, 13),
        "",
        "  MFC_CAL_VAL:",
        "   registers:",
        "    cal_*:",
        "     value: " + _list_lines(cfg.cal, 8, 13),
        "",
        "  FMTBUF_ALL:",
        "   registers:",
        "    mask_ae:",
        f"     value: {_hex(cfg.mask_ae)}",
        "    mask_ae2:",
        f"     value: {_hex(cfg.mask_ae2)}",
        "    config:",
        "     params:",
        "      eporttx_numen:",
        f"       param_value: {cfg.n_elinks}",
    ]
    for i, regs in enumerate(cfg.weight_blocks):
        lines += ["", f"  {block_name(i)}:", "   registers:"]
        for (reg, _), v in zip(BLOCK_REGISTERS, regs):
            lines += [f"    {reg}:", f"     value: {_hex(v)}"]
    return "\n".join(lines) + "\n"
