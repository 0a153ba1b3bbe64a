"""The configuration port at its corners: writes while cfg_rst is held, writes during the datapath
reset, and reads in the cycle of a write. Each runs inside the testbench's sequence (``tb``, an
``EncoderTestbench``) and reports what differs from the expectation through ``tb.config_error``.

The expectations are those of rtl/enc_cfg_block.v, rtl/enc_cfg_ctrl.v and the generated top:
cfg_rst wins over a write in the same cycle (banks cleared, control registers at their reset
values, no commit strobe); the datapath reset does not reach the configuration, so writes during
it are taken; cfg_rdata registers the addressed register on every edge, so a read in the write's
cycle shows the old value and the next cycle the new one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import regmap

if TYPE_CHECKING:
    from .testbench import EncoderTestbench


def cfg_reset_writes(tb: "EncoderTestbench", words: dict[int, int]) -> dict[int, int]:
    """Words to write while cfg_rst is held: ENABLE, RD_ACTIVE and COMMIT, then the first and last weight
    registers with every field bit set. The last write falls on the last edge of the reset, so a write
    that wrongly won over the clear is not wiped by a later reset cycle."""
    c, mask = tb.ctrl, regmap.field_mask(tb.regs)
    addrs = list(words)
    out = {c["ENABLE"]: 1, c["RD_ACTIVE"]: 1, c["COMMIT"]: 1}
    out.update({a: mask[a] for a in (addrs[0], addrs[-1])})
    return out


def group_edges(tb: "EncoderTestbench") -> list[int]:
    """The first and last register of each weight and bias group (layer and kind), in address order."""
    spans: dict[tuple[str, str], list[int]] = {}
    for f in tb.regs.fields:
        spans.setdefault((f.layer, f.kind), []).append(f.addr)
    return sorted({a for addrs in spans.values() for a in (min(addrs), max(addrs))})


def _expect_read(tb: "EncoderTestbench", addr: int, mask: int, want: int, when: str) -> None:
    val = tb.bus.cfg_rdata.value
    if not val.is_resolvable or (val.to_unsigned() & mask) != want:
        tb.config_error("read during write", f"address {addr} read {when}", want, str(val))


async def read_during_write(tb: "EncoderTestbench") -> None:
    """Read-back of a register in the cycle it is written and in the next one.

    cfg_rdata registers the addressed register on every clock edge, whatever cfg_we: on the edge that
    takes a write it samples the value from before the write, one edge later the written value (the
    shadow bank after cfg_rst: RD_ACTIVE is 0). Two writes per address (every field bit set, then all
    clear) so that both the old and the new value are known and differ; the banks start cleared
    by cfg_rst. The weight load that follows overwrites them."""
    b, mask = tb.bus, regmap.field_mask(tb.regs)
    addrs = group_edges(tb)
    await tb.cfg.lock.acquire()
    try:
        for addr in addrs:
            m = mask[addr]
            for old, new in ((0, m), (m, 0)):
                await tb.rise
                b.cfg_we.value = 1
                b.cfg_addr.value = addr
                b.cfg_wdata.value = new
                await tb.rise                  # this edge takes the write
                b.cfg_we.value = 0
                await tb.fall
                _expect_read(tb, addr, m, old, "in the write's cycle")
                await tb.rise
                await tb.fall
                _expect_read(tb, addr, m, new, "the cycle after the write")
    finally:
        tb.cfg.lock.release()
    tb.events_done.append({"event": "read_during_write", "addresses": addrs, "cycle": tb.cycle()})


async def reset_with_writes(tb: "EncoderTestbench") -> None:
    """The datapath reset with configuration writes in its cycles: the configuration has its own reset
    (cfg_rst), so the writes must be taken. RD_ACTIVE 0 and one shadow field changed during the reset,
    read back after it, then put back (shadow field, RD_ACTIVE 1) and read again; the shadow is not
    committed, so the datapath keeps its weights."""
    from .testbench import RESET_CYCLES     # the reset length every datapath reset of the run has
    c, mask = tb.ctrl, regmap.field_mask(tb.regs)
    words = regmap.image(tb.regs, tb.models[tb.ref.shadow])
    addr = tb.rng.choice(list(words))
    changed = words[addr] ^ mask[addr]
    await tb.cfg.lock.acquire()
    try:
        await tb.resetter.pulse(RESET_CYCLES, cfg_writes=((c["RD_ACTIVE"], 0), (addr, changed)))
    finally:
        tb.cfg.lock.release()
    got = await tb.cfg.read([addr, c["RD_ACTIVE"]])
    for a, want in ((addr, changed), (c["RD_ACTIVE"], 0)):
        val = got[a]
        if not val.is_resolvable or (val.to_unsigned() & mask.get(a, 1)) != want:
            tb.config_error("write during reset", f"address {a} did not take the write", want, str(val))
    await tb.cfg.write({addr: words[addr], c["RD_ACTIVE"]: 1})
    got = await tb.cfg.read([addr])
    if not got[addr].is_resolvable or (got[addr].to_unsigned() & mask[addr]) != words[addr]:
        tb.config_error("write during reset", f"address {addr} after restoring the shadow",
                        words[addr], str(got[addr]))
    tb.events_done.append({"event": "writes_in_reset", "addresses": [c["RD_ACTIVE"], addr], "cycle": tb.cycle()})


def _last_field(tb: "EncoderTestbench", model: int) -> tuple[int, int, int, int]:
    """(address, value in ``model``, that value with every field bit flipped, field mask) of the last field of
    the last group: a field of the stage that copies last."""
    words = regmap.image(tb.regs, tb.models[model])
    mask = regmap.field_mask(tb.regs)
    addr = max(words)
    return addr, words[addr], words[addr] ^ mask[addr], mask[addr]


async def _active_kept_shadow_took(tb: "EncoderTestbench", when: str, addr: int, kept: int, taken: int,
                                   mask: int) -> None:
    """After writes of ``taken`` around a COMMIT of ``kept``: the active bank (RD_ACTIVE is 1) must still
    hold ``kept`` and the shadow the write after the window, ``taken``. Then the shadow is put back."""
    c = tb.ctrl
    for bank, want in (("active", kept), ("shadow", taken)):
        if bank == "shadow":
            await tb.cfg.write({c["RD_ACTIVE"]: 0})
        got = (await tb.cfg.read([addr]))[addr]
        if not got.is_resolvable or got.to_unsigned() & mask != want:
            tb.config_error(when, f"{bank} field at {addr} after writes in the copy"
                            + (": the write after the window not taken" if bank == "shadow" else ""), want, str(got))
    await tb.cfg.write({addr: kept, c["RD_ACTIVE"]: 1})


async def writes_while_copying(tb: "EncoderTestbench") -> None:
    """Weight writes while a COMMIT is still copying (shadow banks, commit strobes over two or more stages):
    dropped, counted in DROPPED, STATUS bit 1 high meanwhile; the first write after the copy is taken.

    Runs with the datapath idle, so no --reuse copy waits for a crossing: the window is cycles
    1 .. commit_stages - 1 after the COMMIT write's cycle. Two COMMITs of the weight set in force (the
    reference model's set does not change): during the first STATUS is read every cycle (bit 1 must be
    high exactly in the window); during the second the last field of the last group (the stage that copies
    last) is written with every bit flipped in each cycle of the window, and once more in the cycle after
    it. The active bank must keep the committed value, the shadow must hold the flip (the write after the
    window), DROPPED must count the window's writes. Then the shadow is put back."""
    b, c, regs = tb.bus, tb.ctrl, tb.regs
    last = regs.commit_stages - 1
    addr, kept, flipped, mask = _last_field(tb, tb.ref.shadow)
    status = []

    async def commit_then(present) -> None:
        await tb.rise
        b.cfg_we.value, b.cfg_addr.value, b.cfg_wdata.value = 1, c["COMMIT"], 1
        for k in range(1, last + 3):
            await tb.rise                      # the edge ending cycle k - 1 after the COMMIT write's cycle
            present(k)
            await tb.fall
            status.append(b.cfg_rdata.value)

    def read_status(k: int) -> None:
        b.cfg_we.value, b.cfg_addr.value = 0, c["STATUS"]

    def write_flip(k: int) -> None:
        if k <= last + 1:
            b.cfg_we.value, b.cfg_addr.value, b.cfg_wdata.value = 1, addr, flipped
        else:
            b.cfg_we.value = 0

    await tb.cfg.lock.acquire()
    try:
        await commit_then(read_status)
        tb.commits_written += 1
        # status[k] shows STATUS as sampled at the end of cycle k - 1 after the write; pending in 1 .. last
        for k in range(2, last + 3):
            val = status[k - 1]
            want = 3 if 1 <= k - 1 <= last else 1
            if not val.is_resolvable or val.to_unsigned() & 3 != want:
                tb.config_error("commit copying", f"STATUS {k - 1} cycles after COMMIT", want, str(val))
        status.clear()
        await commit_then(write_flip)
        b.cfg_we.value = 0
        tb.commits_written += 1
        tb.dropped_written += last
    finally:
        tb.cfg.lock.release()
    await _active_kept_shadow_took(tb, "commit copying", addr, kept, flipped, mask)
    await tb.check_status("writes while a commit copies")
    tb.events_done.append({"event": "writes_while_copying", "address": addr, "dropped": last,
                           "cycle": tb.cycle()})


async def commit_with_writes_in_window(tb: "EncoderTestbench", m: int) -> int:
    """A live reload's COMMIT (weight set ``m`` in the shadow) while vectors flow, with the last field of the
    last group written, every bit flipped, in each cycle of the manifest's drop window and once after it.

    For designs whose window is not exact (--reuse: the last layer's copy also waits while a crossing is
    between its phases, so how long depends on where the crossings are). The design drops the writes in
    cycles 1 .. n after the COMMIT write's cycle and takes the later ones; n is read from DROPPED and must
    lie in the window, above ``commit_stages - 1`` when the copy was held. A write that joined the held
    copy would reach the last layer's active bank: the read-back below shows it, and so does every later
    crossing's output (the reference model keeps set ``m``). The shadow must hold the flip (the last
    write, after the window), and is then put back. Returns n (-1 if DROPPED had saturated)."""
    b, c, regs = tb.bus, tb.ctrl, tb.regs
    lo, hi = regs.drop_window
    top = (1 << regs.data_width) - 1
    addr, kept, flipped, mask = _last_field(tb, m)
    before = (await tb.read_ctrl("DROPPED"))["DROPPED"]
    await tb.cfg.lock.acquire()
    try:
        for _ in range(tb.rng.randrange(max(1, tb.ii))):    # the COMMIT at any phase of the crossings
            await tb.rise
        await tb.rise
        b.cfg_we.value, b.cfg_addr.value, b.cfg_wdata.value = 1, c["COMMIT"], 1
        for _ in range(hi + 1):
            await tb.rise                          # cycles 1 .. hi + 1 after the COMMIT write's cycle
            b.cfg_we.value, b.cfg_addr.value, b.cfg_wdata.value = 1, addr, flipped
        await tb.rise
        b.cfg_we.value = 0
    finally:
        tb.cfg.lock.release()
    tb.commits_written += 1
    for _ in range(tb.latency + 1):                # every stage has copied (as EncoderTestbench.commit)
        await tb.rise
    after = (await tb.read_ctrl("DROPPED"))["DROPPED"]
    n = -1
    if before is None or after is None:
        tb.config_error("commit with writes", "DROPPED readable", "a number", f"{before} then {after}")
    elif after < top:
        n = after - before
        least = max(lo, regs.commit_stages - 1)     # every stage's strobe but the last's is still to come
        if not least <= n <= hi:
            tb.config_error("commit with writes", f"writes dropped after the COMMIT (window {lo}..{hi})",
                            f"{least}..{hi}", n)
    tb.dropped_written += n if n >= 0 else hi
    await _active_kept_shadow_took(tb, "commit with writes", addr, kept, flipped, mask)
    tb.events_done.append({"event": "commit_with_writes", "address": addr, "dropped": n,
                           "held": n > regs.commit_stages - 1, "cycle": tb.cycle()})
    return n
