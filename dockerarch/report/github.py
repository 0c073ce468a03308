"""GitHub Actions workflow commands: one annotation per diagnostic."""

from __future__ import annotations

from collections.abc import Sequence

from dockerarch.diagnostics import Severity
from dockerarch.report import FileReport, Options, located

_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render(files: Sequence[FileReport], options: Options) -> str:
    out = []
    for item in located(files, options):
        loc, d = item.primary, item.diagnostic
        props = {
            "file": loc.path,
            "line": loc.line,
            "col": loc.column,
            "endLine": loc.end_line,
            "endColumn": loc.end_column,
            "title": d.code,
        }
        joined = ",".join(f"{k}={escape_property(str(v))}" for k, v in props.items())
        message = d.message
        if item.related is not None:
            rel = item.related
            message += f" (in {rel.path}:{rel.line}:{rel.column})"
        out.append(f"::{_COMMAND[d.severity]} {joined}::{escape_data(message)}\n")
    return "".join(out)
