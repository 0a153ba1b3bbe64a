"""Chip-exact baselines: the back end's decoding of the chip's frames, and the scoring path.

Frames are written by hand as bit strings from the formats in
docs/econt_algorithms.md; the best-choice check reads the emulator's own
words (tests/data/econt/algorithms/BC_5eTx/testOutput.csv); the
no-truncation cases compare with the approximate baselines, an independent
implementation of the same selections.
"""

from pathlib import Path

import numpy as np
import pytest

from encoder import geometry
from encoder.econt.algorithms import unpack
from encoder.econt.erx import calq_from_words, read_words
from encoder.econt.registers import read_config
from encoder.metrics import baselines, chip_baselines as cb
from encoder.metrics.charge_code import ChargeCoding, FloatCode
from encoder.verif.econt_frames import read_tx_csv

DATA = Path(__file__).parent / "data" / "econt"
GEOM = geometry.load("hgcal")
EXACT_CODE = ChargeCoding(code=FloatCode(4, 3, drop_bits=0))     # the chip's 7-bit code with drop_lsb 0


def stream_rows(bits: str, n_elinks: int) -> np.ndarray:
    """Hand-written bits (frames back to back) -> rows of N 32-bit e-link words, zero padded."""
    bits = bits.replace(" ", "")
    per_row = 32 * n_elinks
    bits += "0" * (-len(bits) % per_row)
    rows = [[int(bits[r + 32 * k:r + 32 * k + 32], 2) for k in range(n_elinks)] for r in range(0, len(bits), per_row)]
    return np.asarray(rows, dtype=np.int64)


def b(value: int, width: int) -> str:
    return format(value, f"0{width}b")


# -- decoding hand-built frames ---------------------------------------------------------------

def test_threshold_sum_stream_decodes_low_high_empty_truncated_and_skips_idle_words():
    low = b(1, 5) + "010" + b(200, 8) + b(2, 3) + b(5, 6) + b(40, 6) + b(0x11, 7) + b(0x7F, 7)
    low += "0" * (-len(low) % 16)
    empty = b(2, 5) + "000" + b(9, 8)
    idle = b(2, 5) + b(0x122, 11)
    cells = list(range(8, 16))
    high = b(3, 5) + "100" + b(77, 8) + "".join("1" if a in cells else "0" for a in range(48))
    high += "".join(b(10 + j, 7) for j in range(8))
    high += "0" * (-len(high) % 16)
    trunc = b(4, 5) + "110" + b(250, 8)
    trunc2 = b(5, 5) + "111" + b(3, 8) + b(5, 5) + b(0x122, 11)      # T2/T3 truncation, then its idle word
    u = unpack.threshold_sum(stream_rows(low + empty + idle + high + trunc + trunc2, 1), [1, 2, 3, 4, 5])
    assert u.frame_type.tolist() == [0b010, 0b000, 0b100, 0b110, 0b111]
    assert u.sum_code.tolist() == [200, 9, 77, 250, 3]
    assert np.flatnonzero(u.sent[0]).tolist() == [5, 40] and u.codes[0, [5, 40]].tolist() == [0x11, 0x7F]
    assert not u.sent[1].any() and not u.sent[3].any()          # a truncated frame brings no cells
    assert np.flatnonzero(u.sent[2]).tolist() == cells and u.codes[2, cells].tolist() == list(range(10, 18))
    assert u.frame_words.tolist() == [3, 1, 8, 1, 1]               # 16 + 3 + 26 bits; 16 + 48 + 56 bits


def test_threshold_sum_frame_with_every_cell_takes_25_words():
    full = b(7, 5) + "100" + b(1, 8) + "1" * 48 + "".join(b(j + 1, 7) for j in range(48))     # 400 bits
    u = unpack.threshold_sum(stream_rows(full + b(8, 5) + "000" + b(0, 8), 1), [7, 8])
    assert u.sent[0].all() and u.codes[0].tolist() == list(range(1, 49))
    assert u.frame_words.tolist() == [25, 1] and u.frame_type.tolist() == [0b100, 0b000]


def test_threshold_sum_stream_that_ends_early_names_the_frame():
    with pytest.raises(ValueError, match="ends after 1 of 2 frames"):
        unpack.threshold_sum(stream_rows(b(1, 5) + "000" + b(0, 8), 1), [1, 2])


def test_best_choice_frame_with_address_list_and_a_zero_cell():
    # 2 e-links: 4 cells, 6-bit addresses; the cell at address 47 has charge 0, so 3 codes are listed
    frame = b(5, 4) + b(33, 8) + b(3, 6) + b(10, 6) + b(20, 6) + b(47, 6) + b(100, 7) + b(90, 7) + b(80, 7)
    u = unpack.best_choice(stream_rows(frame, 2), 2, expected_bx=[5])
    assert np.flatnonzero(u.sent[0]).tolist() == [3, 10, 20, 47]
    assert u.codes[0, [3, 10, 20, 47]].tolist() == [100, 90, 80, 0]
    assert u.sum_code.tolist() == [33]


def test_best_choice_frame_with_address_map():
    cells = [0, 7, 9, 12, 20, 30, 31, 33, 40, 41, 44, 45, 46, 47]        # 5 e-links: 14 cells, map
    frame = b(2, 4) + b(1, 8) + "".join("1" if a in cells else "0" for a in range(48))
    frame += "".join(b(20 + j, 7) for j in range(14))
    u = unpack.best_choice(stream_rows(frame, 5), 5, expected_bx=[2])
    assert np.flatnonzero(u.sent[0]).tolist() == cells
    assert u.codes[0, cells].tolist() == list(range(20, 34))
    with pytest.raises(ValueError, match="header 2, expected 3"):
        unpack.best_choice(stream_rows(frame, 5), 5, expected_bx=[3])


def test_stc_frames_put_sums_on_the_named_cell_or_the_group():
    # type 0 on 1 e-link: 2 groups, 2-bit positions (3 = the group's first cell), 9-bit sums
    frame = b(1, 4) + b(3, 2) + b(0, 2) + b(300, 9) + b(17, 9)
    u = unpack.stc(stream_rows(frame, 1), 0, 1, expected_bx=[1])
    assert np.flatnonzero(u.sent[0]).tolist() == [0, 7] and u.codes[0, [0, 7]].tolist() == [300, 17]
    # type 2 (CTC4_7): no positions, 4 groups of 7-bit sums on 1 e-link
    frame = b(1, 4) + b(5, 7) + b(6, 7) + b(7, 7) + b(8, 7)
    u = unpack.stc(stream_rows(frame, 1), 2, 1)
    assert u.codes[0, [0, 4, 8, 12]].tolist() == [5, 6, 7, 8] and u.sent[0, :16].all() and not u.sent[0, 16:].any()


# -- the scoring path ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def modules():
    """Synthetic modules rounded to whole CALQ counts (35 per MIP), so the approximate baselines,
    which compare charges in MIPs, select on the same values as the chip, which compares counts."""
    from encoder.data.synth import synthesize
    return np.rint(synthesize(400, 5, GEOM).charges * 35) / 35


def test_threshold_sum_without_truncation_equals_the_approximate_threshold(modules):
    for level in (1.35, 2.0):
        r = cb.threshold_sum(modules, n_elinks=13, threshold_mip=level)
        ref = baselines.threshold(modules, GEOM, level, coding=EXACT_CODE)
        assert not r.truncated.any()
        np.testing.assert_allclose(r.reconstructed, ref.reconstructed, rtol=0, atol=1e-12)
        assert np.array_equal(r.sent, ref.sent)


def test_truncation_under_the_buffer_loses_the_frames_cells(modules):
    tight = cb.ChipSettings(buffer=(12, 500, 0))
    r = cb.threshold_sum(modules, n_elinks=1, threshold_mip=1.35, settings=tight)
    ref = baselines.threshold(modules, GEOM, 1.35, coding=EXACT_CODE)
    t = r.truncated
    assert 0 < t.sum() < len(t)
    assert not r.reconstructed[t].any()                                  # no cell of a truncated frame arrives
    assert r.lost_cells[t].tolist() == ref.sent[t].sum(axis=1).tolist()
    assert (r.lost_cells[~t] == 0).all() and (r.bits[t] == 16).all()
    np.testing.assert_allclose(r.reconstructed[~t], ref.reconstructed[~t], rtol=0, atol=1e-12)
    assert r.stats()["truncated_frames"] == int(t.sum())


def test_best_choice_keeps_the_n_largest_cells(modules):
    for e in (2, 5):
        r = cb.best_choice(modules, n_elinks=e)
        n = GEOM.best_choice_by_elinks[e]
        counts = np.rint(modules * 35).astype(np.int64)
        # modules with at least n non-zero cells and no tie at the cut: the kept set is unambiguous
        s = -np.sort(-counts, axis=1)
        clear = (s[:, n - 1] > 0) & (s[:, n - 1] > s[:, n])
        assert clear.sum() > 20
        ref = baselines.best_choice(modules, GEOM, n_elinks=e, coding=EXACT_CODE)
        assert np.array_equal(r.sent[clear], ref.sent[clear])
        np.testing.assert_allclose(r.reconstructed[clear], ref.reconstructed[clear], rtol=0, atol=1e-12)


def test_chip_best_choice_keeps_exactly_the_cells_of_the_chips_words():
    cfg = read_config(DATA / "algorithms" / "BC_5eTx" / "init.yaml", None)
    words = read_words(DATA / "testInput.csv")[:300]
    q = calq_from_words(words, cfg.density, cfg.mux, cfg.cal)
    mux = cb.chip_mux("hgcal")
    charges = np.empty(q.shape)
    charges[:, mux] = q / 35.0                          # geometry order whose chip order is the chip's CALQ
    r = cb.best_choice(charges, n_elinks=5, settings=cb.ChipSettings(drop_lsb=cfg.drop_lsb, use_sum=cfg.use_sum))
    chip = unpack.best_choice(read_tx_csv(DATA / "algorithms" / "BC_5eTx" / "testOutput.csv")[:300, :5], 5)
    got = r.reconstructed[:, mux]
    assert np.array_equal(got > 0, chip.sent & (chip.codes > 0))
    expect = FloatCode(4, 3, drop_bits=cfg.drop_lsb).decode(chip.codes) / 35.0
    np.testing.assert_allclose(got, np.where(chip.codes > 0, expect, 0.0), rtol=0, atol=1e-12)


def test_stc_type0_on_five_elinks_sums_each_2x2_group_on_its_largest_cell(modules):
    r = cb.super_trigger_cells(modules, n_elinks=5, stc_type=0)
    counts = np.rint(modules * 35).astype(np.int64)
    code = FloatCode(5, 4)
    ref = np.zeros_like(modules)
    rows = np.arange(len(modules))
    for g in GEOM.stc4_groups:
        g = np.asarray(g)
        top = g[np.argmax(counts[:, g], axis=1)]
        ref[rows, top] = code.decode(code.encode(counts[:, g].sum(axis=1))) / 35.0
    np.testing.assert_allclose(r.reconstructed, ref, rtol=0, atol=1e-12)
    spread = cb.super_trigger_cells(modules, n_elinks=5, stc_type=0, settings=cb.ChipSettings(stc_placement="spread"))
    for g in GEOM.stc4_groups:
        g = list(g)
        np.testing.assert_allclose(spread.reconstructed[:, g], np.repeat(ref[:, g].sum(axis=1, keepdims=True) / 4, 4,
                                                                         axis=1), rtol=0, atol=1e-12)


def test_code_zero_decodes_to_no_charge_even_with_dropped_bits(modules):
    s = cb.ChipSettings(drop_lsb=3)
    for r in (cb.best_choice(modules, n_elinks=5, settings=s), cb.super_trigger_cells(modules, n_elinks=3, stc_type=2,
                                                                                      settings=s)):
        counts = np.rint(modules * 35)
        # charge appears only where the module has some: empty cells (BC) and empty groups (CTC) stay empty
        if r.name.startswith("chip_bc"):
            # (where the codes went to addresses by order, charge can land on an empty cell: left out)
            ok = ~r.placed_by_order
            assert ok.sum() > 50 and not (r.reconstructed[ok][counts[ok] < 8] > 0).any()
        else:
            for g in GEOM.stc4_groups:
                empty = counts[:, list(g)].sum(axis=1) < 8
                assert not r.reconstructed[empty][:, list(g)].any()


def test_stc_on_fewer_elinks_sends_only_the_first_groups(modules):
    r = cb.super_trigger_cells(modules, n_elinks=1, stc_type=0)      # 2 of 12 groups
    first = [c for g in GEOM.stc4_groups[:2] for c in g]
    rest = np.setdiff1d(np.arange(48), first)
    assert not r.reconstructed[:, rest].any() and r.reconstructed[:, first].any()
    with pytest.raises(ValueError, match="STC type 1 .* runs on 1 to 2 e-links, got 3"):
        cb.super_trigger_cells(modules, n_elinks=3, stc_type=1)


def test_run_all_names_and_determinism(modules):
    a = cb.run_all(modules, n_elinks=3)
    assert list(a) == ["chip_ts_1.35_e3", "chip_ts_2_e3", "chip_stc0_e3", "chip_stc2_e3", "chip_stc3_e3", "chip_bc_e3"]
    b2 = cb.run_all(modules, n_elinks=3)
    for k in a:
        assert np.array_equal(a[k].reconstructed, b2[k].reconstructed) and np.array_equal(a[k].bits, b2[k].bits)


def test_bad_settings_and_charges_name_the_field():
    with pytest.raises(ValueError, match="drop_lsb must lie in"):
        cb.ChipSettings(drop_lsb=7)
    with pytest.raises(ValueError, match="stc_placement must be one of"):
        cb.ChipSettings(stc_placement="centre")
    with pytest.raises(ValueError, match="row 0, cell 3"):
        cb.best_choice(np.array([[0, 0, 0, -1.0] + [0] * 44]), n_elinks=2)
    with pytest.raises(ValueError, match="T1 = 2 words is below the 4-word best-choice frame"):
        cb.best_choice(np.ones((3, 48)), n_elinks=2, settings=cb.ChipSettings(buffer=(2, 0, 0)))
    assert not cb.supports("square8")


def _chip_case(name):
    """The shipped configuration's CALQ as charges in geometry order (chip order = the chip's CALQ),
    and the chip's own output words for them."""
    cfg = read_config(DATA / "algorithms" / name / "init.yaml", None)
    q = calq_from_words(read_words(DATA / "testInput.csv"), cfg.density, cfg.mux, cfg.cal)
    mux = cb.chip_mux("hgcal")
    charges = np.empty(q.shape)
    charges[:, mux] = q / 35.0
    return cfg, charges, mux, read_tx_csv(DATA / "algorithms" / name / "testOutput.csv")


def test_chip_threshold_sum_decodes_to_what_the_chips_words_carry_truncations_included():
    cfg, charges, mux, words = _chip_case("TS_Thr47_5eTx_MRL")
    assert set(cfg.thresholds) == {47} and cfg.buff_t1 == 120
    s = cb.ChipSettings(drop_lsb=cfg.drop_lsb, use_sum=cfg.use_sum, buffer=(cfg.buff_t1, cfg.buff_t2, cfg.buff_t3))
    # register 47 = floor(level x 35) + 1
    r = cb.threshold_sum(charges, n_elinks=5, threshold_mip=46.5 / 35, settings=s)
    n = 3500                      # frames that have left the chip within the orbit's 3,564 BX
    from encoder.econt.framing import bx_counter_field
    chip = unpack.threshold_sum(words[:, :5], bx_counter_field(len(words), [0])[:n])
    assert int(r.truncated[:n].sum()) == int((chip.frame_type >= 0b110).sum()) > 2000
    expect = np.where(chip.sent, FloatCode(4, 3, drop_bits=cfg.drop_lsb).decode(chip.codes), 0) / 35.0
    np.testing.assert_allclose(r.reconstructed[:n][:, mux], expect, rtol=0, atol=1e-12)


def test_chip_stc_decodes_to_what_the_chips_words_carry():
    cfg, charges, mux, words = _chip_case("STC_type0_eTx3")
    s = cb.ChipSettings(drop_lsb=cfg.drop_lsb)
    r = cb.super_trigger_cells(charges, n_elinks=3, stc_type=cfg.stc_type, settings=s)
    chip = unpack.stc(words[:, :3], cfg.stc_type, 3)
    expect = np.where(chip.sent, FloatCode(5, 4).decode(chip.codes), 0) / 35.0
    assert chip.sent.sum() == 8 * len(words)                     # 8 groups on 3 e-links
    np.testing.assert_allclose(r.reconstructed[:, mux], np.where(chip.codes > 0, expect, 0.0), rtol=0, atol=1e-12)


@pytest.mark.parametrize("n_elinks", [1, 2, 3, 7])
def test_chip_best_choice_keeps_the_cells_of_econt_run_words_on_other_elink_counts(n_elinks):
    from encoder.econt.algorithms.run import run_chip
    from encoder.econt.registers import mask_of_count
    cfg = read_config(DATA / "algorithms" / "BC_5eTx" / "init.yaml", None)
    cfg.n_elinks, cfg.active_etxs = n_elinks, mask_of_count(n_elinks)
    words = read_words(DATA / "testInput.csv")[:200]
    tx = run_chip(cfg, words).words                     # `encoder econt run`'s words for this configuration
    q = calq_from_words(words, cfg.density, cfg.mux, cfg.cal)
    mux = cb.chip_mux("hgcal")
    charges = np.empty(q.shape)
    charges[:, mux] = q / 35.0
    r = cb.best_choice(charges, n_elinks=n_elinks, settings=cb.ChipSettings(drop_lsb=cfg.drop_lsb))
    chip = unpack.best_choice(tx, n_elinks)
    assert chip.sent.sum(axis=1).tolist() == [best_choice_cells(n_elinks)] * len(words)
    assert np.array_equal(r.reconstructed[:, mux] > 0, chip.sent & (chip.codes > 0))


def best_choice_cells(n_elinks):
    return GEOM.best_choice_by_elinks[n_elinks]
