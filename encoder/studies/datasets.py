"""The data of a study: made once, split once, fingerprinted.

- Synthetic data are generated once into ``OUT/data.npz`` (its settings in
  ``OUT/data.json``); a later run reuses the file and refuses other
  settings. A ``path`` is used where it is.
- The split into training and evaluation modules is a seeded permutation
  (``split``); the autoencoder never trains on the evaluation modules.
- Further data sets (``evaluate_also``): a .npz is used as it is, a CSV is
  imported once into ``OUT/extra_<name>.npz``.
- A fingerprint (SHA-256 of geometry, shape and charges) names a data
  set's content, so point ids change when the data change and only then.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data import SensorData, load_data, save_data
from ..errors import UserError
from ..files import write_text
from .study_config import StudyConfig

DATA_FILE = "data.npz"
DATA_INFO = "data.json"


@dataclass(frozen=True)
class DataSet:
    name: str
    path: Path
    fingerprint: str
    n_modules: int
    source: str             # where it came from, for the report


def fingerprint(data: SensorData) -> str:
    h = hashlib.sha256()
    h.update(data.geometry.encode())
    h.update(np.asarray(data.charges.shape, dtype=np.int64).tobytes())
    h.update(np.ascontiguousarray(data.charges, dtype=np.float64).tobytes())
    return "sha256:" + h.hexdigest()


def split(n: int, eval_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(training indices, evaluation indices), both sorted, both non-empty for n >= 2."""
    if n < 2:
        raise UserError(f"need at least 2 modules to split into training and evaluation, got {n}")
    perm = np.random.default_rng(seed).permutation(n)
    n_eval = min(max(1, int(round(eval_fraction * n))), n - 1)
    return np.sort(perm[n_eval:]), np.sort(perm[:n_eval])


def _synth(study: StudyConfig, out: Path) -> DataSet:
    from .. import geometry as geometry_mod
    from ..data.synth import ShowerModel, synthesize
    spec = study.data.synth
    settings = spec.to_dict()
    path, info_path = out / DATA_FILE, out / DATA_INFO
    if path.exists():
        try:
            info = json.loads(info_path.read_text())
        except (OSError, json.JSONDecodeError):
            raise UserError(f"{info_path}: missing or unreadable; {path} cannot be matched to the study's "
                            f"data settings (remove {path} to generate it again)") from None
        if info.get("synth") != settings:
            raise UserError(f"{path}: made with {info.get('synth')}, the study asks for {settings}; "
                            f"use another --out")
        return DataSet("eval", path, info["fingerprint"], int(info["n_modules"]),
                       f"encoder data synth --modules {spec.modules} --seed {spec.seed} --pileup {spec.pileup:g}")
    try:
        geom = geometry_mod.load(spec.geometry)
    except KeyError as exc:
        raise UserError(f"{study.path}: data.synth.geometry: {exc.args[0]}") from None
    from tqdm import tqdm
    with tqdm(total=spec.modules, unit="module", desc="synth", disable=None) as bar:
        data = synthesize(spec.modules, spec.seed, geom, ShowerModel(pileup_mu=spec.pileup), progress=bar.update)
    fp = fingerprint(data)
    save_data(path, data)
    write_text(info_path, json.dumps({"synth": settings, "fingerprint": fp, "n_modules": data.n_modules},
                                     indent=1) + "\n", overwrite=True)
    return DataSet("eval", path, fp, data.n_modules,
                   f"encoder data synth --modules {spec.modules} --seed {spec.seed} --pileup {spec.pileup:g}")


def main_data(study: StudyConfig, out: Path) -> DataSet:
    """The study's data set (generated into OUT/data.npz when synthetic)."""
    if study.data.synth is not None:
        return _synth(study, out)
    data = load_data(study.data.path)
    return DataSet("eval", study.data.path, fingerprint(data), data.n_modules, str(study.data.path))


def extra_data(study: StudyConfig, out: Path, geometry: str) -> tuple[list[DataSet], list[str]]:
    """The further data sets (CSV imported once) and notes about optional ones that are missing."""
    sets, notes = [], []
    for e in study.extras:
        if not e.path.exists():
            if e.optional:
                notes.append(f"evaluate_also {e.name}: {e.path} not found, skipped")
                continue
            raise UserError(f"{study.path}: evaluate_also {e.name}: {e.path}: no such file")
        if e.path.suffix.lower() == ".csv":
            target = out / f"extra_{e.name}.npz"
            info_path = out / f"extra_{e.name}.json"
            settings = {"csv": str(e.path.resolve()), "units_per_mip": e.units_per_mip, "size": e.path.stat().st_size}
            info = json.loads(info_path.read_text()) if info_path.exists() and target.exists() else None
            if info is None or info.get("settings") != settings:
                from ..data.csv_import import import_csv
                res = import_csv(e.path, e.units_per_mip, geometry=geometry)
                fp = fingerprint(res.data)
                save_data(target, res.data, overwrite=True)
                info = {"settings": settings, "fingerprint": fp, "n_modules": res.data.n_modules}
                write_text(info_path, json.dumps(info, indent=1) + "\n", overwrite=True)
            sets.append(DataSet(e.name, target, info["fingerprint"], int(info["n_modules"]),
                                f"{e.path} ({e.units_per_mip:g} units per MIP)"))
        else:
            data = load_data(e.path)
            sets.append(DataSet(e.name, e.path, fingerprint(data), data.n_modules, str(e.path)))
    return sets, notes
