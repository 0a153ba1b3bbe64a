"""Regression vectors: the corner cases the testbench promises are really in the set, checked from their counts."""

from pathlib import Path

import numpy as np
import pytest

from encoder import golden
from encoder.data import SensorData, save_data
from encoder.ir import load_ir
from encoder.verif import plan as planner
from encoder.verif.stimulus import corner_cases, regression_set, saturating, split_sum

DATA = Path(__file__).parent / "data"
TINY = DATA / "verif" / "tiny_a.json"
CHIP = DATA / "econt_chip_ir_handbuilt.json"


@pytest.fixture(scope="module")
def chip_ir():
    return load_ir(CHIP)


def test_split_sum_hits_the_total_within_cell_limits():
    rng = np.random.default_rng(3)
    for total in (0, 1, 255, 256, 1000, 48 * 255):
        c = split_sum(total, 48, 255, rng)
        assert c.sum() == total and c.max(initial=0) <= 255 and c.min() >= 0


def test_corner_cases_cover_zero_each_cell_full_scale_all_full_and_every_power_of_two_sum(chip_ir):
    vec = corner_cases(chip_ir, np.random.default_rng(0))
    top = (1 << 22) - 1
    counts, labels = vec.counts, list(vec.labels)
    assert not counts[labels.index("corner:all_zero")].any()
    assert (counts[labels.index("corner:all_full_scale")] == top).all()
    for i in range(48):
        row = counts[labels.index(f"corner:full_scale_cell{i}")]
        assert row[i] == top and np.count_nonzero(row) == 1
    sums = set(counts.sum(axis=1).tolist())
    max_sum = 48 * top
    for p in range(max_sum.bit_length()):
        for s in ((1 << p) - 1, 1 << p, (1 << p) + 1):
            if 1 <= s <= max_sum:
                assert s in sums, f"module sum {s} missing"
    assert counts.max() <= top and counts.min() >= 0


def test_saturating_vectors_drive_their_layer_output_to_the_top_code(chip_ir):
    vec, tally = saturating(chip_ir, np.random.default_rng(1))
    res = golden.run(chip_ir, counts=vec.counts, keep=True)
    macs = {layer.name: (layer, out) for layer, out in zip(chip_ir.mac_layers, res.layer_outputs)}
    n_sat = 0
    for row, label in enumerate(vec.labels):
        kind, _, target = label.partition(":")
        if kind != "saturate" or target == "input":
            continue
        name, j = target.rstrip("]").split("[")
        layer, out = macs[name]
        assert out[row, int(j)] == layer.output.format.max_code, label
        n_sat += 1
    assert n_sat > 0 and tally["input_saturated"]
    # Together the vectors saturate every output the tally claims, layer by layer.
    for name, (layer, out) in macs.items():
        reached = int((out.max(axis=0) >= layer.output.format.max_code).sum())
        assert reached == tally["layers"][name]["saturated"]
    assert (res.input_codes.reshape(len(vec), -1) == chip_ir.input.format.max_code).any()


def test_regression_set_is_seeded_holds_every_fixed_vector_and_reaches_n(chip_ir):
    a, info = regression_set(chip_ir, 400, seed=7)
    b, _ = regression_set(chip_ir, 400, seed=7)
    c, _ = regression_set(chip_ir, 400, seed=8)
    assert len(a) == 400 and np.array_equal(a.counts, b.counts)
    assert not np.array_equal(a.counts, c.counts)
    n_fixed = info["corner_cases"] + info["saturating"]
    assert sum(lab.startswith(("corner:", "saturate:", "max:")) for lab in a.labels) == n_fixed
    small, info_small = regression_set(chip_ir, 10, seed=7)
    assert len(small) == n_fixed                          # corner cases are never dropped


def test_data_file_modules_become_counts_like_the_input_path(tmp_path):
    ir = load_ir(TINY)
    charges = np.array([[0.25, 1.0, 63.9, 0.0], [100.0, 0.0, 0.0, 2.0]])   # counts_per_mip 4, 8 bits
    save_data(tmp_path / "d.npz", SensorData(charges, geometry="line"))
    vec, info = regression_set(ir, 60, seed=1, data=tmp_path / "d.npz")
    rows = {lab: c for lab, c in zip(vec.labels, vec.counts) if lab.startswith("data:")}
    assert rows and info["data"]
    for lab, c in rows.items():
        # x 4 counts per MIP, rounded, clipped at 8 bits: 63.9 -> 255.6 -> 256 -> 255; 100 -> 400 -> 255
        want = {"data:0": [1, 4, 255, 0], "data:1": [255, 0, 0, 8]}[lab]
        assert c.tolist() == want


def test_shards_partition_the_vectors_with_gaps_and_events():
    ir = load_ir(TINY)
    vec, _ = regression_set(ir, 500, seed=2)
    plans = planner.split(vec, 3, seed=2, programmable=True, n_models=2)
    ids = np.concatenate([p.ids for p in plans])
    assert sorted(ids.tolist()) == list(range(500))
    for p in plans:
        assert p.gaps[0] == 0 and (p.gaps == 0).mean() > 0.5 and p.gaps.max() > 0
        kinds = [e["kind"] for e in p.events]
        assert kinds == ["reset", "load"]
        reset_at, load_at = (e["before"] for e in p.events)
        assert 0 < reset_at < load_at < len(p)
    const = planner.split(vec, 2, seed=2, programmable=False, n_models=1)
    assert all([e["kind"] for e in p.events] == ["reset"] for p in const)


def test_framing_adds_bx_reset_flags_and_leaves_gaps_events_and_seeds_alone():
    ir = load_ir(TINY)
    vec, _ = regression_set(ir, 500, seed=2)
    plain = planner.split(vec, 2, seed=2, programmable=True, n_models=2)
    framed = planner.split(vec, 2, seed=2, programmable=True, n_models=2, framing=True)
    for p, f in zip(plain, framed):
        assert p.bx_reset is None
        assert (p.gaps == f.gaps).all() and p.events == f.events and p.seed == f.seed
        flags = f.bx_reset
        assert len(flags) == len(f) and flags[0] == 1
        # about one in BX_RESET_EVERY at random besides the first
        assert 1 < flags.sum() < 3 * len(f) / planner.BX_RESET_EVERY



@pytest.mark.parametrize("arch", ["tiny_conv", "tiny_dense"])
def test_search_beats_a_small_random_pool_on_every_accumulator_highs_and_never_loses(arch):
    """Started from 32 random modules, the search must drive every accumulator of every layer at
    least as high and as low as the pool does, strictly higher for all of them (a random module is
    far from any layer's maximum), stay within the charge width and repeat itself for the seed."""
    from encoder.ir.synthetic import synthetic_ir
    from encoder.verif.stimulus import _all_accumulators, _top, random_charges, searched
    ir = synthetic_ir(arch, seed=2)
    pool = random_charges(ir, 32, np.random.default_rng(2)).counts
    found = searched(ir, pool, np.random.default_rng(3))
    assert np.array_equal(found, searched(ir, pool, np.random.default_rng(3)))
    assert found.min() >= 0 and found.max() <= _top(ir)
    t = len(found) // 2
    acc, base = _all_accumulators(ir, found), _all_accumulators(ir, pool)
    hi, lo = acc[np.arange(t), np.arange(t)], acc[t + np.arange(t), np.arange(t)]
    assert t == base.shape[1]
    assert np.all(hi > base.max(axis=0))
    assert np.all(lo <= base.min(axis=0)) and np.any(lo < base.min(axis=0))
