"""hls4ml interop: an IR's exact arithmetic written as an hls4ml configuration.

hls4ml infers the fixed-point types of a QKeras model from its quantizers,
and gets some wrong: it maps the input quantizer
``quantized_bits(8,1,keep_negative=0)`` (unsigned, 7 fractional bits) to a
signed ``fixed<8,2>``. The IR states every format, rounding and overflow
rule, so ``encoder export-hls4ml IR --out cfg.yaml`` writes them all
explicitly, per layer (``LayerName`` granularity), as ap_fixed types
``[u]fixed<W,I,Q,O>``: W total bits, I integer bits (sign included),
Q = RND_CONV (the IR's half_even), TRN (floor) or RND (half_up), O = SAT
(saturate) or WRAP (wrap).

Layer names: hls4ml keys the configuration by Keras layer name. By default
they follow the models ``encoder train`` builds (``input``, ``input_q``,
each MAC layer under its IR name followed by its ``<name>_act`` QActivation,
the last one ``latent``); ``names_from_keras`` reads them from any QKeras
model instead. The conversion of a QKeras model itself, the one step that
needs TensorFlow, is ``encoder.training.hls4ml_convert.convert``.

Only what hls4ml can express is written: exact products. An IR with the
chip's arithmetic (products floored before the sum) is refused by name.
"""

from __future__ import annotations

import yaml

from .errors import UserError
from .ir.fixed import FixedFormat

ROUNDING = {"half_even": "RND_CONV", "floor": "TRN", "half_up": "RND"}
OVERFLOW = {"saturate": "SAT", "wrap": "WRAP"}

# The float input x = counts * 2^-m (m = floor(log2 module sum)) is exact in this type for every
# count the 22-bit input path admits (x < 2, at most 30 fractional bits); the input quantizer
# layer then rounds it as the IR says.
INPUT_TYPE = "ufixed<32,2,TRN,SAT>"


def ap_type(fmt: FixedFormat, rounding: str = "half_even", overflow: str = "saturate") -> str:
    """An IR format as an hls4ml/ap_fixed type with explicit quantization and overflow modes."""
    if rounding not in ROUNDING:
        raise UserError(f"rounding {rounding!r} has no ap_fixed mode (known: {', '.join(ROUNDING)})")
    if overflow not in OVERFLOW:
        raise UserError(f"overflow {overflow!r} has no ap_fixed mode (known: {', '.join(OVERFLOW)})")
    integer = fmt.bits - fmt.frac
    return f"{'' if fmt.signed else 'u'}fixed<{fmt.bits},{integer},{ROUNDING[rounding]},{OVERFLOW[overflow]}>"


def kit_names(ir) -> dict:
    """Keras layer names of a model built by ``encoder train`` (encoder/training/model.py)."""
    macs = [layer.name for layer in ir.layers if hasattr(layer, "weight")]
    acts = {name: f"{name}_act" for name in macs}
    if macs:
        acts[macs[-1]] = "latent"
    return {"input": "input", "input_quantizer": "input_q", "activations": acts}


def names_from_keras(model, ir) -> dict:
    """The same names read from a QKeras model: its input layer, the QActivation before the first
    MAC layer, and the QActivation after each MAC layer (TensorFlow is already imported by the caller)."""
    layers = list(model.layers)
    macs = [layer.name for layer in ir.layers if hasattr(layer, "weight")]
    position = {layer.name: i for i, layer in enumerate(layers)}
    missing = [m for m in macs if m not in position]
    if missing:
        raise UserError(f"Keras model {model.name!r}: no layer named {missing[0]!r} (the IR's layer); "
                        "export the IR from this model")
    quant = [i for i, layer in enumerate(layers) if type(layer).__name__ == "QActivation"]
    first = position[macs[0]]
    before = [i for i in quant if i < first]
    if not before:
        raise UserError(f"Keras model {model.name!r}: no input quantizer (QActivation) before {macs[0]!r}")
    acts = {}
    for k, m in enumerate(macs):
        end = position[macs[k + 1]] if k + 1 < len(macs) else len(layers)
        after = [i for i in quant if position[m] < i < end]
        if not after:
            raise UserError(f"Keras model {model.name!r}: no QActivation after {m!r}")
        acts[m] = layers[after[0]].name
    return {"input": layers[0].name, "input_quantizer": layers[before[-1]].name, "activations": acts}


def config(ir, names: dict | None = None, *, reuse_factor: int = 1, strategy: str = "Latency") -> dict:
    """The hls4ml configuration dict (``hls_config`` of hls4ml's converters)."""
    names = names or kit_names(ir)
    ip = ir.input
    layer_cfg = {
        names["input"]: {"Precision": {"result": INPUT_TYPE}},
        names["input_quantizer"]: {"Precision": {"result": ap_type(ip.format, ip.rounding, "saturate")}},
    }
    previous = ap_type(ip.format, ip.rounding, "saturate")
    for layer in ir.layers:
        if not hasattr(layer, "weight"):
            if layer.op == "flatten":          # a reshape: its type is its input's
                layer_cfg[layer.name] = {"Precision": {"result": previous}}
            continue
        if getattr(layer, "product_frac", None) is not None:
            raise UserError(f"layer {layer.name}: products rounded to {layer.product_frac} fractional bits before "
                            "the sum (the chip's arithmetic) cannot be expressed in hls4ml; export the IR with "
                            "--arithmetic qkeras")
        acc = ap_type(layer.accumulator, "floor", "wrap")     # exact by interval analysis: never rounds or wraps
        layer_cfg[layer.name] = {"Precision": {
            "weight": ap_type(layer.weight_format), "bias": ap_type(layer.bias_format),
            "accum": acc, "result": acc}}
        # hls4ml splits a QConv2D/QDense into the layer and a linear activation named <name>_linear
        layer_cfg[f"{layer.name}_linear"] = {"Precision": {"result": acc}}
        out = layer.output
        previous = ap_type(out.format, out.rounding, out.overflow)
        layer_cfg[names["activations"][layer.name]] = {"Precision": {"result": previous}}
    return {
        "Model": {"Precision": {"default": "fixed<32,16,RND_CONV,SAT>"}, "ReuseFactor": int(reuse_factor),
                  "Strategy": strategy},
        "LayerName": layer_cfg,
    }


def config_text(ir, names: dict | None = None, **kw) -> str:
    head = (f"# hls4ml configuration of IR {ir.name} ({ir.hash}), written by `encoder export-hls4ml`.\n"
            "# Every type is the IR's exact format with explicit quantization (RND_CONV = half to even,\n"
            "# TRN = floor, RND = half up) and overflow (SAT, WRAP) modes; accumulators are wide enough\n"
            "# for every input (interval analysis), so their modes never act.\n"
            "# Use: hls4ml.converters.convert_from_keras_model(model, hls_config=yaml.safe_load(open(FILE)))\n")
    return head + yaml.safe_dump(config(ir, names, **kw), sort_keys=False)


def parse_type(text: str) -> dict | None:
    """``[ap_][u]fixed<W,I[,Q[,O[,N]]]>`` -> {signed, bits, integer, rounding, overflow} (modes None when
    left out); None for ``auto`` or anything else hls4ml would infer."""
    import re
    m = re.fullmatch(r"\s*(?:ap_)?(u?)fixed<\s*(\d+)\s*,\s*(-?\d+)\s*(?:,\s*(\w+)\s*)?(?:,\s*(\w+)\s*)?"
                     r"(?:,\s*\d+\s*)?>\s*", str(text))
    if not m:
        return None
    return {"signed": m.group(1) == "", "bits": int(m.group(2)), "integer": int(m.group(3)),
            "rounding": m.group(4), "overflow": m.group(5)}


def compare_config(ir, other: dict, names: dict | None = None) -> list[str]:
    """Where an hls4ml configuration (e.g. hls4ml's own ``config_from_keras_model``) departs from
    the IR's exact types: one line per layer and precision. Quantization and overflow modes count
    only where the IR's type can round or overflow (never on weights, biases, accumulators)."""
    want = config(ir, names)["LayerName"]
    have = (other or {}).get("LayerName", {})
    problems = []
    for layer, spec in want.items():
        for key, wtype in spec["Precision"].items():
            got = (have.get(layer, {}).get("Precision") or {})
            got = got.get(key) if isinstance(got, dict) else got
            w, g = parse_type(wtype), parse_type(got) if got is not None else None
            if g is None:
                problems.append(f"{layer}.{key}: {got if got is not None else 'not set'} (hls4ml infers it), "
                                f"IR: {wtype}")
                continue
            same = (w["signed"], w["bits"], w["integer"]) == (g["signed"], g["bits"], g["integer"])
            modes_matter = key == "result" and not layer.endswith("_linear") and layer not in [
                x.name for x in ir.layers if hasattr(x, "weight")]
            if modes_matter and same:
                same = (g["rounding"] or "TRN") == w["rounding"] and (g["overflow"] or "WRAP") == w["overflow"]
            if not same:
                problems.append(f"{layer}.{key}: {got}, IR: {wtype}")
    return problems


def register(sub) -> None:
    p = sub.add_parser(
        "export-hls4ml",
        help="write an IR's exact fixed-point types as an hls4ml configuration (YAML)",
        description="Writes the hls4ml configuration (LayerName granularity) with every precision, "
                    "rounding and saturation mode of the IR explicit, so that hls4ml's conversion of the "
                    "QKeras model computes what the golden model computes. Layer names follow the models of "
                    "`encoder train`; --keras reads them from another QKeras model (imports TensorFlow).",
    )
    p.add_argument("ir", help="encoder IR (JSON), QKeras arithmetic")
    p.add_argument("--out", metavar="CFG.yaml", help="configuration file to write (required unless --check)")
    p.add_argument("--keras", metavar="MODEL.h5", help="read the Keras layer names from this model")
    p.add_argument("--reuse-factor", type=int, default=1, metavar="R", help="hls4ml ReuseFactor (default 1)")
    p.add_argument("--check", metavar="CFG.yaml",
                   help="instead of writing: list where this hls4ml configuration (e.g. hls4ml's own default) "
                        "departs from the IR's exact types; exit 1 if anywhere")
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    p.set_defaults(func=run)


def run(args) -> int:
    from .files import check_writable, write_text
    from .ir import load_ir
    from .inputs import read_yaml
    if args.reuse_factor < 1:
        raise UserError(f"--reuse-factor: {args.reuse_factor} must be at least 1")
    if (args.out is None) == (args.check is None):
        raise UserError("give --out CFG.yaml (write) or --check CFG.yaml (compare), one of them")
    if args.out:
        check_writable(args.out, args.force)
    ir = load_ir(args.ir)
    names = None
    if args.keras:
        from .training.export import load_keras
        names = names_from_keras(load_keras(args.keras), ir)
    if args.check:
        other = read_yaml(args.check, UserError, "no such hls4ml configuration")
        if not isinstance(other, dict) or not isinstance(other.get("LayerName"), dict):
            raise UserError(f"{args.check}: LayerName: missing (an hls4ml configuration with granularity 'name')")
        problems = compare_config(ir, other, names)
        for line in problems:
            print(f"  {line}")
        print(f"{args.check}: {len(problems)} precisions depart from the exact types of {ir.name}" if problems
              else f"{args.check}: every precision equals the IR's exact type")
        return 1 if problems else 0
    text = config_text(ir, names, reuse_factor=args.reuse_factor)
    write_text(args.out, text, overwrite=args.force)
    n = len(config(ir, names)["LayerName"])
    print(f"{args.out}: hls4ml configuration of {ir.name}, {n} layers with explicit types")
    return 0
