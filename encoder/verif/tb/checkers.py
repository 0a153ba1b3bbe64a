"""Protocol checkers: properties of the design's ports that hold cycle by cycle, whatever the data.

They sample at every falling edge with the monitors and need no reference
model: the rules come from the manifest.

- valid_latency: valid_out is high exactly ``latency`` cycles after each valid_in
  the design took (tx_valid ``tx_latency`` cycles after), and at no other cycle;
  a reset drops every crossing in flight.
- no_x_after_reset: every data output is 0/1 from the first cycle after the first
  reset (Icarus; Verilator is two-state and cannot show X). cfg_rdata may show a
  register never written (X in a design without configuration reset): it is
  checked by config_handshake on reads of registers whose value is known.
- stable_between_valids: latents and sum_code (tx_data) hold their value while
  valid_out (tx_valid) is low; only a reset may clear them.
- config_handshake: cfg_rdata, ``read_latency`` cycles after a cycle with cfg_we
  low, shows the addressed register: a weight field the last value written to it
  (the shadow bank while RD_ACTIVE is 0, or the only bank of a direct-bank design;
  zero after cfg_rst; a write while a COMMIT is still copying is dropped, in the
  manifest's window after the COMMIT write), zero at an unmapped address and at COMMIT, the framing
  registers as last written (reset values after rst; a write in a reset cycle is lost).
- frame_structure: on every frame, e-links at or above the e-link count in force are
  zero, and TX_DATA_0 carries after the BX field the module-sum code valid_out showed.

A violation is recorded with the cycle, the checker and the signal; the run fails on any.
"""

from __future__ import annotations

from .bus import bits, known


def reader(handle):
    """A function returning the signal's bit string as ``bits(handle)`` does, without building a
    LogicArray each call (these samplers read many signals every cycle): the simulator's binstr."""
    raw = getattr(getattr(handle, "_handle", None), "get_signal_val_binstr", None)
    return raw if callable(raw) else (lambda: bits(handle))

MAX_KEPT = 50           # violations listed in result.json (all are counted)
MAX_KEPT_EACH = 10      # per checker, so that a flood from one leaves room for the others


class ProtocolCheckers:
    def __init__(self, tb):
        self.tb = tb
        b = self.bus = tb.bus
        d = tb.design
        self.on = str(b.rst_on)
        self.latency = tb.latency
        self.tx_latency = tb.tx_latency
        self.check_x = tb.check_x
        self.violations: list[dict] = []
        self.count = 0
        self.by_checker: dict[str, int] = {}
        self.taken: set[int] = set()
        self.prev: dict[str, str] = {}
        self.seen_reset = False
        ports = d["ports"]
        self.outputs = [(ports[r]["name"], reader(getattr(b.dut, ports[r]["name"]))) for r in
                        ("out_valid", "out_latents", "out_sum_code", "out_tx_valid", "out_tx_data", "out_overrun")
                        if r in ports]
        tb.in_mon.subscribers.append(self._taken)
        tb.in_mon.reset_subscribers.append(self._reset)
        # Configuration model: address -> (value, mask) known from the pins.
        self.reads: dict[int, tuple[int, int, int, str]] = {}      # due cycle -> (addr, value, mask, what)
        self.cfg_model: dict[int, int] = {}
        self.regs = tb.regs
        self.field_mask = {}
        if self.regs is not None:
            from .. import regmap
            self.field_mask = regmap.field_mask(self.regs)
        self.ctrl = tb.ctrl or {}
        self.rd_active = 0
        self.last_read = None
        self.commit_cycle = None     # the cycle of the last COMMIT write taken (its copy may still run)
        self.read_latency = self.regs.read_latency if self.regs is not None else 1
        fr = d.get("framing")
        self.fr = fr
        self.frame_due: dict[int, tuple[int, int]] = {}             # tx cycle -> (e-link count, sum code)
        if fr is not None:
            self.count_mask = (1 << int(fr["count_bits"])) - 1
            self.count_reset = int(fr["count_reset"])
            self.frame_count = self.count_reset
            self.mask_addrs = range(int(fr["mask_addr"]), int(fr["mask_addr"]) + int(fr["mask_words"]))
            self.word_bits = int(fr["word_bits"])
            self.mask_reset = int(fr["latent_mask"], 16)
            self.mask_bits = int(fr["mask_bits"])
            self.frame_mask = self.mask_reset
            from ...econt.framing import BX_FIELD_BITS
            self.bx_bits = BX_FIELD_BITS
        self.unmapped = set()
        if self.regs is not None and self.ctrl:
            limit = 1 << int(ports["cfg_addr"]["width"])
            used = set(self.regs.addresses) | set(self.ctrl.values())
            if fr is not None:
                used |= {int(fr["count_addr"]), *self.mask_addrs}
            self.unmapped = {a for a in range(limit) if a not in used}
        self.n = {role: p["name"] for role, p in ports.items()}
        if b.has_cfg:
            self.read_we, self.read_addr = reader(b.cfg_we), reader(b.cfg_addr)
            self.read_rst = reader(b.cfg_rst) if b.cfg_rst is not None else None

    # ---- bookkeeping -----------------------------------------------------
    def fail(self, checker: str, cycle: int, signal: str, message: str) -> None:
        self.count += 1
        self.by_checker[checker] = self.by_checker.get(checker, 0) + 1
        if self.by_checker[checker] <= MAX_KEPT_EACH and len(self.violations) < MAX_KEPT:
            self.violations.append({"checker": checker, "cycle": cycle, "signal": signal, "message": message})

    def _taken(self, txn) -> None:
        self.taken.add(txn.cycle)

    def _reset(self, cycle: int) -> None:
        self.taken.clear()
        self.frame_due.clear()

    # ---- per cycle -------------------------------------------------------
    def sample(self, cycle: int) -> None:
        b = self.bus
        # The input monitor samples first in the same cycle: its view of rst is this cycle's.
        in_reset = self.tb.in_mon.in_reset
        if in_reset:
            self.seen_reset = True
            self.prev.clear()
            if self.fr is not None:
                self.frame_count, self.frame_mask = self.count_reset, self.mask_reset
            if b.has_cfg:
                self._config(cycle, in_reset=True)
            return
        if not self.seen_reset:
            return
        vals = {name: read() for name, read in self.outputs}
        if self.check_x:
            for name, v in vals.items():
                if not known(v):
                    self.fail("no_x_after_reset", cycle, name, f"{name} = {v} after reset")
        self._valid(cycle, vals)
        if self.prev:
            self._stable(cycle, vals)
        self.prev = vals
        if b.framing:
            self._frames(cycle, vals)
        if b.has_cfg:
            self._config(cycle, in_reset=False)

    def _valid(self, cycle: int, vals: dict) -> None:
        b = self.bus
        want = (cycle - self.latency) in self.taken
        got = vals[self.n['out_valid']]
        if got != ("1" if want else "0"):
            self.fail("valid_latency", cycle, self.n['out_valid'],
                      f"{self.n['out_valid']} = {got}, expected {int(want)}: "
                      + (f"valid_in taken at cycle {cycle - self.latency}" if want else
                         f"no valid_in taken at cycle {cycle - self.latency}") + f" (latency {self.latency})")
        if self.tx_latency is not None:
            tx_want = (cycle - self.tx_latency) in self.taken
            tx_got = vals[self.n['out_tx_valid']]
            if tx_got != ("1" if tx_want else "0"):
                self.fail("valid_latency", cycle, self.n['out_tx_valid'],
                          f"{self.n['out_tx_valid']} = {tx_got}, expected {int(tx_want)} (latency {self.tx_latency})")
        # Crossings older than the longest latency can go.
        oldest = cycle - max(self.latency, self.tx_latency or 0)
        if len(self.taken) > 64:
            self.taken = {c for c in self.taken if c >= oldest}

    def _stable(self, cycle: int, vals: dict) -> None:
        b = self.bus
        pairs = [(self.n['out_valid'], (self.n['out_latents'], self.n['out_sum_code']))]
        if b.framing:
            pairs.append((self.n['out_tx_valid'], (self.n['out_tx_data'],)))
        for valid, names in pairs:
            if vals[valid] == "0":
                for n in names:
                    if vals[n] != self.prev.get(n, vals[n]):
                        self.fail("stable_between_valids", cycle, n,
                                  f"{n} changed from {self.prev[n]} to {vals[n]} with {valid} low")

    def _frames(self, cycle: int, vals: dict) -> None:
        b = self.bus
        if vals[self.n['out_valid']] == "1":
            s = vals[self.n['out_sum_code']]
            # The count in force: writes sampled before this cycle (a write in cycle t applies after t).
            self.frame_due[cycle + self.tx_latency - self.latency] = (self.frame_count,
                                                                      int(s, 2) if known(s) else -1)
        due = self.frame_due.pop(cycle, None)
        if due is None or vals[self.n['out_tx_valid']] != "1":
            return
        data = vals[self.n['out_tx_data']]
        if not known(data):
            return                              # no_x_after_reset reports it
        n_links = len(data) // 32
        count, sum_code = due
        active = min(count, n_links)
        for link in range(active, n_links):
            word = data[32 * link:32 * (link + 1)]          # e-link 0 is the most significant
            if "1" in word:
                self.fail("frame_structure", cycle, f"{self.n['out_tx_data']}[e-link {link}]",
                          f"e-link {link} = 0x{int(word, 2):08x} with the e-link count at {count}: must be zero")
        if active and sum_code >= 0:
            w = len(vals[self.n['out_sum_code']])
            field = int(data[self.bx_bits:self.bx_bits + w], 2)
            if field != sum_code:
                self.fail("frame_structure", cycle, f"{self.n['out_tx_data']}[sum code]",
                          f"module-sum code field {field} differs from sum_code {sum_code} shown with valid_out")

    # ---- configuration port ------------------------------------------------
    def _config(self, cycle: int, in_reset: bool) -> None:
        b = self.bus
        due = self.reads.pop(cycle, None)
        if due is not None:
            addr, value, mask, what = due
            r = bits(b.cfg_rdata)
            if not known(r):
                self.fail("config_handshake", cycle, self.n['cfg_rdata'],
                          f"{self.n['cfg_rdata']} = {r} reading address {addr} ({what})")
            elif int(r, 2) & mask != value & mask:
                self.fail("config_handshake", cycle, self.n['cfg_rdata'],
                          f"{self.n['cfg_rdata']} = {int(r, 2)} reading address {addr} ({what}), expected {value & mask}")
        if self.read_rst is not None and self.read_rst() == "1":
            self.cfg_model = {a: 0 for a in self.field_mask}
            self.rd_active = 0
            self.last_read = None
            self.commit_cycle = None
            return
        if in_reset and self.regs is not None and not self.regs.keep_through_reset:
            self.cfg_model.clear()
        we, addr = self.read_we(), self.read_addr()
        if not (known(we) and known(addr)):
            self.last_read = None
            return
        a = int(addr, 2)
        if we == "1":
            data = bits(b.cfg_wdata)
            if known(data):
                self._write(a, int(data, 2), in_reset, cycle)
            self.last_read = None
            return
        # The port has no read strobe: an address held with cfg_we low reads it every cycle. One
        # check per address presented (and again after any write) keeps the cost per cycle low.
        if a == self.last_read or in_reset:
            return
        self.last_read = a
        expect = self._expected(a)
        if expect is not None:
            self.reads[cycle + self.read_latency] = (a, *expect)

    def _write(self, a: int, d: int, in_reset: bool, cycle: int) -> None:
        if a in self.field_mask:
            window = self.regs.drop_window
            since = cycle - self.commit_cycle if self.commit_cycle is not None else None
            if window is not None and since is not None and window[0] <= since <= window[1]:
                # A bank is still copying the COMMIT: the write is dropped (with --reuse the copy may
                # have ended earlier, on a crossing boundary: the field is then unknown here).
                if not self.regs.drop_exact:
                    self.cfg_model.pop(a, None)
                return
            self.cfg_model[a] = d & self.field_mask[a]
        elif self.ctrl and a == self.ctrl.get("COMMIT"):
            if d & 1:
                self.commit_cycle = cycle
        elif self.ctrl and a == self.ctrl.get("RD_ACTIVE"):
            self.rd_active = d & 1
        elif self.fr is not None and not in_reset:
            if a == int(self.fr["count_addr"]):
                self.frame_count = d & self.count_mask
            elif a in self.mask_addrs:
                lo = self.word_bits * (a - self.mask_addrs.start)
                word = ((1 << self.word_bits) - 1) << lo
                self.frame_mask = (self.frame_mask & ~word | (d << lo) & word) & ((1 << self.mask_bits) - 1)

    def _expected(self, a: int) -> tuple[int, int, str] | None:
        full = (1 << self.bus.cfg_data_width) - 1
        if a in self.field_mask:
            shows_written = self.regs.bank != "shadow" or self.rd_active == 0
            if shows_written and a in self.cfg_model:
                return self.cfg_model[a], self.field_mask[a], "weight field, last written"
            return None
        if self.ctrl and a == self.ctrl.get("COMMIT"):
            return 0, full, "COMMIT reads 0"
        if a in self.unmapped:
            return 0, full, "unmapped address"
        if self.fr is not None:
            if a == int(self.fr["count_addr"]):
                return self.frame_count, self.count_mask, "e-link count"
            if a in self.mask_addrs:
                lo = self.word_bits * (a - self.mask_addrs.start)
                return (self.frame_mask >> lo) & ((1 << self.word_bits) - 1), (1 << self.word_bits) - 1, \
                    "latent mask word"
        return None

    def result(self) -> dict:
        return {"violations": self.count, "by_checker": self.by_checker, "first": self.violations,
                "checkers": ["valid_latency", "no_x_after_reset" if self.check_x else "no_x_after_reset (off: two-state)",
                             "stable_between_valids",
                             *(["config_handshake"] if self.bus.has_cfg else []),
                             *(["frame_structure"] if self.bus.framing else [])]}


def attach(tb) -> ProtocolCheckers:
    """The checkers of a shard, sampling after the monitors already on the sampler."""
    chk = ProtocolCheckers(tb)
    tb.sampler.monitors.append(chk)
    return chk
