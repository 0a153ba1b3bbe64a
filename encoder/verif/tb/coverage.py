"""Functional coverage sampled on the design (``encoder sim --coverage``).

The runner writes coverage_spec.json into the shard (``encoder.verif.coverage_spec``):
the bins and the signals to watch. This monitor samples them at every
falling edge beside the other monitors. A bin counts only when the design
shows it: a datapath bin is taken from the requantizer's accumulator, the
leading-one detector's input and position, the module-sum code, each read
in the cycle its pipeline stage holds a valid crossing; the e-link count and
latent mask from the framing registers' outputs when a BX leaves on
valid_out; reset, configuration and reload bins from the pins and the
valid pipeline. The golden model is not consulted.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from .bus import bits, known


def _handle(dut, path: str):
    h = dut
    for part in path.split("."):
        h = getattr(h, part)
    return h


def _signed(s: str) -> int:
    v = int(s, 2)
    return v - (1 << len(s)) if s[0] == "1" else v


def requant_bins(p: dict, raw: str) -> list[str]:
    """The bins an accumulator value (bit string) of a requantizer with parameters ``p`` hits,
    as enc_requant computes: ReLU, rounding, then the clamps that were built."""
    acc = _signed(raw) if p["IN_SIGNED"] else int(raw, 2)
    hit = []
    act = acc
    if p["RELU"] and p["IN_SIGNED"] and acc < 0:
        hit.append("relu_negative")
        act = 0
    sh = p["SHIFT"]
    if sh > 0:
        half, rem = 1 << (sh - 1), act & ((1 << sh) - 1)
        floor = act >> sh
        if rem == half:
            hit.append("rounding_tie")
        if p["ROUNDING"] == 1:
            v = floor + int(rem > half or (rem == half and floor & 1))
        elif p["ROUNDING"] == 2:
            v = floor + int(rem >= half)
        else:
            v = floor
    else:
        v = act << -sh
    if p["OVERFLOW"] == 0:
        ob = p["OUT_BITS"]
        top, bottom = ((1 << (ob - 1)) - 1, -(1 << (ob - 1))) if p["OUT_SIGNED"] else ((1 << ob) - 1, 0)
        if p["CLAMP_HI"] and v > top:
            hit.append("saturation_neuron:top")
        if p["CLAMP_LO"] and v < bottom:
            hit.append("saturation_neuron:bottom")
    return hit


def neuron_bin(name: str, neuron: str) -> str:
    """The spec's name (``coverage_spec.spec``) of a ``requant_bins`` hit on ``neuron``: GROUP:NEURON, and
    the side last for a saturation (saturation_neuron:NEURON:top)."""
    group, _, side = name.partition(":")
    return f"{group}:{neuron}" + (f":{side}" if side else "")


class CoverageMonitor:
    """Counts bin hits of one shard; ``write`` leaves coverage.json in the shard directory."""

    def __init__(self, tb, spec: dict):
        self.tb = tb
        b = tb.bus
        self.bus = b
        self.spec = spec
        self.hits: Counter = Counter()
        dut = b.dut
        self.on = str(b.rst_on)
        self.valid_pipe = _handle(dut, spec["valid_pipe"]) if spec["valid_pipe"] else None
        self.stage0 = _handle(dut, spec["stage0_valid"]) if spec["stage0_valid"] else b.in_valid
        # Datapath probes grouped by the stage whose valid bit says their inputs are a real crossing.
        self.by_stage: dict[int, list] = {}
        for r in spec["requants"]:
            self.by_stage.setdefault(r["stage"], []).append(
                ("requant", _handle(dut, r["path"] + ".acc"), r))
        lo = spec["leading_one"]
        if lo:
            self.by_stage.setdefault(lo["stage"], []).append(
                ("leading_one", (_handle(dut, lo["path"] + ".x"), _handle(dut, lo["path"] + ".pos")), lo))
        sc = spec["sum_code"]
        if sc:
            self.by_stage.setdefault(sc["stage"], []).append(("sum_code", _handle(dut, sc["path"] + ".code"), sc))
        fr = spec["framing"]
        self.frame_elinks = self.frame_mask = None
        if fr:
            self.frame_elinks = _handle(dut, fr["elinks"]) if fr["elinks"] else None
            self.frame_mask = _handle(dut, fr["mask"]) if fr["mask"] else None
            self.n_lat, self.lat_bits = fr["n_latents"], fr["latent_bits"]
        cfg = spec["cfg"]
        self.writes, self.reads = {}, {}
        self.mapped = set()
        if cfg:
            for p in cfg["points"]:
                if p["write"]:
                    self.writes.setdefault(p["addr"], []).append(f"cfg_write:{p['label']}")
                if p["read"]:
                    self.reads.setdefault(p["addr"], []).append(f"cfg_read:{p['label']}")
            self.mapped = set(cfg["mapped"])
        self.known_bins = set(spec["bins"])
        self.commit_addr = spec["commit_addr"]
        self.pending = _handle(dut, spec["pending"]) if spec.get("pending") else None
        self.fields = set(tb.regs.addresses) if tb.regs is not None else set()
        fs = getattr(tb, "framing", None)
        self.framing_addrs = set() if fs is None else \
            {fs.count_addr, *range(fs.mask_addr, fs.mask_addr + fs.mask_words)}
        self.prev_addr = None

    def _hit(self, name: str) -> None:
        self.hits[name] += 1

    def _stage_valid(self, pipe: str) -> list[int]:
        """Stages holding a valid crossing this cycle: 0 from valid_taken, k from valid_pipe[k-1]."""
        out = [0] if bits(self.stage0) == "1" else []
        if pipe:
            n = len(pipe)
            out += [k + 1 for k in range(n) if pipe[n - 1 - k] == "1"]
        return out

    def sample(self, cycle: int) -> None:
        b = self.bus
        rst = bits(b.rst)
        pipe = bits(self.valid_pipe) if self.valid_pipe is not None else ""
        in_reset = rst == self.on
        if in_reset:
            if bits(b.in_valid) == "1":
                self._hit("reset_in_stage:input")
            n = len(pipe)
            for k in range(n):
                if pipe[n - 1 - k] == "1":
                    self._hit(f"reset_in_stage:{k}")
            if b.framing and bits(b.tx_valid) == "1":
                self._hit("reset_in_stage:frame")
        elif known(pipe):
            for stage in self._stage_valid(pipe):
                for kind, h, info in self.by_stage.get(stage, ()):
                    self._datapath(kind, h, info)
            if self.frame_elinks is not None and bits(b.out_valid) == "1":
                self._framing()
        if b.has_cfg:
            self._config(in_reset, pipe)

    def _datapath(self, kind: str, h, info: dict) -> None:
        if kind == "requant":
            raw = bits(h)
            if known(raw):
                for name in requant_bins(info["params"], raw):
                    self._hit(neuron_bin(name, info["neuron"]))
                    if name.startswith("saturation"):
                        self._hit(f"saturation_layer:{info['layer']}")
        elif kind == "leading_one":
            x, pos = bits(h[0]), bits(h[1])
            if known(x) and known(pos):
                self._hit("leading_one:zero_sum" if int(x, 2) == 0 else f"leading_one:{int(pos, 2)}")
        else:
            code = bits(h)
            if known(code):
                self._hit(f"sum_exponent:{int(code, 2) >> info['mant_bits']}")

    def _framing(self) -> None:
        n, m = bits(self.frame_elinks), bits(self.frame_mask) if self.frame_mask is not None else ""
        if known(n):
            self._hit(f"elinks:{int(n, 2)}")
        if m and known(m):
            mask = int(m, 2)
            w = self.lat_bits
            full = (1 << (w * self.n_lat)) - 1
            if mask == full:
                self._hit("latent_mask:all_ones")
            elif mask == 0:
                self._hit("latent_mask:zero")
            for j in range(self.n_lat):
                f = (mask >> (w * j)) & ((1 << w) - 1)
                self._hit(f"latent_mask:latent{j}:" + ("sent" if f == (1 << w) - 1 else "masked" if f == 0 else "partial"))

    def _config(self, in_reset: bool, pipe: str) -> None:
        b = self.bus
        we, addr = bits(b.cfg_we), bits(b.cfg_addr)
        if not known(addr):
            self.prev_addr = None
            return
        a = int(addr, 2)
        busy = "1" in pipe or bits(b.in_valid) == "1"
        if we == "1" and not in_reset:
            for name in self.writes.get(a, ()):
                self._hit(name)
            if a not in self.mapped and "cfg_write:unmapped" in self.known_bins:
                self._hit("cfg_write:unmapped")
            if busy and a == self.commit_addr and bits(b.cfg_wdata).endswith("1"):
                self._hit("reload_during_traffic")
            if busy and a in self.framing_addrs:
                self._hit("framing_write_during_traffic")
            if self.pending is not None and a in self.fields and bits(self.pending) == "1":
                self._hit("weight_write_while_copying")
        elif we == "0" and a != self.prev_addr:
            # No read strobe on this port: a read is a cycle with cfg_we low presenting a new address.
            for name in self.reads.get(a, ()):
                self._hit(name)
            if a not in self.mapped and "cfg_read:unmapped" in self.known_bins:
                self._hit("cfg_read:unmapped")
        self.prev_addr = a

    async def close_holes(self) -> None:
        """Reads the testbench makes only for coverage: ENABLE and RD_ACTIVE, both 1 once a weight
        set is loaded (a wrong value is a configuration error like any other read-back)."""
        tb = self.tb
        if tb.ctrl is None or tb.loaded is None:
            return
        names = [n for n in ("ENABLE", "RD_ACTIVE") if n in tb.ctrl]
        got = await tb.read_ctrl(*names)
        for name in names:
            if got[name] != 1:
                tb.config_error("coverage reads", name, 1, got[name])

    def write(self, shard_dir: Path) -> None:
        (Path(shard_dir) / "coverage.json").write_text(json.dumps({"hits": dict(self.hits)}))


def attach(tb) -> CoverageMonitor | None:
    """The coverage monitor of a shard run with --coverage (coverage_spec.json present), on the sampler."""
    path = Path(tb.dir) / "coverage_spec.json"
    if not path.is_file():
        return None
    mon = CoverageMonitor(tb, json.loads(path.read_text()))
    tb.sampler.monitors.append(mon)
    return mon
