"""``encoder ir``: check an IR file, or record a deliberate hand edit in its hash."""

from __future__ import annotations

from pathlib import Path

from ..errors import UserError


def register(sub) -> None:
    p = sub.add_parser(
        "ir", help="check an IR file, re-hash it after a deliberate hand edit, or set its codes to their limits",
        description="Every command checks an IR fully when it reads it (each field's type and range, "
                    "unknown fields, shapes, codes inside their formats, accumulator widths, and the "
                    "content against its hash). `check` does only that; `rehash` checks everything but "
                    "the hash and writes the file with the hash of its present content.")
    isub = p.add_subparsers(dest="ir_command", metavar="ACTION", required=True)
    c = isub.add_parser("check", help="check an IR file and print its summary and hash")
    c.add_argument("ir", metavar="IR.json")
    c.set_defaults(func=run_check)
    r = isub.add_parser("rehash", help="record a deliberate hand edit: check every field, write a new hash",
                        description="For an IR edited by hand on purpose: every field is checked as on "
                                    "load, then the file is written with the hash of its present content.")
    r.add_argument("ir", metavar="IR.json")
    where = r.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", metavar="NEW.json", help="write the re-hashed IR here")
    where.add_argument("--in-place", action="store_true", help="replace IR.json itself (atomically)")
    r.add_argument("--force", action="store_true", help="replace an existing --out file")
    r.set_defaults(func=run_rehash)
    x = isub.add_parser("extreme", help="the IR with every weight and bias code at its format's limits",
                        description="Writes IR.json with every weight and bias code replaced, tensor by tensor "
                                    "within its own fixed-point format: max (all at the largest code), min (all "
                                    "at the smallest: the most negative, or 0 when unsigned), alternating (max "
                                    "and min by turns in storage order) or uniform (drawn over the whole range, "
                                    "seeded). Same layers, shapes and formats; accumulators inferred again. For "
                                    "constant-weight regressions at the extremes: generate a design from the "
                                    "new IR (programmable designs take the set directly: encoder sim "
                                    "--weights-set).")
    x.add_argument("ir", metavar="IR.json")
    x.add_argument("--set", required=True, dest="weight_set", choices=("max", "min", "alternating", "uniform"),
                   help="which codes")
    x.add_argument("--seed", type=int, default=1, metavar="S", help="seed of the uniform set (default 1)")
    x.add_argument("--out", required=True, metavar="NEW.json", help="where to write the new IR")
    x.add_argument("--force", action="store_true", help="replace an existing --out file")
    x.set_defaults(func=run_extreme)


def run_check(args) -> int:
    from .irfile import load_ir
    ir = load_ir(args.ir)
    print(f"{args.ir}: valid; {ir.name}, {ir.n_params} weights and biases, {ir.n_latent} latents of "
          f"{ir.latent_format}; {ir.hash}")
    return 0


def run_rehash(args) -> int:
    from ..inputs import allow_in_place
    from .document import IRError
    from .irfile import read_ir_document, save_ir
    from .schema import EncoderIR

    path = Path(args.ir)
    d = read_ir_document(path)
    old = d.pop("hash", None) if isinstance(d, dict) else None
    try:
        ir = EncoderIR.from_dict(d)
    except IRError as exc:
        raise IRError(f"{path}: {exc}") from None
    if args.in_place:
        with allow_in_place(path):
            save_ir(ir, path, overwrite=True)
        out = path
    else:
        out = Path(args.out)
        if out.exists() and not args.force:
            raise UserError(f"{out}: already exists; pass --force to replace it")
        save_ir(ir, out, overwrite=args.force)
    if old == ir.hash:
        print(f"{out}: content unchanged; hash {ir.hash}")
    else:
        print(f"{out}: hash {old or '(none)'} -> {ir.hash}")
    return 0


def run_extreme(args) -> int:
    from .extreme import extreme_ir
    from .irfile import load_ir, save_ir
    out = Path(args.out)
    if out.exists() and not args.force:
        raise UserError(f"{out}: already exists; pass --force to replace it")
    ir = extreme_ir(load_ir(args.ir), args.weight_set, args.seed)
    save_ir(ir, out, overwrite=args.force)
    print(f"{out}: {ir.name}, {ir.n_params} codes set to {args.weight_set}; {ir.hash}")
    return 0
