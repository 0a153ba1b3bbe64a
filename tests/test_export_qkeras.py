"""`encoder export`: QKeras encoder -> integer IR, and what it refuses.

References: QKeras' own outputs (the golden model on the exported IR must
reproduce them), hand quantization of weights (round half to even), the
ECON-T chip's test vectors for the chip-arithmetic export.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from encoder import golden, inputpath
from encoder.cli import main
from encoder.ir import FixedFormat, load_ir
from encoder.training.config import InputSettings, load_config, parse_config

pytestmark = pytest.mark.xdist_group("tensorflow")

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
ECONT = ROOT / "tests" / "data" / "econt"


@pytest.fixture(scope="module")
def tk():
    from encoder.training import export, model, verify
    from encoder.training.tf_env import keras, qkeras
    return keras, qkeras, model, export, verify


def counts_for(seed, n=3000, n_cells=48):
    from encoder.training.verify import stress_charges
    return inputpath.to_counts(stress_charges(np.random.default_rng(seed), n, n_cells), 35.0, 22).counts


def test_econt_8x8_exports_the_chip_formats_and_shapes(tk):
    keras, qkeras, model, export, verify = tk
    cfg = load_config(CONFIGS / "econt_8x8.yaml")
    enc = model.build_encoder(cfg)
    ir = export.export_model(enc, InputSettings.from_config(cfg), name="e")
    ip = ir.input
    assert (ip.format, ip.rounding, ip.charge_bits, ip.counts_per_mip, ip.normalisation) == \
        (FixedFormat(False, 8, 7), "half_even", 22, 35.0, "leading_one")
    assert ip.shape == (8, 8, 1) and (ip.pixel_to_cell == -1).sum() == 16
    conv, flat, dense = ir.layers
    assert (conv.op, conv.kernel, conv.strides, conv.padding, conv.output_shape) == \
        ("conv2d", (3, 3), (2, 2), (0, 1, 0, 1), (4, 4, 8))
    assert flat.op == "flatten" and flat.output_shape == (128,)
    assert dense.output_shape == (16,)
    for layer, out in ((conv, FixedFormat(False, 8, 7)), (dense, FixedFormat(False, 9, 8))):
        assert layer.weight_format == layer.bias_format == FixedFormat(True, 6, 5)
        assert layer.product_frac is None and layer.activation == "relu"
        assert (layer.output.format, layer.output.rounding, layer.output.overflow) == (out, "half_even", "saturate")
    # exact products of u8.7 x s6.5 are at 2^-12; 9 taps (conv) and 128 (dense) of +-255*32 plus bias
    assert conv.accumulator.frac == dense.accumulator.frac == 12
    assert ir.n_params == 2144 and ir.source["float32_exact"] is True


def test_weight_codes_are_round_half_even_of_the_float_weights(tk):
    keras, qkeras, model, export, verify = tk
    cfg = load_config(CONFIGS / "econt_8x8.yaml")
    enc = model.build_encoder(cfg)
    rng = np.random.default_rng(0)
    k = rng.integers(-40, 40, (3, 3, 1, 8))
    kernel = (2 * k + 1) / 64.0                          # every value an exact tie between two codes
    bias = rng.normal(0, 0.6, 8)
    enc.get_layer("conv").set_weights([kernel, bias])
    ir = export.export_model(enc, InputSettings.from_config(cfg))
    want_k = np.clip(np.rint(kernel * 32), -32, 31)       # numpy rint: half to even
    want_b = np.clip(np.rint(bias.astype(np.float32) * 32), -32, 31)
    np.testing.assert_array_equal(ir.layers[0].weight, want_k)
    np.testing.assert_array_equal(ir.layers[0].bias, want_b)
    assert np.any(want_k % 2 == 0) and np.all(np.abs(want_k) <= 32)
    # and the golden model agrees with QKeras on these weights
    assert verify.compare(enc, ir, counts_for(1)).exact


def build(tk, *layers_fn, shape=(8, 8, 1), first_q=True):
    keras, qkeras, *_ = tk
    inp = keras.Input(shape, name="input")
    x = qkeras.QActivation(qkeras.quantized_bits(8, 1, keep_negative=False), name="input_q")(inp) if first_q else inp
    for fn in layers_fn:
        x = fn(x)
    return keras.Model(inp, x, name="m")


def q6():
    from qkeras import quantized_bits
    return quantized_bits(6, 0, alpha=1)


REFUSALS = {
    "plain_dense": (lambda k, q: [k.layers.Flatten(), k.layers.Dense(4, name="plain"),
                                  q.QActivation(q.quantized_relu(8, 1))], "'plain' \\(Dense\\): not a QKeras layer"),
    "plain_conv": (lambda k, q: [k.layers.Conv2D(2, 3, name="plainconv")],
                   "'plainconv' \\(Conv2D\\): not a QKeras layer"),
    "auto_po2_kernel": (lambda k, q: [k.layers.Flatten(), q.QDense(4, kernel_quantizer=q.quantized_bits(6, 0),
                                                                  bias_quantizer=q6(), name="po2"),
                                      q.QActivation(q.quantized_relu(8, 1))], "'po2' \\(QDense\\): kernel_quantizer.*alpha"),
    "alpha_2": (lambda k, q: [k.layers.Flatten(), q.QDense(4, kernel_quantizer=q6(),
                                                          bias_quantizer=q.quantized_bits(6, 0, alpha=2), name="a2"),
                              q.QActivation(q.quantized_relu(8, 1))], "'a2' \\(QDense\\): bias_quantizer.*alpha=2"),
    "no_kernel_quantizer": (lambda k, q: [k.layers.Flatten(), q.QDense(4, bias_quantizer=q6(), name="nokq"),
                                          q.QActivation(q.quantized_relu(8, 1))], "'nokq' \\(QDense\\): no kernel_quantizer"),
    "no_bias_quantizer": (lambda k, q: [k.layers.Flatten(), q.QDense(4, kernel_quantizer=q6(), name="nobq"),
                                        q.QActivation(q.quantized_relu(8, 1))], "'nobq' \\(QDense\\): no bias_quantizer"),
    "no_activation": (lambda k, q: [k.layers.Flatten(), q.QDense(4, kernel_quantizer=q6(), bias_quantizer=q6(),
                                                                name="noact")], "'noact' \\(QDense\\): output is not quantized"),
    "plain_relu": (lambda k, q: [k.layers.Flatten(), q.QDense(4, kernel_quantizer=q6(), bias_quantizer=q6(),
                                                             activation="relu", name="relu_only")],
                   "'relu_only' \\(QDense\\): output is not quantized"),
    "relu_through_qactivation": (lambda k, q: [k.layers.Flatten(), q.QDense(4, kernel_quantizer=q6(),
                                                                           bias_quantizer=q6()),
                                               q.QActivation("relu", name="qa_relu")],
                                 "'qa_relu' \\(QActivation\\): activation: relu is not quantized_bits"),
    "batchnorm": (lambda k, q: [k.layers.BatchNormalization(name="bn")], "'bn' \\(BatchNormalization\\): not supported"),
    "binary_weights": (lambda k, q: [k.layers.Flatten(), q.QDense(4, kernel_quantizer=q.binary(alpha=1),
                                                                 bias_quantizer=q6(), name="bin"),
                                     q.QActivation(q.quantized_relu(8, 1))], "'bin' \\(QDense\\): kernel_quantizer: binary is not quantized_bits"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_export_refuses_what_the_ir_cannot_represent_naming_the_layer(tk, case):
    keras, qkeras, model, export, verify = tk
    make, pattern = REFUSALS[case]
    m = build(tk, *make(keras, qkeras))
    with pytest.raises(export.ExportError, match=pattern):
        export.export_model(m, InputSettings())


def test_export_refuses_an_unquantized_input(tk):
    keras, qkeras, model, export, verify = tk
    m = build(tk, keras.layers.Flatten(), qkeras.QDense(4, kernel_quantizer=q6(), bias_quantizer=q6()),
              qkeras.QActivation(qkeras.quantized_relu(8, 1)), first_q=False)
    with pytest.raises(export.ExportError, match="model input is not quantized.*'flatten"):
        export.export_model(m, InputSettings())


def test_other_quantized_layouts_export_and_match_qkeras(tk):
    """Activation inside the layer, plain ReLU + quantized_bits, signed linear outputs, Dropout."""
    keras, qkeras, model, export, verify = tk
    Q = qkeras
    m = build(
        tk,
        Q.QConv2D(4, (2, 3), strides=(1, 2), padding="valid", kernel_quantizer=Q.quantized_bits(5, 1, alpha=1),
                  bias_quantizer=Q.quantized_bits(7, 2, alpha=1), activation=Q.quantized_relu(7, 2), name="c1"),
        keras.layers.Dropout(0.3),
        Q.QConv2D(3, 3, padding="same", kernel_quantizer=Q.quantized_bits(4, 0, alpha=1),
                  bias_quantizer=Q.quantized_bits(4, 0, alpha=1), activation="relu", name="c2"),
        Q.QActivation(Q.quantized_bits(6, 2, alpha=1), name="c2_q"),
        keras.layers.Flatten(),
        Q.QDense(7, kernel_quantizer=Q.quantized_bits(8, 1, alpha=1), bias_quantizer=Q.quantized_bits(8, 3, alpha=1),
                 name="d"),
        Q.QActivation(Q.quantized_bits(10, 4, alpha=1), name="lat"),     # signed latents
    )
    model.set_random_weights(m, np.random.default_rng(3), scale=0.7)
    ir = export.export_model(m, InputSettings(geometry="square8"))
    c1, c2, _, d = ir.layers
    assert (c1.activation, c1.output.format) == ("relu", FixedFormat(False, 7, 5))
    assert (c2.activation, c2.output.format) == ("relu", FixedFormat(True, 6, 3))
    assert (d.activation, d.output.format) == ("linear", FixedFormat(True, 10, 5))
    counts = inputpath.to_counts(__import__("encoder.training.verify", fromlist=["x"]).stress_charges(
        np.random.default_rng(8), 5000, 64), 35.0, 22).counts
    cmp = verify.compare(m, ir, counts)
    assert cmp.exact, f"{cmp.n_mismatched_modules} modules differ"
    assert (cmp.golden_codes < 0).any() and (cmp.golden_codes > 0).any()


@pytest.fixture(scope="module")
def saved(tk, tmp_path_factory):
    keras, qkeras, model, export, verify = tk
    d = tmp_path_factory.mktemp("export")
    for name in ("econt_8x8", "econt_4x4x3"):
        enc = model.build_encoder(load_config(CONFIGS / f"{name}.yaml"))
        model.set_random_weights(enc, np.random.default_rng(1), scale=0.5)
        enc.save(str(d / f"{name}.h5"))
    return d


def test_export_keras_file_with_input_yaml_prints_parameter_counts(saved, capsys):
    d = saved
    (d / "in.yaml").write_text("geometry: hgcal\narrangement: 4x4x3\ncounts_per_mip: 20\ncharge_bits: 20\n")
    assert main(["export", "--keras", str(d / "econt_4x4x3.h5"), "--out", str(d / "ir443.json"),
                 "--input-config", str(d / "in.yaml")]) == 0
    assert "2,288 weights and biases" in capsys.readouterr().out
    ir = load_ir(d / "ir443.json")
    assert (ir.name, ir.input.arrangement, ir.input.counts_per_mip, ir.input.charge_bits) == \
        ("econt_4x4x3", "4x4x3", 20.0, 20)
    assert ir.n_params == 2288 and ir.hash.startswith("sha256:")
    assert main(["export", "--keras", str(d / "econt_8x8.h5"), "--out", str(d / "ir88.json"),
                 "--counts-per-mip", "10", "--name", "chip"]) == 0
    assert "2,144 weights and biases" in capsys.readouterr().out
    ir = load_ir(d / "ir88.json")
    assert (ir.name, ir.input.arrangement, ir.input.counts_per_mip) == ("chip", "8x8", 10.0)


def test_export_cli_errors_are_one_line_and_write_nothing(saved, capsys):
    d = saved
    assert main(["export", "--keras", str(d / "econt_8x8.h5"), "--out", str(d / "bad.json"),
                 "--arrangement", "4x4x3"]) == 1
    assert "does not match arrangement 4x4x3" in capsys.readouterr().err
    assert not (d / "bad.json").exists()
    assert main(["export", "--keras", str(d / "missing.h5"), "--out", str(d / "bad.json")]) == 1
    assert "no such file" in capsys.readouterr().err
    (d / "exists.json").write_text("{}")
    assert main(["export", "--keras", str(d / "econt_8x8.h5"), "--out", str(d / "exists.json")]) == 1
    assert "already exists" in capsys.readouterr().err
    assert (d / "exists.json").read_text() == "{}"
    assert main(["export", "--out", str(d / "x.json")]) == 1
    assert "either a run directory or --keras" in capsys.readouterr().err


def test_export_check_option_compares_golden_with_qkeras(saved, capsys):
    from encoder.data import SensorData, save_data
    from encoder.training.verify import stress_charges
    d = saved
    save_data(d / "stress.npz", SensorData(stress_charges(np.random.default_rng(2), 4000, 48)))
    assert main(["export", "--keras", str(d / "econt_8x8.h5"), "--out", str(d / "checked.json"),
                 "--check", str(d / "stress.npz")]) == 0
    assert "bit for bit on 4000 modules" in capsys.readouterr().out


def test_econt_arithmetic_export_reproduces_the_chip_test_vectors(tk):
    """The chip's weights in a QKeras model, exported with the chip's rules: all 3,564 BX match."""
    keras, qkeras, model, export, verify = tk
    w = json.loads((ECONT / "AE" / "weights_decoded.json").read_text())
    d = json.loads(json.dumps(load_config(CONFIGS / "econt_8x8.yaml").to_dict()))
    # the chip keeps conv outputs unsaturated in units of 2^-7: quantized_relu(16, 9)
    d["encoder"]["conv"][0]["activation"] = {"bits": 16, "integer": 9}
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cfg = parse_config(d)
    enc = model.build_encoder(cfg)
    enc.get_layer("conv").set_weights([np.array(w["conv_w"]).reshape(3, 3, 1, 8) / 32, np.array(w["conv_b"]) / 32])
    enc.get_layer("dense").set_weights([np.array(w["dense_w"]).reshape(16, 128).T / 32, np.array(w["dense_b"]) / 32])
    ir = export.export_model(enc, InputSettings.from_config(cfg), arithmetic="econt")
    assert ir.input.rounding == "floor"
    assert [(l.product_frac, l.product_rounding, l.output.rounding) for l in ir.mac_layers] == \
        [(7, "floor", "floor"), (8, "floor", "floor")]
    calq = np.loadtxt(ECONT / "calq_ae_order.csv", delimiter=",", skiprows=1, dtype=np.int64)[:, 1:]
    expected = np.loadtxt(ECONT / "AE" / "expected_outputs.csv", delimiter=",", skiprows=1, dtype=np.int64)[:, 3:]
    # The chip's input: x = (CALQ << 7) >> m, laid out rows 0-3 = TC 0-31, rows 4-7 x cols 0-3 = TC 32-47.
    m = np.floor(np.log2(calq.sum(axis=1))).astype(np.int64)
    x = (calq << 7) >> m[:, None]
    img = np.zeros((len(calq), 8, 8, 1), dtype=np.int64)
    img[:, :4, :, 0] = x[:, :32].reshape(-1, 4, 8)
    img[:, 4:, :4, 0] = x[:, 32:].reshape(-1, 4, 4)
    lat = golden.run_layers(ir, img)
    assert lat.shape == expected.shape == (3564, 16)
    np.testing.assert_array_equal(lat, expected)
