"""The golden model on cases small enough to work out by hand, and its conv against a direct loop."""

import numpy as np
import pytest

from encoder import golden
from encoder.ir import FixedFormat
from encoder.ir.fixed import shift_round
from encoder.ir.schema import Requant
from irtools import tiny_conv_ir, tiny_dense_ir


def test_dense_by_hand_with_half_even_output():
    # counts [3, 1, 0, 0]: sum 4, m = 2, inputs u4.3 = counts * 2^(3-2) = [6, 2, 0, 0] (0.75, 0.25)
    # out0 = 6*1 + 2*3 = 12 (frac 5) + bias 2 << 3 = 16 -> 28/2^5 = 0.875 -> u5.2: 3.5 LSB -> half even 4
    # out1 = 6*-2 + 2*4 = -4, bias -3 << 3 = -24 -> -28 -> relu 0
    ir = tiny_dense_ir([[1, -2], [3, 4], [-8, 7], [0, 5]], [2, -3])
    res = golden.run(ir, counts=np.array([[3, 1, 0, 0]]))
    assert res.input_codes.ravel().tolist() == [6, 2, 0, 0]
    assert res.shift.tolist() == [2]
    assert res.latents.tolist() == [[4, 0]]
    assert res.module_sum.tolist() == [4] and res.sum_code.tolist() == [4]


def test_floored_products_differ_from_exact_sum_by_hand():
    # counts [3, 1, 0, 0] -> inputs u4.3 [6, 2]; weights +-1 (s4.2 code 4 would be 1.0; here code 1 = 0.25)
    # products at frac 5: 6 and 2; floored to frac 3 (>> 2): 1 and 0 -> sum 1 -> u5.2 floor: 0
    # exact: 6 + 2 = 8 at frac 5 -> u5.2 floor: 8 >> 3 = 1
    w, b = [[1, -1], [1, -1], [0, 0], [0, 0]], [0, 0]
    floor_out = Requant(FixedFormat(False, 5, 2), "floor", "saturate")
    floored = tiny_dense_ir(w, b, product_frac=3, rounding="floor", out=floor_out)
    exact = tiny_dense_ir(w, b, rounding="floor", out=floor_out)
    counts = np.array([[3, 1, 0, 0]])
    assert golden.run(floored, counts=counts).latents.tolist() == [[0, 0]]
    assert golden.run(exact, counts=counts).latents.tolist() == [[1, 0]]
    # input rounding "floor": counts [5, 2, 0, 0], sum 7, m 2: 5 * 2 = 10, 2 * 2 = 4 (exact, no rounding needed)
    assert golden.run(floored, counts=np.array([[5, 2, 0, 0]])).input_codes.ravel().tolist() == [10, 4, 0, 0]


def test_output_saturates_at_the_format_top():
    ir = tiny_dense_ir([[7, 7], [7, 7], [7, 7], [7, 7]], [7, 7],
                       out=Requant(FixedFormat(False, 4, 2), "half_even", "saturate"))
    # counts [1, 1, 1, 1]: inputs 2 each (0.25): 4 * 2 * 7 + (7 << 3) = 112 (frac 5) -> 3.5 -> code 14
    assert golden.run(ir, counts=np.array([[1, 1, 1, 1]])).latents.tolist() == [[14, 14]]
    # counts [7, 0, 0, 0]: m 2, input 14: 14 * 7 + 56 = 154 -> 19.25 -> saturates at 15
    assert golden.run(ir, counts=np.array([[7, 0, 0, 0]])).latents.tolist() == [[15, 15]]


def _direct_conv(ir, x):
    """Straightforward loop over output positions and taps, in exact integers."""
    layer = ir.layers[0]
    h, w, cin = layer.input_shape
    oh, ow, cout = layer.output_shape
    top, _, left, _ = layer.padding
    in_frac = ir.input.format.frac
    out = np.zeros((len(x), oh, ow, cout), dtype=np.int64)
    for n in range(len(x)):
        for r in range(oh):
            for c in range(ow):
                for f in range(cout):
                    acc = 0
                    for ky in range(layer.kernel[0]):
                        for kx in range(layer.kernel[1]):
                            y, xx = r * layer.strides[0] + ky - top, c * layer.strides[1] + kx - left
                            if 0 <= y < h and 0 <= xx < w:
                                for ci in range(cin):
                                    acc += int(x[n, y, xx, ci]) * int(layer.weight[ky, kx, ci, f])
                    acc += int(layer.bias[f]) << (in_frac + layer.weight_format.frac - layer.bias_format.frac)
                    acc = max(acc, 0)
                    q = int(shift_round(np.int64(acc), in_frac + layer.weight_format.frac - layer.output.format.frac,
                                        "half_even"))
                    out[n, r, c, f] = min(q, layer.output.format.max_code)
    return out.reshape(len(x), -1)


@pytest.mark.parametrize("seed,padding,strides", [(0, (0, 1, 1, 0), (2, 1)), (1, (1, 1, 0, 0), (1, 2)),
                                                  (2, (0, 0, 0, 0), (1, 1))])
def test_conv_matches_a_direct_loop(seed, padding, strides):
    ir = tiny_conv_ir(seed, padding=padding, strides=strides)
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 50, (40, ir.input.n_cells))
    counts[0] = 0
    res = golden.run(ir, counts=counts)
    assert np.array_equal(res.latents, _direct_conv(ir, res.input_codes))
