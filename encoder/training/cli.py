"""``encoder train``, ``encoder predict`` and ``encoder export``.

Registering the commands imports neither TensorFlow nor QKeras; running
them does (through ``encoder.training.tf_env``).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..ir.arithmetic import ARITHMETICS


def register(sub) -> None:
    p = sub.add_parser(
        "train",
        help="quantization-aware training of a config (QKeras) on a data file",
        description="Train the QKeras encoder and float decoder of a config on a data file. "
                    "The run directory gets config.yaml, encoder.h5, decoder.h5, history.csv, "
                    "history.png and run.json. Same config + seed = same weights.",
    )
    p.add_argument("--config", required=True, help="model config (YAML), e.g. configs/econt_8x8.yaml")
    p.add_argument("--data", required=True, help="data file (.npz) from `encoder data synth|import`")
    p.add_argument("--out", required=True, help="run directory to create")
    p.add_argument("--epochs", type=int, help="cap on the first stage's epochs (overrides training.epochs); "
                                              "early stopping usually ends sooner")
    p.add_argument("--seed", type=int, help="seed of split, initial weights and shuffling (overrides training.seed)")
    p.add_argument("--mix", action="append", default=[], metavar="DATA",
                   help="add the modules of another data file (e.g. imported CMS modules) to training and "
                        "validation; may be given more than once")
    p.add_argument("--force", action="store_true", help="replace an existing run directory")
    p.set_defaults(func=run_train)

    p = sub.add_parser(
        "predict",
        help="float latents and reconstructed cell charges of a trained run",
        description="Run the QKeras encoder and the decoder of a training run on a data file. "
                    "Writes latents (float), reconstructed (cell charges in MIPs, rescaled to the "
                    "module sum), module_sum (counts) and shift.",
    )
    p.add_argument("run", help="run directory from `encoder train`")
    p.add_argument("--data", required=True, help="data file (.npz)")
    p.add_argument("--out", required=True, help="output .npz")
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    p.set_defaults(func=run_predict)

    p = sub.add_parser(
        "export",
        help="export a QKeras encoder to the integer IR (JSON)",
        description="Turn a trained QKeras encoder into the integer IR: integer weights and biases, "
                    "fixed-point formats of input, weights, biases, accumulators, activations and "
                    "latents, layer shapes, the input path and a content hash. Give a run directory, "
                    "or --keras MODEL.h5 with the input path from --input-config and/or options.",
    )
    p.add_argument("run", nargs="?", help="run directory from `encoder train`")
    p.add_argument("--keras", metavar="MODEL.h5", help="a QKeras encoder trained elsewhere (instead of a run)")
    p.add_argument("--out", required=True, help="IR file to write (e.g. RUN/ir.json)")
    p.add_argument("--arithmetic", choices=ARITHMETICS, default="qkeras",
                   help="qkeras: what QKeras computes (half-even rounding, exact products); econt: the "
                        "ECON-T chip's rules (truncated inputs, products floored before the sum)")
    p.add_argument("--name", help="IR name (default: the config name or the model file's stem)")
    p.add_argument("--input-config", metavar="YAML",
                   help="input-path settings for --keras: a small YAML with geometry, arrangement, "
                        "charge_bits, counts_per_mip, normalisation, shift (or a full model config)")
    p.add_argument("--geometry", help="sensor geometry (hgcal, square8) for --keras")
    p.add_argument("--arrangement", help="input arrangement (8x8, 4x4x3) for --keras")
    p.add_argument("--charge-bits", type=int, help="input charge width in bits (default 22)")
    p.add_argument("--counts-per-mip", type=float, help="input counts per MIP (default 35)")
    p.add_argument("--normalisation", choices=("leading_one", "fixed_shift"), help="default leading_one")
    p.add_argument("--shift", type=int, help="shift for fixed_shift normalisation")
    p.add_argument("--check", metavar="DATA",
                   help="after export, run QKeras and the golden model on this data file and fail "
                        "unless they agree bit for bit (qkeras arithmetic)")
    p.add_argument("--force", action="store_true", help="replace an existing IR file")
    p.set_defaults(func=run_export)


def _print_warnings(caught) -> None:
    for w in caught:
        print(f"warning: {w.message}")


def run_train(args) -> int:
    from ..data import load_data
    from .config import load_config
    from ..files import check_writable

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cfg = load_config(args.config)
    _print_warnings(caught)
    if args.epochs is not None and args.epochs < 1:
        raise UserError(f"--epochs {args.epochs}: must be >= 1")
    check_writable(args.out, args.force)
    data = load_data(args.data)
    mix = [(m, load_data(m)) for m in args.mix]
    from .train import train
    res = train(cfg, data, args.out, epochs=args.epochs, seed=args.seed, force=args.force,
                data_path=args.data, mix=mix)
    emd = f", validation EMD {res.best_val_emd:.4f}" if res.best_val_emd == res.best_val_emd else ""
    print(f"{res.out}: {cfg.name}, {res.n_params:,} encoder weights and biases; {res.n_train} training / "
          f"{res.n_val} validation modules; {res.epochs_run} epochs in {res.train_seconds:.0f} s, kept epoch "
          f"{res.best_epoch} (validation loss {res.best_val_loss:.6g}{emd}); stopped: {res.stop_reason}")
    return 0


def run_predict(args) -> int:
    from ..data import load_data
    from ..files import check_writable, save_npz
    from .predict import Run

    run = Run(args.run)
    check_writable(args.out, args.force)
    data = load_data(args.data)
    from .inputs import check_data
    check_data(run.config, data.charges, data.geometry, args.data)
    res = run.predict(data.charges)
    lsb = 2.0 ** -run.config.latent.activation.unsigned_format().frac
    save_npz(args.out, overwrite=args.force, latent_lsb=np.array(lsb), **res)
    print(f"{args.out}: {data.n_modules} modules, {run.config.latent.size} latents, "
          f"{res['reconstructed'].shape[1]} reconstructed cells each")
    return 0


def _settings(args):
    from .config import InputSettings, load_input_settings, parse_input_settings
    base = InputSettings()
    if args.input_config:
        base = load_input_settings(args.input_config)
    opts = {k: v for k, v in (("geometry", args.geometry), ("arrangement", args.arrangement),
                              ("charge_bits", args.charge_bits), ("counts_per_mip", args.counts_per_mip),
                              ("normalisation", args.normalisation), ("shift", args.shift)) if v is not None}
    return parse_input_settings(opts, "command-line options", base)


def run_export(args) -> int:
    from ..files import check_writable
    from ..ir import save_ir

    if (args.run is None) == (args.keras is None):
        raise UserError("give either a run directory or --keras MODEL.h5")
    check_writable(args.out, args.force)
    if args.run is not None:
        from .config import InputSettings
        from .train import ENCODER_FILE, read_run_config
        if args.input_config or any(v is not None for v in (args.geometry, args.arrangement, args.charge_bits,
                                                             args.counts_per_mip, args.normalisation, args.shift)):
            raise UserError("input-path options are for --keras; a run directory has its config")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cfg = read_run_config(args.run)
        settings = InputSettings.from_config(cfg)
        model_path = Path(args.run) / ENCODER_FILE
        name = args.name or cfg.name
        source = {"from": "encoder train", "config": cfg.name, "model": ENCODER_FILE}
    else:
        settings = _settings(args)
        model_path = Path(args.keras)
        name = args.name or model_path.stem
        source = {"from": "qkeras model", "model": model_path.name}
    from .export import export_model, load_keras
    model = load_keras(model_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ir = export_model(model, settings, name=name, arithmetic=args.arithmetic, source=source)
    _print_warnings(caught)
    if args.check:
        _check(model, ir, args.check, args.arithmetic)
    save_ir(ir, args.out, overwrite=args.force)
    print(f"{args.out}: {ir.name}, {ir.n_params:,} weights and biases ({ir.arithmetic} arithmetic), "
          f"{ir.n_latent} latents of {ir.latent_format}; {ir.hash}")
    print(f"  input {ir.input.format} ({ir.input.rounding}) from {ir.input.charge_bits}-bit counts, "
          f"{ir.input.counts_per_mip:g} per MIP, {ir.input.arrangement} {list(ir.input.shape)}")
    for layer in ir.layers:
        if hasattr(layer, "weight"):
            print(f"  {layer.name:<8} {layer.op:<6} {list(layer.input_shape)} -> {list(layer.output_shape)}: "
                  f"weights {layer.weight_format}, bias {layer.bias_format}, accumulator {layer.accumulator}, "
                  f"{layer.activation} -> {layer.output.format}")
    return 0


def _check(model, ir, data_path, arithmetic) -> None:
    from ..data import load_data
    from .. import inputpath
    from .verify import compare
    if arithmetic != "qkeras":
        raise UserError("--check compares with QKeras, which follows --arithmetic qkeras only")
    data = load_data(data_path)
    if data.charges.shape[1] != ir.input.n_cells:
        raise UserError(f"{data_path}: {data.charges.shape[1]} cells per module, the model has {ir.input.n_cells}")
    counts = inputpath.to_counts(data.charges, ir.input.counts_per_mip, ir.input.charge_bits).counts
    cmp = compare(model, ir, counts)
    if not cmp.exact:
        raise UserError(f"{data_path}: golden model and QKeras differ on {cmp.n_mismatched_modules} of "
                        f"{cmp.n_modules} modules (first: module {cmp.first_mismatch}, up to "
                        f"{cmp.max_code_difference:g} codes)")
    print(f"check: golden model equals QKeras bit for bit on {cmp.n_modules} modules of {data_path}")
