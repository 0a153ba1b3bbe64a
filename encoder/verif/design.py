"""A generated design as the testbench sees it: read from DIR/manifest.json.

The manifest names the top module and its Verilog sources, the ports with
their widths and roles (clock, reset, input valid and counts, output valid,
latents and module-sum code, configuration port), the latency in cycles,
the weight mode and, for programmable designs, the register map. Nothing
about the interface is hard-coded in the testbench: it all comes from here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UserError
from ..inputs import read_json
from ..ir import EncoderIR, load_ir

WEIGHT_MODES = ("programmable", "constant")
DATA_ROLES = ("in_valid", "in_counts", "out_valid", "out_latents", "out_sum_code")
CONFIG_ROLES = ("cfg_we", "cfg_addr", "cfg_wdata", "cfg_rdata")
FRAMING_ROLES = ("in_bx_reset", "out_tx_valid", "out_tx_data")
ELINK_BITS = 32


@dataclass(frozen=True)
class Port:
    name: str
    direction: str
    width: int
    fields: int = 1             # packed vectors: element i in bits [w*i + w - 1 : w*i]
    field_width: int = 0
    signed: bool = False        # elements are two's complement
    latency: int | None = None  # cycles from valid_in, when the port states its own (the tx ports)

    @property
    def element_width(self) -> int:
        return self.field_width or self.width


@dataclass(frozen=True)
class RegField:
    """One weight or bias code in the register file."""

    addr: int
    layer: str                  # layer name in the IR
    kind: str                   # "weight" or "bias"
    index: int                  # flat index into the layer's weight (Keras layout) or bias
    bits: int
    lsb: int = 0                # position inside the register word


@dataclass
class RegisterMap:
    data_width: int
    read_latency: int
    fields: list[RegField]
    keep_through_reset: bool = True
    # Control and status registers (generated designs: rtl/enc_cfg_ctrl.v): register name -> address,
    # and the bank ("shadow": writes wait for a COMMIT; "direct": written in place). None: weights only.
    control: dict[str, int] | None = None
    bank: str = "direct"
    commit_delay: int = 2       # a crossing this many edges after the COMMIT write meets the new set
    # Weight writes this many cycles after the COMMIT write's cycle (first, last) are dropped while a bank
    # has yet to copy; ``drop_exact``: every write in the window is dropped (else, with --reuse, the copy
    # waits for a crossing boundary and a write late in the window may be taken). None: no window.
    drop_window: tuple[int, int] | None = None
    drop_exact: bool = True
    commit_stages: int = 1      # commit strobes: the last stage's banks copy commit_stages edges after the write

    @property
    def live_reload(self) -> bool:
        """Weights can be reloaded while data flows: shadow banks and a commit."""
        return self.control is not None and self.bank == "shadow"

    @property
    def addresses(self) -> list[int]:
        return sorted({f.addr for f in self.fields})


@dataclass(frozen=True)
class Framing:
    """The e-link framing block on the outputs: ``elinks`` 32-bit e-links on tx_data, ``latency`` after valid_in,
    and its two configuration registers (e-link count, latent mask) with their addresses and reset values."""

    elinks: int                 # e-links the tx port carries (the most the count register enables)
    latency: int
    mask: int                   # the latent mask register's reset value: bit k keeps bit k of the latent word
    count_reset: int = 0        # the e-link count register's reset value
    count_addr: int = 0
    count_bits: int = 1
    mask_addr: int = 1
    mask_words: int = 1
    mask_bits: int = 1
    word_bits: int = 1          # mask bits per register word (the port's data width)

    def to_dict(self) -> dict:
        return {"elinks": self.elinks, "latency": self.latency, "latent_mask": f"0x{self.mask:x}",
                "count_reset": self.count_reset, "count_addr": self.count_addr, "count_bits": self.count_bits,
                "mask_addr": self.mask_addr, "mask_words": self.mask_words, "mask_bits": self.mask_bits,
                "word_bits": self.word_bits}

    def mask_image(self, mask: int) -> dict[int, int]:
        """Register address -> word for a latent mask (word j holds bits [word_bits*j +: word_bits])."""
        m = (1 << self.word_bits) - 1
        return {self.mask_addr + j: (mask >> (self.word_bits * j)) & m for j in range(self.mask_words)}

    def image(self, count: int, mask: int) -> dict[int, int]:
        """Register address -> word for an e-link count and a latent mask."""
        return {self.count_addr: count & ((1 << self.count_bits) - 1), **self.mask_image(mask)}


@dataclass
class Design:
    dir: Path
    top: str
    sources: list[Path]
    ir_path: Path | None
    weights: str
    latency: int
    clock: str
    reset: str
    reset_active_high: bool
    reset_sync: bool
    ports: dict[str, Port]              # by role
    registers: RegisterMap | None = None
    framing: Framing | None = None
    manifest: dict = field(default_factory=dict)
    initiation_interval: int = 1        # cycles between modules (--reuse R designs: R)
    gate_level: dict | None = None      # netlist, library... when sources are a mapped netlist (see gates)

    @property
    def programmable(self) -> bool:
        return self.weights == "programmable"

    @property
    def has_cfg(self) -> bool:
        """A configuration port: programmable weights, or the framing registers (either weight mode)."""
        return "cfg_we" in self.ports

    def port(self, role: str) -> Port:
        return self.ports[role]

    def load_ir(self) -> EncoderIR:
        if self.ir_path is None:
            raise UserError(f"{self.dir / 'manifest.json'}: no IR recorded; pass --ir")
        return load_ir(self.ir_path)

    def content_hash(self) -> str:
        """Changes whenever a source or the manifest changes: keys the build cache."""
        h = hashlib.sha256()
        h.update(self.top.encode())
        for src in self.sources:
            h.update(src.name.encode())
            h.update(src.read_bytes())
        return h.hexdigest()

    def to_dict(self) -> dict:
        """What the testbench inside the simulator needs (plain JSON)."""
        d = {
            "dir": str(self.dir), "top": self.top, "weights": self.weights, "latency": self.latency,
            "clock": self.clock, "reset": self.reset, "reset_active_high": self.reset_active_high,
            "reset_sync": self.reset_sync, "initiation_interval": self.initiation_interval,
            "ports": {role: vars(p) for role, p in self.ports.items()},
        }
        if self.registers is not None:
            d["registers"] = {"data_width": self.registers.data_width,
                              "read_latency": self.registers.read_latency,
                              "keep_through_reset": self.registers.keep_through_reset,
                              "fields": [vars(f) for f in self.registers.fields],
                              "control": self.registers.control, "bank": self.registers.bank,
                              "commit_delay": self.registers.commit_delay,
                              "drop_window": self.registers.drop_window, "drop_exact": self.registers.drop_exact,
                              "commit_stages": self.registers.commit_stages}
        if self.framing is not None:
            d["framing"] = self.framing.to_dict()
        return d


def _req(d: dict, key: str, where: str):
    if not isinstance(d, dict) or key not in d:
        raise UserError(f"{where}: missing field {key!r}")
    return d[key]


def _int(v, where: str, lo: int = 0) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v < lo:
        raise UserError(f"{where}: expected an integer >= {lo}, got {v!r}")
    return v


def _ports(m: dict, where: str) -> dict[str, Port]:
    ports = {}
    for i, p in enumerate(_req(m, "ports", where)):
        w = f"{where}: ports[{i}]"
        role = p.get("role")
        port = Port(name=_req(p, "name", w), direction=_req(p, "direction", w),
                    width=_int(_req(p, "width", w), f"{w}.width", 1),
                    fields=_int(p.get("fields", 1), f"{w}.fields", 1),
                    field_width=_int(p.get("field_width", 0), f"{w}.field_width"),
                    signed=bool(p.get("signed", False)),
                    latency=_int(p["latency"], f"{w}.latency") if "latency" in p else None)
        if port.fields > 1 and port.fields * port.element_width > port.width:
            raise UserError(f"{w}: {port.fields} fields of {port.element_width} bits do not fit {port.width} bits")
        if role:
            ports[role] = port
    return ports


def _registers(m: dict, where: str) -> RegisterMap:
    r = _req(m, "registers", where)
    fields = []
    for i, f in enumerate(_req(r, "map", f"{where}: registers")):
        w = f"{where}: registers.map[{i}]"
        kind = _req(f, "kind", w)
        if kind not in ("weight", "bias"):
            raise UserError(f"{w}.kind: {kind!r} is not 'weight' or 'bias'")
        fields.append(RegField(addr=_int(_req(f, "addr", w), f"{w}.addr"), layer=_req(f, "layer", w), kind=kind,
                               index=_int(_req(f, "index", w), f"{w}.index"),
                               bits=_int(_req(f, "bits", w), f"{w}.bits", 1), lsb=_int(f.get("lsb", 0), f"{w}.lsb")))
    where_r = f"{where}: registers"
    control, delay, window, exact, stages = None, 2, None, True, 1
    if "control" in r:
        c = r["control"]
        control = {_req(reg, "name", f"{where_r}.control"): _int(_req(reg, "addr", f"{where_r}.control"),
                                                                 f"{where_r}.control.addr")
                   for reg in _req(c, "registers", f"{where_r}.control")}
        delay = _int(c.get("first_crossing_after_commit", 2), f"{where_r}.control.first_crossing_after_commit")
        if c.get("dropped_after_commit") is not None:
            span = c["dropped_after_commit"]
            w_d = f"{where_r}.control.dropped_after_commit"
            if not isinstance(span, list) or len(span) != 2:
                raise UserError(f"{w_d}: expected [first, last] cycles after the COMMIT write, got {span!r}")
            first = _int(span[0], f"{w_d}[0]", 1)
            window = (first, _int(span[1], f"{w_d}[1]", first))
        exact = bool(c.get("dropped_window_exact", True))
        stages = _int(c.get("commit_stages", 1), f"{where_r}.control.commit_stages", 1)
    return RegisterMap(data_width=_int(_req(r, "data_width", where_r), f"{where_r}.data_width", 1),
                       read_latency=_int(r.get("read_latency", 1), f"{where_r}.read_latency"),
                       fields=fields, keep_through_reset=bool(r.get("keep_through_reset", True)),
                       control=control, bank=str(r.get("bank", "direct")), commit_delay=delay,
                       drop_window=window, drop_exact=exact, commit_stages=stages)


def _framing(m: dict, ports: dict[str, Port], where: str) -> Framing | None:
    """The framing facts when the design has tx ports (all three roles, a latency, the latent mask)."""
    have = [r for r in FRAMING_ROLES if r in ports]
    if not have:
        return None
    missing = [r for r in FRAMING_ROLES if r not in ports]
    if missing:
        raise UserError(f"{where}: ports: roles {', '.join(have)} without {', '.join(missing)}")
    tx, tv = ports["out_tx_data"], ports["out_tx_valid"]
    if tx.element_width != ELINK_BITS or tx.width != ELINK_BITS * tx.fields:
        raise UserError(f"{where}: ports: {tx.name} must carry {ELINK_BITS}-bit e-link words "
                        f"({tx.fields} x {tx.element_width} bits in {tx.width})")
    if tx.latency is None or tv.latency is None:
        raise UserError(f"{where}: ports: {tx.name} and {tv.name} must state their latency")
    if tx.latency != tv.latency:
        raise UserError(f"{where}: ports: {tx.name} latency {tx.latency} differs from {tv.name} latency "
                        f"{tv.latency}")
    missing = [r for r in CONFIG_ROLES if r not in ports]
    if missing:
        raise UserError(f"{where}: ports: framing registers need the configuration port (no role "
                        f"{', '.join(missing)})")
    regs = {r.get("name"): r for r in _req(_req(m, "registers", where), "framing", f"{where}: registers")
            if isinstance(r, dict)}
    w = f"{where}: registers.framing"
    count, mask_reg = _req(regs, "elinks", w), _req(regs, "latent_mask", w)
    mask = _req(mask_reg, "reset", f"{w}[latent_mask]")
    try:
        mask = int(mask, 16) if isinstance(mask, str) else _int(mask, f"{w}[latent_mask].reset")
    except ValueError:
        raise UserError(f"{w}[latent_mask].reset: expected a hex string, got {mask!r}") from None
    fr = Framing(elinks=tx.fields, latency=tx.latency, mask=mask,
                 count_reset=_int(_req(count, "reset", f"{w}[elinks]"), f"{w}[elinks].reset"),
                 count_addr=_int(_req(count, "addr", f"{w}[elinks]"), f"{w}[elinks].addr"),
                 count_bits=_int(_req(count, "width", f"{w}[elinks]"), f"{w}[elinks].width", 1),
                 mask_addr=_int(_req(mask_reg, "addr", f"{w}[latent_mask]"), f"{w}[latent_mask].addr"),
                 mask_words=_int(_req(mask_reg, "words", f"{w}[latent_mask]"), f"{w}[latent_mask].words", 1),
                 mask_bits=_int(_req(mask_reg, "width", f"{w}[latent_mask]"), f"{w}[latent_mask].width", 1),
                 word_bits=_int(_req(mask_reg, "word_bits", f"{w}[latent_mask]"), f"{w}[latent_mask].word_bits", 1))
    if fr.mask_words * fr.word_bits < fr.mask_bits or fr.word_bits > ports["cfg_wdata"].width:
        raise UserError(f"{w}[latent_mask]: {fr.mask_words} words of {fr.word_bits} bits do not hold "
                        f"{fr.mask_bits} bits on the {ports['cfg_wdata'].width}-bit cfg_wdata")
    if fr.mask >> fr.mask_bits or fr.count_reset >> fr.count_bits:
        raise UserError(f"{w}: a reset value is wider than its register")
    return fr


def load_design(path: str | Path) -> Design:
    """DIR (or DIR/manifest.json) -> Design; errors name the file and field."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such design directory (make one with `encoder rtl`)")
    mpath = path / "manifest.json" if path.is_dir() else path
    if not mpath.is_file():
        raise UserError(f"{mpath}: no such file (expected a design directory from `encoder rtl`)")
    m = read_json(mpath, "design manifest")
    if not isinstance(m, dict):
        raise UserError(f"{mpath}: not a design manifest (expected a JSON object)")
    where = str(mpath)
    root = mpath.parent
    sources = [root / s for s in _req(m, "sources", where)]
    for s in sources:
        if not s.is_file():
            raise UserError(f"{where}: sources: {s} does not exist")
    weights = _req(m, "weights", where)
    if weights not in WEIGHT_MODES:
        raise UserError(f"{where}: weights: {weights!r} is not one of {list(WEIGHT_MODES)}")
    ports = _ports(m, where)
    rst = _req(m, "reset", where)
    if m.get("registers", {}).get("port") == "i2c":
        raise UserError(f"{where}: a --config-port i2c design; encoder sim drives the parallel configuration "
                        f"port (generate with --config-port parallel), the I2C port is checked by "
                        f"tests/test_config_i2c.py and `encoder econt check-rtl --config-port i2c`")
    need = ("clock", "reset") + DATA_ROLES + (CONFIG_ROLES if weights == "programmable" else ())
    missing = [r for r in need if r not in ports]
    if missing:
        raise UserError(f"{where}: ports: no port with role {', '.join(missing)}")
    ir_rel = m.get("ir")
    ir_path = None
    if ir_rel:
        ir_path = (root / ir_rel) if not Path(ir_rel).is_absolute() else Path(ir_rel)
    return Design(
        dir=root, top=_req(m, "top", where), sources=sources, ir_path=ir_path, weights=weights,
        latency=_int(_req(m, "latency", where), f"{where}: latency"),
        clock=ports["clock"].name, reset=ports["reset"].name,
        reset_active_high=_req(rst, "active", f"{where}: reset") == "high",
        reset_sync=bool(rst.get("sync", True)), ports=ports,
        registers=_registers(m, where) if weights == "programmable" else None,
        framing=_framing(m, ports, where), manifest=m,
        initiation_interval=_int(m.get("initiation_interval", 1), f"{where}: initiation_interval", 1),
    )
