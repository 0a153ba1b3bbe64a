"""Sign-off regressions: generated designs of the shipped presets, both weight modes, 2,000 vectors each
(every corner case included) against the golden model, with zero mismatches.

IRs have seeded random weights in the exact formats of configs/econt_8x8.yaml, econt_4x4x3.yaml and
econt_8x8_2elinks.yaml (3-bit latents). The econt_8x8_2elinks designs carry the e-link framing block on
2 e-links (`encoder rtl --elinks 2`): every frame on tx_data is checked too, with its latency, against
the golden outputs framed by encoder.econt.framing, BX-counter resets driven with some vectors.
Builds are cached under sim/build by design content.

Simulator per design, the quicker of the two for 2,000 vectors (measured on 2 shared cores):
programmable econt_8x8 designs on Icarus (3 s build, ~60 vectors/s: 35-65 s in all, weight loads
included; a Verilator build of the register file takes 50-90 s); programmable econt_4x4x3 on
Verilator (Icarus manages ~9 vectors/s on its 3x larger conv layer: 235 s); constant designs on
Verilator (35-60 s build, over 1,000 vectors/s; Icarus evaluates the shift-and-add constant
multipliers at ~30 vectors/s: 70 s). Icarus also checks that no output is X or Z after reset
(Verilator is two-state and cannot tell).
"""

import json
from pathlib import Path

import numpy as np
import pytest

from encoder.ir import save_ir
from encoder.rtl_gen.design import generate_from_file, write_design
from encoder.verif.presets import preset_ir
from encoder.verif.runner import SimOptions, run

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "sim" / "build"
PRESETS = {
    "econt_8x8": ROOT / "configs" / "econt_8x8.yaml",
    "econt_4x4x3": ROOT / "configs" / "econt_4x4x3.yaml",
    "econt_8x8_2elinks": ROOT / "configs" / "econt_8x8_2elinks.yaml",
}
VECTORS = 2000
SEED = 11
ELINKS = {"econt_8x8_2elinks": 2}      # presets generated with the framing block
SIMULATOR = {("econt_8x8", "programmable"): "icarus", ("econt_8x8_2elinks", "programmable"): "icarus",
             ("econt_4x4x3", "programmable"): "verilator"}          # constant designs: verilator


def _missing_corner_cases(counts: np.ndarray, charge_bits: int) -> list[str]:
    """Corner cases absent from the simulated vectors, checked from the counts themselves."""
    n_cells = counts.shape[1]
    top = (1 << charge_bits) - 1
    missing = []
    if not (counts == 0).all(axis=1).any():
        missing.append("all zero")
    if not (counts == top).all(axis=1).any():
        missing.append("all cells at full scale")
    single = (counts == top) & ((counts != 0).sum(axis=1) == 1)[:, None]
    missing += [f"cell {i} alone at full scale" for i in np.flatnonzero(~single.any(axis=0))]
    sums = set(counts.sum(axis=1).tolist())
    max_sum = n_cells * top
    for p in range(max_sum.bit_length() + 1):
        missing += [f"module sum {s}" for s in ((1 << p) - 1, 1 << p, (1 << p) + 1)
                    if 1 <= s <= max_sum and s not in sums]
    return missing


@pytest.mark.slow
@pytest.mark.parametrize("weights", ["programmable", "constant"])
@pytest.mark.parametrize("preset", list(PRESETS))
def test_generated_design_matches_golden_model_on_2000_vectors(preset, weights, tmp_path):
    ir = preset_ir(PRESETS[preset], seed=SEED)
    save_ir(ir, tmp_path / "ir.json")
    elinks = ELINKS.get(preset)
    design = write_design(generate_from_file(tmp_path / "ir.json", weights, elinks=elinks), tmp_path / "design")
    manifest = json.loads((design / "manifest.json").read_text())
    lines = []
    opts = SimOptions(sim=SIMULATOR.get((preset, weights), "verilator"), vectors=VECTORS, seed=SEED,
                      out=str(tmp_path / "run"), build_root=str(BUILD), progress=False)
    code, s = run(design, opts, log=lines.append)
    report = "\n".join(lines)
    assert code == 0 and s["status"] == "pass", report
    assert s["checked"] >= VECTORS and s["mismatches"] == 0 and s["stale_outputs"] == 0
    assert s["x_or_z_samples"] == 0 and s["register_read_back_errors"] == 0 and not s["harness_errors"]
    assert set(s["latency_seen"]) == {str(manifest["latency"])}
    assert s["stimulus"]["saturation"]["input_saturated"]
    simulated = []
    for shard in sorted((tmp_path / "run" / "shards").iterdir()):
        with np.load(shard / "plan.npz") as z:
            simulated.append(z["counts"])
    assert _missing_corner_cases(np.concatenate(simulated), ir.input.charge_bits) == []
    result = json.loads((tmp_path / "run" / "shards" / "00" / "result.json").read_text())
    events = [e["event"] for e in result["events"]]
    assert "reset" in events and s["flushed_by_reset"] >= 1
    if weights == "programmable":
        # Read back: the shadow and the active banks after the first load, the active banks after the
        # last live reload; weight sets reloaded while vectors flow (shadow banks, commit).
        loads = [e for e in result["events"] if e["event"] == "read_back"]
        assert len(loads) == 3 and all(e["errors"] == 0 and e["registers"] == ir.n_params for e in loads)
        assert s["live_reloads"] >= 5 and s["config_errors"] == 0
        assert {"use_before_load", "unmapped_writes", "load"} <= set(events)
    lat = next(p for p in manifest["ports"] if p["role"] == "out_latents")
    assert lat["field_width"] == ir.latent_format.bits == (3 if preset.endswith("2elinks") else 9)
    if elinks:
        assert s["elinks"] == manifest["framing"]["elinks"] == elinks
        assert s["frames_checked"] >= VECTORS and s["frame_mismatches"] == 0 and s["stale_frames"] == 0
        assert set(s["tx_latency_seen"]) == {str(manifest["framing"]["latency"])}
        assert s["bx_resets"] >= 2 and s["frames_flushed_by_reset"] >= 1
    else:
        assert "frames_checked" not in s
