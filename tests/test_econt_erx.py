"""The chip's input side worked out by hand, and the refusals of `encoder econt decode-input`."""

from pathlib import Path

import numpy as np
import pytest
import yaml

from encoder.cli import main
from encoder.data import load_data
from encoder.econt.erx import calibrate, decode_codes, tc_codes

DATA = Path(__file__).parent / "data" / "econt"
INIT = DATA / "AE" / "init.yaml"
HEADER = "RX_DATA_0,RX_DATA_1,RX_DATA_2,RX_DATA_3,RX_DATA_4,RX_DATA_5,RX_DATA_6,RX_DATA_7,RX_DATA_8,RX_DATA_9," \
         "RX_DATA_10,RX_DATA_11"


def run(*argv):
    return main([str(a) for a in argv])


# code -> (e, m): 0 -> (0, 0); 5 -> (0, 5); 13 = 0b0001_101 -> (1, 5); 43 = 0b0101_011 -> (5, 3); 127 -> (15, 7)
CODES = [0, 5, 13, 43, 127]
# high density (b = 3), s = max(e-1, 0) + 3, d = (mantissa part << 3) + 2^(s-1):
#   0: 0 + 4 = 4;  5: 40 + 4 = 44;  13: 13 << 3 = 104, + 4 = 108;
#   43: (8+3) << 4 = 176, << 3 = 1408, s = 7 -> + 64 = 1472;
#   127: (8+7) << 14 = 245760, << 3 = 1966080, s = 17 -> + 65536 = 2031616
HIGH = [4, 44, 108, 1472, 2031616]
# low density (b = 1), s = max(e-1, 0) + 1:
#   0: 0 + 1 = 1;  5: 10 + 1 = 11;  13: 26 + 1 = 27;  43: 352 + 16 = 368;  127: 491520 + 16384 = 507904
LOW = [1, 11, 27, 368, 507904]


def test_decoding_by_hand_high_density():
    assert decode_codes(np.array([CODES]), density=1).tolist() == [HIGH]


def test_decoding_by_hand_low_density():
    assert decode_codes(np.array([CODES]), density=0).tolist() == [LOW]


def test_codes_sit_in_four_7_bit_slots_under_a_4_bit_header():
    # header 0xa, codes 1, 2, 3, 4 in slots 0..3: 0xa << 28 | 4 << 21 | 3 << 14 | 2 << 7 | 1 = 0xa080c101
    words = np.array([[0xA080C101] + [0xA0000000] * 10 + [0xAFE00000]])
    codes = tc_codes(words)
    assert codes.shape == (1, 48)
    assert codes[0, :4].tolist() == [1, 2, 3, 4]
    assert codes[0, 44:].tolist() == [0, 0, 0, 127]       # 0xfe00000 >> 21 = 127 in slot 3 of word 11
    assert not codes[0, 4:44].any()


def test_mux_then_calibration_by_hand():
    d = np.arange(48)[None, :] * 1000
    mux = [3] + [0] * 47
    cal = [3000] + [2048] * 47
    # output 0 takes input 3 (3000): 3000 * 3000 / 2048 = 4394.53 -> 4394; the rest take input 0 (0)
    q = calibrate(d, mux, cal)
    assert q[0, 0] == 4394 and not q[0, 1:].any()
    # 1472 (code 43, high density) * 3000 / 2048 = 2156.25 -> 2156
    assert calibrate(np.array([[1472] * 48]), list(range(48)), [3000] * 48)[0, 0] == 2156


def _words_csv(path, rows):
    path.write_text(HEADER + "\n" + "\n".join(",".join(r) for r in rows) + "\n")
    return path


def test_decode_input_low_density_with_calibration_by_hand(tmp_path):
    doc = yaml.safe_load(INIT.read_text())
    rw = doc["ECON-T"]["RW"]
    rw["MFC_ALGORITHM_SEL_DENSITY"]["registers"]["algo"]["params"]["density"]["param_value"] = 0
    rw["MFC_MUX_SELECT"]["registers"]["mux_select_*"]["value"] = list(range(48))
    rw["MFC_CAL_VAL"]["registers"]["cal_*"]["value"] = [1024] * 48           # 0.5
    cfg = tmp_path / "ld.yaml"
    cfg.write_text(yaml.safe_dump(doc))
    # row 1: reset header 9, word 0 holds codes 43 (slot 0) and 13 (slot 1): 9 << 28 | 13 << 7 | 43 = 0x900006ab
    rows = [["900006ab"] + ["90000000"] * 11, ["a0000000"] * 12]
    src = _words_csv(tmp_path / "in.csv", rows)
    assert run("econt", "decode-input", src, "--config", cfg, "--out", tmp_path / "d.npz",
               "--counts-per-mip", "2") == 0
    data = load_data(tmp_path / "d.npz")
    # low density: 43 -> 368, 13 -> 27, 0 -> 1; calibration 0.5: 184, 13, 0
    assert data.meta["calq"][0, :3].tolist() == [184, 13, 0]
    assert data.meta["calq"][1].tolist() == [0] * 48
    assert data.charges[0, :2].tolist() == [92.0, 6.5]
    assert data.meta["header"].tolist() == [9, 10] and data.meta["bx"].tolist() == [0, 1]
    assert data.geometry == "econt_mux"


@pytest.mark.parametrize("rows, needles", [
    ([["a0000000"] * 11], ("line 2", "expected 12 columns, got 11")),
    ([["a0000000"] * 12, ["a0000000"] * 13], ("line 3", "expected 12 columns, got 13")),
    ([["a0000000"] * 5 + ["a00g0000"] + ["a0000000"] * 6], ("line 2", "column RX_DATA_5", "'a00g0000'")),
    ([["a0000000"] * 11 + ["1a0000000"]], ("line 2", "column RX_DATA_11", "malformed 32-bit hex")),
    ([["a0000000"] * 3 + [""] + ["a0000000"] * 8], ("line 2", "column RX_DATA_3")),
    ([], ("no data rows",)),
])
def test_decode_input_refuses_malformed_words(tmp_path, capsys, rows, needles):
    src = _words_csv(tmp_path / "in.csv", rows)
    out = tmp_path / "d.npz"
    assert run("econt", "decode-input", src, "--config", INIT, "--out", out) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(src) in err[0]
    for n in needles:
        assert n in err[0], err[0]
    assert not out.exists()


def test_decode_input_refuses_a_wrong_header_and_a_malformed_mux(tmp_path, capsys):
    out = tmp_path / "d.npz"
    src = tmp_path / "in.csv"
    src.write_text("TX_DATA_0\na0000000\n")
    assert run("econt", "decode-input", src, "--config", INIT, "--out", out) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "line 1: expected the header" in err[0] and not out.exists()
    # a left-out mux holds its reset value (0..47); a mux that is not 48 inputs is refused
    doc = yaml.safe_load(INIT.read_text())
    doc["ECON-T"]["RW"]["MFC_MUX_SELECT"]["registers"]["mux_select_*"]["value"] = 5
    cfg = tmp_path / "badmux.yaml"
    cfg.write_text(yaml.safe_dump(doc))
    good = _words_csv(tmp_path / "good.csv", [["a0000000"] * 12])
    assert run("econt", "decode-input", good, "--config", cfg, "--out", out) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{cfg}: register MFC_MUX_SELECT.mux_select_*: expected a list of 48" in err[0]
    assert not out.exists()
