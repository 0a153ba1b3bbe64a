"""The integer intermediate representation of a quantized encoder.

The IR is the contract between training and hardware: golden model, RTL
emitter, resource estimates and simulations read it (a JSON file), never a
Keras object.
"""

from .fixed import FixedFormat, apply_overflow, bits_for_range, requantize, shift_round
from .schema import (
    IR_SCHEMA,
    IR_VERSION,
    DenseLayer,
    Conv2DLayer,
    FlattenLayer,
    InputPath,
    EncoderIR,
    IRError,
)
from .irfile import load_ir, save_ir

__all__ = [
    "FixedFormat", "apply_overflow", "bits_for_range", "requantize", "shift_round",
    "IR_SCHEMA", "IR_VERSION", "DenseLayer", "Conv2DLayer", "FlattenLayer", "InputPath",
    "EncoderIR", "IRError", "load_ir", "save_ir",
]
