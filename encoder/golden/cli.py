"""``encoder golden``: run the integer golden model on a data file."""

from __future__ import annotations

import numpy as np

from ..data import load_data
from ..errors import UserError
from ..files import check_writable, save_npz
from ..ir import load_ir
from .model import run as golden_run


def register(sub) -> None:
    p = sub.add_parser(
        "golden",
        help="run the integer golden model (the hardware spec) on a data file",
        description="Integer NumPy model of the whole hardware path: raw cell charges in, "
                    "latent codes and the module-sum code out. Does not import TensorFlow.",
    )
    p.add_argument("ir", help="encoder IR (JSON) from `encoder export` or `encoder econt import`")
    p.add_argument("--data", required=True, help="data file (.npz) from `encoder data synth|import`")
    p.add_argument("--out", required=True, help="output .npz: latents, sum_code, module_sum, shift")
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    p.set_defaults(func=run)


def run(args) -> int:
    check_writable(args.out, args.force)
    ir = load_ir(args.ir)
    data = load_data(args.data)
    if data.charges.shape[1] != ir.input.n_cells:
        raise UserError(f"{args.data}: {data.charges.shape[1]} cells per module, the IR expects {ir.input.n_cells}")
    try:
        from tqdm import tqdm
        bar = tqdm(total=data.n_modules, unit="module", desc="golden", disable=None)
        res = golden_run(ir, data.charges, progress=bar.update)
        bar.close()
    except ValueError as exc:
        raise UserError(f"{args.data}: {exc}") from None
    save_npz(args.out, overwrite=args.force, latents=res.latents, sum_code=res.sum_code,
             module_sum=res.module_sum, shift=res.shift, ir_hash=np.array(ir.hash),
             latent_frac=np.array(ir.latent_format.frac))
    if res.n_clipped:
        from ..errors import warn
        warn(f"{args.data}: {res.n_clipped} cell charges exceed the {ir.input.charge_bits}-bit input "
             f"({ir.input.counts_per_mip:g} counts per MIP) and were clipped, as the chip would")
    print(f"{args.out}: {data.n_modules} modules, {ir.n_latent} latents of {ir.latent_format} "
          f"+ {ir.input.sum_exp_bits + ir.input.sum_mant_bits}-bit module-sum code; "
          f"{res.n_clipped} cells clipped at {ir.input.charge_bits} bits")
    return 0
