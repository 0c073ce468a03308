"""Subcommands of the ``dockerarch`` command line.

Every public module here is a subcommand named after the module (``fix.py``
is ``dockerarch fix``) and provides:

- ``add_parser(subparsers) -> argparse.ArgumentParser``: add its parser
  (``subparsers.add_parser(NAME, help=...)``) and its options, return it;
- ``run(args: argparse.Namespace) -> int``: do the work, return the exit
  code (0 clean, 1 findings, 2 usage, configuration or I/O error).

The module of the subcommand being run is imported to build the parser on
every start (all of them for ``dockerarch --help``), so their top level
imports only the standard library and cheap dockerarch modules; the engine,
rules and knowledge are imported inside ``run``. Modules whose name starts
with ``_`` hold shared helpers (``_common``: input options, file reading,
error lines) and are not subcommands.
"""

from __future__ import annotations

import os


def names() -> list[str]:
    """The subcommand module names, ``check`` first, then alphabetical."""
    # Listed by hand: every start asks, and importing pkgutil costs more than the listing.
    found = sorted(
        name.removesuffix(".py")
        for directory in __path__
        for name in os.listdir(directory)
        if name.endswith(".py") and not name.startswith("_")
    )
    return sorted(found, key=lambda n: n != "check")
