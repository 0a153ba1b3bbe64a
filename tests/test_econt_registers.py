"""ECON-T register images: bit layout, export/import round trip, and every refusal."""

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from encoder.cli import main
from encoder.econt.registers import BLOCK_REGISTERS, read_config
from encoder.econt.weights import ChipWeights, decode_blocks, encode_blocks
from encoder.ir import load_ir
from encoder.ir import EncoderIR, save_ir

DATA = Path(__file__).parent / "data" / "econt"
INIT = DATA / "AE" / "init.yaml"


def run(*argv):
    return main([str(a) for a in argv])


def rw_of(path=INIT):
    return yaml.safe_load(Path(path).read_text())


def write_yaml(path, doc):
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def expect_refusal(capsys, out, *argv, needles=()):
    """Non-zero exit, one line on stderr naming what is wrong, no output file."""
    rc = run(*argv)
    err = capsys.readouterr().err
    assert rc == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for n in needles:
        assert n in lines[0], lines[0]
    assert not Path(out).exists()
    return lines[0]


# -- the bit layout -----------------------------------------------------------

def test_field_layout_by_hand():
    # conv weight field 0 = bits 0..5 of weights_byte0 of block 0; field 1 = bits 6..11
    blocks = [[0] * len(BLOCK_REGISTERS) for _ in range(12)]
    blocks[0][0] = 0b111111 | (0b011111 << 6) | (0b100000 << 12)      # -1, 31, -32
    w = decode_blocks(blocks)
    assert w.conv_w[0, 0, 0, :3].tolist() == [-1, 31, -32]
    assert np.count_nonzero(w.conv_w) == 3 and not w.conv_b.any() and not w.dense_w.any()
    # field 2143 (last dense bias) = the top 6 bits of weights_byte128 of block 11 (bits 42..47)
    blocks = [[0] * len(BLOCK_REGISTERS) for _ in range(12)]
    blocks[11][8] = 0b000001 << 42
    w = decode_blocks(blocks)
    assert w.dense_b.tolist() == [0] * 15 + [1]
    # field 80 + j*128 + i is dense kernel (i, j): field 80 + 128 + 5 -> (5, 1); 213 * 6 = 1278 = block 1 bit 206
    blocks = [[0] * len(BLOCK_REGISTERS) for _ in range(12)]
    blocks[1][1] = 0b000011 << (206 - 128)                             # weights_byte16 holds block bits 128..255
    w = decode_blocks(blocks)
    assert w.dense_w[5, 1] == 3 and np.count_nonzero(w.dense_w) == 1
    # conv field (ky*3+kx)*8+f: field 8*4 + 2 = 34 -> kernel[1][1][0][2]; bits 204..209 of block 0 (weights_byte16)
    blocks = [[0] * len(BLOCK_REGISTERS) for _ in range(12)]
    blocks[0][1] = 0b000101 << (34 * 6 - 128)
    assert decode_blocks(blocks).conv_w[1, 1, 0, 2] == 5


def test_random_images_survive_encode_then_decode():
    rng = np.random.default_rng(7)
    w = ChipWeights(rng.integers(-32, 32, (3, 3, 1, 8)), rng.integers(-32, 32, 8),
                    rng.integers(-32, 32, (128, 16)), rng.integers(-32, 32, 16))
    back = decode_blocks(encode_blocks(w))
    for a, b in zip((w.conv_w, w.conv_b, w.dense_w, w.dense_b), (back.conv_w, back.conv_b, back.dense_w, back.dense_b)):
        assert np.array_equal(a, b)


def test_export_of_the_imported_chip_writes_the_same_registers(tmp_path, capsys):
    assert run("econt", "import", INIT, "--out", tmp_path / "ir.json") == 0
    assert run("econt", "export", tmp_path / "ir.json", "--out", tmp_path / "init.yaml") == 0
    orig, back = read_config(INIT), read_config(tmp_path / "init.yaml")
    assert back.weight_blocks == orig.weight_blocks
    assert (back.mux, back.cal, back.density, back.n_elinks, back.latent_mask, back.algorithm) == \
        (orig.mux, orig.cal, orig.density, orig.n_elinks, orig.latent_mask, orig.algorithm)
    assert run("econt", "import", tmp_path / "init.yaml", "--out", tmp_path / "ir2.json") == 0
    a, b = load_ir(tmp_path / "ir.json"), load_ir(tmp_path / "ir2.json")
    assert [layer.to_dict() for layer in a.layers] == [layer.to_dict() for layer in b.layers]
    assert a.input.to_dict() == b.input.to_dict()


def test_export_options_override_the_source(tmp_path):
    assert run("econt", "import", INIT, "--out", tmp_path / "ir.json") == 0
    mux = list(range(47, -1, -1))
    assert run("econt", "export", tmp_path / "ir.json", "--out", tmp_path / "x.yaml", "--elinks", "2",
               "--density", "low", "--cal", "3000", "--mux", ",".join(map(str, mux))) == 0
    cfg = read_config(tmp_path / "x.yaml")
    assert (cfg.n_elinks, cfg.density, cfg.cal, cfg.mux) == (2, 0, [3000] * 48, mux)


def test_export_refuses_to_overwrite_without_force(tmp_path, capsys):
    assert run("econt", "import", INIT, "--out", tmp_path / "ir.json") == 0
    out = tmp_path / "x.yaml"
    out.write_text("keep")
    assert run("econt", "export", tmp_path / "ir.json", "--out", out) == 1
    assert out.read_text() == "keep" and "--force" in capsys.readouterr().err
    assert run("econt", "export", tmp_path / "ir.json", "--out", out, "--force") == 0
    assert read_config(out).weight_blocks == read_config(INIT).weight_blocks


def _modified_ir(tmp_path, edit):
    assert main(["econt", "import", str(INIT), "--out", str(tmp_path / "ir.json")]) == 0
    d = json.loads((tmp_path / "ir.json").read_text())
    d.pop("hash")
    edit(d)
    ir = EncoderIR.from_dict(d)
    path = tmp_path / "bad_ir.json"
    save_ir(ir, path)
    return path


def _latent_u8(d):
    d["layers"][2]["output"]["format"] = {"signed": False, "bits": 8, "frac": 7}


def _weights_s8(d):
    for i in (0, 2):
        d["layers"][i]["weight"]["format"] = {"signed": True, "bits": 8, "frac": 7}


def _input_u8_8(d):
    d["input"]["format"] = {"signed": False, "bits": 8, "frac": 8}


def _stride_1(d):
    conv = d["layers"][0]
    conv["strides"] = [1, 1]
    conv["output_shape"] = [7, 7, 8]
    d["layers"][1]["input_shape"] = [7, 7, 8]
    d["layers"][1]["output_shape"] = [392]
    dense = d["layers"][2]
    dense["input_shape"] = [392]
    dense["weight"]["shape"] = [392, 16]
    dense["weight"]["values"] = [0] * (392 * 16)


def _feeds_masked_quadrant(d):
    d["input"]["arrangement"]["pixel_to_cell"][63] = 0


@pytest.mark.parametrize("edit, needle", [
    (_latent_u8, "latent format is u8.7, the chip's is u9.8"),
    (_weights_s8, "conv weight format is s8.7, the chip's is s6.5"),
    (_input_u8_8, "input format is u8.8, the chip's is u8.7"),
    (_stride_1, "conv kernel/strides/padding"),
    (_feeds_masked_quadrant, "bottom-right quadrant"),
])
def test_export_refuses_irs_that_do_not_fit_the_chip(tmp_path, capsys, edit, needle):
    bad = _modified_ir(tmp_path, edit)
    expect_refusal(capsys, tmp_path / "out.yaml", "econt", "export", bad, "--out", tmp_path / "out.yaml",
                   needles=(str(bad), "does not fit the ECON-T", needle))


def test_export_notes_arithmetic_the_chip_does_not_share(tmp_path, capsys):
    assert main(["econt", "import", str(INIT), "--out", str(tmp_path / "ir.json")]) == 0
    d = json.loads((tmp_path / "ir.json").read_text())
    d.pop("hash")
    for i in (0, 2):     # exact products: accumulators at 2^-12, wide enough for any input
        d["layers"][i]["product"] = {"exact": True}
        d["layers"][i]["accumulator"] = {"signed": True, "bits": 40, "frac": 12}
    ir = EncoderIR.from_dict(d)
    save_ir(ir, tmp_path / "exact.json")
    assert run("econt", "export", tmp_path / "exact.json", "--out", tmp_path / "x.yaml") == 0
    out = capsys.readouterr().out
    assert "note: conv: exact products; the chip floors every product to 2^-7" in out
    assert read_config(tmp_path / "x.yaml").weight_blocks == read_config(INIT).weight_blocks


# -- import refusals ----------------------------------------------------------

def _drop(*keys):
    def edit(doc):
        node = doc["ECON-T"]["RW"]
        for k in keys[:-1]:
            node = node[k]
        del node[keys[-1]]
    return edit


def _set(value, *keys):
    def edit(doc):
        node = doc["ECON-T"]["RW"]
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value
    return edit


def _extra_block(doc):
    rw = doc["ECON-T"]["RW"]
    rw["AUTOENCODER_12INPUT"] = rw["AUTOENCODER_0INPUT"]


def _short_mux(doc):
    doc["ECON-T"]["RW"]["MFC_MUX_SELECT"]["registers"]["mux_select_*"]["value"].pop()


def _mux_value(v):
    def edit(doc):
        doc["ECON-T"]["RW"]["MFC_MUX_SELECT"]["registers"]["mux_select_*"]["value"][7] = v
    return edit


@pytest.mark.parametrize("edit, needles", [
    (_drop("AUTOENCODER_3INPUT", "registers", "weights_byte48"),
     ("missing register AUTOENCODER_3INPUT.weights_byte48",)),
    (_drop("AUTOENCODER_11INPUT"), ("missing register block AUTOENCODER_11INPUT",)),
    (_extra_block, ("AUTOENCODER_12INPUT", "12 blocks")),
    (_set({"value": "0xZZ"}, "AUTOENCODER_0INPUT", "registers", "weights_byte0"),
     ("register AUTOENCODER_0INPUT.weights_byte0", "expected an integer", "0xZZ")),
    (_set({"value": 1 << 48}, "AUTOENCODER_5INPUT", "registers", "weights_byte128"),
     ("register AUTOENCODER_5INPUT.weights_byte128", "does not fit its 48 bits")),
    (_set({"value": 1 << 128}, "AUTOENCODER_2INPUT", "registers", "weights_byte112"),
     ("register AUTOENCODER_2INPUT.weights_byte112", "does not fit its 128 bits")),
    (_short_mux, ("register MFC_MUX_SELECT.mux_select_*", "expected 48 values, got 47")),
    (_mux_value(48), ("register MFC_MUX_SELECT.mux_select_*[7]", "value 48 outside 0..47")),
    (_mux_value("seven"), ("register MFC_MUX_SELECT.mux_select_*[7]", "expected an integer")),
    (_set({"value": [5000] * 48}, "MFC_CAL_VAL", "registers", "cal_*"),
     ("register MFC_CAL_VAL.cal_*[0]", "value 5000 outside 0..4095")),
    (_set({"param_value": 2}, "MFC_ALGORITHM_SEL_DENSITY", "registers", "algo", "params", "density"),
     ("register MFC_ALGORITHM_SEL_DENSITY.algo.density", "value 2 outside 0..1")),
    (_set({"param_value": 14}, "FMTBUF_ALL", "registers", "config", "params", "eporttx_numen"),
     ("register FMTBUF_ALL.config.eporttx_numen", "value 14 outside 1..13")),
    (_set({"value": 0x1FFFF}, "FMTBUF_ALL", "registers", "mask_ae2"), ("register FMTBUF_ALL.mask_ae2", "does not fit its 16 bits")),
    (_set({"param_value": 2}, "MFC_ALGORITHM_SEL_DENSITY", "registers", "algo", "params", "select"),
     ("MFC_ALGORITHM_SEL_DENSITY.algo.select is 2 (best choice), not 4 (autoencoder)",)),
])
def test_import_refuses_bad_configurations_with_one_line(tmp_path, capsys, edit, needles):
    doc = rw_of()
    edit(doc)
    cfg = write_yaml(tmp_path / "bad.yaml", doc)
    out = tmp_path / "ir.json"
    expect_refusal(capsys, out, "econt", "import", cfg, "--out", out, needles=(str(cfg),) + needles)


def test_import_refuses_files_that_are_not_econt_configurations(tmp_path, capsys):
    out = tmp_path / "ir.json"
    broken = tmp_path / "broken.yaml"
    broken.write_text("ECON-T:\n RW: [unclosed\n")
    expect_refusal(capsys, out, "econt", "import", broken, "--out", out, needles=(str(broken), "not valid YAML"))
    other = write_yaml(tmp_path / "other.yaml", {"ECON-D": {"RW": {}}})
    expect_refusal(capsys, out, "econt", "import", other, "--out", out,
                   needles=(str(other), "not an ECON-T configuration in a known layout", "ECON-D"))
    expect_refusal(capsys, out, "econt", "import", tmp_path / "absent.yaml", "--out", out,
                   needles=("absent.yaml", "no such file"))


def test_import_reads_hex_text_and_bit_field_values(tmp_path):
    # values given as text (hex with underscores) and e-links as a masked field of a register value
    doc = rw_of()
    rw = doc["ECON-T"]["RW"]
    blk = rw["AUTOENCODER_4INPUT"]["registers"]["weights_byte32"]
    v = blk["value"]
    blk["value"] = "0x" + "_".join(f"{v:032x}"[i:i + 4] for i in range(0, 32, 4))
    rw["FMTBUF_ALL"]["registers"]["config"] = {"value": 5 << 3,
                                               "params": {"eporttx_numen": {"param_mask": 15, "param_shift": 3}}}
    cfg = read_config(write_yaml(tmp_path / "hex.yaml", doc))
    ref = read_config(INIT)
    assert cfg.weight_blocks == ref.weight_blocks and cfg.n_elinks == 5
