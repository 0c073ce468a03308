"""New file texts as LSP workspace edits.

The fixer (:mod:`dockerarch.fixer`) returns whole fixed texts; an editor
wants the changes as small ranges, so its cursor, marks and folds outside
them stay put. Each changed run of lines becomes one ``TextEdit`` trimmed to
the characters that differ.
"""

from __future__ import annotations

from collections.abc import Sequence
from difflib import SequenceMatcher

from lsprotocol import types

from dockerarch.lazyre import lazy_compile
from dockerarch.lsp.positions import DocumentIndex
from dockerarch.records import record
from dockerarch.syntax import Span

# Lines with their ends, as LSP counts them (\r\n, \r or \n).
_LINE = lazy_compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


def text_edits(index: DocumentIndex, new: str) -> list[types.TextEdit]:
    """Non-overlapping edits, in document order, that turn ``index.text`` into ``new``."""
    old = index.text
    if old == new:
        return []
    a, b = _LINE.findall(old), _LINE.findall(new)
    starts = [0]
    for line in a:
        starts.append(starts[-1] + len(line))
    out = []
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            out.append(_trimmed(index, Span(starts[i1], starts[i2]), "".join(b[j1:j2])))
    return out


def _trimmed(index: DocumentIndex, span: Span, new: str) -> types.TextEdit:
    """Replacing ``span`` with ``new``, limited to the characters that differ."""
    old = index.text[span.start : span.end]
    limit = min(len(old), len(new))
    head = 0
    while head < limit and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < limit - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    text = index.text
    start, stop = span.start + head, span.end - tail
    # Never cut a \r\n pair: an LSP position cannot point between its halves.
    if 0 < start < len(text) and text[start - 1 : start + 1] == "\r\n":
        head -= 1
    if 0 < stop < len(text) and text[stop - 1 : stop + 1] == "\r\n":
        tail -= 1
    return types.TextEdit(
        range=index.range(Span(span.start + head, span.end - tail)),
        new_text=new[head : len(new) - tail],
    )


@record
class FileEdits:
    """Edits of one file; ``version`` is the editor's version of it, None when not open."""

    uri: str
    version: int | None
    edits: list[types.TextEdit]


def workspace_edit(files: Sequence[FileEdits], document_changes: bool) -> types.WorkspaceEdit:
    """One edit of several files: versioned ``documentChanges`` when the client takes them.

    With versions the client refuses an edit computed for text it no longer has.
    """
    files = [f for f in files if f.edits]
    if document_changes:
        return types.WorkspaceEdit(
            document_changes=[
                types.TextDocumentEdit(
                    text_document=types.OptionalVersionedTextDocumentIdentifier(
                        uri=f.uri, version=f.version
                    ),
                    edits=list(f.edits),
                )
                for f in files
            ]
        )
    return types.WorkspaceEdit(changes={f.uri: list(f.edits) for f in files})
