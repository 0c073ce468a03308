"""Output formats for ``dockerarch check``.

Each format is a module here with ``render(files, options) -> str``; only
the chosen one is imported. This module turns diagnostics into positions
every format shares: 1-based lines, 1-based columns in code points, end
columns exclusive (the column after the last character), as ruff does.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from dockerarch.diagnostics import Applicability, Diagnostic, Edit, ExternalLocation, Fix
from dockerarch.engine import Rule, load_rules
from dockerarch.fileio import FileError, read_source
from dockerarch.records import field, record
from dockerarch.syntax import Dockerfile, LineIndex, Span

FORMATS = ("text", "concise", "json", "sarif", "github", "gitlab", "junit", "checkstyle")
TOOL_URL = "https://github.com/dockerarch/dockerarch"


@record
class FileReport:
    """One checked file: its name as shown, its syntax tree and its findings."""

    name: str
    tree: Dockerfile
    diagnostics: Sequence[Diagnostic]
    #: Where paths of external locations and fix edits are relative to.
    context_dir: Path | None = None


@record
class Options:
    color: bool = False
    verbose: bool = False
    #: Diagnostics only: no summary line.
    quiet: bool = False
    #: Files that could not be read or analysed (the summary says so).
    unchecked: int = 0
    cwd: Path = field(default_factory=Path.cwd)


@record
class Location:
    """A range in a named file; end_column is exclusive."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int


@record
class Located:
    """A diagnostic with its positions resolved for output."""

    file: FileReport
    diagnostic: Diagnostic
    rule: Rule | None
    #: Where the cause is: the external file's place when there is one.
    primary: Location
    #: The Dockerfile place, which is ``primary`` unless the cause is external.
    dockerfile: Location

    @property
    def related(self) -> Location | None:
        return self.dockerfile if self.diagnostic.external is not None else None

    @property
    def code(self) -> str:
        return self.diagnostic.code

    @property
    def name(self) -> str | None:
        return self.rule.name if self.rule else None


@record
class PlacedEdit:
    location: Location
    content: str


def render(fmt: str, files: Sequence[FileReport], options: Options) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    module = importlib.import_module(f"dockerarch.report.{fmt}")
    text: str = module.render(files, options)
    return text


def rules_by_code() -> dict[str, Rule]:
    return {r.code: r for r in load_rules()}


def located(files: Sequence[FileReport], options: Options) -> Iterator[Located]:
    rules = rules_by_code()
    for f in files:
        for d in f.diagnostics:
            here = span_location(f.name, f.tree.lines, d.span)
            primary = here
            if d.external is not None:
                primary = external_location(f, d.external, options.cwd)
            yield Located(f, d, rules.get(d.code), primary, here)


def span_location(name: str, lines: LineIndex, span: Span) -> Location:
    a, b = lines.position(span.start), lines.position(span.end)
    return Location(name, a.line, a.column, b.line, b.column)


def display_path(path: Path, cwd: Path) -> str:
    """``path`` relative to ``cwd`` when inside it, else absolute; always with ``/``."""
    # What ``Path(os.path.abspath(path)).relative_to(cwd).as_posix()`` gives (or the
    # absolute path where that raises), on strings: pathlib took 1/3 of reading 400 files.
    absolute = os.path.abspath(path)
    base = os.fspath(cwd)
    norm, norm_base = os.path.normcase(absolute), os.path.normcase(base)
    if norm == norm_base:
        return "."
    prefix = norm_base if norm_base.endswith(os.sep) else norm_base + os.sep
    inside = norm.startswith(prefix) and _root(norm) == _root(norm_base)
    shown = absolute[len(prefix) :] if inside else absolute
    return shown if os.sep == "/" else shown.replace(os.sep, "/")


def _root(path: str) -> str:
    # POSIX keeps a leading "//" (exactly two) as a root of its own, and so does pathlib:
    # "//x" is not inside "/".
    return "//" if path[:2] == "//" and path[2:3] != "/" else path[:1]


def resolve(file: FileReport, path: Path) -> Path:
    if path.is_absolute() or file.context_dir is None:
        return path
    return file.context_dir / path


def external_location(file: FileReport, ext: ExternalLocation, cwd: Path) -> Location:
    return Location(
        display_path(resolve(file, ext.path), cwd),
        ext.line,
        ext.column,
        ext.end_line,
        ext.end_column,
    )


def placed_edits(item: Located, fix: Fix, cwd: Path) -> list[PlacedEdit]:
    """The fix's edits with positions; an edit of a file that cannot be read is left out."""
    out = []
    for edit in fix.edits:
        where = _edit_location(item.file, edit, cwd)
        if where is not None:
            out.append(PlacedEdit(where, edit.content))
    return out


def _edit_location(file: FileReport, edit: Edit, cwd: Path) -> Location | None:
    if edit.path is None:
        return span_location(file.name, file.tree.lines, edit.span)
    path = resolve(file, edit.path)
    lines = _line_index(path)
    if lines is None:
        return None
    return span_location(display_path(path, cwd), lines, edit.span)


def _line_index(path: Path) -> LineIndex | None:
    try:
        text = read_source(path).text
    except FileError:
        return None
    return LineIndex(text[1:] if text.startswith("\ufeff") else text)


def is_fixable(d: Diagnostic) -> bool:
    return d.fix is not None and d.fix.applicability is not Applicability.DISPLAY_ONLY


def summary(count: int, fixable: int, unchecked: int = 0) -> str:
    missed = ""
    if unchecked:
        missed = f" {unchecked} file{'' if unchecked == 1 else 's'} could not be checked."
    if count == 0:
        return ("No problems found." if unchecked else "All checks passed!") + missed
    noun = "problem" if count == 1 else "problems"
    extra = f" ({fixable} fixable)" if fixable else ""
    return f"Found {count} {noun}{extra}.{missed}"
