"""``dockerarch check``: report what builds differently per platform."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from dockerarch.commands._common import (
    Problems,
    UsageError,
    add_input_options,
    error,
    iter_inputs,
)

if TYPE_CHECKING:
    from dockerarch.report import FileReport

FORMATS = ("text", "concise", "json", "sarif", "github", "gitlab", "junit", "checkstyle")


def add_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "check",
        help="check Dockerfiles",
        description="Report what builds or behaves differently on arm64 than on amd64.",
    )
    add_input_options(parser)
    out = parser.add_argument_group("output")
    out.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        metavar="FORMAT",
        help=f"output format: {', '.join(FORMATS)} (default: text)",
    )
    out.add_argument("-o", "--output-file", type=Path, metavar="FILE", help="write the report here")
    out.add_argument("--no-color", action="store_true", help="never colour the output")
    out.add_argument("--exit-zero", action="store_true", help="exit 0 even when problems are found")
    out.add_argument(
        "--statistics", action="store_true", help="count problems per rule instead of listing them"
    )
    out.add_argument("-q", "--quiet", action="store_true", help="print diagnostics, nothing else")
    return parser


def use_color(args: argparse.Namespace, stream: TextIO) -> bool:
    """Colour only on a terminal, and never with --no-color or NO_COLOR (no-color.org)."""
    if args.no_color or os.environ.get("NO_COLOR") or args.output_file is not None:
        return False
    if args.format not in ("text", "concise"):
        return False
    return bool(os.environ.get("FORCE_COLOR")) or stream.isatty()


def run(args: argparse.Namespace) -> int:
    from dockerarch.config import ConfigError
    from dockerarch.engine import check_text
    from dockerarch.fileio import FileError, write_atomic
    from dockerarch.report import FileReport, Options, render
    from dockerarch.report.text import render_statistics

    if args.statistics and args.format != "text":
        error(None, "--statistics works with --format text only")
        return 2
    problems = Problems(verbose=args.verbose)
    reports: list[FileReport] = []
    try:
        for item in iter_inputs(args, problems):
            try:
                result = check_text(
                    item.text, item.settings, path=item.path, context_dir=item.context_dir
                )
            except Exception as exc:
                problems.crashed(item.name, exc)
                continue
            for note in result.notes:
                problems.note(item.name, note)
            for warning in result.warnings:
                error(item.name, f"warning: {warning}")
            reports.append(FileReport(item.name, result.tree, result.diagnostics, item.context_dir))
    except (ConfigError, UsageError) as e:
        error(None, str(e))
        return 2

    options = Options(
        color=use_color(args, sys.stdout),
        verbose=args.verbose,
        quiet=args.quiet,
        unchecked=problems.count,
    )
    if args.statistics:
        output = render_statistics(reports, options)
    else:
        output = render(args.format, reports, options)
    if args.output_file is not None:
        try:
            write_atomic(args.output_file, output)
        except FileError as e:
            error(e.path, e.problem)
            return 2
    else:
        sys.stdout.write(output)
        sys.stdout.flush()
    if problems.count:
        return 2
    found = any(r.diagnostics for r in reports)
    return 1 if found and not args.exit_zero else 0
