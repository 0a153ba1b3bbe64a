"""In-order scoreboard: expected outputs against observed ones, data and latency.

Outputs must come back in the order inputs went in, each exactly
``latency`` cycles after its input was sampled. A reset drops the inputs
still in flight: with a synchronous reset seen at cycle r, an input sampled
at cycle k < r whose output falls after r (k + latency > r) never comes
out; with an asynchronous one, also the input whose output would show at r.
Whatever comes out that matches no live input is a stale output.

``FrameScoreboard`` does the same for the e-link frames of designs with
the framing block: every frame against the reference model's, at the tx
ports' own latency.
"""

from __future__ import annotations

from collections import Counter, deque

from .model import ExpectedFrame, ExpectedTxn, ReferenceModel
from .monitor import FrameTxn, OutputTxn


class Scoreboard:
    def __init__(self, model: ReferenceModel, latency: int, reset_sync: bool = True):
        self.model = model
        self.latency = latency
        self.reset_sync = reset_sync
        self.outputs: deque[OutputTxn] = deque()
        self.resets: list[int] = []
        self.checked = 0
        self.matched = 0
        self.flushed: list[ExpectedTxn] = []
        self.mismatches: list[dict] = []
        self.unexpected: list[OutputTxn] = []
        self.missing: list[ExpectedTxn] = []
        self.latency_seen: Counter = Counter()

    # subscribers -------------------------------------------------------
    def observe(self, txn: OutputTxn) -> None:
        self.outputs.append(txn)

    def on_reset(self, cycle: int) -> None:
        self.resets.append(cycle)

    # checking ----------------------------------------------------------
    def _flushed(self, e: ExpectedTxn) -> bool:
        last = e.cycle + self.latency
        for r in self.resets:
            if e.cycle < r and (last > r or (not self.reset_sync and last == r)):
                return True
        return False

    def check(self, now: int, final: bool = False) -> None:
        """Compare everything whose output is due by cycle ``now`` (all of it when final)."""
        self.model.compute()
        exp = self._queue()
        while exp:
            e = exp[0]
            if not final and e.cycle + self.latency >= now:
                break
            if self._flushed(e):
                exp.popleft()
                self.flushed.append(e)
                continue
            if not self.outputs:
                if final:
                    self.missing.append(exp.popleft())
                    continue
                break
            o = self.outputs.popleft()
            exp.popleft()
            self._compare(e, o)
        if final:
            self.unexpected.extend(self.outputs)
            self.outputs.clear()

    def _queue(self) -> deque:
        return self.model.expected

    def _same(self, e: ExpectedTxn, o: OutputTxn) -> bool:
        return o.latents == e.latents and o.sum_code == e.sum_code

    def _record(self, e: ExpectedTxn, o: OutputTxn) -> dict:
        return {"seq": e.seq, "model": e.model, "cycle_in": e.cycle, "cycle_out": o.cycle,
                "counts": e.counts, "expected": {"latents": e.latents, "sum_code": e.sum_code},
                "got": {"latents": o.latents, "sum_code": o.sum_code}}

    def _compare(self, e, o) -> None:
        self.checked += 1
        seen = o.cycle - e.cycle
        self.latency_seen[seen] += 1
        data_ok = self._same(e, o)
        if data_ok and seen == self.latency:
            self.matched += 1
            return
        self.mismatches.append({
            **self._record(e, o), "latency": seen,
            "what": ("data" if not data_ok else "") + ("+" if not data_ok and seen != self.latency else "")
                    + ("latency" if seen != self.latency else ""),
        })

    @property
    def errors(self) -> int:
        return len(self.mismatches) + len(self.unexpected) + len(self.missing)


def frame_words_hex(frame: int, elinks: int) -> list[str]:
    """A tx_data value as its e-link words, TX_DATA_0 first, as the chip's CSV writes them."""
    return [f"{(frame >> (32 * (elinks - 1 - i))) & 0xFFFFFFFF:08x}" for i in range(elinks)]


class FrameScoreboard(Scoreboard):
    """Expected frames (tx_data) against observed ones, in order, at the tx ports' latency."""

    def __init__(self, model: ReferenceModel, latency: int, elinks: int, reset_sync: bool = True):
        super().__init__(model, latency, reset_sync)
        self.elinks = elinks

    def _queue(self) -> deque:
        return self.model.frames

    def check(self, now: int, final: bool = False) -> None:
        # Frames due by now have had every framing-register write that can touch them observed.
        self.model.compute()
        due = []
        for e in self.model.frames:
            if not final and e.cycle + self.latency >= now:
                break
            due.append(e)
        self.model.resolve(due)
        super().check(now, final)

    def _same(self, e: ExpectedFrame, o: FrameTxn) -> bool:
        return o.frame == e.frame

    def expected_dict(self, e: ExpectedFrame) -> dict:
        return {"tx_data": frame_words_hex(e.frame, self.elinks), "bx_field": e.bx_field,
                "latents": e.latents, "sum_code": e.sum_code,
                "elinks": e.count, "latent_mask": f"0x{e.mask:x}"}

    def _record(self, e: ExpectedFrame, o: FrameTxn) -> dict:
        return {"stream": "frame", "seq": e.seq, "model": e.model, "cycle_in": e.cycle, "cycle_out": o.cycle,
                "counts": e.counts, "bx_reset": e.bx_reset, "expected": self.expected_dict(e),
                "got": {"tx_data": frame_words_hex(o.frame, self.elinks)}}
