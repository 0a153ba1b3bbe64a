"""The reference model: the golden model run on what the input monitor saw.

Each observed input is tagged with the model (weight set) the design holds
at that moment; expected outputs are computed in batches, because one call
of the vectorised golden model on many modules costs about as much as on
one.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from ... import golden
from ...ir import EncoderIR
from .monitor import InputTxn


@dataclass
class ExpectedTxn:
    seq: int                    # position among all observed inputs (matches the driver's order)
    cycle: int                  # cycle the input was sampled
    counts: list[int]
    model: int                  # index of the weight set that was loaded
    latents: list[int]
    sum_code: int


class ReferenceModel:
    def __init__(self, models: list[EncoderIR]):
        self.models = models
        self.active = 0
        self._pending: list[tuple[int, InputTxn, int]] = []
        self._seq = 0
        self.expected: deque[ExpectedTxn] = deque()

    def write(self, txn: InputTxn) -> None:
        """Input monitor subscriber."""
        self._pending.append((self._seq, txn, self.active))
        self._seq += 1

    def compute(self) -> None:
        """Turn every pending input into an expected output, in arrival order."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        out: list[ExpectedTxn | None] = [None] * len(pending)
        tags = np.array([m for _, _, m in pending])
        for m in np.unique(tags):
            idx = np.flatnonzero(tags == m)
            counts = np.array([pending[i][1].counts for i in idx], dtype=np.int64)
            res = golden.run(self.models[int(m)], counts=counts)
            for k, i in enumerate(idx):
                seq, txn, _ = pending[i]
                out[i] = ExpectedTxn(seq, txn.cycle, txn.counts, int(m),
                                     [int(v) for v in res.latents[k]], int(res.sum_code[k]))
        self.expected.extend(out)
