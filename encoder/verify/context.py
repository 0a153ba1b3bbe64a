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

Applies to the neuron modules of constant-weight designs (one output each, ``acc`` a
combinational wire); anything else gets ``not applicable``.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from ..ir import load_ir
from ..rtl_gen.plan import plan_design
from .prove import Side, _read, _run, yosys_exe
from .reach import reach

_ACC = re.compile(r"^\s*wire\s+(?:\[(\d+):0\]\s+)?acc\s*=", re.M)


def neuron_ranges(design_dir: Path, top: str) -> dict[str, tuple[int, int, int]]:
    """Neuron module name -> (accumulator bits, low, high) for a constant design's IR copy."""
    ir = load_ir(design_dir / "ir.json")
    plan = plan_design(ir, "constant", top=top)
    out = {}
    for lp, r in zip(plan.layers, reach(ir)):
        if r.acc_frac != lp.acc_frac:       # the RTL's accumulator is at the plan's fraction bits
            continue
        for n in lp.neurons:
            out[f"{top}_{n.name}"] = (lp.acc_bits, int(r.acc_lo[n.out_index]), int(r.acc_hi[n.out_index]))
    return out


def _assumed(text: str, bits: int, lo: int, hi: int) -> str | None:
    """The module's text with the accumulator's range assumed, or None when it has no such wire."""
    m = _ACC.search(text)
    if m is None or int(m.group(1) or 0) + 1 != bits:
        return None
    end = text.rfind("endmodule")
    cmp = (f"$signed(acc) >= {lo} && $signed(acc) <= {hi}" if lo < 0
           else f"acc >= {bits}'d{lo} && acc <= {bits}'d{hi}")
    line = f"    always @* assume({cmp});  // the reachable range (encoder.verify.reach)\n"
    return text[:end] + line + text[end:]


def prove_in_context(orig_dir: Path, mut_dir: Path, file: str, module: str, primitives: list[str],
                     ranges: dict[str, tuple[int, int, int]], timeout: float = 120.0) -> dict:
    """{"result": equivalent | not equivalent | not proven | timeout | error | not applicable, ...}."""
    if module not in ranges:
        return {"result": "not applicable", "detail": f"{module} is not a neuron module with a known reach"}
    bits, lo, hi = ranges[module]
    gold_text = _assumed((orig_dir / file).read_text(), bits, lo, hi)
    if gold_text is None:
        return {"result": "not applicable", "detail": f"{module} has no combinational {bits}-bit acc wire"}
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
    where = f"acc in [{lo}, {hi}]"
    if code is None:
        return {"result": "timeout", "detail": f"{where}: no answer in {timeout:g} s"}
    if "model found" not in admits or "no model found" in admits:
        return {"result": "error", "detail": f"{where}: the assumption admits no input (vacuous)"}
    if code == 0 and "SUCCESS" in log:
        return {"result": "equivalent", "detail": f"in context: {where} (sound reach), yosys SAT"}
    if "FAIL" in log or "model found" in log:
        return {"result": "not equivalent", "detail": f"differs for some acc in [{lo}, {hi}]"}
    tail = [ln for ln in log.splitlines() if ln.strip()]
    return {"result": "error", "detail": (tail[-1] if tail else "yosys failed")[:300]}
