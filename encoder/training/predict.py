"""Using a trained run: float latents from the QKeras encoder, decoding to cell charges.

Decoding follows the off-detector chain: decoder image -> cells
(``cell_to_pixel``) -> times 2**m / counts_per_mip (undo the input
normalisation, back to MIPs) -> rescaled so the cells sum to the module
sum (as CMSSW does with the transmitted sum). ``Run.decode`` takes any
latent values, e.g. golden-model codes times the latent LSB, so the chip's
output can be decoded the same way.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import geometry as geometry_mod
from .. import inputpath
from ..errors import UserError
from . import inputs as inputs_mod
from .train import DECODER_FILE, ENCODER_FILE, read_run_config


class Run:
    """A training run directory with its models loaded on first use."""

    def __init__(self, run_dir):
        self.dir = Path(run_dir)
        self.config = read_run_config(self.dir)
        self._encoder = self._decoder = None

    @property
    def encoder(self):
        if self._encoder is None:
            from .export import load_keras
            self._encoder = load_keras(self.dir / ENCODER_FILE)
        return self._encoder

    @property
    def decoder(self):
        if self._decoder is None:
            from .export import load_keras
            self._decoder = load_keras(self.dir / DECODER_FILE)
        return self._decoder

    def encode(self, charges: np.ndarray) -> np.ndarray:
        """Charges (N, n_cells) MIPs -> float latents of the QKeras encoder."""
        x = inputs_mod.model_inputs(self.config, charges).image
        return self.encoder.predict(x, batch_size=4096, verbose=0).astype(np.float64)

    def decode(self, latents: np.ndarray, module_sum: np.ndarray, *, rescale: bool = True) -> np.ndarray:
        """Latent values (N, n_latent) and module sums in counts (N,) -> cell charges (N, n_cells) MIPs.

        The normalisation exponent follows from the module sum
        (leading one) or the config's fixed shift. With ``rescale`` the
        cells are scaled to sum to the module sum; modules whose decoded
        cells sum to zero stay zero.
        """
        cfg = self.config
        latents = np.asarray(latents, dtype=np.float32)
        module_sum = np.asarray(module_sum, dtype=np.int64)
        if latents.ndim != 2 or latents.shape[1] != cfg.latent.size:
            raise UserError(f"expected (modules, {cfg.latent.size}) latents, got shape {latents.shape}")
        if module_sum.shape != (len(latents),):
            raise UserError(f"expected {len(latents)} module sums, got shape {module_sum.shape}")
        if cfg.input.normalisation == "leading_one":
            shift = inputpath.leading_one(module_sum)
        else:
            shift = np.full(len(module_sum), cfg.input.shift, dtype=np.int64)
        arr = geometry_mod.load(cfg.geometry).arrangement(cfg.arrangement)
        image = self.decoder.predict(latents, batch_size=4096, verbose=0) if len(latents) else \
            np.zeros((0,) + tuple(arr.shape), dtype=np.float32)
        cells = arr.to_cells(image).astype(np.float64)
        cells = np.ldexp(cells, shift[:, None].astype(np.int32)) / cfg.input.counts_per_mip
        if rescale:
            target = module_sum.astype(np.float64) / cfg.input.counts_per_mip
            total = cells.sum(axis=1)
            scale = np.divide(target, total, out=np.zeros_like(total), where=total > 0)
            cells = cells * scale[:, None]
        return cells

    def predict(self, charges: np.ndarray) -> dict[str, np.ndarray]:
        """Float path: charges -> QKeras latents -> decoded charges (and the sums used)."""
        c = inputs_mod.counts_of(self.config, charges)
        s = inputpath.module_sum(c.counts)
        lat = self.encode(charges)
        return {"latents": lat, "reconstructed": self.decode(lat, s), "module_sum": s,
                "shift": inputs_mod.shifts_of(self.config, c.counts)}


def load_run(run_dir) -> Run:
    return Run(run_dir)


def decode_latents(run_dir, latents: np.ndarray, module_sum: np.ndarray, *, rescale: bool = True) -> np.ndarray:
    """Decode latent values with a run's decoder (see ``Run.decode``)."""
    return Run(run_dir).decode(latents, module_sum, rescale=rescale)
