"""What the QKeras model receives: the hardware input path up to the quantizer.

Charges (MIPs) go through the same integer steps as the chip and the
golden model (``encoder.inputpath.to_counts``, module sum, normalisation
by 2**-m) and are laid into the encoder's input image with the config's
arrangement. The values stay unquantized floats (exact: counts * 2**-m);
the model's input quantizer then produces exactly the golden model's
input codes. The decoder is trained to reproduce the same normalised
values cell by cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import geometry as geometry_mod
from .. import inputpath
from ..errors import UserError
from .config import ModelConfig


@dataclass
class ModelInputs:
    image: np.ndarray        # (N, H, W, C) float32: the encoder input before its quantizer
    cells: np.ndarray        # (N, n_cells) float32: the same normalised values per cell
    counts: np.ndarray       # (N, n_cells) int64 integer counts
    module_sum: np.ndarray   # (N,) int64 sum of counts
    shift: np.ndarray        # (N,) int64 normalisation exponent m
    n_clipped: int           # cells clipped at the top of the charge range


def check_data(cfg: ModelConfig, charges: np.ndarray, geometry_name: str | None, where: str) -> None:
    g = geometry_mod.load(cfg.geometry)
    if geometry_name is not None and geometry_name != cfg.geometry:
        raise UserError(f"{where}: data are for geometry {geometry_name!r}, the model for {cfg.geometry!r}")
    if charges.ndim != 2 or charges.shape[1] != g.n_cells:
        raise UserError(f"{where}: expected (modules, {g.n_cells}) charges, got shape {charges.shape}")


def counts_of(cfg: ModelConfig, charges: np.ndarray) -> inputpath.Counts:
    try:
        return inputpath.to_counts(charges, cfg.input.counts_per_mip, cfg.input.charge_bits)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def shifts_of(cfg: ModelConfig, counts: np.ndarray) -> np.ndarray:
    if cfg.input.normalisation == "leading_one":
        return inputpath.leading_one(inputpath.module_sum(counts))
    return np.full(len(counts), cfg.input.shift, dtype=np.int64)


def from_counts(cfg: ModelConfig, counts: np.ndarray, n_clipped: int = 0) -> ModelInputs:
    counts = np.asarray(counts, dtype=np.int64)
    arr = geometry_mod.load(cfg.geometry).arrangement(cfg.arrangement)
    cells = inputpath.normalised_float(counts, cfg.input.normalisation, cfg.input.shift)
    return ModelInputs(
        image=arr.to_image(cells).astype(np.float32),
        cells=cells.astype(np.float32),
        counts=counts,
        module_sum=inputpath.module_sum(counts),
        shift=shifts_of(cfg, counts),
        n_clipped=n_clipped,
    )


def model_inputs(cfg: ModelConfig, charges: np.ndarray) -> ModelInputs:
    """Charges in MIPs (N, n_cells) -> the encoder's float input and the decoder's target."""
    c = counts_of(cfg, charges)
    return from_counts(cfg, c.counts, c.n_clipped)


def split(n: int, validation_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded train/validation index split (both non-empty)."""
    if n < 2:
        raise UserError(f"need at least 2 modules with charge to train, got {n}")
    perm = np.random.default_rng(seed).permutation(n)
    n_val = min(max(1, int(round(validation_fraction * n))), n - 1)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])
