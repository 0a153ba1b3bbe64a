"""The ECON-T autoencoder weight image: 2,144 six-bit fields in 12 register blocks.

Bit layout (one 12,864-bit number): block 0 is the least significant 1,072
bits; inside a block ``weights_byte0`` holds the least significant 128 bits,
then ``weights_byte16`` ... ``weights_byte112``, and ``weights_byte128`` the
top 48. Field k (6-bit two's complement, value/32) sits at bits 6k..6k+5:

- fields 0-71: conv weights, k = (ky*3 + kx)*8 + f  (Keras kernel[ky][kx][0][f])
- fields 72-79: conv biases, k = 72 + f
- fields 80-2127: dense weights, k = 80 + j*128 + i (latent j, flattened input i;
  the transpose of a Keras (128, 16) kernel)
- fields 2128-2143: dense biases, k = 2128 + j
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .registers import BLOCK_BITS, BLOCK_REGISTERS, N_BLOCKS

FIELD_BITS = 6
N_FIELDS = N_BLOCKS * BLOCK_BITS // FIELD_BITS          # 2,144
CONV_SHAPE = (3, 3, 1, 8)
DENSE_SHAPE = (128, 16)
N_CONV_W = int(np.prod(CONV_SHAPE))                     # 72
N_CONV_B = CONV_SHAPE[-1]                               # 8
N_DENSE_W = int(np.prod(DENSE_SHAPE))                   # 2,048
N_DENSE_B = DENSE_SHAPE[-1]                             # 16
CONV_B0 = N_CONV_W
DENSE_W0 = CONV_B0 + N_CONV_B
DENSE_B0 = DENSE_W0 + N_DENSE_W
assert DENSE_B0 + N_DENSE_B == N_FIELDS


@dataclass
class ChipWeights:
    """Integer codes (value * 32) in Keras layouts."""

    conv_w: np.ndarray      # (3, 3, 1, 8)
    conv_b: np.ndarray      # (8,)
    dense_w: np.ndarray     # (128, 16)
    dense_b: np.ndarray     # (16,)

    def fields(self) -> np.ndarray:
        """The 2,144 signed field values in image order."""
        return np.concatenate([
            np.asarray(self.conv_w, dtype=np.int64).reshape(-1),
            np.asarray(self.conv_b, dtype=np.int64).reshape(-1),
            np.asarray(self.dense_w, dtype=np.int64).T.reshape(-1),     # latent-major
            np.asarray(self.dense_b, dtype=np.int64).reshape(-1),
        ])

    @classmethod
    def from_fields(cls, f) -> "ChipWeights":
        f = np.asarray(f, dtype=np.int64)
        if f.shape != (N_FIELDS,):
            raise ValueError(f"expected {N_FIELDS} fields, got {f.size}")
        return cls(
            conv_w=f[:CONV_B0].reshape(CONV_SHAPE),
            conv_b=f[CONV_B0:DENSE_W0].copy(),
            dense_w=f[DENSE_W0:DENSE_B0].reshape(DENSE_SHAPE[::-1]).T.copy(),
            dense_b=f[DENSE_B0:].copy(),
        )


def image_from_blocks(blocks: list[list[int]]) -> int:
    """12 x 9 register values -> the 12,864-bit image as one integer."""
    image = 0
    for b, regs in enumerate(blocks):
        shift = b * BLOCK_BITS
        for (_, bits), v in zip(BLOCK_REGISTERS, regs):
            image |= int(v) << shift
            shift += bits
    return image


def blocks_from_image(image: int) -> list[list[int]]:
    blocks = []
    for b in range(N_BLOCKS):
        shift = b * BLOCK_BITS
        regs = []
        for _, bits in BLOCK_REGISTERS:
            regs.append((image >> shift) & ((1 << bits) - 1))
            shift += bits
        blocks.append(regs)
    return blocks


def decode_image(image: int) -> ChipWeights:
    mask = (1 << FIELD_BITS) - 1
    half = 1 << (FIELD_BITS - 1)
    raw = [(image >> (FIELD_BITS * k)) & mask for k in range(N_FIELDS)]
    return ChipWeights.from_fields([v - (1 << FIELD_BITS) if v >= half else v for v in raw])


def encode_image(weights: ChipWeights) -> int:
    f = weights.fields()
    lo, hi = -(1 << (FIELD_BITS - 1)), (1 << (FIELD_BITS - 1)) - 1
    if f.min() < lo or f.max() > hi:
        raise ValueError(f"weight codes must lie in {lo}..{hi}")
    image = 0
    for k, v in enumerate(f.tolist()):
        image |= (v & ((1 << FIELD_BITS) - 1)) << (FIELD_BITS * k)
    return image


def decode_blocks(blocks: list[list[int]]) -> ChipWeights:
    return decode_image(image_from_blocks(blocks))


def encode_blocks(weights: ChipWeights) -> list[list[int]]:
    return blocks_from_image(encode_image(weights))
