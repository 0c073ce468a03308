"""Code actions: one fix, an ignore comment, and every fix at once.

Fixes go through :func:`dockerarch.fixer.fix_source`, as ``dockerarch fix``
does: the same conflict rules, shared identical edits and context-file
handling. Per-architecture differences are written inline (``case
"$TARGETARCH"``), never as new stages: fix-all often runs on save, and a
save that renames stages and adds ``FROM ... AS name-arm64`` lines would
restructure the file under the user's cursor; ``dockerarch fix`` still
offers the stages style.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from lsprotocol import types

from dockerarch.diagnostics import Applicability, Diagnostic, Severity
from dockerarch.engine import Result, instruction_at
from dockerarch.fixer import ContextFile, Outcome, fix_source
from dockerarch.lazyre import lazy_compile
from dockerarch.lsp.convert import file_uri, fix_from_data
from dockerarch.lsp.edits import FileEdits, text_edits, workspace_edit
from dockerarch.lsp.positions import DocumentIndex
from dockerarch.records import record
from dockerarch.suppressions import find_suppressions
from dockerarch.syntax import Dockerfile, Span

FIX_ALL_KIND = f"{types.CodeActionKind.SourceFixAll.value}.dockerarch"
FIX_ALL_TITLE = "dockerarch: fix all auto-fixable problems"
_INDENT = lazy_compile(r"[ \t]*")


@record
class Target:
    """The document code actions are asked for, and how to reach its build context."""

    uri: str
    #: The editor's version of ``index.text``.
    version: int | None
    index: DocumentIndex
    path: Path | None
    #: Whether the client takes versioned ``documentChanges``.
    document_changes: bool
    #: A build-context file to edit (:class:`dockerarch.fixer.FileError` when it cannot be).
    read_context: Callable[[Path], ContextFile]
    #: The editor's version of a file, None when it is not open.
    version_of: Callable[[Path], int | None]

    @property
    def context_dir(self) -> Path | None:
        return self.path.parent if self.path else None


def quick_fix(
    target: Target, tree: Dockerfile, diagnostic: types.Diagnostic
) -> types.CodeAction | None:
    """The edit one diagnostic's fix makes, unless it is display-only or cannot apply."""
    fix = fix_from_data(diagnostic.data)
    if fix is None or fix.applicability is Applicability.DISPLAY_ONLY:
        return None
    code = str(diagnostic.code)
    # One round over just this finding: the fixer checks the edits against the
    # text, reads the context files they touch and refuses what cannot apply.
    finding = Diagnostic(code, fix.message, Span(0, 0), Severity.INFO, fix)
    found = Result(target.path, tree, [finding])
    outcome = fix_source(
        target.index.text,
        lambda _: found,
        unsafe=True,
        style="inline",
        context_dir=target.context_dir,
        read_context=target.read_context,
        max_rounds=1,
    )
    edit = outcome_edit(target, outcome)
    if edit is None:
        return None
    unsafe = fix.applicability is not Applicability.SAFE
    return types.CodeAction(
        title=f"Fix {code}: {fix.message}" + (" (unsafe)" if unsafe else ""),
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[diagnostic],
        edit=edit,
        is_preferred=not unsafe,
    )


def fix_all(
    target: Target, check: Callable[[str], Result], unsafe: bool, archs: Sequence[str]
) -> tuple[types.CodeAction | None, Outcome]:
    """Every applicable fix, in rounds until the text settles; and what the fixer did."""
    outcome = fix_source(
        target.index.text,
        check,
        unsafe=unsafe,
        style="inline",
        archs=archs,
        context_dir=target.context_dir,
        read_context=target.read_context,
    )
    edit = outcome_edit(target, outcome)
    if edit is None:
        return None, outcome
    return types.CodeAction(title=FIX_ALL_TITLE, kind=FIX_ALL_KIND, edit=edit), outcome


def outcome_edit(target: Target, outcome: Outcome) -> types.WorkspaceEdit | None:
    """What ``outcome`` changed, in the Dockerfile and its build context; None if nothing."""
    if not outcome.applied:
        return None
    files = [FileEdits(target.uri, target.version, text_edits(target.index, outcome.source))]
    encoding = target.index.encoding
    for path, cf in sorted(outcome.files.items()):
        # The fixer edits the file without its byte order mark, as editors show it.
        edits = text_edits(DocumentIndex(cf.original, encoding), cf.text)
        files.append(FileEdits(file_uri(path), target.version_of(path), edits))
    if not any(f.edits for f in files):
        return None
    return workspace_edit(files, target.document_changes)


def ignore_action(
    target: Target, tree: Dockerfile, diagnostic: types.Diagnostic, offset: int
) -> types.CodeAction | None:
    """``# dockerarch: ignore[CODE]`` above the instruction at ``offset`` (a document offset).

    An ignore comment already directly above the instruction gets the code
    added instead of a second comment.
    """
    code = str(diagnostic.code)
    text = target.index.text
    shift = len(text) - len(tree.text)
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
        span = sup.span.moved(shift)
        new_text = f"# dockerarch: ignore[{codes}]"
    else:
        start = ins.span.start + shift
        indent = _INDENT.match(text, start)
        assert indent is not None
        newline = "\r\n" if "\r\n" in text else "\n"
        span = Span(start, start)
        new_text = f"{indent.group()}# dockerarch: ignore[{code}]{newline}"
    edit = types.TextEdit(range=target.index.range(span), new_text=new_text)
    return types.CodeAction(
        title=f"Ignore {code} for this instruction",
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[diagnostic],
        edit=workspace_edit(
            [FileEdits(target.uri, target.version, [edit])], target.document_changes
        ),
        is_preferred=False,
    )
