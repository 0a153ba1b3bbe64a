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
