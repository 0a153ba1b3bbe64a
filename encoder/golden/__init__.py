"""Integer NumPy golden model: the executable specification of the hardware."""

from .model import GoldenResult, conv_as_matrix, encode, input_codes, run, run_layers

__all__ = ["GoldenResult", "conv_as_matrix", "encode", "input_codes", "run", "run_layers"]
