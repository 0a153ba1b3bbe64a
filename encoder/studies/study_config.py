"""Study configs (YAML): the data, the base model config, the sweep.

```yaml
name: study_elinks
description: one line for the report
extends: econt_8x8.yaml              # model config the points start from (relative to this file;
                                      # the old key base_config: is read too, with a deprecation note)
overrides:                            # dotted keys set in every point (before the sweep)
  training.learning_rate: 0.003
data:
  synth: {modules: 100000, seed: 1, pileup: 200}   # generated once into OUT/data.npz
  # path: some.npz                    # or an existing data file
  eval_fraction: 0.2                  # modules held out from training, scored
  split_seed: 0
evaluate_also:                        # further data sets every point is scored on
  - {name: cms_ttbar, path: real.csv, units_per_mip: 35, optional: true}
epochs: 30                            # training.epochs of every point
seed: 1                               # training.seed of every point
plots: true                           # each point's evaluation plots
chip_baselines:                       # the chip's own algorithms, bit for bit (optional; defaults shown)
  threshold_mip: [1.35, 2.0]          # threshold sum, one row per level (MIPs; register = floor(35 x level) + 1)
  stc_types: [0, 1, 2, 3]             # each on the e-link counts its type fills
  best_choice: true
  drop_lsb: 0
  use_sum: 0
  buffer: {t1: 338, t2: 314, t3: 25}  # formatter buffer thresholds, 16-bit words
  stc_placement: max                  # STC sum on the sent position (max) or spread over its 4/16 cells
  erx_codes: false                    # true: charges pass the HGCROC's 7-bit code first
sweep:
  points:                             # a list of settings ...
    - {elinks: 2, encoder.latent.activation.bits: 3}
  grid:                               # ... and/or a grid (cartesian product)
    training.learning_rate: [0.001, 0.003]
```

Sweep keys are dotted paths into the model config (``elinks``,
``encoder.latent.activation.bits``, ``encoder.conv.0.filters`` with a
list index, ``training.seed``, ...). With both ``points`` and ``grid``
every point is combined with every grid cell. Each point's model config is
the base config with ``overrides``, ``epochs`` and ``seed`` set, then the
point's values, validated as a model config; errors name the study file
and the point.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import re
import warnings
from dataclasses import dataclass
from pathlib import Path


from ..errors import UserError
from ..files import read_yaml
from ..metrics.chip_baselines import DEFAULT_CHIP, ChipBaselines, ChipSettings, STC_PLACEMENTS

TOP_KEYS = ("name", "description", "extends", "base_config", "overrides", "data", "evaluate_also", "epochs", "seed", "plots",
            "chip_baselines", "sweep")
CHIP_KEYS = ("threshold_mip", "stc_types", "best_choice", "drop_lsb", "use_sum", "buffer", "stc_placement",
             "erx_codes")
BUFFER_KEYS = ("t1", "t2", "t3")
DATA_KEYS = ("synth", "path", "eval_fraction", "split_seed")
SYNTH_KEYS = ("modules", "seed", "pileup", "geometry")
EXTRA_KEYS = ("name", "path", "units_per_mip", "optional")
SWEEP_KEYS = ("points", "grid")
POINT_FORMAT = 2        # bump when a point's computation changes meaning (new ids)


class StudyConfigError(UserError):
    """A study config that cannot describe a study; the message names file and key."""


@dataclass(frozen=True)
class SynthSpec:
    modules: int
    seed: int
    pileup: float = 200.0
    geometry: str = "hgcal"

    def to_dict(self) -> dict:
        return {"modules": self.modules, "seed": self.seed, "pileup": self.pileup, "geometry": self.geometry}


@dataclass(frozen=True)
class DataSpec:
    synth: SynthSpec | None
    path: Path | None
    eval_fraction: float
    split_seed: int


@dataclass(frozen=True)
class ExtraData:
    name: str
    path: Path
    units_per_mip: float
    optional: bool


@dataclass(frozen=True)
class Point:
    index: int
    label: str              # readable: e.g. "elinks2_bits3"
    overrides: dict         # dotted key -> value
    model: dict             # the point's model config (validated mapping)

    def point_id(self, context: dict) -> str:
        """Stable id: the label and a hash of everything the point's result depends on."""
        body = {"format": POINT_FORMAT, "model": self.model, "context": context}
        h = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:10]
        return f"{self.label}-{h}"


@dataclass(frozen=True)
class StudyConfig:
    path: Path
    name: str
    description: str
    base_config: Path
    data: DataSpec
    extras: tuple[ExtraData, ...]
    epochs: int
    seed: int
    plots: bool
    points: tuple[Point, ...]
    raw: dict
    chip: ChipBaselines = DEFAULT_CHIP


def _fail(path, key, msg):
    raise StudyConfigError(f"{path}: {key}: {msg}" if key else f"{path}: {msg}")


def _mapping(v, path, key, allowed):
    if v is None:
        v = {}
    if not isinstance(v, dict):
        _fail(path, key, f"must be a mapping, got {type(v).__name__}")
    for k in v:
        if k not in allowed:
            _fail(path, f"{key}.{k}" if key else k, f"unknown key (allowed here: {', '.join(allowed)})")
    return v


def _int(v, path, key, lo=None):
    if isinstance(v, bool) or not isinstance(v, int):
        _fail(path, key, f"must be an integer, got {v!r}")
    if lo is not None and v < lo:
        _fail(path, key, f"{v} must be >= {lo}")
    return v


def _resolve(base: Path, p) -> Path:
    p = Path(p)
    return p if p.is_absolute() else base / p


def set_dotted(d: dict, key: str, value, where: str) -> None:
    """Set ``a.b.0.c`` in nested mappings and lists; missing mapping keys are created."""
    parts = key.split(".")
    if not all(parts):
        raise StudyConfigError(f"{where}: sweep key {key!r}: empty part")
    node = d
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        here = ".".join(parts[: i + 1])
        if isinstance(node, list):
            if not re.fullmatch(r"\d+", part) or int(part) >= len(node):
                raise StudyConfigError(f"{where}: sweep key {key!r}: {here!r} needs a list index "
                                       f"below {len(node)}")
            idx = int(part)
            if last:
                node[idx] = copy.deepcopy(value)
            else:
                node = node[idx]
        elif isinstance(node, dict):
            if last:
                node[part] = copy.deepcopy(value)
            else:
                if part not in node or node[part] is None:
                    node[part] = {}
                node = node[part]
        else:
            raise StudyConfigError(f"{where}: sweep key {key!r}: {'.'.join(parts[:i])!r} is a value, "
                                   f"not a mapping or list")


def _label(overrides: dict) -> str:
    if not overrides:
        return "base"
    parts = []
    for k, v in overrides.items():
        text = json.dumps(v) if isinstance(v, (dict, list)) else str(v)
        parts.append(f"{k.split('.')[-1]}{text}")
    label = re.sub(r"[^A-Za-z0-9.+-]+", "_", "_".join(parts)).strip("_")
    return label[:60] or "point"


def expand_sweep(sweep: dict, path) -> list[dict]:
    """The list of override mappings (points x grid, grid varying fastest)."""
    sweep = _mapping(sweep, path, "sweep", SWEEP_KEYS)
    points = sweep.get("points")
    grid = sweep.get("grid")
    if points is None and grid is None:
        _fail(path, "sweep", "give points (a list of settings) and/or grid (key: list of values)")
    if points is None:
        points = [{}]
    if not isinstance(points, list) or not points:
        _fail(path, "sweep.points", "must be a non-empty list of mappings")
    for i, p in enumerate(points):
        if not isinstance(p, dict):
            _fail(path, f"sweep.points[{i}]", f"must be a mapping of key: value, got {p!r}")
        for k in p:
            if not isinstance(k, str):
                _fail(path, f"sweep.points[{i}]", f"key {k!r} must be a string")
    cells = [{}]
    if grid is not None:
        if not isinstance(grid, dict) or not grid:
            _fail(path, "sweep.grid", "must be a non-empty mapping of key: list of values")
        for k, vals in grid.items():
            if not isinstance(vals, list) or not vals:
                _fail(path, f"sweep.grid.{k}", "must be a non-empty list of values")
        keys = list(grid)
        cells = [dict(zip(keys, combo)) for combo in itertools.product(*(grid[k] for k in keys))]
    out = []
    for p in points:
        for c in cells:
            both = set(p) & set(c)
            if both:
                _fail(path, "sweep", f"key {sorted(both)[0]!r} is in both points and grid")
            out.append({**p, **c})
    seen = set()
    for o in out:
        key = json.dumps(o, sort_keys=True, default=str)
        if key in seen:
            _fail(path, "sweep", f"the point {o} appears twice")
        seen.add(key)
    return out


def base_model_dict(base_path: Path, epochs: int, seed: int) -> dict:
    from ..training.config import load_config
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = load_config(base_path).to_dict()
    d.setdefault("training", {})
    d["training"]["epochs"] = epochs
    d["training"]["seed"] = seed
    return d


def point_model(base: dict, overrides: dict, label: str, where: str) -> dict:
    """The validated model-config mapping of one point."""
    from ..training.config import parse_config
    d = copy.deepcopy(base)
    d["name"] = f"{base.get('name', 'model')}_{label}"
    for k, v in overrides.items():
        set_dotted(d, k, v, where)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cfg = parse_config(d, where)
    return cfg.to_dict()


def _number_list(v, path, key, kind):
    """A list of numbers (may be empty: no rows of that algorithm), each once."""
    if not isinstance(v, list):
        _fail(path, key, f"must be a list, got {v!r}")
    for x in v:
        if isinstance(x, bool) or not isinstance(x, kind):
            _fail(path, key, f"{x!r} is not a {'number' if kind is not int else 'whole number'}")
    if len(set(v)) != len(v):
        _fail(path, key, f"lists a value twice: {v}")
    return v


def chip_config(raw, path) -> ChipBaselines:
    """The ``chip_baselines`` block; keys left out keep the defaults of ``ChipBaselines``."""
    d = _mapping(raw, path, "chip_baselines", CHIP_KEYS)
    base, s0 = DEFAULT_CHIP, DEFAULT_CHIP.settings
    levels = tuple(float(x) for x in _number_list(d.get("threshold_mip", list(base.threshold_mip)), path,
                                                  "chip_baselines.threshold_mip", (int, float)))
    if levels and min(levels) <= 0:
        _fail(path, "chip_baselines.threshold_mip", f"levels must be positive MIPs, got {list(levels)}")
    types = tuple(_number_list(d.get("stc_types", list(base.stc_types)), path, "chip_baselines.stc_types", int))
    if types:
        bad = [t for t in types if t not in (0, 1, 2, 3)]
        if bad:
            _fail(path, "chip_baselines.stc_types", f"{bad[0]} is not an STC type (0 STC4_9, 1 STC16_9, 2 CTC4_7, "
                  f"3 STC4_7)")
    bc = d.get("best_choice", base.best_choice)
    if not isinstance(bc, bool):
        _fail(path, "chip_baselines.best_choice", f"must be true or false, got {bc!r}")
    drop = _int(d.get("drop_lsb", s0.drop_lsb), path, "chip_baselines.drop_lsb", 0)
    if drop > 4:
        _fail(path, "chip_baselines.drop_lsb", f"{drop} must be <= 4")
    use_sum = _int(d.get("use_sum", s0.use_sum), path, "chip_baselines.use_sum", 0)
    if use_sum > 1:
        _fail(path, "chip_baselines.use_sum", f"{use_sum} must be 0 or 1")
    buf = _mapping(d.get("buffer"), path, "chip_baselines.buffer", BUFFER_KEYS)
    t = tuple(_int(buf.get(k, dflt), path, f"chip_baselines.buffer.{k}", 0) for k, dflt in zip(BUFFER_KEYS, s0.buffer))
    place = d.get("stc_placement", s0.stc_placement)
    if place not in STC_PLACEMENTS:
        _fail(path, "chip_baselines.stc_placement", f"must be one of {', '.join(STC_PLACEMENTS)}, got {place!r}")
    erx_codes = d.get("erx_codes", s0.erx_codes)
    if not isinstance(erx_codes, bool):
        _fail(path, "chip_baselines.erx_codes", f"must be true or false, got {erx_codes!r}")
    settings = ChipSettings(drop_lsb=drop, use_sum=use_sum, buffer=t, erx_codes=erx_codes, stc_placement=place)
    return ChipBaselines(levels, tuple(int(x) for x in types), bc, settings)


def load_study(path) -> StudyConfig:
    path = Path(path)
    raw = read_yaml(path, StudyConfigError, "no such study config")
    top = _mapping(raw, path, "", TOP_KEYS)
    here = path.parent
    name = top.get("name", path.stem)
    if not isinstance(name, str) or not name:
        _fail(path, "name", f"must be a non-empty string, got {name!r}")
    description = top.get("description", "")
    if not isinstance(description, str):
        _fail(path, "description", "must be a string")
    # One inheritance key for every config of the kit: `extends:` (model configs use it too).
    if "extends" in top and "base_config" in top:
        _fail(path, "base_config", "give extends: only (base_config: is its old spelling)")
    key = "extends" if "extends" in top or "base_config" not in top else "base_config"
    if key == "base_config":
        from ..errors import warn
        warn(f"{path}: base_config: is deprecated; write extends: (same meaning)")
    if key not in top:
        _fail(path, "extends", "missing (required): the model config the sweep starts from")
    base_config = _resolve(here, top[key])
    if not base_config.is_file():
        _fail(path, key, f"{base_config}: no such file")

    dd = _mapping(top.get("data"), path, "data", DATA_KEYS)
    if ("synth" in dd) == ("path" in dd):
        _fail(path, "data", "give exactly one of synth (settings) and path (a data file)")
    synth = None
    data_path = None
    if "synth" in dd:
        sd = _mapping(dd["synth"], path, "data.synth", SYNTH_KEYS)
        for k in ("modules", "seed"):
            if k not in sd:
                _fail(path, f"data.synth.{k}", "missing (required)")
        pileup = sd.get("pileup", 200.0)
        if isinstance(pileup, bool) or not isinstance(pileup, (int, float)) or pileup < 0:
            _fail(path, "data.synth.pileup", f"must be a non-negative number, got {pileup!r}")
        geo = sd.get("geometry", "hgcal")
        if not isinstance(geo, str):
            _fail(path, "data.synth.geometry", f"must be a geometry name, got {geo!r}")
        synth = SynthSpec(_int(sd["modules"], path, "data.synth.modules", 10),
                          _int(sd["seed"], path, "data.synth.seed", 0), float(pileup), geo)
    else:
        if not isinstance(dd["path"], str):
            _fail(path, "data.path", f"must be a file name, got {dd['path']!r}")
        data_path = _resolve(here, dd["path"])
    frac = dd.get("eval_fraction", 0.2)
    if isinstance(frac, bool) or not isinstance(frac, (int, float)) or not 0 < frac < 1:
        _fail(path, "data.eval_fraction", f"must be a number in (0, 1), got {frac!r}")
    data = DataSpec(synth, data_path, float(frac), _int(dd.get("split_seed", 0), path, "data.split_seed", 0))

    extras = []
    raw_extras = top.get("evaluate_also") or []
    if not isinstance(raw_extras, list):
        _fail(path, "evaluate_also", "must be a list of {name, path, units_per_mip, optional}")
    for i, e in enumerate(raw_extras):
        key = f"evaluate_also[{i}]"
        e = _mapping(e, path, key, EXTRA_KEYS)
        nm = e.get("name")
        if not isinstance(nm, str) or not re.fullmatch(r"[A-Za-z0-9_-]+", nm or ""):
            _fail(path, f"{key}.name", f"must be a name of letters, digits, _ and -, got {nm!r}")
        if nm in [x.name for x in extras] or nm == "eval":
            _fail(path, f"{key}.name", f"{nm!r} is taken")
        if not isinstance(e.get("path"), str):
            _fail(path, f"{key}.path", "missing (required): a .npz data file or a .csv")
        upm = e.get("units_per_mip", 1.0)
        if isinstance(upm, bool) or not isinstance(upm, (int, float)) or not upm > 0:
            _fail(path, f"{key}.units_per_mip", f"must be a positive number, got {upm!r}")
        opt = e.get("optional", False)
        if not isinstance(opt, bool):
            _fail(path, f"{key}.optional", f"must be true or false, got {opt!r}")
        extras.append(ExtraData(nm, _resolve(here, e["path"]), float(upm), opt))

    epochs = _int(top.get("epochs", 20), path, "epochs", 1)
    seed = _int(top.get("seed", 1), path, "seed", 0)
    plots = top.get("plots", True)
    if not isinstance(plots, bool):
        _fail(path, "plots", f"must be true or false, got {plots!r}")

    chip = chip_config(top.get("chip_baselines"), path)     # before the points: its errors are quick to find
    base = base_model_dict(base_config, epochs, seed)
    overrides = top.get("overrides") or {}
    if not isinstance(overrides, dict):
        _fail(path, "overrides", "must be a mapping of dotted key: value")
    for k, v in overrides.items():
        if not isinstance(k, str):
            _fail(path, "overrides", f"key {k!r} must be a string")
        set_dotted(base, k, v, f"{path}: overrides")
    points = []
    labels = set()
    for i, ov in enumerate(expand_sweep(top.get("sweep"), path)):
        lbl = _label(ov)
        if lbl in labels:
            lbl = f"{lbl}_{i}"
        labels.add(lbl)
        where = f"{path} (sweep point {i}: {lbl})"
        points.append(Point(i, lbl, dict(ov), point_model(base, ov, lbl, where)))
    return StudyConfig(path, name, description, base_config, data, tuple(extras), epochs, seed, plots,
                       tuple(points), raw, chip)
