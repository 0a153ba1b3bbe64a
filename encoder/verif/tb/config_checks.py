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
