"""Formal equivalence of generated designs, module by module (yosys SAT miters, encoder.verify.prove).

`encoder verify equiv A B` compares two designs of the same IR, per module, because the flat
econt_8x8 (2,000+ products a side) is beyond a SAT miter's reach:

- constant A against programmable B ("tied"): each MAC layer module of A against B's layer module
  wrapped with its ``weight`` and ``bias`` ports tied to the IR's codes in register order
  (encoder.rtl_gen.plan.register_image): the configuration bank is cut off at the wires it
  drives, so what is proven is the datapath under the IR's weights; the bank itself (writes,
  shadow, commit) is not in the proof. Each layer pair is cut at its requantizers first
  (encoder.verify.cutpoint: accumulators equal as integers, read off the word-level netlist by
  encoder.verify.linear or by algebraic rewriting; requantizer parameter pairs by ABC), then, if that leaves it open, proven as a whole in the time left. The
  input path modules are compared as they are.
- the same weights mode at two --pipeline settings ("pipeline"): every module but the top is
  combinational and is compared as is; the tops, which differ in register stages (the latency),
  by a sequential proof with their boxes cut (encoder.verify.pipeline).
- RTL A against the netlist of `encoder synth --liberty` in B ("netlist"): module by module,
  each with its submodules cut (encoder.verify.netlist), the cells' functions read from the
  Liberty file, through the module as encoder synth's yosys session builds it before mapping
  (replayed once for the design, encoder.verify.replay; a module the replay lacks: its own coarse
  synthesis), encoder.verify.coarse: RTL against it algebraically, cut at its adders' words; it
  against the netlist by SAT sweeping; else directly. The top is sequential, proven by induction
  from the all-zero register state.

Mutants (encoder.verify.mutate) are compared on the mutated module alone; a mutated primitive,
which is parameterised, on every parameter set the design instantiates it with.
"""

from __future__ import annotations

import functools
import re
import tempfile
import time
from pathlib import Path

from ..errors import UserError
from ..ir import load_ir
from ..verif.coverage_spec import instances
from ..verif.design import Design, load_design
from .cutpoint import codes_within, prove_cut
from .linear import reading_range
from .prove import Side, prove
from .sites import Site, _code

MAX_PARAM_SETS = 16
# The replay of encoder synth's session (encoder.verify.replay) gets a module's time, at least this: it took
# 14 s on econt_8x8.
REPLAY_MIN_SECONDS = 300.0


def literal_params(params: dict[str, str]) -> dict[str, int] | None:
    """An instance's parameters as integers, or None when one is not an integer literal."""
    if not all(re.fullmatch(r"-?\d+", v) for v in params.values()):
        return None
    return {k: int(v) for k, v in params.items()}


def _strip(text: str) -> str:
    out, block = [], False
    for line in text.splitlines():
        code, block = _code(line, block)
        out.append(code)
    return "\n".join(out)


def module_index(design_dir: Path, sources: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """(module -> defining file, file -> comment-free text)."""
    where, texts = {}, {}
    for rel in sources:
        texts[rel] = _strip((design_dir / rel).read_text())
        for m in re.finditer(r"^\s*module\s+(\w+)", texts[rel], re.M):
            where[m.group(1)] = rel
    return where, texts


def port_names(text: str, module: str) -> list[str]:
    """The port names in ``module``'s header (``text`` comment-free), in order."""
    m = re.search(rf"^\s*module\s+{re.escape(module)}\b(.*?)\)\s*;", text, re.M | re.S)
    if m is None:
        return []
    header = re.sub(r"#\s*\((?:[^()]|\([^()]*\))*\)", "", m.group(1))       # parameters, if any
    return re.findall(r"\b(?:input|output|inout)\b[^,;]*?(\w+)\s*(?=,|$|\)?\s*$)", header, re.M)


def closure(module: str, where: dict[str, str], texts: dict[str, str]) -> list[str]:
    """The files defining ``module`` and every module it instantiates, deepest first."""
    order, seen = [], set()

    def visit(rel):
        if rel in seen:
            return
        seen.add(rel)
        words = set(re.findall(r"\b\w+\b", texts[rel]))
        for name, f in where.items():
            if name in words and f != rel:
                visit(f)
        order.append(rel)
    visit(where[module])
    return order


def param_sets(texts: dict[str, str], where: dict[str, str], primitive: str) -> list[tuple[str, dict]]:
    """(module, literal parameters) of every instance, in a generated file, of ``primitive`` or of a
    primitive containing it; instances with a non-literal parameter are left out."""
    users = {m for m in where if m.startswith("enc_") and where[primitive] in closure(m, where, texts)}
    found = {}
    for rel, text in texts.items():
        if Path(rel).name.startswith("enc_"):
            continue
        for module, _, plist in instances(text, users):
            params = literal_params(plist)
            if plist and params is not None:
                found[(module, tuple(sorted(params.items())))] = None
    return [(mod, dict(ps)) for mod, ps in sorted(found)]


def prove_mutant(orig_dir: Path, mut_dir: Path, site: Site, sources: list[str], timeout: float = 120.0) -> dict:
    """Is the mutated module equal to the original? The mutant differs from the design in one file only."""
    where, texts = module_index(orig_dir, sources)
    if site.module not in where:
        return {"result": "error", "detail": f"module {site.module} not found"}
    if not site.primitive:
        files = closure(site.module, where, texts)
        return prove(Side([orig_dir / f for f in files], site.module),
                     Side([mut_dir / f for f in files], site.module), timeout=timeout)
    sets = param_sets(texts, where, site.module)
    if not sets:
        return {"result": "not proven", "detail": f"{site.module} has no instance with literal parameters"}
    checks = []
    for mod, params in sets[:MAX_PARAM_SETS]:
        files = closure(mod, where, texts)
        r = prove(Side([orig_dir / f for f in files], mod, params),
                  Side([mut_dir / f for f in files], mod, params), timeout=timeout)
        checks.append({"module": mod, "params": params, **r})
        if r["result"] != "equivalent":
            break                           # one counterexample (or one failure to prove) decides
    results = {c["result"] for c in checks}
    if results == {"equivalent"} and len(sets) <= MAX_PARAM_SETS:
        return {"result": "equivalent", "detail": f"{len(checks)} parameter set(s)", "checks": checks}
    if "not equivalent" in results:
        return {"result": "not equivalent", "detail": "a parameter set differs", "checks": checks}
    why = f"{len(sets)} parameter sets, {MAX_PARAM_SETS} checked" if len(sets) > MAX_PARAM_SETS else "see checks"
    return {"result": checks[-1]["result"], "detail": why, "checks": checks}


# -- designs against each other ---------------------------------------------------------------

def rel_sources(design: Design) -> list[str]:
    """The design's Verilog sources relative to its folder (a mutant copy has the same names)."""
    root = design.dir.resolve()
    return [str(Path(p).resolve().relative_to(root)) for p in design.sources]


def _tied_wrapper(top: str, layer, weights: list[int], bias: list[int], x_bits: int, y_bits: int) -> str:
    """``<top>_<layer>__tied``: the programmable layer module with its weight and bias ports tied."""
    def literal(codes, bits):
        value = 0
        for k, c in enumerate(codes):
            value |= (int(c) & ((1 << bits) - 1)) << (bits * k)
        return f"{len(codes) * bits}'h{value:x}"
    mod = f"{top}_{layer.name}"
    return (f"module {mod}__tied (\n    input  wire [{x_bits - 1}:0] x,\n    output wire [{y_bits - 1}:0] y\n);\n"
            f"    {mod} u (.x(x), .weight({literal(weights, layer.weight_format.bits)}), "
            f".bias({literal(bias, layer.bias_format.bits)}), .y(y));\nendmodule\n")


def _msb(expr: str) -> int:
    """The value of a generated port's MSB expression: ``n``, ``a*b-1`` or ``a-1``."""
    m = re.fullmatch(r"\s*(\d+)\s*(?:\*\s*(\d+)\s*)?(?:-\s*(\d+)\s*)?", expr)
    if not m:
        raise UserError(f"cannot read the port width [{expr}:0]")
    return int(m.group(1)) * int(m.group(2) or 1) - int(m.group(3) or 0)


def _port_widths(text: str, module: str) -> dict[str, int]:
    """Widths of the ports of ``module`` as the generator writes them."""
    body = re.search(rf"module\s+{re.escape(module)}\s*\((.*?)\);", text, re.S)
    return {m.group(3): (_msb(m.group(2)) + 1 if m.group(2) else 1)
            for m in re.finditer(r"(input|output)\s+(?:wire|reg)?\s*(?:\[([^\]]+):0\])?\s*(\w+)",
                                 body.group(1) if body else "")}


def _modules_to_compare(a: Design, b: Design) -> list[str]:
    wa, _ = module_index(a.dir, rel_sources(a))
    wb, _ = module_index(b.dir, rel_sources(b))
    prefix = f"{a.top}_"
    return sorted(m for m in wa if m in wb and m != a.top and m.startswith(prefix)
                  and not re.search(r"_(r\d+_c\d+_f\d+|j\d+|mac\d+)$", m))


def compare(a_dir: str | Path, b_dir: str | Path, timeout: float = 600.0, log=print, engine: str = "sat") -> dict:
    """{"mode", "modules": [{module, result, seconds, detail}], "proven", "statement"}; ``engine``: of a
    combinational module (encoder.verify.prove.ENGINES)."""
    prove_with = functools.partial(prove, engine=engine)
    b_path = Path(b_dir)
    a = load_design(a_dir)
    if (b_path / "netlist.v").is_file():
        return _against_netlist(a, b_path, timeout, log, prove_with)
    b = load_design(b_dir)
    if a.top != b.top:
        raise UserError(f"{b_dir}: top {b.top} is not {a.top} (designs of different IRs?)")
    ia, ib = load_ir(a.ir_path), load_ir(b.ir_path)
    if ia.hash != ib.hash:
        raise UserError(f"{b_dir}: generated from IR {ib.hash[:19]}, {a_dir} from {ia.hash[:19]}")
    if {a.weights, b.weights} == {"constant", "programmable"}:
        if a.weights == "programmable":
            a, b = b, a
        return _tied(a, b, ia, timeout, log, prove_with)
    mode = "pipeline" if a.latency != b.latency else "same"
    rows = []
    sa, sb = rel_sources(a), rel_sources(b)
    wa, ta = module_index(a.dir, sa)
    wb, tb = module_index(b.dir, sb)
    for mod in _modules_to_compare(a, b):
        fa, fb = closure(mod, wa, ta), closure(mod, wb, tb)
        pa, pb = port_names(ta[wa[mod]], mod), port_names(tb[wb[mod]], mod)
        if pa != pb:
            # A clock only in one: a register stage inside the module (--cuts <layer>.products), which
            # neither this per-module comparison nor the tops' one covers.
            only = [f"{x} only in {d.dir.name}" for x, d in [(q, a) for q in pa if q not in pb]
                    + [(q, b) for q in pb if q not in pa]]
            r = {"result": "not proven", "seconds": 0.0,
                 "detail": f"its ports differ ({', '.join(only) or 'order'}): a register stage inside it in one "
                           "design is not compared"}
        elif [ta[f] for f in fa] == [tb[f] for f in fb]:
            # The same Verilog text, comments aside, down to every module it instantiates: equivalent by
            # construction, and no SAT run is needed (the flattened multipliers of a programmable layer do
            # not fold within minutes, identical or not).
            r = {"result": "equivalent", "seconds": 0.0,
                 "detail": f"identical text: {len(fa)} files, comments aside", "method": "identical text"}
        else:
            r = prove_with(Side([a.dir / f for f in fa], mod), Side([b.dir / f for f in fb], mod), timeout=timeout)
        rows.append({"module": mod, **r})
        log(f"  {mod:<40} {r['result']:<15} {r['seconds']:>7} s  {r['detail']}")
    statement = "every module below the top, for every input"
    if mode == "pipeline":
        from .pipeline import prove_tops
        with tempfile.TemporaryDirectory(prefix="encoder-pipeline-") as tmp:
            r = prove_tops(a, b, Path(tmp), timeout)
        rows.append({"module": a.top, "compared": "tops, latency accounted for", **r})
        log(f"  {a.top:<40} {r['result']:<15} {r['seconds']:>7} s  {r['detail']}")
        statement = ("every module below the top is combinational and proven for every input; the tops, each "
                     "box below them cut and joined by what it computes, give the same data outputs "
                     f"{abs(b.latency - a.latency)} cycles apart (latency {a.latency} against {b.latency}), from "
                     "the all-zero state with the data reset low, configuration writes kept out of a COMMIT's "
                     "copy window (shadow banks) or out of flight (direct banks); the weight buses (box inputs "
                     "only the configuration port reaches) compared in the join, or with shadow banks proven "
                     "equal the same cycles apart by their own lemma (the row's detail says which); not "
                     "compared: the configuration read-back")
    return {"mode": mode, "a": str(a.dir), "b": str(b.dir), "modules": rows, "statement": statement}


def _tied(const: Design, prog: Design, ir, timeout: float, log, prove=prove) -> dict:
    from ..rtl_gen.plan import register_image
    image = register_image(ir)
    sc, sp = rel_sources(const), rel_sources(prog)
    wc, tc = module_index(const.dir, sc)
    wp, tp = module_index(prog.dir, sp)
    rows = []
    inputs = {entry["name"]: entry.get("input", {}) for entry in const.manifest.get("layers", [])}
    with tempfile.TemporaryDirectory(prefix="encoder-tied-") as tmp:
        offset = 0
        before = None                       # (the previous layer's constant side, its cut proof)
        for layer in ir.mac_layers:
            n_w, n_b = layer.weight.size, layer.bias.size
            weights, bias = image[offset:offset + n_w], image[offset + n_w:offset + n_w + n_b]
            offset += n_w + n_b
            mod = f"{const.top}_{layer.name}"
            if mod not in wc or mod not in wp:
                raise UserError(f"{prog.dir}: no layer module {mod}")
            widths = _port_widths(tp[wp[mod]], mod)
            wrap = _tied_wrapper(const.top, layer, weights, bias, widths["x"], widths["y"])
            wfile = Path(tmp) / f"{mod}__tied.v"
            wfile.write_text(wrap)
            gold = Side([const.dir / f for f in closure(mod, wc, tc)], mod)
            gate = Side([prog.dir / f for f in closure(mod, wp, tp)] + [wfile], f"{mod}__tied")
            fields, note = _input_fields(inputs.get(layer.name, {}), widths["x"], before, Path(tmp), timeout)
            r = _tied_layer(gold, gate, Path(tmp), timeout, prove, fields)
            if fields and r.get("method") == "cut at the requantizers":
                r["detail"] += f"; its inputs' range: {note}"
            before = (gold, r) if "spans" in r else None
            r = {k: v for k, v in r.items() if k not in ("spans", "requantizers")}
            rows.append({"module": mod, "compared": "constant vs programmable with weights tied", **r})
            log(f"  {mod:<40} {r['result']:<15} {r['seconds']:>7} s  {r['detail']}")
        mod = f"{const.top}_input_path"
        if mod in wc and mod in wp:
            r = prove(Side([const.dir / f for f in closure(mod, wc, tc)], mod),
                      Side([prog.dir / f for f in closure(mod, wp, tp)], mod), timeout=timeout)
            rows.append({"module": mod, "compared": "as is", **r})
            log(f"  {mod:<40} {r['result']:<15} {r['seconds']:>7} s  {r['detail']}")
    statement = ("each MAC layer module of the constant design equals the programmable one with its weight "
                 "and bias ports tied to the IR's codes, for every input (a layer whose inputs' range is "
                 "narrower than their format: for every input in that range, which the previous layer's "
                 "requantizers are proven to keep to); the input path as is. Not in the proof: the "
                 "configuration bank and the tops (register stages, valid pipeline).")
    return {"mode": "tied", "a": str(const.dir), "b": str(prog.dir), "modules": rows, "statement": statement}


def _input_fields(info: dict, x_bits: int, before, tmp: Path, timeout: float) -> tuple[tuple, str]:
    """The layer's input fields with the range the manifest gives them, when narrower than their format
    and the previous layer's requantizers are proven to keep to it (over the accumulator ranges its
    cut proof found); else ()."""
    if not info or before is None or "range" not in info:
        return (), ""
    bits, signed, (lo, hi) = int(info["bits"]), bool(info.get("signed")), info["range"]
    if (lo, hi) == reading_range(bits, signed) or x_bits % bits:
        return (), ""
    gold, cut = before
    work = tmp / f"codes_{gold.top}"
    work.mkdir(exist_ok=True)
    d = codes_within(gold, cut, (lo, hi), work, timeout)
    if d["result"] != "equivalent":
        return (), ""
    return tuple(("x", i * bits, bits, lo, hi) for i in range(x_bits // bits)), d["detail"]


def _tied_layer(gold: Side, gate: Side, tmp: Path, timeout: float, prove=prove, fields: tuple = ()) -> dict:
    """One layer, constant against tied: cut at its requantizers first (encoder.verify.cutpoint); what
    that leaves open goes to ``prove`` as a whole module, in the time left."""
    t0 = time.monotonic()
    cut_dir = tmp / f"cut_{gold.top}"
    cut_dir.mkdir(exist_ok=True)
    try:
        cut = prove_cut(gold, gate, cut_dir, timeout, gate_prefix="u.", fields=fields)
    except UserError as e:
        cut = {"result": "not proven", "detail": str(e)}
    if cut["result"] == "equivalent":
        return {**cut, "method": "cut at the requantizers"}
    left = timeout - (time.monotonic() - t0)
    r = prove(gold, gate, timeout=left) if left > 1 else {"result": "timeout", "detail": f"no answer in {timeout:g} s"}
    return {**r, "seconds": round(time.monotonic() - t0, 1), "detail": f"cut: {cut['detail']}; whole: {r['detail']}"}


def _against_netlist(a: Design, sdir: Path, timeout: float, log, prove=prove) -> dict:
    from ..verif import gates
    from . import netlist
    from .coarse import netlist_prover
    from .replay import replay
    s = gates.load_synth(sdir, a)
    lib = gates.library(s["liberty"]["name"])
    with tempfile.TemporaryDirectory(prefix="encoder-netlist-") as tmp:
        liberty = Path(tmp) / "cells.lib"
        liberty.write_text(lib.text())
        t0 = time.monotonic()
        # One replay serves every module: the design's coarse synthesis costs about one module's proof.
        replayed = replay(a.dir, Path(tmp), max(timeout, REPLAY_MIN_SECONDS))
        log(f"  encoder synth's session replayed for the intermediate designs: "
            f"{f'{len(replayed.modules)} modules' if replayed else 'no answer'} in {time.monotonic() - t0:.1f} s")
        rows = netlist.compare(Path(s["netlist"]).read_text(), a.top, a.dir, rel_sources(a), liberty, Path(tmp),
                               timeout, log, prover=netlist_prover(Path(tmp), direct=prove, replayed=replayed))
    for r in rows:
        r["compared"] = f"RTL vs {lib.name} netlist, submodules cut"
    return {"mode": "netlist", "a": str(a.dir), "b": str(sdir), "modules": rows,
            "statement": "every module of the netlist against the RTL module it came from, its submodule "
                         "instances cut (their inputs compared, their outputs shared), through the module as "
                         "encoder synth's own yosys session builds it before mapping (replayed; its multi-operand "
                         "adders as the same full-adder trees) where that proves it (the RTL against it "
                         "algebraically, cut at its adders' words and, in the top, at its registers; it against "
                         "the netlist by SAT sweeping), else directly; the top, with its registers and the "
                         "flattened input path, from the all-zero state"}
