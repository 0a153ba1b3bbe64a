"""Constant weights without multipliers: shared odd multiples of the inputs, product terms,
and the sums of terms that several outputs of a layer add."""

from __future__ import annotations

from dataclasses import dataclass

from .plan import LayerPlan, Neuron, width
from .verilog import Node, Writer, extend, vec


# -- constant weights: shared odd multiples, one sum per output ------------
#
# A weight w = +-m * 2^s with m odd. Each layer input x is multiplied once by
# every odd m its weights need (x*3, x*5, ...: a conv pixel feeds up to 32
# products, a dense input 16), in the layer module; a MAC module only slices,
# inverts and sums. A product floored to 2^-F is then (e = F - s):
#   w > 0:  floor(x*m / 2^e)                      = the bits [.. : e] of x*m
#   w < 0:  floor(-x*m / 2^e) = ~floor(x*m / 2^e) + (x*m mod 2^e == 0)
# and x*m mod 2^e == 0 exactly when x mod 2^e == 0 (m is odd): one NOR of
# the low bits of x. ~v on b bits is 2^b - 1 - v, so every term is an unsigned
# bit pattern plus a constant; all constants (the -2^b of each inverted term,
# the bias, the +1 of exact negative products) are folded into one literal.
# The sum is exact modulo 2^acc_bits, and the accumulator range holds it.

def odd_split(w: int) -> tuple[int, int]:
    """(m, s) with |w| = m * 2^s, m odd (w != 0)."""
    m, s = abs(w), 0
    while m % 2 == 0:
        m, s = m // 2, s + 1
    return m, s


def constant_fused(lp: LayerPlan) -> bool:
    """Layers the shared-multiple form covers: non-negative inputs (every layer after a ReLU,
    and the input codes), products exact or floored. Others keep one enc_mul_const per product."""
    return lp.in_lo >= 0 and (lp.product_shift == 0 or lp.layer.product_rounding == "floor")


def _weight_tag(w: int) -> str:
    return f"w{w}" if w > 0 else f"wn{-w}"


@dataclass
class ConstProduct:
    """One product of a constant-weight neuron as its MAC module receives it."""

    tap: int
    weight: int
    port: str | None          # magnitude bits (None: the magnitude floors to 0)
    source: str               # what the layer module connects to it
    bits: int
    hi: int                   # largest value on the port
    negative: bool
    exact_port: str | None    # negative floored products: x*m had no bits below the floor
    exact_source: str | None
    shift: int                # left shift of the term to the accumulator's LSB


def multiple_name(lp: LayerPlan, src: int, m: int) -> str:
    return lp.in_names[src] if m == 1 else f"{lp.in_names[src]}_x{m}"


def multiple_bits(lp: LayerPlan, m: int) -> int:
    return width(0, lp.in_hi * m)[1]


def low_zero_name(lp: LayerPlan, src: int, e: int) -> str:
    return f"{lp.in_names[src]}_low{min(e, lp.in_bits)}_zero"


def const_products(lp: LayerPlan, neuron: Neuron) -> list[ConstProduct]:
    F = lp.product_shift
    align = lp.acc_frac - (lp.product_frac if F > 0 else lp.exact_frac)
    out = []
    for t, tap in enumerate(neuron.taps):
        m, s = odd_split(tap.weight)
        e = F - s
        mult, wm = multiple_name(lp, tap.src, m), multiple_bits(lp, m)
        hi_m = lp.in_hi * m
        neg = tap.weight < 0
        tag = f"t{t}_{_weight_tag(tap.weight)}"
        exact_port = exact_source = None
        if e > 0:
            hi = hi_m >> e
            bits = width(0, hi)[1] if hi > 0 else 0
            src = f"{mult}[{e}]" if bits == 1 else f"{mult}[{e + bits - 1}:{e}]"
            shift = align
            if neg:
                exact_port, exact_source = f"{tag}_exact", low_zero_name(lp, tap.src, e)
        else:
            hi, bits, src, shift = hi_m, wm, mult, align - e
        out.append(ConstProduct(t, tap.weight, tag if bits else None, src, bits, hi, neg, exact_port,
                                exact_source, shift))
    return out


def _multiple_recipes(needed: set[int]) -> list[tuple[int, int, int, str, int]]:
    """How to build every odd multiple in ``needed`` with one adder each:
    (m, a, ka, op, b): m = (a << ka) op b, a and b built before (1 is the input itself).
    Intermediate multiples are added when no pair of built ones reaches m."""
    built, out = {1}, []

    def build(m: int):
        if m in built:
            return
        for a in sorted(built):
            for b in sorted(built):
                for k in range(1, m.bit_length() + 1):
                    for op, v in (("+", (a << k) + b), ("-", (a << k) - b)):
                        if v == m:
                            out.append((m, a, k, op, b))
                            built.add(m)
                            return
        k = m.bit_length()                       # m = 2^k - r or 2^(k-1) + r, r odd and smaller
        r_sub, r_add = (1 << k) - m, m - (1 << (k - 1))
        r, op, kk = (r_add, "+", k - 1) if bin(r_add).count("1") <= bin(r_sub).count("1") else (r_sub, "-", k)
        build(r)
        out.append((m, 1, kk, op, r))
        built.add(m)

    for m in sorted(needed):
        build(m)
    return out


def _shifted(name: str, bits: int, k: int, target: int) -> str:
    """name << k as exactly target bits (zero-extended, or cut: arithmetic modulo 2^target)."""
    if bits + k <= target:
        body = f"{{{name}, {k}'b0}}" if k else name
        pad = target - bits - k
        return f"{{{pad}'b0, {name}{', ' + str(k) + chr(39) + 'b0' if k else ''}}}" if pad else body
    keep = target - k
    part = name if keep == bits else (f"{name}[0]" if keep == 1 else f"{name}[{keep - 1}:0]")
    return f"{{{part}, {k}'b0}}" if k else part


def _layer_multiples(w: Writer, lp: LayerPlan):
    """x*m for every input x and odd m its constant weights need, and the low-bits-zero flags
    of the negative floored products."""
    F = lp.product_shift
    need: dict[int, set[int]] = {}
    flags: dict[int, set[int]] = {}
    for n in lp.neurons:
        for tap in n.taps:
            m, s = odd_split(tap.weight)
            if m > 1:
                need.setdefault(tap.src, set()).add(m)
            if tap.weight < 0 and F - s > 0:
                flags.setdefault(tap.src, set()).add(min(F - s, lp.in_bits))
    if not need and not flags:
        return
    w()
    w("// Odd multiples of the inputs, shared by every product of the same input:", 1)
    w("// |weight| = m * 2^s reads x*m (one adder each, from x and smaller multiples).", 1)
    for src in sorted(set(need) | set(flags)):
        x = lp.in_names[src]
        for m, a, k, op, b in _multiple_recipes(need.get(src, set())):
            bits = multiple_bits(lp, m)
            an, bn = multiple_name(lp, src, a), multiple_name(lp, src, b)
            w(f"wire {vec(bits)} {multiple_name(lp, src, m)} = "
              f"{_shifted(an, multiple_bits(lp, a), k, bits)} {op} {_shifted(bn, multiple_bits(lp, b), 0, bits)};", 1)
        for e in sorted(flags.get(src, set())):
            low = x if e >= lp.in_bits else (f"{x}[0]" if e == 1 else f"{x}[{e - 1}:0]")
            w(f"wire {low_zero_name(lp, src, e)} = ~|{low};", 1)


def _term_pattern(p: ConstProduct) -> tuple[int, int]:
    """(bits, largest value) of a product's unsigned term pattern, shift included."""
    hi = (1 << p.bits) - 1 if p.negative else p.hi
    return p.bits + p.shift, hi << p.shift


def _term_wire(lp: LayerPlan, src: int, weight: int) -> str:
    return f"{lp.in_names[src]}_{_weight_tag(weight)}"


@dataclass
class SharedSums:
    """Sums of product terms that several outputs of a layer add (common subexpressions).

    ``sums[k]`` = (operand a, operand b); an operand is ("term", src, weight) or
    ("sum", j, 0) with j < k. ``items[i]`` lists what output i adds: its terms
    that no shared sum covers and the shared sums that cover the others. A sum
    also adds the exact bit of each negative floored term among its operands,
    so no output adds that bit again (see ``exact_bits``)."""

    sums: list[tuple[tuple, tuple]]
    items: list[list[tuple]]
    terms: dict[tuple, ConstProduct]
    term_names: dict[tuple, str]

    def operand(self, op: tuple, cap: int) -> tuple[str, int, int]:
        """(layer wire, bits, largest value) of an operand; sums at most cap bits wide."""
        if op[0] == "term":
            bits, hi = _term_pattern(self.terms[op])
            return self.term_names[op], bits, hi
        a, b = (self.operand(x, cap) for x in self.sums[op[1]])
        hi = a[2] + b[2] + sum(1 << shift for _, shift in self.exact_bits(op[1]))
        return f"shared_{op[1]}", min(cap, width(0, hi)[1]), hi

    def exact_bits(self, k: int) -> list[tuple[str, int]]:
        """(layer wire, shift) of the exact bits sum k adds: one per negative floored term
        operand. Added once here rather than by every output that reads the sum."""
        return [(self.terms[op].exact_source, self.terms[op].shift) for op in self.sums[k]
                if op[0] == "term" and self.terms[op].exact_source]


def shared_sums(lp: LayerPlan) -> SharedSums:
    """Greedy pairing: the pair of operands that most outputs add becomes one adder in the
    layer module (c outputs: c - 1 adders saved), until no pair is common to two outputs.
    Deterministic (ties: the smallest pair)."""
    cached = getattr(lp, "_shared_sums", None)
    if cached is not None:
        return cached
    import heapq
    from collections import Counter
    sets: list[set] = []
    terms: dict[tuple, ConstProduct] = {}
    for n in sorted(lp.neurons, key=lambda n: n.out_index):
        keys = set()
        for tap, p in zip(n.taps, const_products(lp, n)):
            if p.port:
                keys.add(("term", tap.src, p.weight))
                terms.setdefault(("term", tap.src, p.weight), p)
        sets.append(keys)

    def score(pair: tuple, count: int) -> int:
        """Adders a pairing saves. (Weighting by the adders' widths measured no better.)"""
        return count - 1

    counts: Counter = Counter()
    where: dict[tuple, set[int]] = {}
    for i, s in enumerate(sets):
        for key in s:
            where.setdefault(key, set()).add(i)
        items = sorted(s)
        for x in range(len(items)):
            for y in range(x + 1, len(items)):
                counts[(items[x], items[y])] += 1
    heap = [(-score(pair, c), pair) for pair, c in counts.items() if c > 1]
    heapq.heapify(heap)
    sums: list[tuple[tuple, tuple]] = []
    while heap:
        neg, pair = heapq.heappop(heap)
        c = counts.get(pair, 0)
        if c < 2:
            continue
        if -neg != score(pair, c):                  # count changed since pushed
            heapq.heappush(heap, (-score(pair, c), pair))
            continue
        a, b = pair
        new = ("sum", len(sums), 0)
        sums.append((a, b))
        users = sorted(where.get(a, set()) & where.get(b, set()))
        for i in users:
            s = sets[i]
            s.discard(a)
            s.discard(b)
            where[a].discard(i)
            where[b].discard(i)
            for x in s:
                for old in (a, b):
                    counts[(old, x) if old < x else (x, old)] -= 1
                key = (new, x) if new < x else (x, new)
                counts[key] += 1
                if counts[key] > 1:
                    heapq.heappush(heap, (-score(key, counts[key]), key))
            s.add(new)
            where.setdefault(new, set()).add(i)
        counts[pair] = 0
    result = SharedSums(sums, [sorted(s) for s in sets], terms,
                        {k: _term_wire(lp, k[1], k[2]) for k in terms})
    lp._shared_sums = result            # the layer module and every MAC module read it
    return result


def _operand_terms(shared: SharedSums, op: tuple) -> list[tuple]:
    """The product terms under an operand, in order."""
    if op[0] == "term":
        return [op]
    a, b = shared.sums[op[1]]
    return _operand_terms(shared, a) + _operand_terms(shared, b)


@dataclass
class MacInput:
    """One input port of a constant-weight MAC module and what the layer connects to it."""

    port: str
    source: str
    bits: int
    comment: str


def _mac_inputs(lp: LayerPlan, neuron: Neuron) -> tuple[list[MacInput], list[tuple[str, int, int]], set[int]]:
    """Ports of a constant-weight MAC (products no shared sum covers, exact bits, shared
    sums), the shared sums as tree leaves (port, bits, largest value) and the taps they cover."""
    prods = const_products(lp, neuron)
    shared = shared_sums(lp)
    idx = sorted(lp.neurons, key=lambda n: n.out_index).index(neuron)
    tap_of = {(tap.src, tap.weight): t for t, tap in enumerate(neuron.taps)}
    F = lp.product_shift
    covered: set[int] = set()
    groups = []
    for item in shared.items[idx]:
        if item[0] == "sum":
            taps = sorted(tap_of[(k[1], k[2])] for k in _operand_terms(shared, item))
            covered.update(taps)
            groups.append((taps[0], taps, item))
    ins: list[MacInput] = []
    leaves: list[tuple[str, int, int]] = []
    for p in prods:
        what = f"{lp.in_names[neuron.taps[p.tap].src]} * {p.weight}"
        if p.port and p.tap not in covered:
            e = F - odd_split(p.weight)[1]
            ins.append(MacInput(p.port, p.source, p.bits, what + (f", magnitude / 2^{e}" if e > 0 else "")))
        if p.exact_port and p.tap not in covered:
            ins.append(MacInput(p.exact_port, p.exact_source, 1, f"{what}: no bits below the floor"))
    for _, taps, item in sorted(groups):
        wire, bits, hi = shared.operand(item, lp.acc_bits)
        port = "_".join(prods[t].port for t in taps)
        ins.append(MacInput(port, wire, bits, f"shared sum of the terms of taps {', '.join(map(str, taps))}"))
        leaves.append((port, bits, hi))
    return ins, leaves, covered


def _layer_shared_sums(w: Writer, lp: LayerPlan):
    """The terms several outputs add in common, summed once (see shared_sums)."""
    shared = shared_sums(lp)
    if not shared.sums:
        return
    w()
    w(f"// Sums of terms that several outputs add ({len(shared.sums)} adders shared). A term is the floored", 1)
    w("// product's magnitude, complemented for a negative weight (each output adds the constants); a", 1)
    w("// negative floored term's exact bit is added here too, once, not by every output.", 1)
    used = sorted({op for pair in shared.sums for op in pair if op[0] == "term"})
    for key in used:
        p = shared.terms[key]
        pattern = f"~{p.source}" if p.negative else p.source
        bits, _ = _term_pattern(p)
        expr = f"{{{pattern}, {p.shift}'b0}}" if p.shift else pattern
        w(f"wire {vec(bits)} {shared.term_names[key]} = {expr};", 1)
    for k, (a, b) in enumerate(shared.sums):
        name, bits, hi = shared.operand(("sum", k, 0), lp.acc_bits)
        (an, ab, _), (bn, bb, _) = shared.operand(a, lp.acc_bits), shared.operand(b, lp.acc_bits)
        addends = [extend(Node(an, ab, 0, 0), bits), extend(Node(bn, bb, 0, 0), bits)]
        for flag, shift in shared.exact_bits(k):
            addends.append(extend(Node(f"{{{flag}, {shift}'b0}}" if shift else flag, 1 + shift, 0, 0), bits))
        w(f"wire {vec(bits)} {name} = {' + '.join(addends)};", 1)
