"""The kit's data file: one .npz per data set.

Arrays: ``charges`` (N, n_cells) float64 in transverse MIPs, cells in the
geometry's order; ``geometry`` (name); optional ``truth_*`` arrays (one value
per module, from the generator) and ``meta_*`` arrays (extra CSV columns).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..files import save_npz


@dataclass
class SensorData:
    charges: np.ndarray
    geometry: str = "hgcal"
    truth: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_modules(self) -> int:
        return int(self.charges.shape[0])

    def subset(self, index) -> "SensorData":
        return SensorData(self.charges[index], self.geometry,
                          {k: v[index] for k, v in self.truth.items()},
                          {k: v[index] for k, v in self.meta.items()})


def save_data(path, data: SensorData, overwrite: bool = False) -> Path:
    arrays = {"charges": np.asarray(data.charges, dtype=np.float64), "geometry": np.array(data.geometry)}
    arrays.update({f"truth_{k}": v for k, v in data.truth.items()})
    arrays.update({f"meta_{k}": v for k, v in data.meta.items()})
    return save_npz(path, overwrite=overwrite, **arrays)


def load_data(path) -> SensorData:
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            if "charges" not in z:
                raise UserError(f"{path}: not a data file of this kit (no 'charges' array)")
            charges = np.asarray(z["charges"], dtype=np.float64)
            geometry = str(z["geometry"]) if "geometry" in z else "hgcal"
            truth = {k[6:]: z[k] for k in z.files if k.startswith("truth_")}
            meta = {k[5:]: z[k] for k in z.files if k.startswith("meta_")}
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: cannot read as .npz ({exc})") from None
    if charges.ndim != 2:
        raise UserError(f"{path}: 'charges' must be (modules, cells), got shape {charges.shape}")
    return SensorData(charges, geometry, truth, meta)
