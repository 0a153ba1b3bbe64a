"""``encoder sim``: verify a generated design against the golden model with cocotb."""

from __future__ import annotations

from ..ir.extreme import WEIGHT_SETS


def register(sub) -> None:
    p = sub.add_parser(
        "sim",
        help="simulate a generated design with cocotb and check it against the golden model",
        description="Builds DIR (from `encoder rtl`) with Icarus Verilog or Verilator through the cocotb "
                    "runner, drives corner cases, saturating inputs, random raw charges and data-file "
                    "modules back to back and with random gaps, resets mid-stream, loads and reads back "
                    "the weights of programmable designs (and a second weight set mid-run), and compares "
                    "every output and its latency with the golden model; on designs with the e-link framing block "
                    "(`encoder rtl --elinks`) it also drives bx_reset and checks every tx_data frame and its "
                    "latency against the golden outputs framed as on the chip. Writes summary.json, results.xml "
                    "(JUnit) and, on failure, failures.json. Exit code 1 on any mismatch.",
    )
    p.add_argument("design", metavar="DIR", help="design directory holding manifest.json and the Verilog")
    p.add_argument("--sim", choices=("icarus", "verilator"), default="icarus",
                   help="simulator (default icarus, the reference; verilator is faster for long runs)")
    p.add_argument("--vectors", type=int, default=2000, metavar="N",
                   help="vectors to check (default 2000; corner cases and saturating inputs always included)")
    p.add_argument("--data", metavar="D", help="data file (.npz) to draw half of the random vectors from")
    p.add_argument("--seed", type=int, default=1, metavar="S", help="seed of vectors, gaps and events (default 1)")
    p.add_argument("--waves", action="store_true", help="record waveforms (FST for icarus, VCD for verilator)")
    p.add_argument("--jobs", type=int, default=1, metavar="J", help="shards simulated in parallel (default 1)")
    p.add_argument("--out", metavar="RUN_DIR",
                   help="run directory (default BUILD/runs/<top>-<sim>-<time>); must not exist unless --force")
    p.add_argument("--build-dir", metavar="BUILD",
                   help="simulator build cache (default $ENCODER_SIM_BUILD, else sim/build of the kit's repository, "
                        "else ~/.cache/encoder/sim/build; never the current folder)")
    p.add_argument("--ir", help="IR the design implements (default: the one its manifest records)")
    p.add_argument("--weights-set", choices=("trained",) + WEIGHT_SETS, default="trained", metavar="SET",
                   help="programmable designs: the weight set loaded through the configuration port first: "
                        "trained (the IR's own codes, default) or, tensor by tensor at its format's limits, max, "
                        "min, alternating (max and min by turns) or uniform (over the whole range, --seed). A "
                        "constant design has its weights in the Verilog: regenerate it from `encoder ir extreme`")
    p.add_argument("--reload-ir", metavar="IR2",
                   help="programmable designs: weight set loaded mid-run (same architecture; default: the "
                        "design's IR with its codes shuffled, seeded)")
    p.add_argument("--replay", metavar="FILE", help="rerun the failing vectors saved in FILE (failures.json)")
    p.add_argument("--model-opt", choices=("auto", "fast-build", "fast-sim"), default="auto",
                   help="verilator: compile the model without optimisation (fast-build) or with -O1 "
                        "(fast-sim); auto picks fast-build up to 20,000 vectors")
    p.add_argument("--netlist", metavar="SYNTHDIR",
                   help="gate-level run: simulate SYNTHDIR/netlist.v (from `encoder synth DIR --liberty`) with the "
                        "library's cell models instead of DIR's Verilog; same testbench, manifest and golden model")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run the --jobs shards on a Dask cluster (e.g. tcp://host:8786) instead of local threads; "
                        "same plan, build and results as a local run; the workers must see the same file system "
                        "and have the kit and the simulator installed")
    p.add_argument("--bulk", action="store_true",
                   help="bulk mode: the whole stimulus (weight load, read-back, vectors, reset, reload) as a "
                        "cycle image the simulator streams through a harness, outputs dumped and compared with "
                        "the golden model in NumPy afterwards; no Python per cycle (Verilator: about a million "
                        "vectors a minute). Failures go to failures.json for --replay as usual")
    p.add_argument("--seu", type=int, default=0, metavar="N",
                   help="inject N single-event upsets (implies --bulk): random register bits flipped at random "
                        "cycles of the vector stream, seeded, at least 32 cycles apart; summary.json lists each "
                        "upset that reached an output and the sensitivity")
    p.add_argument("--seu-target", default=None, metavar="KINDS",
                   help="register kinds upsets may hit, comma-separated: config (the weight bank), control, "
                        "pipeline, valid, output, framing, framing_config, readback, counter (default: all)")
    p.add_argument("--seu-multiplicity", type=int, default=1, metavar="K",
                   help="bits flipped in the same cycle per upset event (default 1; 2 = double upsets)")
    p.add_argument("--coverage", action="store_true",
                   help="measure coverage: functional bins sampled on the design (rounding ties, ReLU, saturation "
                        "per neuron and layer, leading-one positions, sum-code exponents, e-link and mask "
                        "settings, reset per pipeline stage, configuration block boundaries, reload during "
                        "traffic) and, on Verilator, line and toggle coverage per module merged over the shards "
                        "(Icarus: functional only); written to summary.json under \"coverage\"")
    p.add_argument("--force", action="store_true", help="replace an existing run directory")
    p.set_defaults(func=run)


def run(args) -> int:
    from .runner import SimOptions
    from .runner import run as sim_run
    opts = SimOptions(sim=args.sim, vectors=args.vectors, data=args.data, seed=args.seed, waves=args.waves,
                      jobs=args.jobs, out=args.out, build_root=args.build_dir, ir=args.ir,
                      reload_ir=args.reload_ir, weights_set=args.weights_set, replay=args.replay, force=args.force,
                      model_opt=args.model_opt,
                      netlist=args.netlist, scheduler=args.scheduler, bulk=args.bulk, seu=args.seu,
                      seu_target=args.seu_target, seu_multiplicity=args.seu_multiplicity, coverage=args.coverage)
    code, _ = sim_run(args.design, opts)
    return code
