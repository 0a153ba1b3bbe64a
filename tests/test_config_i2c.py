"""`encoder rtl --config-port i2c`: the register map follows the chip's weight blocks, the designs lint
clean, and a design loaded over I2C by the controller model (encoder/verif/tb/i2c.py) equals the
golden model on Icarus and Verilator, in standard and fast mode; a wrong byte is caught.
"""

from __future__ import annotations

import pytest

from encoder.econt.registers import read_config
from encoder.econt.weights import image_from_blocks
from encoder.errors import UserError
from encoder.ir.synthetic import synthetic_ir
from encoder.rtl_gen import generate, register_image, write_design
from encoder.verif.cocotb_first import first_stimulus, run_first_test
from encoder.verif.tb.i2c import FAST_HZ, STANDARD_HZ, image_bytes
from rtl_helpers import DATA, ir_case, need_tool, run


def test_chip_register_map_is_the_chips_autoencoder_blocks():
    d = generate(ir_case("chip"), "programmable", 0, config_port="i2c", i2c_address=0x2A)
    regs = d.manifest["registers"]
    i2c = regs["i2c"]
    assert regs["port"] == "i2c" and i2c["device_address"] == "0x2a"
    assert i2c["image"] == {**i2c["image"], "bits": 12864, "bytes": 1608}
    assert [b["name"] for b in i2c["blocks"]] == [f"AUTOENCODER_{b}INPUT" for b in range(12)]
    assert [(b["addr"], b["bytes"]) for b in i2c["blocks"]] == [(134 * b, 134) for b in range(12)]
    assert [r["name"] for r in i2c["blocks"][3]["registers"]] == \
        [f"weights_byte{16 * i}" for i in range(9)]
    # The bytes the controller writes are the chip's own image from init.yaml, bit for bit.
    chip = image_from_blocks(read_config(DATA / "econt" / "AE" / "init.yaml").weight_blocks)
    ours = image_bytes(d.manifest, register_image(ir_case("chip")))
    assert int.from_bytes(ours, "little") == chip
    assert regs["control"]["base"] == 0x0700 and "i2c_map.md" in d.files
    assert "| 0x0642 | 6 | AUTOENCODER_11INPUT.weights_byte128 | weight image bits 12816..12863 |" in \
        d.files["i2c_map.md"]


def test_i2c_options_errors_name_the_flag():
    with pytest.raises(UserError, match="--i2c-address"):
        generate(ir_case("chip"), "programmable", 0, config_port="i2c", i2c_address=0x7F)
    with pytest.raises(UserError, match="--config-port i2c"):
        generate(ir_case("chip"), "constant", 0, config_port="i2c")
    with pytest.raises(UserError, match="--config-port"):
        generate(ir_case("chip"), "programmable", 0, config_port="spi")


@pytest.mark.parametrize("elinks", [None, 13])
def test_i2c_designs_lint_clean(tmp_path, elinks):
    need_tool("verilator")
    d = generate(ir_case("chip"), "programmable", 0, config_port="i2c", elinks=elinks)
    out = write_design(d, tmp_path / "d")
    r = run(["verilator", "--lint-only", "-Wall", "--top-module", d.top, *[str(out / s) for s in d.sources]])
    assert r.returncode == 0, r.stderr[-2000:]


def _tiny(tmp_path):
    ir = synthetic_ir("tiny_conv", "econt", seed=4)
    write_design(generate(ir, "programmable", 0, config_port="i2c"), tmp_path / "design")
    return ir, first_stimulus(60, ir.input.n_cells, ir.input.charge_bits, seed=8)


@pytest.mark.slow
@pytest.mark.parametrize("sim,hz", [("icarus", FAST_HZ), ("verilator", FAST_HZ), ("icarus", STANDARD_HZ)])
def test_design_loaded_over_i2c_equals_golden_model(tmp_path, sim, hz):
    need_tool("iverilog")
    _, counts = _tiny(tmp_path)
    assert run_first_test(tmp_path / "design", counts, tmp_path / "build", sim=sim, i2c_hz=hz) == (1, 0)


@pytest.mark.slow
def test_a_wrong_weight_over_i2c_is_caught(tmp_path):
    need_tool("iverilog")
    ir, counts = _tiny(tmp_path)
    flip = len(register_image(ir)) - 5          # a dense weight
    assert run_first_test(tmp_path / "design", counts, tmp_path / "build", flip_field=flip) == (1, 1)

