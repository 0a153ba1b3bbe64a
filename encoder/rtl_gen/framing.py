"""The e-link framing block of `encoder rtl --elinks N`: its configuration registers and its Verilog.

In the ECON-T chip the e-link count (eporttx_numen) and the latent mask
(mask_ae, mask_ae2) are I2C registers of the formatter. Here they are two
registers on the design's configuration port (rtl/enc_frame_cfg.v), after
the weight fields on programmable designs, from address 0 on constant-weight
ones (which get a configuration port for them alone). ``--elinks N`` sets
the width of tx_data (N e-links, the most the count can enable) and the
count's reset value; the mask resets to the given mask (all ones unless the
IR's chip configuration has one).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UserError
from .common import _instance
from .plan import CFG_CONTROL_REGS, DesignPlan
from .verilog import Writer, vec

ELINK_BITS = 32         # bits one e-link carries per BX
BX_FIELD_BITS = 5       # the frame's BX counter field
MAX_ELINKS = 13         # the ECON-T's output e-links
CONSTANT_DATA_BITS = 8  # data width of the configuration port a constant-weight design gets for framing


@dataclass
class Framing:
    """The framing block: ``elinks`` e-links on tx_data (and the count's reset value), the mask's reset value."""

    elinks: int
    mask: int             # bit k keeps bit k of the latent word; all ones keeps every bit
    mask_source: str      # where the mask came from, for the manifest

    def check(self, n_latent_bits: int, sum_code_bits: int) -> None:
        if not 1 <= self.elinks <= MAX_ELINKS:
            raise UserError(f"--elinks: {self.elinks} outside 1..{MAX_ELINKS}")
        # The count register may enable any number of e-links from 1 up: one must hold the header.
        if ELINK_BITS <= BX_FIELD_BITS + sum_code_bits:
            raise UserError(f"--elinks: one e-link carries {ELINK_BITS} bits, not more than the "
                            f"{BX_FIELD_BITS + sum_code_bits}-bit header ({sum_code_bits}-bit module-sum code)")
        if not 0 <= self.mask < (1 << n_latent_bits):
            raise UserError(f"latent mask {self.mask:#x} ({self.mask_source}) is wider than the "
                            f"{n_latent_bits}-bit latent word")

    def field_bits(self, sum_code_bits: int) -> int:
        """Latent field bits with every e-link enabled."""
        return ELINK_BITS * self.elinks - BX_FIELD_BITS - sum_code_bits

    @property
    def count_bits(self) -> int:
        return self.elinks.bit_length()


@dataclass(frozen=True)
class FramingRegs:
    """Where the framing registers sit on the configuration port, and the port's widths."""

    base: int             # address of the e-link count; the mask follows
    data_bits: int        # configuration port data width
    addr_bits: int        # configuration port address width
    local_bits: int       # address width inside enc_frame_cfg
    count_bits: int
    mask_bits: int

    @property
    def mask_words(self) -> int:
        return -(-self.mask_bits // self.data_bits)

    @property
    def mask_addr(self) -> int:
        return self.base + 1

    @property
    def count(self) -> int:
        """Addresses the block takes."""
        return 1 + self.mask_words


def framing_regs(plan: DesignPlan, framing: Framing) -> FramingRegs:
    """The framing registers go after the weight fields; the port widens only if it must.

    Programmable designs keep the weights' data width unless the count needs more bits;
    constant-weight designs get a byte-wide port (as the chip's I2C registers).
    """
    prog = bool(plan.groups)
    base = plan.n_fields if prog else 0
    dw = max(plan.cfg_data_bits, framing.count_bits) if prog else CONSTANT_DATA_BITS
    mask_bits = plan.ir.n_latent * plan.latent_bits
    mask_words = -(-mask_bits // dw)
    last = base + mask_words
    # Programmable designs keep room for the control registers after these (rtl/enc_cfg_ctrl.v).
    aw = max(plan.cfg_addr_bits if prog else 1, (last + (CFG_CONTROL_REGS if prog else 0)).bit_length())
    return FramingRegs(base, dw, aw, max(1, mask_words.bit_length()), framing.count_bits, mask_bits)


def header_lines(framing: Framing, regs: FramingRegs, latency: int, crossing: int = 1) -> list[str]:
    """What the top module's header says about the framing block and its registers."""
    full = framing.mask == (1 << regs.mask_bits) - 1
    mask_reset = "all ones" if full else f"{regs.mask_bits}'h{framing.mask:x} ({framing.mask_source})"
    return [
        f"E-link framing (--elinks {framing.elinks}): tx_data carries {framing.elinks} e-links (TX_DATA_0 in the top 32 "
        f"bits), tx_valid {latency + 1} cycles",
        "after valid_in. The BX counter counts every crossing" + (f" ({crossing} cycles)" if crossing > 1 else "")
        + ", with data or not; bx_reset, taken on any cycle,",
        "starts a crossing that sends 31, and the next ones send 1, 2, ... (mod 16); a frame carries the BX its data",
        "came in on. Framing registers on the configuration port",
        f"(reset values loaded by rst; a write in a reset cycle is lost):",
        f"  address {regs.base}: e-link count, {regs.count_bits} bits, reset {framing.elinks}; the frame fills "
        f"TX_DATA_0..count-1, higher e-links send zero",
        f"    (0 sends nothing, counts above {framing.elinks} send on all {framing.elinks}).",
        f"  addresses {regs.mask_addr}..{regs.mask_addr + regs.mask_words - 1}: latent mask, {regs.mask_bits} bits "
        f"in {regs.mask_words} words of {regs.data_bits} (address {regs.mask_addr} holds bits "
        f"{min(regs.data_bits, regs.mask_bits) - 1}..0), reset {mask_reset}.",
        "  A write with cfg_we high in cycle t applies to every BX whose latents are on the outputs (valid_out)",
        "  after cycle t; BXs still inside the datapath at the write are framed with the new value.",
    ]


def emit(w: Writer, plan: DesignPlan, framing: Framing, regs: FramingRegs, latency: int, crossing: int = 1) -> int:
    """The framing registers and block on the output registers; returns the flip-flops outside the primitives'.
    ``crossing``: clock cycles per crossing (the initiation interval of a --reuse design)."""
    ip = plan.input
    n_lat, lat_bits = plan.ir.n_latent, plan.latent_bits
    word = n_lat * lat_bits
    w()
    w(f"// E-link framing on up to {framing.elinks} e-links: BX counter, module-sum code, latent field "
      f"(up to {framing.field_bits(ip.sum_code_bits)} bits).", 1)
    w(f"// bx_reset, taken on any cycle, goes through a {latency}-cycle delay line to the BX counter at the", 1)
    w(f"// outputs, which runs {latency} cycles behind the inputs: each frame carries the BX its data came in on.", 1)
    w(f"reg {vec(latency)} bx_reset_pipe;", 1)
    w("always @(posedge clk) begin", 1)
    w(f"if (rst) bx_reset_pipe <= {latency}'d0;", 2)
    w("else bx_reset_pipe <= " + ("bx_reset;" if latency == 1
                                   else f"{{bx_reset_pipe[{latency - 2}:0], bx_reset}};"), 2)
    w("end", 1)

    full = framing.mask == (1 << word) - 1
    note = "all ones: every latent bit is sent" if full else f"{framing.mask_source}"
    aw, dw = regs.addr_bits, regs.data_bits
    w()
    w(f"// Framing registers: e-link count at address {regs.base} (reset {framing.elinks}), latent mask at "
      f"{regs.mask_addr}..{regs.mask_addr + regs.mask_words - 1}", 1)
    w(f"// (reset {note}). Read by the framing block as each frame is registered.", 1)
    off = "cfg_off_framing"
    w(f"wire {vec(aw)} {off} = cfg_addr" + (f" - {aw}'d{regs.base};" if regs.base else ";")
      + "  // address within the block", 1)
    if regs.count >= 1 << aw:          # the block fills the address space ({aw}'d{count} would wrap to 0)
        w("wire cfg_sel_framing = 1'b1;  // the block fills the address space", 1)
    else:
        w(f"wire cfg_sel_framing = {off} < {aw}'d{regs.count};", 1)
    w(f"wire {vec(regs.count_bits)} frame_elinks;", 1)
    w(f"wire [{word}-1:0] frame_mask;", 1)
    w(f"wire {vec(dw)} cfg_rd_framing;", 1)
    local = f"{off}[{regs.local_bits - 1}:0]" if regs.local_bits > 1 else f"{off}[0]"
    _instance(w, "enc_frame_cfg", [("DATA_BITS", str(dw)), ("ADDR_BITS", str(regs.local_bits)),
                                   ("COUNT_BITS", str(regs.count_bits)), ("COUNT_RESET", str(framing.elinks)),
                                   ("MASK_BITS", str(word)), ("MASK_RESET", f"{word}'h{framing.mask:x}")],
              "u_frame_cfg", [("clk", "clk"), ("rst", "rst"), ("we", "cfg_we && cfg_sel_framing"),
                              ("addr", local), ("wdata", "cfg_wdata"), ("n_elinks", "frame_elinks"),
                              ("mask", "frame_mask"), ("rdata", "cfg_rd_framing")])
    bxr = "bx_reset_pipe" if latency == 1 else f"bx_reset_pipe[{latency - 1}]"
    w()
    _instance(w, "enc_elink_frame", [("N_ELINKS", str(framing.elinks)), ("COUNT_BITS", str(regs.count_bits)),
                                     ("N_LATENT", str(n_lat)), ("LATENT_BITS", str(lat_bits)),
                                     ("SUM_BITS", str(ip.sum_code_bits)), ("CROSSING", str(crossing)),
                                     ("LAG", str(latency))],
              "u_elink_frame", [("clk", "clk"), ("rst", "rst"), ("valid", "valid_out"), ("bx_reset", bxr),
                                ("latents", "latents"), ("sum_code", "sum_code"), ("n_elinks", "frame_elinks"),
                                ("mask", "frame_mask"), ("tx_valid", "tx_valid"), ("tx_data", "tx_data")])
    # bx_reset pipeline, BX counter, tx_valid and the tx_data bits some count can set
    return (latency + bx_counter_bits(crossing) + 1
            + len(live_tx_bits(framing.elinks, word, BX_FIELD_BITS + ip.sum_code_bits)))


def bx_counter_bits(crossing: int) -> int:
    """Flip-flops of enc_elink_frame's BX counter: the count, and with crossings of several cycles the
    phase within the crossing and the flag that holds 31 for the rest of a crossing begun on bx_reset."""
    return 4 + ((crossing - 1).bit_length() + 1 if crossing > 1 else 0)


def live_tx_bits(elinks: int, word_bits: int, header_bits: int) -> set[int]:
    """tx_data bits that some e-link count can make non-zero (the others stay at their reset zero and
    synthesis removes their flip-flops): the header and the latent field's bits below the latent word."""
    live = set()
    for n in range(1, elinks + 1):
        base, field = ELINK_BITS * (elinks - n), ELINK_BITS * n - header_bits
        live.update(base + j for j in range(min(field, word_bits)))
        live.update(range(base + field, base + ELINK_BITS * n))
    return live


def manifest_registers(framing: Framing, regs: FramingRegs) -> list[dict]:
    """The framing registers for the manifest's register map."""
    return [
        {"name": "elinks", "addr": regs.base, "width": regs.count_bits, "reset": framing.elinks,
         "meaning": f"e-link count: the frame fills TX_DATA_0..count-1, the others send zero; 0 sends nothing, "
                    f"counts above {framing.elinks} send on all {framing.elinks}"},
        {"name": "latent_mask", "addr": regs.mask_addr, "words": regs.mask_words, "width": regs.mask_bits,
         "word_bits": regs.data_bits, "reset": f"0x{framing.mask:x}",
         "meaning": "bit k keeps bit k of the latent word; word j (address addr + j) holds bits "
                    "[word_bits*j +: word_bits]"},
    ]
