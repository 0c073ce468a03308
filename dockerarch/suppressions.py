"""``# dockerarch: ignore[...]`` comments.

- ``# dockerarch: ignore[DA101,DA203]`` on the comment line(s) directly above
  an instruction silences those codes for that instruction;
- ``# dockerarch: ignore-file[DA101]`` among the comments before the first
  instruction silences them for the file;
- the bare forms (``# dockerarch: ignore``) silence every code.

A suppression that silences nothing is itself reported (DA901) when that
rule is enabled, so stale comments do not pile up.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from dockerarch.diagnostics import Diagnostic, Severity
from dockerarch.lazyre import lazy_compile
from dockerarch.records import field, record
from dockerarch.syntax import Comment, Dockerfile, Instruction, Span

_PATTERN = lazy_compile(
    r"#\s*dockerarch:\s*(?P<kind>ignore-file|ignore)\b(?:\[(?P<codes>[^\]]*)\])?", re.IGNORECASE
)
UNUSED_CODE = "DA901"


@record(frozen=False)
class Suppression:
    span: Span
    file_wide: bool
    codes: frozenset[str] | None  # None: every code
    target: Instruction | None
    used: set[str] = field(default_factory=set)

    def covers(self, d: Diagnostic) -> bool:
        if self.codes is not None and d.code not in self.codes:
            return False
        if self.file_wide:
            return True
        return self.target is not None and self.target.span.contains(d.span.start)


def find_suppressions(tree: Dockerfile) -> list[Suppression]:
    out: list[Suppression] = []
    pending: list[Suppression] = []
    seen_instruction = False
    for item in tree.items:
        if isinstance(item, Comment):
            m = _PATTERN.search(item.text)
            if not m:
                continue
            codes = None
            if m.group("codes") is not None:
                codes = frozenset(
                    c.strip().upper() for c in m.group("codes").split(",") if c.strip()
                )
            file_wide = m.group("kind").lower() == "ignore-file"
            line = tree.text[item.span.start : item.span.end]
            start = item.span.start + line.index(item.text) + m.start()
            sup = Suppression(Span(start, start + len(m.group(0))), file_wide, codes, None)
            if file_wide:
                if not seen_instruction:
                    out.append(sup)
            else:
                pending.append(sup)
        elif isinstance(item, Instruction):
            seen_instruction = True
            for sup in pending:
                sup.target = item
            out.extend(pending)
            pending = []
        else:
            # A blank line breaks "directly above".
            out.extend(pending)
            pending = []
    out.extend(pending)
    return out


def apply_suppressions(
    tree: Dockerfile,
    diagnostics: list[Diagnostic],
    settings: object,
    active_rules: Sequence[object],
) -> list[Diagnostic]:
    sups = find_suppressions(tree)
    if not sups:
        return diagnostics
    kept: list[Diagnostic] = []
    for d in diagnostics:
        hit = [s for s in sups if s.covers(d)]
        for s in hit:
            s.used.add(d.code)
        if not hit:
            kept.append(d)
    if any(getattr(r, "code", None) == UNUSED_CODE for r in active_rules):
        for s in sups:
            if s.file_wide is False and s.target is None:
                msg = "suppression comment is not directly above an instruction"
            elif s.codes is None:
                if s.used:
                    continue
                msg = "suppression silences nothing"
            else:
                unused = sorted(s.codes - s.used)
                if not unused:
                    continue
                msg = _unused_message(unused, {str(getattr(r, "code", "")) for r in active_rules})
            kept.append(Diagnostic(UNUSED_CODE, msg, s.span, Severity.WARNING))
    return kept


def _unused_message(unused: list[str], active: set[str]) -> str:
    """Like ruff's RUF100: say which codes are unused, not enabled, or not rules at all."""
    from dockerarch.engine import rule_by_code

    unknown = [c for c in unused if rule_by_code(c) is None]
    disabled = [c for c in unused if c not in unknown and c not in active]
    idle = [c for c in unused if c not in unknown and c not in disabled]
    parts = []
    if idle:
        parts.append(f"suppression of {', '.join(idle)} silences nothing")
    if disabled:
        verb = "is" if len(disabled) == 1 else "are"
        parts.append(f"{', '.join(disabled)} {verb} not enabled")
    if unknown:
        noun = "rule" if len(unknown) == 1 else "rules"
        parts.append(f"no {noun} {', '.join(unknown)}")
    if not idle:
        parts[0] = "suppression silences nothing: " + parts[0]
    return "; ".join(parts)
