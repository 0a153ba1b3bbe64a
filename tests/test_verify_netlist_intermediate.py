"""RTL against the SKY130 netlist through an intermediate design (encoder.verify.coarse), on tiny_conv
with constant weights (mapped once, about 15 s).

The intermediate is the module in encoder synth's session, replayed (encoder.verify.replay), or its own
coarse synthesis where the replay lacks it. Every module and the top are proven through the replay; a
gate swapped in a neuron is found either way; a wrong intermediate is refused by step 1 either way; the
words cut, by hand.
"""

import re

import pytest

from encoder.verify import equiv, netlist
from netlist_helpers import map_tiny_conv, one_gate_swapped


@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    return map_tiny_conv(tmp_path_factory.mktemp("netlist"), "econt")


def _through(mapped, text, only, tmp_path, replayed=None):
    """netlist.compare through the intermediate alone: the replay's module where ``replayed`` has it, else the
    module's own coarse synthesis."""
    from encoder.verify.coarse import netlist_prover
    d, _, lib = mapped
    return netlist.compare(text, d.top, d.dir, equiv.rel_sources(d), lib, tmp_path, 300, log=lambda *_: None,
                           only=only, prover=netlist_prover(tmp_path, direct=_no_direct, replayed=replayed))


def _no_direct(gold, gate, timeout):
    return {"result": "not proven", "seconds": 0.0, "detail": "the direct proof is not run here"}


# Through a module's own coarse synthesis (encoder.verify.coarse).

def test_a_changed_gate_in_a_neuron_is_found_through_coarse_synthesis(mapped, tmp_path):
    d, text, _ = mapped
    name = f"{d.top}_conv_r0_c0_f1"
    rows = _through(mapped, one_gate_swapped(text, name), lambda n: n == name, tmp_path)
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
        rows = _through(mapped, text, lambda n: n == name, tmp_path, replayed)
        said = "RTL = encoder synth's session replayed"
    else:
        rows = _through(mapped, text, lambda n: n == name, tmp_path)
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
    rows = _through(mapped, text, lambda n: True, tmp_path, replayed)
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
    rows = _through(mapped, one_gate_swapped(text, name), lambda n: n == name, tmp_path, replayed)
    assert [r["result"] for r in rows] == ["not equivalent"], rows
    assert "RTL = encoder synth's session replayed proven" in rows[0]["detail"]


def test_a_module_the_replay_lacks_goes_through_its_own_coarse_synthesis(mapped, replayed, tmp_path):
    from encoder.verify.replay import Replay
    d, text, _ = mapped
    name = f"{d.top}_conv_r0_c0_f1"
    rows = _through(mapped, text, lambda n: n == name, tmp_path, Replay(replayed.design, frozenset()))
    assert [r["result"] for r in rows] == ["equivalent"] and rows[0]["detail"].startswith("through yosys coarse")
    # yosys merged the neuron's adder tree into one $macc: it is cut at the tree's words, acc among them.
    assert int(re.search(r"cut at (\d+) word", rows[0]["detail"]).group(1)) >= 2 and "acc" in rows[0]["detail"]
