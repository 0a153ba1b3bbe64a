"""RTL against the SKY130 netlist, module by module with submodules cut (encoder.verify.netlist), on
tiny_conv with constant weights (mapped once, about 20 s).

Every module below the top is proven equal to the RTL module it came from (the proofs through an
intermediate design, the top included, are in test_verify_netlist_intermediate.py); a ``$paramod``
module is traced to its primitive and parameters; a gate changed inside a neuron, and two wires
crossed where a layer feeds a (cut) neuron, are each found.
"""

import re
import tempfile
from pathlib import Path

import pytest

from encoder.verify import equiv, netlist
from netlist_helpers import map_tiny_conv, one_gate_swapped


@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    return map_tiny_conv(tmp_path_factory.mktemp("netlist"), "econt")


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
    mapped = map_tiny_conv(tmp_path, "qkeras")
    d, text, _ = mapped
    items = netlist.plan(text, d.top, d.dir, equiv.rel_sources(d))
    inside = [i for i in items if "within" in i]
    assert inside and all(i["netlist"].endswith("enc_round_shift") and i["within"].endswith("enc_requant")
                          for i in inside)
    rows = _compare(mapped, text, lambda n: n.startswith("$paramod"))
    assert len(rows) == len(inside) and all(r["result"] == "equivalent" and "inside" in r["detail"] for r in rows)


def test_a_changed_gate_in_a_neuron_is_not_equivalent(mapped):
    d, text, _ = mapped
    name = f"{d.top}_dense_j1"
    rows = _compare(mapped, one_gate_swapped(text, name), lambda n: n == name)
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
    rows = netlist.compare(one_gate_swapped(text, name), d.top, d.dir, equiv.rel_sources(d), lib, tmp_path, 120, log=lambda *_: None,
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
