"""The integer golden model equals QKeras bit for bit: latent code x LSB == QKeras output.

QKeras is the independent reference here: its quantizers run in TensorFlow
float32, the golden model in int64 from the exported IR. Every shipped
config is checked on 10,000 modules with random weights on the quantizer
grids and with weights pushed to the format extremes (saturation), and
so are 24 randomly drawn configs (geometries, conv stacks, kernels,
strides, paddings, latent sizes, bit widths 2-12, input paths). Where a
partial sum exceeds float32's 24-bit mantissa QKeras itself may round;
such modules are identified, reported and are the only ones allowed to
differ.
"""

import warnings
from pathlib import Path

import numpy as np
import pytest

from encoder import golden, inputpath
from encoder.ir.schema import infer_accumulators
from encoder.training.config import (
    FLOAT32_EXACT,
    Float32ExactnessWarning,
    InputSettings,
    float32_notes,
    load_config,
    parse_config,
    skeleton_ir,
)

# TensorFlow tests share one worker under `--dist loadgroup` (one TF import).
pytestmark = pytest.mark.xdist_group("tensorflow")

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
SHIPPED = sorted(p.name for p in CONFIGS.glob("econt_*.yaml"))     # the model configs
N_MODULES = 10_000
N_RANDOM = 24


@pytest.fixture(scope="module")
def tfk():
    from encoder.training import export, model, verify
    return model, export, verify


def charges_for(cfg, seed, n=N_MODULES):
    from encoder.training.verify import stress_charges
    from encoder import geometry
    g = geometry.load(cfg.geometry)
    return stress_charges(np.random.default_rng(seed), n, g.n_cells, (1 << cfg.input.charge_bits) - 1,
                          cfg.input.counts_per_mip)


def export_quietly(export, enc, cfg):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ir = export.export_model(enc, InputSettings.from_config(cfg))
    return ir, [str(w.message) for w in caught if issubclass(w.category, Float32ExactnessWarning)]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_config_golden_equals_qkeras_on_10000_modules(tfk, name):
    model, export, verify = tfk
    cfg = load_config(CONFIGS / name)
    enc = model.build_encoder(cfg)
    charges = charges_for(cfg, seed=len(name))
    counts = inputpath.to_counts(charges, cfg.input.counts_per_mip, cfg.input.charge_bits).counts
    assert inputpath.to_counts(charges, cfg.input.counts_per_mip, cfg.input.charge_bits).n_clipped > 0
    seen = {"zero": 0, "saturated": 0, "middle": 0}
    for k, (extreme, scale) in enumerate(((0.0, 0.5), (0.0, 1.0), (0.9, 1.0))):
        model.set_random_weights(enc, np.random.default_rng(100 + k), extreme=extreme, scale=scale)
        ir, notes = export_quietly(export, enc, cfg)
        assert notes == []
        cmp = verify.compare(enc, ir, counts)
        assert cmp.n_modules == N_MODULES
        assert cmp.exact, (f"{name} weights #{k}: {cmp.n_mismatched_modules} modules differ, first "
                           f"{cmp.first_mismatch}, up to {cmp.max_code_difference} codes")
        top = ir.latent_format.max_code
        seen["zero"] += int(np.sum(cmp.golden_codes == 0))
        seen["saturated"] += int(np.sum(cmp.golden_codes == top))
        seen["middle"] += int(np.sum((cmp.golden_codes > 0) & (cmp.golden_codes < top)))
    # The comparison covered cut-off, saturated and in-range latents alike.
    assert min(seen.values()) > 1000, seen


def quant(rng, lo_bits=2, hi_bits=12, integers=(0, 0, 1, 2)):
    return {"bits": int(rng.integers(lo_bits, hi_bits + 1)), "integer": int(rng.choice(integers))}


def draw_config(rng, k):
    """A random but valid config: the search space the kit promises to handle."""
    geometry, arrangement = [("hgcal", "8x8"), ("hgcal", "4x4x3"), ("square8", "8x8")][k % 3]
    shape = (4, 4, 3) if arrangement == "4x4x3" else (8, 8, 1)
    convs = []
    for _ in range(int(rng.integers(0, 3))):
        kernel = [int(rng.integers(1, 5)), int(rng.integers(1, 5))]
        strides = [int(rng.integers(1, 4)), int(rng.integers(1, 4))]
        padding = str(rng.choice(["same", "valid"]))
        if padding == "valid" and (kernel[0] > shape[0] or kernel[1] > shape[1]):
            padding = "same"
        filters = int(rng.integers(1, 9))
        convs.append({"filters": filters, "kernel": kernel, "strides": strides, "padding": padding,
                      "weight": quant(rng), "bias": quant(rng), "activation": quant(rng, integers=(0, 1, 2, 3))})
        if padding == "same":
            shape = (-(-shape[0] // strides[0]), -(-shape[1] // strides[1]), filters)
        else:
            shape = ((shape[0] - kernel[0]) // strides[0] + 1, (shape[1] - kernel[1]) // strides[1] + 1, filters)
    charge_bits = int(rng.integers(10, 25))
    fixed = rng.random() < 0.25
    if k >= N_RANDOM - 2:
        # Wide formats on purpose: 12-bit inputs, mostly saturated by a small fixed shift, times
        # 12-bit weights summed over 48-64 cells pass 2^24.
        return {"name": f"random{k}", "geometry": geometry, "arrangement": arrangement,
                "input": {"bits": 12, "integer": 1, "charge_bits": 22, "counts_per_mip": 35.0,
                          "normalisation": "fixed_shift", "shift": 8},
                "encoder": {"conv": [], "latent": {"size": 8, "weight": {"bits": 12, "integer": 2},
                                                   "bias": {"bits": 12, "integer": 2},
                                                   "activation": {"bits": 12, "integer": 12}}}}
    return {
        "name": f"random{k}", "geometry": geometry, "arrangement": arrangement,
        "input": {"bits": int(rng.integers(2, 13)), "integer": int(rng.choice([0, 1, 1, 2])),
                  "charge_bits": charge_bits, "counts_per_mip": float(rng.choice([1.0, 35.0, 100.0])),
                  "normalisation": "fixed_shift" if fixed else "leading_one",
                  "shift": int(rng.integers(charge_bits - 8, charge_bits)) if fixed else 0},
        "encoder": {"conv": convs,
                    "latent": {"size": int(rng.integers(1, 25)), "weight": quant(rng), "bias": quant(rng),
                               "activation": quant(rng, integers=(0, 1, 2))}},
    }


def random_case(k):
    """Config k, its weight codes and its data: drawn from seed k alone (no TensorFlow)."""
    rng = np.random.default_rng(1000 + k)
    d = draw_config(rng, k)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cfg = parse_config(d, f"random{k}")
    config_warned = any(issubclass(w.category, Float32ExactnessWarning) for w in caught)
    extreme, scale = float(rng.choice([0.0, 0.0, 0.5])), float(rng.uniform(0.05, 1.0))
    if k >= N_RANDOM - 2:
        extreme, scale = 0.8, 1.0
    weights = []
    for layer in skeleton_ir(cfg).mac_layers:
        codes = []
        for arr, fmt in ((layer.weight, layer.weight_format), (layer.bias, layer.bias_format)):
            c = rng.integers(int(np.floor(fmt.min_code * scale)), int(np.ceil(fmt.max_code * scale)) + 1, arr.shape)
            pick = rng.random(arr.shape) < extreme
            codes.append(np.where(pick, np.where(rng.random(arr.shape) < 0.7, fmt.max_code, fmt.min_code), c))
        weights.append(tuple(codes))
    ir = skeleton_ir(cfg, weights)
    infer_accumulators(ir)
    counts = inputpath.to_counts(charges_for(cfg, seed=k), cfg.input.counts_per_mip, cfg.input.charge_bits).counts
    return d, cfg, weights, ir, counts, config_warned


def test_random_configs_cover_the_promised_space():
    cases = [random_case(k) for k in range(N_RANDOM)]
    cfgs = [c[1] for c in cases]
    assert {c.geometry for c in cfgs} == {"hgcal", "square8"}
    assert {c.arrangement for c in cfgs} == {"8x8", "4x4x3"}
    assert {len(c.conv) for c in cfgs} == {0, 1, 2}
    convs = [c for cfg in cfgs for c in cfg.conv]
    assert {c.padding for c in convs} == {"same", "valid"}
    assert max(max(c.strides) for c in convs) == 3 and max(max(c.kernel) for c in convs) == 4
    bits = [q.bits for cfg in cfgs for q in [cfg.input.quant, cfg.latent.weight, cfg.latent.activation]]
    assert min(bits) == 2 and max(bits) == 12
    assert {c.input.normalisation for c in cfgs} == {"leading_one", "fixed_shift"}
    assert len({c.latent.size for c in cfgs}) > 10
    # at least 20 configs whose weights keep every partial sum within float32's mantissa
    exact = [ir for _, _, _, ir, _, _ in cases if not float32_notes(ir)]
    assert len(exact) >= 20
    # and the golden outputs include cut-off, saturated and in-range latents in quantity
    sat = zero = middle = 0
    for _, _, _, ir, counts, _ in cases:
        g = golden.encode(ir, counts)
        top = ir.latent_format.max_code
        sat, zero, middle = sat + np.sum(g == top), zero + np.sum(g == 0), middle + np.sum((g > 0) & (g < top))
    assert min(sat, zero, middle) > 10_000, (sat, zero, middle)


@pytest.mark.parametrize("k", range(N_RANDOM))
def test_random_config_golden_equals_qkeras_wherever_float32_is_exact(tfk, k):
    model, export, verify = tfk
    d, cfg, weights, skeleton, counts, config_warned = random_case(k)
    enc = model.build_encoder(cfg)
    for layer, (w, b) in zip(model.mac_layers(enc), weights):
        layer.set_weights([np.ldexp(w.astype(np.float64), -layer_frac(layer, "kernel")).astype(np.float32),
                           np.ldexp(b.astype(np.float64), -layer_frac(layer, "bias")).astype(np.float32)])
    ir, notes = export_quietly(export, enc, cfg)
    # the exporter read back exactly the codes that were set
    for got, (w, b) in zip(ir.mac_layers, weights):
        np.testing.assert_array_equal(got.weight, w)
        np.testing.assert_array_equal(got.bias, b)
    cmp = verify.compare(enc, ir, counts)
    assert cmp.n_modules == N_MODULES
    bad = np.flatnonzero(np.any(cmp.qkeras_codes != cmp.golden_codes, axis=1))
    if not notes:
        assert cmp.exact, (f"{cfg.name} {d}: {cmp.n_mismatched_modules} modules differ, first "
                           f"{cmp.first_mismatch}, up to {cmp.max_code_difference} codes")
        return
    # Partial sums may pass 2^24 here: the config validator warned already, the exporter says
    # so, and only modules whose own partial sums pass 2^24 may differ.
    assert config_warned, f"{cfg.name}: exporter warned but the config validator did not"
    bound = verify.module_partial_sum_bound(ir, counts)
    beyond = bound > FLOAT32_EXACT
    assert not np.any(~beyond[bad]), f"{cfg.name}: {np.sum(~beyond[bad])} modules within 2^24 differ"
    warnings.warn(f"{cfg.name}: partial sums up to 2^{np.log2(bound.max()):.1f} LSBs pass float32's 24-bit "
                  f"mantissa on {beyond.sum()} of {N_MODULES} modules; QKeras differs from the integer "
                  f"model on {len(bad)} of them (float32 rounding in QKeras, not a golden-model error)")


def layer_frac(layer, which):
    q = layer.kernel_quantizer_internal if which == "kernel" else layer.bias_quantizer_internal
    return int(q.bits) - 1 - int(q.integer)


def test_float32_limit_is_real_qkeras_rounds_beyond_24_bits(tfk):
    """A dense layer whose products alone pass 2^24: the warning is needed, QKeras does differ."""
    model, export, verify = tfk
    d = {"name": "wide", "geometry": "square8", "arrangement": "8x8",
         "input": {"bits": 12, "integer": 1, "normalisation": "fixed_shift", "shift": 11, "charge_bits": 12,
                   "counts_per_mip": 1.0},
         "encoder": {"conv": [], "latent": {"size": 4, "weight": {"bits": 14, "integer": 7},
                                            "bias": {"bits": 4, "integer": 0},
                                            "activation": {"bits": 24, "integer": 14}}}}
    with pytest.warns(Float32ExactnessWarning):
        cfg = parse_config(d, "wide")
    enc = model.build_encoder(cfg)
    rng = np.random.default_rng(5)
    model.set_random_weights(enc, rng)
    ir, notes = export_quietly(export, enc, cfg)
    assert notes
    # input codes = counts (shift 11 = the input's fractional bits); odd codes, 12-bit x 14-bit products
    counts = rng.integers(0, 2048, (2000, 64)) * 2 + 1
    cmp = verify.compare(enc, ir, counts)
    bound = verify.module_partial_sum_bound(ir, counts)
    assert (bound > FLOAT32_EXACT).all()
    assert cmp.n_mismatched_modules > 100
    assert cmp.max_code_difference <= 64        # float32 rounding, not a different computation
