"""Triple modular redundancy (``encoder rtl --tmr none|config|full``).

``none`` is the design as it always was, byte for byte. ``config``
triplicates the configuration bank: every configuration block becomes an
``enc_cfg_block_tmr`` (each of its banks, shadow and active, an
``enc_tmr_reg``: three copies, separate instances so synthesis keeps them,
a bitwise majority voter, each copy reloaded with the voted value every
cycle), with a counter of corrected upsets per block. The counters sit on
the configuration port after the control registers, ``CNT_WORDS``
read-only addresses each (low word first); the configuration reset
(cfg_rst) clears them, as it clears the rest of the configuration.
``full`` adds every other register, counters included: each module with
registers is rewritten by ``encoder.rtl_gen.tmr_full``.

This module holds what the TMR adds to a design: the counter addresses,
the header lines, the counter decode and read-back sources, and the
manifest section.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UserError
from .verilog import Writer, vec

MODES = ("none", "config", "full")
CNT_WORDS = 2                 # configuration words per counter: 2 x the data width (12 bits at 6)
PRIMITIVES = ["enc_tmr_copy", "enc_tmr_reg", "enc_cfg_block_tmr"]


def check_mode(mode: str, weights: str) -> str:
    if mode not in MODES:
        raise UserError(f"--tmr: {mode!r} is not one of {', '.join(MODES)}")
    if mode == "config" and weights != "programmable":
        raise UserError("--tmr config: constant weights have no configuration bank to triplicate; "
                        "use --weights programmable")
    if mode == "full" and weights != "programmable":
        raise UserError("--tmr full: built on the programmable design (its counters sit on the configuration "
                        "port); not yet with constant weights")
    return mode


@dataclass
class Counters:
    """The corrected-upset counters of the configuration blocks on the configuration port."""

    base: int                 # address of the first counter's low word
    tags: list[str]           # block tags (conv_weight_b0, ...), in address order
    data_bits: int

    @property
    def bits(self) -> int:
        return CNT_WORDS * self.data_bits

    @property
    def count(self) -> int:
        """Addresses the counters take."""
        return CNT_WORDS * len(self.tags)

    def addr(self, k: int) -> int:
        return self.base + CNT_WORDS * k

    def addr_bits(self) -> int:
        return max(1, (self.base + self.count - 1).bit_length())


def header_lines(c: Counters, mode: str) -> list[str]:
    block = "enc_cfg_block_tmr" if mode == "config" else "enc_cfg_block_tmr_full"
    return [
        f"Radiation tolerance (--tmr {mode}): the configuration bank is triplicated. Each block is an {block}:",
        "its banks (shadow and active) are kept in three copies behind a bitwise majority voter, every copy reloaded",
        "with the voted bank each cycle, so a single upset is outvoted at once and corrected at the next edge; the",
        "datapath and the read-back see voted values. Per block a counter of corrected upsets "
        f"({c.bits} bits, saturating,",
        f"cleared by cfg_rst, kept through rst), read-only at addresses {c.base}..{c.base + c.count - 1}, "
        f"{CNT_WORDS} words each, low word first,",
    ] + (["in block order. Pipeline, valid, output, framing, control and read-back registers are not triplicated."]
         if mode == "config" else [
        "in block order. Every other register is triplicated too (--tmr full): pipeline, valid, output, framing,",
        "control, read-back registers and the counters are each an enc_tmr_reg whose copies load, every cycle, the",
        "next state computed from voted values (a register that loads on an enable takes the voted value back",
        "otherwise), so no single upset reaches an output. Upsets outside the banks are corrected, not counted."])


def emit_counters(w: Writer, c: Counters, aw: int) -> None:
    """The counters' address decode and read data (the blocks drive seu_corrected_<tag>)."""
    dw = c.data_bits
    w()
    w(f"// Corrected-upset counters: {len(c.tags)} blocks x {CNT_WORDS} read-only words from address "
      f"{c.base}.", 1)
    w(f"wire {vec(aw)} cfg_off_seu = cfg_addr - {aw}'d{c.base};  // address within the counters", 1)
    w(f"wire cfg_sel_seu = cfg_off_seu < {aw}'d{c.count};", 1)
    w(f"reg {vec(dw)} cfg_rd_seu;", 1)
    w("always @* begin", 1)
    w("case (cfg_off_seu)", 2)
    for k, tag in enumerate(c.tags):
        for j in range(CNT_WORDS):
            w(f"{aw}'d{CNT_WORDS * k + j}: cfg_rd_seu = seu_corrected_{tag}[{dw * j} +: {dw}];", 3)
    w(f"default: cfg_rd_seu = {dw}'d0;", 3)
    w("endcase", 2)
    w("end", 1)


def manifest(c: Counters, triplicated: list[dict], mode: str = "config") -> dict:
    return {
        "mode": mode,
        "voter": "bitwise majority of three copies (enc_tmr_reg), each copy reloaded with the voted value every "
                 "cycle; copies are separate instances of enc_tmr_copy so synthesis keeps them",
        "triplicated": triplicated,
        "triplicated_bits": sum(t["bits"] for t in triplicated),
        "not_triplicated": ["pipeline registers", "valid pipeline", "output registers", "read-back register",
                            "control and status registers (enc_cfg_ctrl)", "framing block and its registers",
                            "the counters"] if mode == "config" else [],
        "counters": {
            "meaning": "cycles in which the copies of a block's banks disagreed: one per corrected upset; "
                       "saturating; read-only; cleared by cfg_rst; kept through rst"
                       + ("" if mode == "config" else "; upsets of other registers (the counters' own copies "
                          "included) are corrected but not counted"),
            "bits": c.bits, "words": CNT_WORDS, "word_order": "low word first", "base": c.base,
            "blocks": [{"block": tag, "addr": c.addr(k), "register": f"u_cfg_{tag}.corrected"}
                       for k, tag in enumerate(c.tags)],
        },
    }
