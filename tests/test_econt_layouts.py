"""ECON-T configuration files in every register layout: detection, values, round trips, refusals.

The expected values are read off the files by hand (thresholds 47, buff_t1 338,
...) and the e-link counts off the chip's own output words, not from the reader.
"""

from pathlib import Path

import pytest
import yaml

from encoder.cli import main
from encoder.econt.layouts import LAYOUT_NAMES, resets
from encoder.econt.registers import ChipConfig, format_config, read_config

DATA = Path(__file__).parent / "data" / "econt"
INIT = DATA / "AE" / "init.yaml"
ALGOS = DATA / "algorithms"
MUX_PAIRS_REVERSED = [4 * (i // 4) + 3 - i % 4 for i in range(48)]     # 3, 2, 1, 0, 7, 6, 5, 4, ...


def run(*argv):
    return main([str(a) for a in argv])


def active_columns(csv_path: Path) -> int:
    """How many TX_DATA columns carry a non-zero word in some BX (the chip's active e-links)."""
    rows = [line.split(",") for line in csv_path.read_text().splitlines()[1:]]
    used = [any(int(r[c], 16) for r in rows) for c in range(len(rows[0]))]
    assert used == sorted(used, reverse=True)          # the chip fills eTx 0..N-1
    return sum(used)


# -- the shipped files, value by value -------------------------------------------------

EXPECTED = {
    # name: (algorithm, n_elinks, active_etxs, mux, buff_t1, buff_t2, buff_t3)
    "BC_5eTx": (2, 5, 0b11111, MUX_PAIRS_REVERSED, 338, 314, 25),
    "STC_type0_eTx3": (1, 3, 0b111, list(range(48)), 338, 314, 25),
    "TS_Thr47_5eTx_MRL": (0, 5, 0b11111, MUX_PAIRS_REVERSED, 120, 500, 0),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_algorithm_configurations_read_by_hand(name):
    algo, n, etx, mux, t1, t2, t3 = EXPECTED[name]
    cfg = read_config(ALGOS / name / "init.yaml")
    assert cfg.layout == "intermediate"
    assert (cfg.algorithm, cfg.density, cfg.n_elinks, cfg.active_etxs) == (algo, 1, n, etx)
    assert cfg.thresholds == [47] * 48 and cfg.drop_lsb == 3
    assert cfg.cal == [2048] * 48 and cfg.mux == mux
    assert (cfg.buff_t1, cfg.buff_t2, cfg.buff_t3) == (t1, t2, t3)
    assert (cfg.stc_type, cfg.use_sum, cfg.link_reset_pattern) == (0, 0, 290)
    # no latent mask or weights in these files: the mask holds its reset value, no weight image
    assert cfg.latent_mask == (1 << 144) - 1 and cfg.weight_blocks is None


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_elink_count_is_the_number_of_columns_the_chip_fills(name):
    # BC/TS write active_etxs 5 under Algorithm (a count), STC writes 0x7 under ConfigAlgo (a mask)
    assert read_config(ALGOS / name / "init.yaml").n_elinks == active_columns(ALGOS / name / "testOutput_head.csv")


def test_the_autoencoder_file_reads_by_hand():
    cfg = read_config(INIT)
    assert cfg.layout == "rw"
    assert (cfg.algorithm, cfg.density, cfg.n_elinks, cfg.active_etxs) == (4, 1, 5, 0b11111)
    assert cfg.mux[:8] == [5, 6, 7, 1, 29, 28, 20, 21] and cfg.mux[-4:] == [36, 37, 45, 46]
    assert (cfg.buff_t1, cfg.buff_t2, cfg.buff_t3, cfg.link_reset_pattern) == (338, 314, 25, 0b00100100010)
    assert cfg.n_elinks == active_columns(DATA / "AE" / "testOutput.csv")
    # left out of the file: use_sum, stc_type, thresholds, drop_lsb hold the chip's reset values
    assert (cfg.use_sum, cfg.stc_type, cfg.drop_lsb, cfg.thresholds) == (1, 1, 0, [0] * 48)
    assert cfg.weight_blocks[0][0] == 0x3ff3f04e7fcefdc3bed413aedec7cf12


def test_left_out_registers_hold_the_reset_values_of_the_register_map(tmp_path):
    doc = yaml.safe_load(INIT.read_text())
    rw = doc["ECON-T"]["RW"]
    del rw["MFC_CAL_VAL"], rw["MFC_MUX_SELECT"]
    del rw["FMTBUF_ALL"]["registers"]["config"], rw["FMTBUF_ALL"]["registers"]["mask_ae2"]
    del rw["MFC_ALGORITHM_SEL_DENSITY"]["registers"]["algo"]["params"]["density"]
    path = tmp_path / "partial.yaml"
    path.write_text(yaml.safe_dump(doc))
    cfg = read_config(path)
    # cmantill/econt_sw reg_maps/ECON_I2C_params_regmap.yaml: cal_* 2048, mux_select_* 0..47,
    # FMTBUF_ALL.config 0x25 (eporttx_numen 2, use_sum 1, stc_type 1), mask_ae2 0xffff, algo 0x0
    assert cfg.cal == [2048] * 48 and cfg.mux == list(range(48))
    assert (cfg.n_elinks, cfg.active_etxs, cfg.use_sum, cfg.stc_type) == (2, 0b11, 1, 1)
    assert cfg.mask_ae2 == 0xFFFF and cfg.density == 0 and cfg.algorithm == 4


def test_flat_registers_read_like_nested_ones(tmp_path):
    # the layout of most of the chip's autoencoder test files: eporttx_numen as a flat register
    doc = yaml.safe_load(INIT.read_text())
    regs = doc["ECON-T"]["RW"]["FMTBUF_ALL"]["registers"]
    del regs["config"]
    regs["eporttx_numen"] = {"value": 5}
    path = tmp_path / "flat.yaml"
    path.write_text(yaml.safe_dump(doc))
    cfg = read_config(path)
    assert cfg.layout == "rw-flat" and cfg.n_elinks == 5 and cfg.active_etxs == 0b11111
    ref = read_config(INIT)
    assert cfg.weight_blocks == ref.weight_blocks and cfg.mux == ref.mux


# -- every layout: write -> read gives the same registers ------------------------------

FIELDS = [f for f in ChipConfig.__dataclass_fields__ if f not in ("path", "layout")]


def same_registers(a: ChipConfig, b: ChipConfig) -> list[str]:
    return [f for f in FIELDS if getattr(a, f) != getattr(b, f)]


SOURCES = [INIT] + [ALGOS / name / "init.yaml" for name in sorted(EXPECTED)]


@pytest.mark.parametrize("layout", LAYOUT_NAMES)
@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.parent.name)
def test_write_then_read_gives_the_same_registers_in_every_layout(tmp_path, src, layout):
    cfg = read_config(src)
    out = tmp_path / f"{layout}.yaml"
    out.write_text(format_config(cfg, "round trip", layout))
    back = read_config(out)                       # detected, not told
    assert back.layout == layout
    assert same_registers(cfg, back) == []
    assert all(getattr(back, f) is not None for f in FIELDS if f != "weight_blocks")


def test_non_default_values_survive_every_layout(tmp_path):
    # every register away from both the file's value and the reset value
    cfg = read_config(INIT)
    cfg.thresholds = list(range(100, 148))
    cfg.drop_lsb, cfg.buff_t1, cfg.buff_t2, cfg.buff_t3 = 2, 401, 77, 9
    cfg.stc_type, cfg.use_sum, cfg.link_reset_pattern = 3, 0, 0x5A5
    cfg.mask_ae, cfg.mask_ae2 = (1 << 127) | 0x1234, 0x8001
    cfg.n_elinks, cfg.active_etxs, cfg.density, cfg.algorithm = 7, 0x7F, 0, 3
    for layout in LAYOUT_NAMES:
        out = tmp_path / f"{layout}.yaml"
        out.write_text(format_config(cfg, "", layout))
        back = read_config(out)
        assert (back.layout, same_registers(cfg, back)) == (layout, []), layout


def test_production_layout_by_hand(tmp_path):
    cfg = read_config(ALGOS / "STC_type0_eTx3" / "init.yaml")
    cfg.mask_ae, cfg.mask_ae2 = 1, 0x8000
    text = format_config(cfg, "", "production")
    doc = yaml.safe_load(text)
    assert set(doc) == {"ConfigAlgo", "Mux", "Cal", "AlgoThreshold", "AlgoDroplsb", "FormatterBuffer"}
    assert doc["ConfigAlgo"]["Global"] == {"alg_type": 1, "alg_high_density": 1}
    g = doc["FormatterBuffer"]["Global"]
    assert g["active_etxs"] == 0b111
    # keep_auto_encoder_bits: mask_ae above mask_ae2, written in decimal
    assert g["keep_auto_encoder_bits"] == (1 << 16) | 0x8000 and "keep_auto_encoder_bits: 98304" in text
    assert "0x" not in text


def test_a_gapped_etx_mask_is_kept_by_production_and_refused_by_count_layouts(tmp_path):
    cfg = read_config(ALGOS / "STC_type0_eTx3" / "init.yaml")
    cfg.active_etxs, cfg.n_elinks = 0b1000000000101, 3
    out = tmp_path / "p.yaml"
    out.write_text(format_config(cfg, "", "production"))
    back = read_config(out)
    assert (back.active_etxs, back.n_elinks) == (0b1000000000101, 3)
    for layout in ("rw", "rw-flat", "intermediate"):
        with pytest.raises(Exception, match="not eTx 0..N-1"):
            format_config(cfg, "", layout)


# -- the chip's frames from the autoencoder configuration in every layout ----------------

@pytest.fixture(scope="module")
def golden_ir_data(tmp_path_factory):
    """The decoded input once (it depends on density, mux and calibration only)."""
    d = tmp_path_factory.mktemp("econt_layouts_chain")
    assert run("econt", "import", INIT, "--out", d / "ir.json") == 0
    assert run("econt", "decode-input", DATA / "testInput.csv", "--config", INIT, "--ir", d / "ir.json",
               "--out", d / "data.npz") == 0
    return d


@pytest.mark.parametrize("layout", LAYOUT_NAMES)
def test_the_autoencoder_file_in_every_layout_reproduces_the_chip_frames(tmp_path, capsys, golden_ir_data, layout):
    d = golden_ir_data
    conv = tmp_path / f"init_{layout}.yaml"
    assert run("econt", "convert", INIT, "--layout", layout, "--out", conv) == 0
    assert f"layout {layout} (read as rw)" in capsys.readouterr().out
    assert run("econt", "import", conv, "--out", tmp_path / "ir.json") == 0
    assert f"layout {layout};" in capsys.readouterr().out
    assert run("econt", "decode-input", DATA / "testInput.csv", "--config", conv, "--ir", tmp_path / "ir.json",
               "--out", tmp_path / "data.npz") == 0
    assert run("golden", tmp_path / "ir.json", "--data", tmp_path / "data.npz", "--out", tmp_path / "lat.npz") == 0
    assert run("econt", "frames", tmp_path / "lat.npz", "--config", conv, "--data", tmp_path / "data.npz",
               "--out", tmp_path / "testOutput.csv") == 0
    assert (tmp_path / "testOutput.csv").read_text() == (DATA / "AE" / "testOutput.csv").read_text()
    # the same weights and input as the original file's chain
    ref = (d / "ir.json").read_text()
    import json
    a, b = json.loads(ref), json.loads((tmp_path / "ir.json").read_text())
    assert a["layers"] == b["layers"] and a["input"] == b["input"]


def test_export_writes_the_production_layout_unless_told(tmp_path, capsys):
    assert run("econt", "import", INIT, "--out", tmp_path / "ir.json") == 0
    assert run("econt", "export", tmp_path / "ir.json", "--out", tmp_path / "p.yaml") == 0
    assert "layout production" in capsys.readouterr().out
    assert read_config(tmp_path / "p.yaml").layout == "production"
    for layout in LAYOUT_NAMES:
        out = tmp_path / f"{layout}.yaml"
        assert run("econt", "export", tmp_path / "ir.json", "--out", out, "--layout", layout) == 0
        back, ref = read_config(out), read_config(INIT)
        assert back.layout == layout
        # the imported file's other registers travel through the IR and come back
        assert same_registers(ref, back) == []


# -- refusals: one line naming the file and the register --------------------------------

def expect_refusal(capsys, out, *argv, needles=()):
    rc = run(*argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1, err
    for n in needles:
        assert n in err[0], err[0]
    assert not Path(out).exists()
    return err[0]


def _algo_doc(name="BC_5eTx"):
    return yaml.safe_load((ALGOS / name / "init.yaml").read_text())


def _set(doc, value, *keys):
    node = doc
    for k in keys[:-1]:
        node = node[k]
    node[keys[-1]] = value
    return doc


@pytest.mark.parametrize("doc, needles", [
    (_set(_algo_doc(), 14, "FormatterBuffer", "Global", "active_etxs"),
     ("register FormatterBuffer.Global.active_etxs", "value 14 outside 1..13")),
    (_set(_algo_doc("STC_type0_eTx3"), 1 << 13, "FormatterBuffer", "Global", "active_etxs"),
     ("register FormatterBuffer.Global.active_etxs", "does not fit its 13 bits")),
    (_set(_algo_doc("STC_type0_eTx3"), 0, "FormatterBuffer", "Global", "active_etxs"),
     ("register FormatterBuffer.Global.active_etxs", "enables no e-link")),
    (_set(_algo_doc(), "0x4_00000", "AlgoThreshold", 7), ("register AlgoThreshold[7]", "outside 0..4194303")),
    (_set(_algo_doc(), "forty", "Cal", 3), ("register Cal[3]", "expected an integer, got 'forty'")),
    (_set(_algo_doc(), 48, "Mux", 47), ("register Mux[47]", "value 48 outside 0..47")),
    (_set(_algo_doc(), 8, "Algorithm", "Global", "select"), ("register Algorithm.Global.select", "outside 0..4")),
    (_set(_algo_doc("STC_type0_eTx3"), 2, "ConfigAlgo", "Global", "alg_high_density"),
     ("register ConfigAlgo.Global.alg_high_density", "outside 0..1")),
    (_set(_algo_doc(), 1 << 16, "FormatterBuffer", "Global", "buff_t1"),
     ("register FormatterBuffer.Global.buff_t1", "does not fit its 16 bits")),
    (_set(_algo_doc(), 4, "FormatterBuffer", "Global", "stc_type"),
     ("register FormatterBuffer.Global.stc_type", "outside 0..3")),
    (_set(_algo_doc(), 291, "FormatterBuffer", "Global", "tx_sync_word"),
     ("register FormatterBuffer.Global.link_reset_pattern", "differs from tx_sync_word 291")),
    (_set(_algo_doc(), {k: 0 for k in range(47)}, "Cal"), ("register Cal", "entry 47 missing")),
    (_set(_algo_doc(), {"Global": {"select": 0}}, "ConfigAlgo"), ("both Algorithm and ConfigAlgo",)),
])
def test_bad_intermediate_files_are_refused_with_one_line(tmp_path, capsys, doc, needles):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml.safe_dump(doc))
    out = tmp_path / "x.yaml"
    expect_refusal(capsys, out, "econt", "convert", cfg, "--out", out, needles=(str(cfg),) + needles)


def test_bad_production_files_are_refused_with_one_line(tmp_path, capsys):
    cfg = read_config(INIT)
    good = tmp_path / "good.yaml"
    good.write_text(format_config(cfg, "", "production"))
    doc = yaml.safe_load(good.read_text())
    doc["FormatterBuffer"]["Global"]["keep_auto_encoder_bits"] = 1 << 144
    del doc["Encoder"][11]["weights_byte64"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(doc))
    out = tmp_path / "ir.json"
    expect_refusal(capsys, out, "econt", "import", bad, "--out", out,
                   needles=(str(bad), "register FormatterBuffer.Global.keep_auto_encoder_bits",
                            "does not fit its 144 bits"))
    doc["FormatterBuffer"]["Global"]["keep_auto_encoder_bits"] = 5
    bad.write_text(yaml.safe_dump(doc))
    expect_refusal(capsys, out, "econt", "import", bad, "--out", out,
                   needles=(str(bad), "missing register Encoder.11.weights_byte64"))


def test_a_configuration_without_weights_is_refused_by_import(tmp_path, capsys):
    out = tmp_path / "ir.json"
    cfg = ALGOS / "BC_5eTx" / "init.yaml"
    expect_refusal(capsys, out, "econt", "import", cfg, "--out", out,
                   needles=(str(cfg), "missing register Encoder blocks 0..11"))


def test_unknown_ambiguous_and_mismatched_layouts_say_what_was_found(tmp_path, capsys):
    out = tmp_path / "x.yaml"
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump({"Aligner": {"Global": {"snapshot_en": 1}}, "PLL": {}}))
    expect_refusal(capsys, out, "econt", "convert", other, "--out", out,
                   needles=(str(other), "not an ECON-T configuration in a known layout",
                            "top-level keys Aligner, PLL", "rw, rw-flat, intermediate, production"))
    both = tmp_path / "both.yaml"
    doc = _algo_doc()
    doc["ECON-T"] = yaml.safe_load(INIT.read_text())["ECON-T"]
    both.write_text(yaml.safe_dump(doc))
    expect_refusal(capsys, out, "econt", "convert", both, "--out", out,
                   needles=(str(both), "ambiguous layout", "ECON-T", "fit rw, intermediate", "give --layout"))
    # told which layout: the file is read as that one
    assert run("econt", "convert", both, "--from-layout", "intermediate", "--out", out) == 0
    assert read_config(out).algorithm == 2
    out.unlink()
    expect_refusal(capsys, out, "econt", "convert", ALGOS / "BC_5eTx" / "init.yaml", "--from-layout", "rw",
                   "--out", out, needles=("BC_5eTx", "not in layout rw", "top-level keys"))
    expect_refusal(capsys, out, "econt", "decode-input", DATA / "testInput.csv", "--config", INIT,
                   "--layout", "production", "--out", out, needles=(str(INIT), "not in layout production"))


def test_frames_refuse_a_gapped_etx_mask(tmp_path, capsys, golden_ir_data):
    cfg = read_config(INIT)
    cfg.active_etxs = 0b100101
    cfg.n_elinks = 3
    path = tmp_path / "gapped.yaml"
    path.write_text(format_config(cfg, "", "production"))
    assert run("golden", golden_ir_data / "ir.json", "--data", golden_ir_data / "data.npz",
               "--out", tmp_path / "lat.npz") == 0
    out = tmp_path / "tx.csv"
    expect_refusal(capsys, out, "econt", "frames", tmp_path / "lat.npz", "--config", path, "--out", out,
                   needles=(str(path), "FormatterBuffer.Global.active_etxs is 0x25", "eTx 0 up"))


def test_values_as_hex_text_decimal_text_or_yaml_integers_read_alike(tmp_path):
    text = (ALGOS / "BC_5eTx" / "init.yaml").read_text()
    text = text.replace("  7: 47\n", "  7: '0x2f'\n").replace("  8: 47\n", "  8: '0b10_1111'\n")
    text = text.replace("  9: 47\n", "  9: '47'\n").replace("buff_t1: 338", "buff_t1: 0x152")
    text = text.replace("buff_t2: 314", "buff_t2: '0x1_3a'")
    assert all(t in text for t in ("'0x2f'", "'0b10_1111'", "9: '47'", "0x152", "'0x1_3a'"))
    path = tmp_path / "mixed.yaml"
    path.write_text(text)
    assert same_registers(read_config(path), read_config(ALGOS / "BC_5eTx" / "init.yaml")) == []


def test_a_production_file_gives_the_latent_mask_once(tmp_path, capsys):
    doc = yaml.safe_load(format_config(read_config(INIT), "", "production"))
    doc["FormatterBuffer"]["Global"]["mask_ae2"] = 0xFFFF
    bad = tmp_path / "two_masks.yaml"
    bad.write_text(yaml.safe_dump(doc))
    out = tmp_path / "ir.json"
    expect_refusal(capsys, out, "econt", "import", bad, "--out", out,
                   needles=(str(bad), "keep_auto_encoder_bits", "also writes FormatterBuffer.Global.mask_ae2"))


def test_the_elink_reset_value_is_what_the_chip_does_when_a_file_leaves_it_out():
    # a public autoencoder configuration without eporttx_numen: the chip sent on 2 e-links
    d = DATA / "AE_8x8_c8_S2_ele_qkeras"
    cfg = read_config(d / "init_no_weights.yaml")
    assert (cfg.layout, cfg.n_elinks, cfg.active_etxs) == ("rw", 2, 0b11)
    assert cfg.n_elinks == active_columns(d / "testOutput_head.csv") == resets.N_ELINKS
