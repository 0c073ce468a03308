"""The CI files ``dockerarch check`` reads besides Dockerfiles: workflows, GitLab CI, bake.

A directory argument is searched for them as for Dockerfiles; a CI file
named on the command line is checked as one, never parsed as a Dockerfile.
Their findings (DA801, emulated builds that compile) are reported like any
other, at exact positions in the CI file.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from dockerarch.commands._common import STDIN, Problems

if TYPE_CHECKING:
    from dockerarch.discover import Excluded
    from dockerarch.report import FileReport

#: The rule CI files are checked for; skipped entirely when it is not selected.
CODE = "DA801"


def split_paths(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """``paths`` without the CI files named explicitly, and those CI files."""
    from dockerarch.workflows.discover import ci_kind

    named = [p for p in paths if str(p) != STDIN and p.is_file() and ci_kind(p) is not None]
    return [p for p in paths if p not in named], named


def ci_files(directories: list[Path], named: list[Path], excluded: Excluded) -> Iterator[Path]:
    from dockerarch.workflows.discover import discover_ci_files

    yield from named
    for directory in directories:
        yield from discover_ci_files(directory, excluded)


def ci_reports(args: argparse.Namespace, named: list[Path], problems: Problems) -> list[FileReport]:
    """Reports of the CI files under the directory arguments and of ``named``."""
    from dockerarch.commands._common import error, overrides
    from dockerarch.config import Resolver, settings_for
    from dockerarch.fileio import FileError
    from dockerarch.report import FileReport, display_path
    from dockerarch.resultcache import text_tree
    from dockerarch.workflows.discover import repo_root

    paths: list[Path] = args.paths or ([] if args.stdin_filename else [Path(".")])
    directories = [p for p in paths if str(p) != STDIN and p.is_dir()]
    cli = overrides(args)
    resolver = Resolver(args.config, args.isolated)
    cwd = Path.cwd()
    reports: list[FileReport] = []
    for path in ci_files(directories, named, resolver.excluded):
        settings = settings_for(resolver.for_file(path), cli, path)
        if not settings.enabled(CODE):
            continue
        name = display_path(path, cwd)
        # Imported only when there is a CI file: it loads the parser and the rules.
        from dockerarch.workflows.emulation import check_ci_file

        try:
            result = check_ci_file(path, settings)
        except FileError as e:
            problems.report(name, e.problem)
            continue
        except Exception as exc:
            problems.crashed(name, exc)
            continue
        for note in result.notes:
            problems.note(name, note)
        for warning in result.warnings:
            error(name, f"warning: {warning}")
        root = Path(os.path.abspath(repo_root(path)))
        reports.append(FileReport(name, text_tree(result.text), result.diagnostics, root))
    return reports
