"""The chip's output frame: bit positions by hand, and an independent bit-string framer."""


import numpy as np
import pytest

from encoder.cli import main
from encoder.econt.framing import (bx_counter_field, bx_fields_by_cycle, format_tx_csv, frame_int, frame_words,
                                   latent_field_bits)


def lat(**outs):
    row = [0] * 16
    for k, v in outs.items():
        row[int(k[3:])] = v
    return row


def test_two_elinks_by_hand():
    # 64 bits: BX field bits 63..59, sum code 58..50, latent field 49..0 = OUT_0 (0..8) .. OUT_4 (36..44),
    # then the low 5 bits of OUT_5 (45..49). BX 22 = 10110, sum 257 = 100000001, OUT_0 = 511, OUT_5 = 0b000111111.
    # TX_DATA_0 = 10110 100000001 11111 0000000000000 = 1011 0100 0000 0111 1110 0000 0000 0000 = 0xb407e000
    # TX_DATA_1 = OUT_0 in bits 8..0 = 0x000001ff
    words = frame_words([lat(OUT0=511, OUT5=0b000111111)], [257], [22], n_elinks=2)
    assert words.tolist() == [[0xB407E000, 0x000001FF]]
    # OUT_5's upper 4 bits and OUT_6..15 do not fit in 2 e-links
    assert frame_words([lat(OUT5=0b111100000, OUT6=511, OUT15=511)], [0], [0], 2).tolist() == [[0, 0]]
    # OUT_4 = 256: bit 36 + 8 = 44 -> TX_DATA_0 bit 12 = 0x1000
    assert frame_words([lat(OUT4=256)], [0], [0], 2).tolist() == [[0x00001000, 0]]


def test_five_elinks_by_hand():
    # 160 bits: BX 159..155, sum 154..146, bits 145..144 zero, OUT_15 in 143..135.
    # BX 1, OUT_15 = 511: TX_DATA_0 = 00001 000000000 00 111111111 0000000 = 0x0800ff80
    assert frame_words([lat(OUT15=511)], [0], [1], 5).tolist() == [[0x0800FF80, 0, 0, 0, 0]]
    # OUT_0 = 1 -> TX_DATA_4 bit 0; OUT_3 = 256 -> frame bit 27 + 8 = 35 -> TX_DATA_3 bit 3
    assert frame_words([lat(OUT0=1, OUT3=256)], [0], [0], 5).tolist() == [[0, 0, 0, 0x8, 0x1]]
    # the chip's first BX: BX field 31, sum code 170 -> top 14 bits 11111 010101010 -> 0xfaa8....
    assert frame_words([lat()], [170], [31], 5)[0, 0] == 0xFAA80000


def test_more_than_five_elinks_put_zeros_between_sum_code_and_latents():
    # 6 e-links, 192 bits: BX 191..187, sum 186..178, zeros 177..144, OUT_15 at 143..135
    # TX_DATA_0 = 14 ones then 18 zeros = 0xfffc0000; TX_DATA_1 (bits 159..128) holds bits 143..135 = 0x0000ff80
    w = frame_words([lat(OUT15=511)], [511], [31], 6)
    assert w.tolist() == [[0xFFFC0000, 0x0000FF80, 0, 0, 0, 0]]
    assert latent_field_bits(6) == 178 and latent_field_bits(5) == 146 and latent_field_bits(2) == 50


def test_mask_drops_bits_and_packs_the_rest_low():
    # mask without OUT_0's 9 bits: the field starts with OUT_1. One e-link, 18-bit field = OUT_1 | OUT_2 << 9
    mask = ((1 << 144) - 1) & ~0x1FF
    w = frame_words([lat(OUT0=511, OUT1=3, OUT2=1)], [0], [0], 1, mask=mask)
    assert w.tolist() == [[(1 << 9) | 3]]


def test_bx_counter_field():
    assert bx_counter_field(20, [0]).tolist() == [31] + list(range(1, 16)) + [0, 1, 2, 3]
    # resets at BX 3 and 10: before the first reset the count runs on modulo 16
    assert bx_counter_field(13, [3, 10]).tolist() == [13, 14, 15, 31, 1, 2, 3, 4, 5, 6, 31, 1, 2]


def test_bx_fields_by_cycle_count_every_crossing_from_the_last_start():
    # One cycle a crossing: equal to the chip's counter with the same resets (every cycle a BX).
    bxr = np.zeros(40, bool)
    bxr[[0, 7, 30]] = True
    run = np.zeros(40, bool)
    assert bx_fields_by_cycle(bxr, run).tolist() == bx_counter_field(40, [0, 7, 30]).tolist()
    # Crossings of 3 cycles, by hand: a design reset ends at cycle 0 (BX 0), bx_reset at 7 starts a
    # crossing (31 for 7..9), then 1 from 10; the design reset ending at 16 restarts at 0; bx_reset at 18.
    bxr = np.zeros(24, bool)
    bxr[[7, 18]] = True
    run = np.zeros(24, bool)
    run[[0, 16]] = True
    assert bx_fields_by_cycle(bxr, run, 3).tolist() == [0, 0, 0, 1, 1, 1, 2, 31, 31, 31, 1, 1, 1, 2, 2, 2,
                                                      0, 0, 31, 31, 31, 1, 1, 1]


def _frame_as_bit_string(latents, sum_code, bx, n_elinks, mask):
    """Independent framer on '0'/'1' strings, most significant first."""
    latent_word = "".join(format(v, "09b") for v in reversed(latents))          # OUT_15 first
    mask_bits = format(mask, "0144b")
    kept = "".join(b for b, m in zip(latent_word, mask_bits) if m == "1")
    n_field = 32 * n_elinks - 14
    field = kept[-n_field:] if len(kept) >= n_field else "0" * (n_field - len(kept)) + kept
    frame = format(bx, "05b") + format(sum_code, "09b") + field
    return [int(frame[32 * i:32 * (i + 1)], 2) for i in range(n_elinks)]


@pytest.mark.parametrize("n_elinks", range(1, 14))
def test_frames_equal_an_independent_bit_string_framer(n_elinks):
    rng = np.random.default_rng(100 + n_elinks)
    lats = rng.integers(0, 512, (20, 16))
    sums = rng.integers(0, 512, 20)
    bxf = rng.integers(0, 32, 20)
    masks = [(1 << 144) - 1, int(rng.integers(0, 1 << 62)) << 70 | int(rng.integers(0, 1 << 62))]
    for mask in masks:
        words = frame_words(lats, sums, bxf, n_elinks, mask=mask)
        for i in range(20):
            assert words[i].tolist() == _frame_as_bit_string(lats[i].tolist(), int(sums[i]), int(bxf[i]),
                                                             n_elinks, mask)
        assert frame_int(lats[0], int(sums[0]), int(bxf[0]), n_elinks, mask) == \
            int("".join(format(w, "032b") for w in words[0]), 2)


def test_csv_has_13_lower_case_columns():
    text = format_tx_csv(np.array([[0xFAA850BF, 0x1]]))
    assert text.splitlines() == [",".join(f"TX_DATA_{i}" for i in range(13)),
                                 "faa850bf,00000001," + ",".join(["00000000"] * 11)]


def test_frames_command_two_elinks_and_refusals(tmp_path, capsys):
    lats = np.zeros((3, 16), dtype=np.int64)
    lats[:, 0] = [511, 1, 2]
    np.savez(tmp_path / "l.npz", latents=lats, sum_code=np.array([257, 0, 1]), latent_frac=np.array(8))
    out = tmp_path / "o.csv"
    assert main(["econt", "frames", str(tmp_path / "l.npz"), "--elinks", "2", "--out", str(out)]) == 0
    rows = [r.split(",") for r in out.read_text().splitlines()[1:]]
    # BX 0 -> field 31: 11111 100000001 ... -> 0xfc04...; OUT_0 = 511 -> TX_DATA_1 = 0x1ff
    assert rows[0][:3] == ["fc040000", "000001ff", "00000000"]
    assert rows[1][:2] == ["08000000", "00000001"] and rows[2][:2] == ["10040000", "00000002"]
    capsys.readouterr()
    bad = tmp_path / "bad.npz"
    np.savez(bad, latents=lats + 600, sum_code=np.array([0, 0, 0]))
    out2 = tmp_path / "o2.csv"
    assert main(["econt", "frames", str(bad), "--elinks", "2", "--out", str(out2)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(bad) in err[0] and "0..511" in err[0] and not out2.exists()
    assert main(["econt", "frames", str(tmp_path / "l.npz"), "--out", str(out2)]) == 1
    assert "--config" in capsys.readouterr().err and not out2.exists()
