"""The kit as Python calls, for notebooks and scripts (``import encoder``).

Every call here is what a CLI command runs, with the same checks and the
same files:

- ``encoder.load_data(path)`` / ``encoder.synth_data(n, seed)``: sensor data;
- ``encoder.from_keras(model_or_h5, ...)`` -> ``IR`` (imports TensorFlow);
  ``encoder.from_econt(init.yaml)`` -> the ECON-T chip's own encoder;
- ``encoder.load_ir(path)`` -> ``IR``; ``ir.predict(charges)`` is the golden
  model (integer latent codes), ``ir.run(charges)`` keeps every
  intermediate, ``ir.save(path)`` writes the JSON;
- ``ir.write_rtl(dir, ...)`` -> ``Design``; ``design.simulate(...)`` runs the
  cocotb regression, ``design.synthesize(...)`` yosys (and OpenSTA);
- ``encoder.emd(inputs, outputs)``, ``encoder.evaluate(run, data, ir)``.

Nothing here imports TensorFlow until ``from_keras``, ``load_run`` or
``evaluate`` needs it: ``import encoder`` stays light.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import UserError


def _ir_module():
    from . import ir as irmod
    return irmod


class IR:
    """An encoder IR (``encoder.ir.EncoderIR``) with the kit's steps as methods.

    Attributes of the underlying IR (``name``, ``hash``, ``layers``,
    ``input``, ``n_latent``, ``latent_format``, ...) read through; the raw
    object is ``ir.raw``.
    """

    def __init__(self, raw, path: str | Path | None = None, text: str | None = None):
        self.raw = raw
        self.path = Path(path) if path is not None else None
        self._text = text

    def __getattr__(self, name):
        if name == "raw":                      # not yet set (copy/pickle): no recursion
            raise AttributeError(name)
        return getattr(self.raw, name)

    def __repr__(self) -> str:
        r = self.raw
        return (f"<encoder IR {r.name!r}: {r.n_params:,} weights and biases, {r.n_latent} latents of "
                f"{r.latent_format}, {r.arithmetic} arithmetic, {r.hash[:18]}...>")

    # -- the golden model -------------------------------------------------------------------------
    def counts(self, charges_mip) -> np.ndarray:
        """Charges in MIPs (N, cells) -> the integer counts the hardware sees (clipped to its width)."""
        from . import inputpath
        x = _charges(charges_mip, self.raw.input.n_cells)
        return inputpath.to_counts(x, self.raw.input.counts_per_mip, self.raw.input.charge_bits).counts

    def predict(self, charges_mip, *, counts: bool = False) -> np.ndarray:
        """Latent codes (N, n_latent) of the golden model: what the chip sends, bit for bit.

        ``charges_mip``: charges in MIPs, or integer counts with ``counts=True``. One module
        (a 1-D array) gives one row. Multiply by ``ir.latent_lsb`` for the value.
        """
        from .golden import encode
        x = _charges(charges_mip, self.raw.input.n_cells)
        c = np.asarray(x, dtype=np.int64) if counts else self.counts(x)
        if counts and not np.array_equal(c, x):
            raise UserError("counts=True: the charges are not whole numbers")
        return encode(self.raw, c)

    @property
    def latent_lsb(self) -> float:
        """Value of one latent code (2^-frac of the latent format)."""
        return 2.0 ** -self.raw.latent_format.frac

    def run(self, charges_mip, *, keep: bool = False):
        """The whole hardware path (``encoder.golden.GoldenResult``: latents, module-sum code, shifts,
        input codes; ``keep=True`` adds every layer's output)."""
        from .golden import run
        return run(self.raw, _charges(charges_mip, self.raw.input.n_cells), keep=keep)

    # -- files ------------------------------------------------------------------------------------
    def save(self, path: str | Path, *, force: bool = False) -> Path:
        """Write the IR as JSON (refuses an existing file unless ``force``)."""
        _ir_module().save_ir(self.raw, path, overwrite=force)
        self.path = Path(path)
        self._text = None
        return self.path

    def write_hls4ml_config(self, path: str | Path, *, keras_model=None, force: bool = False) -> Path:
        """The hls4ml configuration with this IR's exact types (as ``encoder export-hls4ml``); layer
        names from ``keras_model`` when given, else those of ``encoder train``'s models."""
        from .files import write_text
        from .hls4ml_config import config_text, names_from_keras
        names = names_from_keras(keras_model, self.raw) if keras_model is not None else None
        return write_text(path, config_text(self.raw, names), overwrite=force)

    def to_hls4ml(self, keras_model, output_dir: str | Path, *, default: bool = False):
        """hls4ml's model of ``keras_model`` (the QKeras encoder this IR was exported from) with this
        IR's types; ``.compile()`` then ``.predict(x)``. Needs the extra ``.[hls4ml]``."""
        from .training.hls4ml_convert import convert
        return convert(keras_model, self.raw, output_dir, default=default)

    def write_rtl(self, out: str | Path, *, weights: str = "programmable", pipeline: int = 0,
                  elinks: int | str | None = None, cuts: list[str] | None = None,
                  reuse: int = 1, force: bool = False) -> "Design":
        """Verilog of this encoder in ``out`` (as ``encoder rtl``): sources, manifest.json, files.f and
        a cocotb Makefile. Returns the ``Design``. ``reuse``: as ``encoder rtl --reuse R``."""
        from .files import check_writable
        from .rtl_gen import generate, write_design
        if weights not in ("programmable", "constant"):
            raise UserError(f"weights: {weights!r} is neither 'programmable' nor 'constant'")
        check_writable(out, force, marker="manifest.json")
        text = self._text
        if text is None and self.path is not None and self.path.is_file():
            text = self.path.read_text()
        design = generate(self.raw, weights, pipeline, ir_text=text, elinks=elinks, cuts=cuts, reuse=reuse)
        write_design(design, out, force=force)
        return Design(out)


class Design:
    """A generated design folder (``encoder rtl``/``ir.write_rtl``)."""

    def __init__(self, path: str | Path):
        self.dir = Path(path)
        mf = self.dir / "manifest.json"
        if not mf.is_file():
            raise UserError(f"{self.dir}: not a generated design (no manifest.json)")
        self.manifest = json.loads(mf.read_text())

    def __repr__(self) -> str:
        m = self.manifest
        return f"<encoder Design {str(self.dir)!r}: top {m['top']}, {m['weights']} weights, latency {m['latency']}>"

    @property
    def top(self) -> str:
        return self.manifest["top"]

    @property
    def latency(self) -> int:
        return int(self.manifest["latency"])

    def simulate(self, *, sim: str = "icarus", vectors: int = 2000, seed: int = 1, jobs: int = 1,
                 data: str | Path | None = None, out: str | Path | None = None, force: bool = False,
                 scheduler: str | None = None, progress: bool = False, log=None) -> "SimResult":
        """The cocotb regression against the golden model (as ``encoder sim``); returns its summary.

        ``out``: the run folder (default: under the kit's sim/build/runs). ``log``: a function taking
        each line the command would print (default: silent). ``scheduler``: a Dask scheduler address
        to run the ``jobs`` shards on (as ``encoder sim --scheduler``).
        """
        from .verif.runner import SimOptions, run
        opts = SimOptions(sim=sim, vectors=vectors, data=str(data) if data else None, seed=seed, jobs=jobs,
                          out=str(out) if out else None, force=force, progress=progress, scheduler=scheduler)
        code, summary = run(self.dir, opts, log=log or (lambda line: None))
        return SimResult(code == 0, summary)

    def synthesize(self, *, out: str | Path | None = None, liberty: str = "none", clock_ns: float | None = None,
                   force: bool = False, progress: bool = False) -> dict:
        """yosys (``liberty='none'``: generic estimate, transistors and cells) or the silicon flow
        (``liberty='sky130hd'`` or a Liberty file: area, timing, power). Writes the report into
        ``out`` (default ``DIR/synth``) and returns synth.json's content. ``clock_ns`` None: 25 ns
        divided by the design's initiation interval (one module per crossing)."""
        out = Path(out) if out is not None else self.dir / "synth"
        if liberty == "none":
            from dataclasses import asdict
            from .rtl_gen.synth import synthesize, write_report
            for name in ("synth.json", "synth.txt"):
                if (out / name).exists() and not force:
                    raise UserError(f"{out / name}: already exists; pass force=True to replace it")
            rep = synthesize(self.dir, progress=progress)
            write_report(rep, out, force=force)
            return asdict(rep)
        from .silicon.flow import characterise
        characterise(self.dir, out, liberty, clock_ns, force=force, progress=progress, log=lambda line: None)
        return json.loads((out / "synth.json").read_text())


@dataclass
class SimResult:
    """``passed`` and the run's summary.json (``summary['checked']``, ``['mismatches']``, ...)."""

    passed: bool
    summary: dict

    def __bool__(self) -> bool:
        return self.passed

    def __getitem__(self, key):
        return self.summary[key]


def _charges(x, n_cells: int) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] != n_cells:
        raise UserError(f"charges: expected (modules, {n_cells}) values, got shape {np.shape(x)}")
    if not np.isfinite(a).all() or (a < 0).any():
        raise UserError("charges: every charge must be finite and non-negative")
    return a


# -- module-level calls ---------------------------------------------------------------------------
def load_ir(path: str | Path) -> IR:
    """Read and check an IR file (every field, shapes, formats, the hash)."""
    raw = _ir_module().load_ir(path)
    return IR(raw, path, Path(path).read_text())


def from_keras(model_or_h5, *, name: str | None = None, arithmetic: str = "qkeras",
               input_config: str | Path | None = None, **input_options) -> IR:
    """A QKeras encoder (a model, a .h5 file, or a run folder of ``encoder train``) -> ``IR``.

    The input path comes from the run's config, else from ``input_config`` (YAML) and
    ``input_options`` (geometry, arrangement, charge_bits, counts_per_mip, normalisation, shift).
    Imports TensorFlow.
    """
    from .training.config import InputSettings, load_input_settings, parse_input_settings
    from .training.export import export_model, load_keras
    source = {"from": "python api"}
    model = model_or_h5
    settings = None
    if isinstance(model_or_h5, (str, os.PathLike)):
        p = Path(model_or_h5)
        if p.is_dir():
            from .training.train import ENCODER_FILE, read_run_config
            if input_config or input_options:
                raise UserError(f"{p}: a run folder has its config; input options are for a model or .h5")
            cfg = read_run_config(p)
            settings = InputSettings.from_config(cfg)
            name = name or cfg.name
            p = p / ENCODER_FILE
            source = {"from": "encoder train", "config": cfg.name, "model": ENCODER_FILE}
        else:
            source = {"from": "qkeras model", "model": p.name}
        name = name or p.stem
        model = load_keras(p)
    if settings is None:
        base = load_input_settings(input_config) if input_config else InputSettings()
        settings = parse_input_settings(dict(input_options), "from_keras options", base)
    raw = export_model(model, settings, name=name or getattr(model, "name", None), arithmetic=arithmetic,
                       source=source)
    return IR(raw)


def load_data(path: str | Path, *, units_per_mip: float | None = None):
    """A data file (``encoder.data.SensorData``: ``charges`` in MIPs, ``truth``, ``meta``, ``geometry``).

    A ``.csv`` (ECON-T CALQ columns, as ``encoder data import``) needs ``units_per_mip``: 35 for the
    shipped CMS sample ``data/cms/calq_ttbar_6050.csv``.
    """
    if str(path).lower().endswith(".csv"):
        from .data import import_csv
        if units_per_mip is None:
            raise UserError(f"{path}: a CSV of raw charges needs units_per_mip (35 for the CMS sample)")
        return import_csv(path, units_per_mip=units_per_mip).data
    from .data import load_data as load
    return load(path)


def from_econt(config: str | Path, *, layout: str | None = None) -> IR:
    """The ECON-T chip's autoencoder from its I2C configuration (as ``encoder econt import``)."""
    from .econt.chip import ir_from_config
    kw = {"layout": layout} if layout else {}
    return IR(ir_from_config(config, **kw))


def synth_data(modules: int, seed: int = 1, geometry: str = "hgcal"):
    """``modules`` synthetic modules (``SensorData``), deterministic in ``seed``."""
    from . import geometry as geom
    from .data import synthesize
    return synthesize(int(modules), int(seed), geom.load(geometry))


def emd(inputs, outputs, geometry: str = "hgcal", *, jobs: int = 1) -> np.ndarray | float:
    """Exact EMD per module between charges (N, cells) and their reconstruction, in units of half the
    trigger-cell pitch (-1: empty input, -0.5: empty output). One module gives a float."""
    from .metrics import emd as solve
    return solve(inputs, outputs, geometry, workers=jobs)


def load_run(path: str | Path):
    """A training run folder (``encoder.training.predict.Run``; imports TensorFlow)."""
    from .studies.evaluate import load_run as load
    return load(path)


def evaluate(run, data, ir: IR | str | Path | None = None, *, elinks: int | None = None, jobs: int = 1,
             baselines: bool = True, progress: bool = False):
    """Score a run (folder or ``load_run``) on data (file or ``SensorData``) as ``encoder evaluate``
    does: the golden model's codes decoded (``ae_golden``), QKeras, the baselines. Returns
    ``encoder.studies.evaluate.Evaluation`` (``.scores[name].summary``, ``.meta``)."""
    from .studies.evaluate import evaluate as score
    data_path = None
    if isinstance(data, (str, os.PathLike)):
        data_path = str(data)
        data = load_data(data)
    if isinstance(run, (str, os.PathLike)):
        run = load_run(run)
    ir_path, raw = None, None
    if isinstance(ir, (str, os.PathLike)):
        ir_path, raw = str(ir), load_ir(ir).raw
    elif ir is not None:
        raw = ir.raw if isinstance(ir, IR) else ir
    return score(run, data, raw, n_elinks=elinks, with_baselines=baselines, workers=jobs, progress=progress,
                 ir_path=ir_path, data_path=data_path)


__all__ = ["IR", "Design", "SimResult", "load_ir", "from_keras", "from_econt", "load_data", "synth_data", "emd", "load_run",
           "evaluate"]
