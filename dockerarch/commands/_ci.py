"""The CI files ``check`` and ``fix`` read besides Dockerfiles: workflows, GitLab CI, bake.

A directory argument is searched for them as for Dockerfiles; a CI file
named on the command line is handled as one, never parsed as a Dockerfile.
Their findings (DA801, emulated builds that compile) are reported like any
other, at exact positions in the CI file.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from itertools import chain
from pathlib import Path

from dockerarch.commands._common import STDIN, Problems
from dockerarch.records import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockerarch.discover import Excluded
    from dockerarch.engine import Settings
    from dockerarch.report import FileReport

#: The rule CI files are checked for; skipped entirely when it is not selected.
CODE = "DA801"


def split_paths(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """``paths`` without the CI files named explicitly, and those CI files."""
    from dockerarch.workflows.discover import ci_kind

    # By name first: no stat for each Dockerfile named (~1 ms in a run of 400).
    named = [p for p in paths if str(p) != STDIN and ci_kind(p) is not None and p.is_file()]
    return [p for p in paths if p not in named], named


def split_args(args: argparse.Namespace) -> tuple[argparse.Namespace | None, list[Path]]:
    """The arguments for the Dockerfile search, and the CI files named explicitly.

    The first is None when only CI files are named: an empty path list
    would mean searching ".".
    """
    rest, named = split_paths(list(args.paths))
    if named and not rest:
        return None, named
    return argparse.Namespace(**{**vars(args), "paths": rest}), named


def ci_files(directories: list[Path], named: list[Path], excluded: Excluded) -> Iterator[Path]:
    """``named``, then the CI files under ``directories``; each once."""
    from dockerarch.workflows.discover import discover_ci_files

    seen: set[Path] = set()
    for path in chain(named, *(discover_ci_files(d, excluded) for d in directories)):
        if path not in seen:
            seen.add(path)
            yield path


@record
class CiFile:
    """A CI file to work on, with its settings; DA801 is enabled for it."""

    #: As shown to the user: relative to the working directory.
    name: str
    path: Path
    settings: Settings
    #: The directory its relative paths start from (the repository), absolute.
    root: Path


def iter_ci_files(args: argparse.Namespace, named: list[Path]) -> Iterator[CiFile]:
    """The CI files under the directory arguments and ``named``, configured.

    A broken configuration raises :class:`dockerarch.config.ConfigError`.
    """
    from dockerarch.commands._common import overrides
    from dockerarch.config import Resolver, settings_for
    from dockerarch.report import display_path
    from dockerarch.workflows.discover import repo_root

    paths: list[Path] = args.paths or ([] if args.stdin_filename else [Path(".")])
    directories = [p for p in paths if str(p) != STDIN and p.is_dir()]
    cli = overrides(args)
    resolver = Resolver(args.config, args.isolated)
    cwd = Path.cwd()
    for path in ci_files(directories, named, resolver.excluded):
        settings = settings_for(resolver.for_file(path), cli, path)
        if settings.enabled(CODE):
            root = Path(os.path.abspath(repo_root(path)))
            yield CiFile(display_path(path, cwd), path, settings, root)


def ci_reports(args: argparse.Namespace, named: list[Path], problems: Problems) -> list[FileReport]:
    """Reports of the CI files under the directory arguments and of ``named``."""
    from dockerarch.commands._common import error
    from dockerarch.fileio import FileError
    from dockerarch.report import FileReport
    from dockerarch.resultcache import text_tree

    reports: list[FileReport] = []
    for ci in iter_ci_files(args, named):
        # Imported only when there is a CI file: it loads the parser and the rules.
        from dockerarch.workflows.emulation import check_ci_file

        try:
            result = check_ci_file(ci.path, ci.settings, ci.root)
        except FileError as e:
            problems.report(ci.name, e.problem)
            continue
        except Exception as exc:
            problems.crashed(ci.name, exc)
            continue
        for note in result.notes:
            problems.note(ci.name, note)
        for warning in result.warnings:
            error(ci.name, f"warning: {warning}")
        reports.append(FileReport(ci.name, text_tree(result.text), result.diagnostics, ci.root))
    return reports
