"""The golden model's float fast path equals its int64 path wherever it is used.

``golden.encode`` and ``golden.run`` take the float path when the IR's
bounds prove it exact; ``run_layers(..., keep=True)`` always runs the
int64 reference. Random IRs cover ReLU and linear layers, all three
rounding rules at input and outputs, signed outputs, fixed-shift inputs
beyond the input range, wide formats (float64) and the cases that must
fall back (products rounded before the sum, wrap-around overflow).
"""

from dataclasses import replace

import numpy as np
import pytest

from encoder import golden, inputpath
from encoder.golden import fast
from encoder.ir.fixed import FixedFormat
from encoder.ir.schema import Requant, infer_accumulators
from encoder.training.config import parse_config, skeleton_ir
from encoder.training.verify import stress_charges


def q(rng, lo=2, hi=12, integers=(0, 1, 2)):
    return {"bits": int(rng.integers(lo, hi + 1)), "integer": int(rng.choice(integers))}


def random_ir(seed):
    rng = np.random.default_rng(seed)
    geometry, arrangement = [("hgcal", "8x8"), ("hgcal", "4x4x3"), ("square8", "8x8")][seed % 3]
    convs = []
    if rng.random() < 0.7:
        convs.append({"filters": int(rng.integers(1, 9)), "kernel": int(rng.integers(1, 4)),
                      "strides": int(rng.integers(1, 3)), "padding": "same",
                      "weight": q(rng), "bias": q(rng), "activation": q(rng)})
    charge_bits = int(rng.integers(12, 30))
    fixed = rng.random() < 0.3
    d = {"geometry": geometry, "arrangement": arrangement,
         "input": {"bits": int(rng.integers(2, 13)), "integer": int(rng.integers(0, 3)), "charge_bits": charge_bits,
                   "normalisation": "fixed_shift" if fixed else "leading_one",
                   "shift": int(rng.integers(charge_bits - 10, charge_bits)) if fixed else 0},
         "encoder": {"conv": convs, "latent": {"size": int(rng.integers(1, 20)), "weight": q(rng), "bias": q(rng),
                                               "activation": q(rng)}}}
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cfg = parse_config(d)
    weights = []
    ir = skeleton_ir(cfg)
    for layer in ir.mac_layers:
        wf, bf = layer.weight_format, layer.bias_format
        scale = rng.uniform(0.05, 1.0)
        weights.append((rng.integers(int(wf.min_code * scale), int(wf.max_code * scale) + 1, layer.weight.shape),
                        rng.integers(bf.min_code, bf.max_code + 1, layer.bias.shape)))
    ir = skeleton_ir(cfg, weights)
    roundings = ("half_even", "floor", "half_up")
    ir.input = replace(ir.input, rounding=str(rng.choice(roundings)))
    for layer in ir.mac_layers:
        fmt = layer.output.format
        if rng.random() < 0.4:       # a signed linear output instead of a ReLU
            layer.activation = "linear"
            fmt = FixedFormat(True, fmt.bits + 1, fmt.frac)
        layer.output = Requant(fmt, str(rng.choice(roundings)), "saturate")
    infer_accumulators(ir)
    return ir, cfg


def int_path(ir, counts):
    x, _ = golden.input_codes(ir, counts)
    return golden.run_layers(ir, x, keep=True)[0]


@pytest.mark.parametrize("seed", range(30))
def test_fast_path_equals_int64_path_on_random_irs(seed):
    ir, cfg = random_ir(seed)
    n_cells = ir.input.n_cells
    charges = stress_charges(np.random.default_rng(seed), 3000, n_cells, (1 << cfg.input.charge_bits) - 1,
                             cfg.input.counts_per_mip)
    counts = inputpath.to_counts(charges, cfg.input.counts_per_mip, cfg.input.charge_bits).counts
    ref = int_path(ir, counts)
    plan = fast.plan(ir)
    assert plan is not None
    np.testing.assert_array_equal(golden.encode(ir, counts), ref)
    np.testing.assert_array_equal(golden.run(ir, counts=counts).latents, ref)


def test_random_irs_exercise_both_float_types_and_every_rounding():
    plans = [fast.plan(random_ir(s)[0]) for s in range(30)]
    assert {p.dtype for p in plans} == {np.float32, np.float64}
    irs = [random_ir(s)[0] for s in range(30)]
    assert {ir.input.rounding for ir in irs} == {"half_even", "floor", "half_up"}
    assert {layer.activation for ir in irs for layer in ir.mac_layers} == {"relu", "linear"}


def test_econt_ir_runs_in_float32_and_rounded_products_or_wrap_fall_back():
    from pathlib import Path
    from encoder.ir import load_ir
    from encoder.training.config import load_config
    cfg = load_config(Path(__file__).resolve().parents[1] / "configs" / "econt_8x8.yaml")
    rng = np.random.default_rng(0)
    ir = skeleton_ir(cfg, [(rng.integers(-32, 32, (3, 3, 1, 8)), rng.integers(-32, 32, 8)),
                           (rng.integers(-32, 32, (128, 16)), rng.integers(-32, 32, 16))])
    infer_accumulators(ir)
    # 128 taps x 255 x 32 plus bias stays far below 2^24: float32
    assert fast.plan(ir).dtype is np.float32
    chip = load_ir(Path(__file__).parent / "data" / "econt_chip_ir_handbuilt.json")
    assert fast.plan(chip) is None                      # products floored before the sum
    wrapped = skeleton_ir(cfg)
    wrapped.mac_layers[0].output = Requant(FixedFormat(False, 8, 7), "half_even", "wrap")
    infer_accumulators(wrapped)
    assert fast.plan(wrapped) is None
    # the chip IR still runs (int64 path) and encode agrees with run there
    calq = np.loadtxt(Path(__file__).parent / "data" / "econt" / "calq_ae_order.csv", delimiter=",",
                      skiprows=1, dtype=np.int64, max_rows=300)[:, 1:]
    np.testing.assert_array_equal(golden.encode(chip, calq), golden.run(chip, counts=calq).latents)


def test_bounds_beyond_float64_fall_back_to_int64():
    ir, _ = random_ir(0)
    layer = ir.mac_layers[-1]
    layer.weight_format = FixedFormat(True, 40, 10)
    layer.weight = np.full_like(layer.weight, (1 << 39) - 1)
    layer.output = Requant(FixedFormat(False, 60, 0), "half_even", "saturate")
    infer_accumulators(ir)
    assert fast.plan(ir) is None
