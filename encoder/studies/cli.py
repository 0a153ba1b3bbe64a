"""``encoder evaluate`` and ``encoder study``.

Registering imports neither TensorFlow nor Dask; running the commands does.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UserError


def register(sub) -> None:
    p = sub.add_parser(
        "evaluate",
        help="reconstruction quality and bandwidth of a trained model against the baselines",
        description="Score a training run on a data file: the autoencoder as the chip sends it "
                    "(golden-model latent codes and module-sum code, decoded by the float decoder "
                    "and rescaled to the transmitted sum), its float QKeras path, and the non-ML "
                    "algorithms on the same modules (threshold low/high, STC4, STC16, best choice). "
                    "Writes metrics.json, metrics.csv, binned EMD tables, per-module arrays and plots "
                    "(EMD histograms, EMD versus occupancy, event displays) into a new directory.",
    )
    p.add_argument("run", help="run directory from `encoder train`")
    p.add_argument("--data", required=True, help="data file (.npz) from `encoder data synth|import`")
    p.add_argument("--out", required=True, help="output directory to create")
    p.add_argument("--ir", help="encoder IR (JSON) to run through the golden model "
                                "(default: the run's encoder exported with QKeras arithmetic)")
    p.add_argument("--elinks", type=int, help="e-link budget of the module: best choice's N and the "
                                              "over-budget fraction (default: the config's elinks, else "
                                              "the e-links of the autoencoder word)")
    p.add_argument("--jobs", type=int, default=1, metavar="J", help="processes for the EMD (default 1)")
    p.add_argument("--workers", type=int, dest="jobs", default=argparse.SUPPRESS, help=argparse.SUPPRESS)      # old spelling, kept for scripts
    p.add_argument("--no-plots", action="store_true", help="skip the plots")
    p.add_argument("--force", action="store_true", help="replace an existing output directory")
    p.set_defaults(func=run_evaluate)

    s = sub.add_parser(
        "study",
        help="sweep model configs: train, export, golden model and evaluate each point (Dask)",
        description="Run a sweep from a study config (YAML; see configs/study_elinks.yaml): every "
                    "point is trained, exported to the IR, run through the golden model and "
                    "evaluated; the baselines are scored on the same modules. Points run on Dask "
                    "(a local cluster of worker processes, or --scheduler). Resumable: a finished "
                    "point (OUT/points/<id>/result.json) is never computed again. Sweep keys may be any "
                    "model-config key (e-links, latent bits, filters, training.loss, learning rate, batch, "
                    "training.train_modules, ...). Per e-link budget the point with the lowest validation "
                    "EMD (its run's own validation modules, never the held-out or further data) is kept. "
                    "Writes OUT/table.csv, OUT/table.md, OUT/pareto.png, OUT/report.md and OUT/selected.json.",
    )
    s.add_argument("--config", required=True, help="study config (YAML)")
    s.add_argument("--out", required=True, help="study directory (created, or resumed when it exists)")
    s.add_argument("--scheduler", metavar="ADDRESS",
                   help="address of a running Dask scheduler (e.g. tcp://host:8786); its workers must "
                        "see the same file system and have the kit installed")
    s.add_argument("--jobs", type=int, default=2, metavar="J",
                   help="worker processes of the local cluster, one thread each (default 2)")
    s.add_argument("--workers", type=int, dest="jobs", default=argparse.SUPPRESS, help=argparse.SUPPRESS)      # old spelling, kept for scripts
    s.add_argument("--force", action="store_true",
                   help="start over: discard the finished points of an earlier run in --out (default: resume)")
    s.add_argument("--in-process", action="store_true",
                   help="run the local cluster's single worker as a thread of this process "
                        "(no worker processes; for debugging)")
    s.add_argument("--max-points", type=int, metavar="K",
                   help="stop after K points have finished in this invocation (rerun to continue)")
    s.set_defaults(func=run_study)


def run_evaluate(args) -> int:
    from ..data import load_data
    from ..files import check_writable

    if args.jobs < 1:
        raise UserError(f"--jobs {args.jobs}: must be >= 1")
    if args.elinks is not None and args.elinks < 1:
        raise UserError(f"--elinks {args.elinks}: must be >= 1")
    check_writable(args.out, args.force)
    data = load_data(args.data)
    if data.n_modules == 0:
        raise UserError(f"{args.data}: no modules")
    ir = None
    if args.ir:
        from ..ir import load_ir
        ir = load_ir(args.ir)
    from .evaluate import evaluate, load_run
    from .outputs import headline, write_evaluation
    run = load_run(args.run)
    ev = evaluate(run, data, ir, n_elinks=args.elinks, workers=args.jobs, ir_path=args.ir,
                  data_path=args.data)
    if not ev.meta["ir"]["matches_run_weights"]:
        print(f"warning: {args.ir}: weights differ from the run's encoder; the decoder was trained "
              f"with other latents")
    write_evaluation(ev, args.out, overwrite=args.force, plot=not args.no_plots)
    print(f"{args.out}: {ev.meta['n_modules']:,} modules of {args.data}, run {args.run}")
    print(headline(ev))
    return 0


def run_study(args) -> int:
    from .runner import run_study as run
    if args.jobs < 1:
        raise UserError(f"--jobs {args.jobs}: must be >= 1")
    if args.max_points is not None and args.max_points < 1:
        raise UserError(f"--max-points {args.max_points}: must be >= 1")
    if args.in_process and args.scheduler:
        raise UserError("--in-process and --scheduler exclude each other")
    if args.force:
        from ..files import discard
        from .study_config import load_study
        load_study(args.config)             # a bad config is refused before anything is discarded
        out = Path(args.out)
        lock = None
        if out.is_dir() and (out / "study.yaml").is_file():
            from .runner import _lock
            lock = _lock(out)               # refused while another `encoder study` runs there
        try:
            if discard(out, marker="study.yaml"):
                print(f"{args.out}: earlier study discarded (--force); starting over")
        finally:
            if lock is not None:
                lock.close()
    outcome = run(Path(args.config), Path(args.out), scheduler=args.scheduler,
                  workers=1 if args.in_process else args.jobs, in_process=args.in_process,
                  max_points=args.max_points)
    return 0
