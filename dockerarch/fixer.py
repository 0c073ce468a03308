"""Applying fixes: rounds of check-then-edit until the text settles.

A pure library (no output, no writes): ``dockerarch fix``, the tests and
the language server can share it. Each round checks the text, turns every
applicable fix into a group of edits that applies all or nothing, takes the
groups in order of position then code, and leaves a group that conflicts
with one already taken for the next round, which sees the text as it is
then. Two groups conflict when their edits overlap, or start at one offset
unless both only insert; an edit identical to one already taken is shared,
not repeated.

Edits of build-context files (``Edit.path``) are kept in memory. Rules read
those files from disk, so every round reports their edits against the
original text: the fixer accumulates them in original coordinates and
recognises a re-reported edit as one already made.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Literal

from dockerarch.diagnostics import Applicability, Diagnostic, Edit, PlatformVariant
from dockerarch.engine import Result
from dockerarch.fileio import FileError, read_source
from dockerarch.model import build_model
from dockerarch.records import field, record
from dockerarch.restructure import restructure
from dockerarch.syntax import Span

Style = Literal["stages", "inline"]
STYLES: tuple[Style, ...] = ("stages", "inline")
MAX_ROUNDS = 10
BOM = "\ufeff"


def conflicts(a: Span, b: Span) -> bool:
    """Whether edits of two different fixes at ``a`` and ``b`` cannot both apply.

    Insertions at one offset go in the order their fixes are taken; an
    insertion where the other fix replaces text could belong on either side.
    """
    if a.start == b.start:
        return a.start != a.end or b.start != b.end
    return a.start < b.end and b.start < a.end


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """``text`` with non-overlapping ``edits`` applied.

    Edits starting at one offset apply insertions first, in the order given.
    """
    out: list[str] = []
    pos = 0
    for edit in sorted(edits, key=lambda e: (e.span.start, e.span.end)):
        if edit.span.start < pos:
            raise ValueError(f"overlapping edits at offset {edit.span.start}")
        out.append(text[pos : edit.span.start])
        out.append(edit.content)
        pos = edit.span.end
    out.append(text[pos:])
    return "".join(out)


@record(frozen=False)
class ContextFile:
    """A build-context file some fix edits, with the edits taken so far."""

    path: Path
    #: The text as read, without a UTF-8 byte order mark; edit offsets index it.
    original: str
    bom: bool
    mtime_ns: int | None
    edits: list[Edit] = field(default_factory=list)

    @property
    def text(self) -> str:
        return apply_edits(self.original, self.edits)

    @property
    def source(self) -> str:
        """The fixed content to write, byte order mark included."""
        return (BOM if self.bom else "") + self.text


def read_context_file(path: Path) -> ContextFile:
    """Read a build-context file for editing; :class:`FileError` when it cannot be."""
    source = read_source(path)
    bom = source.text.startswith(BOM)
    return ContextFile(path, source.text[1:] if bom else source.text, bom, source.mtime_ns)


@record
class Applied:
    """One fix made: its rule code and message, and the round it was made in."""

    code: str
    message: str
    round: int
    #: The diagnostic whose fix was made; its spans index that round's text.
    diagnostic: Diagnostic


@record(frozen=False)
class Outcome:
    """What fixing one Dockerfile did."""

    original: str
    #: The fixed Dockerfile, byte order mark included when the original had one.
    source: str
    applied: list[Applied]
    #: The check of ``source``.
    result: Result
    #: The diagnostics of ``result`` that no fix made resolves.
    remaining: list[Diagnostic]
    #: Build-context files changed, by absolute path.
    files: dict[Path, ContextFile]
    #: Build-context files some fix needed but that could not be read.
    errors: list[FileError]
    #: False when fixes still changed the text after the last round, or undid each other.
    converged: bool
    rounds: int

    @property
    def changed(self) -> bool:
        return self.source != self.original or bool(self.files)


@record
class _Group:
    """Edits that apply together or not at all: one fix, or one restructuring."""

    diagnostics: tuple[Diagnostic, ...]
    edits: tuple[Edit, ...]
    #: Where the change is: its first Dockerfile edit, or a restructuring's first
    #: variant (not the FROM it renames); -1 for edits of other files only.
    position: int

    @property
    def key(self) -> tuple[int, str]:
        return (self.position, min(d.code for d in self.diagnostics))


def _group(d: Diagnostic, edits: tuple[Edit, ...]) -> _Group:
    return _Group((d,), edits, min((e.span.start for e in edits if e.path is None), default=-1))


def allowed_applicabilities(unsafe: bool) -> frozenset[Applicability]:
    if unsafe:
        return frozenset({Applicability.SAFE, Applicability.UNSAFE})
    return frozenset({Applicability.SAFE})


def fix_source(
    source: str,
    check: Callable[[str], Result],
    *,
    unsafe: bool = False,
    style: Style = "stages",
    archs: Sequence[str] = ("amd64", "arm64"),
    context_dir: Path | None = None,
    read_context: Callable[[Path], ContextFile] = read_context_file,
    max_rounds: int = MAX_ROUNDS,
) -> Outcome:
    """Fix ``source`` (a Dockerfile's text, byte order mark and all) until nothing changes.

    ``check`` runs the rules over a text; ``archs`` are the target
    architectures that per-architecture stages are made for;
    ``context_dir`` resolves relative ``Edit.path`` values.
    """
    bom = source.startswith(BOM)
    text = source[1:] if bom else source
    allowed = allowed_applicabilities(unsafe)
    files: dict[Path, ContextFile] = {}
    errors: dict[Path, FileError] = {}
    applied: list[Applied] = []
    seen = {text}
    converged = False
    stop = False
    rounds = 0
    while True:
        result = check((BOM if bom else "") + text)
        if stop or rounds == max_rounds:
            break
        groups = _groups(result, allowed, style, archs, context_dir)
        new_text, taken = _take(text, groups, files, errors, read_context)
        if not taken:
            converged = True
            break
        rounds += 1
        applied += [
            Applied(d.code, d.fix.message, rounds, d)
            for g in taken
            for d in g.diagnostics
            if d.fix is not None
        ]
        # Fixes that undo each other would bring back a text already seen.
        stop = new_text != text and new_text in seen
        text = new_text
        seen.add(text)
    remaining = [d for d in result.diagnostics if not _made(d, allowed, files, context_dir)]
    return Outcome(
        original=source,
        source=(BOM if bom else "") + text,
        applied=applied,
        result=result,
        remaining=remaining,
        files={p: f for p, f in files.items() if f.edits},
        errors=list(errors.values()),
        converged=converged,
        rounds=rounds,
    )


def _resolve(edits: Iterable[Edit], context_dir: Path | None) -> tuple[Edit, ...] | None:
    out = []
    for e in edits:
        if e.path is None:
            out.append(e)
            continue
        if not e.path.is_absolute() and context_dir is None:
            return None
        full = e.path if e.path.is_absolute() else (context_dir or Path()) / e.path
        out.append(Edit(e.span, e.content, Path(os.path.abspath(full))))
    return tuple(out)


def _groups(
    result: Result,
    allowed: frozenset[Applicability],
    style: Style,
    archs: Sequence[str],
    context_dir: Path | None,
) -> list[_Group]:
    fixable = [d for d in result.diagnostics if d.fix and d.fix.applicability in allowed]
    staged: list[Diagnostic] = []
    plain: list[Diagnostic] = []
    model = build_model(result.tree) if style == "stages" else None
    for d in fixable:
        assert d.fix is not None
        # A fix whose variants cannot become stages (see restructure) applies inline.
        if model is not None and d.fix.variants and restructure(model, d.fix.variants, archs):
            staged.append(d)
        else:
            plain.append(d)
    groups: list[_Group] = []
    for d in plain:
        assert d.fix is not None
        edits = _resolve(d.fix.edits, context_dir)
        if edits is not None:
            groups.append(_group(d, edits))
    if model is not None and staged:
        # Every variant fix of a round goes into one restructuring, since
        # two would both rename the stage; an overlapping one waits.
        chosen: list[Diagnostic] = []
        taken: list[Span] = []
        for d in sorted(staged, key=lambda d: (min(v.span.start for v in _variants(d)), d.code)):
            mine = [v.span for v in _variants(d)]
            if any(_overlap(a, b) for a in mine for b in taken):
                continue
            chosen.append(d)
            taken += mine
        edits = restructure(model, [v for d in chosen for v in _variants(d)], archs)
        if edits is not None:
            groups.append(_Group(tuple(chosen), edits, min(s.start for s in taken)))
        else:
            for d in chosen:
                assert d.fix is not None
                inline = _resolve(d.fix.edits, context_dir)
                if inline is not None:
                    groups.append(_group(d, inline))
    return groups


def _variants(d: Diagnostic) -> tuple[PlatformVariant, ...]:
    return d.fix.variants if d.fix is not None else ()


def _overlap(a: Span, b: Span) -> bool:
    return a.start < b.end and b.start < a.end


def _self_conflicting(edits: Sequence[Edit]) -> bool:
    return any(
        a.path == b.path and _overlap(a.span, b.span)
        for i, a in enumerate(edits)
        for b in edits[i + 1 :]
    )


def _take(
    text: str,
    groups: Sequence[_Group],
    files: dict[Path, ContextFile],
    errors: dict[Path, FileError],
    read_context: Callable[[Path], ContextFile],
) -> tuple[str, list[_Group]]:
    """The text with every group that fits applied, and those groups."""
    here: list[Edit] = []
    there: dict[Path, list[Edit]] = {}
    taken: list[_Group] = []
    for group in sorted(groups, key=lambda g: g.key):
        if _self_conflicting(group.edits):
            continue
        mine = [
            e
            for e in group.edits
            if e.path is None
            and e.span.end <= len(text)
            and text[e.span.start : e.span.end] != e.content
        ]
        if any(e.path is None and e.span.end > len(text) for e in group.edits):
            continue
        if any(conflicts(e.span, t.span) for e in mine for t in here if e != t):
            continue
        outside = [e for e in group.edits if e.path is not None]
        fresh = _fresh_context_edits(outside, files, there, errors, read_context)
        if fresh is None or (outside and not fresh):
            # A context file that cannot be edited, or edits made in an earlier
            # round that the rule reports again from the unchanged file.
            continue
        if not mine and not fresh:
            continue
        here += [e for e in mine if e not in here]
        for e in fresh:
            assert e.path is not None
            there.setdefault(e.path, []).append(e)
        taken.append(group)
    for path, edits in there.items():
        files[path].edits.extend(edits)
    return apply_edits(text, here), taken


def _fresh_context_edits(
    edits: Sequence[Edit],
    files: dict[Path, ContextFile],
    pending: dict[Path, list[Edit]],
    errors: dict[Path, FileError],
    read_context: Callable[[Path], ContextFile],
) -> list[Edit] | None:
    """The edits not made yet; None when one cannot be made."""
    fresh: list[Edit] = []
    for e in edits:
        assert e.path is not None
        if e.path in errors:
            return None
        if e.path not in files:
            try:
                files[e.path] = read_context(e.path)
            except FileError as err:
                errors[e.path] = err
                return None
        made = [*files[e.path].edits, *pending.get(e.path, ())]
        if e in made:
            continue
        if e.span.end > len(files[e.path].original):
            return None
        if any(conflicts(e.span, t.span) for t in made):
            return None
        fresh.append(e)
    return fresh


def _made(
    d: Diagnostic,
    allowed: frozenset[Applicability],
    files: dict[Path, ContextFile],
    context_dir: Path | None,
) -> bool:
    """Whether the fix of ``d``, reported from a context file on disk, is already made."""
    if d.fix is None or d.fix.applicability not in allowed:
        return False
    edits = _resolve(d.fix.edits, context_dir)
    if not edits or any(e.path is None for e in edits):
        return False
    return all(e.path in files and e in files[e.path].edits for e in edits)


def unified_diff(name: str, old: str, new: str) -> list[str]:
    """``diff -u`` of ``old`` and ``new`` as lines, headers first; a last line without a
    newline is marked as diff(1) marks it."""
    out = []
    for line in difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), name, name
    ):
        if line.endswith("\n"):
            out.append(line)
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return out
