"""An I2C controller (master) model for cocotb, and the register-level transactions of the kit's target.

The bus is open drain: SDA is low when either side pulls it. The design has
an input ``sda`` (what its pad sees) and an output ``sda_oe`` (its pull-down);
this model drives ``sda`` with the wired AND of its own drive and the
target's pull-down, updating it whenever either changes, and samples the
same line. SCL is driven by the controller alone (no clock stretching: the
kit's target never stretches).

Timing per bit, period T = 1 / speed: SCL low T/2 (the controller changes
SDA T/4 into it), high T/2 (sampled in the middle). Standard mode 100 kHz,
fast mode 400 kHz. A NACK where an ACK is due raises ``I2cNack``.
"""

from __future__ import annotations

import cocotb
from cocotb.triggers import Timer, ValueChange

STANDARD_HZ = 100_000
FAST_HZ = 400_000


class I2cNack(AssertionError):
    pass


class I2cController:
    def __init__(self, scl, sda, sda_oe, speed_hz: int = FAST_HZ):
        self.scl, self.sda, self.sda_oe = scl, sda, sda_oe
        self.quarter_ns = 1e9 / speed_hz / 4
        self.drive = 1                      # our own drive: 1 released, 0 pulled low
        self.scl.value = 1
        self.sda.value = 1
        self._task = cocotb.start_soon(self._follow_target())

    # -- the wire ------------------------------------------------------------
    def _update(self) -> None:
        oe = self.sda_oe.value
        pulled = oe.is_resolvable and int(oe) == 1
        self.sda.value = 0 if (self.drive == 0 or pulled) else 1

    async def _follow_target(self) -> None:
        while True:
            await ValueChange(self.sda_oe)
            self._update()

    def _set(self, bit: int) -> None:
        self.drive = bit
        self._update()

    def line(self) -> int:
        return int(self.sda.value)

    async def _wait(self, quarters: int) -> None:
        await Timer(round(self.quarter_ns * quarters), unit="ns")

    # -- bus conditions and bits --------------------------------------------
    async def start(self) -> None:
        """START from idle, or a repeated START with SCL low."""
        if int(self.scl.value) == 0:
            self._set(1)
            await self._wait(1)
            self.scl.value = 1
            await self._wait(1)
        self._set(0)                        # SDA falls while SCL is high
        await self._wait(2)
        self.scl.value = 0
        await self._wait(1)

    async def stop(self) -> None:
        self._set(0)
        await self._wait(1)
        self.scl.value = 1
        await self._wait(2)
        self._set(1)                        # SDA rises while SCL is high
        await self._wait(2)

    async def write_bit(self, bit: int) -> None:
        self._set(bit)
        await self._wait(1)
        self.scl.value = 1
        await self._wait(2)
        self.scl.value = 0
        await self._wait(1)

    async def read_bit(self) -> int:
        self._set(1)
        await self._wait(1)
        self.scl.value = 1
        await self._wait(1)
        bit = self.line()
        await self._wait(1)
        self.scl.value = 0
        await self._wait(1)
        return bit

    async def write_byte(self, byte: int) -> bool:
        """Returns True when the target acknowledged."""
        for k in range(7, -1, -1):
            await self.write_bit((byte >> k) & 1)
        return await self.read_bit() == 0

    async def read_byte(self, ack: bool) -> int:
        v = 0
        for _ in range(8):
            v = (v << 1) | await self.read_bit()
        await self.write_bit(0 if ack else 1)
        return v

    # -- register transactions ----------------------------------------------
    async def _address(self, device: int, reg: int) -> None:
        if not await self.write_byte(device << 1):
            raise I2cNack(f"no acknowledge of device address 0x{device:02x}")
        for k, b in enumerate((reg >> 8, reg & 0xFF)):
            if not await self.write_byte(b):
                raise I2cNack(f"no acknowledge of register address byte {k} (0x{reg:04x})")

    async def write(self, device: int, reg: int, data: bytes | list[int]) -> None:
        """Bytes to consecutive registers from ``reg`` (the target's auto-increment)."""
        await self.start()
        await self._address(device, reg)
        for k, b in enumerate(data):
            if not await self.write_byte(int(b)):
                raise I2cNack(f"no acknowledge of data byte {k} at register 0x{reg + k:04x}")
        await self.stop()

    async def read(self, device: int, reg: int, n: int) -> list[int]:
        """n bytes from consecutive registers: pointer write, repeated START, read, NACK on the last."""
        await self.start()
        await self._address(device, reg)
        await self.start()
        if not await self.write_byte((device << 1) | 1):
            raise I2cNack(f"no acknowledge of device address 0x{device:02x} for reading")
        out = [await self.read_byte(ack=k < n - 1) for k in range(n)]
        await self.stop()
        return out

    async def probe(self, device: int) -> bool:
        """Address a device and stop: True when something acknowledged."""
        await self.start()
        ack = await self.write_byte(device << 1)
        await self.stop()
        return ack


def image_bytes(manifest: dict, image_codes: list[int]) -> bytes:
    """The weight image as the I2C registers hold it: the design's register image (one code per field,
    in register-map order) packed end to end, byte a = bits [8a +: 8]."""
    groups = manifest["registers"]["i2c"]["image"]["groups"]
    value, shift, k = 0, 0, 0
    for g in groups:
        mask = (1 << g["field_bits"]) - 1
        for _ in range(g["fields"]):
            value |= (int(image_codes[k]) & mask) << shift
            shift += g["field_bits"]
            k += 1
    n = manifest["registers"]["i2c"]["image"]["bytes"]
    return value.to_bytes(n, "little")


async def configure(dut, manifest: dict, image_codes: list[int], framing: dict[int, int] | None = None,
                    speed_hz: int = FAST_HZ, read_back_blocks: tuple[int, ...] = (0, -1)) -> dict:
    """Load a design over I2C: the weight image block by block, the framing registers, COMMIT, ENABLE and
    RD_ACTIVE; then check the status registers and read blocks of the active image back.

    Returns {"readback_errors": n, "status": {...}, "unmapped_written": n}. Expects cfg_rst released
    and the clock running; raises I2cNack on a missing acknowledge."""
    regs = manifest["registers"]
    i2c = regs["i2c"]
    dev = int(i2c["device_address"], 16)
    ctrl = {r["name"]: r["addr"] for r in regs["control"]["registers"]}
    bus = I2cController(dut.scl, dut.sda, dut.sda_oe, speed_hz)
    await bus._wait(4)
    # Another device's address is not acknowledged.
    other = dev ^ 0x01
    if await bus.probe(other):
        raise AssertionError(f"the target acknowledged address 0x{other:02x}, not its own 0x{dev:02x}")
    data = image_bytes(manifest, image_codes)
    for b in i2c["blocks"]:
        await bus.write(dev, b["addr"], data[b["addr"]:b["addr"] + b["bytes"]])
    # Unmapped: dropped, counted, read as 0.
    unmapped = [0xFFFF, max(ctrl.values()) + 1]
    for a in unmapped:
        await bus.write(dev, a, [0xA5])
    for addr, word in (framing or {}).items():
        await bus.write(dev, addr, [word])
    await bus.write(dev, ctrl["COMMIT"], [1, 1, 1])          # COMMIT, ENABLE, RD_ACTIVE (auto-increment)
    status = dict(zip(("STATUS", "COMMITS", "UNMAPPED"), await bus.read(dev, ctrl["STATUS"], 3)))
    errors = []
    if status != {"STATUS": 1, "COMMITS": 1, "UNMAPPED": len(unmapped)}:
        errors.append(f"status registers {status}")
    if await bus.read(dev, 0xFFFF, 1) != [0]:
        errors.append("unmapped read not 0")
    readback_errors = 0
    for k in read_back_blocks:
        b = i2c["blocks"][k]
        got = await bus.read(dev, b["addr"], b["bytes"])
        readback_errors += sum(1 for g, w in zip(got, data[b["addr"]:b["addr"] + b["bytes"]]) if g != w)
    for addr, word in (framing or {}).items():
        if await bus.read(dev, addr, 1) != [word]:
            readback_errors += 1
    bus._task.cancel()
    return {"readback_errors": readback_errors, "errors": errors, "status": status}
