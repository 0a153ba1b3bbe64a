"""`encoder train` / `encoder predict`: run directory, determinism, QKeras files, decoding.

One tiny training of econt_8x8 (2 epochs on 600 synthetic modules) is
shared by the module; a second one with --force and the same seed must
give the same weights.
"""

from pathlib import Path

import numpy as np
import pytest

from encoder import inputpath
from encoder.cli import main
from encoder.data import SensorData, load_data, save_data
from encoder.ir import load_ir

pytestmark = pytest.mark.xdist_group("tensorflow")

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
N = 600


def showers(seed, n=N, n_cells=48):
    """Sparse exponential charges; every 50th module empty."""
    rng = np.random.default_rng(seed)
    c = rng.exponential(3.0, (n, n_cells)) * (rng.random((n, n_cells)) < 0.2)
    c[::50] = 0.0
    return c


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    d = tmp_path_factory.mktemp("train")
    save_data(d / "data.npz", SensorData(showers(1), "hgcal"))
    (d / "small.yaml").write_text(f"extends: {CONFIGS / 'econt_8x8.yaml'}\n"
                                  "training: {batch_size: 100, patience: 1}\n")
    assert main(["train", "--config", str(d / "small.yaml"), "--data", str(d / "data.npz"),
                 "--out", str(d / "run"), "--epochs", "2", "--seed", "3"]) == 0
    return d


def encoder_weights(run):
    from qkeras.utils import load_qmodel
    from encoder.training.export import load_keras  # noqa: F401  (sets up TF through tf_env)
    return [w for layer in load_qmodel(str(run / "encoder.h5"), compile=False).layers for w in layer.get_weights()]


def test_run_directory_holds_config_models_and_learning_curves(work):
    run = work / "run"
    assert sorted(p.name for p in run.iterdir()) == ["config.yaml", "decoder.h5", "encoder.h5", "history.csv",
                                                    "history.png", "run.json"]
    import csv
    with open(run / "history.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["epoch", "stage", "loss", "val_loss", "val_emd", "lr", "seconds", "modules_per_s",
                             "event"]
    assert len(rows) == 2 and all(r["stage"] == "main" for r in rows)
    assert all(float(r[k]) > 0 for r in rows for k in ("loss", "val_loss", "val_emd", "lr", "modules_per_s"))
    kept = [i + 1 for i, r in enumerate(rows) if r["event"].startswith("kept")]
    assert len(kept) == 1 and "stopped:" in rows[-1]["event"]
    assert (run / "history.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from encoder.training.config import load_config
    cfg = load_config(run / "config.yaml")
    assert (cfg.training.seed, cfg.training.epochs, cfg.training.batch_size) == (3, 2, 100)
    assert cfg.n_params == 2144
    import json
    info = json.loads((run / "run.json").read_text())
    assert info["n_zero_sum_dropped"] == N // 50
    assert info["n_train"] + info["n_val"] == N - N // 50
    assert info["n_val"] == round(0.2 * (N - N // 50))
    assert info["best_epoch"] == kept[0] and info["stop_reason"] in rows[-1]["event"]
    assert info["best_val_emd"] == pytest.approx(float(rows[kept[0] - 1]["val_emd"]))
    assert info["best_val_emd"] <= min(float(r["val_emd"]) for r in rows) * (1 + 1e-4)   # min_delta
    first = (run / "config.yaml").read_text().splitlines()[0]
    assert first.startswith(f"# trained: kept epoch {kept[0]} of 2") and "stopped because" in first


def test_encoder_h5_is_a_qkeras_model_with_the_configured_quantizers(work):
    from qkeras.utils import load_qmodel
    from encoder.training import tf_env  # noqa: F401
    m = load_qmodel(str(work / "run" / "encoder.h5"), compile=False)
    kinds = [type(layer).__name__ for layer in m.layers]
    assert kinds == ["InputLayer", "QActivation", "QConv2D", "QActivation", "Flatten", "QDense", "QActivation"]
    assert str(m.get_layer("input_q").quantizer) == "quantized_bits(8,1,0,keep_negative=False,alpha=1)"
    assert str(m.get_layer("conv").kernel_quantizer_internal) == "quantized_bits(6,0,0,alpha=1)"
    assert str(m.get_layer("dense").bias_quantizer_internal) == "quantized_bits(6,0,0,alpha=1)"
    assert str(m.get_layer("conv_act").quantizer) == "quantized_relu(8,1)"
    assert str(m.get_layer("latent").quantizer) == "quantized_relu(9,1)"
    assert m.count_params() == 2144


def test_same_config_and_seed_give_the_same_weights_and_force_replaces(work, capsys):
    run = work / "run"
    before = encoder_weights(run)
    args = ["train", "--config", str(work / "small.yaml"), "--data", str(work / "data.npz"),
            "--out", str(run), "--epochs", "2", "--seed", "3"]
    assert main(args) == 1                                   # refuses to overwrite
    assert "already exists" in capsys.readouterr().err
    assert main(args + ["--force"]) == 0
    after = encoder_weights(run)
    assert len(before) == 4 and all(np.array_equal(a, b) for a, b in zip(before, after))
    assert main(["train", "--config", str(work / "small.yaml"), "--data", str(work / "data.npz"),
                 "--out", str(work / "run_seed4"), "--epochs", "1", "--seed", "4"]) == 0
    other = encoder_weights(work / "run_seed4")
    assert not all(np.array_equal(a, b) for a, b in zip(before, other))


def test_train_rejects_data_of_another_geometry_and_writes_nothing(work, capsys):
    save_data(work / "square.npz", SensorData(showers(2, 50, 64), "square8"))
    assert main(["train", "--config", str(CONFIGS / "econt_8x8.yaml"), "--data", str(work / "square.npz"),
                 "--out", str(work / "bad_run"), "--epochs", "1"]) == 1
    assert "geometry 'square8'" in capsys.readouterr().err
    assert not (work / "bad_run").exists()
    assert not list(work.glob(".bad_run*"))


def test_trained_encoder_golden_equals_qkeras_on_10000_modules(work, capsys):
    from encoder.training.verify import stress_charges
    from encoder.training.export import load_keras
    from encoder.training.verify import compare
    run = work / "run"
    assert main(["export", str(run), "--out", str(run / "ir.json")]) == 0
    out = capsys.readouterr().out
    assert "2,144 weights and biases" in out
    ir = load_ir(run / "ir.json")
    assert ir.arithmetic == "qkeras" and ir.input.rounding == "half_even"
    charges = stress_charges(np.random.default_rng(9), 10_000, 48)
    counts = inputpath.to_counts(charges, 35.0, 22).counts
    cmp = compare(load_keras(run / "encoder.h5"), ir, counts)
    assert cmp.exact, f"{cmp.n_mismatched_modules} modules differ"
    assert len(np.unique(cmp.golden_codes)) > 20


def test_predict_reconstructs_cells_that_sum_to_the_module_sum(work):
    run = work / "run"
    assert main(["predict", str(run), "--data", str(work / "data.npz"), "--out", str(work / "pred.npz")]) == 0
    with np.load(work / "pred.npz") as z:
        lat, rec, msum, shift, lsb = z["latents"], z["reconstructed"], z["module_sum"], z["shift"], z["latent_lsb"]
    charges = load_data(work / "data.npz").charges
    counts = inputpath.to_counts(charges, 35.0, 22).counts
    assert lat.shape == (N, 16) and rec.shape == (N, 48)
    assert float(lsb) == 2.0**-8
    assert np.array_equal(lat / lsb, np.rint(lat / lsb))            # on the 9-bit grid
    assert lat.min() >= 0 and lat.max() <= 511 / 256
    assert np.array_equal(msum, counts.sum(axis=1))
    assert np.array_equal(shift, np.floor(np.log2(np.maximum(msum, 1))).astype(int))
    nonzero = rec.sum(axis=1) > 0
    assert nonzero.sum() >= N - N // 50 - 5
    np.testing.assert_allclose(rec[nonzero].sum(axis=1), msum[nonzero] / 35.0, rtol=1e-12)
    assert (rec >= 0).all() and not rec[msum == 0].any()


def test_decoding_golden_codes_gives_the_float_path_reconstruction(work):
    from encoder import golden
    from encoder.training.predict import Run, decode_latents
    run = work / "run"
    if not (run / "ir.json").exists():
        assert main(["export", str(run), "--out", str(run / "ir.json")]) == 0
    ir = load_ir(run / "ir.json")
    charges = showers(5, 300)
    g = golden.run(ir, charges)
    r = Run(run)
    float_path = r.predict(charges)
    from_codes = decode_latents(run, g.latents * ir.latent_format.lsb, g.module_sum)
    np.testing.assert_array_equal(from_codes, float_path["reconstructed"])
    # without rescaling: decoder cells x 2^m / counts_per_mip
    raw = r.decode(g.latents * ir.latent_format.lsb, g.module_sum, rescale=False)
    img = r.decoder.predict(g.latents * ir.latent_format.lsb, verbose=0)
    from encoder import geometry
    c2p = geometry.load("hgcal").arrangement("8x8").cell_to_pixel
    want = img.reshape(len(img), -1)[:, c2p] * 2.0 ** g.shift[:, None] / 35.0
    np.testing.assert_allclose(raw, want, rtol=1e-6)


def test_decoder_follows_the_reference_architecture():
    from encoder.training.config import load_config
    from encoder.training.model import build_decoder
    dec = build_decoder(load_config(CONFIGS / "econt_8x8.yaml"))
    layers = [(type(layer).__name__, tuple(layer.output.shape[1:])) for layer in dec.layers]
    assert layers == [("InputLayer", (16,)), ("Dense", (128,)), ("Reshape", (4, 4, 8)),
                      ("Conv2DTranspose", (8, 8, 8)), ("Conv2DTranspose", (8, 8, 1)), ("Activation", (8, 8, 1))]
    assert dec.get_layer("dec_dense").activation.__name__ == "relu"
    t1, t2 = dec.get_layer("dec_convT0"), dec.get_layer("dec_out")
    assert (t1.kernel_size, t1.strides, t1.activation.__name__) == ((3, 3), (2, 2), "relu")
    assert (t2.kernel_size, t2.strides, t2.activation.__name__) == ((3, 3), (1, 1), "linear")
    assert dec.get_layer("dec_act").activation.__name__ == "sigmoid"
    dec443 = build_decoder(load_config(CONFIGS / "econt_4x4x3.yaml"))
    assert tuple(dec443.output.shape[1:]) == (4, 4, 3)


def test_a_wider_deeper_decoder_keeps_the_encoder_and_the_output_shape(tmp_path):
    from encoder.training.config import load_config
    from encoder.training.model import build_decoder, build_encoder
    (tmp_path / "wide.yaml").write_text(f"extends: {CONFIGS / 'econt_8x8.yaml'}\n"
                                        "decoder: {filters: 32, extra_layers: 2}\n")
    cfg = load_config(tmp_path / "wide.yaml")
    dec = build_decoder(cfg)
    layers = [(type(layer).__name__, tuple(layer.output.shape[1:])) for layer in dec.layers]
    assert layers == [("InputLayer", (16,)), ("Dense", (512,)), ("Reshape", (4, 4, 32)),
                      ("Conv2DTranspose", (8, 8, 32)), ("Conv2DTranspose", (8, 8, 32)),
                      ("Conv2DTranspose", (8, 8, 32)), ("Conv2DTranspose", (8, 8, 1)), ("Activation", (8, 8, 1))]
    assert build_encoder(cfg).count_params() == 2144            # the chip's side is unchanged
    assert load_config(tmp_path / "wide.yaml").to_dict()["decoder"] == {
        "output_activation": "sigmoid", "filters": 32, "extra_layers": 2}


def test_decoder_restores_the_input_shape_for_valid_padding_and_odd_strides():
    from encoder.training.config import parse_config
    from encoder.training.model import build_decoder, build_encoder
    q = {"bits": 6, "integer": 0}
    d = {"geometry": "square8", "arrangement": "8x8", "encoder": {"conv": [
        {"filters": 3, "kernel": [3, 2], "strides": [2, 3], "padding": "valid", "weight": q, "bias": q,
         "activation": q},
        {"filters": 2, "kernel": 2, "strides": 1, "padding": "same", "weight": q, "bias": q, "activation": q}],
        "latent": {"size": 5, "weight": q, "bias": q, "activation": q}}}
    cfg = parse_config(d)
    assert tuple(build_encoder(cfg).output.shape[1:]) == (5,)
    assert tuple(build_decoder(cfg).output.shape[1:]) == (8, 8, 1)


def test_input_quantizer_gives_the_golden_input_codes():
    from encoder import golden
    from encoder.training.config import InputSettings, load_config
    from encoder.training.export import export_model
    from encoder.training.model import build_encoder
    from encoder.training.tf_env import keras
    from encoder.training.verify import qkeras_input, stress_charges
    cfg = load_config(CONFIGS / "econt_8x8.yaml")
    enc = build_encoder(cfg)
    ir = export_model(enc, InputSettings.from_config(cfg))
    counts = inputpath.to_counts(stress_charges(np.random.default_rng(4), 5000, 48), 35.0, 22).counts
    q_in = keras.Model(enc.input, enc.get_layer("input_q").output).predict(qkeras_input(ir, counts), verbose=0)
    codes = golden.run(ir, counts=counts).input_codes
    np.testing.assert_array_equal(np.ldexp(q_in.astype(np.float64), 7), codes)
    assert codes.max() == 255                     # a single hot cell saturates at 255/128


def test_losses_match_hand_computation_on_one_cell():
    """p - t = a on TC 0 only: each telescope term by hand from hgcal_module.json."""
    import json
    from encoder import geometry
    from encoder.training import losses
    raw = json.loads((Path(geometry.__file__).parent / "hgcal_module.json").read_text())
    geo = geometry.load("hgcal")
    a = 0.75
    t = np.zeros((1, 48), np.float32)
    p = t.copy()
    p[0, 0] = a
    w0 = sum(g["weight"] for g in raw["telescope_2x2_groups"] if 0 in g["tcs"])
    n_groups = len(raw["telescope_2x2_groups"])
    n_sectors = len(set(raw["tc_sector"]))
    want = 4 * a**3 / 48 + 2 * w0 * a**3 / n_groups + a**3 / n_sectors
    assert float(losses.telescope(geo)(t, p)[0]) == pytest.approx(want, rel=1e-6)
    assert float(losses.mse(t, p)[0]) == pytest.approx(a**2 / 48, rel=1e-6)
    assert float(losses.weighted_mse(t, p)[0]) == pytest.approx(a**3 / 48, rel=1e-6)
    assert float(losses.telescope(geo)(p, p)[0]) == 0.0
