"""The ``dockerarch`` command: a parser built from the subcommand modules.

Exit codes: 0 nothing found, 1 problems found, 2 usage, configuration or
I/O error (2 wins over 1). Subcommands live in :mod:`dockerarch.commands`;
see there for how to add one.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from dockerarch import __version__

#: Knowledge modules whose offline snapshot date ``--version`` reports.
SNAPSHOTS = ("images", "pypi", "npm")


def snapshot_dates() -> list[tuple[str, str]]:
    """(name, date) of each knowledge snapshot that is installed."""
    out = []
    for name in SNAPSHOTS:
        try:
            module = importlib.import_module(f"dockerarch.knowledge.{name}")
        except ImportError:
            continue
        date = getattr(module, "snapshot_date", None)
        if date is None:
            continue
        try:
            out.append((name, str(date())))
        except (OSError, ValueError) as e:
            out.append((name, f"unavailable ({e})"))
    return out


class _Version(argparse.Action):
    """``--version``; computed only when asked, since reading snapshots takes time."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        lines = [f"dockerarch {__version__}"]
        lines += [f"{name} snapshot: {date}" for name, date in snapshot_dates()]
        sys.stdout.write("\n".join(lines) + "\n")
        parser.exit(0)


def commands() -> dict[str, ModuleType]:
    from dockerarch import commands as package

    return {name: importlib.import_module(f"{package.__name__}.{name}") for name in package.names()}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dockerarch",
        description="Find and fix what builds differently on arm64 than on amd64 in Dockerfiles.",
    )
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for module in commands().values():
        module.add_parser(sub).set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        code: int = args.run(args)
        sys.stdout.flush()
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`dockerarch check | head`): stop quietly,
        # and keep Python from complaining again when it flushes at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 2
    return code
