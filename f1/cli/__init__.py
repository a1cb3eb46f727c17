"""The `f1` command. Each module in this package adds one subcommand through `register(subparsers)`."""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Sequence

from f1.errors import F1Error


def build_parser() -> argparse.ArgumentParser:
    """The parser with every subcommand found in `f1.cli`."""
    parser = argparse.ArgumentParser(prog="f1", description="F1-style function-calling orchestration engine.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level to stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    package = importlib.import_module(__name__)
    for module in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `f1` console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.handler(args) or 0)
    except F1Error as exc:
        print(f"f1: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
