"""Small IRs built by hand for tests."""

import numpy as np

from encoder.ir import FixedFormat
from encoder.ir.schema import Conv2DLayer, DenseLayer, EncoderIR, FlattenLayer, InputPath, Requant, infer_accumulators


def tiny_dense_ir(weight, bias, *, in_fmt=FixedFormat(False, 4, 3), w_fmt=FixedFormat(True, 4, 2),
                  out=Requant(FixedFormat(False, 5, 2), "half_even", "saturate"),
                  product_frac=None, rounding="half_even", n_cells=4):
    """Cells -> 1x1xn image -> flatten -> dense: the smallest complete encoder."""
    weight = np.asarray(weight, dtype=np.int64)
    ip = InputPath(n_cells=n_cells, arrangement="line", shape=(1, n_cells, 1),
                   pixel_to_cell=np.arange(n_cells), format=in_fmt, rounding=rounding, counts_per_mip=1.0)
    layers = [FlattenLayer("flatten", (1, n_cells, 1)),
              DenseLayer(name="dense", input_shape=(n_cells,), weight=weight, weight_format=w_fmt,
                         bias=np.asarray(bias, dtype=np.int64), bias_format=w_fmt, output=out,
                         product_frac=product_frac)]
    ir = EncoderIR("tiny", "line", ip, layers)
    infer_accumulators(ir)
    return ir


def tiny_conv_ir(seed=0, *, shape=(5, 4, 2), filters=3, kernel=(3, 2), strides=(2, 1), padding=(0, 1, 1, 0)):
    rng = np.random.default_rng(seed)
    w_fmt = FixedFormat(True, 5, 3)
    n_cells = int(np.prod(shape))
    ip = InputPath(n_cells=n_cells, arrangement="identity", shape=shape, pixel_to_cell=np.arange(n_cells),
                   format=FixedFormat(False, 6, 5), rounding="half_even", counts_per_mip=1.0)
    conv = Conv2DLayer(name="conv", input_shape=shape,
                       weight=rng.integers(-16, 16, (*kernel, shape[2], filters)), weight_format=w_fmt,
                       bias=rng.integers(-16, 16, filters), bias_format=w_fmt,
                       output=Requant(FixedFormat(False, 7, 4), "half_even", "saturate"),
                       kernel=kernel, strides=strides, padding=padding)
    ir = EncoderIR("tiny_conv", "identity", ip, [conv])
    infer_accumulators(ir)
    return ir
