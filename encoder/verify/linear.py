"""Exact integer values of a combinational module's words, read off yosys' word-level netlist.

Algebraic rewriting (encoder.verify.algebra) works bit by bit, modulo each word's width. A generated
constant-weight layer sizes every adder by the range its operands take *in the layer*, so an adder
fed by a shared sum, whose port could hold more than the sum ever reaches, wraps for values that
never occur. Rewritten bit by bit, the wrap's dropped carry expands into monomials that cancel only
after the whole cone is rewritten: econt_8x8's dense neurons pass 400,000 monomials. Interval
reasoning on the words themselves does not see the wrap at all:

- every word gets an integer polynomial ``F`` over the module's input bits (monomials as in
  encoder.verify.algebra) with ``F(x) = the word's bits`` modulo 2^width for every input x: an adder
  ``A + B`` is ``F_A + F_B``, a complement ``-1 - F_A``, a product by a constant ``c * F_A``;
- an operand is read from the bits wired to it: constants, input bits, single bits of 1-bit logic
  (``~|x[0]``: a small exact polynomial), and runs of a word's bits ``Y[lo..hi]``, sign-extended or
  not. Its bits are those of ``T = floor(F_Y / 2^lo)`` (the low part ``F_Y mod 2^lo`` is a
  function of the few bits whose coefficients it depends on, expanded exactly). Reaching the top of
  the cell's width, where everything is modulo 2^width, the run reads as ``T``. Below it, it reads
  as ``T - k 2^n`` for the one ``k`` that brings ``T``'s range, bounded from its coefficients, into
  what n bits hold (unsigned, or signed when sign-extended): a complement ``~t`` zero-extended reads
  as ``2^n - 1 - t``. A range that fits no such window raises Unknown;
- a word read at the end (a requantizer's accumulator) is the same window of ``F``, its width as
  read (signed or not).

Ranges come from two sound bounds, the tighter kept: ``bounds`` on the polynomial, and interval
arithmetic on the words beside it (a bit of logic is [0, 1]). ``bounds`` splits the polynomial into
independent parts and evaluates each small nonlinear part at every assignment, so a bit of logic
that reaches a word as a polynomial (the exact bit of a floor, ``x mod 16 == 0``) is [0, 1] there
too. Input words known to stay in a range (``fields``: a layer fed codes that
never reach the top of their format) bound a term ``c x`` by ``c`` times that range; the result then
holds for those inputs only, and the caller proves that they are the only ones.

Anything else (a comparison, a mux, a single bit of a sum) raises Unknown: the caller falls back to
bit-level rewriting. Every step keeps ``F`` congruent to the bits, and a range check turns
congruence into equality, so an exact result is a proof.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

Form = dict  # frozenset((port, bit), ...) -> int

ONE: frozenset = frozenset()
ARITH = {"$add", "$sub", "$neg", "$pos", "$mul", "$not"}
BITWISE = {"$not", "$and", "$or", "$xor", "$xnor"}
REDUCE = {"$logic_not", "$reduce_or", "$reduce_bool", "$reduce_and", "$logic_and", "$logic_or"}
MAX_LOW_VARS = 14          # a low part over more bits than this is not expanded (2^14 points)
MAX_BIT_TERMS = 4096


class Unknown(Exception):
    """A word this reading cannot express exactly."""


def _add(f: Form, g: Form, k: int = 1) -> Form:
    out = dict(f)
    for m, c in g.items():
        v = out.get(m, 0) + k * c
        if v:
            out[m] = v
        else:
            out.pop(m, None)
    return out


def _mul(f: Form, g: Form) -> Form:
    out: Form = {}
    for m0, c0 in f.items():
        for m1, c1 in g.items():
            m = m0 | m1
            v = out.get(m, 0) + c0 * c1
            if v:
                out[m] = v
            else:
                out.pop(m)
    if len(out) > MAX_BIT_TERMS:
        raise Unknown("a bit's polynomial is too large")
    return out


def _low(f: Form, lo: int) -> Form:
    """The exact polynomial of ``f(x) mod 2^lo`` (a function of the bits of the monomials whose
    coefficients are not multiples of 2^lo), by Moebius inversion of its values."""
    mod = 1 << lo
    live = [(m, c % mod) for m, c in f.items() if c % mod]
    bits = sorted({b for m, _ in live for b in m})
    if len(bits) > MAX_LOW_VARS:
        raise Unknown(f"low part over {len(bits)} bits")
    idx = {b: i for i, b in enumerate(bits)}
    masks = [(sum(1 << idx[b] for b in m), c) for m, c in live]
    n = 1 << len(bits)
    vals = [sum(c for mk, c in masks if mk & s == mk) % mod for s in range(n)]
    for i in range(len(bits)):              # Moebius: values -> coefficients
        for s in range(n):
            if s >> i & 1:
                vals[s] -= vals[s ^ (1 << i)]
    return {frozenset(bits[i] for i in range(len(bits)) if s >> i & 1): v for s, v in enumerate(vals) if v}


Field = tuple  # (port, lsb, width, lowest value, highest value): an input word known to stay in a range


# Assignments a part of a polynomial may have for its range to be found by trying them all.
ENUMERATE = 1 << 14


def bounds(q: Form, fields: tuple[Field, ...] = ()) -> tuple[int, int]:
    """Lowest and highest value an integer polynomial can take over 0/1 inputs (each ``field``, an input
    word known to stay in [lo, hi], within its range), or a sound outer bound.

    The monomials fall into independent parts: two share a part when they share an input bit, or bits
    of one field. The parts' ranges add up to the whole's. A part that is not linear and has at most
    ``ENUMERATE`` assignments (a field: the values of its range) is evaluated at every one of them:
    exact. That is what bounds the bit ``x mod 16 == 0`` of an exact floor,
    ``(1 - x0)(1 - x1)(1 - x2)(1 - x3)``, by [0, 1], where adding its monomials one by one gives [-7, 8].
    Other parts get :func:`_outer_bounds`."""
    if all(len(m) < 2 for m in q):
        return _outer_bounds(q, fields)                 # linear: no part to try value by value
    field_of = {(port, lsb + i): k for k, (port, lsb, width, _, _) in enumerate(fields) for i in range(width)}
    parent: dict = {}

    def key(b):
        return ("f", field_of[b]) if b in field_of else ("b", b)

    def find(v):
        while parent.setdefault(v, v) != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v
    # The parts of the monomials of degree 2 or more; a linear monomial joins the part of its bit or field.
    for m in q:
        if len(m) > 1:
            keys = [key(b) for b in m]
            for k in keys[1:]:
                ra, rb = find(keys[0]), find(k)
                if ra != rb:
                    parent[ra] = rb
    parts: dict = {}
    linear: dict = {}
    for m, c in q.items():
        if not m:
            continue
        k = key(next(iter(m)))
        if k in parent:
            parts.setdefault(find(k), {})[m] = c
        else:
            linear[m] = c
    lo = hi = 0
    rest = {**linear, ONE: q[ONE]} if ONE in q else linear    # left to _outer_bounds, additive over them
    for part in parts.values():
        found = _enumerated(part, fields, field_of)
        if found is None:
            rest.update(part)
        else:
            lo, hi = lo + found[0], hi + found[1]
    rlo, rhi = _outer_bounds(rest, fields)
    return lo + rlo, hi + rhi


def _enumerated(part: Form, fields: tuple[Field, ...], field_of: dict) -> tuple[int, int] | None:
    """The exact range of a part of a polynomial (see :func:`bounds`: one holding a nonlinear monomial),
    None when it has more than ``ENUMERATE`` assignments."""
    bits = sorted({b for m in part for b in m})
    used = sorted({field_of[b] for b in bits if b in field_of})
    free = [b for b in bits if b not in field_of]
    count = 1 << len(free)
    for k in used:
        count *= fields[k][4] - fields[k][3] + 1
        if count > ENUMERATE:
            return None
    idx = np.arange(count, dtype=np.int64)
    value: dict = {}
    for b in free:
        value[b] = idx & 1
        idx = idx >> 1
    for k in used:
        port, lsb, width, flo, fhi = fields[k]
        span = fhi - flo + 1
        x = flo + idx % span
        idx = idx // span
        for i in range(width):
            value[(port, lsb + i)] = (x >> i) & 1
    total = np.zeros(count, dtype=object if max(abs(c) for c in part.values()) * len(part) >> 62 else np.int64)
    for m, c in part.items():
        term = np.ones(count, dtype=np.int64)
        for b in m:
            term = term & value[b]
        total = total + c * term
    return int(total.min()), int(total.max())


def _outer_bounds(q: Form, fields: tuple[Field, ...] = ()) -> tuple[int, int]:
    """A sound outer bound on the values of an integer polynomial over 0/1 inputs (exact when no two
    monomials share an input bit, as in a linear polynomial). For each ``field``, an input word ``x``
    known to stay in [lo, hi], its single-bit terms ``sum a_i x_i`` are also written
    ``c x + sum (a_i - c 2^i) x_i`` with ``c = a_top / 2^top`` (an identity for any c) and bounded with
    ``x`` in its range: the tighter of the two bounds of that part is kept. ``floor(5x / 2)`` (its
    low bit's coefficient differs) is bounded by ``2.5 x`` and a half."""
    lo = hi = Fraction(q.get(ONE, 0))
    seen: set = set()
    for port, lsb, width, flo, fhi in fields:
        monos = [frozenset({(port, lsb + i)}) for i in range(width)]
        a = [q.get(m, 0) for m in monos]
        if not any(a):
            continue
        seen.update(monos)
        plain = (sum(min(v, 0) for v in a), sum(max(v, 0) for v in a))
        c = Fraction(a[-1], 1 << (width - 1))
        rest = [v - c * (1 << i) for i, v in enumerate(a)]
        ranged = (min(c * flo, c * fhi) + sum(min(v, 0) for v in rest),
                  max(c * flo, c * fhi) + sum(max(v, 0) for v in rest))
        lo, hi = lo + max(plain[0], ranged[0]), hi + min(plain[1], ranged[1])
    for m, c in q.items():
        if m and m not in seen:
            lo, hi = lo + min(c, 0), hi + max(c, 0)
    return math.floor(lo), math.ceil(hi)


def floor_div(f: Form, lo: int) -> Form:
    """``floor(f / 2^lo)`` as an exact polynomial."""
    if lo == 0:
        return f
    rest = _add(f, _low(f, lo), -1)
    if any(c % (1 << lo) for c in rest.values()):
        raise Unknown("floor division left a remainder")        # cannot happen for a correct low part
    return {m: c >> lo for m, c in rest.items()}


def signed_residue(c: int, bits: int) -> int:
    """``c`` modulo 2^bits read in [-2^(bits-1), 2^(bits-1)): a negative constant's bits read as a
    two's complement number, not as a large positive one."""
    half = 1 << (bits - 1)
    return (c + half) % (1 << bits) - half


def reading_range(bits: int, signed: bool) -> tuple[int, int]:
    """The values ``bits`` bits hold, read signed or not."""
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


def json_param(bits: str) -> int:
    """A parameter value as yosys' write_json gives it: a binary string, two's complement when 32 bits."""
    v = int(bits, 2)
    return v - (1 << 32) if len(bits) == 32 and bits[0] == "1" else v


def value_at(form: Form, values: dict[str, int]) -> int:
    """The polynomial's value at these port values (ports not given are 0)."""
    return sum(c for m, c in form.items() if all(values.get(p, 0) >> b & 1 for p, b in m))


def within(values: dict[str, int], fields: tuple) -> bool:
    """Do these port values keep every field in its range?"""
    for port, lsb, width, lo, hi in fields:
        if not lo <= values.get(port, 0) >> lsb & ((1 << width) - 1) <= hi:
            return False
    return True


def _window(t: Form, n: int, signed: bool, what: str, fields: tuple = (),
            rng: tuple[int, int] | None = None) -> tuple[Form, int, int]:
    """(form, lowest, highest) of the value ``n`` bits congruent to ``t`` (mod 2^n) hold, read signed or
    not: ``t`` shifted by the one multiple of 2^n that brings its whole range (``bounds``, narrowed by
    ``rng`` if given) into the reading's range, if there is one."""
    tlo, thi = bounds(t, fields)
    if rng is not None:
        tlo, thi = max(tlo, rng[0]), min(thi, rng[1])
    half = (1 << (n - 1)) if signed else 0
    k = (tlo + half) >> n                    # the window [k 2^n - half, (k+1) 2^n - half) holding tlo
    if thi + half >= (k + 1) << n:
        raise Unknown(f"{what}: range [{tlo}, {thi}] spans more than {n} bits")
    return (_add(t, {ONE: -(k << n)}) if k else t), tlo - (k << n), thi - (k << n)


class Words:
    """The words of module ``mod`` (yosys write_json, flattened, before opt) as exact integer polynomials."""

    def __init__(self, mod: dict, fields: tuple = ()):
        self.fields = tuple(fields)          # input words assumed in their ranges (``bounds``)
        self.inputs: dict = {}
        for pname, port in mod["ports"].items():
            if port["direction"] == "input":
                for k, net in enumerate(port["bits"]):
                    self.inputs[net] = (pname, k)
        self.cells = mod["cells"]
        self.driver: dict = {}
        for name, cell in self.cells.items():
            for pname, d in cell.get("port_directions", {}).items():
                if d == "output":
                    for k, net in enumerate(cell["connections"][pname]):
                        self.driver[net] = (name, k)
        self._words: dict[str, tuple[Form, tuple[int, int]]] = {}
        self._bits: dict = {}
        self._open: set = set()              # words and bits being read: a second visit is a loop

    def _param(self, cell: dict, key: str) -> int:
        return json_param(cell["parameters"][key])

    def bit(self, net) -> Form:
        """A single bit as its exact 0/1 polynomial."""
        if net in ("0", "1"):
            return {ONE: 1} if net == "1" else {}
        if not isinstance(net, int):
            raise Unknown(f"undefined bit {net}")
        if net in self.inputs:
            return {frozenset({self.inputs[net]}): 1}
        if net in self._bits:
            return self._bits[net]
        if net not in self.driver:
            raise Unknown(f"net {net} has no driver")
        if net in self._open:
            raise Unknown(f"net {net} is on a combinational loop")
        self._open.add(net)
        name, k = self.driver[net]
        cell = self.cells[name]
        kind = cell["type"]
        conn = cell["connections"]

        def ext(port: str) -> Form:
            sig = conn[port]
            if k < len(sig):
                return self.bit(sig[k])
            return self.bit(sig[-1]) if self._param(cell, f"{port}_SIGNED") else {}
        if kind in BITWISE:
            a = ext("A")
            if kind == "$not":
                out = _add({ONE: 1}, a, -1)
            else:
                b = ext("B")
                ab = _mul(a, b)
                out = {"$and": ab, "$or": _add(_add(a, b), ab, -1), "$xor": _add(_add(a, b), ab, -2),
                       "$xnor": _add({ONE: 1}, _add(_add(a, b), ab, -2), -1)}[kind]
        elif kind in REDUCE and k == 0:
            def all_zero(sig):
                out = {ONE: 1}
                for n in sig:
                    out = _mul(out, _add({ONE: 1}, self.bit(n), -1))
                return out
            if kind == "$logic_not":
                out = all_zero(conn["A"])
            elif kind in ("$reduce_or", "$reduce_bool"):
                out = _add({ONE: 1}, all_zero(conn["A"]), -1)
            elif kind == "$reduce_and":
                out = {ONE: 1}
                for n in conn["A"]:
                    out = _mul(out, self.bit(n))
            else:
                a = _add({ONE: 1}, all_zero(conn["A"]), -1)
                b = _add({ONE: 1}, all_zero(conn["B"]), -1)
                ab = _mul(a, b)
                out = ab if kind == "$logic_and" else _add(_add(a, b), ab, -1)
        elif kind in REDUCE:
            out = {}                        # the upper bits of a 1-bit result widened
        else:
            raise Unknown(f"bit {k} of {kind} {name}")
        self._bits[net] = out
        self._open.discard(net)
        return out

    def word(self, name: str) -> tuple[Form, tuple[int, int]]:
        """(``F``, its range): ``F(x)`` congruent to the cell's output modulo 2^Y_WIDTH, and an interval
        holding ``F(x)`` for every input (interval arithmetic on the operands' ranges, intersected with
        ``bounds``: a bit of logic counts as [0, 1], which its polynomial's coefficients do not say)."""
        if name in self._words:
            return self._words[name]
        if name in self._open:
            raise Unknown(f"{name} is on a combinational loop")
        self._open.add(name)
        cell = self.cells[name]
        kind, conn = cell["type"], cell["connections"]
        width = self._param(cell, "Y_WIDTH")

        def operand(port: str) -> tuple[Form, int, int]:
            return self.value(conn[port], bool(self._param(cell, f"{port}_SIGNED")), width)
        if kind in ("$add", "$sub"):
            (a, alo, ahi), (b, blo, bhi) = operand("A"), operand("B")
            if kind == "$add":
                f, lo, hi = _add(a, b), alo + blo, ahi + bhi
            else:
                f, lo, hi = _add(a, b, -1), alo - bhi, ahi - blo
        elif kind == "$neg":
            a, alo, ahi = operand("A")
            f, lo, hi = {m: -c for m, c in a.items()}, -ahi, -alo
        elif kind == "$pos":
            f, lo, hi = operand("A")
        elif kind == "$not":
            a, alo, ahi = operand("A")
            f, lo, hi = _add({ONE: -1}, a, -1), -1 - ahi, -1 - alo
        elif kind == "$mul":
            (a, alo, ahi), (b, _, _) = operand("A"), operand("B")
            if set(a) <= {ONE}:
                (a, alo, ahi), b = operand("B"), a
            if not set(b) <= {ONE}:
                raise Unknown(f"{name}: a product of two variable words")
            k = signed_residue(b.get(ONE, 0), width)
            f, lo, hi = {m: c * k for m, c in a.items() if c * k}, min(k * alo, k * ahi), max(k * alo, k * ahi)
        else:
            raise Unknown(f"{name}: {kind} is not arithmetic")
        blo, bhi = bounds(f, self.fields)
        lo, hi = max(lo, blo), min(hi, bhi)
        if lo > hi:
            raise Unknown(f"{name}: empty range [{lo}, {hi}]")       # two sound bounds cannot disagree
        self._words[name] = (f, (lo, hi))
        self._open.discard(name)
        return self._words[name]

    def value(self, sig: list, signed: bool, width: int) -> tuple[Form, int, int]:
        """(``F``, lowest, highest): ``F`` congruent, modulo 2^width, to the bits ``sig`` extended to
        ``width`` (by their top bit when ``signed``), the operand a cell of that width sees, and an
        interval holding ``F(x)``."""
        bits = list(sig[:width])
        if len(bits) < width:
            bits += [bits[-1] if signed and bits else "0"] * (width - len(bits))
        out: Form = {}
        lo = hi = 0
        i = 0
        while i < width:
            net = bits[i]
            src = self.driver.get(net) if isinstance(net, int) else None
            if src is None or self.cells[src[0]]["type"] not in ARITH:
                b = self.bit(net)
                out = _add(out, b, 1 << i)
                blo, bhi = (max(0, x) for x in bounds(b)) if b else (0, 0)
                lo, hi = lo + (min(blo, 1) << i), hi + (min(bhi, 1) << i)
                i += 1
                continue
            name, low = src
            j = i                            # the run Y[low..top] at positions i..j
            while j + 1 < width and bits[j + 1] != bits[j] and self.driver.get(bits[j + 1]) == (name, low + j + 1 - i):
                j += 1
            top = low + j - i
            e = j
            while e + 1 < width and bits[e + 1] == bits[j]:
                e += 1                       # copies of the run's top bit
            try:
                t, tlo, thi = self._run(name, low, top, at_top=e == width - 1, signed=e > j)
            except Unknown:
                if self.cells[name]["type"] != "$not":
                    raise
                for n in bits[i:e + 1]:      # a 1-bit complement and the like: bit by bit
                    out = _add(out, self._bit_of_not(n), 1 << i)
                    hi += 1 << i
                    i += 1
                continue
            out = _add(out, t, 1 << i)
            lo, hi = lo + (tlo << i), hi + (thi << i)
            i = e + 1
        return out, lo, hi

    def _run(self, name: str, low: int, top: int, at_top: bool, signed: bool) -> tuple[Form, int, int]:
        """What the bits ``Y[top:low]`` of cell ``name`` hold, as read at their place in an operand, with its
        range: any congruent polynomial when they reach the top of the cell's width; else the one value
        (their unsigned reading, or signed when ``signed``: sign-extended) among ``floor(F_Y / 2^low)``
        shifted by a multiple of 2^n, which its range must pin down."""
        f, (flo, fhi) = self.word(name)
        t = floor_div(f, low)
        rng = (flo >> low, fhi >> low)       # floor is monotone
        if at_top and not signed:
            return (t, *rng)
        if not at_top and signed:
            raise Unknown(f"{name}[{top}:{low}] sign-extended below other bits")
        return _window(t, top - low + 1, signed, f"{name}[{top}:{low}]", self.fields, rng)

    def _bit_of_not(self, net) -> Form:
        name, k = self.driver[net]
        sig = self.cells[name]["connections"]["A"]
        if k < len(sig):
            a = self.bit(sig[k])
        else:
            a = self.bit(sig[-1]) if self._param(self.cells[name], "A_SIGNED") else {}
        return _add({ONE: 1}, a, -1)

    def exact(self, sig: list, signed: bool) -> Form:
        """The integer the bits ``sig`` hold, read signed or not, as an exact polynomial."""
        w = len(sig)
        self._open.clear()                   # what an earlier Unknown left open
        try:
            f, lo, hi = self.value(sig, signed, w)
            return _window(f, w, signed, "the word", self.fields, (lo, hi))[0]
        except RecursionError:
            raise Unknown("the cone is deeper than Python's recursion limit") from None
