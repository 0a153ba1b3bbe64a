"""An internal wire of a neuron module as an affine function of its layer's input codes, by simulation.

A constant-weight neuron adds its terms in a tree of named partial sums (``sum_l2_10``), each
sized by interval analysis so that it never overflows; its terms are the inputs times constants,
or their complements (``~v`` = 2^w - 1 - v). So every partial sum, read as an unsigned number
(the accumulator as a signed one), is an affine function of the layer's input codes, and the
mixed-integer program of encoder.verify.milp can bound it over the inputs the design can reach.

The function is read off the RTL itself rather than derived from the generator's plan, so it is
the wire as written: the layer module is simulated (Icarus) at the all-zero input, at each unit
input (one code = 1) and at random codes over the whole format; the coefficients come from the
unit inputs and the random points must fit them exactly, or there is no affine form (``None``:
a wire that rounds or wraps).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ..errors import UserError

_WIRE = re.compile(r"^\s*wire\s+(?:\[(\d+):0\]\s+)?(\w+)\s*=")


def defined_wire(line: str) -> str | None:
    """The wire a generated line declares and assigns (``wire [12:0] sum_l2_10 = ...``), if any."""
    m = _WIRE.match(line)
    return m.group(2) if m else None


def affine_form(sources: list[Path], layer_module: str, instance: str, wire: str, n_in: int, in_bits: int,
                code_lo: int, code_hi: int, seed: int = 0, checks: int = 32) -> tuple[np.ndarray, int, int, bool] | None:
    """(coefficients per input code, constant, wire width, signed) with wire = coefficients . x + constant
    for every checked x and inside the wire's range over the box [code_lo, code_hi] of every input, or
    None (no affine form, or no simulator); a wire that cannot be simulated is a UserError."""
    exe = shutil.which("iverilog")
    if exe is None:
        return None
    rng = np.random.default_rng(seed)
    vectors = [np.zeros(n_in, dtype=np.int64)]
    vectors += [np.eye(n_in, dtype=np.int64)[i] for i in range(n_in)]
    vectors += [rng.integers(code_lo, code_hi + 1, size=n_in) for _ in range(checks)]
    mask = (1 << in_bits) - 1
    x_bits = n_in * in_bits
    with tempfile.TemporaryDirectory(prefix="encoder-wire-") as tmp:
        hexes = []
        for v in vectors:
            word = 0
            for k, c in enumerate(v):
                word |= (int(c) & mask) << (in_bits * k)
            hexes.append(f"{word:x}")
        (Path(tmp) / "vec.hex").write_text("\n".join(hexes) + "\n")
        tb = Path(tmp) / "tb.v"
        tb.write_text(
            f"module encoder_wire_tb;\n  reg [{x_bits - 1}:0] mem [0:{len(vectors) - 1}];\n"
            f"  reg [{x_bits - 1}:0] x;\n"
            f"  {layer_module} u (.x(x), .y());\n  integer i;\n"
            f"  initial begin\n    $readmemh(\"vec.hex\", mem);\n"
            f"    for (i = 0; i < {len(vectors)}; i = i + 1) begin\n      x = mem[i]; #1;\n"
            f"      $display(\"%0d %0d\", $bits(u.{instance}.{wire}), u.{instance}.{wire});\n    end\n"
            f"    $finish;\n  end\nendmodule\n")
        build = subprocess.run([exe, "-g2012", "-o", "sim", "-s", "encoder_wire_tb", str(tb)]
                               + [str(s) for s in sources], cwd=tmp, capture_output=True, text=True)
        if build.returncode != 0:
            tail = [ln for ln in build.stderr.splitlines() if ln.strip()]
            raise UserError(f"{layer_module}.{instance}.{wire}: cannot simulate it ({tail[-1] if tail else 'iverilog failed'})")
        run = subprocess.run(["vvp", "-n", "sim"], cwd=tmp, capture_output=True, text=True)
    rows = [ln.split() for ln in run.stdout.splitlines() if re.fullmatch(r"\d+ \d+", ln.strip())]
    if run.returncode != 0 or len(rows) != len(vectors):
        raise UserError(f"{layer_module}.{instance}.{wire}: the simulation gave {len(rows)} of {len(vectors)} values")
    width = int(rows[0][0])
    raw = np.array([int(r[1]) for r in rows], dtype=object)
    x = np.array(vectors, dtype=object)
    for signed in (False, True):
        vals = np.array([v - (1 << width) if signed and v >> (width - 1) else v for v in raw], dtype=object)
        const = vals[0]
        coeffs = vals[1:n_in + 1] - const
        if not all(vals[k] == const + int(np.dot(coeffs, x[k])) for k in range(n_in + 1, len(vectors))):
            continue
        # The form must stay inside the wire's range over the whole box of codes (no overflow: what makes
        # it hold at every input, not only at the points simulated).
        top = const + sum(int(c) * (code_hi if c > 0 else code_lo) for c in coeffs)
        bottom = const + sum(int(c) * (code_lo if c > 0 else code_hi) for c in coeffs)
        w_lo, w_hi = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)
        if w_lo <= bottom and top <= w_hi:
            return np.array(coeffs, dtype=np.int64), int(const), width, signed
    return None
