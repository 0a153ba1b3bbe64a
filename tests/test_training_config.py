"""Model configs: the shipped ECON-T configs, validation errors, arithmetic bounds (no TensorFlow)."""

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml

from encoder.ir.fixed import FixedFormat
from encoder.training.config import (
    ConfigError,
    Float32ExactnessWarning,
    load_config,
    load_input_settings,
    parse_config,
    partial_sum_bound,
    skeleton_ir,
)

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
SHIPPED = sorted(CONFIGS.glob("econt_*.yaml"))      # model configs (study configs live here too)


def write(tmp_path, text, name="c.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def econt_dict():
    return yaml.safe_load((CONFIGS / "econt_8x8.yaml").read_text())


def test_every_shipped_config_loads_without_float32_warnings():
    assert len(SHIPPED) >= 6
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for p in SHIPPED:
            cfg = load_config(p)
            assert cfg.warnings == ()


def test_econt_8x8_is_the_chip_encoder_with_2144_parameters():
    cfg = load_config(CONFIGS / "econt_8x8.yaml")
    assert cfg.geometry == "hgcal" and cfg.arrangement == "8x8" and cfg.input_shape == (8, 8, 1)
    (conv,) = cfg.conv
    assert (conv.filters, conv.kernel, conv.strides, conv.padding) == (8, (3, 3), (2, 2), "same")
    assert cfg.latent.size == 16
    # Weights and biases in [-1, 31/32] in steps of 1/32: quantized_bits(6, 0).
    for q in (conv.weight, conv.bias, cfg.latent.weight, cfg.latent.bias):
        f = q.signed_format()
        assert (f.min_code * f.lsb, f.max_code * f.lsb, f.lsb) == (-1.0, 31 / 32, 1 / 32)
    # The chip's input: 8-bit unsigned, 7 fractional bits; latents 9-bit, 8 fractional.
    assert cfg.input.format == FixedFormat(False, 8, 7)
    assert cfg.latent.activation.unsigned_format() == FixedFormat(False, 9, 8)
    assert (cfg.input.charge_bits, cfg.input.counts_per_mip) == (22, 35.0)
    # 3*3*1*8 + 8 conv, 128*16 + 16 dense (the reference's 2,144).
    assert cfg.n_params == 3 * 3 * 1 * 8 + 8 + 128 * 16 + 16 == 2144
    # Keras "same" with stride 2 on 8 rows pads one row and column at the bottom/right only.
    ir = skeleton_ir(cfg)
    assert ir.layers[0].padding == (0, 1, 0, 1)
    assert ir.layers[0].output_shape == (4, 4, 8)


def test_econt_4x4x3_has_2288_parameters():
    cfg = load_config(CONFIGS / "econt_4x4x3.yaml")
    assert cfg.input_shape == (4, 4, 3)
    assert cfg.conv[0].strides == (1, 1)
    assert cfg.n_params == 3 * 3 * 3 * 8 + 8 + 128 * 16 + 16 == 2288


@pytest.mark.parametrize("elinks,bits", [(2, 3), (3, 5), (4, 7), (5, 9)])
def test_elink_presets_fit_the_chip_output_frame(elinks, bits):
    cfg = load_config(CONFIGS / f"econt_8x8_{elinks}elinks.yaml")
    assert cfg.elinks == elinks
    assert cfg.latent.activation.bits == bits and cfg.latent.activation.integer == 1
    # The chip's frame carries L = min(18 + 32 (N - 1), 146) latent bits (econt_vectors README).
    room = min(18 + 32 * (elinks - 1), 146)
    assert 16 * bits <= room
    # everything but the latent width equals the base config
    base = load_config(CONFIGS / "econt_8x8.yaml")
    assert cfg.conv == base.conv and cfg.input == base.input
    assert cfg.latent.weight == base.latent.weight and cfg.latent.size == 16


def test_config_round_trips_through_yaml(tmp_path):
    cfg = load_config(CONFIGS / "econt_8x8_3elinks.yaml")
    again = load_config(write(tmp_path, cfg.to_yaml()))
    assert again.to_dict() == cfg.to_dict()


def test_finetune_stage_inherits_rate_and_patience_and_round_trips(tmp_path):
    d = econt_dict()
    d["training"].update(learning_rate=0.004, patience=7, augment=True, stream_modules=1000,
                         finetune={"loss": "emd_tree", "epochs": 30})
    cfg = load_config(write(tmp_path, yaml.safe_dump(d)))
    f = cfg.training.finetune
    assert (f.loss, f.epochs, f.learning_rate, f.patience) == ("emd_tree", 30, 0.004, 7)
    assert cfg.training.augment and cfg.training.stream_modules == 1000
    again = load_config(write(tmp_path, cfg.to_yaml()))
    assert again.to_dict() == cfg.to_dict()
    d["training"]["finetune"] = None
    assert load_config(write(tmp_path, yaml.safe_dump(d))).training.finetune is None


@pytest.mark.parametrize("edit,key,text", [
    (lambda d: d.update(colour="red"), "colour", "unknown key"),
    (lambda d: d["encoder"]["latent"].update(sise=3), "encoder.latent.sise", "unknown key"),
    (lambda d: d["encoder"]["conv"][0]["weight"].update(bits=33), "encoder.conv[0].weight.bits", "outside 1..32"),
    (lambda d: d["encoder"]["conv"][0]["activation"].update(bits=0), "encoder.conv[0].activation.bits", "outside 1..32"),
    (lambda d: d["input"].update(bits=40), "input.bits", "outside 1..32"),
    (lambda d: d["encoder"]["latent"]["bias"].update(bits=1), "encoder.latent.bias.bits", "at least 2 bits"),
    (lambda d: d["encoder"]["latent"]["weight"].update(integer=-1), "encoder.latent.weight.integer", "outside 0..32"),
    (lambda d: d["encoder"]["conv"][0].update(kernel=9, padding="valid"), "encoder.conv[0].kernel", "leaves no output"),
    (lambda d: d["encoder"]["conv"][0].update(strides=[0, 1]), "encoder.conv[0].strides", ">= 1"),
    (lambda d: d["encoder"]["latent"].update(size=0), "encoder.latent.size", "outside"),
    (lambda d: d.update(geometry="hexagon"), "geometry", "not one of"),
    (lambda d: d.update(arrangement="4x4x3", geometry="square8"), "arrangement", "square8"),
    (lambda d: d["training"].update(loss="l1"), "training.loss", "not one of"),
    (lambda d: d.update(elinks=2), "elinks", "need 144"),
    (lambda d: d["encoder"]["latent"].pop("activation"), "encoder.latent.activation", "missing"),
    (lambda d: d["training"].update(augment="yes"), "training.augment", "true or false"),
    (lambda d: d["training"].update(monitor="val_mse"), "training.monitor", "not one of"),
    (lambda d: d["training"].update(finetune={"loss": "emd_tree"}), "training.finetune.epochs", "missing"),
    (lambda d: d["training"].update(finetune={"loss": "l1", "epochs": 3}), "training.finetune.loss", "not one of"),
    (lambda d: d["training"].update(finetune={"loss": "sinkhorn", "epochs": 3, "lr": 1}),
     "training.finetune.lr", "unknown key"),
    (lambda d: d["training"].update(monitor="val_loss", finetune={"loss": "sinkhorn", "epochs": 3}),
     "training.finetune", "needs monitor: val_emd"),
    (lambda d: d["training"].update(lr_factor=1.0), "training.lr_factor", "must be < 1"),
    (lambda d: d["training"].update(stream_modules=-1), "training.stream_modules", "outside"),
])
def test_invalid_configs_name_file_and_key(tmp_path, edit, key, text):
    d = econt_dict()
    edit(d)
    p = write(tmp_path, yaml.safe_dump(d))
    with pytest.raises(ConfigError) as exc:
        load_config(p)
    msg = str(exc.value)
    assert msg.startswith(f"{p}: {key}:"), msg
    assert text in msg


def test_unreadable_and_circular_configs_are_errors(tmp_path):
    with pytest.raises(ConfigError, match="no such config"):
        load_config(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="line 2"):
        load_config(write(tmp_path, "name: x\n  bad: [\n"))
    write(tmp_path, "extends: b.yaml\n", "a.yaml")
    write(tmp_path, "extends: a.yaml\n", "b.yaml")
    with pytest.raises(ConfigError, match="circular"):
        load_config(tmp_path / "a.yaml")


def test_extends_merges_mappings_and_replaces_lists(tmp_path):
    (tmp_path / "base.yaml").write_text((CONFIGS / "econt_8x8.yaml").read_text())
    p = write(tmp_path, "extends: base.yaml\nname: wide\nelinks: null\nencoder:\n  latent:\n    size: 24\n"
                        "  conv:\n    - {filters: 4, kernel: 2, weight: {bits: 4, integer: 0},"
                        " bias: {bits: 4, integer: 0}, activation: {bits: 6, integer: 2}}\n")
    cfg = load_config(p)
    assert cfg.latent.size == 24 and cfg.latent.activation.bits == 9    # merged
    assert len(cfg.conv) == 1 and cfg.conv[0].filters == 4 and cfg.conv[0].strides == (1, 1)   # replaced
    assert cfg.n_params == 2 * 2 * 1 * 4 + 4 + 8 * 8 * 4 * 24 + 24


def hand_bound(w_codes, b_codes, in_hi):
    """Largest |partial sum| by brute force over subsets' extremes, for a 1-output layer."""
    pos = sum(w for w in w_codes if w > 0) * in_hi + max(b_codes, 0)
    neg = -sum(w for w in w_codes if w < 0) * in_hi - min(b_codes, 0)
    return max(pos, neg)


def test_partial_sum_bound_matches_hand_computation():
    d = econt_dict()
    cfg = parse_config(d)
    rng = np.random.default_rng(3)
    wc, bc = rng.integers(-32, 32, (3, 3, 1, 8)), rng.integers(-32, 32, 8)
    wd, bd = rng.integers(-32, 32, (128, 16)), rng.integers(-32, 32, 16)
    ir = skeleton_ir(cfg, [(wc, bc), (wd, bd)])
    conv, dense = ir.mac_layers
    # products at 2^-12 (7 + 5 fractional bits); biases (2^-5) are aligned by << 7
    want = max(hand_bound(list(wc[..., f].ravel()), int(bc[f]) << 7, 255) for f in range(8))
    assert partial_sum_bound(conv, 255, 7) == want
    want = max(hand_bound(list(wd[:, j]), int(bd[j]) << 7, 255) for j in range(16))
    assert partial_sum_bound(dense, 255, 7) == want
    # any weights of the format: 128 taps of -32 at input 255, plus bias -32 << 7
    assert partial_sum_bound(dense, 255, 7, programmable=True) == 128 * 32 * 255 + (32 << 7)


def test_wide_formats_warn_that_float32_qkeras_may_round(tmp_path):
    d = econt_dict()
    d["input"].update(bits=12, integer=1)
    d["encoder"]["latent"]["weight"].update(bits=12)
    with pytest.warns(Float32ExactnessWarning, match="layer dense.*2\\^24"):
        cfg = parse_config(d, "wide.yaml")
    # 128 inputs of code 4095 times weight code -2048: far beyond 2^24
    assert 128 * 4095 * 2048 > 2**24
    assert any("dense" in w for w in cfg.warnings)
    assert not any("layer conv" in w for w in cfg.warnings)     # 9 taps stay below 2^24


def test_accumulators_beyond_int64_are_refused():
    d = econt_dict()
    d["input"].update(bits=32, integer=1)
    d["encoder"]["latent"]["weight"].update(bits=32)
    d["encoder"]["conv"][0]["activation"].update(bits=32)
    with pytest.raises(ConfigError, match="encoder.latent: accumulator would need"):
        parse_config(d, "huge.yaml")


def test_input_settings_from_small_yaml_and_full_config(tmp_path):
    p = write(tmp_path, "geometry: hgcal\narrangement: 4x4x3\ncounts_per_mip: 10\n")
    s = load_input_settings(p)
    assert (s.arrangement, s.counts_per_mip, s.charge_bits) == ("4x4x3", 10.0, 22)
    s = load_input_settings(CONFIGS / "econt_4x4x3.yaml")
    assert s.arrangement == "4x4x3" and s.counts_per_mip == 35.0
    with pytest.raises(ConfigError, match="charge_bits"):
        load_input_settings(write(tmp_path, "charge_bits: 99\n", "bad.yaml"))


def test_config_and_command_registration_do_not_import_tensorflow():
    code = ("import sys, encoder.training.config, encoder.training.inputs, encoder.cli as c; "
            "c.build_parser(); encoder.training.config.load_config(sys.argv[1]); "
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('tensorflow', 'keras', 'tf_keras', 'qkeras'))))")
    out = subprocess.run([sys.executable, "-c", "import json; " + code, str(CONFIGS / "econt_8x8.yaml")],
                         capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
