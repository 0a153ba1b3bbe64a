"""The ECON-T I2C configuration: the registers the kit uses, their values, reading and writing.

``ChipConfig`` holds the registers of one configuration whatever file layout
it came from; ``read_config`` detects the layout (or takes the one named) and
``format_config`` writes any layout. The layouts themselves live in
``encoder/econt/layouts/`` (one module each, plus the detector); this module
keeps the field list, value parsing and the range checks every layout shares,
so a bad value stops with one line naming the file and the register.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UserError

N_CELLS = 48
N_BLOCKS = 12                       # AUTOENCODER_{0..11}INPUT
BLOCK_REGISTERS = tuple((f"weights_byte{16 * i}", 128) for i in range(8)) + (("weights_byte128", 48),)
BLOCK_BITS = sum(bits for _, bits in BLOCK_REGISTERS)          # 1,072
CAL_BITS = 12                       # calibration value / 2048, below 2.0
MAX_ELINKS = 13
ALGORITHMS = {0: "threshold sum", 1: "super trigger cell", 2: "best choice", 3: "repeater", 4: "autoencoder"}
AUTOENCODER = 4
DENSITY_NAMES = {0: "low", 1: "high"}
# Register widths (bits) from the chip's register map (see layouts/resets.py for the source):
# threshold_val_* 3 bytes of which the chip uses 22 (0x3fffff is the "send nothing" threshold of
# its test software), drop_lsb one byte, buff_t1/t2 two bytes, buff_t3 one byte, stc_type 2 bits,
# use_sum 1 bit, the idle/sync pattern 11 bits (the eTx idle word is 5 BX bits + 11 pattern bits).
THRESHOLD_BITS = 22
DROP_LSB_BITS = 8
BUFF_T12_BITS = 16
BUFF_T3_BITS = 8
STC_TYPE_BITS = 2
SYNC_BITS = 11
MASK_AE_BITS, MASK_AE2_BITS = 128, 16
LATENT_MASK_BITS = MASK_AE_BITS + MASK_AE2_BITS                # 144

# Each field's register as the original (``ECON-T: RW``) layout names it; layouts override the
# names in their messages.
FIELD_REGISTERS = {
    "algorithm": "MFC_ALGORITHM_SEL_DENSITY.algo.select",
    "density": "MFC_ALGORITHM_SEL_DENSITY.algo.density",
    "mux": "MFC_MUX_SELECT.mux_select_*",
    "cal": "MFC_CAL_VAL.cal_*",
    "n_elinks": "FMTBUF_ALL.config.eporttx_numen",
    "active_etxs": "FMTBUF_ALL.config.eporttx_numen",
    "mask_ae": "FMTBUF_ALL.mask_ae",
    "mask_ae2": "FMTBUF_ALL.mask_ae2",
    "weight_blocks": f"blocks AUTOENCODER_0INPUT..AUTOENCODER_{N_BLOCKS - 1}INPUT (the weight image)",
    "thresholds": "ALGO_THRESHOLD_VAL.threshold_val_*",
    "drop_lsb": "ALGO_DROPLSB.drop_lsb",
    "buff_t1": "FMTBUF_ALL.buff_t1",
    "buff_t2": "FMTBUF_ALL.buff_t2",
    "buff_t3": "FMTBUF_ALL.buff_t3",
    "stc_type": "FMTBUF_ALL.config.stc_type",
    "use_sum": "FMTBUF_ALL.config.use_sum",
    "link_reset_pattern": "FMTBUF_ALL.tx_sync_word",
}
# Kept for callers that name registers in their own messages.
REG_SELECT = FIELD_REGISTERS["algorithm"]
REG_DENSITY = FIELD_REGISTERS["density"]
REG_MUX = FIELD_REGISTERS["mux"]
REG_CAL = FIELD_REGISTERS["cal"]
REG_ELINKS = FIELD_REGISTERS["n_elinks"]
REG_MASK_AE = FIELD_REGISTERS["mask_ae"]
REG_MASK_AE2 = FIELD_REGISTERS["mask_ae2"]


def block_name(i: int) -> str:
    return f"AUTOENCODER_{i}INPUT"


@dataclass
class ChipConfig:
    """The registers of one ECON-T configuration (None: absent and no reset value known)."""

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
                raise UserError(f"{self.path}: missing register {register_label(self.layout, name)}")
        return self

    @property
    def latent_mask(self) -> int:
        """The 144-bit latent mask: mask_ae above mask_ae2, bit k for bit k of OUT_15|...|OUT_0."""
        self.need("mask_ae", "mask_ae2")
        return (self.mask_ae << MASK_AE2_BITS) | self.mask_ae2


def register_label(layout: str | None, name: str) -> str:
    """How the register behind ChipConfig field ``name`` is called in files of ``layout``."""
    from .layouts import field_register
    return field_register(layout, name) or FIELD_REGISTERS.get(name, name)


# -- values ----------------------------------------------------------------

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


def ranged(value, lo: int, hi: int, where: str) -> int:
    v = parse_int(value, where)
    if not lo <= v <= hi:
        raise UserError(f"{where}: value {v} outside {lo}..{hi}")
    return v


def fits(value, bits: int, where: str) -> int:
    """A register of ``bits`` bits (masks and wide words: the message shows hex)."""
    v = parse_int(value, where)
    if not 0 <= v < (1 << bits):
        raise UserError(f"{where}: value 0x{v:x} does not fit its {bits} bits" if v >= 0
                        else f"{where}: value {v} is negative")
    return v


def int_list(value, n: int, lo: int, hi: int, where: str) -> list[int]:
    if not isinstance(value, (list, tuple)):
        raise UserError(f"{where}: expected a list of {n} integers, got {type(value).__name__}")
    if len(value) != n:
        raise UserError(f"{where}: expected {n} values, got {len(value)}")
    return [ranged(v, lo, hi, f"{where}[{i}]") for i, v in enumerate(value)]


def indexed_list(node, n: int, lo: int, hi: int, where: str, leaf: str | None = None) -> list[int]:
    """A per-cell register written as a mapping ``0: v, 1: v, ...`` (keys int or text), or a list.

    ``leaf``: the entry may also be ``i: {leaf: v}`` (the chip's software writes both forms).
    """
    if isinstance(node, (list, tuple)):
        return int_list(node, n, lo, hi, where)
    if not isinstance(node, dict):
        raise UserError(f"{where}: expected {n} entries 0..{n - 1}, got {type(node).__name__}")
    values: dict[int, object] = {}
    for k, v in node.items():
        try:
            i = parse_int(k, where)
        except UserError:
            raise UserError(f"{where}: entry {k!r} is not an index 0..{n - 1}") from None
        if not 0 <= i < n:
            raise UserError(f"{where}: entry {i} outside 0..{n - 1}")
        if i in values:
            raise UserError(f"{where}: entry {i} given twice")
        if leaf is not None and isinstance(v, dict):
            if set(v) != {leaf}:
                raise UserError(f"{where}[{i}]: expected '{leaf}', got {sorted(map(str, v))}")
            v = v[leaf]
        values[i] = v
    missing = [i for i in range(n) if i not in values]
    if missing:
        raise UserError(f"{where}: expected {n} entries 0..{n - 1}, entry {missing[0]} missing")
    return [ranged(values[i], lo, hi, f"{where}[{i}]") for i in range(n)]


def popcount(v: int) -> int:
    return bin(v).count("1")


def mask_of_count(n: int) -> int:
    """The chip's e-links are used from eTx 0 up: N links are the mask of the N lowest."""
    return (1 << n) - 1


def framed_elinks(cfg: ChipConfig) -> int:
    """The e-link count the kit frames for; refuses masks that are not eTx 0..N-1.

    The chip's test vectors only show e-links filled from eTx 0 up; where a gapped mask
    (possible in the production layout) would put the words is not modelled.
    """
    cfg.need("n_elinks")
    if cfg.active_etxs is not None and cfg.active_etxs != mask_of_count(cfg.n_elinks):
        raise UserError(f"{cfg.path}: register {register_label(cfg.layout, 'active_etxs')} is "
                        f"0x{cfg.active_etxs:x}, not eTx 0..{cfg.n_elinks - 1}; framing only models "
                        "e-links used from eTx 0 up")
    return cfg.n_elinks


# -- reading and writing -----------------------------------------------------

def read_config(path, layout: str | None = None) -> ChipConfig:
    """Read and check an ECON-T configuration in any known layout (``layout``: force one)."""
    from ..files import read_yaml
    from .layouts import read_document

    path = Path(path)
    doc = read_yaml(path)
    p = str(path)
    try:
        return read_document(doc, p, layout)
    except UserError as exc:
        msg = str(exc)
        raise UserError(msg if msg.startswith(p) else f"{p}: {msg}") from None


def format_config(cfg: ChipConfig, header: str = "", layout: str | None = None) -> str:
    """The register image as text in ``layout`` (default: the production chip's layout)."""
    from .layouts import DEFAULT_WRITE_LAYOUT, write_document
    return write_document(cfg, header, layout or DEFAULT_WRITE_LAYOUT)
