"""``encoder ir``: check an IR file, or record a deliberate hand edit in its hash."""

from __future__ import annotations

from pathlib import Path

from ..errors import UserError


def register(sub) -> None:
    p = sub.add_parser(
        "ir", help="check an IR file, or re-hash it after a deliberate hand edit",
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
