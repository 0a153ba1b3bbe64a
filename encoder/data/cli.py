"""``encoder data``: make, import, describe and compare sensor-module data sets."""

from __future__ import annotations

import math
import time
from pathlib import Path

from ..errors import UserError
from ..files import check_writable


# Bounds that keep memory finite: pileup particles are generated per module (about 0.08 per unit of
# mu), and one data file is held in memory whole (48 cells x 8 bytes per module).
MAX_PILEUP = 1000.0
MAX_MODULES = 100_000_000


def register(sub) -> None:
    p = sub.add_parser(
        "data",
        help="sensor-module data: synthetic showers, CSV import, summaries, comparisons",
        description="Make, import, describe and compare data sets of trigger-cell charges "
                    "(transverse MIPs, one row per module, stored as .npz).",
    )
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    s = dsub.add_parser(
        "synth", help="generate synthetic modules (EM showers at shower max, pileup, noise)",
        description="Generate HGCAL-like modules at shower maximum: jet-like groups of "
                    "electromagnetic showers (Poisson numbers of 0.0625 GeV spots, exponential "
                    "radial profile, r0 = 1 cm, falling E_T spectrum, impact points up to and "
                    "beyond the module edges), "
                    "pileup photons and charged hadrons, per-cell noise and zero suppression. "
                    "Charges are transverse MIPs; all-zero modules are dropped; per-module truth "
                    "(signal energy, impact point, pileup) is stored beside the charges. "
                    "Deterministic for a seed.")
    s.add_argument("--modules", type=int, required=True, metavar="N", help="number of (non-empty) modules")
    s.add_argument("--seed", type=int, default=1, metavar="S",
                   help="random seed (default 1, as every command of the kit; the same seed gives the same modules)")
    s.add_argument("--out", required=True, metavar="FILE.npz", help="output data file")
    s.add_argument("--pileup", type=float, default=200.0, metavar="MU",
                   help="pileup interactions per crossing (default 200)")
    s.add_argument("--geometry", default="hgcal", help="sensor geometry: hgcal (default) or square8")
    s.add_argument("--force", action="store_true", help="replace an existing output file")
    s.set_defaults(func=run_synth)

    i = dsub.add_parser(
        "import", help="import an ECON-T CSV of trigger-cell charges",
        description="Read a CSV with one module per row: a header naming CALQ_0..CALQ_47 (other "
                    "columns are kept as meta_* arrays), or no header and the 48 charges first. "
                    "Charges are stored in MIPs = value / --units-per-mip. Lines in error messages "
                    "count from 1, the header included.")
    i.add_argument("csv", metavar="FILE.csv", help="input CSV")
    i.add_argument("--out", required=True, metavar="FILE.npz", help="output data file")
    i.add_argument("--units-per-mip", type=float, default=None, metavar="U",
                   help="CSV units per transverse MIP (default 1: values already in MIPs; "
                        "the CMS ttbar file uses about 35)")
    i.add_argument("--geometry", default="hgcal", help="sensor geometry of the modules (default hgcal)")
    i.add_argument("--force", action="store_true", help="replace an existing output file")
    i.set_defaults(func=run_import)

    n = dsub.add_parser(
        "info", help="summarise a data file",
        description="Modules, occupancy (cells above 1 MIP), module-sum quantiles, "
                    "fraction of zero cells, largest cell, stored truth and metadata.")
    n.add_argument("data", metavar="FILE.npz", help="data file")
    n.add_argument("--json", action="store_true", help="print the summary as JSON (with units) instead of a table")
    n.set_defaults(func=run_info)

    c = dsub.add_parser(
        "compare", help="compare two data files side by side (table and plot)",
        description="Occupancy, module sum, largest cell and charge spectrum of two data sets, "
                    "as a table and optionally a four-panel plot.")
    c.add_argument("a", metavar="A.npz", help="first data file")
    c.add_argument("b", metavar="B.npz", help="second data file")
    c.add_argument("--plot", metavar="FILE.png", help="write the comparison plot here")
    c.add_argument("--force", action="store_true", help="replace an existing plot file")
    c.set_defaults(func=run_compare)


def _geometry(name: str):
    from .. import geometry
    try:
        return geometry.load(name)
    except KeyError as exc:
        raise UserError(f"--geometry: {exc.args[0]}") from None


def _bar(total: int, unit: str, desc: str, **kw):
    from tqdm import tqdm
    return tqdm(total=total, unit=unit, desc=desc, disable=None, **kw)


def run_synth(args) -> int:
    from .store import save_data
    from .summary import format_summary, summarize
    from .synth import ShowerModel, describe, synthesize

    if args.modules < 1:
        raise UserError(f"--modules must be at least 1, got {args.modules}")
    if not (math.isfinite(args.pileup) and 0 <= args.pileup <= MAX_PILEUP):
        raise UserError(f"--pileup must be a number in 0..{MAX_PILEUP:g} (the HL-LHC has 140-200), "
                        f"got {args.pileup:g}")
    if args.modules > MAX_MODULES:
        raise UserError(f"--modules: {args.modules:,} is more than {MAX_MODULES:,}; make several files")
    geometry = _geometry(args.geometry)
    check_writable(args.out, args.force)
    if not 0 <= args.seed < 2**63:
        raise UserError(f"--seed must be an integer in 0..2^63-1, got {args.seed}")
    model = ShowerModel(pileup_mu=args.pileup)
    t0 = time.perf_counter()
    with _bar(args.modules, "module", "synth") as bar:
        data = synthesize(args.modules, args.seed, geometry, model, progress=bar.update)
    elapsed = time.perf_counter() - t0
    save_data(args.out, data, overwrite=args.force)
    print(f"{args.out}: {data.n_modules:,} synthetic modules on {geometry.name} in {elapsed:.1f} s; "
          f"{describe(model)}")
    print(format_summary(summarize(data)))
    return 0


def run_import(args) -> int:
    from .csv_import import import_csv
    from .store import save_data
    from .summary import format_summary, summarize

    geometry = _geometry(args.geometry)
    check_writable(args.out, args.force)
    path = Path(args.csv)
    size = path.stat().st_size if path.is_file() else 0
    units = 1.0 if args.units_per_mip is None else args.units_per_mip
    with _bar(size, "B", "import", unit_scale=True) as bar:
        res = import_csv(path, units, geometry.n_cells, geometry.name, progress=bar.update)
    if args.units_per_mip is None:
        _warn_implausible_mips(res.data, path)
    save_data(args.out, res.data, overwrite=args.force)
    print(f"{args.out}: {res.data.n_modules:,} modules from {path} "
          f"({'with' if res.header else 'without'} header, {units:g} units per MIP, "
          f"{res.zero_rows:,} all-zero rows kept)")
    print(format_summary(summarize(res.data)))
    return 0


# Median module sum (MIP) above which a file imported without --units-per-mip is surely not in MIPs:
# HGCAL modules at shower maximum have medians of 5-20 MIP (the CMS ttbar file: 17 MIP).
PLAUSIBLE_MEDIAN_SUM_MIP = 200.0


def _warn_implausible_mips(data, path) -> None:
    import numpy as np

    from ..errors import warn
    sums = data.charges.sum(axis=1)
    median = float(np.median(sums)) if len(sums) else 0.0
    if median > PLAUSIBLE_MEDIAN_SUM_MIP:
        warn(f"{path}: median module sum {median:,.0f} MIP if the values are MIPs (typical: 5-20); they look "
             "like raw counts: pass --units-per-mip (the CMS ttbar file has about 35 per MIP)")


def run_info(args) -> int:
    from .store import load_data
    from .summary import format_summary, summarize

    data = load_data(args.data)
    if data.n_modules == 0:
        raise UserError(f"{args.data}: no modules")
    if args.json:
        import json
        from .summary import summary_dict
        print(json.dumps(summary_dict(summarize(data), str(args.data)), indent=1))
        return 0
    print(f"{args.data}")
    print(format_summary(summarize(data)))
    return 0


def run_compare(args) -> int:
    from .store import load_data
    from .summary import format_comparison, summarize

    if args.plot:
        check_writable(args.plot, args.force)
    datasets = [load_data(args.a), load_data(args.b)]
    for path, d in zip((args.a, args.b), datasets):
        if d.n_modules == 0:
            raise UserError(f"{path}: no modules")
    names = [Path(args.a).stem, Path(args.b).stem]
    if names[0] == names[1]:
        names = [str(args.a), str(args.b)]
    print(format_comparison(names, [summarize(d) for d in datasets]))
    if args.plot:
        from .plots import compare_plot
        compare_plot(args.plot, names, datasets, overwrite=args.force)
        print(f"plot: {args.plot}")
    return 0
