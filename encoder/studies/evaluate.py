"""A trained autoencoder scored on what the chip sends, beside the non-ML baselines.

The autoencoder rows:

- ``ae_golden``: the integer golden model of the encoder's IR gives, per
  module, the latent codes and the 9-bit module-sum code the chip puts on
  its e-links. Off detector the codes times the latent LSB go through the
  float decoder, and the decoded cells are rescaled so they sum to the
  transmitted module sum (``encoder.inputpath.decode_sum`` of the code,
  which also fixes the normalisation exponent).
- ``ae_qkeras``: the float path of the training run (QKeras encoder,
  decoder, rescaled to the exact module sum), for comparison.
- ``ae_golden_qkeras_arith``: only when the IR states another arithmetic
  (the chip's, from ``encoder export --arithmetic econt``): the same
  trained weights through the golden model with QKeras' arithmetic, so the
  report shows how far the chip's flooring moves the latents and the EMD
  (``meta["arithmetic_shift"]``).

Its word is a 4-bit header, the 9-bit module-sum code and the latents
(``encoder.metrics.bandwidth.autoencoder_bits``, convention "header"). The
baselines are ``encoder.metrics.run_all`` on the same modules, best
choice with the geometry's N for the e-link count; beside them the chip's
own algorithms, bit for bit and after the formatter buffer
(``encoder.metrics.chip_baselines``, rows ``chip_...``), on 48-cell
geometries.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import inputpath
from ..data import SensorData
from ..errors import UserError
from ..ir import EncoderIR
from ..ir.arithmetic import with_arithmetic
from ..metrics import bandwidth, baselines, chip_baselines
from .scoring import Score, energy_edges, energy_variable, score

AE_GOLDEN = "ae_golden"
AE_QKERAS = "ae_qkeras"
AE_QKERAS_ARITH = "ae_golden_qkeras_arith"
LABELS = {
    AE_QKERAS_ARITH: "autoencoder (golden latents, QKeras arithmetic)",
    AE_GOLDEN: "autoencoder (golden latents, transmitted sum)",
    AE_QKERAS: "autoencoder (QKeras float path)",
    "threshold_low": "threshold 1.35 MIP",
    "threshold_high": "threshold 2.0 MIP",
    "stc4": "STC4 (2x2 super trigger cells)",
    "stc16": "STC16 (sector super trigger cells)",
}
DISPLAY_QUANTILES = (0.5, 0.9, 0.99)


@dataclass
class AEOutput:
    reconstructed: np.ndarray     # (N, n_cells) MIPs
    latent_codes: np.ndarray      # (N, n_latent) golden-model codes
    latent_lsb: float
    sum_code: np.ndarray          # (N,) transmitted module-sum code
    sent_sum: np.ndarray          # (N,) module sum decoded from the code (counts)
    bits: int                     # bits per BX of the word


@dataclass
class Evaluation:
    meta: dict
    scores: dict[str, Score]
    charges: np.ndarray
    reconstructions: dict[str, np.ndarray]          # name -> (N, n_cells) for event displays
    display_modules: list[int] = field(default_factory=list)
    sent: dict[str, np.ndarray] = field(default_factory=dict)   # name -> (N, n_cells) cells transmitted

    def summary(self) -> dict:
        return {**self.meta, "algorithms": {k: s.summary for k, s in self.scores.items()}}


def label(name: str) -> str:
    if name.startswith("chip_"):
        return chip_baselines.label(name)
    if name.startswith("best_choice_"):
        return f"best choice, {name.rsplit('_', 1)[1]} cells"
    return LABELS.get(name, name)


def ae_word_bits(ir: EncoderIR) -> int:
    return bandwidth.autoencoder_bits(ir.n_latent, ir.latent_format.bits, "header")


def decode_golden(run, ir: EncoderIR, charges: np.ndarray) -> AEOutput:
    """What the receiver rebuilds from the chip's word: golden latents -> decoder -> transmitted sum."""
    from ..golden import run as golden_run
    g = golden_run(ir, charges)
    lsb = 2.0 ** -ir.latent_format.frac
    ip = ir.input
    sent = inputpath.decode_sum(g.sum_code, ip.sum_exp_bits, ip.sum_mant_bits)
    recon = run.decode(g.latents.astype(np.float64) * lsb, sent)
    return AEOutput(recon, g.latents, lsb, g.sum_code, sent, ae_word_bits(ir))


def arithmetic_shift(ae: AEOutput, ref: AEOutput, ir: EncoderIR) -> dict:
    """How the IR's arithmetic moves the latent codes from QKeras' arithmetic, module by module
    (both runs share the latent format, so codes compare directly)."""
    diff = ae.latent_codes.astype(np.float64) - ref.latent_codes.astype(np.float64)
    changed = diff != 0
    n = max(len(diff), 1)
    return {
        "arithmetic": ir.arithmetic, "reference": "qkeras",
        "modules_with_a_changed_latent": float(changed.any(axis=1).sum() / n),
        "latents_changed": float(changed.mean()) if diff.size else 0.0,
        "mean_code_change": float(diff.mean()) if diff.size else 0.0,
        "mean_abs_code_change": float(np.abs(diff).mean()) if diff.size else 0.0,
        "max_abs_code_change": float(np.abs(diff).max(initial=0.0)),
        "sum_code_changed": float((ae.sum_code != ref.sum_code).mean()) if len(diff) else 0.0,
    }


def ir_of_run(run) -> EncoderIR:
    """The run's encoder exported to the IR with QKeras arithmetic (in memory)."""
    from ..training.config import InputSettings
    from ..training.export import export_model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return export_model(run.encoder, InputSettings.from_config(run.config), name=run.config.name,
                            arithmetic="qkeras", source={"from": "encoder evaluate", "config": run.config.name})


def same_weights(a: EncoderIR, b: EncoderIR) -> bool:
    la, lb = a.mac_layers, b.mac_layers
    return len(la) == len(lb) and all(
        x.weight.shape == y.weight.shape and np.array_equal(x.weight, y.weight) and np.array_equal(x.bias, y.bias)
        and x.weight_format == y.weight_format and x.bias_format == y.bias_format for x, y in zip(la, lb))


def check_ir(run, ir: EncoderIR, where: str) -> None:
    cfg = run.config
    if ir.n_latent != cfg.latent.size:
        raise UserError(f"{where}: {ir.n_latent} latents, the run's decoder takes {cfg.latent.size}")
    if ir.geometry != cfg.geometry or ir.input.arrangement != cfg.arrangement:
        raise UserError(f"{where}: geometry {ir.geometry}/{ir.input.arrangement}, the run is "
                        f"{cfg.geometry}/{cfg.arrangement}")
    if ir.input.counts_per_mip != cfg.input.counts_per_mip:
        raise UserError(f"{where}: {ir.input.counts_per_mip:g} counts per MIP, the run's decoder "
                        f"expects {cfg.input.counts_per_mip:g}")


def display_modules(charges: np.ndarray, quantiles=DISPLAY_QUANTILES) -> list[int]:
    """Modules whose sum is nearest each quantile of the module sums (non-empty modules)."""
    s = charges.sum(axis=1)
    ok = np.flatnonzero(s > 0)
    if ok.size == 0:
        return []
    picks = []
    for q in quantiles:
        target = np.quantile(s[ok], q)
        i = int(ok[np.argmin(np.abs(s[ok] - target))])
        if i not in picks:
            picks.append(i)
    return picks


def default_elinks(run, ir: EncoderIR) -> int:
    """The config's e-link count, else the e-links the autoencoder word needs."""
    if run.config.elinks is not None:
        return int(run.config.elinks)
    return int(inputpath.elinks_for(ae_word_bits(ir)))


def evaluate(run, data: SensorData, ir: EncoderIR | None = None, *, n_elinks: int | None = None,
             with_baselines: bool = True, with_qkeras: bool = True, workers: int = 1,
             progress: bool | None = None, ir_path: str | None = None, data_path: str | None = None,
             ir_matches_run: bool | None = None,
             chip: chip_baselines.ChipBaselines | None = chip_baselines.DEFAULT_CHIP) -> Evaluation:
    """Score a training run (``encoder.training.predict.Run``) on ``data``.

    Without ``ir`` the run's encoder is exported with QKeras arithmetic.
    ``with_baselines`` adds the ``run_all`` baselines; without them the
    best-choice reconstruction is still kept for the event displays.
    ``chip`` (with baselines, 48-cell geometries) adds the chip's own
    algorithms; None leaves them out.
    """
    from ..training.inputs import check_data
    cfg = run.config
    where = data_path or "data"
    check_data(cfg, data.charges, data.geometry, where)
    if ir is None:
        ir = ir_of_run(run)
        ir_matches_run = True
    else:
        check_ir(run, ir, ir_path or "IR")
        if ir_matches_run is None:
            ir_matches_run = same_weights(ir, ir_of_run(run))
    if n_elinks is None:
        n_elinks = default_elinks(run, ir)
    geom = data.geometry
    if n_elinks not in _geometry(geom).best_choice_by_elinks:
        raise UserError(f"--elinks {n_elinks}: no best-choice entry for {geom}; choose one of "
                        f"{sorted(_geometry(geom).best_choice_by_elinks)}")
    x = data.charges
    try:
        ae = decode_golden(run, ir, x)
    except ValueError as exc:
        raise UserError(f"{where}: {exc}") from None
    recon = {AE_GOLDEN: ae.reconstructed}
    bits = {AE_GOLDEN: np.full(len(x), ae.bits, dtype=np.int64)}
    shift = None
    if ir.arithmetic != "qkeras":
        # The same weights and formats, only the rules changed (no second export of the run).
        ref = decode_golden(run, with_arithmetic(ir, "qkeras"), x)
        recon[AE_QKERAS_ARITH] = ref.reconstructed
        bits[AE_QKERAS_ARITH] = bits[AE_GOLDEN]
        shift = arithmetic_shift(ae, ref, ir)
    if with_qkeras:
        recon[AE_QKERAS] = run.predict(x)["reconstructed"]
        bits[AE_QKERAS] = bits[AE_GOLDEN]
    base = (baselines.run_all(x, geom, n_elinks=n_elinks) if with_baselines
            else {r.name: r for r in [baselines.best_choice(x, geom, n_elinks=n_elinks)]})
    bc_name = next(k for k in base if k.startswith("best_choice_"))
    chip_info = {}
    if with_baselines:
        for k, r in base.items():
            recon[k], bits[k] = r.reconstructed, r.bits
        if chip is not None and chip_baselines.supports(geom):
            try:
                chip_rows = chip_baselines.run_all(x, geom, n_elinks, chip)
            except ValueError as exc:
                raise UserError(f"chip algorithms on {where}: {exc}") from None
            for k, r in chip_rows.items():
                recon[k], bits[k], chip_info[k] = r.reconstructed, r.bits, r.stats()

    ev = energy_variable(data.truth)
    energy = data.truth[ev[0]] if ev else None
    edges = energy_edges(energy, x) if ev else None
    scores = {}
    bar = _bar(len(x) * len(recon), progress)
    try:
        for name, r in recon.items():
            kind = "autoencoder" if name in (AE_GOLDEN, AE_QKERAS) else \
                "chip" if name in chip_info else "baseline"
            info = {"kind": kind, "label": label(name)}
            if name in chip_info:
                info["chip"] = chip_info[name]
            scores[name] = score(name, x, r, bits[name], geometry=geom, n_elinks=n_elinks, energy=energy,
                                 energy_edges_=edges, energy_label=ev[1] if ev else None, workers=workers,
                                 progress=bar.update if bar else None, info=info)
    finally:
        if bar:
            bar.close()
    if shift is not None:
        # EMD means as the summaries state them (empty modules carry negative codes, left out)
        m_a = scores[AE_GOLDEN].summary["emd"]["mean"]
        m_q = scores[AE_QKERAS_ARITH].summary["emd"]["mean"]
        emd_a, emd_q = scores[AE_GOLDEN].emd, scores[AE_QKERAS_ARITH].emd
        both = (emd_a >= 0) & (emd_q >= 0)
        shift["emd_mean"] = {ir.arithmetic: m_a, "qkeras": m_q}
        shift["emd_mean_change"] = m_a - m_q
        shift["emd_mean_abs_change_per_module"] = float(np.abs(emd_a[both] - emd_q[both]).mean()) if both.any() else 0.0
    scores[AE_GOLDEN].summary["latent_bits"] = ir.latent_format.bits
    scores[AE_GOLDEN].summary["econt_frame_bits"] = bandwidth.autoencoder_bits(
        ir.n_latent, ir.latent_format.bits, "econt")
    meta = {
        "run": str(run.dir),
        "config": cfg.name,
        "data": data_path,
        "n_modules": int(len(x)),
        "n_empty_modules": int((x.sum(axis=1) == 0).sum()),
        "geometry": geom,
        "n_elinks": int(n_elinks),
        "budget_bits": int(n_elinks * inputpath.ELINK_BITS_PER_BX),
        "best_choice": bc_name,
        "chip_baselines": chip.to_dict() if chip_info else None,
        "ir": {"path": ir_path, "name": ir.name, "hash": ir.hash, "arithmetic": ir.arithmetic,
               "n_latent": ir.n_latent, "latent_format": str(ir.latent_format),
               "latent_bits": ir.latent_format.bits, "latent_lsb": ae.latent_lsb,
               "matches_run_weights": bool(ir_matches_run)},
        "ae_word": {"bits": ae.bits, "header_bits": bandwidth.HEADER_BITS, "sum_bits": bandwidth.AE_SUM_BITS,
                    "latent_bits": ir.n_latent * ir.latent_format.bits},
        "energy_variable": ev[0] if ev else None,
        "input_bits": inputpath.input_bits_per_bx(x.shape[1]),
    }
    if shift is not None:
        meta["arithmetic_shift"] = shift
    shown = display_modules(x)
    displays = {AE_GOLDEN: ae.reconstructed, bc_name: base[bc_name].reconstructed}
    return Evaluation(meta, scores, x, displays, shown, {bc_name: base[bc_name].sent})


def _geometry(name):
    from .. import geometry
    return geometry.load(name)


def _bar(total: int, progress: bool | None):
    if progress is False:
        return None
    from tqdm import tqdm
    return tqdm(total=total, unit="module", desc="EMD", disable=None)


def load_run(run_dir):
    """A training run (TensorFlow is imported here)."""
    from ..training.predict import Run
    path = Path(run_dir)
    if not path.is_dir():
        raise UserError(f"{path}: no such run directory")
    return Run(path)
