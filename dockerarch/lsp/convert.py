"""dockerarch diagnostics as LSP diagnostics.

Each LSP diagnostic carries in ``data`` the document version it was computed
for, its span and its fix, as offsets into the document text the editor
holds, so a code action request needs no re-analysis.

Diagnostics are built in their JSON form (:data:`LspDiagnostic`), not as lsprotocol
objects that cattrs then takes apart again: for the bench's 300-line file (31
findings) that was a fifth of the server's instructions per keystroke. The
server's converter passes them through wherever a ``Diagnostic`` is expected, and
tests/lsp/test_units.py holds them to lsprotocol's schema.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types

from dockerarch.diagnostics import (
    Applicability,
    Diagnostic,
    Edit,
    ExternalLocation,
    Fix,
    Severity,
)
from dockerarch.engine import Result, rule_by_code
from dockerarch.lsp.positions import DocumentIndex
from dockerarch.syntax import Span

SOURCE = "dockerarch"
#: An LSP ``Diagnostic`` as JSON.
LspDiagnostic = dict[str, Any]
_SEVERITY = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.INFO: types.DiagnosticSeverity.Information,
}


def bom_shift(result: Result, source: str) -> int:
    """How far offsets into the tree's text sit from offsets into ``source``.

    The parser drops a leading BOM; an editor may keep it in the buffer.
    """
    return len(source) - len(result.tree.text)


def file_uri(path: Path) -> str:
    return path.as_uri() if path.is_absolute() else str(path)


def resolve(path: Path, base: Path | None) -> Path:
    """A path a rule reported, made absolute against the build context."""
    return base / path if base is not None and not path.is_absolute() else path


def to_lsp(
    result: Result,
    index: DocumentIndex,
    version: int | None,
    read_text: Callable[[Path], str | None],
    base: Path | None,
) -> list[LspDiagnostic]:
    """``result``'s diagnostics for the editor; ``base`` resolves relative file paths."""
    shift = bom_shift(result, index.text)
    return [_one(d, index, version, shift, read_text, base) for d in result.diagnostics]


def _one(
    d: Diagnostic,
    index: DocumentIndex,
    version: int | None,
    shift: int,
    read_text: Callable[[Path], str | None],
    base: Path | None,
) -> LspDiagnostic:
    span = d.span.moved(shift)
    data: dict[str, Any] = {"version": version, "span": [span.start, span.end]}
    if d.fix is not None:
        data["fix"] = _fix_data(d.fix, base)
    out: LspDiagnostic = {
        "range": index.json_range(span),
        "message": d.message,
        "severity": _SEVERITY[d.severity].value,
        "code": d.code,
        "source": SOURCE,
        "data": data,
    }
    rule = rule_by_code(d.code)
    if rule is not None:
        out["codeDescription"] = {"href": rule.url}
    if d.external is not None:
        location = _external_location(d.external, index.encoding, read_text, base)
        out["relatedInformation"] = [{"location": location, "message": d.message}]
    return out


def _fix_data(fix: Fix, base: Path | None) -> dict[str, Any]:
    # Offsets as the rule gave them (past any BOM), which is what the fixer takes.
    edits = [
        [e.span.start, e.span.end, e.content, str(resolve(e.path, base)) if e.path else None]
        for e in fix.edits
    ]
    return {"message": fix.message, "applicability": fix.applicability.value, "edits": edits}


def fix_from_data(data: object) -> Fix | None:
    """The fix a diagnostic's ``data`` carries; None if absent or malformed.

    Its Dockerfile edits index the text without a byte order mark.
    """
    if not isinstance(data, dict) or not isinstance(data.get("fix"), dict):
        return None
    fix = data["fix"]
    try:
        edits = tuple(
            Edit(Span(int(s), int(e)), str(content), Path(path) if path else None)
            for s, e, content, path in fix["edits"]
        )
        return Fix(str(fix["message"]), edits, Applicability(fix["applicability"]))
    except (KeyError, TypeError, ValueError):
        return None


def _external_location(
    ext: ExternalLocation,
    encoding: str,
    read_text: Callable[[Path], str | None],
    base: Path | None,
) -> dict[str, Any]:
    path = resolve(ext.path, base)
    text = read_text(path)
    if text is None:
        # Without the text, code-point columns are the best guess.
        rng = {
            "start": {"line": ext.line - 1, "character": ext.column - 1},
            "end": {"line": ext.end_line - 1, "character": ext.end_column - 1},
        }
    else:
        idx = DocumentIndex(text, encoding)
        start = _offset(idx, ext.line, ext.column)
        end = _offset(idx, ext.end_line, ext.end_column)
        rng = idx.json_range(Span(start, max(start, end)))
    return {"uri": file_uri(path), "range": rng}


def _offset(idx: DocumentIndex, line: int, column: int) -> int:
    line0 = max(0, min(line - 1, idx.line_count - 1))
    return idx.line_start(line0) + min(max(column - 1, 0), len(idx.line_text(line0)))
