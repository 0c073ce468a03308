"""GitLab Code Quality (a Code Climate subset) JSON."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from dockerarch.diagnostics import Severity
from dockerarch.report import FileReport, Located, Options, located

_SEVERITY = {Severity.ERROR: "critical", Severity.WARNING: "major", Severity.INFO: "info"}


def identity(item: Located) -> tuple[str, ...]:
    """What was found: code, file, the flagged text and the message.

    Line numbers are left out so that adding a line above a finding does not
    make GitLab see it as fixed and a new one introduced.
    """
    d = item.diagnostic
    flagged = item.file.tree.text[d.span.start : d.span.end]
    return (d.code, item.primary.path, flagged, d.message)


def fingerprint(identity: tuple[str, ...], occurrence: int) -> str:
    """Stable across runs; ``occurrence`` tells identical findings in one file apart."""
    return hashlib.sha256("\0".join((*identity, str(occurrence))).encode("utf-8")).hexdigest()


def issue(item: Located, fingerprint: str) -> dict[str, Any]:
    loc = item.primary
    return {
        "type": "issue",
        "check_name": item.code,
        "description": f"{item.code} {item.diagnostic.message}",
        "categories": ["Compatibility"],
        "severity": _SEVERITY[item.diagnostic.severity],
        "fingerprint": fingerprint,
        "location": {
            "path": loc.path,
            "positions": {
                "begin": {"line": loc.line, "column": loc.column},
                "end": {"line": loc.end_line, "column": loc.end_column},
            },
        },
    }


def render(files: Sequence[FileReport], options: Options) -> str:
    seen: dict[tuple[str, ...], int] = {}
    issues = []
    for item in located(files, options):
        key = identity(item)
        seen[key] = seen.get(key, -1) + 1
        issues.append(issue(item, fingerprint(key, seen[key])))
    return json.dumps(issues, indent=2, ensure_ascii=False) + "\n"
