"""``dockerarch report``: how ready each Dockerfile is for each target platform.

Writes one HTML page (or Markdown) covering every Dockerfile found: its
status per platform, its findings by category, and what ``dockerarch fix
--unsafe-fixes`` would change, computed in memory. Exit codes: 0 when the
report was written, whatever it found; 2 on usage, configuration or I/O
errors, including inputs that could not be checked (each gets one line on
stderr, and the report lists them next to the files that were checked).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from dockerarch.commands._common import (
    Problems,
    UsageError,
    add_input_options,
    error,
    iter_inputs,
)

if TYPE_CHECKING:
    from dockerarch.progress import Progress
    from dockerarch.readiness import FileReadiness, Unchecked

FORMATS = ("html", "markdown")
_MARKDOWN_SUFFIXES = (".md", ".markdown")


def add_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    # The fixer defines the styles; running this command imports it anyway.
    from dockerarch.fixer import STYLES

    parser = subparsers.add_parser(
        "report",
        help="write a readiness report (HTML or Markdown)",
        description=(
            "Write a report of how ready each Dockerfile is for each target platform: "
            "ready, needs fixes (fix --unsafe-fixes leaves nothing) or blocked, its "
            "findings by category, and what `dockerarch fix --unsafe-fixes` would change. "
            "Nothing is changed on disk."
        ),
    )
    add_input_options(parser)
    out = parser.add_argument_group("output")
    out.add_argument(
        "--format",
        choices=FORMATS,
        metavar="FORMAT",
        help="html or markdown (default: markdown for a .md output file, else html)",
    )
    out.add_argument(
        "-o",
        "--output",
        "--output-file",
        dest="output",
        type=Path,
        metavar="FILE",
        help="write the report here (default: standard output)",
    )
    out.add_argument(
        "--style",
        choices=STYLES,
        default="stages",
        help="how the previewed fixes write per-platform instructions, as `fix --style`",
    )
    return parser


class _Recorded(Problems):
    """Problems that are also listed in the report, printed clear of the progress bar."""

    def __init__(self, verbose: bool) -> None:
        super().__init__(verbose)
        self.unchecked: list[Unchecked] = []
        self.progress: Progress | None = None

    def report(self, where: str | None, problem: str) -> None:
        from dockerarch.readiness import Unchecked

        self.clear_progress()
        super().report(where, problem)
        self.unchecked.append(Unchecked(where or "", problem))

    def note(self, where: str, text: str) -> None:
        self.clear_progress()
        super().note(where, text)

    def clear_progress(self) -> None:
        if self.progress is not None:
            self.progress.clear()


def output_format(args: argparse.Namespace) -> str:
    if args.format is not None:
        return str(args.format)
    if args.output is not None and args.output.suffix.lower() in _MARKDOWN_SUFFIXES:
        return "markdown"
    return "html"


def run(args: argparse.Namespace) -> int:
    from dockerarch.config import ConfigError
    from dockerarch.fileio import FileError, write_atomic
    from dockerarch.progress import Progress
    from dockerarch.readiness import Readiness, assess
    from dockerarch.report_html import render_html, render_markdown

    problems = _Recorded(verbose=args.verbose)
    files: list[FileReadiness] = []
    try:
        # Read first, so the progress bar knows how many files there are.
        inputs = list(iter_inputs(args, problems))
    except (ConfigError, UsageError) as e:
        error(None, str(e))
        return 2
    progress = Progress(len(inputs), sys.stderr)
    problems.progress = progress
    try:
        for item in inputs:
            try:
                readiness, notes = assess(
                    item.name,
                    item.text,
                    item.settings,
                    path=item.path,
                    context_dir=item.context_dir,
                    style=args.style,
                )
            except Exception as exc:
                problems.crashed(item.name, exc)
            else:
                for note in notes:
                    problems.note(item.name, note)
                for warning in readiness.warnings:
                    progress.clear()
                    error(item.name, f"warning: {warning}")
                files.append(readiness)
            progress.advance(item.name)
    finally:
        progress.close()

    report = Readiness(tuple(files), tuple(problems.unchecked))
    fmt = output_format(args)
    output = render_markdown(report) if fmt == "markdown" else render_html(report)
    if args.output is None:
        sys.stdout.write(output)
        sys.stdout.flush()
    else:
        try:
            # CI jobs name a report under a directory of artifacts that may not exist yet.
            args.output.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(args.output, output)
        except FileError as e:
            error(e.path, e.problem)
            return 2
        except OSError as e:
            error(str(args.output.parent), f"cannot create: {(e.strerror or str(e)).lower()}")
            return 2
    return 2 if problems.count else 0
