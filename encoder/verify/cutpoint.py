"""Two layer modules proven equal with a cut at every requantizer (constant against programmable, tied).

The constant-weight layer sums shift-and-add slices of its inputs in one order; the programmable one,
its weights tied to the same codes, sums generic multipliers' products in another, into an
accumulator sized for any weights its formats allow (the constant one is sized for its own weights:
16 bits against 18 on econt_8x8's conv layer). Both requantize with the same primitive. As one miter
this is beyond ABC's SAT sweeping (no shared points), and beyond algebraic rewriting (a requantizer's
comparisons and clamp have huge polynomials). Cut at the requantizers, it splits into parts each
engine can do:

1. Every ``enc_requant`` instance of both sides is cut (``Side.cut_modules``): its ``acc`` input
   becomes an output of the layer, its ``y`` output a free input that the two sides share (the same
   instance path; the tied wrapper's own instance name is stripped).
2. The layer's outputs (functions of those free inputs) and each accumulator pair are compared *as
   integers*, though the accumulators' widths differ: each word, read as its requantizer reads it
   (``IN_SIGNED``), as an exact integer polynomial over the input bits, equal on both sides. That
   polynomial comes from interval reasoning on the word-level netlist (encoder.verify.linear: each
   adder's sum exact where its range fits, which sees no wrap that the layer's inputs cannot
   reach). Where that cannot express a word, from bit-level algebraic rewriting: a word's
   polynomial is unique modulo 2^w; read with its coefficients in [-2^(w-1), 2^(w-1)) (or
   [0, 2^w)) it is an integer polynomial Q. If Q's range over the input bits lies inside what both
   words can hold and each side's word is congruent to Q modulo its width, both hold Q(x) for every
   input x. Both sides' Q are tried.
3. Each pair of requantizer parameter sets is proven equal by ABC on the narrower accumulator: the
   wider one fed its extension (by the narrower's signedness), which is exact on every value both can
   hold, and so on every value the layer gives them (step 2).

Steps 1-3 together prove the layers equal for every input. When they do not (a cut pair that
differs need not make the layers differ: a requantizer may clamp both values alike), the caller
falls back to a proof of the whole module.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

from .algebra import MAX_TERMS, OutOfTime, counterexample, difference, polynomial, side_aig
from .linear import Unknown, Words, bounds, json_param, reading_range, signed_residue, within
from .prove import Side, prove

REQUANT = "enc_requant"
ACC_TERMS = 400_000


def _base(name: str, mod: dict) -> str:
    hdl = mod.get("attributes", {}).get("hdlname")
    return (hdl or name).lstrip("\\").split("\\")[-1]


def cut_instances(hier: Path, top: str, kind: str = REQUANT) -> dict[str, dict]:
    """{instance path: {"params", "ports": {port: (direction, width)}}} of every instance of ``kind`` below
    ``top``, in the hierarchy yosys wrote before flattening (``<name>.hier.json``)."""
    mods = json.loads(hier.read_text())["modules"]
    found: dict[str, dict] = {}

    def walk(mod_name: str, prefix: str):
        for cname, cell in mods[mod_name]["cells"].items():
            child = cell["type"]
            if child not in mods:
                continue
            path = prefix + cname.lstrip("\\")
            if _base(child, mods[child]) == kind:
                m = mods[child]
                found[path] = {"params": {k: json_param(v) for k, v in m.get("parameter_default_values", {}).items()},
                               "ports": {p: (d["direction"], len(d["bits"])) for p, d in m["ports"].items()}}
            else:
                walk(child, path + ".")
    walk(top, "")
    return found


def _strip(aig, prefix: str):
    aig.outputs = {_unprefix(n, prefix): b for n, b in aig.outputs.items()}
    aig.inputs = {v: (_unprefix(n, prefix), k) for v, (n, k) in aig.inputs.items()}
    return aig


def symmetric(poly: dict[frozenset, int], bits: int) -> dict[frozenset, int]:
    """The polynomial's coefficients (mod 2^bits) read in [-2^(bits-1), 2^(bits-1))."""
    return {m: signed_residue(c, bits) for m, c in poly.items()}


def same_integer(pa: dict, wa: int, sa: bool, pb: dict, wb: int, sb: bool, fields: tuple = ()) -> dict:
    """Do words A (``wa`` bits, signed ``sa``) and B, with polynomials ``pa`` (mod 2^wa) and ``pb``, hold the
    same integer for every input? {"result": "equal" | "differ" | "undecided", "range", "counterexample"}."""
    lo_a, hi_a = reading_range(wa, sa)
    lo_b, hi_b = reading_range(wb, sb)
    unsigned = [{m: c % (1 << w) for m, c in p.items()} for p, w in ((pb, wb), (pa, wa))]
    for q in (symmetric(pb, wb), symmetric(pa, wa), *unsigned):
        lo, hi = bounds(q, fields)
        if not (max(lo_a, lo_b) <= lo and hi <= min(hi_a, hi_b)):
            continue
        # Q(x) fits both: a word congruent to Q holds exactly Q(x); one that is not differs from it somewhere.
        da, db = difference(pa, q, 1 << wa), difference(pb, q, 1 << wb)
        if not da and not db:
            return {"result": "equal", "range": [lo, hi]}
        if bool(da) != bool(db):
            cex = counterexample(da or db)
            if within(cex, fields):          # else the words may still agree wherever the fields can be
                return {"result": "differ", "range": [lo, hi], "counterexample": cex}
    return {"result": "undecided"}


def _held(out: str, src: str, sign: str, bits: int, lo: int, hi: int) -> str:
    """Verilog lines assigning ``out`` the ``bits``-wide ``src`` (its top bit ``sign``, or 1'b0 when read
    unsigned) held in [lo, hi]: a value outside becomes the nearer end."""
    lo_, hi_ = (f"-{bits + 1}'sd{-v}" if v < 0 else f"{bits + 1}'sd{v}" for v in (lo, hi))
    return (f"    wire signed [{bits}:0] {out}_v = {{{sign}, {src}}};\n"
            f"    wire signed [{bits}:0] {out}_h = {out}_v < {lo_} ? {lo_} : {out}_v > {hi_} ? {hi_} : {out}_v;\n"
            f"    assign {out} = {out}_h[{bits - 1}:0];\n")


def _wrapper(params: dict[str, int], ports: dict, bits: int, signed: bool, lo: int, hi: int,
             code_range: tuple[int, int] | None = None) -> str:
    """``requant_cut``: the requantizer with these parameters fed a ``bits``-wide accumulator held in
    [lo, hi] (a value outside is replaced by the nearer end, the same on both sides, so equal outputs
    for every input mean equal outputs over the range), extended to its own width by the narrower
    side's signedness. With ``code_range``, ``y`` is given held in that range too (proven equal to the
    plain ``y``, that says the code never leaves it)."""
    ext = params["IN_BITS"] - bits
    acc = "acc" if ext == 0 else (f"{{{{{ext}{{acc[{bits - 1}]}}}}, acc}}" if signed else f"{{{ext}'d0, acc}}")
    plist = ",\n        ".join(f".{k}({v})" for k, v in sorted(params.items()))
    out = ports["y"][1]
    code = "y" if code_range is None else "u_y"
    text = (f"module requant_cut (\n    input  wire [{bits - 1}:0] acc_in,\n    output wire [{out - 1}:0] y\n);\n"
            f"    wire [{bits - 1}:0] acc;\n"
            + _held("acc", "acc_in", f"acc_in[{bits - 1}]" if signed else "1'b0", bits, lo, hi)
            + (f"    wire [{out - 1}:0] u_y;\n" if code_range is not None else "")
            + f"    {REQUANT} #(\n        {plist}\n    ) u (.acc({acc}), .y({code}));\n")
    if code_range is not None:
        text += _held("y", "u_y", f"u_y[{out - 1}]" if params.get("OUT_SIGNED") else "1'b0", out, *code_range)
    return text + "endmodule\n"


def _load(side: Side, name: str, prefix: str, tmp: Path, timeout: float) -> tuple[dict, dict] | None:
    """(word-level module with the wrapper's ``prefix`` stripped from its port names, cut instances), or
    None when yosys ran out of ``timeout``."""
    from .prove import _read, run_script
    # Written before any opt: opt_expr -fine splits an adder with constant low bits into a narrower one
    # beside the bits it passes, and a run of bits below the top of its word must have its own range.
    lines = _read(dataclasses.replace(side, cut_modules=[REQUANT]), name) + [
        f"design -load {name}", f"hierarchy -top {name}", f"write_json {name}.words.json"]
    if not run_script(lines, f"{name}.words", tmp, timeout, f"read {side.top}"):
        return None
    words = json.loads((tmp / f"{name}.words.json").read_text())["modules"][name]
    words["ports"] = {_unprefix(p, prefix): d for p, d in words["ports"].items()}
    found = cut_instances(tmp / f"{name}.hier.json", side.top)
    return words, {_unprefix(p, prefix): c for p, c in found.items()}


def _unprefix(name: str, prefix: str) -> str:
    return name[len(prefix):] if prefix and name.startswith(prefix) else name


def prove_cut(gold: Side, gate: Side, tmp: Path, timeout: float, gate_prefix: str = "", fields: tuple = ()) -> dict:
    """{"result": "equivalent" | "not proven" | "timeout", "seconds", "detail", "cuts"} for two layer
    modules cut at their requantizers (module doc). Never "not equivalent": a cut pair that differs
    need not make the layers differ. ``fields``: input words assumed to stay in their ranges
    (encoder.verify.linear.bounds); the caller proves they do."""
    t0 = time.monotonic()
    deadline = t0 + timeout

    def done(result: str, detail: str, **extra) -> dict:
        return {"result": result, "seconds": round(time.monotonic() - t0, 1), "detail": detail, **extra}
    loaded = []
    for name, side, prefix in (("cut_gold", gold, ""), ("cut_gate", gate, gate_prefix)):
        r = _load(side, name, prefix, tmp, deadline - time.monotonic())
        if r is None:
            return done("timeout", f"yosys did not read the layers in {timeout:g} s")
        loaded.append(r)
    (wda, ca), (wdb, cb) = loaded
    if not ca or set(ca) != set(cb):
        only = sorted(set(ca) ^ set(cb))[:3]
        return done("not proven", f"the requantizers differ ({', '.join(only) or 'none found'})")
    for path in ca:
        if any(set(c[path]["ports"]) != {"acc", "y"} for c in (ca, cb)) or \
                ca[path]["ports"]["y"] != cb[path]["ports"]["y"]:
            return done("not proven", f"{path}: the requantizers' ports differ")
    outs = {n: len(d["bits"]) for n, d in wda["ports"].items() if d["direction"] == "output"}
    outs_b = {n: len(d["bits"]) for n, d in wdb["ports"].items() if d["direction"] == "output"}
    if set(outs) != set(outs_b) or any(outs[n] != outs_b[n] for n in outs if not n.endswith(".acc")):
        return done("not proven", "the two layers' output ports differ")
    # Each output word: the layer's own (unsigned) and each accumulator (signed as its requantizer reads it).
    reading = {n: (bool(ca[n[:-4]]["params"]["IN_SIGNED"]), bool(cb[n[:-4]]["params"]["IN_SIGNED"]))
               if n.endswith(".acc") else (False, False) for n in outs}
    width = {n: (len(wda["ports"][n]["bits"]), len(wdb["ports"][n]["bits"])) for n in outs}
    how: dict[str, int] = {}
    left_open = []
    words = (Words(wda, fields), Words(wdb, fields))
    span: dict[str, tuple[int, int]] = {}             # each accumulator's range
    for n in sorted(outs):
        try:
            fa, fb = (w.exact(wd["ports"][n]["bits"], reading[n][k]) for k, (w, wd) in enumerate(zip(words, (wda, wdb))))
        except Unknown:
            left_open.append(n)
            continue
        diff = {m: fa.get(m, 0) - fb.get(m, 0) for m in set(fa) | set(fb) if fa.get(m, 0) != fb.get(m, 0)}
        if diff:
            cex = counterexample(diff)
            where = "" if within(cex, fields) else " (an input outside the fields' ranges)"
            return done("not proven", f"{n}: the two sides hold different integers at {cex}{where}")
        how["interval reasoning on the words"] = how.get("interval reasoning on the words", 0) + 1
        span[n] = bounds(fa, fields)
    if left_open:
        # Bit level for the words the word-level reading could not express.
        try:
            aigs = []
            for name, side, prefix in (("cut_gold", gold, ""), ("cut_gate", gate, gate_prefix)):
                aig = side_aig(dataclasses.replace(side, cut_modules=[REQUANT]), name, tmp,
                               deadline - time.monotonic())
                if aig is None:
                    return done("timeout", f"no AIG in {timeout:g} s")
                aigs.append(_strip(aig, prefix))
            for n in left_open:
                terms = ACC_TERMS if n.endswith(".acc") else None
                polys = [polynomial(aigs[0], aigs[0].outputs[n], deadline, terms or MAX_TERMS)]
                polys.append(polynomial(aigs[1], aigs[1].outputs[n], deadline, terms or MAX_TERMS)
                             if polys[0] is not None else None)
                if None in polys:
                    return done("not proven", f"{n}: past the monomial limit (bit-level polynomials)")
                r = same_integer(polys[0], width[n][0], reading[n][0], polys[1], width[n][1], reading[n][1], fields)
                if r["result"] != "equal":
                    why = (f"hold different integers at {r['counterexample']}" if r["result"] == "differ"
                           else f"are not shown to hold the same integer ({width[n][0]} and {width[n][1]} bits)")
                    return done("not proven", f"{n}: the two sides {why}")
                how["algebraic rewriting"] = how.get("algebraic rewriting", 0) + 1
                span[n] = tuple(r["range"])
        except OutOfTime:
            return done("timeout", f"no answer in {timeout:g} s (algebraic rewriting)")
    # Each pair of requantizer parameter sets, on the narrower accumulator, over the values the
    # accumulators take (a constant layer's requantizer may leave out a clamp its range never reaches).
    narrow: dict[tuple, list[str]] = {}
    for path in sorted(ca):
        (wa, wb), (sa, sb) = width[f"{path}.acc"], reading[f"{path}.acc"]
        bits, signed = (wa, sa) if wa <= wb else (wb, sb)
        key = (tuple(sorted(ca[path]["params"].items())), tuple(sorted(cb[path]["params"].items())), bits, signed)
        narrow.setdefault(key, []).append(path)
    for k, ((pa_, pb_, bits, signed), paths) in enumerate(narrow.items()):
        files = []
        for label, params, side in (("gold", pa_, gold), ("gate", pb_, gate)):
            f = tmp / f"requant_cut_{k}_{label}.v"
            lo = min(span[f"{p}.acc"][0] for p in paths)
            hi = max(span[f"{p}.acc"][1] for p in paths)
            f.write_text(_wrapper(dict(params), ca[paths[0]]["ports"], bits, signed, lo, hi))
            files.append(Side(list(side.files) + [f], "requant_cut"))
        left = deadline - time.monotonic()
        r = prove(files[0], files[1], timeout=left) if left > 1 else {"result": "timeout"}
        if r["result"] != "equivalent":
            result = "timeout" if r["result"] == "timeout" else "not proven"
            return done(result, f"requantizers of {paths[0]} ({bits}-bit accumulator): {r['result']}"
                                f"{', ' + r['detail'] if r.get('detail') else ''}")
    by = ", ".join(f"{n} by {h}" for h, n in sorted(how.items()))
    assumed = f", inputs in [{fields[0][3]}, {fields[0][4]}]" if fields else ""
    return done("equivalent", f"cut at {len(ca)} requantizers: {len(outs)} words (the layer's outputs and each "
                              f"accumulator) hold the same integers on both sides ({by}{assumed}); {len(narrow)} "
                              f"requantizer parameter pair(s) proven (ABC iprove)", cuts=len(ca), words=how,
                spans={p: span[f"{p}.acc"] for p in ca}, requantizers={p: ca[p]["params"] for p in ca})


def codes_within(side: Side, result: dict, code_range: tuple[int, int], tmp: Path, timeout: float) -> dict:
    """Does every requantizer of a layer proven by ``prove_cut`` (its ``result``) give codes in
    ``code_range``, over the accumulator ranges the proof found? One ABC proof per parameter set: the
    requantizer's code against the same code held in the range."""
    groups: dict[tuple, list[int]] = {}
    for path, params in result["requantizers"].items():
        lo, hi = result["spans"][path]
        g = groups.setdefault(tuple(sorted(params.items())), [lo, hi])
        g[0], g[1] = min(g[0], lo), max(g[1], hi)
    t0 = time.monotonic()
    for k, (params, (lo, hi)) in enumerate(groups.items()):
        params = dict(params)
        bits, signed = params["IN_BITS"], bool(params["IN_SIGNED"])
        ports = {"y": ("output", params["CODE_BITS"])}
        sides = []
        for label, rng in (("plain", None), ("held", code_range)):
            f = tmp / f"codes_{k}_{label}.v"
            f.write_text(_wrapper(params, ports, bits, signed, lo, hi, rng))
            sides.append(Side(list(side.files) + [f], "requant_cut"))
        left = timeout - (time.monotonic() - t0)
        r = prove(sides[0], sides[1], timeout=left) if left > 1 else {"result": "timeout", "detail": ""}
        if r["result"] != "equivalent":
            return {"result": r["result"], "detail": f"a requantizer's codes in {list(code_range)}: {r['detail']}"}
    return {"result": "equivalent", "detail": f"{len(groups)} requantizer parameter set(s) give codes in "
                                              f"{list(code_range)}"}
