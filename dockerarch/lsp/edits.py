"""Applying several fixes' edits to one text at once.

Private to the language server: each group (one fix's edits) applies all or
nothing, groups are taken in document order, and a group that touches text
an earlier group already changed waits for the next round.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from dockerarch.diagnostics import Edit
from dockerarch.syntax import Span


def _conflicts(a: Span, b: Span) -> bool:
    # Two insertions at one point conflict too: their order would be a guess.
    return (a.start < b.end and b.start < a.end) or a.start == b.start


def apply_edits(text: str, groups: Iterable[Sequence[Edit]]) -> tuple[str, int]:
    """``text`` with every group that does not conflict applied; and how many were."""
    ordered = sorted(
        (g for g in groups if g),
        key=lambda g: min((e.span.start, e.span.end) for e in g),
    )
    taken: list[Edit] = []
    applied = 0
    for group in ordered:
        spans = [e.span for e in group]
        clash = any(_conflicts(a, b) for i, a in enumerate(spans) for b in spans[i + 1 :])
        if clash or any(_conflicts(e.span, t.span) for e in group for t in taken):
            continue
        taken.extend(group)
        applied += 1
    out: list[str] = []
    pos = 0
    for edit in sorted(taken, key=lambda e: e.span.start):
        out.append(text[pos : edit.span.start])
        out.append(edit.content)
        pos = edit.span.end
    out.append(text[pos:])
    return "".join(out), applied
