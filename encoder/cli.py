"""The ``encoder`` console command.

Each subpackage owns its subcommands in a ``cli`` module with
``register(subparsers)``; registering must stay cheap and must not import
TensorFlow (only running a training command does).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__
from .errors import UserError

# Command modules in the order the help lists them.
COMMAND_MODULES = (
    "encoder.data.cli",
    "encoder.golden.cli",
    "encoder.econt.cli",
    "encoder.training.cli",
    "encoder.verif.cli",
    "encoder.rtl_gen.cli",
    "encoder.studies.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="encoder",
        description="Design kit for on-detector autoencoder compression ASICs: "
                    "data, QKeras training, IR, golden model, Verilog, simulation, studies.",
    )
    parser.add_argument("--version", action="version", version=f"encoder {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
    except (UserError, FileExistsError, FileNotFoundError) as exc:
        print(f"encoder {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:               # output piped into `head` and the like
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print(f"encoder {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
