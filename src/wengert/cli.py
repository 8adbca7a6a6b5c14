"""The ``wengert`` command.

Each subcommand lives beside the code it drives and registers itself through a
``register(subparsers)`` function listed in ``_COMMAND_MODULES``; this file only
builds the parser and dispatches.
"""

from __future__ import annotations

import argparse
import importlib
import sys

import wengert

# Modules that contribute subcommands; each defines register(subparsers) which
# adds its parsers and sets ``func`` on them (func(args) -> exit code).
_COMMAND_MODULES = (
    "wengert.classic.cli",
    "wengert.cli_train",
    "wengert.cli_diagnose",
    "wengert.cli_text",
)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``wengert`` command."""
    parser = argparse.ArgumentParser(
        prog="wengert",
        description="wengert: deep learning on a Wengert tape, in NumPy.",
    )
    parser.add_argument("--version", action="version", version=f"wengert {wengert.__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``wengert`` command with ``argv`` (default: ``sys.argv[1:]``)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 0
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
