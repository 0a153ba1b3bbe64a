"""Is a surviving mutant of one neuron equivalent *in the design*? A proof under the neuron's reach.

The per-module proof (encoder.verify.equiv.prove_mutant) sees a neuron module's inputs as free,
so it calls a mutant "not equivalent" when it differs only on accumulator values the design can
never produce: a requantizer told its output is signed changes codes above 127 only, and a neuron
whose accumulator never passes 1,494 never makes one. Here the original neuron module gets an
assumption that its accumulator lies in the sound range of encoder.verify.reach (every input the
input path can produce lands inside it), and yosys' SAT solver looks for inputs that satisfy the
assumption yet tell the mutant from the original:

- ``equivalent``: none exists, so no input of the design can tell them apart (the range is an
  over-approximation of what is reachable: a proof, not a search);
- ``not equivalent``: one exists inside the range; the range may be loose, so the mutant may
  still be equivalent in the design, but this proof does not show it.

A second-layer neuron that the reach's range does not settle gets a tighter range from a mixed
integer program over the same inputs (encoder.verify.milp: branch and bound on the first layer's
undecided ReLUs) and a second proof under it; the detail says which range decided.

Applies to the neuron modules of constant-weight designs (one output each, ``acc`` a
combinational wire); anything else gets ``not applicable``.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from ..ir import load_ir
from ..rtl_gen.plan import plan_design
from ..verif.design import load_design
from .prove import Side, _read, _run, yosys_exe
from .reach import reach

_ACC = re.compile(r"^\s*wire\s+(?:\[(\d+):0\]\s+)?acc\s*=", re.M)


@dataclass(frozen=True)
class NeuronRange:
    bits: int              # the RTL accumulator's width
    lo: int
    hi: int
    layer: int             # MAC layer index (0: the first)
    out_index: int         # the neuron's output in flat Keras order
    layer_module: str      # the layer module that instantiates the neuron ...
    instance: str          # ... under this name
    n_in: int              # the layer's input codes, their bits and format range
    in_bits: int
    code_lo: int
    code_hi: int
    source: str = "reach"  # "reach" (encoder.verify.reach) or "milp" (encoder.verify.milp)
    wires: tuple = ()      # ((wire, width, signed, lo, hi), ...): internal wires' sound ranges (MILP)


def neuron_ranges(design_dir: Path, top: str) -> dict[str, NeuronRange]:
    """Neuron module name -> its accumulator's sound range, for a constant design's IR copy."""
    ir = load_ir(design_dir / "ir.json")
    plan = plan_design(ir, "constant", top=top)
    out = {}
    fmt, n_in = ir.input.format, ir.input.n_cells
    for k, (lp, r) in enumerate(zip(plan.layers, reach(ir))):
        if r.acc_frac == lp.acc_frac:       # the RTL's accumulator is at the plan's fraction bits
            for n in lp.neurons:
                out[f"{top}_{n.name}"] = NeuronRange(
                    lp.acc_bits, int(r.acc_lo[n.out_index]), int(r.acc_hi[n.out_index]), k, n.out_index,
                    f"{top}_{lp.name}", f"u_{n.name}", n_in, fmt.bits, fmt.min_code, fmt.max_code)
        fmt, n_in = lp.layer.output.format, r.acc_lo.size
    return out


def tightened(design_dir: Path, rng: NeuronRange, wire: str | None = None,
              time_limit: float = 60.0) -> NeuronRange | None:
    """The range of a second-layer neuron's accumulator, and of ``wire`` inside a first- or
    second-layer neuron, from the mixed-integer program; None when nothing is gained (another
    layer, no model, no affine form)."""
    from . import milp, wires
    if rng.layer not in (0, 1):
        return None
    ir = load_ir(design_dir / "ir.json")
    reaches = reach(ir)
    lo, hi, extra = rng.lo, rng.hi, []
    if rng.layer == 1:
        b_lo = milp.bound(ir, rng.out_index, upper=False, time_limit=time_limit / 4, reaches=reaches)
        b_hi = milp.bound(ir, rng.out_index, upper=True, time_limit=time_limit / 4, reaches=reaches)
        if b_lo is not None and b_hi is not None:
            lo, hi = max(lo, b_lo.value), min(hi, b_hi.value)
    if wire and wire != "acc":
        sources = [Path(f) for f in load_design(design_dir).sources]
        form = wires.affine_form(sources, rng.layer_module, rng.instance, wire, rng.n_in, rng.in_bits,
                                 rng.code_lo, rng.code_hi)
        if form is not None:
            coeffs, const, width, signed = form
            w_lo = milp.bound_affine(ir, rng.layer, coeffs, const, False, time_limit / 4, reaches)
            w_hi = milp.bound_affine(ir, rng.layer, coeffs, const, True, time_limit / 4, reaches)
            if w_lo is not None and w_hi is not None:
                extra.append((wire, width, signed, w_lo.value, w_hi.value))
    if (lo, hi) == (rng.lo, rng.hi) and not extra:
        return None
    return replace(rng, lo=lo, hi=hi, source="milp", wires=tuple(extra))


def _assumed(text: str, rng: NeuronRange) -> str | None:
    """The module's text with the accumulator's range (and its wires') assumed, or None when it has no
    such accumulator wire."""
    m = _ACC.search(text)
    if m is None or int(m.group(1) or 0) + 1 != rng.bits:
        return None

    def within(name, width, signed, lo, hi):
        return (f"$signed({name}) >= {lo} && $signed({name}) <= {hi}" if signed or lo < 0
                else f"{name} >= {width}'d{lo} && {name} <= {width}'d{hi}")
    lines = [within("acc", rng.bits, rng.lo < 0, rng.lo, rng.hi)] + [within(*w) for w in rng.wires]
    end = text.rfind("endmodule")
    block = "".join(f"    always @* assume({c});  // a reachable range (encoder.verify.{rng.source})\n"
                    for c in lines)
    return text[:end] + block + text[end:]


def prove_in_context(orig_dir: Path, mut_dir: Path, file: str, module: str, primitives: list[str],
                     ranges: dict[str, NeuronRange], timeout: float = 120.0, tighten: bool = True,
                     wire: str | None = None) -> dict:
    """{"result": equivalent | not equivalent | not proven | timeout | error | not applicable, "detail",
    "range": [lo, hi], "range_from": reach | milp}; ``tighten``: a mutant the reach does not settle is
    tried again under the mixed-integer program's ranges of the accumulator (second layer) and of
    ``wire``, the wire the mutated line defines."""
    if module not in ranges:
        return {"result": "not applicable", "detail": f"{module} is not a neuron module with a known reach"}
    rng = ranges[module]
    r = _prove_under(orig_dir, mut_dir, file, module, primitives, rng, timeout)
    if r["result"] == "not equivalent" and tighten:
        tight = tightened(orig_dir, rng, wire, time_limit=timeout)
        if tight is not None:
            again = _prove_under(orig_dir, mut_dir, file, module, primitives, tight, timeout)
            again["loose"] = r
            return again
    return r


def _prove_under(orig_dir: Path, mut_dir: Path, file: str, module: str, primitives: list[str],
                 rng: NeuronRange, timeout: float) -> dict:
    gold_text = _assumed((orig_dir / file).read_text(), rng)
    if gold_text is None:
        return {"result": "not applicable", "detail": f"{module} has no combinational {rng.bits}-bit acc wire"}
    with tempfile.TemporaryDirectory(prefix="encoder-context-") as tmp:
        gold = Path(tmp) / "gold.v"
        gold.write_text(gold_text)
        prims = [orig_dir / p for p in primitives]
        script = "\n".join(
            _read(Side(prims + [gold], module), "gold", formal=True)
            + _read(Side(prims + [mut_dir / file], module), "gate", formal=True) + [
            "design -copy-from gold -as gold gold", "design -copy-from gate -as gate gate",
            "miter -equiv -flatten -make_assert gold gate miter", "hierarchy -top miter", "opt -fast",
            # First: the assumption admits some input (else the proof below would hold vacuously).
            "tee -o admits.txt sat -set-assumes miter",
            "sat -prove-asserts -set-assumes -verify miter"]) + "\n"
        (Path(tmp) / "context.ys").write_text(script)
        code, out = _run([yosys_exe(), "-q", "-l", "log", "-s", "context.ys"], tmp, timeout)
        log = (Path(tmp) / "log").read_text(errors="replace") if (Path(tmp) / "log").is_file() else out
        admits = (Path(tmp) / "admits.txt").read_text() if (Path(tmp) / "admits.txt").is_file() else ""
    where = ", ".join([f"acc in [{rng.lo}, {rng.hi}]"] + [f"{w[0]} in [{w[3]}, {w[4]}]" for w in rng.wires])
    by = {"reach": "sound reach", "milp": "sound reach by MILP"}[rng.source]
    common = {"range": [rng.lo, rng.hi], "range_from": rng.source,
              **({"wires": {w[0]: [w[3], w[4]] for w in rng.wires}} if rng.wires else {})}
    if code is None:
        return {"result": "timeout", "detail": f"{where}: no answer in {timeout:g} s", **common}
    if "model found" not in admits or "no model found" in admits:
        return {"result": "error", "detail": f"{where}: the assumption admits no input (vacuous)", **common}
    if code == 0 and "SUCCESS" in log:
        return {"result": "equivalent", "detail": f"in context: {where} ({by}), yosys SAT", **common}
    if "FAIL" in log or "model found" in log:
        return {"result": "not equivalent", "detail": f"differs for some {where} ({by})", **common}
    tail = [ln for ln in log.splitlines() if ln.strip()]
    return {"result": "error", "detail": (tail[-1] if tail else "yosys failed")[:300], **common}
