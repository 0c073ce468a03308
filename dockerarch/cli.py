"""The ``dockerarch`` command: a parser built from the subcommand modules.

Exit codes: 0 nothing found, 1 problems found, 2 usage, configuration or
I/O error (2 wins over 1), 141 when the reader of the output went away
(``dockerarch check | head -1``; what a shell reports for a program SIGPIPE
killed), 130 on Ctrl-C. Subcommands live in :mod:`dockerarch.commands`;
see there for how to add one.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from dockerarch import __version__

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: Knowledge modules whose offline snapshot date ``--version`` reports.
SNAPSHOTS = ("images", "pypi", "npm")
#: 128 + SIGPIPE: the status of a program the shell saw killed by a closed pipe.
EXIT_BROKEN_PIPE = 141
#: Collect the youngest generation every this many allocations. A check keeps
#: its tree, scripts and scopes alive until it ends and makes almost no
#: cycles; at the default (700) collecting them costs a third of the run.
_GC_YOUNG_THRESHOLD = 100_000


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


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, sized without importing shutil.

    argparse makes a formatter for every ``add_argument`` (to check the metavar),
    and the stock one asks ``shutil.get_terminal_size`` for the width: importing
    shutil (with bz2, lzma and fnmatch) is 2% of checking one small file. The
    width is found as shutil finds it: ``$COLUMNS``, else the terminal of stdout,
    else 80.
    """

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=_terminal_columns() - 2)


def _terminal_columns() -> int:
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns > 0:
        return columns
    stdout = sys.__stdout__
    try:
        return (os.get_terminal_size(stdout.fileno()).columns if stdout else 0) or 80
    except (ValueError, OSError):
        return 80


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser with :class:`_HelpFormatter`; its subcommands' parsers are made
    of the same class (``add_subparsers`` uses the parent's)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)


def commands(only: str | None = None) -> dict[str, ModuleType]:
    """The subcommand modules by name; with ``only``, that one alone."""
    from dockerarch import commands as package

    names = [only] if only is not None else package.names()
    return {name: importlib.import_module(f"{package.__name__}.{name}") for name in names}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line parser; with ``command``, only that subcommand's options are added.

    A run names its subcommand first (``dockerarch check ...``) and needs no other: importing
    and building all of them is a tenth of a cached check.
    """
    parser = _Parser(
        prog="dockerarch",
        description="Find and fix what builds differently on arm64 than on amd64 in Dockerfiles.",
    )
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for module in commands(command).values():
        module.add_parser(sub).set_defaults(run=module.run)
    return parser


def _named_command(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` starts with, if it starts with one."""
    from dockerarch import commands as package

    if argv and argv[0] in package.names():
        return argv[0]
    return None


def main(argv: Sequence[str] | None = None) -> int:
    thresholds = gc.get_threshold()
    gc.set_threshold(_GC_YOUNG_THRESHOLD, *thresholds[1:])
    if sys.stdout is None:
        # Started with stdout closed (`dockerarch check >&-`): what would be
        # printed goes nowhere; the exit code still tells the result.
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    try:
        arguments = sys.argv[1:] if argv is None else list(argv)
        parser = build_parser(_named_command(arguments))
        args = parser.parse_args(arguments)
        if getattr(args, "run", None) is None:
            parser.print_help(sys.stderr)
            return 2
        code: int = args.run(args)
        _flush_stdout()
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`dockerarch check | head`): stop quietly, and
        # keep Python from complaining again when it flushes stdout at exit.
        _discard_stdout()
        return EXIT_BROKEN_PIPE
    finally:
        gc.set_threshold(*thresholds)
    if argv is None:
        # Run as the program, which ends now: the interpreter's last collections would walk
        # every object the run made, a tenth of a check. Frozen objects are left to the OS.
        gc.freeze()
    return code


def _flush_stdout() -> None:
    # The language server's transport closes stdout when the client hangs up.
    if not sys.stdout.closed:
        sys.stdout.flush()


def _discard_stdout() -> None:
    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)
