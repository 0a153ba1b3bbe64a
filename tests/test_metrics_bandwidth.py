"""Bandwidth arithmetic by hand and against the ECON-T tables."""

import numpy as np
import pytest

from encoder import geometry
from encoder.metrics import bandwidth


def test_formats_reproduce_the_best_choice_elink_table():
    # The table (from the ECON-T description) lists the cells kept per e-link count;
    # each must be the largest number whose word fits 32 bits per e-link.
    table = geometry.load("hgcal").best_choice_by_elinks
    assert len(table) == 13
    for elinks, n in table.items():
        assert bandwidth.best_choice_n_for_elinks(elinks) == n
        assert bandwidth.best_choice_bits(n) <= 32 * elinks
        if n < 48:
            assert bandwidth.best_choice_bits(n + 1) > 32 * elinks


@pytest.mark.parametrize("convention", ["header", "econt"])
def test_autoencoder_latent_widths_follow_the_elink_table(convention):
    # ECON-T: 2 e-links -> 3-bit latents, 3 -> 5, 4 -> 7, 5 or more -> 9.
    expected = {2: 3, 3: 5, 4: 7, 5: 9, 6: 9}
    for elinks, bits in expected.items():
        assert bandwidth.latent_bits_for_elinks(elinks, 16, convention) == bits


def test_autoencoder_bits_by_hand():
    assert bandwidth.autoencoder_bits(16, 9, "header") == 4 + 9 + 144
    assert bandwidth.autoencoder_bits(16, 9, "econt") == 5 + 9 + 144
    assert bandwidth.autoencoder_bits(8, 3) == 4 + 9 + 24
    with pytest.raises(ValueError):
        bandwidth.autoencoder_bits(16, 9, "other")


def test_econt_frame_latent_field():
    # 5 e-links: 160 bits - 5-bit BX counter - 9-bit sum = 146; 2 e-links: 64 - 14 = 50.
    assert bandwidth.econt_latent_field_bits(5) == 146
    assert bandwidth.econt_latent_field_bits(2) == 50
    assert bandwidth.econt_latent_field_bits(7) == 146


def test_threshold_bits_by_hand():
    got = bandwidth.threshold_bits([0, 1, 7, 8, 48])
    assert list(got) == [4 + 8 + 1 + 3,
                         4 + 8 + 1 + 3 + 6 + 7,
                         4 + 8 + 1 + 3 + 42 + 49,
                         4 + 8 + 1 + 48 + 56,
                         4 + 8 + 1 + 48 + 336]


def test_stc_bits_by_hand():
    assert bandwidth.stc_bits(12, 4) == 4 + 12 * 9
    assert bandwidth.stc_bits(3, 16) == 4 + 3 * 11


def test_summary_by_hand():
    bits = np.array([40] * 99 + [400])
    s = bandwidth.summarize(bits, n_elinks=2)
    assert s["bits_mean"] == pytest.approx(43.6)
    assert s["bits_p99"] == pytest.approx(40 + 0.01 * 360)       # linear interpolation at rank 98.01
    assert s["bits_max"] == 400 and s["bits_median"] == 40
    assert (s["elinks_mean"], s["elinks_p99"], s["elinks_max"]) == (2, 2, 13)
    assert s["budget_bits"] == 64 and s["fraction_over_budget"] == pytest.approx(0.01)
    assert s["compression_ratio"] == pytest.approx(336 / 43.6)
    assert not s["fixed_size"]
    fixed = bandwidth.summarize(np.full(5, 112), n_elinks=4)
    assert fixed["fixed_size"] and fixed["fraction_over_budget"] == 0.0
    assert fixed["compression_ratio"] == 3.0 and fixed["elinks_max"] == 4


def test_compression_ratio_against_the_336_bit_input():
    assert bandwidth.compression_ratio(112) == 3.0
    assert bandwidth.compression_ratio(168, n_cells=48) == 2.0
