"""Shared helpers of the testbench tests (tests/test_verif_*.py): bug planting, runs, JUnit results."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

from encoder.verif.runner import SimOptions, run

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "sim" / "build"          # shared build cache: one build per design content


def plant(src: Path, dest: Path, file: str | None = None, old: str | None = None, new: str | None = None,
          manifest=None) -> Path:
    """A copy of design ``src`` at ``dest`` with ``old`` replaced by ``new`` in ``file`` (exactly one
    occurrence) and ``manifest(m)`` applied to its manifest."""
    shutil.copytree(src, dest)
    if file is not None:
        v = dest / file
        text = v.read_text()
        assert text.count(old) == 1, f"planting needs exactly one {old!r}"
        v.write_text(text.replace(old, new))
    if manifest:
        m = json.loads((dest / "manifest.json").read_text())
        manifest(m)
        (dest / "manifest.json").write_text(json.dumps(m))
    return dest


def sim(design, run_dir: Path, **kw):
    """(exit code, summary, console text, run directory) of one `encoder sim` run."""
    lines = []
    opts = SimOptions(out=str(run_dir), build_root=str(BUILD), progress=False, **kw)
    code, summary = run(design, opts, log=lines.append)
    return code, summary, "\n".join(lines), run_dir


def junit(run_dir: Path) -> dict[str, bool]:
    """JUnit test case name -> failed?"""
    root = ET.parse(run_dir / "results.xml").getroot()
    return {tc.get("name"): tc.find("failure") is not None for tc in root.iter("testcase")}


def framed_design(tmp_path_factory) -> Path:
    """tiny_conv in the chip's arithmetic (seed 1), programmable, with 2 e-links of framing: the design
    the framing and coverage tests share."""
    from encoder.ir import save_ir
    from encoder.ir.synthetic import synthetic_ir
    from encoder.rtl_gen.design import generate_from_file, write_design
    d = tmp_path_factory.mktemp("framed")
    save_ir(synthetic_ir("tiny_conv", arithmetic="econt", seed=1), d / "ir.json")
    return write_design(generate_from_file(d / "ir.json", "programmable", elinks=2), d / "design")
