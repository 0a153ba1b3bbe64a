"""Named register stages (``--cuts``): every cut point, inside blocks too, keeps designs bit-exact.

Cut points: charges, input_path.sum, input_path, and per MAC layer L: L.products, L.tree,
L.accumulator, L (not the last layer). ``--pipeline N`` is a shorthand for a set of them; the
manifest's latency and register bits hold for any set, and the costs ``available_cuts`` states add
up to them. Simulations stream modules through Icarus at one per clock (tests/rtl_helpers.py
``simulate_design``) and compare every output with the golden model.
"""

from __future__ import annotations

import copy
import json

import pytest

from encoder import golden
from encoder.cli import main
from encoder.errors import UserError
from encoder.ir.schema import MacLayer, infer_accumulators, validate
from encoder.ir.synthetic import synthetic_ir
from encoder.rtl_gen import generate, write_design
from encoder.rtl_gen.cuts import available_cuts, cut_points, pipeline_order
from encoder.rtl_gen.plan import plan_design
from encoder.verif.cocotb_first import first_stimulus
from rtl_helpers import ir_case, need_tool, run, simulate_design


def _tiny():
    return synthetic_ir("tiny_conv", "econt", seed=3)


def _tiny_half_up():
    """tiny_conv with products rounded half up: constant weights take one enc_mul_const per product
    (the multiplier-free fused form covers floored products only)."""
    ir = copy.deepcopy(_tiny())
    for layer in ir.layers:
        if isinstance(layer, MacLayer):
            layer.product_rounding, layer.accumulator = "half_up", None
    infer_accumulators(ir)
    validate(ir)
    return ir


def _signed_wrap():
    """Signed latents (linear last layer), wrapping overflow, masked cells."""
    return synthetic_ir("tiny_masked", "econt", seed=2, overflow="wrap", last_activation="linear")


IRS = {"tiny_conv": _tiny, "tiny_conv_half_up": _tiny_half_up, "tiny_masked_signed_wrap": _signed_wrap,
       "econt_4x4x3_econt": lambda: ir_case("econt_4x4x3_econt")}
_cache: dict = {}


def _ir(label):
    if label not in _cache:
        _cache[label] = IRS[label]()
    return _cache[label]


def _names(ir, weights, pick="all"):
    names = [c.name for c in cut_points(plan_design(ir, weights))]
    return {"all": names,
            "products": [n for n in names if n.endswith(".products")],
            "tree_accumulator": [n for n in names if n.endswith((".tree", ".accumulator"))],
            "input_path_sum": ["input_path.sum"]}[pick]


def _options_free(files):
    """Generated files without their options lines (the one thing --pipeline N and --cuts say differently)."""
    out = {}
    for name, text in files.items():
        if name == "manifest.json":
            m = json.loads(text)
            m.pop("pipeline")
            out[name] = m
        elif name.endswith(".v"):
            lines = text.splitlines()
            start = next((i for i, line in enumerate(lines) if line.startswith("// Options:")), None)
            if start is not None:
                end = next(i for i in range(start, len(lines)) if "Regenerate rather than edit." in lines[i])
                lines = lines[:start] + lines[end + 1:]
            out[name] = lines
        else:
            out[name] = text
    return out


@pytest.mark.parametrize("label,weights,elinks", [("tiny_conv", "programmable", None),
                                                  ("tiny_conv", "constant", 2),
                                                  ("chip", "programmable", None)])
def test_pipeline_n_is_the_same_design_as_the_cut_names_it_stands_for(label, weights, elinks):
    ir = ir_case("chip") if label == "chip" else _ir(label)
    order = pipeline_order(plan_design(ir, weights))
    for n in range(len(order)):
        by_pipeline = generate(ir, weights, pipeline=n, elinks=elinks)
        by_cuts = generate(ir, weights, cuts=list(reversed(order[:n + 1])), elinks=elinks)
        assert by_pipeline.manifest["cuts"] == order[:n + 1]
        assert by_pipeline.manifest["register_stages"] == by_cuts.manifest["register_stages"]
        assert _options_free(by_pipeline.files) == _options_free(by_cuts.files)
        assert f"--pipeline {n}." in by_pipeline.files[f"{by_pipeline.top}.v"]
        assert f"--cuts {','.join(_datapath(by_cuts, order[:n + 1]))}." \
            in by_cuts.files[f"{by_cuts.top}.v"]


def _datapath(design, names):
    return [c.name for c in cut_points(design.plan) if c.name in names]


def test_cut_points_are_named_in_datapath_order_and_costs_add_up_to_the_manifest_register_bits():
    ir = _tiny()
    for weights in ("programmable", "constant"):
        plan = plan_design(ir, weights)
        assert [c.name for c in cut_points(plan)] == [
            "charges", "input_path.sum", "input_path",
            "conv.products", "conv.tree", "conv.accumulator", "conv",
            "dense.products", "dense.tree", "dense.accumulator"]
        for elinks in (None, 2):
            costs = {c.name: c.bits for c in available_cuts(plan, framing=elinks is not None)}
            base = generate(ir, weights, cuts=[], elinks=elinks).manifest
            assert base["latency"] == 1 and base["register_stages"] == ["on the outputs"]
            for chosen in (list(costs), ["conv.tree"], ["input_path.sum", "dense.accumulator", "charges"]):
                m = generate(ir, weights, cuts=chosen, elinks=elinks).manifest
                assert m["latency"] == len(chosen) + 1 and m["cuts"] == [n for n in costs if n in chosen]
                # A cut adds its data bits to the pipeline; with the shadow bank, a stage before a layer
                # also adds one commit strobe flip-flop (counted as control).
                strobes = 0
                if "control" in m.get("registers", {}):
                    strobes = m["registers"]["control"]["commit_stages"] - \
                        base["registers"]["control"]["commit_stages"]
                assert m["register_bits"]["pipeline"] - base["register_bits"]["pipeline"] == \
                    sum(costs[n] for n in chosen)
                assert m["register_bits"]["total"] - base["register_bits"]["total"] == \
                    sum(costs[n] for n in chosen) + strobes
                if elinks:
                    assert m["framing"]["latency"] == m["latency"] + 1


def test_cut_sets_are_exact_order_free_and_checked():
    ir = _tiny()
    a = generate(ir, "constant", cuts=["dense.tree", "charges", "conv.products"])
    b = generate(ir, "constant", cuts=["conv.products", "dense.tree", "charges", "charges"])
    assert a.files == b.files
    assert "// Options: --weights constant --cuts charges,conv.products,dense.tree." in a.files[f"{a.top}.v"]
    # Modules without a register stage are untouched: no clk port.
    assert "clk" not in a.files[f"{a.top}_input_path.v"].split(");")[0]
    assert "clk" in a.files[f"{a.top}_conv.v"].split(");")[0]
    with pytest.raises(UserError, match="unknown 'conv.sum'.*charges, input_path.sum, input_path, conv.products"):
        generate(ir, "constant", cuts=["conv.sum"])
    with pytest.raises(UserError, match="unknown 'dense'"):          # the last layer's outputs: output registers
        generate(ir, "constant", cuts=["dense"])
    with pytest.raises(UserError, match="exclusive"):
        generate(ir, "constant", pipeline=1, cuts=["conv"])


def test_rtl_cuts_option_lists_generates_and_refuses(tmp_path, capsys):
    ir_path = tmp_path / "ir.json"
    ir_path.write_text(json.dumps(_tiny().to_dict(), indent=1))
    assert main(["rtl", str(ir_path), "--cuts", "list", "--weights", "constant"]) == 0
    out = capsys.readouterr().out
    assert "conv.accumulator" in out and "input_path.sum" in out and "flip-flops" in out
    assert main(["rtl", str(ir_path), "--out", str(tmp_path / "d"), "--cuts", "input_path.sum,conv.tree"]) == 0
    m = json.loads((tmp_path / "d" / "manifest.json").read_text())
    assert (m["cuts"], m["latency"], m["pipeline"]) == (["input_path.sum", "conv.tree"], 3, None)
    assert main(["rtl", str(ir_path), "--out", str(tmp_path / "e"), "--cuts", "none"]) == 0
    assert json.loads((tmp_path / "e" / "manifest.json").read_text())["latency"] == 1
    capsys.readouterr()
    assert main(["rtl", str(ir_path), "--out", str(tmp_path / "f"), "--cuts", "conv.prods"]) == 1
    assert "conv.products" in capsys.readouterr().err
    assert main(["rtl", str(ir_path), "--out", str(tmp_path / "f"), "--cuts", "conv", "--pipeline", "1"]) == 1


_SLOW = pytest.mark.slow         # econt_4x4x3: 5-15 s each in Icarus (compile and first evaluation)
SIM_CASES = (
    [pytest.param("tiny_conv", w, pick, id=f"tiny_conv-{w}-{pick}") for w in ("programmable", "constant")
     for pick in ("all", "products", "tree_accumulator", "input_path_sum")]
    + [pytest.param("econt_4x4x3_econt", "constant", pick, id=f"econt_4x4x3_econt-constant-{pick}", marks=_SLOW)
       for pick in ("all", "products", "tree_accumulator", "input_path_sum")]
    + [pytest.param("econt_4x4x3_econt", "programmable", "all", id="econt_4x4x3_econt-programmable-all", marks=_SLOW)]
    + [pytest.param(label, w, pick, id=f"{label}-{w}-{pick}") for label, w, pick in (
        ("tiny_conv_half_up", "constant", "all"), ("tiny_conv_half_up", "constant", "products"),
        ("tiny_masked_signed_wrap", "programmable", "all"), ("tiny_masked_signed_wrap", "constant", "all"))])


@pytest.mark.parametrize("label,weights,pick", SIM_CASES)
def test_design_with_cuts_equals_golden_model_at_the_manifest_latency(tmp_path, label, weights, pick):
    ir = _ir(label)
    elinks = 2 if label == "tiny_masked_signed_wrap" else None          # framing beside inner stages
    d = generate(ir, weights, cuts=_names(ir, weights, pick), elinks=elinks)
    write_design(d, tmp_path / "design")
    counts = first_stimulus(200, ir.input.n_cells, ir.input.charge_bits, seed=21)
    latents, sum_codes, latency = simulate_design(tmp_path / "design", counts, tmp_path / "tb")
    gold = golden.run(ir, counts=counts)
    assert latency == d.manifest["latency"] == len(d.manifest["cuts"]) + 1
    assert len(latents) == len(counts)
    assert (latents == gold.latents).all() and (sum_codes == gold.sum_code).all()


@pytest.mark.slow
def test_register_bits_equal_flip_flops_after_synthesis(tmp_path):
    """Every cut of a constant-weight design (products slicing shared multiples, shared sums, zero
    low bits, constants after the accumulator stage): the manifest counts what yosys keeps."""
    need_tool("yosys")
    ir = _tiny()
    d = generate(ir, "constant", cuts=_names(ir, "constant"))
    write_design(d, tmp_path / "design")
    assert main(["synth", str(tmp_path / "design"), "--out", str(tmp_path / "rep"), "--no-depth"]) == 0
    rep = json.loads((tmp_path / "rep" / "synth.json").read_text())
    assert rep["flip_flops"] == d.manifest["register_bits"]["total"] > 1000


@pytest.mark.parametrize("label,weights", [("tiny_conv", "programmable"), ("tiny_conv", "constant"),
                                           ("tiny_conv_half_up", "constant"),
                                           ("tiny_masked_signed_wrap", "programmable")])
def test_design_with_every_cut_compiles_and_lints_clean(tmp_path, label, weights):
    need_tool("iverilog")
    need_tool("verilator")
    ir = _ir(label)
    d = generate(ir, weights, cuts=_names(ir, weights), elinks=2 if label == "tiny_masked_signed_wrap" else None)
    write_design(d, tmp_path / "design")
    srcs = [str(tmp_path / "design" / s) for s in d.sources]
    r = run(["iverilog", "-g2001", "-Wall", "-o", "/dev/null", *srcs])
    assert r.returncode == 0 and r.stderr.strip() == "", r.stderr[-2000:]
    r = run(["verilator", "--lint-only", "-Wall", "--top-module", d.top, *srcs])
    assert r.returncode == 0 and "%Warning" not in r.stderr, r.stderr[-3000:]
