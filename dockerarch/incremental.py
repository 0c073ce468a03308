"""Checking one document's successive texts, re-running stage rules only where an edit can matter.

The language server checks the whole file on every keystroke. Most rules are
*stage rules* (``scope="stage"``): what they find in a stage depends only on
the global ARGs, that stage, the stages it builds on or copies from, and which
platforms build it. So a stage whose inputs are unchanged keeps the findings of
the previous check, moved to where the stage starts now. Stages an edit touched
are checked on a copy of the file in which every stage they do not depend on is
reduced to a bare ``FROM`` line and the stages after the last one needed are left
out: same offsets, same stage indices, and each platform's reachable stages taken
from the real file. File rules see the real
file every time.

The text is re-parsed from the last tree (:func:`syntax.parser.reparse`). A whole
check runs when the global ARGs change, when most stages changed, and after
:meth:`IncrementalChecker.expire`: build-context files (a requirements file) can
change unseen, and the language server says when to look again.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from dockerarch.diagnostics import Diagnostic, Edit, PlatformVariant
from dockerarch.engine import (
    Context,
    Result,
    Rule,
    Settings,
    active_rules,
    finish,
    paused_gc,
    run_rules,
)
from dockerarch.lazyre import lazy_compile
from dockerarch.model import Model, build_model
from dockerarch.records import record, replace
from dockerarch.syntax import Dockerfile, parse
from dockerarch.syntax.parser import reparse
from dockerarch.syntax.positions import Span

# What a stage outside a partial check becomes: one FROM line, then empty comments.
_PLACEHOLDER = "FROM a"
_LINE_BODY = lazy_compile(r"[^\r\n]+")

# A stage's inputs: (text, first line, index) of it and of each stage it depends
# on, and whether each platform builds it.
_Key = tuple[tuple[tuple[str, int, int], ...], tuple[bool, ...]]


@record
class _Kept:
    #: Where the stage started when ``found`` was computed.
    start: int
    found: tuple[Diagnostic, ...]


class IncrementalChecker:
    """:func:`engine.check_text` for successive texts of one document, same settings."""

    def __init__(
        self,
        settings: Settings,
        *,
        path: Path | None = None,
        context_dir: Path | None = None,
        rules: Sequence[Rule] | None = None,
        most_dirty: float = 0.5,
    ) -> None:
        self.settings = settings
        self.path = path
        self.context_dir = context_dir
        self._active = active_rules(settings, rules)
        self._running = frozenset(r.code for r in self._active)
        self._stage_rules = [r for r in self._active if r.scope == "stage"]
        self._file_rules = [r for r in self._active if r.scope != "stage"]
        #: Above this share of stages changed, a whole check is as quick as a partial one.
        self._most_dirty = most_dirty
        #: Whether the next check must be a whole one (nothing to reuse yet, or expired).
        self._expired = True
        self._prologue: tuple[tuple[str, bool], tuple[Diagnostic, ...]] | None = None
        self._kept: dict[_Key, _Kept] = {}
        self._tree: Dockerfile | None = None
        #: The last partial check's copy of the file.
        self._reduced: Dockerfile | None = None
        #: How the last check ran ("whole" or "partial"), for tests and logs.
        self.last = ""

    def expire(self) -> None:
        """Make the next check a whole one: what it reuses may be out of date (files
        on disk that rules read may have changed)."""
        self._expired = True

    def check(self, text: str) -> Result:
        with paused_gc():
            return self._check(text)

    def _check(self, text: str) -> Result:
        tree = parse(text) if self._tree is None else reparse(self._tree, text)
        self._tree = tree
        model = build_model(tree)
        ctx = Context(
            tree, model, self.settings, self.path, self.context_dir, running=self._running
        )
        found = run_rules(ctx, self._file_rules)
        regions = _regions(tree, model)
        prologue_end = regions[0].start if regions else len(tree.text)
        prologue_text = tree.text[:prologue_end]
        closures = _closures(model, self.settings)
        keys = _keys(tree, model, regions, closures, self.settings)
        dirty = [i for i, k in enumerate(keys) if k not in self._kept]
        partial = None
        # The file-wide facts a stage rule may use: the global ARGs and the keyword case.
        prologue = (prologue_text, model.lower_case)
        unchanged = self._prologue is not None and self._prologue[0] == prologue
        if not self._expired and unchanged and keys and len(dirty) <= self._most_dirty * len(keys):
            partial = self._partial(tree, model, dirty, regions, closures, ctx)
        if partial is not None and self._prologue is not None:
            self.last = "partial"
            by_region = _by_region(partial, regions)
            prologue_found = self._prologue[1]
        else:
            self.last = "whole"
            self._expired = False
            dirty = list(range(len(keys)))
            by_region = _by_region(run_rules(ctx, self._stage_rules), regions)
            prologue_found = tuple(by_region.get(-1, ()))
        # Findings about the global ARGs are reused while those are unchanged,
        # unless one points into a stage.
        before = Span(0, prologue_end)
        reusable = all(_inside(d, before) for d in prologue_found)
        self._prologue = (prologue, prologue_found) if reusable else None
        kept: dict[_Key, _Kept] = {}
        stage_found: list[Diagnostic] = list(prologue_found)
        dirty_set = set(dirty)
        for i, key in enumerate(keys):
            region = regions[i]
            if i in dirty_set:
                mine = by_region.get(i, [])
                stage_found.extend(mine)
                if all(_inside(d, region, prologue_end) for d in mine):
                    kept[key] = _Kept(region.start, tuple(mine))
            else:
                old = self._kept[key]
                delta = region.start - old.start
                stage_found.extend(_moved(d, old.start, delta) for d in old.found)
                kept[key] = old
        self._kept = kept
        found.extend(stage_found)
        model.release()
        diagnostics = finish(tree, found, self.settings, self._active)
        return Result(self.path, tree, diagnostics, ctx.notes, ctx.warnings)

    def _partial(
        self,
        tree: Dockerfile,
        model: Model,
        dirty: list[int],
        regions: list[Span],
        closures: list[frozenset[int]],
        ctx: Context,
    ) -> list[Diagnostic] | None:
        """Stage rules' findings in the ``dirty`` stages; None when a partial check cannot
        stand in for the real file here."""
        if not dirty:
            # The same text again (an editor may send it): everything is kept.
            return []
        needed = set().union(*(closures[i] for i in dirty))
        # Stages after the last one needed are left out: nothing needed refers to them.
        kept = regions[: max(needed) + 1]
        pieces = [tree.text[: regions[0].start]]
        for i, region in enumerate(kept):
            text = tree.text[region.start : region.end]
            if i not in needed:
                placeholder = _placeholder(text)
                if placeholder is None:
                    return None
                text = placeholder
            pieces.append(text)
        joined = "".join(pieces)
        last = self._reduced
        reduced = parse(joined) if last is None else reparse(last, joined)
        self._reduced = reduced
        reduced_model = build_model(reduced)
        if len(reduced_model.stages) != len(kept):
            return None
        reduced_model.take_file_facts(model, self.settings.platforms)
        partial_ctx = Context(
            reduced,
            reduced_model,
            self.settings,
            self.path,
            self.context_dir,
            running=self._running,
            warnings=ctx.warnings,
        )
        wanted = set(dirty)
        by_region = _by_region(run_rules(partial_ctx, self._stage_rules), regions)
        reduced_model.release()
        return [d for i, found in by_region.items() if i in wanted for d in found]


def _regions(tree: Dockerfile, model: Model) -> list[Span]:
    """Each stage's stretch of text: from its FROM to the next stage's FROM."""
    starts = [s.from_.span.start for s in model.stages]
    ends = [*starts[1:], len(tree.text)]
    return [Span(a, b) for a, b in zip(starts, ends, strict=False)]


def _keys(
    tree: Dockerfile,
    model: Model,
    regions: list[Span],
    closures: list[frozenset[int]],
    settings: Settings,
) -> list[_Key]:
    """Each stage's inputs: (text, first line, index) of it and of every stage it
    depends on, and whether each platform builds it."""
    parts = [
        (tree.text[region.start : region.end], stage.from_.start_line, stage.index)
        for stage, region in zip(model.stages, regions, strict=True)
    ]
    views = [model.for_platform(p) for p in settings.platforms]
    return [
        (
            tuple(parts[j] for j in sorted(closure)),
            tuple(i in view.reachable for view in views),
        )
        for i, closure in enumerate(closures)
    ]


def _closures(model: Model, settings: Settings) -> list[frozenset[int]]:
    """Per stage: it and every stage it depends on, on any platform checked.
    A stage depends only on earlier ones, so each closure builds on theirs."""
    views = [model.for_platform(p) for p in settings.platforms]
    out: list[frozenset[int]] = []
    for stage in model.stages:
        found = {stage.index}
        for view in views:
            for dep in view.dependencies(stage):
                found |= out[dep.index]
        out.append(frozenset(found))
    return out


def _placeholder(text: str) -> str | None:
    """``text`` (a stage) as one bare FROM line and empty comments, character for character."""
    first = len(text)
    for end in ("\n", "\r"):
        at = text.find(end)
        if at != -1:
            first = min(first, at)
    if first < len(_PLACEHOLDER):
        return None
    head = _PLACEHOLDER + " " * (first - len(_PLACEHOLDER))
    # Comment lines rather than blank ones: the parser skips those at their first character.
    return head + _LINE_BODY.sub(lambda m: "#" + " " * (len(m.group()) - 1), text[first:])


def _by_region(found: list[Diagnostic], regions: list[Span]) -> dict[int, list[Diagnostic]]:
    """Findings by the stage they start in; -1 for the global ARGs before the first stage."""
    out: dict[int, list[Diagnostic]] = {}
    i = -1
    for d in sorted(found, key=lambda d: d.span.start):
        while i + 1 < len(regions) and regions[i + 1].start <= d.span.start:
            i += 1
        out.setdefault(i, []).append(d)
    return out


def _offsets(d: Diagnostic) -> list[Span]:
    spans = [d.span]
    if d.fix is not None:
        spans.extend(e.span for e in d.fix.edits if e.path is None)
        spans.extend(v.span for v in d.fix.variants)
    return spans


def _inside(d: Diagnostic, region: Span, prologue_end: int = 0) -> bool:
    """Whether everything ``d`` points at in the Dockerfile lies in ``region`` or
    before ``prologue_end`` (the global ARGs, which stay put while they are unchanged)."""
    return all(
        (region.start <= s.start and s.end <= region.end) or s.end <= prologue_end
        for s in _offsets(d)
    )


def _moved(d: Diagnostic, start: int, delta: int) -> Diagnostic:
    """``d`` with what it points at from ``start`` on moved by ``delta`` characters."""
    if not delta:
        return d

    def move(s: Span) -> Span:
        return s.moved(delta) if s.start >= start else s

    fix = d.fix
    if fix is not None:
        fix = replace(
            fix,
            edits=tuple(
                Edit(move(e.span), e.content, e.path) if e.path is None else e for e in fix.edits
            ),
            variants=tuple(PlatformVariant(move(v.span), v.by_arch) for v in fix.variants),
        )
    return replace(d, span=move(d.span), fix=fix)
