"""The kit reproduces the ECON-T chip bit for bit on its test vectors.

Chain: `encoder econt import init.yaml` -> IR; `encoder econt decode-input
testInput.csv` -> data file; the golden model on that data; `encoder econt
frames` -> output words. Every BX is compared with the chip's vectors.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from encoder import golden
from encoder.cli import main
from encoder.data import load_data
from encoder.ir import load_ir
from encoder.econt.framing import bx_counter_field

DATA = Path(__file__).parent / "data" / "econt"
INIT = DATA / "AE" / "init.yaml"
N_BX = 3564


def run(*argv):
    return main([str(a) for a in argv])


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    d = tmp_path_factory.mktemp("econt_chain")
    assert run("econt", "import", INIT, "--out", d / "ir.json") == 0
    assert run("econt", "decode-input", DATA / "testInput.csv", "--config", INIT, "--ir", d / "ir.json",
               "--out", d / "data.npz") == 0
    assert run("golden", d / "ir.json", "--data", d / "data.npz", "--out", d / "latents.npz") == 0
    assert run("econt", "frames", d / "latents.npz", "--config", INIT, "--data", d / "data.npz",
               "--out", d / "testOutput.csv") == 0
    return d


def test_imported_weights_equal_the_decoded_weight_image(chain):
    ref = json.loads((DATA / "AE" / "weights_decoded.json").read_text())
    conv, _, dense = load_ir(chain / "ir.json").layers
    # the reference lists conv weights k=(ky*3+kx)*8+f, dense weights k=j*128+i (latent-major)
    assert conv.weight.reshape(-1).tolist() == ref["conv_w"]
    assert conv.bias.tolist() == ref["conv_b"]
    assert dense.weight.T.reshape(-1).tolist() == ref["dense_w"]
    assert dense.bias.tolist() == ref["dense_b"]


def test_imported_ir_states_the_chip_arithmetic(chain):
    ir = load_ir(chain / "ir.json")
    conv, _, dense = ir.layers
    assert (str(ir.input.format), ir.input.rounding, ir.input.normalisation) == ("u8.7", "floor", "leading_one")
    assert (conv.product_frac, conv.product_rounding, conv.activation) == (7, "floor", "relu")
    assert (dense.product_frac, dense.product_rounding, dense.activation) == (8, "floor", "relu")
    assert (str(dense.output.format), dense.output.rounding, dense.output.overflow) == ("u9.8", "floor", "saturate")
    assert str(conv.weight_format) == str(conv.bias_format) == str(dense.weight_format) == "s6.5"
    # conv output wide enough for any 6-bit weights: 9 taps * floor(255*31/32) + 31*4 = 2347 < 2^12
    assert str(conv.output.format) == "u12.7" and "never saturates" in ir.source["notes"]["conv_output"]
    src = ir.source["econt"]
    assert (src["density"], src["n_elinks"], src["mux"][:4], src["cal"][0]) == (1, 5, [5, 6, 7, 1], 2048)


def test_decoded_input_equals_the_chip_calq_for_every_bx(chain):
    ref = np.loadtxt(DATA / "calq_ae_order.csv", delimiter=",", skiprows=1, dtype=np.int64)
    data = load_data(chain / "data.npz")
    ir = load_ir(chain / "ir.json")
    assert data.n_modules == N_BX and ref.shape == (N_BX, 49)
    assert np.array_equal(data.meta["calq"], ref[:, 1:])
    assert np.array_equal(data.meta["bx"], ref[:, 0])
    # charges in MIPs give the integer CALQ back through the IR's counts per MIP
    assert np.array_equal(np.rint(data.charges * ir.input.counts_per_mip).astype(np.int64), ref[:, 1:])
    assert data.meta["header"][0] == 0x9 and np.all(data.meta["header"][1:] == 0xA)


def test_golden_model_equals_the_chip_latents_and_sum_code_for_every_bx(chain):
    exp = np.loadtxt(DATA / "AE" / "expected_outputs.csv", delimiter=",", skiprows=1, dtype=np.int64)
    ir = load_ir(chain / "ir.json")
    res = golden.run(ir, load_data(chain / "data.npz").charges)
    assert exp.shape == (N_BX, 19)
    assert int((res.latents == exp[:, 3:]).all(axis=1).sum()) == N_BX
    assert int((res.sum_code == exp[:, 2]).sum()) == N_BX
    with np.load(chain / "latents.npz") as z:
        assert np.array_equal(z["latents"], exp[:, 3:]) and np.array_equal(z["sum_code"], exp[:, 2])
    assert np.array_equal(bx_counter_field(N_BX, [0]), exp[:, 1])


def test_framed_words_equal_the_chip_output_for_every_row_and_column(chain):
    ours = (chain / "testOutput.csv").read_text().splitlines()
    chip = (DATA / "AE" / "testOutput.csv").read_text().splitlines()
    assert len(ours) == len(chip) == N_BX + 1
    assert ours[0] == chip[0]
    mismatched = [i for i, (a, b) in enumerate(zip(ours[1:], chip[1:])) if a != b]
    assert mismatched == []
    assert len(ours[1].split(",")) == 13


def test_frames_without_data_file_count_from_bx_zero(chain, tmp_path):
    # the vectors' counter resets on BX 0, so the default gives the same words
    out = tmp_path / "out.csv"
    assert run("econt", "frames", chain / "latents.npz", "--config", INIT, "--out", out) == 0
    assert out.read_text() == (DATA / "AE" / "testOutput.csv").read_text()
