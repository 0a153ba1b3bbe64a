#!/usr/bin/env python3
"""Fault campaign: bad inputs, collisions and interrupts against the `encoder` CLI.

Usage: python tools/fault_campaign.py [--keep DIR] [--only SUBSTRING] [-v]

Every case runs the real command line in a scratch folder and is sorted
into a class:

  A  a one-line error naming the problem, a non-zero exit, nothing written
     (for warning cases: a one-line warning and the work done; for
     interrupts: stopped within seconds, exit 128 + signal, nothing left)
  B  an error with a Python traceback, a message that misses the point, or
     a command that does not stop
  C  silently wrong or accepted: exit 0 on bad input, a half-written or
     leftover output
  D  an existing output or input damaged

It prints one line per case that is not A, then the class counts; the exit
code is 1 unless every case is in class A. Runs in about five minutes on
two cores (Icarus Verilog needed for the simulation cases).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INIT = ROOT / "tests" / "data" / "econt" / "AE" / "init.yaml"
ECONT = ROOT / "tests" / "data" / "econt"
TINY = ROOT / "tests" / "data" / "verif"
STOP_SECONDS = 10.0


# -- running the CLI ------------------------------------------------------------------

def env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "ENCODER_SIM_BUILD": str(Path(W) / "simbuild")}


def encoder(args, cwd, timeout=600, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "encoder", *map(str, args)], cwd=cwd, env=env(),
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, **kw)


def snapshot(folder: Path) -> dict[str, str]:
    """Every file and folder under ``folder`` (hidden ones included) with a content digest."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        if rel.startswith("simbuild"):          # the simulator build cache is the kit's own
            continue
        out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()[:16] if p.is_file() else "dir"
    return out


@dataclass
class Case:
    name: str
    args: list
    needle: str = ""              # must appear in the error (or warning) line
    expect: str = "error"         # error | warn
    protect: list = field(default_factory=list)    # files that must stay byte-identical
    prepare: object = None        # callable(workdir) run before


@dataclass
class Result:
    case: str
    cls: str
    why: str = ""


W = ""      # the campaign's scratch root


def classify_run(case: Case, cwd: Path) -> Result:
    if case.prepare:
        case.prepare(cwd)
    before = snapshot(cwd)
    protected = {p: (cwd / p).read_bytes() for p in case.protect if (cwd / p).is_file()}
    try:
        r = encoder(case.args, cwd, timeout=300)
    except subprocess.TimeoutExpired:
        return Result(case.name, "B", "did not finish within 300 s")
    after = snapshot(cwd)
    for p, data in protected.items():
        if not (cwd / p).is_file() or (cwd / p).read_bytes() != data:
            return Result(case.name, "D", f"{p} changed")
    changed = sorted(set(after.items()) - set(before.items()))
    err = r.stderr.strip()
    lines = [ln for ln in err.splitlines() if ln.strip()]
    if case.expect == "warn":
        warns = [ln for ln in lines if "warning" in ln]
        if r.returncode != 0:
            return Result(case.name, "B", f"exit {r.returncode}: {err[-200:]}")
        if not warns or (case.needle and case.needle not in warns[0]):
            return Result(case.name, "C", "no warning")
        return Result(case.name, "A")
    if r.returncode == 0:
        return Result(case.name, "C", f"accepted (exit 0); stdout {r.stdout.strip()[:120]!r}")
    if "Traceback" in err or len(lines) != 1:
        return Result(case.name, "B", f"{len(lines)} lines: {err[-300:]!r}")
    if case.needle and case.needle not in err:
        return Result(case.name, "B", f"message lacks {case.needle!r}: {err!r}")
    if changed:
        return Result(case.name, "C", f"wrote {[c[0] for c in changed][:4]}")
    return Result(case.name, "A")


# -- the workspace --------------------------------------------------------------------

def setup(work: Path) -> None:
    def ok(args):
        r = encoder(args, work)
        if r.returncode != 0:
            sys.exit(f"set-up failed: encoder {' '.join(map(str, args))}\n{r.stderr}")
    ok(["data", "synth", "--modules", "300", "--seed", "1", "--out", "d.npz"])
    ok(["econt", "import", INIT, "--out", "ir.json"])
    ok(["rtl", "ir.json", "--out", "design"])
    shutil.copytree(TINY, work / "verif")
    import numpy as np
    rng = np.random.default_rng(0)
    (work / "c.csv").write_text("\n".join(",".join(str(v) for v in r) for r in rng.integers(0, 9, (20, 48))) + "\n")
    doc = json.loads((work / "ir.json").read_text())
    variants = {
        "ir_cpm_neg": lambda d: d["input"].update(counts_per_mip=-35),
        "ir_cpm_zero": lambda d: d["input"].update(counts_per_mip=0),
        "ir_nohash": lambda d: d.pop("hash"),
        "ir_w_float": lambda d: d["layers"][0]["weight"]["values"].__setitem__(0, 8.7),
        "ir_w_str": lambda d: d["layers"][0]["weight"]["values"].__setitem__(0, "8"),
        "ir_w_bool": lambda d: d["layers"][0]["weight"]["values"].__setitem__(0, True),
        "ir_unknown_top": lambda d: d.update(comment="x"),
        "ir_unknown_layer": lambda d: d["layers"][2].update(activaton="relu"),
        "ir_edited": lambda d: d["layers"][0]["weight"]["values"].__setitem__(0, 1 - d["layers"][0]["weight"]["values"][0]),
        "ir_version": lambda d: d.update(version=2),
        "ir_schema": lambda d: d.update(schema="other"),
        "ir_bits0": lambda d: d["layers"][0]["output"]["format"].update(bits=0),
        "ir_expbits": lambda d: d["input"]["sum_code"].update(exp_bits=99),
        "ir_shape": lambda d: d["layers"][0]["weight"].update(shape=[3, 3, 1, 9]),
        "ir_p2c": lambda d: d["input"]["arrangement"]["pixel_to_cell"].__setitem__(0, 99),
        "ir_act": lambda d: d["layers"][0].update(activation="tanh"),
        "ir_round": lambda d: d["layers"][0]["output"].update(rounding="stochastic"),
        "ir_summary": lambda d: d["summary"].update(n_latent=3),
        "ir_charge_bits": lambda d: d["input"].update(charge_bits=99),
        "ir_layers_empty": lambda d: d.update(layers=[]),
        "ir_layer_null": lambda d: d["layers"].__setitem__(1, None),
        "ir_name_num": lambda d: d.update(name=5),
    }
    for name, edit in variants.items():
        d = json.loads(json.dumps(doc))
        edit(d)
        (work / f"{name}.json").write_text(json.dumps(d))
    (work / "ir_trunc.json").write_text((work / "ir.json").read_text()[:500])
    (work / "ir_empty.json").write_text("")
    (work / "ir_list.json").write_text("[1, 2]")
    # data files
    def npz(name, **arrays):
        with open(work / name, "wb") as fh:
            np.savez(fh, **arrays)
    ch = rng.random((50, 48))
    npz("dc_complex.npz", charges=ch * (1 + 1j))
    npz("dc_str.npz", charges=ch.astype(str))
    npz("dc_geom.npz", charges=ch, geometry=np.array("square8"))
    neg = ch.copy()
    neg[37, 5] = -1
    npz("dc_neg.npz", charges=neg)
    nan = ch.copy()
    nan[3, 3] = np.nan
    npz("dc_nan.npz", charges=nan)
    npz("dc_1d.npz", charges=ch[0])
    npz("dc_nocharges.npz", x=ch)
    npz("dc_truth.npz", charges=ch, truth_e=np.ones(3))
    big = (work / "d.npz").read_bytes()
    (work / "dc_trunc.npz").write_bytes(big[: len(big) // 2])
    (work / "dc_empty.npz").write_bytes(b"")
    np.save(work / "dc_npy.npy", ch)
    # replay files
    base = {"schema": "encoder-sim-failures", "version": 1, "design": str(work / "verif" / "tiny"),
            "models": [{"name": "tiny_a", "path": str(work / "verif" / "tiny_a.json"), "hash": "x"}],
            "vectors": [{"id": 0, "model": 0, "counts": [1, 2, 3, 4], "gap": 0, "label": "x"}]}
    replays = {
        "rp_short": lambda v: v.update(counts=[1, 2, 3]),
        "rp_neg": lambda v: v["counts"].__setitem__(0, -5),
        "rp_wide": lambda v: v["counts"].__setitem__(0, 1 << 40),
        "rp_float": lambda v: v["counts"].__setitem__(0, 1.5),
        "rp_model": lambda v: v.update(model=7),
        "rp_gap": lambda v: v.update(gap=-3),
        "rp_nogap": lambda v: v.pop("gap"),
        "rp_counts_str": lambda v: v.update(counts="1,2,3,4"),
    }
    for name, edit in replays.items():
        d = json.loads(json.dumps(base))
        edit(d["vectors"][0])
        (work / f"{name}.json").write_text(json.dumps(d))
    (work / "rp_schema.json").write_text(json.dumps({**base, "schema": "other"}))
    (work / "rp_models.json").write_text(json.dumps({**base, "models": "x"}))
    # CSVs
    (work / "csv_neg.csv").write_text("1," * 47 + "-3\n")
    (work / "csv_text.csv").write_text("1," * 47 + "1\n" + "1," * 47 + "abc\n")
    (work / "csv_cols.csv").write_text("1,2,3\n")
    (work / "csv_empty.csv").write_text("")
    (work / "csv_bin.csv").write_bytes(b"\x00\x01\x02" * 100)
    (work / "y_bad.yaml").write_text("a: [1, 2\n")
    (work / "out_exists.npz").write_bytes((work / "d.npz").read_bytes())
    (work / "notdir").write_text("a file")
    foreign = work / "rtl"
    foreign.mkdir()
    (foreign / "enc_mult.v").write_text("module enc_mult; endmodule\n")
    (work / "x.yaml").write_bytes(INIT.read_bytes())


def make_immutable(work: Path) -> None:
    """imm/: chattr +i where the file system allows it (root ignores plain permissions), else mode 555."""
    d = work / "imm"
    d.mkdir(exist_ok=True)
    if subprocess.run(["chattr", "+i", str(d)], capture_output=True).returncode != 0:
        d.chmod(0o555)


def cases() -> list[Case]:
    c = []
    ir_errors = {
        "ir_cpm_neg": "counts_per_mip", "ir_cpm_zero": "counts_per_mip", "ir_nohash": "hash",
        "ir_w_float": "values[0]", "ir_w_str": "values[0]", "ir_w_bool": "values[0]",
        "ir_unknown_top": "unknown field 'comment'", "ir_unknown_layer": "unknown field 'activaton'",
        "ir_edited": "hash", "ir_version": "version", "ir_schema": "schema", "ir_bits0": "bits",
        "ir_expbits": "exp_bits", "ir_shape": "shape", "ir_p2c": "pixel_to_cell", "ir_act": "activation",
        "ir_round": "rounding", "ir_summary": "summary.n_latent", "ir_charge_bits": "charge_bits",
        "ir_layers_empty": "layers", "ir_layer_null": "layers[1]", "ir_name_num": "name",
        "ir_trunc": "not JSON", "ir_empty": "not JSON", "ir_list": "top level",
    }
    for f, needle in ir_errors.items():
        c.append(Case(f"rtl {f}", ["rtl", f"{f}.json", "--out", "newdesign"], needle))
    for f in ("ir_cpm_neg", "ir_w_float", "ir_nohash", "ir_unknown_layer"):
        c.append(Case(f"golden {f}", ["golden", f"{f}.json", "--data", "d.npz", "--out", "g.npz"], ir_errors[f]))
        c.append(Case(f"econt export {f}", ["econt", "export", f"{f}.json", "--out", "e.yaml"], ir_errors[f]))
    c += [
        Case("rtl npz as IR", ["rtl", "d.npz", "--out", "newdesign"], "binary data"),
        Case("rtl folder as IR", ["rtl", "design", "--out", "newdesign"], "is a folder"),
        Case("rtl missing IR", ["rtl", "nope.json", "--out", "newdesign"], "nope.json"),
        Case("sim --replay npz", ["sim", "verif/tiny", "--replay", "d.npz", "--out", "s"], "binary data"),
        Case("golden csv as data", ["golden", "ir.json", "--data", "c.csv", "--out", "g.npz"], "not a data file"),
        Case("golden json as data", ["golden", "ir.json", "--data", "ir.json", "--out", "g.npz"], "not a data file"),
        Case("golden npy as data", ["golden", "ir.json", "--data", "dc_npy.npy", "--out", "g.npz"], "not a data file"),
        Case("golden folder as data", ["golden", "ir.json", "--data", "design", "--out", "g.npz"], "folder"),
    ]
    data_errors = {"dc_complex": "real numbers", "dc_str": "real numbers", "dc_geom": "square8",
                   "dc_neg": "module 37, cell 5", "dc_nan": "not finite", "dc_1d": "(modules, cells)",
                   "dc_nocharges": "charges", "dc_truth": "truth_e", "dc_trunc": "truncated",
                   "dc_empty": "not a data file"}
    for f, needle in data_errors.items():
        c.append(Case(f"golden {f}", ["golden", "ir.json", "--data", f"{f}.npz", "--out", "g.npz"], needle))
        c.append(Case(f"data info {f}", ["data", "info", f"{f}.npz"], needle))
    c.append(Case("sim --data negative", ["sim", "design", "--data", "dc_neg.npz", "--vectors", "10", "--out", "s"],
                  "module 37, cell 5"))
    for f, needle in {"rp_short": "3 counts", "rp_neg": "-5 outside", "rp_wide": "outside", "rp_float": "integer",
                      "rp_model": "model", "rp_gap": "gap", "rp_nogap": "gap", "rp_counts_str": "counts",
                      "rp_schema": "schema", "rp_models": "models"}.items():
        c.append(Case(f"sim --replay {f}", ["sim", "verif/tiny", "--replay", f"{f}.json", "--out", "s"], needle))
    c += [
        Case("sim --seed -1", ["sim", "design", "--seed", "-1", "--out", "s"], "--seed"),
        Case("sim --jobs 0", ["sim", "design", "--jobs", "0", "--out", "s"], "--jobs"),
        Case("sim --vectors 0", ["sim", "design", "--vectors", "0", "--out", "s"], "--vectors"),
        Case("sim missing design", ["sim", "nodesign", "--out", "s"], "nodesign"),
        Case("sim run folder as design", ["sim", "verif", "--out", "s"], "manifest.json"),
        Case("synth --pileup 1e9", ["data", "synth", "--modules", "10", "--seed", "1", "--pileup", "1e9", "--out", "n.npz"], "--pileup"),
        Case("synth --pileup -1", ["data", "synth", "--modules", "10", "--seed", "1", "--pileup", "-1", "--out", "n.npz"], "--pileup"),
        Case("synth --pileup nan", ["data", "synth", "--modules", "10", "--seed", "1", "--pileup", "nan", "--out", "n.npz"], "--pileup"),
        Case("synth --modules 0", ["data", "synth", "--modules", "0", "--seed", "1", "--out", "n.npz"], "--modules"),
        Case("synth --modules 1e12", ["data", "synth", "--modules", "1000000000000", "--seed", "1", "--out", "n.npz"], "--modules"),
        Case("synth --seed -1", ["data", "synth", "--modules", "10", "--seed", "-1", "--out", "n.npz"], "--seed"),
        Case("synth --geometry x", ["data", "synth", "--modules", "10", "--seed", "1", "--geometry", "x", "--out", "n.npz"], "geometry"),
        Case("rtl --pipeline 99", ["rtl", "ir.json", "--out", "newdesign", "--pipeline", "99"], "--pipeline"),
        Case("rtl --elinks 99", ["rtl", "ir.json", "--out", "newdesign", "--elinks", "99"], "--elinks"),
        Case("rtl --elinks x", ["rtl", "ir.json", "--out", "newdesign", "--elinks", "x"], "--elinks"),
        Case("econt export --cal", ["econt", "export", "ir.json", "--out", "e.yaml", "--cal", "99999"], "--cal"),
        Case("econt export --mux", ["econt", "export", "ir.json", "--out", "e.yaml", "--mux", "1,2"], "--mux"),
        Case("import --units-per-mip 0", ["data", "import", "c.csv", "--out", "n.npz", "--units-per-mip", "0"], "units-per-mip"),
        Case("import --units-per-mip nan", ["data", "import", "c.csv", "--out", "n.npz", "--units-per-mip", "nan"], "units-per-mip"),
        Case("import negative", ["data", "import", "csv_neg.csv", "--out", "n.npz"], "negative"),
        Case("import text", ["data", "import", "csv_text.csv", "--out", "n.npz"], "not a number"),
        Case("import columns", ["data", "import", "csv_cols.csv", "--out", "n.npz"], "columns"),
        Case("import empty", ["data", "import", "csv_empty.csv", "--out", "n.npz"], "empty"),
        Case("import binary", ["data", "import", "csv_bin.csv", "--out", "n.npz"], "csv_bin.csv"),
        Case("import missing", ["data", "import", "nope.csv", "--out", "n.npz"], "nope.csv"),
        Case("econt import bad yaml", ["econt", "import", "y_bad.yaml", "--out", "n.json"], "YAML"),
        Case("econt import npz", ["econt", "import", "d.npz", "--out", "n.json"], "d.npz"),
        Case("econt import missing", ["econt", "import", "nope.yaml", "--out", "n.json"], "nope.yaml"),
        Case("ir check edited", ["ir", "check", "ir_edited.json"], "ir rehash"),
        Case("ir rehash bad field", ["ir", "rehash", "ir_w_float.json", "--out", "n.json"], "values[0]"),
        # outputs
        Case("golden --out = --data", ["golden", "ir.json", "--data", "d.npz", "--out", "d.npz", "--force"],
             "also an input", protect=["d.npz"]),
        Case("import --out = csv", ["data", "import", "c.csv", "--out", "c.csv", "--force"], "also an input",
             protect=["c.csv"]),
        Case("econt import --out = yaml", ["econt", "import", "x.yaml", "--out", "./x.yaml", "--force"],
             "also an input", protect=["x.yaml"]),
        Case("rtl --out holding the IR", ["rtl", "design/ir.json", "--out", "design", "--force"], "input",
             protect=["design/manifest.json"]),
        Case("sim --out = design", ["sim", "design", "--out", "design", "--force"], "input",
             protect=["design/manifest.json"]),
        Case("golden exists", ["golden", "ir.json", "--data", "d.npz", "--out", "out_exists.npz"], "--force",
             protect=["out_exists.npz"]),
        Case("rtl exists", ["rtl", "ir.json", "--out", "design"], "--force", protect=["design/manifest.json"]),
        Case("rtl --out rtl/ --force", ["rtl", "ir.json", "--out", "rtl", "--force"], "not an earlier output",
             protect=["rtl/enc_mult.v"]),
        Case("rtl --out rtl/", ["rtl", "ir.json", "--out", "rtl"], "not an earlier output", protect=["rtl/enc_mult.v"]),
        Case("rtl --out . --force", ["rtl", "ir.json", "--out", ".", "--force"], "input",
             protect=["ir.json", "d.npz"]),
        Case("check-rtl exists", ["econt", "check-rtl", "--config", INIT, "--input", ECONT / "testInput.csv",
                                  "--expected", ECONT / "AE" / "testOutput.csv", "--out", "rtl"],
             "rtl", protect=["rtl/enc_mult.v"]),
        Case("out under a file", ["golden", "ir.json", "--data", "d.npz", "--out", "notdir/g.npz"], "not a folder"),
        Case("out hard-linked to --data", ["golden", "ir.json", "--data", "d.npz", "--out", "hl.npz", "--force"],
             "also an input", protect=["d.npz"], prepare=lambda w: (w / "hl.npz").exists() or os.link(w / "d.npz", w / "hl.npz")),
        Case("out symlinked to --data", ["golden", "ir.json", "--data", "d.npz", "--out", "sl.npz", "--force"],
             "also an input", protect=["d.npz"], prepare=lambda w: (w / "sl.npz").exists() or os.symlink("d.npz", w / "sl.npz")),
        Case("econt export exists", ["econt", "export", "ir.json", "--out", "x.yaml"], "--force", protect=["x.yaml"]),
        Case("data compare --plot exists", ["data", "compare", "d.npz", "d.npz", "--plot", "x.yaml"], "--force",
             protect=["x.yaml"]),
        Case("data compare bad file", ["data", "compare", "d.npz", "dc_neg.npz"], "module 37"),
        Case("decode-input binary", ["econt", "decode-input", "d.npz", "--config", INIT, "--out", "n.npz"], "d.npz"),
        Case("decode-input bad yaml", ["econt", "decode-input", ECONT / "testInput.csv", "--config", "y_bad.yaml",
                                       "--out", "n.npz"], "YAML"),
        Case("frames truncated npz", ["econt", "frames", "dc_trunc.npz", "--elinks", "5", "--out", "f.csv"], "truncated"),
        Case("frames data file", ["econt", "frames", "d.npz", "--elinks", "5", "--out", "f.csv"], "latents"),
        Case("frames json", ["econt", "frames", "ir.json", "--elinks", "5", "--out", "f.csv"], "not a data file"),
        Case("synth not a design", ["synth", "verif", "--out", "syn"], "manifest.json"),
        Case("synth npz as design", ["synth", "d.npz", "--out", "syn"], "manifest.json"),
        Case("synth --log exists", ["synth", "design", "--out", "syn", "--log", "x.yaml"], "--force", protect=["x.yaml"]),
        Case("usage error", ["data", "synth", "--modules", "many", "--seed", "1", "--out", "n.npz"], "--modules"),
        Case("unknown command", ["frobnicate"], "invalid choice"),
        Case("train bad config", ["train", "--config", "y_bad.yaml", "--data", "d.npz", "--out", "tr"], "YAML"),
        Case("train negative data", ["train", "--config", ROOT / "configs" / "econt_8x8.yaml", "--data", "dc_neg.npz",
                                     "--out", "tr"], "module 37"),
        Case("predict not a run", ["predict", "verif", "--data", "d.npz", "--out", "p.npz"], "not a training run"),
        Case("golden into an immutable folder", ["golden", "ir.json", "--data", "d.npz", "--out", "imm/g.npz"],
             "imm", prepare=make_immutable),
        Case("rtl into an immutable folder", ["rtl", "ir.json", "--out", "imm/des"], "imm", prepare=make_immutable),
        # warnings
        Case("rtl --elinks 2 drops bits", ["rtl", "ir.json", "--out", "w_design", "--elinks", "2"],
             "94 of the 144", expect="warn"),
        Case("import without units", ["data", "import", "big.csv", "--out", "w.npz"], "--units-per-mip",
             expect="warn", prepare=lambda w: (w / "big.csv").write_text(
                 "\n".join(",".join(["40"] * 48) for _ in range(30)) + "\n")),
    ]
    return c


# -- interrupts, kills, races and permissions ------------------------------------------

def handlers_installed(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    caught = int(next(ln.split()[1] for ln in status.splitlines() if ln.startswith("SigCgt:")), 16)
    return bool(caught & (1 << (signal.SIGTERM - 1)))


def start(args, cwd) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "encoder", *map(str, args)], cwd=cwd, env=env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL, start_new_session=True)


def wait_until(cond, seconds) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.1)
    return False


def interrupt_case(name, args, sig, group, ready, cwd: Path) -> Result:
    before = snapshot(cwd)
    p = start(args, cwd)
    wait_until(lambda: p.poll() is not None or handlers_installed(p.pid), 60)
    wait_until(lambda: p.poll() is not None or ready(cwd), 120)
    if p.poll() is not None:
        return Result(name, "B", f"finished (exit {p.returncode}) before the interrupt")
    if group:
        os.killpg(p.pid, sig)
    else:
        p.send_signal(sig)
    try:
        _, err = p.communicate(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        return Result(name, "B", f"still running {STOP_SECONDS:.0f} s after {signal.Signals(sig).name}")
    left = sorted(set(snapshot(cwd)) - set(before))
    survivors = subprocess.run(["pgrep", "-f", str(cwd)], capture_output=True, text=True).stdout.split()
    if p.returncode != 128 + sig or "Traceback" in err:
        return Result(name, "B", f"exit {p.returncode}: {err.strip()[-200:]!r}")
    if left or survivors:
        return Result(name, "C", f"left {left[:4]} processes {survivors}")
    return Result(name, "A")


def kill9_rtl_case(cwd: Path) -> Result:
    """kill -9 during rtl --force, at several moments: the design is always the old or the new one, whole."""
    name = "kill -9 during rtl --force"
    for delay in (0.4, 0.8, 1.2, 1.6):
        p = start(["rtl", "ir.json", "--out", "design", "--force", "--weights", "constant"], cwd)
        time.sleep(delay)
        p.kill()
        p.wait()
        m = cwd / "design" / "manifest.json"
        if not m.is_file():
            return Result(name, "D", f"no manifest.json after a kill at {delay} s")
        sources = json.loads(m.read_text())["sources"]
        missing = [s for s in sources if not (cwd / "design" / s).is_file()]
        if missing:
            return Result(name, "D", f"{len(missing)} of {len(sources)} files missing")
    r = encoder(["rtl", "ir.json", "--out", "design", "--force"], cwd)
    hidden = [q.name for q in cwd.iterdir() if q.name.startswith(".design.")]
    if r.returncode != 0 or hidden:
        return Result(name, "C", f"rerun exit {r.returncode}, leftovers {hidden}")
    return Result(name, "A")


def kill9_synth_case(cwd: Path) -> Result:
    name = "kill -9 during data synth, then a rerun"
    p = start(["data", "synth", "--modules", "400000", "--seed", "1", "--out", "k.npz"], cwd)
    wait_until(lambda: p.poll() is not None or any(q.name.startswith(".k.npz.") and "-new-" in q.name
                                                   for q in cwd.iterdir()), 120)
    p.kill()
    p.wait()
    r = encoder(["data", "synth", "--modules", "50", "--seed", "1", "--out", "k.npz", "--force"], cwd)
    hidden = [q.name for q in cwd.iterdir() if q.name.startswith(".k.npz.")]
    if r.returncode != 0 or hidden:
        return Result(name, "C", f"rerun exit {r.returncode}, leftovers {hidden}")
    return Result(name, "A")


def race_case(cwd: Path) -> Result:
    """Two sims with the same --out, no --force: one result, one refusal; never two 'wrote' lines."""
    name = "two sims, one --out"
    args = ["sim", "verif/tiny", "--vectors", "3000", "--out", "race"]
    encoder(["sim", "verif/tiny", "--vectors", "10", "--out", "warm"], cwd)       # build once
    a, b = start(args, cwd), start(args, cwd)
    ea, eb = a.communicate(timeout=600)[1], b.communicate(timeout=600)[1]
    codes = sorted([a.returncode, b.returncode])
    if codes == [0, 0]:
        return Result(name, "C", "both exited 0")
    if codes[0] != 0 or codes[1] == 0:
        return Result(name, "B", f"exits {codes}: {ea[-150:]!r} {eb[-150:]!r}")
    loser = eb if b.returncode else ea
    lines = [ln for ln in loser.strip().splitlines() if ln.strip()]
    if len(lines) != 1 or "Traceback" in loser:
        return Result(name, "B", f"refusal was {loser[-200:]!r}")
    return Result(name, "A")


def umask_case(cwd: Path) -> Result:
    name = "umask 002 honoured"
    old = os.umask(0o002)
    try:
        r = encoder(["econt", "import", INIT, "--out", "um.json"], cwd)
        r2 = encoder(["rtl", "ir.json", "--out", "um_design"], cwd)
    finally:
        os.umask(old)
    if r.returncode or r2.returncode:
        return Result(name, "B", r.stderr + r2.stderr)
    modes = ((cwd / "um.json").stat().st_mode & 0o777, (cwd / "um_design").stat().st_mode & 0o777)
    if modes != (0o664, 0o775):
        return Result(name, "C", f"modes {oct(modes[0])} {oct(modes[1])}")
    return Result(name, "A")


def run(args) -> int:
    global W
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="fault-campaign-"))
    root.mkdir(parents=True, exist_ok=True)
    W = str(root)
    work = root / "work"
    if not (work / "ir.json").is_file():
        work.mkdir(exist_ok=True)
        setup(work)
    results: list[Result] = []

    def show(r: Result):
        results.append(r)
        if r.cls != "A" or args.verbose:
            print(f"  {r.cls}  {r.case}: {r.why}" if r.why else f"  {r.cls}  {r.case}", flush=True)

    t0 = time.monotonic()
    for case in cases():
        if args.only and args.only not in case.name:
            continue
        show(classify_run(case, work))
    special = [
        ("interrupt synth SIGINT (terminal)", lambda: interrupt_case(
            "interrupt synth SIGINT (terminal)", ["data", "synth", "--modules", "3000000", "--seed", "1", "--out",
                                                  "i.npz"], signal.SIGINT, True, lambda w: time.sleep(1) or True, work)),
        ("interrupt synth SIGTERM", lambda: interrupt_case(
            "interrupt synth SIGTERM", ["data", "synth", "--modules", "3000000", "--seed", "1", "--out", "i.npz"],
            signal.SIGTERM, False, lambda w: time.sleep(1) or True, work)),
        ("interrupt golden SIGTERM", lambda: interrupt_case(
            "interrupt golden SIGTERM", ["golden", "ir.json", "--data", "d.npz", "--out", "ig.npz"],
            signal.SIGTERM, False, lambda w: True, work)),
        ("interrupt rtl constant SIGTERM", lambda: interrupt_case(
            "interrupt rtl constant SIGTERM", ["rtl", "ir.json", "--out", "ir_design", "--weights", "constant"],
            signal.SIGTERM, False, lambda w: True, work)),
    ]
    if shutil.which("iverilog"):
        def shards(w):
            return any((p / "progress").is_file() for p in w.glob(".isim.*/shards/*"))
        special += [
            ("interrupt Icarus sim SIGINT (terminal)", lambda: interrupt_case(
                "interrupt Icarus sim SIGINT (terminal)", ["sim", "design", "--vectors", "5000", "--jobs", "2",
                                                           "--out", "isim"], signal.SIGINT, True, shards, work)),
            ("interrupt Icarus sim SIGTERM", lambda: interrupt_case(
                "interrupt Icarus sim SIGTERM", ["sim", "design", "--vectors", "5000", "--jobs", "2", "--out", "isim"],
                signal.SIGTERM, False, shards, work)),
            ("interrupt Icarus sim SIGINT to the command only", lambda: interrupt_case(
                "interrupt Icarus sim SIGINT to the command only", ["sim", "design", "--vectors", "5000", "--jobs",
                                                                    "2", "--out", "isim"],
                signal.SIGINT, False, shards, work)),
            ("interrupt check-rtl SIGTERM", lambda: interrupt_case(
                "interrupt check-rtl SIGTERM", ["econt", "check-rtl", "--config", INIT, "--input",
                                                ECONT / "testInput.csv", "--expected", ECONT / "AE" / "testOutput.csv",
                                                "--out", "chk"], signal.SIGTERM, False,
                lambda w: any(w.glob(".chk.*/build/*.vvp")) or any(w.glob(".chk.*/build/sim.log")), work)),
            ("two sims, one --out", lambda: race_case(work)),
        ]
    special += [("kill -9 during rtl --force", lambda: kill9_rtl_case(work)),
                ("kill -9 during data synth, then a rerun", lambda: kill9_synth_case(work)),
                ("umask 002 honoured", lambda: umask_case(work))]
    for name, fn in special:
        if args.only and args.only not in name:
            continue
        show(fn())
    counts = {k: sum(r.cls == k for r in results) for k in "ABCD"}
    print(f"fault campaign: {len(results)} cases in {time.monotonic() - t0:.0f} s: "
          + ", ".join(f"{k} {v}" for k, v in counts.items()))
    subprocess.run(["chattr", "-i", str(work / "imm")], capture_output=True)
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 0 if counts["A"] == len(results) else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keep", metavar="DIR", help="work in DIR and keep it (default: a temporary folder)")
    ap.add_argument("--only", metavar="TEXT", help="only the cases whose name contains TEXT")
    ap.add_argument("-v", "--verbose", action="store_true", help="print class-A cases too")
    return run(ap.parse_args())


if __name__ == "__main__":
    sys.exit(main())
