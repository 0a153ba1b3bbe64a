"""Multipliers in the generated Verilog (parsed by pyverilog) against a count made from the IR.

The count here walks the IR's kernels itself: one product per kernel tap
that lands on a real pixel (not padding, not a masked pixel of the
arrangement), per output; in constant mode only non-zero weights. Operand
widths: the first layer reads input codes (the input format's bits); a
later layer reads the previous layer's ReLU outputs, whose width this test
bounds from the weights (constant) or the weight format (programmable).
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from encoder.ir.schema import Conv2DLayer, FlattenLayer
from encoder.rtl_gen import generate, write_design
from rtl_helpers import ir_case, need_tool

PRODUCT_PORT = re.compile(r"^t\d+_wn?\d+(_t\d+_wn?\d+)*$")     # one product, or a shared sum of several
PRODUCT = re.compile(r"t\d+_w(n?)(\d+)")
CASES = [("econt_8x8_qkeras", "programmable"), ("econt_8x8_econt", "constant"),
         ("econt_4x4x3_econt", "programmable"), ("chip", "programmable"), ("chip", "constant")]


def _floor_or_round(v: int, shift: int, rounding: str) -> int:
    if shift <= 0:
        return v << -shift
    q, r = v >> shift, v & ((1 << shift) - 1)
    half = 1 << (shift - 1)
    if rounding == "floor":
        return q
    if rounding == "half_up":
        return q + (r >= half)
    return q + (r > half or (r == half and q % 2 == 1))


def _taps_by_output(layer, known_zero: set[int]):
    """{output index: [(input index, Keras weight index)]} without padding or masked taps."""
    out = {}
    if isinstance(layer, Conv2DLayer):
        h, w, cin = layer.input_shape
        oh, ow, cout = layer.output_shape
        (kh, kw), (sh, sw), (top, _, left, _) = layer.kernel, layer.strides, layer.padding
        for r in range(oh):
            for c in range(ow):
                for f in range(cout):
                    taps = []
                    for ky in range(kh):
                        for kx in range(kw):
                            y, x = r * sh + ky - top, c * sw + kx - left
                            if 0 <= y < h and 0 <= x < w:
                                for ci in range(cin):
                                    p = (y * w + x) * cin + ci
                                    if p not in known_zero:
                                        taps.append((p, ((ky * kw + kx) * cin + ci) * cout + f))
                    out[(r * ow + c) * cout + f] = taps
    else:
        n_in, n_out = layer.weight.shape
        for j in range(n_out):
            out[j] = [(i, i * n_out + j) for i in range(n_in) if i not in known_zero]
    return out


def expected_multipliers(ir, weights: str) -> Counter:
    """Counter of (a_bits, a_signed, b_bits or constant) over every multiplier the design needs."""
    known_zero = {p for p, c in enumerate(ir.input.pixel_to_cell) if c < 0}
    a_hi, a_frac = ir.input.format.max_code, ir.input.format.frac
    want: Counter = Counter()
    first = True
    for layer in ir.layers:
        if isinstance(layer, FlattenLayer):
            continue
        taps = _taps_by_output(layer, known_zero if first else set())
        wf, bf = layer.weight_format, layer.bias_format
        a_bits = a_hi.bit_length()
        wflat = layer.weight.ravel()
        for o, ts in taps.items():
            for _, k in ts:
                if weights == "programmable":
                    want[(a_bits, False, wf.bits, wf.signed)] += 1
                elif wflat[k] != 0:
                    want[(a_bits, False, int(wflat[k]))] += 1
        # Largest accumulator of this layer (all kernel taps, padding ones included), then ReLU
        # and the output requantization: the range of the next layer's inputs.
        exact = a_frac + wf.frac
        pf = exact if layer.product_frac is None else layer.product_frac
        af = max(pf, bf.frac)
        n_taps = layer.weight.size // layer.n_out_channels
        if weights == "programmable":
            prod = max(_floor_or_round(a_hi * wf.max_code, exact - pf, layer.product_rounding), 0)
            acc_hi = n_taps * (prod << (af - pf)) + (bf.max_code << (af - bf.frac))
        else:
            wmat = layer.weight.reshape(-1, layer.n_out_channels)
            acc_hi = max(sum(max(_floor_or_round(int(w) * a_hi, exact - pf, layer.product_rounding), 0)
                             << (af - pf) for w in wmat[:, f]) + (int(layer.bias[f]) << (af - bf.frac))
                         for f in range(layer.n_out_channels))
        out = layer.output
        a_hi = min(_floor_or_round(max(acc_hi, 0), af - out.format.frac, out.rounding), out.format.max_code)
        a_frac = out.format.frac
        first = False
    return want


def counted_multipliers(design_dir, sources, top) -> Counter:
    """Instances of enc_mul / enc_mul_const reached from the top, with their parameters, and the
    product ports of constant-weight MAC modules."""
    from pyverilog.vparser.ast import InstanceList, ModuleDef, Partselect, Pointer, Wire
    from pyverilog.vparser.parser import VerilogCodeParser

    # The generated glue (the hand-written primitives in rtl/ are checked by simulation).
    files = [str(design_dir / s) for s in sources if not s.startswith("enc_")]
    parser = VerilogCodeParser(files, preprocess_output=str(design_dir / "pp.out"),
                               outputdir=str(design_dir), debug=False)
    ast = parser.parse()
    modules = {d.name: d for d in ast.description.definitions if isinstance(d, ModuleDef)}

    def instances(mod):
        found = []
        stack = [mod]
        while stack:
            node = stack.pop()
            if isinstance(node, InstanceList):
                params = {p.paramname: p.argname for p in node.parameterlist}
                for inst in node.instances:
                    found.append((node.module, params, {p.portname: p.argname for p in inst.portlist}))
            else:
                stack.extend(node.children())
        return found

    def wire_bits(mod):
        """Declared width of every wire of a module."""
        bits, stack = {}, [mod]
        while stack:
            node = stack.pop()
            if isinstance(node, Wire) and node.width is None:
                bits[node.name] = 1
            elif isinstance(node, Wire) and hasattr(node.width.msb, "value"):   # not the x[N*B-1:0] port
                bits[node.name] = int(node.width.msb.value) - int(node.width.lsb.value) + 1
            stack.extend(node.children())
        return bits

    def value(arg):
        text = arg.value if hasattr(arg, "value") else None
        if text is None:                               # unary minus: -13
            return -int(arg.right.value)
        return int(text)

    got: Counter = Counter()

    def walk(name, mult):
        widths, a_bits, pending = None, None, []
        for sub, params, ports in instances(modules[name]):
            # Constant weights: a MAC port t<k>_w<weight> (wn: negative) per product, fed from
            # the layer's input x or a multiple x_x<m> of it, or one port named after several
            # products carrying their sum (shared by several outputs, computed in the layer).
            for port, arg in ports.items():
                if not PRODUCT_PORT.match(port or ""):
                    continue
                widths = widths or wire_bits(modules[name])
                var = arg.var if isinstance(arg, (Partselect, Pointer)) else arg
                base = re.sub(r"_x\d+$", "", var.name)
                weights = [int(v) * (-1 if n else 1) for n, v in PRODUCT.findall(port)]
                if len(weights) == 1 and base in widths:
                    a_bits = widths[base]
                    got[(a_bits, False, weights[0])] += mult
                else:
                    pending += weights
        for wt in pending:                    # a layer's products all read inputs of one width
            got[(a_bits, False, wt)] += mult
        for sub, params, ports in instances(modules[name]):
            if sub == "enc_mul":
                b_signed = bool(value(params["B_SIGNED"]))
                got[(value(params["A_BITS"]), bool(value(params["A_SIGNED"])), value(params["B_BITS"]),
                     b_signed)] += mult
            elif sub == "enc_mul_const":
                got[(value(params["A_BITS"]), bool(value(params["A_SIGNED"])), value(params["B_VALUE"]))] += mult
            elif sub in modules:
                walk(sub, mult)

    walk(top, 1)
    return got


@pytest.mark.parametrize("label,weights", CASES, ids=[f"{a}-{b}" for a, b in CASES])
def test_multipliers_match_an_independent_count_from_the_ir(tmp_path, label, weights):
    need_tool("iverilog")            # pyverilog preprocesses with iverilog
    ir = ir_case(label)
    d = generate(ir, weights, 0)
    write_design(d, tmp_path / "design")
    got = counted_multipliers(tmp_path / "design", d.sources, d.top)
    want = expected_multipliers(ir, weights)
    assert got == want
    assert sum(got.values()) == d.manifest["multipliers"]["total"]
    if weights == "constant":
        assert all(k[2] != 0 for k in got)           # no multiplier for a zero weight


def test_chip_programmable_has_2728_multipliers_of_stated_widths():
    """ECON-T 8x8: 680 conv products (padding row/column and the masked quadrant have none)
    of 8-bit codes by 6-bit weights, and 128 x 16 dense products."""
    m = generate(ir_case("chip"), "programmable", 0).manifest["multipliers"]
    rows = {(r["layer"], r["a_bits"], r["b_bits"]): r["count"] for r in m["by_width"]}
    assert m["total"] == 2728
    assert rows[("conv", 8, 6)] == 680 and rows[("dense", 12, 6)] == 2048
