"""RTL against the SKY130 netlist, module by module with submodules cut (encoder.verify.netlist), on
tiny_conv with constant weights (mapped once, about 20 s).

Every module below the top is proven equal to the RTL module it came from, directly and through a
module's own coarse synthesis; every module and the top, through encoder synth's session replayed;
a ``$paramod`` module is traced to its primitive and parameters; a gate changed inside a neuron, and
two wires crossed where a layer feeds a (cut) neuron, are each found; a wrong intermediate is refused.
"""

import re
import tempfile
from pathlib import Path

import pytest

from encoder.ir.synthetic import synthetic_ir
from encoder.pdk import resolve
from encoder.rtl_gen.design import generate, write_design
from encoder.silicon.mapping import map_design
from encoder.verif import gates
from encoder.verif.design import load_design
from encoder.verify import equiv, netlist
from rtl_helpers import need_tool


def _map(root: Path, arithmetic: str):
    need_tool("yosys")
    write_design(generate(synthetic_ir("tiny_conv", arithmetic, seed=3), "constant", 0), root / "design")
    m = map_design(root / "design", resolve("sky130hd"), root / "synth", progress=False)
    d = load_design(root / "design")
    lib = root / "cells.lib"
    lib.write_text(gates.library("sky130hd").text())
    return d, m.netlist.read_text(), lib


@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    return _map(tmp_path_factory.mktemp("netlist"), "econt")


def _compare(mapped, text, only):
    d, _, lib = mapped
    with tempfile.TemporaryDirectory() as tmp:
        return netlist.compare(text, d.top, d.dir, equiv.rel_sources(d), lib, Path(tmp), 120, log=lambda *_: None,
                               only=only)


def test_every_module_below_the_top_equals_its_rtl_module_and_paramods_are_traced(mapped):
    d, text, _ = mapped
    items = netlist.plan(text, d.top, d.dir, equiv.rel_sources(d))
    assert {i["netlist"] for i in items} == set(netlist.split(text))          # every netlist module planned
    requants = [i for i in items if i["netlist"].startswith("$paramod")]
    assert requants and all(i["rtl"] == "enc_requant" and i["params"]["IN_BITS"] in (14, 15) for i in requants)
    rows = _compare(mapped, text, lambda n: n != d.top)
    assert len(rows) == len(items) - 1
    assert all(r["result"] == "equivalent" for r in rows), [r for r in rows if r["result"] != "equivalent"]


def test_a_primitive_set_from_its_parents_parameters_is_proven_inside_its_parent(tmp_path):
    # QKeras arithmetic: requantizers shift (SHIFT > 0), so enc_requant holds enc_round_shift with
    # .SHIFT(SHIFT): no literal to elaborate it alone with.
    mapped = _map(tmp_path, "qkeras")
    d, text, _ = mapped
    items = netlist.plan(text, d.top, d.dir, equiv.rel_sources(d))
    inside = [i for i in items if "within" in i]
    assert inside and all(i["netlist"].endswith("enc_round_shift") and i["within"].endswith("enc_requant")
                          for i in inside)
    rows = _compare(mapped, text, lambda n: n.startswith("$paramod"))
    assert len(rows) == len(inside) and all(r["result"] == "equivalent" and "inside" in r["detail"] for r in rows)


def _one_gate_swapped(text: str, name: str) -> str:
    """The netlist with the first nand2/nor2/xnor2 of module ``name`` made another of the same pins (A, B, Y)."""
    body = netlist.split(text)[name]
    old, new = next((f"sky130_fd_sc_hd__{a} ", f"sky130_fd_sc_hd__{b} ") for a, b in
                    (("nand2_1", "nor2_1"), ("nor2_1", "nand2_1"), ("xnor2_1", "nand2_1"))
                    if f"sky130_fd_sc_hd__{a} " in body)
    return text.replace(body, body.replace(old, new, 1))


def test_a_changed_gate_in_a_neuron_is_not_equivalent(mapped):
    d, text, _ = mapped
    name = f"{d.top}_dense_j1"
    rows = _compare(mapped, _one_gate_swapped(text, name), lambda n: n == name)
    assert [r["result"] for r in rows] == ["not equivalent"]


def test_two_wires_crossed_into_a_cut_neuron_are_not_equivalent(mapped):
    d, text, _ = mapped
    name = f"{d.top}_dense"
    body = netlist.split(text)[name]
    inst = next(i for i in netlist.instances(body, set(netlist.split(text))) if i[1] == "u_dense_j0")
    block = body[inst[2]:inst[3]]
    conns = re.findall(r"\.\\\S+\s*\(([^()]*)\)", block)
    a, b = next((x, y) for x, y in zip(conns, conns[1:]) if x.strip() != y.strip())
    crossed = block.replace(f"({a})", "(@@)", 1).replace(f"({b})", f"({a})", 1).replace("(@@)", f"({b})", 1)
    bad = text.replace(body, body[:inst[2]] + crossed + body[inst[3]:])
    rows = _compare(mapped, bad, lambda n: n == name)
    assert [r["result"] for r in rows] == ["not equivalent"]


def _algebra_only(tmp):
    from encoder.verify import algebra
    return lambda gold, gate, timeout: algebra.prove_algebraic(gold, gate, tmp, timeout)


@pytest.mark.parametrize("layer", ["conv", "dense"])
def test_a_layer_module_equals_its_netlist_by_algebraic_rewriting_alone(mapped, layer, tmp_path):
    # The layer's products and shared sums against ABC's mapping of them, word by word, no SAT.
    d, text, lib = mapped
    name = f"{d.top}_{layer}"
    rows = netlist.compare(text, d.top, d.dir, equiv.rel_sources(d), lib, tmp_path, 120, log=lambda *_: None,
                           only=lambda n: n == name, prover=_algebra_only(tmp_path))
    assert [r["result"] for r in rows] == ["equivalent"], rows
    assert "algebraic rewriting" in rows[0]["detail"]


def test_a_changed_gate_in_a_layer_is_found_by_algebraic_rewriting_with_a_counterexample(mapped, tmp_path):
    d, text, lib = mapped
    name = f"{d.top}_conv"
    rows = netlist.compare(_one_gate_swapped(text, name), d.top, d.dir, equiv.rel_sources(d), lib, tmp_path, 120, log=lambda *_: None,
                           only=lambda n: n == name, prover=_algebra_only(tmp_path))
    assert [r["result"] for r in rows] == ["not equivalent"], rows
    assert rows[0]["counterexample"]                 # port values; prove_algebraic checked the AIGs differ there


def test_the_signoff_table_counts_netlist_modules_by_result_and_names_the_top():
    from encoder.verify.signoff import table
    rows = [{"module": "top", "result": "timeout", "seconds": 30.0},
            {"module": "top_conv", "result": "equivalent", "seconds": 1.5},
            {"module": "top_conv_r0_c0_f0", "result": "equivalent", "seconds": 0.4,
             "inside": ["$paramod$1\\enc_round_shift"]}]
    text = table("tiny_conv", {"equiv_netlist": {"modules": rows}}, "abc1234")
    line = next(ln for ln in text.splitlines() if "SKY130 netlist (4 modules in 3 proofs)" in ln)
    assert "2 equivalent, 1 timeout" in line
    assert "timeout (30.0 s)" in next(ln for ln in text.splitlines() if "netlist: top" in ln)


def test_a_netlist_without_the_designs_top_is_refused_in_one_line(mapped):
    from encoder.errors import UserError
    d, _, _ = mapped
    with pytest.raises(UserError, match=f"no module {d.top}"):
        netlist.plan("garbage\n", d.top, d.dir, equiv.rel_sources(d))


# Through yosys' coarse synthesis of the RTL (encoder.verify.coarse).

def _through_coarse(mapped, text, only, tmp_path):
    from encoder.verify.coarse import netlist_prover
    d, _, lib = mapped
    return netlist.compare(text, d.top, d.dir, equiv.rel_sources(d), lib, tmp_path, 300, log=lambda *_: None,
                           only=only, prover=netlist_prover(tmp_path, direct=_no_direct))


def _no_direct(gold, gate, timeout):
    return {"result": "not proven", "seconds": 0.0, "detail": "the direct proof is not run here"}


def test_every_module_below_the_top_is_proven_through_coarse_synthesis_cut_at_its_adder_words(mapped, tmp_path):
    d, text, _ = mapped
    rows = _through_coarse(mapped, text, lambda n: n != d.top, tmp_path)
    assert len(rows) == len(netlist.split(text)) - 1
    assert all(r["result"] == "equivalent" and r["detail"].startswith("through yosys coarse synthesis")
               for r in rows), [r for r in rows if r["result"] != "equivalent"]
    # Neurons whose adder tree yosys merged into one $macc are cut at the tree's words, acc among them.
    neuron = next(r["detail"] for r in rows if r["module"] == f"{d.top}_conv_r0_c0_f1")
    assert int(re.search(r"cut at (\d+) word", neuron).group(1)) >= 2 and "acc" in neuron


def test_a_changed_gate_in_a_neuron_is_found_through_coarse_synthesis(mapped, tmp_path):
    d, text, _ = mapped
    name = f"{d.top}_conv_r0_c0_f1"
    rows = _through_coarse(mapped, _one_gate_swapped(text, name), lambda n: n == name, tmp_path)
    assert [r["result"] for r in rows] == ["not equivalent"], rows
    assert "RTL = yosys coarse synthesis proven" in rows[0]["detail"]       # the difference is the netlist's


@pytest.mark.parametrize("source", ["coarse synthesis", "replay"])
def test_the_intermediate_is_checked_against_the_rtl_not_trusted(mapped, replayed, source, tmp_path, monkeypatch):
    # An intermediate with one XOR gate made an OR, as a wrong coarse synthesis or a wrong replay would give:
    # step 1 must refuse it, and the netlist is not called different on the strength of it.
    from encoder.verify import coarse
    d, text, _ = mapped
    real = coarse.intermediate

    def wrong(gold, tmp, timeout, mapped=None):
        built = real(gold, tmp, timeout, mapped)
        body = built.coarse.read_text()
        built.coarse.write_text(body.replace("cell $_XOR_ ", "cell $_OR_ ", 1))
        return built
    monkeypatch.setattr(coarse, "intermediate", wrong)
    name = f"{d.top}_conv_r0_c0_f1"
    if source == "replay":
        rows = _through_replay(mapped, replayed, text, lambda n: n == name, tmp_path)
        said = "RTL = encoder synth's session replayed"
    else:
        rows = _through_coarse(mapped, text, lambda n: n == name, tmp_path)
        said = "RTL = yosys coarse synthesis"
    assert [r["result"] for r in rows] == ["not proven"], rows
    assert said in rows[0]["detail"] and "not equivalent" in rows[0]["detail"]


def test_cut_words_are_adder_outputs_of_the_same_name_and_width_on_both_sides():
    from encoder.verify.coarse import cut_words

    def module(cells, nets):
        return {"cells": {f"c{k}": {"type": t, "port_directions": {"Y": "output", "A": "input"},
                                    "connections": {"Y": y, "A": [99]}} for k, (t, y) in enumerate(cells)},
                "netnames": {n: {"bits": b, "hide_name": int(n.startswith("$"))} for n, b in nets.items()}}
    coarse = module([("$alu", [1, 2, 3]), ("$macc", [4, 5]), ("$and", [6, 7]), ("$alu", [8, 9]), ("$alu", [30, 31])],
                    {"sum": [1, 2, 3], "acc": [4, 5], "gated": [6, 7], "$auto": [8, 9], "part": [1, 2],
                     "x3": [30, 31], "w3": [30, 31]})
    rtl = module([("$add", [11, 12, 13]), ("$add", [14, 15, 16]), ("$and", [17, 18]), ("$add", [19, 20]),
                  ("$add", [40, 41])],
                 {"sum": [11, 12, 13], "acc": [14, 15, 16], "gated": [17, 18], "$auto": [19, 20], "part": [11, 12],
                  "x3": [40, 41], "w3": [40, 41]})
    # acc: 2 bits in I, 3 in the RTL; gated: not an adder; $auto: no name; part: not a whole output;
    # x3 and w3: two names of one word, cut once under the lesser, at the cell driving it on each side.
    words = cut_words(rtl, coarse)
    assert [(w.name, w.width, w.rtl, w.coarse) for w in words] == [
        ("sum", 3, ("c0", "Y"), ("c0", "Y")), ("w3", 2, ("c4", "Y"), ("c4", "Y"))]


# Through encoder synth's own session, replayed (encoder.verify.replay): the intermediate has the netlist's
# full-adder trees, which a module's own coarse synthesis does not build for a wide neuron.

@pytest.fixture(scope="module")
def replayed(mapped, tmp_path_factory):
    from encoder.verify.replay import replay
    return replay(mapped[0].dir, tmp_path_factory.mktemp("replay"), 300)


def _through_replay(mapped, replayed, text, only, tmp_path):
    from encoder.verify.coarse import netlist_prover
    d, _, lib = mapped
    return netlist.compare(text, d.top, d.dir, equiv.rel_sources(d), lib, tmp_path, 300, log=lambda *_: None,
                           only=only, prover=netlist_prover(tmp_path, direct=_no_direct, replayed=replayed))


def _module_text(rtlil: str, name: str) -> str:
    start = rtlil.index(f"module \\{name}\n")
    return rtlil[start:rtlil.index("\nend\n", start)]


def test_the_replay_holds_every_netlist_module_its_multi_operand_adders_made_full_adders(mapped, replayed):
    d, text, _ = mapped
    assert set(netlist.split(text)) <= replayed.modules
    neuron = _module_text(replayed.design.read_text(), f"{d.top}_conv_r0_c0_f1")
    assert "cell $fa " in neuron and "cell $macc " not in neuron and "cell $alu " in neuron


def test_every_module_and_the_top_is_proven_through_the_replayed_session(mapped, replayed, tmp_path):
    d, text, _ = mapped
    rows = _through_replay(mapped, replayed, text, lambda n: True, tmp_path)
    assert len(rows) == len(netlist.split(text))
    assert all(r["result"] == "equivalent" and r["detail"].startswith("through encoder synth's session replayed")
               for r in rows), [r for r in rows if r["result"] != "equivalent"]
    neuron = next(r["detail"] for r in rows if r["module"] == f"{d.top}_conv_r0_c0_f1")
    assert "acc" in neuron
    # The top: registers, the flattened input path (a 16-code module sum, leading one, normaliser). Step 1
    # cuts both sides' flip-flops by name, so it is combinational: algebra for the adder words, SAT
    # sweeping for the shifts and muxes left; step 2 is sequential, I against the netlist from all-zero.
    top = next(r["detail"] for r in rows if r["module"] == d.top)
    assert "module_sum" in top and "sequential" in top


def test_a_changed_gate_in_a_neuron_is_found_through_the_replayed_session(mapped, replayed, tmp_path):
    d, text, _ = mapped
    name = f"{d.top}_conv_r0_c0_f1"
    rows = _through_replay(mapped, replayed, _one_gate_swapped(text, name), lambda n: n == name, tmp_path)
    assert [r["result"] for r in rows] == ["not equivalent"], rows
    assert "RTL = encoder synth's session replayed proven" in rows[0]["detail"]


def test_a_module_the_replay_lacks_goes_through_its_own_coarse_synthesis(mapped, replayed, tmp_path):
    from encoder.verify.replay import Replay
    d, text, _ = mapped
    name = f"{d.top}_conv_r0_c0_f1"
    rows = _through_replay(mapped, Replay(replayed.design, frozenset()), text, lambda n: n == name, tmp_path)
    assert [r["result"] for r in rows] == ["equivalent"] and rows[0]["detail"].startswith("through yosys coarse")
