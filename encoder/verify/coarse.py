"""RTL against its mapped netlist, through the module as yosys builds it before mapping.

A neuron's RTL adds its products in a balanced tree of two-input adders, each as wide as its value
range. `encoder synth` lets yosys merge that tree into one multi-operand adder (``$macc``, from
alumacc), which maccmap builds as a compressor tree of full adders and ABC maps to maj3/xor3
cells. A miter of the RTL against the netlist then shares no internal points (SAT sweeping has
nothing to merge), and rewriting the netlist algebraically blows up in its Brent-Kung carry trees:
conv neuron r0_c0_f1 of econt_8x8 timed out at 200 s either way.

So the proof goes through an intermediate design I: the module in `encoder synth`'s own yosys
session, replayed up to its multi-operand adders made into full adders (encoder.verify.replay), or,
for a module the replay lacks, yosys' coarse synthesis of the RTL module alone (the same passes,
``synth -run begin:fine``, then maccmap). Its arithmetic is then made into gates so that each half
of the proof suits one engine. Only the replay has the netlist's compressor trees: yosys orders
their bits by when the session made their wires' names, so a wide neuron's own synthesis gets other
trees, and SAT sweeping then finds no shared points (econt_8x8's dense neurons: no answer in 300 s;
through the replay, 9.6-12.5 s each):

1. **RTL against I, algebraically.** I's word-level adders (``$alu``, ``$macc``) drive words the
   RTL names too (``sum_l4_0``, ``acc``). Both sides are cut at each word's driving cell: its
   output goes to a new output ``<word>.o``, and every reader, by whatever name it reads the word,
   reads a new input ``<word>.i`` the two sides share. A top's flip-flops are cut too, by name
   (``Side.cut_registers``), so that the step is combinational. Each output word is rewritten into
   its polynomial modulo its own width (encoder.verify.algebra), so a wrap where a narrower sum is
   widened (a neuron's 15-bit tree under its 16-bit accumulator, with its ports free) is a cut, not
   a dropped carry to expand. I maps ``$macc`` into full adders (maccmap) and ``$alu`` into ripple
   adders, which rewrite to small polynomials. Words algebra leaves open (a mux of shifts, a
   comparison) go to SAT sweeping alone, with the adders around them cut.
2. **I against the netlist, by SAT sweeping** (ABC ``iprove``; ``dprove`` from the all-zero state
   where there are flip-flops), with I's cuts joined back (``Side.rejoin``). The netlist was mapped
   from the same compressor trees: the two share their full adders as internal points.

Why the two steps prove RTL = netlist: in step 1 every cut word's driver and every output are
equal on the two sides whenever the cut inputs are; the words read one another without a loop, so
by induction over them the joined circuits are equal. Step 2 reads the very file step 1 proved,
joined by yosys ``connect``: yosys' synthesis, and the replay, are checked, not trusted.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from .algebra import RIPPLE_TECHMAP
from .prove import Side, prove, run_script
from .replay import Replay

# Cells whose output word is a cut point: what alumacc leaves of the RTL's + and -, and maccmap's final adder.
ARITHMETIC = ("$alu", "$macc", "$add", "$sub", "$neg")
MODULE = "coarse_top"
# Of a module's time, what the proof through I may take before the direct miter gets the rest: econt_8x8's
# top needs 363 s through I (of 600 s by default), its conv layer 38 s directly.
COARSE_SHARE = 0.7


def _outputs(mod: dict, kinds: tuple[str, ...] | None) -> dict[tuple, tuple[str, str]]:
    """Bit list of every output of a cell (of ``kinds``, if given) in a yosys JSON module -> (cell, port)."""
    out = {}
    for name, cell in mod["cells"].items():
        if kinds is not None and cell["type"] not in kinds:
            continue
        for port, bits in cell["connections"].items():
            if cell.get("port_directions", {}).get(port) == "output":
                out[tuple(bits)] = (name, port)
    return out


def _names(mod: dict) -> dict[tuple, set[str]]:
    """Bit list -> every public name of exactly those bits (``w3 = x3`` gives one word two names)."""
    named: dict[tuple, set[str]] = {}
    for name, net in mod["netnames"].items():
        if not net.get("hide_name") and all(isinstance(b, int) for b in net["bits"]):
            named.setdefault(tuple(net["bits"]), set()).add(name)
    return named


@dataclass
class Word:
    name: str                        # the least name the two sides share
    width: int
    rtl: tuple[str, str]             # (cell, output port) driving it in the RTL
    coarse: tuple[str, str]          # the same in I


def _plain(name: str) -> bool:
    """Whether yosys commands take ``name`` as itself (not a pattern, not split at a space)."""
    return not re.search(r"[*?\[\]\s\\]", name)


def cut_words(rtl: dict, coarse: dict) -> list[Word]:
    """The words both sides cut: driven whole by an adder in I and whole by some cell in the RTL, under a
    name they share, the same width."""
    coarse_names = _names(coarse)
    rtl_bits = {n: bits for bits, names in _names(rtl).items() for n in names}
    rtl_out = _outputs(rtl, None)
    words = []
    for bits, driver in _outputs(coarse, ARITHMETIC).items():
        # The least usable name that also names a whole cell output of the same width in the RTL: any
        # lesser name of the word shared by the RTL would name the same RTL bits, so it would come first.
        for n in sorted(m for m in coarse_names.get(bits, ()) if _plain(m)):
            theirs = rtl_bits.get(n)
            if theirs is not None and len(theirs) == len(bits) and theirs in rtl_out:
                words.append(Word(n, len(bits), rtl_out[theirs], driver))
                break
    return sorted(words, key=lambda w: w.name)


def _cut(lines: list[str], words: list[Word], side: str) -> None:
    """Yosys commands cutting each word at its driver: the cell's output goes to a new output ``<word>.o``,
    every reader (by whatever name) reads a new input ``<word>.i``."""
    lines.append(f"cd {MODULE}")
    for w in words:
        cell, port = getattr(w, side)
        # -nounset: plain -set would also undrive whatever the word's bits feed by another name (bits 0-2
        # of x11 driven straight from x3), which then reads x.
        lines += [f"add -output \\{w.name}.o {w.width}", f"connect -port {cell} {port} \\{w.name}.o",
                  f"add -input \\{w.name}.i {w.width}", f"connect -nounset -set \\{w.name} \\{w.name}.i"]
    lines.append("cd ..")


@dataclass
class Intermediate:
    rtl: Path                        # the RTL as yosys reads it, flattened but for the cut instances, cut (RTLIL)
    coarse: Path                     # I, cut (RTLIL)
    words: list[Word]
    registers: bool                  # whether I has flip-flops


def intermediate(gold: Side, tmp: Path, timeout: float, mapped: tuple[Path, str] | None = None
                 ) -> Intermediate | None:
    """Both sides of step 1 as ``coarse_top`` in RTLIL files of ``tmp``; None past ``timeout``. I is module
    ``mapped[1]`` of the replayed session ``mapped[0]`` (encoder.verify.replay) if given, else the coarse
    synthesis of ``gold`` alone."""
    t0 = time.monotonic()
    reads = [f"read_verilog -sv " + " ".join(f'"{Path(f).resolve()}"' for f in gold.files)]
    chparam = "".join(f" -chparam {k} {v}" for k, v in gold.params.items())
    lines = reads + [f"hierarchy -check -top {gold.top}{chparam}", "proc"]
    lines += [f"setattr -set keep_hierarchy 1 {gold.top}/c:{i}" for i in gold.cut]
    lines += ["flatten", "opt_clean", f"rename -top {MODULE}", "write_rtlil rtl.il", "write_json rtl.json"]
    coarse = ["write_rtlil coarse.il", "write_json coarse.json"]
    if mapped is None:
        lines += [f"synth -top {MODULE} -run begin:fine", "opt_clean"] + coarse
    else:
        if not run_script(lines, "rtl", tmp, timeout, f"read {gold.top}"):
            return None
        # The session marks every module keep_hierarchy (encoder.silicon.mapping): only the cut instances stay.
        lines = [f'read_rtlil "{mapped[0].resolve()}"', f"hierarchy -top {mapped[1]}", f"rename -top {MODULE}",
                 "setattr -mod -unset keep_hierarchy"]
        lines += [f"setattr -set keep_hierarchy 1 {MODULE}/c:{i}" for i in gold.cut] + ["flatten", "opt_clean"]
        lines += coarse
    if not run_script(lines, "coarse", tmp, timeout - (time.monotonic() - t0), f"synthesise {gold.top} coarsely"):
        return None
    rtl = json.loads((tmp / "rtl.json").read_text())["modules"][MODULE]
    coarse = json.loads((tmp / "coarse.json").read_text())["modules"][MODULE]
    words = cut_words(rtl, coarse)
    ripple = tmp / "ripple_adders.v"
    ripple.write_text(RIPPLE_TECHMAP)
    out = Intermediate(tmp / "rtl_cut.il", tmp / "coarse_cut.il", words,
                       any("dff" in c["type"] for c in coarse["cells"].values()))
    for side, path, maps in (("rtl", out.rtl, []),
                             ("coarse", out.coarse, ["maccmap", f"techmap -map {ripple}", "techmap", "opt -fast"])):
        lines = [f"read_rtlil {side}.il", f"hierarchy -top {MODULE}"]
        _cut(lines, words, side)
        lines += maps + [f"write_rtlil {path}"]
        if not run_script(lines, f"{side}_cut", tmp, timeout - (time.monotonic() - t0), f"cut {gold.top}'s words"):
            return None
    return out


def prove_through_coarse(gold: Side, gate: Side, tmp: Path, timeout: float, prover=prove,
                         mapped: tuple[Path, str] | None = None) -> dict:
    """RTL ``gold`` against netlist ``gate`` through I (from ``mapped``, see ``intermediate``); a result like
    encoder.verify.prove.prove's, whose detail gives both steps. Building I may take a quarter of
    ``timeout``; of what is left, algebra in step 1 half, SAT sweeping in step 1 half of the rest, and step 2
    the remainder."""
    t0 = time.monotonic()

    def left() -> float:
        return timeout - (time.monotonic() - t0)

    def done(result: str, detail: str, **more) -> dict:
        return {"result": result, "seconds": round(time.monotonic() - t0, 1), "detail": detail, **more}
    via = "encoder synth's session replayed" if mapped else "yosys coarse synthesis"
    built = intermediate(gold, tmp, timeout / 4, mapped)
    if built is None:
        return done("timeout", f"no intermediate design ({via}) in {timeout / 4:.0f} s")
    words = [w.name for w in built.words]
    # Step 1 cuts the flip-flops too, on both sides by name, so that it is combinational: yosys' coarse
    # synthesis keeps every register of the RTL by its name.
    rtl = Side([built.rtl], MODULE, cut=gold.cut, cut_registers=built.registers)
    mid = Side([built.coarse], MODULE, cut=gold.cut, cut_registers=built.registers)
    step1 = prover(rtl, mid, timeout=left() / 2, engine="algebra")
    if step1["result"] not in ("equivalent", "not equivalent", "error"):
        # Words algebra cannot write small (a comparison, a mux of shifts): SAT sweeping for those alone,
        # the adders between them being cut.
        rest = step1.get("undecided", [])
        sat = prover(replace(rtl, outputs=rest), replace(mid, outputs=rest), timeout=max(left() / 2, 1.0),
                     engine="sat")
        which = f"{len(rest)} word(s) left to it" if rest else "every word"
        step1 = {**sat, "detail": f"{step1['detail']}; then, {which}, {sat['detail']}",
                 "seconds": round(step1["seconds"] + sat["seconds"], 1)}
    cuts = f"cut at {len(words)} word(s){': ' + ', '.join(words[:4]) if words else ''}"
    if step1["result"] != "equivalent":
        # I is yosys' own synthesis of the RTL: a difference here is not the netlist's.
        return done("not proven", f"RTL = {via} ({cuts}): {step1['result']}, {step1['detail']}")
    step2 = prover(replace(mid, rejoin=words, cut_registers=False), gate, timeout=max(left(), 1.0), engine="sat")
    if step2["result"] != "equivalent":
        return done(step2["result"], f"{via} = netlist: {step2['detail']} (RTL = {via} "
                                     f"proven, {cuts}, {step1['seconds']} s)")
    return done("equivalent", f"through {via}: RTL = it ({cuts}; {step1['detail']}, "
                              f"{step1['seconds']} s), it = netlist ({step2['detail']}, {step2['seconds']} s)")


def netlist_prover(tmp: Path, direct=prove, replayed: Replay | None = None):
    """The prover of one netlist module (encoder.verify.netlist.compare): through I for ``COARSE_SHARE`` of
    the time, and where that leaves it open, the ``direct`` miter of RTL and netlist with the time left (a
    layer module, whose words are many small products, may suit it better). I is the module in ``replayed``
    (encoder.verify.replay) where that has it, else the module's own coarse synthesis."""
    def run(gold: Side, gate: Side, timeout: float) -> dict:
        t0 = time.monotonic()
        mapped = None
        if replayed is not None and gate.netlist_name in replayed.modules:
            mapped = (replayed.design, gate.netlist_name)
        with tempfile.TemporaryDirectory(dir=tmp) as work:
            r = prove_through_coarse(gold, gate, Path(work), timeout * COARSE_SHARE, mapped=mapped)
        left = timeout - (time.monotonic() - t0)
        if r["result"] in ("equivalent", "not equivalent") or left < 1:
            return r
        d = direct(gold, gate, timeout=left)
        return {**d, "seconds": round(time.monotonic() - t0, 1),
                "detail": f"{d['detail']} (directly; through the intermediate: {r['result']}, {r['detail']})"}
    return run
