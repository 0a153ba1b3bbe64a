"""Layout ``intermediate``: the ECON-T emulator's top-level blocks (algorithms/*/init.yaml).

``Algorithm: Global: select, density`` (or, in files written for the
production chip, ``ConfigAlgo: Global: alg_type, alg_high_density``),
``AlgoThreshold`` and ``Cal``/``Mux`` as ``index: value``, ``AlgoDroplsb``,
``FormatterBuffer: Global`` with ``active_etxs`` (a count under ``Algorithm``,
a bit mask under ``ConfigAlgo``; see blocks.PROTOTYPE), ``buff_t1/t2/t3``,
``stc_type``, ``use_sum``, ``link_reset_pattern`` (or ``tx_sync_word``) and the
latent mask as ``mask_ae``/``mask_ae2``, and the weight image as ``Encoder``.
Written with the ``Algorithm`` block, the form of most of the emulator's files.
"""

from __future__ import annotations

from . import blocks
from .base import Layout

SPEC = blocks.Spec("intermediate", (blocks.PROTOTYPE, blocks.PRODUCTION), keep_bits=False, hex_masks=True)


def matches(doc) -> bool:
    # The production layout is told apart by its 144-bit keep_auto_encoder_bits mask.
    return blocks.has_shape(doc) and not blocks.has_keep_bits(doc)


LAYOUT = Layout("intermediate", blocks.registers(SPEC, blocks.PROTOTYPE), matches,
                lambda doc, path: blocks.read(doc, path, SPEC), lambda cfg, header: blocks.write(cfg, header, SPEC))
