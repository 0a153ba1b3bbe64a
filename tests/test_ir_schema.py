"""The IR file: round trip, content hash, validation errors, accumulator widths by hand."""

import json

import numpy as np
import pytest

from encoder.ir import IRError, load_ir, save_ir
from encoder.ir.schema import EncoderIR, accumulator_range, programmable_range
from irtools import tiny_conv_ir, tiny_dense_ir


def _dense():
    return tiny_dense_ir([[1, -2], [3, 4], [-8, 7], [0, 5]], [2, -3])


def test_round_trip_keeps_every_field_and_hash(tmp_path):
    ir = tiny_conv_ir()
    path = save_ir(ir, tmp_path / "ir.json")
    back = load_ir(path)
    assert back.to_dict() == ir.to_dict()
    assert back.hash == ir.hash == json.loads(path.read_text())["hash"]


def test_same_content_same_hash_and_any_weight_change_changes_it():
    a, b = _dense(), _dense()
    assert a.hash == b.hash
    b.layers[1].weight[0, 0] += 1
    assert a.hash != b.hash


def test_save_refuses_to_overwrite(tmp_path):
    save_ir(_dense(), tmp_path / "ir.json")
    with pytest.raises(FileExistsError):
        save_ir(_dense(), tmp_path / "ir.json")


def test_accumulator_range_by_hand():
    # inputs u4.3 codes in [0, 15], weights s4.2, bias s4.2 aligned to frac 5 (<< 3)
    # output 0: max 15*1 + 15*3 + 0 + 0 + 2*8 = 76; min 15*-8 + 2*8 = -104
    # output 1: max 15*(4+7+5) - 3*8 = 216; min 15*-2 - 24 = -54
    ir = _dense()
    layer = ir.layers[1]
    assert accumulator_range(layer, 0, 15, 3) == (-104, 216)
    assert (layer.accumulator.signed, layer.accumulator.bits, layer.accumulator.frac) == (True, 9, 5)
    # any 4-bit weights: 4 taps * 15 * [-8, 7] + bias [-8, 7] << 3
    assert programmable_range(layer, 0, 15, 3) == (4 * 15 * -8 - 64, 4 * 15 * 7 + 56)


def _edited(tmp_path, edit):
    d = _dense().to_dict()
    edit(d)
    d.pop("hash")
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(d))
    return path


@pytest.mark.parametrize("edit,message", [
    (lambda d: d.update(version=99), "version"),
    (lambda d: d.update(schema="other"), "schema"),
    (lambda d: d["layers"][1].pop("bias"), "layers[1]: missing field 'bias'"),
    (lambda d: d["layers"][1]["weight"]["values"].__setitem__(0, 8), "outside the s4.2 code range"),
    (lambda d: d["layers"][1]["accumulator"].update(bits=6), "cannot hold the range"),
    (lambda d: d["layers"][1].update(activation="tanh"), "activation"),
    (lambda d: d["layers"][1]["output"].update(rounding="stochastic"), "rounding"),
    (lambda d: d["layers"][0].update(input_shape=[1, 5, 1]), "does not follow"),
    (lambda d: d["input"]["arrangement"]["pixel_to_cell"].__setitem__(0, 9), "pixel_to_cell"),
])
def test_bad_files_fail_with_the_field_named(tmp_path, edit, message):
    path = _edited(tmp_path, edit)
    with pytest.raises(IRError) as err:
        load_ir(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_hand_edited_content_is_caught_by_the_hash(tmp_path):
    d = _dense().to_dict()
    d["layers"][1]["weight"]["values"][0] = 2
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(d))
    with pytest.raises(IRError, match="hash"):
        load_ir(path)


def test_not_json_and_missing_file_are_one_line_errors(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text("{nope")
    with pytest.raises(IRError, match="not JSON"):
        load_ir(bad)
    with pytest.raises(IRError, match="cannot read"):
        load_ir(tmp_path / "missing.json")


def test_conv_output_shape_follows_padding_and_stride():
    ir = tiny_conv_ir(shape=(5, 4, 2), kernel=(3, 2), strides=(2, 1), padding=(0, 1, 1, 0))
    # rows: (5 + 0 + 1 - 3) // 2 + 1 = 2; cols: (4 + 1 + 0 - 2) // 1 + 1 = 4
    assert ir.layers[0].output_shape == (2, 4, 3)
    assert ir.n_latent == 24 and ir.n_params == 3 * 2 * 2 * 3 + 3
    assert isinstance(EncoderIR.from_dict(ir.to_dict()), EncoderIR)
