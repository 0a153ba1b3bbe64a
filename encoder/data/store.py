"""The kit's data file: one .npz per data set.

Arrays: ``charges`` (N, n_cells) float64 in transverse MIPs, cells in the
geometry's order; ``geometry`` (name); optional ``truth_*`` arrays (one value
per module, from the generator) and ``meta_*`` arrays (extra CSV columns).
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..files import save_npz
from ..inputs import note_input


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


def _open_npz(path: Path):
    """np.load of a .npz, refusing anything else with one line (NumPy would try a pickle or a .npy)."""
    if path.is_dir():
        raise UserError(f"{path}: is a folder, not a data file (.npz)")
    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror})") from None
    if magic[:2] != b"PK":
        kind = "a JSON or text file" if magic[:1] in (b"{", b"[") or magic.isascii() else "not a zip archive"
        raise UserError(f"{path}: not a data file of this kit (.npz expected; this is {kind})")
    return np.load(path, allow_pickle=False)


def read_npz(path, what: str = "data file") -> dict[str, np.ndarray]:
    """Every array of a .npz, read whole; one UserError for a missing, foreign or damaged file."""
    path = Path(path)
    note_input(path)
    try:
        with _open_npz(path) as z:
            return {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, EOFError, zlib.error):
        raise UserError(f"{path}: damaged or truncated .npz (not a complete zip archive)") from None
    except (OSError, ValueError, KeyError) as exc:
        raise UserError(f"{path}: cannot read as .npz, expected a {what} ({exc})") from None


def _check_charges(path: Path, raw: np.ndarray, geometry: str) -> np.ndarray:
    """Real numbers, (modules, cells) with the geometry's cell count, finite and non-negative, every row."""
    if raw.dtype.kind not in "biuf":
        raise UserError(f"{path}: 'charges' must hold real numbers, not {raw.dtype} values")
    if raw.ndim != 2:
        raise UserError(f"{path}: 'charges' must be (modules, cells), got shape {raw.shape}")
    from .. import geometry as geometries
    if geometry in geometries.available():
        n = geometries.load(geometry).n_cells
        if raw.shape[1] != n:
            raise UserError(f"{path}: labelled geometry {geometry!r} ({n} cells) but 'charges' has "
                            f"{raw.shape[1]} columns")
    charges = np.asarray(raw, dtype=np.float64)
    bad = ~np.isfinite(charges) | (charges < 0)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        what = "negative" if np.isfinite(charges[row, col]) else "not finite"
        raise UserError(f"{path}: module {row}, cell {col}: charge {float(charges[row, col])!r} is {what} "
                        f"({int(bad.sum())} such values)")
    return charges


def load_data(path) -> SensorData:
    """Read a data file; every value is checked here, so every command accepts the same files."""
    path = Path(path)
    note_input(path)
    z = read_npz(path)
    if "charges" not in z:
        raise UserError(f"{path}: not a data file of this kit (no 'charges' array)")
    raw = z["charges"]
    geometry = str(z["geometry"]) if "geometry" in z and z["geometry"].ndim == 0 else "hgcal"
    truth = {k[6:]: v for k, v in z.items() if k.startswith("truth_")}
    meta = {k[5:]: v for k, v in z.items() if k.startswith("meta_")}
    charges = _check_charges(path, raw, geometry)
    n = charges.shape[0]
    if n == 0:
        raise UserError(f"{path}: no modules")
    for kind, arrays in (("truth", truth), ("meta", meta)):
        for k, v in arrays.items():
            if v.ndim < 1 or v.shape[0] != n:
                raise UserError(f"{path}: '{kind}_{k}' has {v.shape[0] if v.ndim else 'no'} rows for {n} modules")
    return SensorData(charges, geometry, truth, meta)
