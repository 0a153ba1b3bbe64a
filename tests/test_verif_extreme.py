"""Weight sets at the formats' limits (encoder.ir.extreme), and the configuration port's corner cases.

The sets are checked against the formats directly (every code at max, at min, by turns, uniform over
the range), tensor by tensor, signed and unsigned. Then the tiny_conv preset runs on both simulators in
both weight modes with them: a programmable design loads one set through the configuration port and
another live, a constant design is generated from a set. Last, a design with three configuration-port
bugs planted (a write taken during cfg_rst, a read forwarded from the write in its own cycle, writes
dropped during the datapath reset) fails with each named.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from encoder import golden
from encoder.errors import UserError
from encoder.ir import FixedFormat, load_ir, save_ir
from encoder.ir.extreme import WEIGHT_SETS, extreme_ir
from encoder.ir.schema import infer_accumulators
from encoder.ir.synthetic import synthetic_ir
from encoder.rtl_gen import generate, write_design
from encoder.verif.models import same_architecture
from cli_helpers import one_line_error
from encoder.cli import main
from irtools import tiny_dense_ir
from verif_helpers import sim


def _mixed_formats_ir():
    """Unsigned 3-bit weights, signed 6-bit biases: each tensor must follow its own format."""
    ir = tiny_dense_ir(np.array([[1, 2], [3, 0], [2, 1], [0, 3]]), [0, 1], w_fmt=FixedFormat(False, 3, 1))
    layer = ir.mac_layers[0]
    layer.bias_format = FixedFormat(True, 6, 1)
    layer.accumulator = None
    infer_accumulators(ir)
    return ir


@pytest.mark.parametrize("ir_factory", [_mixed_formats_ir, lambda: synthetic_ir("econt_8x8", "econt", seed=3)],
                         ids=["unsigned_weights_signed_bias", "econt_8x8_econt"])
def test_every_code_sits_at_its_own_formats_limits(ir_factory):
    ir = ir_factory()
    for which in WEIGHT_SETS:
        out = extreme_ir(ir, which, seed=5)
        assert same_architecture(ir, out) and out.name.startswith(ir.name)
        for layer in out.mac_layers:
            for codes, fmt in ((layer.weight, layer.weight_format), (layer.bias, layer.bias_format)):
                flat = codes.ravel()
                lo, hi = fmt.min_code, fmt.max_code
                if which == "max":
                    assert (flat == hi).all()
                elif which == "min":
                    assert (flat == lo).all()
                elif which == "alternating":
                    assert (flat[0::2] == hi).all() and (flat[1::2] == lo).all()
                else:
                    assert flat.min() >= lo and flat.max() <= hi
    uni = [extreme_ir(ir, "uniform", seed=s) for s in (5, 5, 6)]
    assert uni[0].hash == uni[1].hash != uni[2].hash


def test_uniform_set_reaches_both_ends_of_a_wide_format():
    ir = synthetic_ir("econt_8x8", "qkeras", seed=3)
    conv = extreme_ir(ir, "uniform", seed=1).mac_layers[0]
    fmt = conv.weight_format
    assert conv.weight.min() == fmt.min_code and conv.weight.max() == fmt.max_code


def test_limit_sets_save_load_and_drive_the_golden_model_to_saturation(tmp_path):
    ir = synthetic_ir("tiny_conv", "qkeras", seed=3)
    counts = np.full((4, ir.input.n_cells), (1 << ir.input.charge_bits) - 1, dtype=np.int64)
    lat = {}
    for which in ("max", "min"):
        p = save_ir(extreme_ir(ir, which), tmp_path / f"{which}.json")
        back = load_ir(p)
        lat[which] = golden.run(back, counts=counts).latents
    # u8.5 latents behind ReLU layers that saturate: every code at max drives each latent to the top,
    # every code at min (negative) to zero.
    assert ir.latent_format == FixedFormat(False, 8, 5) and {m.activation for m in ir.mac_layers} == {"relu"}
    assert (lat["max"] == 255).all() and (lat["min"] == 0).all()


def test_ir_extreme_command_writes_a_checked_ir_and_refuses_to_overwrite(tmp_path, capsys):
    src = tmp_path / "ir.json"
    save_ir(synthetic_ir("tiny_conv", "qkeras", seed=3), src)
    out = tmp_path / "alt.json"
    assert main(["ir", "extreme", str(src), "--set", "alternating", "--out", str(out)]) == 0
    assert load_ir(out).hash == extreme_ir(load_ir(src), "alternating").hash
    capsys.readouterr()
    assert main(["ir", "extreme", str(src), "--set", "max", "--out", str(out)]) == 1
    one_line_error(capsys, "already exists")
    assert load_ir(out).name.endswith("_alternating")


# ---- simulations on the tiny_conv preset ---------------------------------------------------------

IR = synthetic_ir("tiny_conv", "qkeras", seed=3)


def _design(tmp_path: Path, ir, weights: str) -> Path:
    d = tmp_path / f"design_{weights}"
    write_design(generate(ir, weights, 0), d)
    return d


@pytest.mark.parametrize("simulator,first,reload", [("icarus", "max", "alternating"), ("verilator", "uniform", "min")])
def test_programmable_design_equals_golden_model_with_limit_weights_loaded_and_reloaded_live(
        tmp_path, simulator, first, reload):
    d = _design(tmp_path, IR, "programmable")
    other = save_ir(extreme_ir(IR, reload), tmp_path / f"{reload}.json")
    code, s, _, run_dir = sim(d, tmp_path / "run", sim=simulator, vectors=150, seed=3, weights_set=first,
                              reload_ir=str(other))
    assert code == 0 and s["status"] == "pass" and s["checked"] == 150, s
    tag = f"{first}_s3" if first == "uniform" else first
    assert s["weights_set"] == first and s["models"][0]["name"] == f"{IR.name}_{tag}"
    assert s["live_reloads"] >= 1 and s["config_errors"] == 0 and s["register_read_back_errors"] == 0
    events = {e["event"] for e in json.loads((run_dir / "shards" / "00" / "result.json").read_text())["events"]}
    assert {"writes_in_cfg_reset", "read_during_write", "writes_in_reset"} <= events


@pytest.mark.parametrize("simulator,which", [("icarus", "min"), ("verilator", "alternating")])
def test_constant_design_generated_from_limit_weights_equals_golden_model(tmp_path, simulator, which):
    d = _design(tmp_path, extreme_ir(IR, which), "constant")
    code, s, _, _ = sim(d, tmp_path / "run", sim=simulator, vectors=150, seed=4)
    assert code == 0 and s["status"] == "pass" and s["checked"] == 150, s


def test_a_constant_design_refuses_a_weight_set_it_cannot_load(tmp_path):
    d = _design(tmp_path, IR, "constant")
    with pytest.raises(UserError, match="encoder ir extreme"):
        sim(d, tmp_path / "run", vectors=10, weights_set="max")
    assert not (tmp_path / "run").exists()


PLANTS = {
    # The write wins over cfg_rst in the weight banks.
    "write during cfg_rst": ("enc_cfg_block.v",
                             "        if (clear) begin\n            written <= {COUNT*WIDTH{1'b0}};\n"
                             "        end else if (write) begin\n            written[addr*WIDTH +: WIDTH] <= wdata;\n"
                             "        end",
                             "        if (write) begin\n            written[addr*WIDTH +: WIDTH] <= wdata;\n"
                             "        end else if (clear) begin\n            written <= {COUNT*WIDTH{1'b0}};\n"
                             "        end"),
    # Read-back forwards the word being written.
    "read during write": (None, "always @(posedge clk) cfg_rdata <= cfg_rdata_next;",
                          "always @(posedge clk) cfg_rdata <= cfg_we ? cfg_wdata : cfg_rdata_next;"),
    # The datapath reset blocks configuration writes (RD_ACTIVE's among them).
    "write during reset": ("enc_cfg_ctrl.v", "if (we && addr == A_RD_ACTIVE) read_active <= wdata[0];",
                           "if (we && addr == A_RD_ACTIVE && !datapath_rst) read_active <= wdata[0];"),
}


def test_configuration_port_bugs_at_reset_and_read_during_write_are_each_caught(tmp_path):
    d = _design(tmp_path, IR, "programmable")
    top = d / f"{IR.name}.v"
    for what, (f, old, new) in PLANTS.items():
        path = d / f if f else top
        text = path.read_text()
        assert text.count(old) == 1, what
        path.write_text(text.replace(old, new))
    # enc_cfg_ctrl gets the datapath reset through a hierarchical reference (simulation only).
    ctrl = d / "enc_cfg_ctrl.v"
    tap = f"    wire datapath_rst = {IR.name}.rst;\n"
    ctrl.write_text(ctrl.read_text().replace("    reg                 enable;", tap + "    reg                 enable;", 1))
    code, s, _, run_dir = sim(d, tmp_path / "run", vectors=100, seed=2)
    assert code == 1 and s["status"] != "pass" and s["config_errors"] > 0
    errors = json.loads((run_dir / "shards" / "00" / "result.json").read_text())["config_errors"]
    assert {e["when"] for e in errors} >= set(PLANTS)
