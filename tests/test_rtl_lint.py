"""Every generated design compiles in Icarus, is Verilator -Wall clean and elaborates in yosys.

Designs: econt_8x8 with random weights in both arithmetics, econt_4x4x3 in
QKeras' arithmetic, and the ECON-T chip IR; both weight modes (framed designs:
tests/test_econt_rtl_frames.py). Yosys reads,
builds the hierarchy, runs proc, flattens and checks: no latch, no
undriven net, no multiple drivers, no combinational loop.

Waivers: each covers one declaration and has its reason beside it (the primitives, every design
linted here, tiny_conv in ten generator variants); no -Wno option is left in the package but the
gate-level build's -Wno-fatal.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from encoder.ir import FixedFormat
from encoder.ir.schema import Requant
from encoder.ir.synthetic import synthetic_ir
from encoder.rtl_gen import generate, write_design
from irtools import tiny_dense_ir
from rtl_helpers import IR_CASES, RTL, ir_case, need_tool, run

# The shipped architectures (econt_8x8, econt_4x4x3: QKeras arithmetic, as trained), the chip's
# arithmetic on random and on the chip's own weights; econt_4x4x3 in the chip's arithmetic adds no
# construct the others lack and is the slowest to elaborate, so it is left out.
LINT_IRS = [label for label in IR_CASES if label != "econt_4x4x3_econt"]
CASES = [(label, mode) for label in LINT_IRS for mode in ("programmable", "constant")]


def _design(tmp_path, label, mode):
    d = tmp_path / f"{label}_{mode}"
    write_design(generate(ir_case(label), mode, 0), d)
    return d


def _sources(d):
    m = json.loads((d / "manifest.json").read_text())
    return m["top"], [str(d / s) for s in m["sources"]]


@pytest.mark.parametrize("label,mode", CASES, ids=[f"{a}-{b}" for a, b in CASES])
def test_design_compiles_lints_clean_with_one_signal_waivers_and_elaborates_without_latches(tmp_path, label, mode):
    need_tool("iverilog")
    need_tool("verilator")
    need_tool("yosys")
    top, srcs = _sources(_design(tmp_path, label, mode))
    # No region waiver (the constant layers once carried one over hundreds of lines of multiples).
    problems = [p for s in srcs for p in waiver_problems(Path(s).name, Path(s).read_text())]
    assert not problems, "\n".join(problems[:20])
    r = run(["iverilog", "-g2001", "-Wall", "-o", "/dev/null", *srcs])
    assert r.returncode == 0 and r.stderr.strip() == "", r.stderr[-2000:]

    r = run(["verilator", "--lint-only", "-Wall", "--top-module", top, *srcs])
    assert r.returncode == 0 and "%Warning" not in r.stderr, r.stderr[-3000:]

    # Each module checked, then the flattened design (ports connected, nothing undriven).
    script = (f"read_verilog {' '.join(srcs)}; hierarchy -check -top {top}; proc; check -assert; "
              "select -assert-none t:$dlatch t:$adlatch t:$dlatchsr; flatten; check -assert")
    r = run(["yosys", "-q", "-p", script])
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]


def test_verilator_reports_an_injected_width_bug(tmp_path):
    """The lint check bites: an extra bit on one adder node is reported."""
    need_tool("verilator")
    top, srcs = _sources(_design(tmp_path, "chip", "programmable"))
    mac = next(s for s in srcs if s.endswith("_conv_mac9.v"))
    text = open(mac).read()
    bad = tmp_path / "bad_mac9.v"
    line = next(ln for ln in text.splitlines() if "wire [" in ln and "sum_l1_0 =" in ln)
    bad.write_text(text.replace(line, line.replace(" = ", " = 1'b0 + ", 1).replace("+ {", "+ {1'b0, ", 1)))
    r = run(["verilator", "--lint-only", "-Wall", "--top-module", top, *[s if s != mac else str(bad) for s in srcs]])
    assert r.returncode != 0 and "%Warning-WIDTH" in r.stderr


# ---- waivers: one signal each, with its reason; no warning turned off for a whole build ----------

WAIVER = re.compile(r"/\*\s*verilator\s+lint_(off|on)\b[^*]*\*/")
# Other ways of silencing Verilator over more than one signal.
DECL_START = re.compile(r"(input|output|inout|wire|reg|localparam|logic)\b")
BROAD = re.compile(r"verilator\s+lint_save|verilator\s+lint_restore|verilator\s+coverage_off|//\s*verilator\s+lint_off")


def waiver_problems(name: str, text: str) -> list[str]:
    """Every lint_off must cover exactly one declaration (which may run over several lines) and be
    closed by lint_on right after it, with its reason: a // comment on the line before or on the
    declaration's first line."""
    lines = text.splitlines()
    problems = []
    for i, line in enumerate(lines):
        if BROAD.search(line):
            problems.append(f"{name}:{i + 1}: broad waiver: {line.strip()}")
        m = WAIVER.search(line)
        if not m or m.group(1) != "off":
            continue
        end = next((k for k in range(i + 1, len(lines)) if WAIVER.search(lines[k])), None)
        if end is None or "lint_on" not in lines[end]:
            problems.append(f"{name}:{i + 1}: lint_off without its lint_on")
            continue
        decl = [ln.split("//")[0].strip() for ln in lines[i + 1:end]]
        starts = [d for d in decl if DECL_START.match(d)]
        # A wire or reg ends at its one semicolon, on the last line; a port is one line ending in a comma.
        one = (sum(d.count(";") for d in decl) == 1 and decl[-1].endswith(";")) if decl and ";" in "".join(decl) \
            else (len(decl) == 1 and decl[0].endswith(","))
        if not decl or not DECL_START.match(decl[0]) or len(starts) != 1 or not one:
            problems.append(f"{name}:{i + 1}: a waiver must cover one declaration, not lines {i + 2}-{end}")
        if not (lines[i - 1].strip().startswith("//") or "//" in lines[i + 1]):
            problems.append(f"{name}:{i + 1}: waiver without its reason (a // comment before it or on the line)")
    return problems


def test_waiver_check_rejects_a_region_and_a_waiver_without_reason():
    region = "// why\n/* verilator lint_off UNUSEDSIGNAL */\nwire a;\nwire b;\n/* verilator lint_on UNUSEDSIGNAL */\n"
    bare = "wire c;\n/* verilator lint_off UNUSEDSIGNAL */\nwire a;\n/* verilator lint_on UNUSEDSIGNAL */\n"
    good = "// a is read only in test builds\n/* verilator lint_off UNUSEDSIGNAL */\nwire a;\n" \
           "/* verilator lint_on UNUSEDSIGNAL */\n"
    sink = "// unread bits\n/* verilator lint_off UNUSEDSIGNAL */\nwire s = &{1'b0,\n    a[1:0], b[0]};\n" \
           "/* verilator lint_on UNUSEDSIGNAL */\n"
    assert waiver_problems("r", region) and waiver_problems("b", bare) and not waiver_problems("g", good)
    assert not waiver_problems("s", sink)
    assert waiver_problems("s", "// verilator lint_off WIDTH\n")


def test_primitive_waivers_each_cover_one_signal_with_a_reason():
    problems = [p for v in sorted(RTL.glob("*.v")) for p in waiver_problems(v.name, v.read_text())]
    assert not problems, "\n".join(problems)


# The generated modules of every construct that writes waivers: fused constant layers, reuse, TMR banks,
# the I2C port, the direct bank, framing, pipeline registers.
VARIANTS = [("programmable", {}), ("constant", {}), ("programmable", {"reuse": 2}), ("constant", {"reuse": 2}),
            ("constant", {"reuse": 2, "reuse_constants": "products"}), ("programmable", {"tmr_mode": "config"}),
            ("programmable", {"config_port": "i2c"}), ("programmable", {"config_bank": "direct"}),
            ("constant", {"elinks": 2}), ("programmable", {"pipeline": 2, "elinks": 2})]


@pytest.mark.parametrize("mode,kw", VARIANTS, ids=[f"{m}-" + ("-".join(f"{k}={v}" for k, v in kw.items()) or "plain")
                                                   for m, kw in VARIANTS])
def test_generated_variant_lints_clean_with_one_signal_waivers(tmp_path, mode, kw):
    need_tool("verilator")
    ir = synthetic_ir("tiny_conv", "qkeras", seed=3)
    d = tmp_path / "d"
    write_design(generate(ir, mode, **kw), d)
    top, srcs = _sources(d)
    problems = [p for s in srcs for p in waiver_problems(Path(s).name, Path(s).read_text())]
    assert not problems, "\n".join(problems)
    r = run(["verilator", "--lint-only", "-Wall", "--top-module", top, *srcs])
    assert r.returncode == 0 and "%Warning" not in r.stderr, r.stderr[-3000:]


def test_simulation_builds_turn_no_warning_off():
    """Verilator builds of RTL take no -Wno option (a warning fails the build); gate-level builds only
    -Wno-fatal, for the PDK's cell models. Nothing else in the package turns a warning off."""
    from encoder.verif import cocotb_make, toolchain
    assert not [a for a in toolchain.VERILATOR_BUILD_ARGS if a.startswith("-Wno")]
    assert toolchain.GATE_LEVEL_BUILD_ARGS == ("-Wno-fatal",)
    assert "-Wno" not in cocotb_make.MAKEFILE
    pkg = Path(toolchain.__file__).resolve().parents[1]
    found = [f"{p.relative_to(pkg)}:{i + 1}" for p in sorted(pkg.rglob("*.py"))
             for i, line in enumerate(p.read_text().splitlines()) if "-Wno-" in line
             and not (p.name == "toolchain.py" and line.startswith("GATE_LEVEL_BUILD_ARGS"))]
    assert not found, found


def test_framing_of_a_power_of_two_latent_word_lints_clean(tmp_path):
    """4 latents of 8 bits: a 32-bit word, whose packing index the frame block once made 6 bits wide
    (a WIDTH warning the simulation build's -Wno-WIDTHTRUNC used to hide)."""
    need_tool("verilator")
    ir = tiny_dense_ir(np.arange(16).reshape(4, 4) % 5 - 2, [1, 0, -1, 2],
                       out=Requant(FixedFormat(False, 8, 4), "half_even", "saturate"))
    assert ir.n_latent * ir.latent_format.bits == 32
    d = tmp_path / "d"
    write_design(generate(ir, "constant", elinks=2), d)
    top, srcs = _sources(d)
    r = run(["verilator", "--lint-only", "-Wall", "--top-module", top, *srcs])
    assert r.returncode == 0 and "%Warning" not in r.stderr, r.stderr[-3000:]
