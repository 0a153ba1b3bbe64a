"""The testbench: a design, its drivers, monitors, reference model and scoreboard, run through a plan.

The plan (written by ``encoder.verif.plan``) lists the vectors of one
shard with the idle cycles before each, and events between vectors: a reset
asserted while vectors are in flight, or a load of another weight set
(programmable designs). On designs with the e-link framing block the
plan also gives each vector's bx_reset flag and writes of the framing
registers (e-link count, latent mask), which go through the configuration
port while the vectors stream on and are read back; a configuration
monitor reports every write the pins show to the reference model, and a
frame monitor and scoreboard check every frame on tx_data against the
registers in force when its BX reached the framing block. The testbench
writes result.json and mismatches.json into the shard directory.
"""

from __future__ import annotations

import json
import math
import random
import time
from pathlib import Path

import cocotb
import numpy as np
import cocotb
from cocotb.clock import Clock
from cocotb.simtime import convert, get_sim_time
from cocotb.triggers import FallingEdge, RisingEdge

from ...ir import load_ir
from .. import regmap
from ..design import Framing, RegField, RegisterMap
from . import checkers, config_checks, coverage
from .bus import Bus
from .driver import ConfigDriver, InputDriver, ResetDriver
from .model import FrameSpec, ReferenceModel
from .monitor import (CommitMonitor, ConfigMonitor, FrameMonitor, InputMonitor, OutputMonitor, OverrunMonitor,
                      Sampler)
from .scoreboard import FrameScoreboard, Scoreboard, frame_words_hex

CLOCK_NS = 10
RESET_CYCLES = 3
CHECK_EVERY = 512          # vectors between in-stream scoreboard checks
PROGRESS_SECONDS = 0.5
BLOCKED_VECTORS = 8        # vectors driven before the weights are committed: the design must drop them
UNMAPPED_WRITES = 3        # writes to unmapped addresses at power-up: counted by the design
COMMIT_TAIL = 16           # vectors kept for after the shadow is written, so the commit falls among them
SHADOW_BURST = 64         # register writes a live reload makes before it lets other writes use the port
MAX_PACE = 64              # most idle cycles added after a vector while a live reload writes the shadow


def load_plan(shard_dir: Path) -> tuple[dict, dict]:
    plan = json.loads((shard_dir / "plan.json").read_text())
    with np.load(shard_dir / "plan.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return plan, arrays


def _register_map(d: dict) -> RegisterMap:
    return RegisterMap(data_width=d["data_width"], read_latency=d["read_latency"],
                       fields=[RegField(**f) for f in d["fields"]],
                       keep_through_reset=d["keep_through_reset"], control=d.get("control"),
                       bank=d.get("bank", "direct"), commit_delay=int(d.get("commit_delay", 2)),
                       drop_window=tuple(d["drop_window"]) if d.get("drop_window") else None,
                       drop_exact=bool(d.get("drop_exact", True)), commit_stages=int(d.get("commit_stages", 1)))


class EncoderTestbench:
    def __init__(self, dut, shard_dir: Path):
        self.dir = Path(shard_dir)
        self.plan, self.arrays = load_plan(self.dir)
        design = self.plan["design"]
        self.design = design
        self.latency = int(design["latency"])
        self.rng = random.Random(int(self.plan["seed"]))
        self.bus = Bus(dut, design)
        self.period = convert(CLOCK_NS, "ns", to="step")
        self.models = [load_ir(self.dir / m["path"]) for m in self.plan["models"]]
        self.model_names = [m["name"] for m in self.plan["models"]]
        # Designs time-multiplexed by --reuse R take a module every R cycles (the manifest says).
        self.ii = int(design.get("initiation_interval", 1))
        self.driver = InputDriver(self.bus, self.rng, self.ii)
        # A replay sets the BX counter up with preamble vectors: no bx_reset on idle cycles may undo that.
        self.driver.idle_bx_resets = not self.plan.get("replay")
        self.resetter = ResetDriver(self.bus, self.rng)
        self.in_mon = InputMonitor(self.bus, self.ii)
        self.out_mon = OutputMonitor(self.bus)
        self.sampler = Sampler(self.bus.clk, self.period)
        self.sampler.monitors += [self.in_mon, self.out_mon]
        self.overrun_mon = None
        if self.bus.overrun is not None:
            self.overrun_mon = OverrunMonitor(self.bus)
            self.sampler.monitors.append(self.overrun_mon)
        # Verilator is two-state: its outputs cannot hold X or Z, so only Icarus looks.
        self.check_x = self.plan.get("simulator", "icarus") != "verilator"
        fr = design.get("framing")
        ports = design["ports"]
        self.ref = ReferenceModel(self.models, None if fr is None else FrameSpec(
            elinks=int(fr["elinks"]), mask=int(fr["latent_mask"], 16),
            latent_bits=int(ports["out_latents"].get("field_width") or ports["out_latents"]["width"]),
            sum_code_bits=int(ports["out_sum_code"]["width"]), count=int(fr["count_reset"]),
            latency=self.latency, crossing=self.ii))
        self.board = Scoreboard(self.ref, self.latency, design["reset_sync"])
        self.in_mon.subscribers.append(self.ref.write)
        self.in_mon.reset_subscribers += [self.ref.on_reset, self.board.on_reset]
        self.in_mon.run_subscribers.append(self.ref.on_run)
        self.in_mon.bx_reset_subscribers.append(self.ref.on_bx_reset)
        self.out_mon.subscribers.append(self.board.observe)
        self.tx_latency = int(fr["latency"]) if fr else None
        self.frame_board = None
        if fr is not None:
            self.frame_mon = FrameMonitor(self.bus)
            self.sampler.monitors.append(self.frame_mon)
            self.frame_board = FrameScoreboard(self.ref, self.tx_latency, int(fr["elinks"]), design["reset_sync"])
            self.frame_mon.subscribers.append(self.frame_board.observe)
            self.in_mon.reset_subscribers.append(self.frame_board.on_reset)
            # The config monitor samples after the input monitor, in the same cycle.
            self.cfg_mon = ConfigMonitor(self.bus, fr)
            self.sampler.monitors.append(self.cfg_mon)
            self.cfg_mon.subscribers.append(self.ref.on_config)
        self.framing = None if fr is None else Framing(
            **{k: v for k, v in fr.items() if k != "latent_mask"}, mask=int(fr["latent_mask"], 16))
        self.framing_task = None
        self.framing_writes = 0
        self.boards = [self.board] + ([self.frame_board] if self.frame_board else [])
        self.drain_cycles = max(self.latency, self.tx_latency or 0)
        self.regs = _register_map(design["registers"]) if self.bus.programmable else None
        self.cfg = ConfigDriver(self.bus, self.regs.read_latency if self.regs else 1) if self.bus.has_cfg else None
        self.readback: list[dict] = []
        self.config_errors: list[dict] = []
        self.ctrl = self.regs.control if self.regs is not None else None
        self.live = self.regs is not None and self.regs.live_reload
        if self.live:
            # The weight set in force for each crossing follows the COMMIT writes the design was given.
            self.ref.commit_delay = self.regs.commit_delay
            self.commit_mon = CommitMonitor(self.bus, self.ctrl["COMMIT"])
            self.commit_mon.subscribers.append(self.ref.commit)
            self.sampler.monitors.append(self.commit_mon)
        self.commits_written = 0
        self.unmapped_written = 0
        self.dropped_written = 0         # weight writes made while a COMMIT was copying
        self.live_reloads = 0
        self.loaded = None
        self.events_done: list[dict] = []
        self.event_seconds = 0.0
        self.rise = RisingEdge(self.bus.clk)
        self.fall = FallingEdge(self.bus.clk)
        # After every monitor: the protocol checkers, and with --coverage the coverage monitor.
        self.checkers = checkers.attach(self)
        self.coverage = coverage.attach(self)

    def cycle(self) -> int:
        return get_sim_time("step") // self.period

    # ---- set-up --------------------------------------------------------
    async def start(self) -> None:
        b = self.bus
        b.rst.value = b.rst_on
        b.in_valid.value = 0
        b.in_counts.handle.value = 0
        if b.framing:
            b.bx_reset.value = 0
        if b.has_cfg:
            b.cfg_we.value = 0
            b.cfg_addr.value = 0
            b.cfg_wdata.value = 0
            if b.cfg_rst is not None:
                b.cfg_rst.value = 1
        Clock(b.clk, CLOCK_NS, unit="ns").start(start_high=False)
        self.sampler.start()
        for _ in range(RESET_CYCLES):
            await self.rise
        b.rst.value = 1 - b.rst_on
        if b.programmable and b.cfg_rst is not None:
            b.cfg_rst.value = 0
        await self.rise
        self.out_mon.check_x = self.check_x

    # ---- configuration -------------------------------------------------
    async def load(self, m: int) -> None:
        """Write weight set m and make it the one in force (the datapath is idle or drained)."""
        words = regmap.image(self.regs, self.models[m])
        await self.cfg.write(words)
        if self.ctrl is None:
            self.loaded = m
            self.ref.active = m
            await self.read_back(m, f"load {self.model_names[m]}")
            return
        c = self.ctrl
        self.ref.shadow = m
        if self.live:
            await self.cfg.write({c["RD_ACTIVE"]: 0})
            await self.read_back(m, f"shadow of {self.model_names[m]}")
        await self.commit()
        if not self.live:
            self.ref.active = m
        self.loaded = m
        await self.cfg.write({c["RD_ACTIVE"]: 1, c["ENABLE"]: 1})
        await self.read_back(m, f"load {self.model_names[m]}")
        await self.check_status(f"load {self.model_names[m]}")

    async def commit(self) -> None:
        """COMMIT, then wait until the last stage's banks have copied: the active banks switch stage by
        stage, as the first crossing after the commit reaches them, so an earlier read-back of a late
        stage would still show the old set."""
        await self.cfg.write({self.ctrl["COMMIT"]: 1})
        self.commits_written += 1
        for _ in range(self.latency + 1):
            await self.rise

    async def read_ctrl(self, *names: str) -> dict[str, int | None]:
        got = await self.cfg.read([self.ctrl[n] for n in names])
        return {n: (got[self.ctrl[n]].to_unsigned() if got[self.ctrl[n]].is_resolvable else None) for n in names}

    def config_error(self, when: str, what: str, expected, got) -> None:
        if len(self.config_errors) < 200:
            self.config_errors.append({"when": when, "what": what, "expected": expected, "got": got})

    async def check_status(self, when: str, loaded: int = 1) -> None:
        """STATUS, COMMITS, UNMAPPED and DROPPED against what the testbench did since the configuration reset."""
        top = (1 << self.regs.data_width) - 1
        want = {"STATUS": loaded, "COMMITS": self.commits_written & top, "UNMAPPED": min(self.unmapped_written, top)}
        if "DROPPED" in self.ctrl:
            want["DROPPED"] = min(self.dropped_written, top)
        got = await self.read_ctrl(*want)
        for name, value in want.items():
            if got[name] != value:
                self.config_error(when, name, value, got[name])

    async def read_back(self, m: int, when: str) -> int:
        """Read every register and compare with weight set m; returns the errors found."""
        want = regmap.image(self.regs, self.models[m])
        mask = regmap.field_mask(self.regs)
        got = await self.cfg.read(list(want))
        errors = 0
        for addr, word in want.items():
            val = got[addr]
            ok = val.is_resolvable and (val.to_unsigned() & mask[addr]) == word
            if not ok:
                errors += 1
                if len(self.readback) < 200:
                    self.readback.append({"when": when, "addr": addr, "expected": word, "got": str(val)})
        self.events_done.append({"event": "read_back", "when": when, "registers": len(want), "errors": errors,
                                 "cycle": self.cycle()})
        return errors

    async def power_up(self) -> None:
        """Before the first load: the configuration reset during a load, use before load, and unmapped
        writes (designs with control registers)."""
        c, b = self.ctrl, self.bus
        words = regmap.image(self.regs, self.models[0])
        # Reset during configuration: half a weight set, then cfg_rst; nothing of it may remain.
        half = dict(list(words.items())[:len(words) // 2])
        await self.cfg.write(half)
        await self.cfg.write({c["COMMIT"]: 1})
        if b.cfg_rst is not None:
            await self.rise
            b.cfg_rst.value = 1
            # Writes while cfg_rst is held are dropped: the clear takes precedence in every bank
            # (enc_cfg_block, CLEAR_ON_RESET = 1) and control register (enc_cfg_ctrl), and a COMMIT
            # raises no strobe. Weights, ENABLE, RD_ACTIVE and COMMIT must all read as after the reset.
            dropped = config_checks.cfg_reset_writes(self, words)
            await self.cfg.write(dropped)
            b.cfg_rst.value = 0
            self.commits_written = self.dropped_written = 0
            got = await self.cfg.read(list(half)[:16])
            for addr, val in got.items():
                if not val.is_resolvable or val.to_unsigned() != 0:
                    self.config_error("after cfg_rst", f"field at {addr} not cleared", 0, str(val))
            got = await self.cfg.read([a for a in dropped if a != c["COMMIT"]])
            for addr, val in got.items():
                if not val.is_resolvable or val.to_unsigned() != 0:
                    self.config_error("write during cfg_rst", f"address {addr} took the write", 0, str(val))
            await self.check_status("after cfg_rst", loaded=0)
            self.events_done.append({"event": "writes_in_cfg_reset", "addresses": sorted(dropped),
                                     "cycle": self.cycle()})
        else:
            self.commits_written += 1
        # Use before load: ENABLE set but no weight set committed, vectors must not enter.
        await self.cfg.write({c["ENABLE"]: 1})
        self.in_mon.blocked = True
        top = (1 << b.in_counts.width) - 1
        for _ in range(BLOCKED_VECTORS):
            await self.rise
            b.in_valid.value = 1
            b.in_counts.handle.value = b.in_counts.pack([self.rng.randint(0, top) for _ in range(b.in_counts.n)])
        await self.driver.idle(self.drain_cycles + 2)
        self.in_mon.blocked = False
        self.check()
        self.events_done.append({"event": "use_before_load", "vectors": self.in_mon.blocked_count,
                                 "cycle": self.cycle()})
        # Unmapped addresses: writes are dropped and counted, reads return 0.
        first = max(c.values()) + 1      # past the last control register
        limit = 1 << int(self.design["ports"]["cfg_addr"]["width"])
        unmapped = sorted({first, limit - 1, (first + limit) // 2}) if first < limit else []
        await self.cfg.write({a: (1 << self.regs.data_width) - 1 for a in unmapped})
        self.unmapped_written += len(unmapped)
        if unmapped:
            got = await self.cfg.read(unmapped)
            for addr, val in got.items():
                if not val.is_resolvable or val.to_unsigned() != 0:
                    self.config_error("unmapped read", f"address {addr}", 0, str(val))
        self.events_done.append({"event": "unmapped_writes", "addresses": unmapped, "cycle": self.cycle()})
        if b.cfg_rst is not None and self.cfg.read_latency == 1:
            await config_checks.read_during_write(self)

    # ---- live reload (shadow banks) ------------------------------------
    async def _write_shadow(self, m: int) -> None:
        """The weight set into the shadow banks, in bursts, so that other writes (framing registers)
        get the port between them."""
        words = list(regmap.image(self.regs, self.models[m]).items())
        for k in range(0, len(words), SHADOW_BURST):
            await self.cfg.write(dict(words[k:k + SHADOW_BURST]))
        self.ref.shadow = m

    async def _commit_live(self, m: int, read_back: bool) -> None:
        """COMMIT while vectors flow; then, for the last reload, read the active banks back. Where the
        drop window's length depends on the traffic (--reuse), the COMMIT comes with writes in it."""
        r = self.regs
        if r.drop_window is not None and not r.drop_exact and "DROPPED" in self.ctrl and self.cfg.read_latency == 1:
            await config_checks.commit_with_writes_in_window(self, m)
        else:
            await self.commit()
        self.loaded = m
        if read_back:
            await self.read_back(m, f"live reload {self.model_names[m]}")
            await self.check_status(f"live reload {self.model_names[m]}")
    # ---- framing registers ---------------------------------------------
    async def read_back_framing(self, count: int, mask: int, when: str) -> int:
        """Read the e-link count and latent mask registers; compare with what they should hold."""
        fr = self.framing
        want = fr.image(count, mask)
        got = await self.cfg.read(list(want))
        errors = 0
        for addr, word in want.items():
            val = got[addr]
            if not (val.is_resolvable and val.to_unsigned() == word):
                errors += 1
                if len(self.readback) < 200:
                    self.readback.append({"when": when, "addr": addr, "expected": word, "got": str(val)})
        self.events_done.append({"event": "read_back_framing", "when": when, "registers": len(want),
                                 "errors": errors, "cycle": self.cycle()})
        return errors

    async def write_framing(self, count: int, mask: int, before: int) -> None:
        """Write the count, then the mask words, then read both back; runs beside the vector stream."""
        at = self.cycle()
        await self.cfg.write(self.framing.image(count, mask))
        self.events_done.append({"event": "framing", "elinks": count, "latent_mask": f"0x{mask:x}",
                                 "cycle": at, "before_vector": before})
        self.framing_writes += 1
        await self.read_back_framing(count, mask, f"framing write before vector {before}")

    async def framing_done(self) -> None:
        """Let a framing write in progress finish before anything else uses the configuration port."""
        if self.framing_task is not None:
            # Idle cycles meanwhile: valid_in must not stay high from the last vector.
            while not self.framing_task.done():
                await self.driver.idle(1)
            self.framing_task = None

    # ---- events --------------------------------------------------------
    def check(self, final: bool = False) -> None:
        for board in self.boards:
            board.check(self.cycle(), final=final)

    async def drain(self) -> None:
        await self.driver.idle(self.drain_cycles + 2)
        self.check()

    async def reset_in_flight(self) -> None:
        """Fill the pipeline with throw-away vectors, then reset while they are inside.

        The reset also loads the framing registers' reset values (the model follows the pins)."""
        # Enough modules to fill the pipeline: one every initiation interval.
        n = max(-(-self.drain_cycles // self.ii), 1)
        top = (1 << self.bus.in_counts.width) - 1
        for _ in range(n):
            word = self.bus.in_counts.pack([self.rng.randint(0, top) for _ in range(self.bus.in_counts.n)])
            # With framing, random bx_reset flags too: a flag in flight at the reset must not survive it.
            await self.driver.send(-1, word, bx_reset=self.rng.getrandbits(1) if self.bus.framing else 0)
        at = self.cycle()
        if self.live and self.bus.cfg_rst is not None:
            await config_checks.reset_with_writes(self)
        else:
            await self.resetter.pulse(RESET_CYCLES)
        self.events_done.append({"event": "reset", "cycle": at, "in_flight": n})
        # Weights that should survive the reset are checked by the vectors that follow
        # (a full read-back costs a cycle per register); others are loaded again.
        if self.regs is not None and not self.regs.keep_through_reset:
            await self.load(self.loaded)

    async def too_soon(self) -> None:
        """Right after the last vector (taken at cycle t): valid_in at t + 1 and t + ii - 1, which
        the design must ignore and flag on overrun, then a vector at t + ii, which it must take."""
        top = (1 << self.bus.in_counts.width) - 1

        def word():
            return self.bus.in_counts.pack([self.rng.randint(0, top) for _ in range(self.bus.in_counts.n)])

        flag = self.rng.getrandbits(1) if self.bus.framing else 0
        await self.driver.send(-1, word(), 0, flag, early=True)
        idle = 0
        if self.ii >= 3:
            await self.driver.send(-1, word(), self.ii - 3, flag, early=True)
            idle = self.ii - 3
        await self.driver.send(-1, word(), 0, 0, exact=True)
        self.events_done.append({"event": "too_soon", "cycle": self.cycle(),
                                 "early_valids": 2 if self.ii >= 3 else 1, "idle": idle})

    # ---- the regression ------------------------------------------------
    async def run(self) -> dict:
        t0 = time.monotonic()
        await self.start()
        if self.ctrl is not None:
            await self.power_up()
        if self.regs is not None:
            await self.load(0)
            if self.regs.drop_window is not None and self.regs.commit_stages > 1 and self.cfg.read_latency == 1:
                await config_checks.writes_while_copying(self)
        if self.framing is not None:
            fr = self.framing
            await self.read_back_framing(fr.count_reset, fr.mask, "reset values")
        t_stream = time.monotonic()
        (self.dir / "progress").write_text("0")      # tells the runner's bar: reset and weight load done
        ids, counts, gaps = self.arrays["ids"], self.arrays["counts"], self.arrays["gaps"]
        bx_reset = self.arrays.get("bx_reset")
        if self.bus.framing and bx_reset is None:
            bx_reset = np.zeros(len(ids), dtype=np.int64)
        events: dict[int, list[dict]] = {}
        for ev in self.plan["events"]:
            events.setdefault(int(ev["before"]), []).append(ev)
        loads_left = sum(1 for ev in self.plan["events"] if ev["kind"] == "load")
        # A live reload's shadow writes are spread over the vectors up to the next reset or load.
        starts = sorted(i for i, evs in events.items() if any(e["kind"] in ("reset", "load") for e in evs)) + [len(ids)]
        field = self.bus.in_counts
        last_progress = t0
        reload = None              # live reload in progress: model, shadow task, pace, commit point
        background = []            # commit (and read-back) tasks running beside the stream
        for i in range(len(ids)):
            for ev in events.get(i, ()):
                t_event = time.monotonic()
                if ev["kind"] in ("reset", "load", "framing"):
                    await self.framing_done()
                # A framing write shares the port with a live reload (ConfigDriver takes turns); a reset or
                # another load waits for the reload.
                if ev["kind"] == "reset":
                    # The configuration port is the reload's until it is done.
                    reload = await self._finish_reload(reload, background)
                    await self.reset_in_flight()
                elif ev["kind"] == "framing" and self.framing is not None:
                    # Replays settle: the vectors before go out under the old values, the next under
                    # the new ones alone. Otherwise no drain: the write goes in while the vectors stream on.
                    if ev.get("settle"):
                        await self.drain()
                    self.framing_task = cocotb.start_soon(
                        self.write_framing(int(ev["elinks"]), int(ev["latent_mask"], 16), i))
                    if ev.get("settle"):
                        await self.framing_done()
                elif ev["kind"] == "load" and self.regs is not None:
                    loads_left -= 1
                    m = int(ev["model"])
                    if self.live and not self.plan.get("replay"):
                        reload = await self._finish_reload(reload, background)
                        following = next(k for k in starts if k > i) - i
                        pace = min(MAX_PACE, math.ceil(len(self.regs.addresses) / max(1, following - COMMIT_TAIL)))
                        reload = {"model": m, "task": cocotb.start_soon(self._write_shadow(m)), "pace": pace,
                                  "commit_at": None, "last": loads_left == 0, "before_vector": i}
                    else:
                        await self.drain()
                        await self.load(m)
                        self.events_done.append({"event": "load", "model": self.model_names[m],
                                                 "cycle": self.cycle(), "before_vector": i})
                self.event_seconds += time.monotonic() - t_event
            if reload is not None:
                if reload["commit_at"] is None and reload["task"].done():
                    reload["commit_at"] = i + self.rng.randint(1, 6)
                if reload["commit_at"] is not None and i >= reload["commit_at"]:
                    # The COMMIT goes out on the port while this vector and the next go in.
                    background.append(cocotb.start_soon(self._commit_live(reload["model"], reload["last"])))
                    self.live_reloads += 1
                    self.events_done.append({"event": "load", "live": True, "model": self.model_names[reload["model"]],
                                             "cycle": self.cycle(), "before_vector": reload["before_vector"],
                                             "commit_before_vector": i})
                    reload = None
            await self.driver.send(int(ids[i]), field.pack(counts[i]), int(gaps[i]),
                                   int(bx_reset[i]) if bx_reset is not None else 0)
            if reload is not None and reload["commit_at"] is None:
                # Spread the vectors over the shadow writes, so that data flows all through the reload.
                await self.driver.hold(reload["pace"])
            if (i + 1) % CHECK_EVERY == 0:
                self.check()
                now = time.monotonic()
                if now - last_progress > PROGRESS_SECONDS:
                    (self.dir / "progress").write_text(str(i + 1))
                    last_progress = now
        await self.framing_done()
        await self._finish_reload(reload, background)
        if self.coverage is not None:
            await self.coverage.close_holes()
        if self.ii > 1:
            await self.too_soon()
        await self.driver.idle(self.drain_cycles + 4)
        self.check(final=True)
        (self.dir / "progress").write_text(str(len(ids)))
        now = time.monotonic()
        return self.report(now - t0, now - t_stream - self.event_seconds)

    async def _finish_reload(self, reload: dict | None, background: list) -> None:
        """Complete a reload the stream ran out of (no vectors left around its commit: not counted as live),
        and wait for the commit tasks, which hold the configuration port."""
        if reload is not None or background:
            await self.driver.idle(1)          # valid_in low while the stream waits
        if reload is not None:
            await reload["task"]
            await self._commit_live(reload["model"], reload["last"])
            self.events_done.append({"event": "load", "live": False, "model": self.model_names[reload["model"]],
                                     "cycle": self.cycle(), "before_vector": reload["before_vector"]})
        while background:
            await background.pop()
        return None

    def report(self, seconds: float, stream_seconds: float) -> dict:
        """result.json: counts, errors, events, and speed (overall, and of the vector stream alone,
        without set-up, weight loads and resets)."""
        ids, labels = self.arrays["ids"], self.arrays["labels"]
        pos = {int(v): k for k, v in enumerate(ids)}
        sent = self.driver.sent

        def ident(seq: int) -> tuple[int, str]:
            vid = sent[seq] if seq < len(sent) else -2
            return vid, (str(labels[pos[vid]]) if vid in pos else "reset-filler" if vid == -1 else "?")

        def gap(vid: int) -> int:
            return int(self.arrays["gaps"][pos[vid]]) if vid in pos else 0

        def listed(board) -> list[dict]:
            out = []
            for m in board.mismatches:
                vid, label = ident(m["seq"])
                out.append({"id": vid, "label": label, "model_name": self.model_names[m["model"]],
                            "gap": gap(vid), **m})
            for e in board.missing:
                vid, label = ident(e.seq)
                miss = {"id": vid, "label": label, "model_name": self.model_names[e.model], "seq": e.seq,
                        "model": e.model, "gap": gap(vid), "cycle_in": e.cycle, "cycle_out": None,
                        "latency": None, "counts": e.counts, "got": None, "what": "missing"}
                if board is self.frame_board:
                    miss.update(stream="frame", bx_reset=e.bx_reset, expected=board.expected_dict(e))
                else:
                    miss["expected"] = {"latents": e.latents, "sum_code": e.sum_code}
                out.append(miss)
            return out

        fillers = sum(1 for v in sent if v == -1)

        def real_checks(board) -> int:
            """Checks of real vectors: the reset fillers whose outputs came out are not counted."""
            fillers_flushed = sum(1 for e in board.flushed if ident(e.seq)[0] == -1)
            return board.checked - (fillers - fillers_flushed)

        mismatches = listed(self.board)
        frame_mismatches = listed(self.frame_board) if self.frame_board else []
        flushed_real = sorted({ident(e.seq)[0] for b in self.boards for e in b.flushed if ident(e.seq)[0] != -1})
        harness = []
        if self.in_mon.count != len(sent):
            harness.append(f"input monitor saw {self.in_mon.count} vectors, the driver sent {len(sent)}")
        if flushed_real:
            harness.append(f"vectors {flushed_real[:5]} were in flight at a reset")
        overrun = {}
        if self.overrun_mon is not None:
            want, seen = [c + 1 for c in self.in_mon.ignored], self.overrun_mon.cycles
            overrun = {"overrun_expected": want[:50], "overrun_seen": seen[:50],
                       "overrun_errors": len(set(want) ^ set(seen))}
        elif self.in_mon.ignored:
            harness.append(f"valid_in too soon at cycles {self.in_mon.ignored[:5]} on a design without overrun")
        checked_real = real_checks(self.board)
        result = {
            # Reset fillers and replay preambles (id -1) are not vectors of the run.
            "shard": self.plan["shard"], "vectors": int(np.count_nonzero(ids != -1)), "checked": checked_real,
            "matched": self.board.matched, "mismatches": len(mismatches),
            "unexpected_outputs": [{"cycle": o.cycle, "latents": o.latents, "sum_code": o.sum_code}
                                   for o in self.board.unexpected[:50]],
            "n_unexpected_outputs": len(self.board.unexpected),
            "flushed_by_reset": len(self.board.flushed),
            "latency_expected": self.latency,
            "latency_seen": {str(k): v for k, v in sorted(self.board.latency_seen.items())},
            "x_checked": self.check_x, "x_events": self.out_mon.x_events, "readback_errors": self.readback,
            "config_errors": self.config_errors, "live_reloads": self.live_reloads,
            "blocked_before_load": self.in_mon.blocked_count,
            "events": self.events_done, "harness_errors": harness,
            "initiation_interval": self.ii, **overrun,
            "cycles": self.cycle(), "seconds": seconds,
            "vectors_per_second": len(ids) / seconds if seconds > 0 else 0.0,
            "stream_vectors_per_second": len(ids) / stream_seconds if stream_seconds > 0 else 0.0,
        }
        if self.frame_board is not None:
            fb = self.frame_board
            result.update({
                "frames_checked": real_checks(fb), "frames_matched": fb.matched,
                "frame_mismatches": len(frame_mismatches),
                "unexpected_frames": [{"cycle": o.cycle, "tx_data": frame_words_hex(o.frame, fb.elinks)}
                                      for o in fb.unexpected[:50]],
                "n_unexpected_frames": len(fb.unexpected), "frames_flushed_by_reset": len(fb.flushed),
                "bx_resets": int(sum(int(f) for f in self.arrays.get("bx_reset", []))),
                # every cycle with bx_reset high outside reset: on vectors and on idle cycles
                "bx_reset_cycles": self.in_mon.bx_resets,
                "framing_writes": self.framing_writes,
                "tx_latency_expected": self.tx_latency,
                "tx_latency_seen": {str(k): v for k, v in sorted(fb.latency_seen.items())},
            })
        result["assertions"] = self.checkers.result()
        if self.coverage is not None:
            self.coverage.write(self.dir)
        result["errors"] = (result["assertions"]["violations"] + len(mismatches) + len(self.board.unexpected) + len(self.out_mon.x_events)
                            + len(self.readback) + len(self.config_errors) + len(harness) + overrun.get("overrun_errors", 0)
                            + len(frame_mismatches) + (len(self.frame_board.unexpected) if self.frame_board else 0))
        mismatches += frame_mismatches
        (self.dir / "mismatches.json").write_text(json.dumps(mismatches))
        (self.dir / "result.json").write_text(json.dumps(result, indent=1))
        return result
