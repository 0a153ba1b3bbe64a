"""The ECON-T chip's other algorithms, bit for bit: `encoder econt run` against the chip's words,
hand-assembled frames for each algorithm's rules, the formatter buffer's truncation, bad configurations.

The expected frames below are bit strings written out by hand from the rules
(docs/econt_algorithms.md), not produced by the code under test.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cli_helpers import one_line_error
from encoder.cli import main
from encoder.econt.algorithms import best_choice, repeater, stc, threshold_sum
from encoder.econt.algorithms.buffer import Formatted, run_buffer
from encoder.econt.algorithms.codes import float_code
from encoder.econt.erx import calq_from_words

DATA = Path(__file__).parent / "data" / "econt"
INPUT = DATA / "testInput.csv"
CONFIGS = ("BC_5eTx", "STC_type0_eTx3", "TS_Thr47_5eTx_MRL")
REPO = Path(__file__).resolve().parent.parent
AE_MUX = [4 * (i // 4) + 3 - i % 4 for i in range(48)]     # 3, 2, 1, 0, 7, 6, 5, 4, ...


def run(*argv):
    return main([str(a) for a in argv])


def words16(bits: str) -> list[int]:
    """A hand-written frame (bit string, first bit most significant) -> zero-padded 16-bit words."""
    bits = bits.replace(" ", "")
    bits += "0" * (-len(bits) % 16)
    return [int(bits[i:i + 16], 2) for i in range(0, len(bits), 16)]


# -- the chip's words ----------------------------------------------------------------------

@pytest.mark.parametrize("name", CONFIGS)
def test_econt_run_output_is_byte_identical_to_the_chips_words(tmp_path, name):
    out = tmp_path / "tx.csv"
    assert run("econt", "run", "--config", DATA / "algorithms" / name / "init.yaml", "--input", INPUT,
               "--out", out) == 0
    assert out.read_bytes() == (DATA / "algorithms" / name / "testOutput.csv").read_bytes()


def test_econt_run_reproduces_the_autoencoder_configuration_too(tmp_path):
    out = tmp_path / "tx.csv"
    assert run("econt", "run", "--config", DATA / "AE" / "init.yaml", "--input", INPUT, "--out", out) == 0
    assert out.read_bytes() == (DATA / "AE" / "testOutput.csv").read_bytes()


def test_econt_run_as_a_separate_process_gives_the_threshold_sum_words(tmp_path):
    out = tmp_path / "tx.csv"
    cfg = DATA / "algorithms" / "TS_Thr47_5eTx_MRL" / "init.yaml"
    r = subprocess.run([sys.executable, "-m", "encoder", "econt", "run", "--config", str(cfg), "--input",
                        str(INPUT), "--out", str(out)], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == (cfg.parent / "testOutput.csv").read_bytes()
    # the shipped threshold-sum run overflows T1 = 120 on most BX: the summary says so
    assert "threshold sum on 5 e-links" in r.stdout and "2164 frames truncated at T1" in r.stdout
    h = subprocess.run([sys.executable, "-m", "encoder", "econt", "run", "--help"], cwd=REPO,
                       capture_output=True, text=True)
    assert h.returncode == 0 and "threshold sum" in h.stdout and "buff_t1" in h.stdout


def test_econt_run_refuses_to_overwrite_without_force(tmp_path, capsys):
    out = tmp_path / "tx.csv"
    out.write_text("keep")
    assert run("econt", "run", "--config", DATA / "algorithms" / "BC_5eTx" / "init.yaml", "--input", INPUT,
               "--out", out) != 0
    one_line_error(capsys, str(out))
    assert out.read_text() == "keep"


# -- codes -------------------------------------------------------------------------------

def test_float_codes_by_hand():
    # 4E3M: below 8 the value itself; 12 = 1100 -> exponent 1, mantissa 100; 125 = 1111101 -> e 4, m 111
    assert float_code([0, 7, 8, 12, 125], 4, 3).tolist() == [0, 7, 8, 12, 4 << 3 | 7]
    # the largest 4E3M value: e 15 -> (8 + 7) << 14; anything with a longer bit length saturates
    assert float_code([15 << 14, 1 << 19, 1 << 30], 4, 3).tolist() == [127, 127, 127]
    # 5E3M of 47 cells of 253952 = 11935744 (24 bits): e 21, m 011 -> 171 (the alignment vectors' 0xab)
    assert float_code([47 * 253952], 5, 3).tolist() == [171]
    # 5E4M: 13 stays; 450 = 111000010 -> e 5, m 1100
    assert float_code([13, 450], 5, 4).tolist() == [13, 5 << 4 | 0b1100]


# -- threshold sum ------------------------------------------------------------------------

def ts_formatted(calq, bx, thresholds=47, drop=3, use_sum=0, sync=0x122):
    calq = np.asarray([calq], dtype=np.int64)
    return threshold_sum.format_bx(calq, [bx], [thresholds] * 48, drop, use_sum, sync)


def test_threshold_sum_low_occupancy_frame_by_hand():
    q = [10] * 48
    q[2], q[17], q[40] = 100, 47, 1000          # 47 >= 47 is sent
    fmt = ts_formatted(q, bx=5)
    # BX 00101, type 010, sum not sent 45 * 10 = 450 -> 5E3M 00110110, n = 011,
    # addresses 2, 17, 40, charges 100>>3 = 12 -> 0001100, 47>>3 = 5 -> 0000101, 1000>>3 = 125 -> 0100111
    frame = "00101 010 00110110 011 000010 010001 101000 0001100 0000101 0100111"
    idle = 0b00101 << 11 | 0x122
    assert fmt.numw == [4]
    assert fmt.words[0][:4] == words16(frame) and fmt.words[0][4:] == [idle] * 22
    # truncated frame: BX, type 110, 5E3M of all 48 CALQ (45*10 + 1147 = 1597 -> e 8, m 100 = 68)
    assert fmt.truncated == [(int("00101110" "01000100", 2), idle)]
    # use_sum 1 sends the sum of all cells instead
    assert ts_formatted(q, bx=5, use_sum=1).words[0][0] == int("00101010" "01000100", 2)


def test_threshold_sum_empty_and_high_occupancy_frames_by_hand():
    fmt = ts_formatted([10] * 48, bx=31)
    # nothing over threshold: one word, type 000, sum 480 = 111100000 -> e 6, m 111 = 00110111
    assert fmt.numw == [1] and fmt.words[0][0] == 0b11111_000_00110111
    # threshold 0 selects all 48 cells, empty ones too; only the non-zero cells have a charge listed
    q = [0] * 48
    q[0], q[47] = 8, 16                          # 8>>3 = 1, 16>>3 = 2
    fmt = ts_formatted(q, bx=1, thresholds=0)
    frame = "00001 100 00000000" + "1" * 48 + "0000001" + "0000010" + "0000000" * 46
    # 16 + 48 + 48 * 7 = 400 bits = 25 words
    assert fmt.numw == [25] and fmt.words[0][:25] == words16(frame)


# -- best choice --------------------------------------------------------------------------

def test_best_choice_two_elinks_frame_by_hand():
    c = [0] * 48
    c[7], c[2], c[30], c[45], c[11] = 100, 50, 9, 8, 3
    calq = np.asarray([c], dtype=np.int64) << 3                  # drop_lsb 3 gives c back
    fmt = best_choice.format_bx(calq, [3], 3, 0, n_elinks=2)
    # 2 e-links send 4 cells: header 0011, sum not sent 3 -> 00000011, addresses ascending 2 7 30 45,
    # charges in address order 50 -> 0011100, 100 -> 0100100, 9 -> 0001001, 8 -> 0001000
    frame = "0011 00000011 000010 000111 011110 101101 0011100 0100100 0001001 0001000"
    assert fmt.numw == [4] and fmt.words[0][:4] == words16(frame)
    out = run_buffer(fmt, 2, 338, 314, 25).words
    assert out.tolist() == [[int("0011000000110000", 2) << 16 | words16(frame)[1],
                             words16(frame)[2] << 16 | words16(frame)[3]]]


def test_best_choice_header_keeps_bit_4_and_the_low_three_bits():
    assert [best_choice.header4(b) for b in (31, 0, 7, 8, 9, 15)] == [15, 0, 7, 0, 1, 7]


def test_best_choice_network_sorts_highest_first_and_keeps_a_permutation():
    rng = np.random.default_rng(7)
    v = rng.integers(0, 6, size=(200, 48))           # small range: many ties
    sv, sa = best_choice.sort_desc(v)
    assert (sv == -np.sort(-v, axis=1)).all()
    assert (np.sort(sa, axis=1) == np.arange(48)).all()
    assert (np.take_along_axis(v, sa, axis=1) == sv).all()
    # all equal: the network never swaps (it swaps only on strictly smaller), so the order stays 0..47
    assert best_choice.sort_desc(np.zeros((1, 48)))[1].tolist() == [list(range(48))]


def test_best_choice_one_elink_on_the_alignment_pattern():
    # public vectors cmantill/econt_test-vectors alignment/BC_1eTx: BX 0 all codes 127, then zeros
    w = np.full((3, 12), 0xA0000000, dtype=np.int64)
    w[0] = 0x9FFFFFFF
    calq = calq_from_words(w, 1, AE_MUX, [2048] * 48)
    out = run_buffer(best_choice.format_bx(calq, [31, 1, 2], 3, 0, 1), 1, 338, 314, 25).words
    assert out[:, 0].tolist() == [0xFAB03F80, 0x10000000, 0x20000000]


# -- super trigger cells ------------------------------------------------------------------

def test_stc_type0_one_elink_frame_by_hand():
    q = [0] * 48
    q[0:4] = [1, 5, 5, 2]
    fmt = stc.format_bx(np.asarray([q]), [31], 3, stc_type=0, n_elinks=1)
    # header 1111, positions: group 0's first maximum is cell 1 -> sent 3 - 1 = 10, group 1 (all zero) -> 11,
    # 9-bit sums with no dropped bits: 13 -> 000001101, 0 -> 000000000; padded to 32 bits
    assert fmt.numw == [2] and fmt.words[0][:2] == words16("1111 10 11 000001101 000000000")
    assert run_buffer(fmt, 1, 338, 314, 25).words.tolist() == [[0xFB068000]]


def test_stc_seven_bit_sums_drop_bits_after_the_sum():
    q = [0] * 48
    q[0:4] = [12, 12, 12, 12]                    # 48 >> 3 = 6 (cell by cell it would be 4 * 1 = 4)
    fmt = stc.format_bx(np.asarray([q]), [0], 3, stc_type=2, n_elinks=1)
    assert fmt.words[0][:2] == words16("0000 0000110" + "0000000" * 3)
    # STC16_9 has its 16-cell groups and 4-bit positions; past 2 e-links the type sends nothing
    q16 = [0] * 48
    q16[16 + 5] = 40                             # 40 = 101000 -> 5E4M e 2, m 0100 = 000100100
    f16 = stc.format_bx(np.asarray([q16]), [2], 3, stc_type=1, n_elinks=2)
    # header 0010, positions 15 - 0, 15 - 5, 15 - 0, three sums; 43 bits padded to 64 (two e-links)
    assert f16.numw == [4]
    assert f16.words[0][:4] == words16("0010 1111 1010 1111 000000000 000100100 000000000" + "0" * 21)
    empty = stc.format_bx(np.asarray([q16]), [2], 3, stc_type=1, n_elinks=3)
    assert empty.numw == [2] and run_buffer(empty, 3, 338, 314, 25).words.tolist() == [[0, 0, 0]]


def counter_pattern(n_bx=128):
    """cmantill/econt_test-vectors counterPatternInTC/testInput.csv: every cell's code is BX mod 128."""
    return np.asarray([[(0x9 if b == 0 else 0xA) << 28 | (b % 128) * 0x204081] * 12 for b in range(n_bx)],
                      dtype=np.int64)


@pytest.mark.parametrize("stc_type, n_elinks, density, drop, expect", [
    # the emulator's words of counterPatternInTC/STC_type<T>_eTx<N>/testOutput.csv, rows 0, 1 and 120
    (0, 1, 1, 3, ["ff080400", "1f140a00", "0f98cc40"]),
    (1, 1, 0, 1, ["fff08040", "1ff140a0", "0ff98cc4"]),              # low density, 16-cell groups
    (2, 1, 1, 3, ["f0408102", "10c18306", "0fffffff"]),              # 7-bit sums saturate at 127
    (3, 2, 1, 3, ["ffff0408 10204080", "1fff0c18 3060c180", "0fffffff ffffffc0"]),
])
def test_stc_types_match_the_emulators_counter_pattern_vectors(stc_type, n_elinks, density, drop, expect):
    w = counter_pattern()
    calq = calq_from_words(w, density, AE_MUX, [2048] * 48)
    bx = [31] + [b % 16 for b in range(1, len(w))]
    out = run_buffer(stc.format_bx(calq, bx, drop, stc_type, n_elinks), n_elinks, 338, 314, 25).words
    assert [" ".join(f"{x:08x}" for x in out[i]) for i in (0, 1, 120)] == expect


def test_stc_on_more_elinks_than_its_type_fills_sends_zeros_and_says_so(tmp_path, capsys):
    cfg = tmp_path / "init.yaml"
    cfg.write_text(config_text("STC_type0_eTx3", active_etxs="0x7f"))      # 7 e-links, type 0 fills 5
    out = tmp_path / "tx.csv"
    assert run("econt", "run", "--config", cfg, "--input", INPUT, "--out", out) == 0
    assert "STC type 0 (STC4_9) fills at most 5 e-links" in capsys.readouterr().err
    rows = out.read_text().splitlines()[1:]
    assert len(rows) == 3564 and set(rows) == {",".join(["00000000"] * 13)}


# -- repeater -----------------------------------------------------------------------------

def test_repeater_thirteen_elinks_on_the_alignment_pattern():
    # public vectors cmantill/econt_test-vectors alignment/RPT (13 e-links): 5-bit BX + 48 x 7-bit codes
    w = np.full((2, 12), 0xA0000000, dtype=np.int64)
    w[0] = 0x9FFFFFFF
    calq = calq_from_words(w, 1, AE_MUX, [2048] * 48)
    out = run_buffer(repeater.format_bx(calq, [31, 1], 3, 13), 13, 338, 214, 25).words
    assert out[0].tolist() == [0xFFFFFFFF] * 10 + [0xFFFFF800, 0, 0]
    assert out[1].tolist() == [0x08000000] + [0] * 12


# -- the formatter buffer -----------------------------------------------------------------

def six_word_frames(n_bx, numw=6):
    words = [[0x100 * k + i for i in range(numw)] + [0xEEEE] * (26 - numw) for k in range(n_bx)]
    return words, [(0xA000 + k, 0xB000 + k) for k in range(n_bx)]


def test_buffer_truncates_frames_that_do_not_fit_under_t1():
    words, trunc = six_word_frames(8)
    out = run_buffer(Formatted(words, [6] * 8, trunc), n_elinks=1, t1=10, t2=100, t3=0)
    # Hand trace (2 words leave per BX): BX 0, 1 fit (fill 6 then 10); BX 2-5 would reach 14, 13, 12, 11 > 10
    # and go in as truncated frames (type bit 8 clear), each advancing the pointer by one word so the next
    # overwrites its idle word; BX 6 fits again (4 + 6 = 10); BX 7 does not.
    expect = [0x0000_0001, 0x0002_0003, 0x0004_0005, 0x0100_0101, 0x0102_0103, 0x0104_0105,
              0xA002_A003, 0xA004_A005]
    assert out.words[:, 0].tolist() == expect
    assert (out.t1_truncations, out.t2_truncations) == (5, 0)


def test_buffer_replaces_small_frames_when_filled_past_t2():
    words, trunc = six_word_frames(4)
    words[2] = [0x200 + i for i in range(8)] + [0xEEEE] * 18
    out = run_buffer(Formatted(words, [6, 6, 8, 6], trunc), n_elinks=1, t1=100, t2=3, t3=6)
    # BX 1: 4 words waiting > T2 = 3 and 6 <= T3 -> truncated with type bit 8 set (0xA101);
    # BX 2: 3 waiting, not above T2 -> sent whole; BX 3: 9 waiting -> truncated again
    assert out.words[:, 0].tolist() == [0x0000_0001, 0x0002_0003, 0x0004_0005, 0xA101_0200]
    assert (out.t1_truncations, out.t2_truncations) == (0, 2)


def test_threshold_sum_run_truncates_more_with_a_smaller_t1(tmp_path):
    # the shipped threshold-sum configuration with T1 lowered from 120 to 40: more frames are cut and every
    # output row starts with a 16-bit word of the stream (a frame, a truncated frame or a frame's tail)
    from encoder.econt.algorithms.run import run_chip
    from encoder.econt.erx import read_words
    from encoder.econt.registers import read_config

    cfg = read_config(DATA / "algorithms" / "TS_Thr47_5eTx_MRL" / "init.yaml")
    words = read_words(INPUT)
    base = run_chip(cfg, words)
    cfg.buff_t1 = 40
    small = run_chip(cfg, words)
    assert small.t1_truncations > base.t1_truncations == 2164
    assert small.max_fill <= 40 + 1
    first = small.words[:, 0] >> 16
    truncated = (first >> 8) & 0b111 == 0b110
    assert truncated.sum() > 0


def test_threshold_sum_two_elinks_t1_48_matches_the_emulators_buffer_vectors():
    # Public vectors cmantill/econt_test-vectors counterPatternInTC_MRLBuf/TS_Thr5_HDM_2eTx_MRL12_T148_noT2T3:
    # every cell's code is 6 + BX (held at 127 from BX 121, zero after BX 450, as that folder's README
    # says), thresholds 5, 2 e-links, T1 = 48. Frames of 25 words against 4 words out per BX: the buffer
    # alternates whole frames with runs of truncated ones (0x164c: BX 2, type 110, sum 0x4c, ...).
    codes = [min(6 + b, 127) if b <= 450 else 0 for b in range(140)]
    w = np.asarray([[(0x9 if b == 0 else 0xA) << 28 | k | k << 7 | k << 14 | k << 21] * 12
                    for b, k in enumerate(codes)], dtype=np.int64)
    calq = calq_from_words(w, 1, AE_MUX, [2048] * 48)
    bx = [31] + [b % 16 for b in range(1, 140)]
    out = run_buffer(threshold_sum.format_bx(calq, bx, [5] * 48, 3, 0, 0x122), 2, 48, 500, 0).words
    expect = {0: "fc00ffff,ffffffff", 1: "0c183060,c183060c", 6: "83060c00,ffffffff", 7: "ffff0e1c,3870e1c3",
              12: "70e1c387,164c1e4e", 13: "264f2e50,36513e52", 14: "46524c00,ffffffff",
              15: "ffff1e3c,78f1e3c7", 126: "46c24c00,ffffffff", 131: "ffffffff,ffffffff",
              132: "ffffffff,56c35ec3", 133: "66c36ec3,76c37ec3", 134: "06c30c00,ffffffff"}
    got = {i: f"{out[i, 0]:08x},{out[i, 1]:08x}" for i in expect}
    assert got == expect


def test_threshold_sum_thirteen_elinks_sends_idle_words_when_the_buffer_runs_dry():
    # cmantill/econt_test-vectors counterPatternInTC/TS_Thr47_13eTx (T1 = 400): below the threshold a frame
    # is one word and the other 25 leave as idle words BX << 11 | 0x122; 48 cells over it fill 25 words
    w = counter_pattern(130)
    calq = calq_from_words(w, 1, AE_MUX, [2048] * 48)
    bx = [31] + [b % 16 for b in range(1, len(w))]
    out = run_buffer(threshold_sum.format_bx(calq, bx, [47] * 48, 3, 0, 0x122), 13, 400, 500, 0).words
    assert ",".join(f"{x:08x}" for x in out[0]) == "f82cf922," + ",".join(["f922f922"] * 12)
    assert ",".join(f"{x:08x}" for x in out[128]) == "002c0122," + ",".join(["01220122"] * 12)
    assert ",".join(f"{x:08x}" for x in out[6]) == (
        "3400ffff,ffffffff,0c183060,c183060c,183060c1,83060c18,3060c183,060c1830,60c18306,0c183060,c183060c,"
        "183060c1,83063122")


# -- bad configurations -------------------------------------------------------------------

def config_text(name="TS_Thr47_5eTx_MRL", **changes):
    """A shipped configuration with some register lines replaced (None: line removed)."""
    lines = (DATA / "algorithms" / name / "init.yaml").read_text().splitlines()
    out = []
    for line in lines:
        key = line.strip().split(":")[0]
        if key in changes:
            if changes[key] is None:
                continue
            line = line.split(":")[0] + ": " + str(changes[key])
        out.append(line)
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("name, changes, needle", [
    ("TS_Thr47_5eTx_MRL", {"select": 7}, "select"),                 # no such algorithm
    ("STC_type0_eTx3", {"stc_type": 5}, "stc_type"),                 # STC types are 0..3
    ("STC_type0_eTx3", {"active_etxs": "0x5"}, "active_etxs"),       # eTx 0 and 2: not eTx 0..N-1
    ("TS_Thr47_5eTx_MRL", {"buff_t1": -3}, "buff_t1"),
    ("TS_Thr47_5eTx_MRL", {"select": 4}, "Encoder"),                 # autoencoder without its weight image
])
def test_bad_configuration_is_one_line_naming_file_and_register(tmp_path, capsys, name, changes, needle):
    cfg = tmp_path / "init.yaml"
    cfg.write_text(config_text(name, **changes))
    assert run("econt", "run", "--config", cfg, "--input", INPUT, "--out", tmp_path / "tx.csv") != 0
    one_line_error(capsys, str(cfg), needle)
    assert not (tmp_path / "tx.csv").exists()


def test_missing_register_is_named_with_file_and_register(tmp_path, capsys):
    # read_config fills left-out registers with the chip's reset values; a configuration object that
    # still lacks one (here the buffer's T2) stops run_chip with the file and the register's name
    from encoder.econt.algorithms.run import run_chip
    from encoder.econt.registers import read_config
    from encoder.errors import UserError

    cfg = read_config(DATA / "algorithms" / "BC_5eTx" / "init.yaml")
    cfg.buff_t2 = None
    with pytest.raises(UserError, match=r"BC_5eTx/init.yaml: missing register FormatterBuffer.Global.buff_t2"):
        run_chip(cfg, np.full((2, 12), 0xA0000000, dtype=np.int64))


# -- the vectorised formatters against the field-by-field frames -----------------------------------

def _random_calq(rng, n=300):
    q = rng.integers(0, 3000, size=(n, 48)) * (rng.random((n, 48)) < rng.random((n, 1)))
    q[:5] = 0                                                    # empty modules
    return q


def test_vectorised_threshold_sum_frames_equal_frame_by_frame_packing():
    rng = np.random.default_rng(3)
    q = _random_calq(rng)
    thr = rng.integers(0, 400, size=48)
    thr[:3] = 0                                                  # zero thresholds select empty cells
    bx = rng.integers(0, 32, size=len(q))
    for use_sum, drop in ((0, 0), (1, 3)):
        fmt = threshold_sum.format_bx(q, bx, thr, drop, use_sum, 0x122)
        s = threshold_sum.select(q, thr, drop)
        sums = s["sum_all"] if use_sum else s["sum_not_sent"]
        for i in range(len(q)):
            w = threshold_sum.frame(bx[i], s["selected"][i], s["codes"][i], s["listed"][i], sums[i]).words()
            idle = threshold_sum.idle_word(bx[i], 0x122)
            assert fmt.numw[i] == len(w) and fmt.words[i] == (w + [idle] * 26)[:max(26, len(w))], i


@pytest.mark.parametrize("n_elinks", [1, 2, 5, 13])
def test_vectorised_best_choice_frames_equal_frame_by_frame_packing(n_elinks):
    rng = np.random.default_rng(n_elinks)
    q = _random_calq(rng)
    bx = rng.integers(0, 32, size=len(q))
    fmt = best_choice.format_bx(q, bx, 1, 0, n_elinks)
    c = q >> 1
    sq, sa = best_choice.sort_desc(c)
    n = best_choice.TC_PER_LINKS[n_elinks]
    sums = float_code(sq[:, n:].sum(axis=1), 5, 3)
    for i in range(len(q)):
        w = best_choice.frame(bx[i], sq[i], sa[i], n, sums[i]).words()
        assert fmt.words[i] == (w + [0] * 26)[:max(26, len(w))], i
