"""The fault campaign's table: its scratch inputs and its cases of bad input.

``tools/fault_campaign.py`` runs them; each case is a command line that
must end in one clear error (or, for ``expect="warn"``, one warning) without
writing anything or touching the files it protects.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INIT = ROOT / "tests" / "data" / "econt" / "AE" / "init.yaml"
ECONT = ROOT / "tests" / "data" / "econt"
TINY = ROOT / "tests" / "data" / "verif"


@dataclass
class Case:
    name: str
    args: list
    needle: str = ""              # must appear in the error (or warning) line
    expect: str = "error"         # error | warn
    protect: list = field(default_factory=list)    # files that must stay byte-identical
    prepare: object = None        # callable(workdir) run before


# -- the workspace --------------------------------------------------------------------

def setup(work: Path, encoder) -> None:
    """The campaign's inputs in ``work``; ``encoder(args, cwd)`` runs the CLI."""
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
    npz("dc_zero.npz", charges=np.zeros((0, 48)))
    npz("dc_hot.npz", charges=np.full((2, 48), 1e9))
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
        Case("golden empty data", ["golden", "ir.json", "--data", "dc_zero.npz", "--out", "g.npz"], "no modules"),
        Case("decode-input --counts-per-mip inf", ["econt", "decode-input", ECONT / "testInput.csv", "--config", INIT,
                                                   "--counts-per-mip", "inf", "--out", "n.npz"], "finite"),
        Case("econt import --counts-per-mip -35", ["econt", "import", INIT, "--counts-per-mip", "-35", "--out",
                                                   "n.json"], "counts per MIP"),
        Case("sim --vectors 1e12", ["sim", "design", "--vectors", "1000000000000", "--out", "s"], "--vectors"),
        Case("econt export --elinks 2 drops bits", ["econt", "export", "ir.json", "--out", "w2.yaml", "--elinks", "2"],
             "94 of the 144", expect="warn"),
        Case("golden clips hot charges", ["golden", "ir.json", "--data", "dc_hot.npz", "--out", "w_hot.npz"],
             "clipped", expect="warn"),
        # warnings
        Case("rtl --elinks 2 drops bits", ["rtl", "ir.json", "--out", "w_design", "--elinks", "2"],
             "94 of the 144", expect="warn"),
        Case("import without units", ["data", "import", "big.csv", "--out", "w.npz"], "--units-per-mip",
             expect="warn", prepare=lambda w: (w / "big.csv").write_text(
                 "\n".join(",".join(["40"] * 48) for _ in range(30)) + "\n")),
    ]
    return c
