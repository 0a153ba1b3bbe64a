"""Equivalence of arithmetic circuits by algebraic rewriting, where SAT sweeping finds nothing to merge.

A layer's products and adder trees, and the compressor trees synthesis maps them to, compute the
same sums in different orders; they share few internal points, and ABC's ``iprove`` runs out of
time on miters of some ten thousand gates. Algebraic rewriting does not look for shared points.
Each output word ``y`` of ``w`` bits is given its *signature* ``sum 2^i y_i`` (mod 2^w); then every
AND node of the side's AIG, from the outputs back to the inputs, is replaced by the product of its
fan-ins (``1 - x`` for a negated one), with ``x*x = x``. What is left is a polynomial in the input
bits. The multilinear polynomial of a function from bits to the integers mod 2^w is unique (Moebius
inversion works over any ring), so:

- two sides whose words give the same polynomials compute the same words for every input;
- a nonzero coefficient in the difference is a real difference: at the input with exactly the bits
  of a difference monomial of least degree set, the words differ by that coefficient.

Adders rewritten this way cancel their carries as they are met, provided the adder's generate and
propagate signals are known never to be 1 together (``Disjoint``) and the adders are ripple-carry
(``RIPPLE_TECHMAP``; yosys' own map builds Brent-Kung carry trees, whose products of propagate
signals expand into far more monomials before they cancel). A word whose polynomial grows past
``max_terms`` monomials is left undecided. The method is the one of Ciesielski et al., "Understanding
algebraic rewriting for arithmetic circuit verification" (IEEE TCAD 39(6), 2020), on yosys' AIG.

Where it cannot help: a word whose function has a huge polynomial, such as a comparison, a
saturation, or a sum wrapped modulo a width narrower than its value (a neuron module's adder tree,
with its input ports free beyond the ranges the layer module gives them).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UserError

MAX_TERMS = 50_000
WORD_SECONDS = 20.0
ORDERS = ("index", "level", "fewest")


@dataclass
class Aig:
    inputs: dict[int, tuple[str, int]]        # variable -> (port, bit)
    ands: dict[int, tuple[int, int]]          # variable -> (fan-in literal, fan-in literal)
    outputs: dict[str, dict[int, int]]        # port -> bit -> literal
    implied: dict[int, set[int]] | None = field(default=None, repr=False)   # implied_literals, once


class Blowup(Exception):
    """A word's polynomial grew past the monomial limit."""


class OutOfTime(Exception):
    """The deadline passed while a word was being rewritten."""


def from_json(path: Path, top: str) -> Aig:
    """The AIG of module ``top`` in a yosys ``write_json`` file holding only $_AND_ and $_NOT_ cells.
    (``write_aiger -map`` of yosys 0.23 leaves out output bits driven by a net another output bit
    has, or by a constant: read here from the ports themselves.)"""
    import json
    mod = json.loads(path.read_text())["modules"][top]
    driver: dict[int, tuple[str, list]] = {}
    for name, cell in mod["cells"].items():
        kind = cell["type"]
        if kind not in ("$_AND_", "$_NOT_"):
            raise UserError(f"{top}: cell {name} of type {kind} is not an AIG node")
        c = cell["connections"]
        driver[c["Y"][0]] = (kind, [c["A"][0]] + ([c["B"][0]] if kind == "$_AND_" else []))
    inputs, ands, lits = {}, {}, {}
    var = 0
    for pname, port in mod["ports"].items():
        if port["direction"] == "input":
            for k, net in enumerate(port["bits"]):
                if isinstance(net, int):
                    var += 1
                    inputs[var] = (pname, k)
                    lits[net] = 2 * var

    def constant_or_known(net) -> int | None:
        if net in ("0", "1"):
            return int(net)
        if not isinstance(net, int):
            raise UserError(f"{top}: an undefined bit ({net}) reaches an output")
        return lits.get(net)

    def literal(net) -> int:
        nonlocal var
        stack, open_ = [net], set()
        while stack:
            n = stack[-1]
            if constant_or_known(n) is not None:
                stack.pop()
                continue
            if n not in driver:
                raise UserError(f"{top}: net {n} has no driver")
            kind, ins = driver[n]
            todo = [i for i in ins if constant_or_known(i) is None]
            if todo:
                if n in open_:
                    raise UserError(f"{top}: net {n} is on a combinational loop")
                open_.add(n)
                stack += todo
                continue
            stack.pop()
            fan = [constant_or_known(i) for i in ins]
            if kind == "$_NOT_":
                lits[n] = fan[0] ^ 1
            else:
                var += 1
                ands[var] = (fan[0], fan[1])
                lits[n] = 2 * var
        return constant_or_known(net)
    outputs: dict[str, dict[int, int]] = {}
    for pname, port in mod["ports"].items():
        if port["direction"] == "output":
            outputs[pname] = {k: literal(net) for k, net in enumerate(port["bits"])}
    return Aig(inputs, ands, outputs)


def _literal(lit: int, mod: int) -> list[tuple[int, int]]:
    """The polynomial of one literal as [(monomial mask, coefficient)]."""
    var = lit >> 1
    if var == 0:
        return [(0, 1)] if lit & 1 else []
    if lit & 1:
        return [(0, 1), (1 << var, mod - 1)]
    return [(1 << var, 1)]


def implied_literals(aig: Aig, depth: int = 16) -> dict[int, set[int]]:
    """Per variable, literals it implies: itself, its fan-ins, and theirs through un-negated AND fan-ins
    (at most ``depth``)."""
    implied: dict[int, set[int]] = {var: {2 * var} for var in aig.inputs}
    for var in sorted(aig.ands):
        lits = {2 * var}
        for lit in aig.ands[var]:
            lits.add(lit)
            if not lit & 1 and (lit >> 1) in aig.ands and len(lits) < depth:
                lits |= implied[lit >> 1]
        implied[var] = lits
    return implied


class Disjoint:
    """Pairs of variables whose AND is identically 0: one implies some literal, the other its complement
    (``implied_literals``). A monomial holding both is 0 as a function and is dropped as soon as it
    appears: without that, the ``g*p`` of every adder bit (generate and propagate of the same two bits)
    multiplies out with the whole carry chain below it before the two are rewritten into the bits that
    cancel it. Variables here are a word's compact numbering (``word_polynomial``)."""

    def __init__(self, implied: dict[int, set[int]], cid: dict[int, int]):
        def lit(x: int) -> int:
            return 2 * cid[x >> 1] + (x & 1)
        self._implied = {c: {lit(x) for x in implied[v] if (x >> 1) in cid} for v, c in cid.items() if v}
        self._by_lit: dict[int, int] = {}
        for c, lits in self._implied.items():
            for x in lits:
                self._by_lit[x] = self._by_lit.get(x, 0) | (1 << c)
        self._conflicts: dict[int, int] = {}

    def conflicts(self, var: int) -> int:
        """Mask of the variables that are never 1 together with ``var``."""
        c = self._conflicts.get(var)
        if c is None:
            c = 0
            for x in self._implied.get(var, ()):
                c |= self._by_lit.get(x ^ 1, 0)
            self._conflicts[var] = c
        return c


def _bits(mask: int):
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


def word_polynomial(aig: Aig, bits: dict[int, int], max_terms: int = MAX_TERMS,
                    deadline: float | None = None, order: str = "index") -> dict[frozenset, int]:
    """The polynomial of ``sum 2^i bit_i`` mod 2^len over the input bits: {frozenset((port, bit)): coefficient}.
    Raises Blowup past ``max_terms`` monomials, OutOfTime past the ``deadline`` (time.monotonic()).

    A node is rewritten once no node left to rewrite uses it, so it never comes back; of those ready,
    ``order`` picks: "index" the last in the AIG's topological order, "level" the deepest, "fewest" the
    one in the fewest monomials. Which keeps the polynomial small depends on the circuit, so
    ``compare_words`` tries them in turn. The word's cone is renumbered compactly first (0: the
    constant, then its inputs, then its AND nodes in order), so that monomials are small integers."""
    width = max(bits) + 1
    mod = 1 << width
    if aig.implied is None:
        aig.implied = implied_literals(aig)
    cone, leaves, todo = set(), set(), [lit >> 1 for lit in bits.values()]
    while todo:
        v = todo.pop()
        if v in aig.ands:
            if v not in cone:
                cone.add(v)
                todo += [lit >> 1 for lit in aig.ands[v]]
        elif v:
            leaves.add(v)
    cid = {0: 0}
    for v in sorted(leaves) + sorted(cone):
        cid[v] = len(cid)
    names = {cid[v]: aig.inputs[v] for v in leaves}

    def lit(x: int) -> int:
        return 2 * cid[x >> 1] + (x & 1)
    ands = {cid[v]: (lit(aig.ands[v][0]), lit(aig.ands[v][1])) for v in cone}
    disjoint = Disjoint(aig.implied, cid)
    poly: dict[int, int] = {}
    occ: dict[int, set[int]] = {v: set() for v in ands}

    first = len(leaves) + 1                         # the first AND node's number: occ holds those only

    def add(mask: int, coef: int):
        old = poly.get(mask, 0)
        c = (old + coef) % mod
        if c:
            poly[mask] = c
            if not old:
                for v in _bits(mask >> first):
                    occ[v + first].add(mask)
        elif old:
            del poly[mask]
            for v in _bits(mask >> first):
                occ[v + first].discard(mask)

    for i, x in bits.items():
        for mask, coef in _literal(lit(x), mod):
            add(mask, coef * (1 << i))
    users = {v: 0 for v in ands}
    for r0, r1 in ands.values():
        for x in (r0, r1):
            if (x >> 1) in users:
                users[x >> 1] += 1
    ready = {v for v, n in users.items() if n == 0}
    level: dict[int, int] = {}
    if order == "level":
        for v in sorted(ands):
            level[v] = 1 + max(level.get(x >> 1, 0) for x in ands[v])
    while ready:
        if order == "fewest":
            var = min(ready, key=lambda v: (len(occ[v]), -v))
        elif order == "index":
            var = max(ready)
        else:
            var = max(ready, key=lambda v: (level[v], v))
        ready.discard(var)
        r0, r1 = ands[var]
        for x in (r0, r1):
            f = x >> 1
            if f in users:
                users[f] -= 1
                if users[f] == 0:
                    ready.add(f)
        terms = [(m, poly[m]) for m in occ.pop(var)]
        if not terms:
            continue
        if deadline is not None and time.monotonic() > deadline:
            raise OutOfTime
        product: dict[int, int] = {}
        for m0, c0 in _literal(r0, mod):
            for m1, c1 in _literal(r1, mod):
                product[m0 | m1] = (product.get(m0 | m1, 0) + c0 * c1) % mod
        conf0, conf1 = disjoint.conflicts(r0 >> 1), disjoint.conflicts(r1 >> 1)
        fanins = [(pm, pc, (conf0 if pm >> (r0 >> 1) & 1 else 0) | (conf1 if pm >> (r1 >> 1) & 1 else 0))
                  for pm, pc in product.items() if pc]
        bit = 1 << var
        for mask, coef in terms:
            del poly[mask]
            for v in _bits((mask & ~bit) >> first):
                occ[v + first].discard(mask)
        for mask, coef in terms:
            base = mask & ~bit
            for pm, pc, conf in fanins:
                m = base | pm
                if not m & conf:
                    add(m, coef * pc)
        if len(poly) > max_terms:
            raise Blowup(f"{len(poly)} terms")
    return {frozenset(names[v] for v in _bits(mask)): coef for mask, coef in poly.items()}


# Ripple-carry adders and shift-and-add multipliers for yosys' arithmetic cells (arith_techmap.v).
# yosys' own techmap builds Brent-Kung carry trees, whose carries are products of many propagate
# signals: rewritten from the outputs back, they expand into exponentially many monomials before
# they cancel. In a ripple adder each carry cancels against the sum bit above it. The cells' meaning
# is fixed; only how the AIG spells it changes.
RIPPLE_TECHMAP = (Path(__file__).with_name("arith_techmap.v")).read_text()


def difference(p: dict[frozenset, int], q: dict[frozenset, int], mod: int) -> dict[frozenset, int]:
    out = {}
    for mono in set(p) | set(q):
        c = (p.get(mono, 0) - q.get(mono, 0)) % mod
        if c:
            out[mono] = c
    return out


def counterexample(diff: dict[frozenset, int]) -> dict[str, int]:
    """Port values on which two words with polynomials differing by ``diff`` differ: the bits of a
    difference monomial of least degree set, every other bit clear (its proper subsets have no
    coefficient, so the words differ there by that monomial's)."""
    mono = min(diff, key=lambda m: (len(m), sorted(m)))
    values: dict[str, int] = {}
    for port, bit in mono:
        values[port] = values.get(port, 0) | (1 << bit)
    return values


def evaluate(aig: Aig, values: dict[str, int]) -> dict[str, int]:
    """Every output word of ``aig`` at the given port values (ports not given are 0)."""
    val = {0: 0}
    for v, (port, bit) in aig.inputs.items():
        val[v] = values.get(port, 0) >> bit & 1
    for v in sorted(aig.ands):
        a, b = aig.ands[v]
        val[v] = (val[a >> 1] ^ (a & 1)) & (val[b >> 1] ^ (b & 1))
    return {name: sum((val[lit >> 1] ^ (lit & 1)) << k for k, lit in bits.items())
            for name, bits in aig.outputs.items()}


def polynomial(aig: Aig, bits: dict[int, int], deadline: float, max_terms: int = MAX_TERMS) -> dict | None:
    """The word's polynomial by the first order of ``ORDERS`` that keeps it under ``max_terms``; None when
    none does. Raises OutOfTime past the ``deadline``."""
    for order in ORDERS:
        try:
            return word_polynomial(aig, bits, max_terms, deadline, order)
        except Blowup:
            pass
    return None


def compare_words(gold: Aig, gate: Aig, deadline: float, max_terms: int = MAX_TERMS,
                  word_seconds: float = WORD_SECONDS) -> dict:
    """{"result": "equivalent" | "not equivalent" | "not proven" | "timeout", "detail", "words"}: every
    output word of the two AIGs by its polynomial, each order of ``ORDERS`` tried in turn, for at most
    ``word_seconds`` a word (a comparison or a mux of shifts blows up in every order, slowly: it must not
    take the time of the adders after it). Where some words are left, "undecided" lists them."""
    if {n: sorted(b) for n, b in gold.outputs.items()} != {n: sorted(b) for n, b in gate.outputs.items()}:
        return {"result": "error", "detail": "the two sides' output ports differ", "words": 0}
    undecided = []
    names = sorted(gold.outputs)
    for k, name in enumerate(names):
        if time.monotonic() > deadline:
            left = undecided + names[k:]
            return {"result": "timeout", "words": len(names), "undecided": left,
                    "detail": f"algebraic rewriting: out of time with {len(left)} of {len(names)} words left"}
        word_deadline = min(deadline, time.monotonic() + word_seconds)
        try:
            polys = [polynomial(gold, gold.outputs[name], word_deadline, max_terms)]
            polys.append(polynomial(gate, gate.outputs[name], word_deadline, max_terms)
                         if polys[0] is not None else None)
        except OutOfTime:
            polys = [None]
        if None in polys:
            undecided.append(name)
            continue
        diff = difference(polys[0], polys[1], 1 << len(gold.outputs[name]))
        if diff:
            values = counterexample(diff)
            shown = ", ".join(f"{p}={v}" for p, v in sorted(values.items())) or "all inputs 0"
            return {"result": "not equivalent", "words": len(gold.outputs), "counterexample": values,
                    "detail": f"algebraic rewriting: {name} differs at {shown}"}
    if undecided:
        return {"result": "not proven", "words": len(gold.outputs), "undecided": undecided,
                "detail": f"algebraic rewriting: {len(undecided)} of {len(gold.outputs)} words past "
                          f"{max_terms} monomials or {word_seconds:g} s ({', '.join(undecided[:3])})"}
    return {"result": "equivalent", "words": len(gold.outputs),
            "detail": f"combinational, algebraic rewriting of {len(gold.outputs)} output words"}


def side_aig(side, name: str, tmp: Path, timeout: float) -> Aig | None:
    """One side (encoder.verify.prove.Side) as an AIG with named ports and ripple-carry adders; None when
    yosys ran out of ``timeout``."""
    from .prove import _read, run_script
    out = tmp / f"{name}.json"
    ripple = tmp / "ripple_adders.v"
    ripple.write_text(RIPPLE_TECHMAP)
    lines = _read(side, name) + [f"design -load {name}", f"hierarchy -top {name}", "opt -fast -full",
                                 f"techmap -map {ripple}", "techmap", "opt -fast", "aigmap", "opt_merge",
                                 "opt_clean", f"write_json {out}"]
    if not run_script(lines, name, tmp, timeout, f"build the AIG of {side.top}"):
        return None
    return from_json(out, name)


def prove_algebraic(gold, gate, tmp: Path, timeout: float) -> dict:
    """One combinational pair of sides (encoder.verify.prove.Side), word by word; a result like prove's."""
    t0 = time.monotonic()
    aigs = []
    for name, side in (("alg_gold", gold), ("alg_gate", gate)):
        aig = side_aig(side, name, tmp, timeout - (time.monotonic() - t0))
        if aig is None:
            return {"result": "timeout", "seconds": round(time.monotonic() - t0, 1),
                    "detail": f"no AIG in {timeout:.0f} s"}
        aigs.append(aig)
    r = compare_words(aigs[0], aigs[1], t0 + timeout)
    if r["result"] == "not equivalent":
        # The polynomials say the words differ at this input: the AIGs themselves must agree.
        ea, eb = (evaluate(a, r["counterexample"]) for a in aigs)
        if ea == eb:
            raise UserError("algebraic rewriting found a difference the circuits do not show (a bug)")
    r["seconds"] = round(time.monotonic() - t0, 1)
    return r
