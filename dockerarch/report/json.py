"""A JSON list of diagnostics, shaped like ruff's ``--output-format json``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from dockerarch.report import FileReport, Located, Location, Options, located, placed_edits


def _point(line: int, column: int) -> dict[str, int]:
    return {"row": line, "column": column}


def _range(loc: Location) -> dict[str, Any]:
    return {
        "filename": loc.path,
        "location": _point(loc.line, loc.column),
        "end_location": _point(loc.end_line, loc.end_column),
    }


def diagnostic(item: Located, options: Options) -> dict[str, Any]:
    d = item.diagnostic
    fix = None
    if d.fix is not None:
        fix = {
            "applicability": d.fix.applicability.value,
            "message": d.fix.message,
            "edits": [
                {"content": e.content, **_range(e.location)}
                for e in placed_edits(item, d.fix, options.cwd)
            ],
        }
    return {
        "code": d.code,
        "name": item.name,
        "category": item.rule.category if item.rule else None,
        "severity": d.severity.value,
        "message": d.message,
        **_range(item.primary),
        "fix": fix,
        "url": item.rule.url if item.rule else None,
        "platforms": list(d.platforms),
        "related": [_range(r) for r in (item.related,) if r is not None],
        "notes": list(d.notes),
    }


def render(files: Sequence[FileReport], options: Options) -> str:
    data = [diagnostic(item, options) for item in located(files, options)]
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
