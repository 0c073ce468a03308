"""Code actions: one fix, an ignore comment, and every fix at once."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

from lsprotocol import types

from dockerarch.diagnostics import Applicability, Edit
from dockerarch.engine import Result, instruction_at
from dockerarch.lsp.convert import bom_shift, file_uri, fix_from_data
from dockerarch.lsp.edits import apply_edits
from dockerarch.lsp.positions import DocumentIndex
from dockerarch.suppressions import find_suppressions
from dockerarch.syntax import Dockerfile, Span

FIX_ALL_KIND = f"{types.CodeActionKind.SourceFixAll.value}.dockerarch"
FIX_ALL_TITLE = "dockerarch: fix all auto-fixable problems"
MAX_FIX_ROUNDS = 10
_INDENT = re.compile(r"[ \t]*")


def quick_fix(
    uri: str,
    index: DocumentIndex,
    diagnostic: types.Diagnostic,
    read_text: Callable[[Path], str | None],
) -> types.CodeAction | None:
    """The edit a diagnostic's fix makes, unless it is display-only or stale."""
    found = fix_from_data(diagnostic.data)
    if found is None:
        return None
    message, applicability, edits = found
    if applicability == Applicability.DISPLAY_ONLY.value:
        return None
    unsafe = applicability != Applicability.SAFE.value
    edit = _workspace_edit(uri, index, edits, read_text)
    if edit is None:
        return None
    return types.CodeAction(
        title=f"Fix {diagnostic.code}: {message}" + (" (unsafe)" if unsafe else ""),
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[diagnostic],
        edit=edit,
        is_preferred=not unsafe,
    )


def _workspace_edit(
    uri: str,
    index: DocumentIndex,
    edits: Sequence[Edit],
    read_text: Callable[[Path], str | None],
) -> types.WorkspaceEdit | None:
    changes: dict[str, list[types.TextEdit]] = {}
    indexes: dict[Path, DocumentIndex] = {}
    for e in edits:
        if e.path is None:
            target, idx = uri, index
        else:
            if e.path not in indexes:
                text = read_text(e.path)
                if text is None:
                    # Half a fix is worse than none.
                    return None
                indexes[e.path] = DocumentIndex(text, index.encoding)
            target, idx = file_uri(e.path), indexes[e.path]
        changes.setdefault(target, []).append(
            types.TextEdit(range=idx.range(e.span), new_text=e.content)
        )
    return types.WorkspaceEdit(changes=changes)


def ignore_action(
    uri: str,
    index: DocumentIndex,
    tree: Dockerfile,
    diagnostic: types.Diagnostic,
    offset: int,
) -> types.CodeAction | None:
    """``# dockerarch: ignore[CODE]`` above the instruction at ``offset`` (a document offset).

    An ignore comment already directly above the instruction gets the code
    added instead of a second comment.
    """
    code = str(diagnostic.code)
    shift = len(index.text) - len(tree.text)
    ins = instruction_at(tree, offset - shift)
    if ins is None:
        return None
    existing = [
        s
        for s in find_suppressions(tree)
        if not s.file_wide and s.target is not None and s.target.span == ins.span
    ]
    if any(s.codes is None or code in s.codes for s in existing):
        return None
    if existing:
        sup = existing[-1]
        codes = ",".join(sorted({*(sup.codes or ()), code}))
        span = Span(sup.span.start + shift, sup.span.end + shift)
        new_text = f"# dockerarch: ignore[{codes}]"
    else:
        start = ins.span.start + shift
        indent = _INDENT.match(index.text, start)
        assert indent is not None
        newline = "\r\n" if "\r\n" in index.text else "\n"
        span = Span(start, start)
        new_text = f"{indent.group()}# dockerarch: ignore[{code}]{newline}"
    return types.CodeAction(
        title=f"Ignore {code} for this instruction",
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[diagnostic],
        edit=types.WorkspaceEdit(
            changes={uri: [types.TextEdit(range=index.range(span), new_text=new_text)]}
        ),
        is_preferred=False,
    )


def fix_all(text: str, check: Callable[[str], Result], unsafe: bool) -> str:
    """``text`` after applying fixes and re-checking until nothing changes (bounded)."""
    allowed = {Applicability.SAFE, Applicability.UNSAFE} if unsafe else {Applicability.SAFE}
    for _ in range(MAX_FIX_ROUNDS):
        result = check(text)
        shift = bom_shift(result, text)
        groups = [
            [Edit(Span(e.span.start + shift, e.span.end + shift), e.content) for e in d.fix.edits]
            for d in result.diagnostics
            if d.fix is not None
            and d.fix.applicability in allowed
            # Fix-all rewrites this document only; fixes of other files stay quick fixes.
            and all(e.path is None for e in d.fix.edits)
        ]
        new, applied = apply_edits(text, groups)
        if not applied or new == text:
            break
        text = new
    return text


def replace_edit(index: DocumentIndex, new: str) -> types.TextEdit | None:
    """One edit turning ``index.text`` into ``new``, limited to the part that differs."""
    old = index.text
    if old == new:
        return None
    limit = min(len(old), len(new))
    start = 0
    while start < limit and old[start] == new[start]:
        start += 1
    end = 0
    while end < limit - start and old[-1 - end] == new[-1 - end]:
        end += 1
    stop = len(old) - end
    # Never cut a \r\n pair: an LSP position cannot point between its halves.
    if 0 < start < len(old) and old[start - 1 : start + 1] == "\r\n":
        start -= 1
    if 0 < stop < len(old) and old[stop - 1 : stop + 1] == "\r\n":
        stop += 1
        end -= 1
    span = Span(start, stop)
    return types.TextEdit(range=index.range(span), new_text=new[start : len(new) - end])
