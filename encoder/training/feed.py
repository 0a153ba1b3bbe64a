"""The training modules of each epoch: the data file, fresh synthetic modules, symmetries.

Without options every epoch sees the same training split in a new order.
``stream_modules`` adds that many freshly generated synthetic modules per
epoch (the built-in generator with its defaults: shower maximum, 200
pileup; never the same twice, so the model cannot memorise them);
``augment`` maps every module through a random symmetry of the sensor (a
rotation or reflection that carries the cells onto themselves), which
changes neither the EMD nor the module sum. Everything is drawn from
generators seeded by (seed, epoch): the same run gives the same batches.
"""

from __future__ import annotations

import numpy as np

from .. import geometry as geometry_mod
from .config import ModelConfig
from .inputs import model_inputs


def epoch_rng(seed: int, epoch: int, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(epoch), int(stream)]))


class Feed:
    """Builds (image, cells) arrays for each epoch."""

    def __init__(self, cfg: ModelConfig, cells: np.ndarray, seed: int, *, stream_modules: int = 0,
                 augment: bool = False):
        self.cfg = cfg
        self.cells = np.asarray(cells, dtype=np.float32)
        self.seed = seed
        self.stream_modules = int(stream_modules)
        self.augment = bool(augment)
        self.geometry = geo = geometry_mod.load(cfg.geometry)
        self.arrangement = geo.arrangement(cfg.arrangement)
        self.perms = None
        if self.augment:
            from ..geometry.symmetry import symmetries
            self.perms = symmetries(geo)          # hgcal: the 3 rotations by 120 degrees

    @property
    def modules_per_epoch(self) -> int:
        return len(self.cells) + self.stream_modules

    def fresh_cells(self, epoch: int) -> np.ndarray:
        """``stream_modules`` new synthetic modules, normalised as the model sees them."""
        from ..data.synth import synthesize
        seed = int(epoch_rng(self.seed, epoch, 1).integers(2**31))
        data = synthesize(self.stream_modules, seed, self.geometry)
        prepared = model_inputs(self.cfg, data.charges)
        return prepared.cells[prepared.module_sum > 0].astype(np.float32)

    def epoch(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """Shuffled (image, cells) of one epoch (1-based)."""
        cells = self.cells
        if self.stream_modules:
            cells = np.concatenate([cells, self.fresh_cells(epoch)])
        rng = epoch_rng(self.seed, epoch, 0)
        order = rng.permutation(len(cells))
        cells = cells[order]
        if self.perms is not None:
            from ..geometry.symmetry import augment
            cells = augment(cells, self.perms, rng)
        return self.arrangement.to_image(cells).astype(np.float32), cells
