"""The ``encoder`` console command.

Each subpackage owns its subcommands in a ``cli`` module with
``register(subparsers)``; registering must stay cheap and must not import
TensorFlow (only running a training command does).
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import sys
import traceback
from pathlib import Path

from . import __version__, interrupts
from .errors import UserError
from .inputs import inputs_scope

# Command modules in the order the help lists them.
COMMAND_MODULES = (
    "encoder.data.cli",
    "encoder.ir.cli",
    "encoder.golden.cli",
    "encoder.econt.cli",
    "encoder.training.cli",
    "encoder.verif.cli",
    "encoder.verify.cli",
    "encoder.rtl_gen.cli",
    "encoder.studies.cli",
    "encoder.hls4ml_config",
)


def finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


class OneLineParser(argparse.ArgumentParser):
    """argparse, with a usage error as one line like every other error (subparsers inherit the class).

    Every ``type=float`` option takes finite numbers only: no option of the kit means anything by
    inf or nan, and they would pass most range checks (inf > 0).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The type registry is what argparse consults for type=float, in argument groups too.
        self.register("type", float, finite_float)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="encoder",
        description="Design kit for on-detector autoencoder compression ASICs: "
                    "data, QKeras training, IR, golden model, Verilog, simulation, studies.",
    )
    parser.add_argument("--version", action="version", version=f"encoder {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    _workflow_order(sub)
    return parser


# The help lists the subcommands in the order a user runs them; a command not named here follows.
WORKFLOW = ("data", "train", "predict", "export", "golden", "evaluate", "rtl", "sim", "synth", "verify", "study",
            "econt", "ir", "export-hls4ml")


def _workflow_order(sub) -> None:
    # argparse lists subcommands in registration order (its _choices_actions); the modules register
    # by package, so the list is sorted here instead of coupling the modules' import order to it.
    rank = {n: i for i, n in enumerate(WORKFLOW)}
    sub._choices_actions.sort(key=lambda a: rank.get(a.dest, len(rank)))


# Arguments naming what a command writes; every other argument naming an existing path is an input.
OUTPUT_ARGS = ("out", "plot", "log")
NOT_PATHS = ("command", "func", "build_dir")


def command_inputs(args: argparse.Namespace) -> list[Path]:
    """Existing files and folders named on the command line, outputs excepted."""
    found = []
    for key, value in vars(args).items():
        if key in OUTPUT_ARGS or key in NOT_PATHS or key.endswith("_command"):
            continue
        for v in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(v, str) and v and os.path.exists(v):
                found.append(Path(v))
    return found


def _os_error(exc: OSError) -> str:
    name = exc.filename if exc.filename is not None else ""
    what = exc.strerror or str(exc)
    return f"{name}: {what}" if name else what


def main(argv: list[str] | None = None) -> int:
    # One handler for every command: SIGINT, SIGTERM and SIGHUP unwind alike (temp files, claims and
    # child processes are cleaned up on the way out), and every failure is one line on stderr.
    with interrupts.handled():
        name = "encoder"
        try:
            parser = build_parser()
            try:
                args = parser.parse_args(argv)
            except SystemExit as exc:         # --help, --version, usage errors (already printed)
                return exc.code if isinstance(exc.code, int) else 0
            if args.command is None:          # plain `encoder`: the help, not an error
                parser.print_help()
                return 0
            name = f"encoder {args.command}"
            with inputs_scope(command_inputs(args)):
                result = args.func(args)
        except (UserError, FileExistsError, FileNotFoundError) as exc:
            print(f"{name}: error: {exc}", file=sys.stderr)
            return 1
        except BrokenPipeError:               # output piped into `head` and the like
            sys.stderr.close()
            return 0
        except KeyboardInterrupt as exc:
            interrupts.stop_all()
            print(f"{name}: interrupted", file=sys.stderr)
            return interrupts.exit_code(exc)
        except OSError as exc:                # the disk, permissions or the file system refused
            print(f"{name}: error: {_os_error(exc)}", file=sys.stderr)
            return 1
        except MemoryError:
            print(f"{name}: error: out of memory; use a smaller input or option", file=sys.stderr)
            return 1
        except Exception as exc:              # a bug: one line, the traceback on request
            if os.environ.get("ENCODER_DEBUG"):
                traceback.print_exc()
            print(f"{name}: internal error: {type(exc).__name__}: {exc} (a bug; ENCODER_DEBUG=1 "
                  "prints the traceback)", file=sys.stderr)
            return 2
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
