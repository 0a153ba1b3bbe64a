"""``encoder verify``: sign-off checks of a generated design (mutation score, formal equivalence)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("verify", help="sign-off checks: mutation score of the regression, formal equivalence",
                       description="Sign-off checks of generated designs: `verify mutate` plants bugs in copies "
                                   "of a design and reports which the regression catches; `verify equiv` "
                                   "proves two designs of one IR equal, module by module, with yosys.")
    vsub = p.add_subparsers(dest="verify_command", metavar="CHECK", required=True)

    m = vsub.add_parser("mutate", help="mutation score of the `encoder sim` regression on a generated design",
                        description="Plants one bug per mutant in a copy of DIR (an operator swapped, a bit "
                                    "dropped, a constant off by one, a register stage skipped, a mux select "
                                    "inverted; sites drawn from the seed over the generated modules and the "
                                    "primitive copies alike), runs the regression on each and classifies it: "
                                    "killed, killed by build, survived, or equivalent (a survivor yosys proves "
                                    "equal to the original module). DIR is never written. Writes "
                                    "OUT/mutation.json and OUT/mutation.txt.")
    m.add_argument("design", metavar="DIR", help="design directory from `encoder rtl`")
    m.add_argument("--mutants", type=int, default=20, metavar="N", help="mutants to plant (default 20)")
    m.add_argument("--seed", type=int, default=1, metavar="S",
                   help="seed of the mutation sites and of the regression's vectors (default 1)")
    m.add_argument("--sim", choices=("icarus", "verilator"), default="icarus", help="simulator (default icarus)")
    m.add_argument("--vectors", type=int, default=300, metavar="V",
                   help="vectors per mutant (default 300; corner cases and saturating inputs always included)")
    m.add_argument("--equiv-timeout", type=float, default=120.0, metavar="SEC",
                   help="seconds per yosys proof of a survivor (default 120)")
    m.add_argument("--keep", action="store_true", help="keep every mutant's copy, build and run folder")
    m.add_argument("--out", metavar="OUT", help="report folder (default DIR_mutation_s<S> beside DIR)")
    m.add_argument("--force", action="store_true", help="replace OUT")
    m.set_defaults(func=_mutate)

    e = vsub.add_parser("equiv", help="formal equivalence of two designs of one IR, per module (yosys)",
                        description="Proves A and B equal module by module with yosys SAT miters: a constant-"
                                    "weight design against the programmable one with its weights tied to the "
                                    "IR's codes (each layer cut at its requantizers: accumulators equal as "
                                    "integers, requantizers proven pair by pair; the whole layer if that "
                                    "leaves it open); two --pipeline settings of one weights mode; or the RTL A "
                                    "against the mapped netlist in B (a folder from `encoder synth --liberty`; "
                                    "each module through itself as encoder synth's yosys session, replayed, "
                                    "builds it before mapping: the RTL against that algebraically, that against "
                                    "the netlist by SAT sweeping). "
                                    "A combinational module goes to ABC's SAT sweeping (iprove), or (--engine) to "
                                    "algebraic rewriting of each output word into a polynomial of the input "
                                    "bits, which proves sums built in different orders. Each module: "
                                    "equivalent, not equivalent (a "
                                    "counterexample), not proven, timeout. Exit code 1 unless every module is "
                                    "proven equivalent.")
    e.add_argument("a", metavar="A", help="design directory")
    e.add_argument("b", metavar="B", help="design directory, or a synthesis folder holding netlist.v")
    e.add_argument("--timeout", type=float, default=600.0, metavar="SEC", help="seconds per module (default 600)")
    e.add_argument("--engine", choices=("sat", "algebra", "both"), default="sat",
                   help="combinational modules: sat = ABC iprove (default); algebra = algebraic rewriting of each "
                        "output word; both = iprove for half the time, then algebraic rewriting")
    e.add_argument("--out", metavar="FILE", help="write the results as JSON")
    e.add_argument("--force", action="store_true", help="replace FILE")
    e.set_defaults(func=_equiv)


def _mutate(args) -> int:
    from .mutate import MutateOptions, run_mutation
    opts = MutateOptions(mutants=args.mutants, seed=args.seed, sim=args.sim, vectors=args.vectors,
                         out=args.out, force=args.force, equiv_timeout=args.equiv_timeout, keep=args.keep)
    code, _ = run_mutation(args.design, opts)
    return code


def _equiv(args) -> int:
    import json
    from pathlib import Path

    from ..errors import UserError
    from ..files import write_text
    from .equiv import compare
    if args.timeout <= 0:
        raise UserError("--timeout must be positive")
    if args.out and Path(args.out).exists() and not args.force:
        raise UserError(f"{args.out}: exists; pass --force to replace it")   # before hours of proofs
    print(f"encoder verify equiv: {args.a} against {args.b}")
    result = compare(args.a, args.b, timeout=args.timeout, engine=args.engine)
    counts = {}
    for row in result["modules"]:
        counts[row["result"]] = counts.get(row["result"], 0) + 1
    claim = "proven" if set(counts) == {"equivalent"} else "not proven, as not every row is equivalent"
    print(f"encoder verify equiv ({result['mode']}): {claim}: {result['statement']}")
    print("encoder verify equiv: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    if args.out:
        write_text(args.out, json.dumps(result, indent=1) + "\n", overwrite=args.force)
    return 0 if set(counts) == {"equivalent"} else 1
