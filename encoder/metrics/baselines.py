"""The non-ML ECON-T algorithms, run on the same modules as the autoencoder.

Each algorithm returns the 48 charges the receiver reconstructs from what
the chip would send, and the size of that word in bits per BX (formats in
``encoder.metrics.bandwidth``).

- Threshold: cells with charge above the threshold (1.35 "low" or 2.0
  "high" transverse MIPs; strictly above) are sent with their addresses;
  the rest are dropped (their energy only counts in the module sum).
- Super trigger cells (STC4: 2x2 groups, STC16: the 16-cell sectors): per
  group the summed charge is sent with the position of the group's largest
  cell (ties: the lowest-numbered); the receiver puts the sum on that cell.
- Best choice: the N largest cells (ties: the lowest-numbered first) with
  their addresses; N from the e-link table of the geometry.

Charges travel as the chip's 7-bit float codes by default (``ChargeCoding``:
counts = round(charge x 35 per MIP), 4-bit exponent, 3-bit mantissa of
counts >> 3, decoded at the centre of the code's interval). With
``coding=None`` the transmitted charges are exact (an idealised link; the
bit count still assumes 7-bit codes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import bandwidth
from .charge_code import ChargeCoding
from .emd_solver import resolve_geometry

THRESHOLD_LEVELS = {"low": 1.35, "high": 2.0}
DEFAULT_CODING = ChargeCoding()


@dataclass(frozen=True)
class BaselineResult:
    name: str
    reconstructed: np.ndarray      # (N, n_cells) charges the receiver rebuilds, MIPs
    bits: np.ndarray               # (N,) bits per BX of each module's word
    sent: np.ndarray               # (N, n_cells) True where a charge is placed on the cell

    @property
    def fixed_size(self) -> bool:
        return bool(np.all(self.bits == self.bits[0])) if self.bits.size else True


def _check_charges(charges, n_cells: int) -> np.ndarray:
    c = np.asarray(charges, dtype=np.float64)
    if c.ndim == 1:
        c = c[None, :]
    if c.ndim != 2 or c.shape[1] != n_cells:
        raise ValueError(f"charges must have shape (modules, {n_cells}), got {np.shape(charges)}")
    bad = ~np.isfinite(c) | (c < 0)
    if bad.any():
        row, cell = np.argwhere(bad)[0]
        raise ValueError(f"charges row {row}, cell {cell}: {c[row, cell]!r} is not a finite non-negative number")
    return c


def _values(c: np.ndarray, coding: ChargeCoding | None) -> np.ndarray:
    """What the chip compares and sums: integer counts, or the exact charges."""
    return c if coding is None else coding.to_counts(c)


def _received(values: np.ndarray, coding: ChargeCoding | None) -> np.ndarray:
    return values.astype(np.float64) if coding is None else coding.received_mip(values)


def _charge_bits(coding: ChargeCoding | None) -> int:
    return bandwidth.TC_CHARGE_BITS if coding is None else coding.bits


def threshold(charges, geometry="hgcal", level: float | str = "low",
              coding: ChargeCoding | None = DEFAULT_CODING) -> BaselineResult:
    """Keep the cells above ``level`` MIPs ("low" = 1.35, "high" = 2.0)."""
    geom = resolve_geometry(geometry)
    name = f"threshold_{level}" if isinstance(level, str) else f"threshold_{level:g}"
    level = THRESHOLD_LEVELS[level] if isinstance(level, str) else float(level)
    c = _check_charges(charges, geom.n_cells)
    keep = c > level
    recon = np.where(keep, _received(_values(c, coding), coding), 0.0)
    bits = bandwidth.threshold_bits(keep.sum(axis=1), geom.n_cells, _charge_bits(coding))
    return BaselineResult(name, recon, bits.astype(np.int64), keep)


def super_trigger_cells(charges, geometry="hgcal", kind: str = "stc4",
                        coding: ChargeCoding | None = DEFAULT_CODING) -> BaselineResult:
    """Group sums placed on each group's largest cell; ``kind`` "stc4" or "stc16"."""
    geom = resolve_geometry(geometry)
    groups = {"stc4": geom.stc4_groups, "stc16": geom.stc16_groups}.get(kind)
    if groups is None:
        raise ValueError(f"unknown super-trigger-cell kind {kind!r}; choose 'stc4' or 'stc16'")
    c = _check_charges(charges, geom.n_cells)
    v = _values(c, coding)
    recon = np.zeros_like(c)
    sent = np.zeros(c.shape, dtype=bool)
    rows = np.arange(c.shape[0])
    for cells in groups:
        cells = np.asarray(cells)
        top = cells[np.argmax(v[:, cells], axis=1)]        # argmax returns the first maximum
        recon[rows, top] = _received(v[:, cells].sum(axis=1), coding)
        sent[rows, top] = True
    sizes = {len(g) for g in groups}
    if len(sizes) != 1:
        raise ValueError(f"{kind} groups of {geom.name} differ in size: {sorted(sizes)}")
    n_bits = bandwidth.stc_bits(len(groups), sizes.pop(), _charge_bits(coding))
    return BaselineResult(kind, recon, np.full(c.shape[0], n_bits, dtype=np.int64), sent)


def best_choice(charges, geometry="hgcal", n_elinks: int | None = None, n_keep: int | None = None,
                coding: ChargeCoding | None = DEFAULT_CODING) -> BaselineResult:
    """Keep the ``n_keep`` largest cells (or the table's number for ``n_elinks``)."""
    geom = resolve_geometry(geometry)
    if (n_elinks is None) == (n_keep is None):
        raise ValueError("give exactly one of n_elinks and n_keep")
    if n_keep is None:
        if n_elinks not in geom.best_choice_by_elinks:
            raise ValueError(f"no best-choice entry for {n_elinks} e-links; "
                             f"choose one of {sorted(geom.best_choice_by_elinks)}")
        n_keep = geom.best_choice_by_elinks[n_elinks]
    if not 0 <= n_keep <= geom.n_cells:
        raise ValueError(f"n_keep must lie in [0, {geom.n_cells}], got {n_keep}")
    c = _check_charges(charges, geom.n_cells)
    v = _values(c, coding)
    order = np.argsort(-v, axis=1, kind="stable")[:, :n_keep]
    sent = np.zeros(c.shape, dtype=bool)
    np.put_along_axis(sent, order, True, axis=1)
    recon = np.where(sent, _received(v, coding), 0.0)
    n_bits = bandwidth.best_choice_bits(n_keep, geom.n_cells, _charge_bits(coding))
    return BaselineResult(f"best_choice_{n_keep}", recon, np.full(c.shape[0], n_bits, dtype=np.int64), sent)


def run_all(charges, geometry="hgcal", n_elinks: int = 5,
            coding: ChargeCoding | None = DEFAULT_CODING) -> dict[str, BaselineResult]:
    """Every baseline on the same modules; best choice for ``n_elinks`` e-links."""
    results = [
        threshold(charges, geometry, "low", coding),
        threshold(charges, geometry, "high", coding),
        super_trigger_cells(charges, geometry, "stc4", coding),
        super_trigger_cells(charges, geometry, "stc16", coding),
        best_choice(charges, geometry, n_elinks=n_elinks, coding=coding),
    ]
    return {r.name: r for r in results}
