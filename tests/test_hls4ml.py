"""hls4ml interop: the configuration states the IR's types exactly; with hls4ml installed (the
optional extra `.[hls4ml]`), its C simulation of the QKeras model equals the golden model bit for bit,
where hls4ml's own type inference does not."""

import importlib.util
import shutil

import numpy as np
import pytest
import yaml

from encoder import hls4ml_config as H
from encoder.cli import main
from encoder.ir.synthetic import synthetic_ir
from encoder.training.hls4ml_convert import convert

HAVE_HLS4ML = importlib.util.find_spec("hls4ml") is not None
NO_HLS4ML = "hls4ml not installed (optional extra: pip install -e '.[hls4ml]')"


def test_ap_types_by_hand():
    from encoder.ir import FixedFormat
    assert H.ap_type(FixedFormat(False, 8, 7)) == "ufixed<8,1,RND_CONV,SAT>"    # quantized_bits(8,1,keep_negative=0)
    assert H.ap_type(FixedFormat(True, 6, 5), "floor", "wrap") == "fixed<6,1,TRN,WRAP>"
    assert H.ap_type(FixedFormat(False, 9, 8), "half_up") == "ufixed<9,1,RND,SAT>"
    assert H.ap_type(FixedFormat(True, 18, 12)) == "fixed<18,6,RND_CONV,SAT>"


def test_cli_writes_every_type_of_the_ir_explicitly(tmp_path, capsys):
    ir = synthetic_ir("econt_8x8", "qkeras", seed=2)
    from encoder.ir import save_ir
    save_ir(ir, tmp_path / "ir.json")
    out = tmp_path / "cfg.yaml"
    assert main(["export-hls4ml", str(tmp_path / "ir.json"), "--out", str(out)]) == 0
    cfg = yaml.safe_load(out.read_text())
    layers = cfg["LayerName"]
    conv, dense = ir.layers[0], ir.layers[2]
    assert layers["input_q"]["Precision"]["result"] == (
        f"ufixed<{ir.input.format.bits},{ir.input.format.bits - ir.input.format.frac},RND_CONV,SAT>")
    for lay, act in ((conv, "conv_act"), (dense, "latent")):
        p = layers[lay.name]["Precision"]
        w, acc, o = lay.weight_format, lay.accumulator, lay.output.format
        assert p["weight"] == f"fixed<{w.bits},{w.bits - w.frac},RND_CONV,SAT>"
        assert p["accum"] == p["result"] == f"fixed<{acc.bits},{acc.bits - acc.frac},TRN,WRAP>"
        assert layers[act]["Precision"]["result"].startswith(f"ufixed<{o.bits},{o.bits - o.frac},")
    # every type carries its quantization and overflow modes: nothing left to hls4ml's defaults
    types = [t for v in layers.values() for t in v["Precision"].values()]
    assert all(t.count(",") == 3 and "auto" not in t for t in types)
    assert main(["export-hls4ml", str(tmp_path / "ir.json"), "--out", str(out)]) == 1     # no silent overwrite
    assert "already exists" in capsys.readouterr().err


def test_chip_arithmetic_is_refused_by_layer_name(tmp_path, capsys):
    ir = synthetic_ir("econt_8x8", "econt", seed=2)
    from encoder.errors import UserError
    with pytest.raises(UserError, match="layer conv: products rounded"):
        H.config(ir)


@pytest.mark.skipif(not HAVE_HLS4ML, reason=NO_HLS4ML)
@pytest.mark.skipif(shutil.which("g++") is None, reason="hls4ml's C simulation needs g++")
def test_hls4ml_c_simulation_equals_the_golden_model_and_its_default_does_not(tmp_path):
    from encoder import golden, inputpath
    from encoder.training import export, model
    from encoder.training.config import InputSettings, load_config
    from encoder.training.inputs import from_counts
    from encoder.training.verify import stress_charges
    from pathlib import Path
    cfg = load_config(Path(__file__).resolve().parents[1] / "configs" / "econt_8x8.yaml")
    enc = model.build_encoder(cfg)
    model.set_random_weights(enc, np.random.default_rng(7), scale=1.0)
    ir = export.export_model(enc, InputSettings.from_config(cfg))
    charges = stress_charges(np.random.default_rng(3), 2000, 48, (1 << cfg.input.charge_bits) - 1,
                             cfg.input.counts_per_mip)
    counts = inputpath.to_counts(charges, cfg.input.counts_per_mip, cfg.input.charge_bits).counts
    x = np.ascontiguousarray(from_counts(cfg, counts).image, dtype=np.float64)
    want = golden.run(ir, counts=counts).latents
    lsb = 2.0 ** -ir.latent_format.frac
    rates = {}
    for default in (False, True):
        hm = convert(enc, ir, tmp_path / ("default" if default else "ours"), default=default)
        hm.compile()
        got = np.rint(np.asarray(hm.predict(x)).reshape(want.shape) / lsb).astype(np.int64)
        rates[default] = float(np.mean(got != want))
    print(f"latents differing from the golden model: ours {rates[False]:.4f}, hls4ml default {rates[True]:.4f}")
    assert rates[False] == 0.0
    assert rates[True] > 0.05          # the default's signed input type loses the top bit of u8.7


def test_check_flags_what_hls4ml_would_infer_and_passes_our_own(tmp_path, capsys):
    from encoder.ir import save_ir
    ir = synthetic_ir("econt_8x8", "qkeras", seed=2)
    save_ir(ir, tmp_path / "ir.json")
    ours = tmp_path / "ours.yaml"
    assert main(["export-hls4ml", str(tmp_path / "ir.json"), "--out", str(ours)]) == 0
    assert main(["export-hls4ml", str(tmp_path / "ir.json"), "--check", str(ours)]) == 0
    assert "every precision equals" in capsys.readouterr().out
    # hls4ml's own inference (config_from_keras_model, as measured with hls4ml 1.3.0): a signed input type,
    # accumulators and linear outputs left to "auto"
    conv = ir.layers[0]
    w = conv.weight_format
    default = {"LayerName": {
        "input_q": {"Precision": {"result": "fixed<8,2,RND_CONV,SAT,0>"}},
        "conv": {"Precision": {"weight": f"fixed<{w.bits},{w.bits - w.frac},TRN,WRAP,0>", "accum": "auto"}}}}
    other = tmp_path / "default.yaml"
    other.write_text(yaml.safe_dump(default))
    assert main(["export-hls4ml", str(tmp_path / "ir.json"), "--check", str(other)]) == 1
    out = capsys.readouterr().out
    assert "input_q.result: fixed<8,2,RND_CONV,SAT,0>" in out
    assert "conv.accum: auto (hls4ml infers it)" in out
    assert "conv.weight" not in out                     # same width and integer bits: modes never act on codes
    assert main(["export-hls4ml", str(tmp_path / "ir.json")]) == 1      # neither --out nor --check
    assert H.parse_type("ap_ufixed<9,1,RND_CONV,SAT>") == {"signed": False, "bits": 9, "integer": 1,
                                                            "rounding": "RND_CONV", "overflow": "SAT"}
    assert H.parse_type("auto") is None
