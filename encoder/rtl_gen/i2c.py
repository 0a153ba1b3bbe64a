"""`encoder rtl --config-port i2c`: the configuration registers behind an I2C target, as on the chip.

Register map (16-bit register addresses, one byte each, auto-increment):

- ``0 .. image_bytes-1``: the weight image, every weight field packed end to end in register-map
  order (rtl/enc_cfg_image.v); byte a holds image bits [8a +: 8]. In blocks of 134 bytes named
  as the ECON-T's ``AUTOENCODER_<b>INPUT`` (registers ``weights_byte0, 16, ..., 112`` of 16
  bytes and ``weights_byte128`` of 6): for the chip configuration this is the chip's own
  12,864-bit image (``encoder.econt.weights``), block b = image bits [1072b +: 1072].
- ``framing_base ..``: the framing registers (--elinks): e-link count, then the latent mask bytes
  (least significant first), as rtl/enc_frame_cfg.v with 8-bit words.
- ``control_base .. +6``: COMMIT, ENABLE, RD_ACTIVE, STATUS, COMMITS, UNMAPPED, DROPPED (rtl/enc_cfg_ctrl.v).

Everything else is unmapped: writes are dropped and counted in UNMAPPED, reads return 0.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..econt.registers import BLOCK_BITS, BLOCK_REGISTERS
from ..errors import UserError
from .common import _instance
from .framing import Framing, FramingRegs
from .plan import CFG_CONTROL_REGS, DesignPlan
from .verilog import Writer, vec

ADDR_BITS = 16                      # register address: two bytes after the device address
DATA_BITS = 8
BLOCK_BYTES = BLOCK_BITS // 8       # 134: one AUTOENCODER_<b>INPUT block
DEFAULT_ADDRESS = 0x20              # 7-bit device address (a parameter of the target)
SECTION = 0x100                     # the framing and control registers start on a 256-byte boundary


@dataclass(frozen=True)
class I2cMap:
    image_bits: int
    image_bytes: int
    framing_base: int | None
    control_base: int
    address: int                    # 7-bit device address

    @property
    def blocks(self) -> int:
        return -(-self.image_bytes // BLOCK_BYTES)


def i2c_map(plan: DesignPlan, framing: Framing | None, address: int) -> I2cMap:
    if not 0x08 <= address <= 0x77:
        raise UserError(f"--i2c-address: 0x{address:02x} is outside 0x08..0x77 (the 7-bit addresses not "
                        f"reserved by the I2C standard)")
    bits = plan.config_bits
    nbytes = -(-bits // 8)
    base = -(-nbytes // SECTION) * SECTION
    framing_base = None
    if framing is not None:
        framing_base = base
        mask_bytes = -(-(plan.ir.n_latent * plan.latent_bits) // DATA_BITS)
        base += -(-(1 + mask_bytes) // SECTION) * SECTION
    if base + CFG_CONTROL_REGS > 1 << ADDR_BITS:
        raise UserError(f"--config-port i2c: {nbytes} bytes of weights do not fit the 16-bit register space")
    return I2cMap(bits, nbytes, framing_base, base, address)


def framing_regs_i2c(plan: DesignPlan, framing: Framing, m: I2cMap) -> FramingRegs:
    mask_bits = plan.ir.n_latent * plan.latent_bits
    words = -(-mask_bits // DATA_BITS)
    return FramingRegs(m.framing_base, DATA_BITS, ADDR_BITS, max(1, words.bit_length()), framing.count_bits,
                       mask_bits)


def ports() -> list[tuple[str, str, str]]:
    return [("input  wire", "", "scl  // I2C clock, from the pad (asynchronous)"),
            ("input  wire", "", "sda  // I2C data, from the pad (asynchronous)"),
            ("output wire", "", "sda_oe  // 1: pull SDA low (open drain)")]


def port_facts() -> list[dict]:
    return [{"name": "scl", "direction": "input", "width": 1, "role": "i2c_scl"},
            {"name": "sda", "direction": "input", "width": 1, "role": "i2c_sda"},
            {"name": "sda_oe", "direction": "output", "width": 1, "role": "i2c_sda_oe"}]


def emit_target(w: Writer, m: I2cMap) -> None:
    """The I2C target and the byte bus it drives (cfg_we, cfg_addr, cfg_wdata; cfg_rdata back)."""
    w()
    w(f"// I2C target at address 7'h{m.address:02x}: scl and sda are synchronised into the clk domain inside", 1)
    w("// it; the byte bus below (pointer, write strobe, registered read-back) is all in the clk domain.", 1)
    w("wire cfg_we;", 1)
    w(f"wire {vec(ADDR_BITS)} cfg_addr;", 1)
    w(f"wire {vec(DATA_BITS)} cfg_wdata;", 1)
    w(f"reg  {vec(DATA_BITS)} cfg_rdata;", 1)
    _instance(w, "enc_i2c_target", [("ADDRESS", f"7'h{m.address:02x}"), ("FILTER", "2")], "u_i2c", [
        ("clk", "clk"), ("rst", "cfg_rst"), ("scl", "scl"), ("sda", "sda"), ("sda_oe", "sda_oe"),
        ("we", "cfg_we"), ("addr", "cfg_addr"), ("wdata", "cfg_wdata"), ("rdata", "cfg_rdata")])


def emit_image(w: Writer, plan: DesignPlan, shadow: bool, stage_of: dict[str, int], n_commit: int,
               m: I2cMap) -> list[tuple[str, str, int]]:
    """The weight image bank; each group's fields are a slice of it. Returns the read-back source."""
    w()
    w(f"// Weight image: {m.image_bits} bits in bytes 0..{m.image_bytes - 1} ({m.blocks} blocks of {BLOCK_BYTES} "
      f"bytes, AUTOENCODER_<b>INPUT),", 1)
    w("// every field packed end to end in register-map order. Each group's bits copy on the commit strobe", 1)
    w("// of the pipeline stage that reads them.", 1)
    w(f"wire [{m.image_bits}-1:0] cfg_image;", 1)
    w(f"wire {vec(DATA_BITS)} cfg_rd_image;", 1)
    w(f"wire cfg_sel_image = cfg_addr < {ADDR_BITS}'d{m.image_bytes};", 1)
    parts, off = [], 0
    for g in plan.groups:
        stage = stage_of[g.name]
        strobe = "cfg_commit" if n_commit == 1 else f"cfg_commit[{stage}]"
        parts.append(f"{{{g.count * g.bits}{{{strobe}}}}}")
        w(f"wire [{g.count}*{g.bits}-1:0] cfg_{g.name} = cfg_image[{off} +: {g.count * g.bits}];  "
          f"// bytes {off // 8}..{(off + g.count * g.bits - 1) // 8}, read in pipeline stage {stage}", 1)
        off += g.count * g.bits
    w(f"wire [{m.image_bits}-1:0] cfg_commit_bits = {{{', '.join(reversed(parts))}}};", 1)
    _instance(w, "enc_cfg_image", [("BITS", str(m.image_bits)), ("ADDR_BITS", str(ADDR_BITS)),
                                   ("SHADOW", str(int(shadow))), ("CLEAR_ON_RESET", "1")], "u_cfg_image", [
        ("clk", "clk"), ("cfg_rst", "cfg_rst"), ("we", "cfg_bank_we && cfg_sel_image"), ("addr", "cfg_addr"),
        ("wdata", "cfg_wdata"), ("commit", "cfg_commit_bits"), ("rd_active", "cfg_rd_active"),
        ("fields", "cfg_image"), ("rdata", "cfg_rd_image")])
    return [("cfg_sel_image", "cfg_rd_image", DATA_BITS)]


def manifest_map(plan: DesignPlan, m: I2cMap, framing_regs: list[dict] | None) -> dict:
    """The I2C register map for the manifest (and the generated table)."""
    blocks = []
    for b in range(m.blocks):
        first = b * BLOCK_BYTES
        size = min(BLOCK_BYTES, m.image_bytes - first)
        regs, off = [], 0
        for name, bits in BLOCK_REGISTERS:
            n = bits // 8
            if off >= size:
                break
            regs.append({"name": name, "addr": first + off, "bytes": min(n, size - off)})
            off += n
        blocks.append({"name": f"AUTOENCODER_{b}INPUT", "addr": first, "bytes": size,
                       "image_bits": [8 * first, min(8 * (first + size), m.image_bits) - 1], "registers": regs})
    groups, off = [], 0
    for g in plan.groups:
        groups.append({"name": g.name, "first_bit": off, "bits": g.count * g.bits, "field_bits": g.bits,
                       "fields": g.count, "first_byte": off // 8})
        off += g.count * g.bits
    out = {
        "device_address": f"0x{m.address:02x}", "register_address_bytes": 2, "data_bits": DATA_BITS,
        "auto_increment": True, "modes": ["standard (100 kHz)", "fast (400 kHz)"],
        "image": {"bits": m.image_bits, "bytes": m.image_bytes,
                  "packing": "fields end to end in register-map order; byte a = image bits [8a +: 8]",
                  "groups": groups},
        "blocks": blocks,
        "control_base": m.control_base,
        "unmapped": "writes dropped and counted in UNMAPPED; reads return 0x00",
    }
    if framing_regs is not None:
        out["framing_base"] = m.framing_base
        out["framing"] = framing_regs
    return out


def table(manifest: dict) -> str:
    """i2c_map.md: the register map as a table, from the manifest."""
    i2c = manifest["registers"]["i2c"]
    ctrl = manifest["registers"]["control"]
    lines = [f"# I2C register map of {manifest['top']}", "",
             f"Device address {i2c['device_address']} (7-bit); register address: 2 bytes, high first; one byte per "
             f"register, auto-increment; {' and '.join(i2c['modes'])}. Unmapped: {i2c['unmapped']}.", "",
             "| address | bytes | register | contents |", "|---|---|---|---|"]
    for b in i2c["blocks"]:
        for r in b["registers"]:
            lo = 8 * r["addr"]
            hi = min(8 * (r["addr"] + r["bytes"]), i2c["image"]["bits"]) - 1
            lines.append(f"| 0x{r['addr']:04x} | {r['bytes']} | {b['name']}.{r['name']} | weight image bits "
                         f"{lo}..{hi} |")
    for f in i2c.get("framing", []):
        n = f.get("words", 1)
        lines.append(f"| 0x{f['addr']:04x} | {n} | {f['name']} | {f['meaning']} |")
    for r in ctrl["registers"]:
        lines.append(f"| 0x{r['addr']:04x} | 1 | {r['name']} ({r['access']}) | {r['meaning']} |")
    lines += ["", "Weight groups in the image:", "", "| group | first byte | first bit | bits | fields x width |",
              "|---|---|---|---|---|"]
    for g in i2c["image"]["groups"]:
        lines.append(f"| {g['name']} | {g['first_byte']} | {g['first_bit']} | {g['bits']} | "
                     f"{g['fields']} x {g['field_bits']} |")
    return "\n".join(lines) + "\n"
