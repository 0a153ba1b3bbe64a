"""The 7-bit trigger-cell charge code against the chip's own test vectors."""

import csv
from pathlib import Path

import numpy as np
import yaml

from encoder import inputpath
from encoder.metrics.charge_code import TC_CODE, ChargeCoding, FloatCode

DATA = Path(__file__).parent / "data" / "metrics"


def chip_codes_and_calq():
    cfg = yaml.safe_load((DATA / "econt_init.yaml").read_text())
    mux = cfg["ECON-T"]["RW"]["MFC_MUX_SELECT"]["registers"]["mux_select_*"]["value"]
    with open(DATA / "econt_input_200bx.csv") as fh:
        rows = list(csv.reader(fh))[1:]
    words = np.array([[int(w, 16) for w in r] for r in rows], dtype=np.int64)
    codes = np.stack([(words[:, g] >> (7 * k)) & 127 for g in range(12) for k in range(4)], axis=1)
    calq = np.loadtxt(DATA / "econt_calq_200bx.csv", delimiter=",", skiprows=1, dtype=np.int64)[:, 1:]
    return codes[:, mux], calq


def test_decoding_reproduces_the_chip_calibrated_charges():
    codes, calq = chip_codes_and_calq()
    assert np.array_equal(TC_CODE.decode(codes), calq)


def test_encoding_the_chip_charges_gives_back_the_chip_codes():
    codes, calq = chip_codes_and_calq()
    assert np.array_equal(TC_CODE.encode(calq), codes)


def test_module_sum_family_member_matches_the_input_path_decoder():
    code = FloatCode(5, 4)
    all_codes = np.arange(512)
    assert np.array_equal(code.decode(all_codes), inputpath.decode_sum(all_codes))
    sums = np.arange(0, 200_000, 7)
    assert np.array_equal(code.encode(sums), inputpath.encode_sum(sums))


def test_roundtrip_stays_inside_the_code_interval():
    counts = np.arange(0, 1 << 21)
    back = TC_CODE.roundtrip(counts)
    assert np.array_equal(TC_CODE.encode(back), TC_CODE.encode(counts))
    # relative error bounded by half a mantissa step (1/16) above the linear range
    big = counts >= 64
    assert np.max(np.abs(back[big] - counts[big]) / counts[big]) <= 1 / 16 + 1e-12


def test_top_code_saturates():
    assert TC_CODE.encode(np.array([10**9]))[0] == 127
    assert TC_CODE.bits == 7


def test_charge_coding_turns_mips_into_counts_and_back():
    coding = ChargeCoding(counts_per_mip=35.0)
    assert list(coding.to_counts([0.0, 1.0, 2.5])) == [0, 35, 88]    # 87.5 rounds half to even
    assert np.isclose(coding.received_mip(np.array([35]))[0], TC_CODE.roundtrip(np.array([35]))[0] / 35.0)
