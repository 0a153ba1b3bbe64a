"""The design's ports by role, with packing of the module vectors they carry."""

from __future__ import annotations

import random


def bits(handle) -> str:
    """The signal's value as the simulator reports it: a string of 0/1 (and X/Z/U... when unknown).

    Reading the string and testing it with str methods is much cheaper per
    cycle than building cocotb Logic objects bit by bit.
    """
    return str(handle.value)


def known(s: str) -> bool:
    """Every bit is 0 or 1."""
    return s.count("0") + s.count("1") == len(s)


class Field:
    """A port carrying ``n`` elements of ``width`` bits, element i at bits [width*i +: width].

    Elements of a signed port are two's complement.
    """

    def __init__(self, handle, n: int, width: int, signed: bool = False):
        self.handle = handle
        self.n = n
        self.width = width
        self.signed = signed
        self.mask = (1 << width) - 1
        self.total = n * width

    def pack(self, values) -> int:
        word = 0
        for i, v in enumerate(values):
            word |= (int(v) & self.mask) << (self.width * i)
        return word

    def unpack(self, word: int) -> list[int]:
        m, w = self.mask, self.width
        vals = [(word >> (w * i)) & m for i in range(self.n)]
        if self.signed:
            top = 1 << (w - 1)
            vals = [v - (1 << w) if v & top else v for v in vals]
        return vals


class Bus:
    """Handles of one design instance, found by the roles its manifest gives them."""

    def __init__(self, dut, design: dict):
        ports = design["ports"]

        def handle(role):
            return getattr(dut, ports[role]["name"])

        def field(role):
            p = ports[role]
            n = p.get("fields", 1)
            w = p.get("field_width") or p["width"]
            return Field(handle(role), n, w, bool(p.get("signed", False)))

        self.dut = dut
        self.clk = handle("clock")
        self.rst = handle("reset")
        self.rst_on = 1 if design["reset_active_high"] else 0
        self.rst_sync = design["reset_sync"]
        self.in_valid = handle("in_valid")
        self.in_counts = field("in_counts")
        self.in_width = ports["in_counts"]["width"]
        self.out_valid = handle("out_valid")
        self.out_latents = field("out_latents")
        self.out_sum_code = handle("out_sum_code")
        self.programmable = design["weights"] == "programmable"
        # A configuration port: programmable weights, or the framing registers (either weight mode).
        self.has_cfg = "cfg_we" in ports
        if self.has_cfg:
            self.cfg_we = handle("cfg_we")
            self.cfg_addr = handle("cfg_addr")
            self.cfg_wdata = handle("cfg_wdata")
            self.cfg_rdata = handle("cfg_rdata")
            self.cfg_data_width = ports["cfg_wdata"]["width"]
            # The configuration reset (generated designs); hand-written designs may have none.
            self.cfg_rst = handle("cfg_reset") if "cfg_reset" in ports else None
        self.data_outputs = [self.out_valid, self.out_latents.handle, self.out_sum_code]
        # Designs with an initiation interval above 1 flag a valid_in that came too soon.
        self.overrun = handle("out_overrun") if "out_overrun" in ports else None
        # E-link framing: bx_reset goes in with valid_in; frames come out on tx_data while tx_valid.
        self.framing = "out_tx_data" in ports
        if self.framing:
            self.bx_reset = handle("in_bx_reset")
            self.tx_valid = handle("out_tx_valid")
            self.tx_data = handle("out_tx_data")
            self.data_outputs += [self.tx_valid, self.tx_data]
        if self.overrun is not None:
            self.data_outputs.append(self.overrun)

    def junk(self, rng: random.Random) -> int:
        """Random bits for the counts bus while valid is low: the design must ignore them."""
        return rng.getrandbits(self.in_width)
