"""Layout ``production``: the production ECON-T's register blocks, decimal values.

``ConfigAlgo: Global: alg_type, alg_high_density``, ``AlgoThreshold``, ``Cal``
and ``Mux`` as ``index: value``, ``AlgoDroplsb: Global: drop_lsb``, ``Encoder:
<block>: weights_byte<N>`` and ``FormatterBuffer: Global`` with ``active_etxs``
(a bit mask of the 13 eTx), ``buff_t1/t2/t3``, ``stc_type``, ``use_sum``,
``link_reset_pattern`` and ``keep_auto_encoder_bits``: the 144-bit latent mask,
bit k keeping bit k of OUT_15|...|OUT_0, i.e. mask_ae (its top 128 bits) above
mask_ae2 (its low 16) of the prototype's registers.
"""

from __future__ import annotations

from . import blocks
from .base import Layout

SPEC = blocks.Spec("production", (blocks.PRODUCTION,), keep_bits=True, hex_masks=False)


def matches(doc) -> bool:
    return blocks.has_shape(doc) and blocks.has_keep_bits(doc) and blocks.PROTOTYPE.block not in doc


LAYOUT = Layout("production", blocks.registers(SPEC, blocks.PRODUCTION), matches,
                lambda doc, path: blocks.read(doc, path, SPEC), lambda cfg, header: blocks.write(cfg, header, SPEC))
