"""`encoder verify mutate` and `encoder verify equiv` on a tiny generated design (tiny_dense, constant weights).

Sites and planting are checked on the text; one mutation run (the unmutated baseline plus one
mutant, 50 vectors on Icarus) checks the classification end to end; the yosys proofs are checked
on mutants of one neuron whose answer is known from the Verilog itself: the low clamp of a
requantizer switched on behind its ReLU (equivalent) and a swapped adder (not equivalent), and
on two --pipeline settings of one design (equivalent).
"""

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from encoder.ir import save_ir
from encoder.ir.synthetic import synthetic_ir
from encoder.rtl_gen.design import generate_from_file, write_design
from encoder.verif.design import load_design
from encoder.verify import equiv, sites
from encoder.verify.mutate import MutateOptions, run_mutation

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "sim" / "build"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("verify")
    save_ir(synthetic_ir("tiny_dense", "qkeras", seed=3), tmp / "ir.json")
    return write_design(generate_from_file(tmp / "ir.json", "constant"), tmp / "design")


def _sites(design_dir: Path):
    d = load_design(design_dir)
    return d, sites.design_sites(d.dir, equiv.rel_sources(d))


def _tree_hash(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(folder)).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def test_sampled_mutants_cover_all_five_kinds_and_both_generated_and_primitive_files(tiny):
    _, found = _sites(tiny)
    chosen = sites.choose(found, 10, seed=1)
    assert {s.kind for s in chosen} == set(sites.KINDS)
    assert {s.primitive for s in chosen} == {True, False}
    assert len({(s.file, s.line, s.start) for s in chosen}) == 10          # no site twice


def test_site_choice_is_fixed_by_the_seed(tiny):
    _, found = _sites(tiny)
    first = [s.describe() for s in sites.choose(found, 8, seed=5)]
    assert first == [s.describe() for s in sites.choose(list(reversed(found)), 8, seed=5)]
    assert first != [s.describe() for s in sites.choose(found, 8, seed=6)]


def test_planting_changes_only_the_site_line_in_the_copy(tiny, tmp_path):
    _, found = _sites(tiny)
    for i, site in enumerate(sites.choose(found, 5, seed=2)):
        copy = tmp_path / f"m{i}"
        shutil.copytree(tiny, copy)
        sites.plant(copy, site)
        changed = [p.name for p in sorted(tiny.iterdir()) if p.read_bytes() != (copy / p.name).read_bytes()]
        assert changed == [site.file]
        old, new = (tiny / site.file).read_text().split("\n"), (copy / site.file).read_text().split("\n")
        diff = [k for k, (a, b) in enumerate(zip(old, new)) if a != b]
        assert diff == [site.line - 1] and site.new in new[site.line - 1]


def test_mutation_run_kills_a_skipped_register_stage_and_leaves_the_design_untouched(tiny, tmp_path):
    _, found = _sites(tiny)
    # The first seed whose first mutant skips a register stage (sampling is deterministic).
    seed = next(s for s in range(100) if sites.choose(found, 1, s)[0].kind == "register")
    before = _tree_hash(tiny)
    code, rep = run_mutation(tiny, MutateOptions(mutants=1, seed=seed, vectors=50, out=str(tmp_path / "mut"),
                                                 build_root=str(BUILD)), log=lambda line: None)
    assert _tree_hash(tiny) == before
    assert code == 0 and rep["mutants"] == 1 and rep["killed"] == 1 and rep["score"] == 1.0
    saved = json.loads((tmp_path / "mut" / "mutation.json").read_text())
    assert saved["mutants_detail"][0]["site"]["kind"] == "register"
    assert saved["mutants_detail"][0]["detail"] in ("latency", "mismatch", "stale output")


def _mutant(tiny: Path, tmp: Path, pick):
    d, found = _sites(tiny)
    site = next(s for s in found if pick(s, (tiny / s.file).read_text().split("\n")[s.line - 1]))
    copy = tmp / "mutant"
    shutil.copytree(tiny, copy)
    sites.plant(copy, site)
    return equiv.prove_mutant(tiny, copy, site, equiv.rel_sources(d), timeout=120)


def test_a_low_clamp_behind_a_relu_is_proven_equivalent(tiny, tmp_path):
    # A neuron's requantizer clamps at its format's bottom (0, unsigned output) only after the
    # ReLU, which already keeps the value at 0 or above: turning the low clamp on changes nothing.
    r = _mutant(tiny, tmp_path, lambda s, line: s.kind == "constant" and s.module.endswith("_dense_j0")
                and ".CLAMP_LO(" in line and s.old == "0")
    assert r["result"] == "equivalent", r


def test_a_swapped_adder_in_a_neuron_is_proven_not_equivalent(tiny, tmp_path):
    r = _mutant(tiny, tmp_path, lambda s, line: s.kind == "operator" and s.old == "+"
                and s.module.endswith("_dense_j0"))
    assert r["result"] == "not equivalent", r


def test_two_pipeline_settings_are_proven_equal_module_by_module_and_their_tops_a_cycle_apart(tiny, tmp_path):
    # The register stages live in the top: every module below it is the same text at both settings,
    # which is equivalence by construction, without a SAT run; the tops by a sequential proof.
    piped = write_design(generate_from_file(tiny / "ir.json", "constant", pipeline=1), tmp_path / "p1")
    r = equiv.compare(tiny, piped, timeout=120, log=lambda line: None)
    assert r["mode"] == "pipeline"
    assert [m["result"] for m in r["modules"]] == ["equivalent"] * 3, r["modules"]
    below, top = r["modules"][:2], r["modules"][2]
    assert {m.get("method") for m in below} == {"identical text"}
    assert top["module"] == load_design(tiny).top and "data outputs 1 cycle later" in top["detail"], top


def _edited_copy(tiny: Path, dest: Path, module_suffix: str, edit) -> Path:
    copy = Path(shutil.copytree(tiny, dest))
    f = next(f for f in copy.glob("*.v") if f.stem.endswith(module_suffix))
    f.write_text(edit(f.read_text()))
    return copy


def test_a_module_whose_text_differs_goes_to_the_prover_and_is_judged_by_what_it_computes(tiny, tmp_path):
    d = load_design(tiny)
    dense = f"{d.top}_dense"
    # An unused wire changes the text, not the function: proven equivalent by yosys, not by the text.
    same = _edited_copy(tiny, tmp_path / "same", "_dense",
                        lambda s: s.replace("endmodule", "    wire unused_probe = 1'b0;\nendmodule", 1))
    r = {m["module"]: m for m in equiv.compare(tiny, same, timeout=120, log=lambda line: None)["modules"]}
    assert r[dense]["result"] == "equivalent" and r[dense].get("method") != "identical text", r[dense]
    assert r[f"{d.top}_input_path"].get("method") == "identical text"
    # A swapped adder in a neuron of that layer changes the function: not equivalent.
    site = next(s for s in _sites(tiny)[1] if s.kind == "operator" and s.old == "+" and s.module.endswith("_dense_j0"))
    broken = Path(shutil.copytree(tiny, tmp_path / "broken"))
    sites.plant(broken, site)
    r = {m["module"]: m for m in equiv.compare(tiny, broken, timeout=120, log=lambda line: None)["modules"]}
    assert r[dense]["result"] == "not equivalent", r[dense]
