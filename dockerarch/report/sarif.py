"""SARIF 2.1.0, as code-scanning services ingest it.

Columns are Unicode code points (``columnKind``), end columns exclusive, as
SARIF defines them; relative paths are relative to the working directory,
which ``%SRCROOT%`` names.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from dockerarch import __version__
from dockerarch.diagnostics import Severity
from dockerarch.engine import Rule, load_rules
from dockerarch.report import (
    TOOL_URL,
    FileReport,
    Located,
    Location,
    Options,
    PlacedEdit,
    located,
    placed_edits,
)

SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
_ROOT = "%SRCROOT%"


def _artifact(path: str) -> dict[str, str]:
    if PurePosixPath(path).is_absolute():
        return {"uri": "file://" + quote(path)}
    return {"uri": quote(path), "uriBaseId": _ROOT}


def _region(loc: Location) -> dict[str, int]:
    return {
        "startLine": loc.line,
        "startColumn": loc.column,
        "endLine": loc.end_line,
        "endColumn": loc.end_column,
    }


def _physical(loc: Location) -> dict[str, Any]:
    return {"physicalLocation": {"artifactLocation": _artifact(loc.path), "region": _region(loc)}}


def _rule(r: Rule) -> dict[str, Any]:
    return {
        "id": r.code,
        "name": r.name,
        "shortDescription": {"text": r.summary},
        "fullDescription": {"text": r.docs, "markdown": r.docs},
        "helpUri": r.url,
        "defaultConfiguration": {"level": _LEVEL[r.severity]},
        "properties": {"category": r.category, "fixable": r.fixable},
    }


def _fix(message: str, edits: list[PlacedEdit]) -> dict[str, Any]:
    by_file: dict[str, list[dict[str, Any]]] = {}
    for e in edits:
        by_file.setdefault(e.location.path, []).append(
            {"deletedRegion": _region(e.location), "insertedContent": {"text": e.content}}
        )
    return {
        "description": {"text": message},
        "artifactChanges": [
            {"artifactLocation": _artifact(path), "replacements": replacements}
            for path, replacements in by_file.items()
        ],
    }


def _result(item: Located, index: dict[str, int], options: Options) -> dict[str, Any]:
    d = item.diagnostic
    result: dict[str, Any] = {
        "ruleId": d.code,
        "level": _LEVEL[d.severity],
        "message": {"text": d.message},
        "locations": [_physical(item.primary)],
    }
    if d.code in index:
        result["ruleIndex"] = index[d.code]
    if item.related is not None:
        related = _physical(item.related)
        related["id"] = 0
        related["message"] = {"text": "where the Dockerfile uses it"}
        result["relatedLocations"] = [related]
    if d.fix is not None:
        edits = placed_edits(item, d.fix, options.cwd)
        if edits:
            result["fixes"] = [_fix(d.fix.message, edits)]
    properties: dict[str, Any] = {}
    if d.platforms:
        properties["platforms"] = list(d.platforms)
    if d.notes:
        properties["notes"] = list(d.notes)
    if properties:
        result["properties"] = properties
    return result


def render(files: Sequence[FileReport], options: Options) -> str:
    rules = load_rules()
    index = {r.code: i for i, r in enumerate(rules)}
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "dockerarch",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": TOOL_URL,
                "rules": [_rule(r) for r in rules],
            }
        },
        "originalUriBaseIds": {_ROOT: {"uri": options.cwd.as_uri().rstrip("/") + "/"}},
        "columnKind": "unicodeCodePoints",
        "results": [_result(item, index, options) for item in located(files, options)],
    }
    log = {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"
