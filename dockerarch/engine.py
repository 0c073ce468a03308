"""Rules, their registry, and running them over a Dockerfile.

The engine knows nothing about any single rule: the built-in pack is loaded
through the ``dockerarch.rules`` entry-point group exactly like a
third-party pack.
"""

from __future__ import annotations

import gc
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cache, partial
from pathlib import Path

from dockerarch.diagnostics import Diagnostic, ExternalLocation, Fix, Severity
from dockerarch.lazyre import lazy_compile
from dockerarch.platforms import DEFAULT_PLATFORMS, Platform
from dockerarch.records import field, record, replace
from dockerarch.syntax.positions import Span

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockerarch.model import Model, PlatformView
    from dockerarch.syntax import Dockerfile, Instruction

# Importing this module is cheap (a cached result is rendered without the
# parser or any rule): the parser, the model and the entry points are
# imported where they are used.

CATEGORIES = frozenset(
    {
        "base-image",
        "platform-flag",
        "platform-arg",
        "download",
        "path",
        "toolchain",
        "python",
        "npm",
        "x86-only",
        "build-deps",
        "syntax",
        "suppression",
        "emulation",
    }
)
SCOPES = frozenset({"stage", "file"})
_CODE = lazy_compile(r"DA\d{3}\Z")
_NAME = lazy_compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*\Z")
DOC_SECTIONS = ("What it does", "Why it matters", "Example", "Fix", "Fix safety")
DOCS_URL = "https://github.com/dockerarch/dockerarch/blob/main/docs/rules.md#{code}"


@record
class Rule:
    code: str
    name: str
    summary: str
    category: str
    severity: Severity
    docs: str
    fixable: bool
    check: Callable[[Context], Iterable[Diagnostic]] = field(compare=False, repr=False)
    #: "stage": what the rule finds in a stage depends only on the global ARGs,
    #: that stage, the stages it builds on or copies from (their text and first
    #: lines), which platforms build it and the file's keyword case
    #: (Model.lower_case), and each finding stays inside its stage or the global
    #: ARGs. The language server then re-runs it only for stages an edit touched
    #: (see dockerarch.incremental). "file": anything.
    scope: str = "file"

    def __post_init__(self) -> None:
        if not _CODE.match(self.code):
            raise ValueError(f"rule code {self.code!r} is not DA + 3 digits")
        if not _NAME.match(self.name):
            raise ValueError(f"rule name {self.name!r} is not kebab-case")
        if self.scope not in SCOPES:
            raise ValueError(f"{self.code}: unknown scope {self.scope!r}")
        if self.category not in CATEGORIES:
            raise ValueError(f"{self.code}: unknown category {self.category!r}")
        missing = [s for s in DOC_SECTIONS if f"## {s}" not in self.docs]
        if missing:
            raise ValueError(f"{self.code}: docs lack sections {missing}")

    @property
    def url(self) -> str:
        return DOCS_URL.format(code=self.code.lower())


def rule(
    *,
    code: str,
    name: str,
    category: str,
    severity: Severity,
    fixable: bool = False,
    scope: str = "file",
) -> Callable[[Callable[[Context], Iterable[Diagnostic]]], Rule]:
    """Declare a rule; its docstring is its summary line plus its docs.

    The docstring's first line is the summary; the rest holds the sections
    ``## What it does``, ``## Why it matters``, ``## Example``, ``## Fix``
    and ``## Fix safety``.
    """

    def wrap(fn: Callable[[Context], Iterable[Diagnostic]]) -> Rule:
        doc = (fn.__doc__ or "").strip()
        summary, _, body = doc.partition("\n")
        return Rule(
            code=code,
            name=name,
            summary=summary.strip(),
            category=category,
            severity=severity,
            docs=_dedented(body),
            fixable=fixable,
            check=fn,
            scope=scope,
        )

    return wrap


def _dedented(body: str) -> str:
    """``textwrap.dedent(body.expandtabs()).strip("\\n")``, which is inspect.cleandoc's
    result for a docstring's body (tests/test_engine.py and tests/test_rules_docs.py hold
    them equal). Spelled out: every rule's docs are dedented as its module is imported, and
    textwrap's regular expressions made that 5% of a one-file check."""
    lines = body.expandtabs().split("\n")
    # Lines of spaces only are emptied and set no margin.
    margin = min((len(s) - len(s.lstrip(" ")) for s in lines if s.strip(" ")), default=0)
    return "\n".join([s[margin:] if s.strip(" ") else "" for s in lines]).strip("\n")


_index: tuple[Rule, ...] | None = None


def load_rules() -> tuple[Rule, ...]:
    """Every rule from every installed pack, by code."""
    return _index if _index is not None else installed_rules()


def use_rule_index(rules: Sequence[Rule] | None) -> None:
    """Answer :func:`load_rules` with these rules instead of importing the packs (None: stop).

    For a run whose results all come from the result cache: reports need the
    rules' names and docs, not their code. The rules' checks must load the
    real rules when called (see :mod:`dockerarch.resultcache`).
    """
    global _index
    _index = None if rules is None else tuple(sorted(rules, key=lambda r: r.code))


@cache
def installed_rules() -> tuple[Rule, ...]:
    """Every rule of every installed pack (imported through the entry points), by code."""
    found: dict[str, Rule] = {}
    for value, load in _pack_entry_points():
        for r in load():
            if not isinstance(r, Rule):
                raise TypeError(f"{value}: {r!r} is not a dockerarch Rule")
            if r.code in found and found[r.code] is not r:
                raise ValueError(f"rule code {r.code} defined twice")
            found[r.code] = r
    return tuple(sorted(found.values(), key=lambda r: r.code))


RULES_GROUP = "dockerarch.rules"
# EntryPoint.pattern of importlib.metadata.
_ENTRY_POINT = lazy_compile(
    r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$"
)


def _pack_entry_points() -> list[tuple[str, Callable[[], Any]]]:
    """(value, load) of each ``dockerarch.rules`` entry point, as importlib.metadata finds them.

    Importing importlib.metadata (email parsing, zipfile, csv) costs a tenth of a run, so the
    usual layout (sys.path directories holding ``*.dist-info`` / ``*.egg-info``) is read here;
    anything else (zipped paths, eggs, other distribution finders) goes to importlib.metadata.
    """
    values = _scan_entry_points(RULES_GROUP)
    if values is None:
        from importlib.metadata import entry_points

        return [(ep.value, ep.load) for ep in entry_points(group=RULES_GROUP)]
    return [(value, partial(_load_entry_point, value)) for value in values]


def _scan_entry_points(group: str) -> list[str] | None:
    """The values of ``group``'s entry points; None when the layout needs importlib.metadata."""
    import importlib.machinery
    import sys

    for finder in sys.meta_path:
        if finder is not importlib.machinery.PathFinder and hasattr(finder, "find_distributions"):
            return None
    seen: set[str] = set()
    values: list[str] = []
    for entry in sys.path:
        root = entry or "."
        try:
            children = os.listdir(root)
        except OSError:
            if os.path.exists(root):
                return None  # a zip file
            continue
        for child in children:
            if child[-5:].lower() != "-info":
                continue  # most entries (a site-packages lists hundreds): no splitext for them
            stem, ext = os.path.splitext(child)
            if ext.lower() not in (".dist-info", ".egg-info"):
                if child.lower() == "egg-info":
                    return None  # an unpacked egg
                continue
            if ext not in (".dist-info", ".egg-info"):
                return None  # named from its metadata, which is not read here
            # importlib.metadata keeps the first distribution of each normalized name.
            name = re.sub(r"[-_.]+", "_", stem.partition("-")[0]).lower()
            if name in seen:
                continue
            seen.add(name)
            try:
                with open(os.path.join(root, child, "entry_points.txt"), encoding="utf-8") as f:
                    text = f.read()
            except OSError:
                continue
            values += _group_values(text, group)
    return values


def _group_values(text: str, group: str) -> list[str]:
    # The format importlib.metadata.Sectioned reads: [section] lines, then name = value.
    section = None
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line.strip("[]")
        elif section == group:
            _, value = line.split("=", 1)
            out.append(value.strip())
    return out


def _load_entry_point(value: str) -> Any:
    import importlib

    match = _ENTRY_POINT.match(value)
    if match is None:
        raise ValueError(f"{value!r} is not an entry point (module:attribute)")
    found: Any = importlib.import_module(match.group("module"))
    for attr in filter(None, (match.group("attr") or "").split(".")):
        found = getattr(found, attr)
    return found


def rule_by_code(code: str) -> Rule | None:
    code = code.upper()
    for r in load_rules():
        if r.code == code:
            return r
    return None


@record(frozen=False)
class Settings:
    """What a run checks: the resolved configuration for one file."""

    platforms: tuple[Platform, ...] = DEFAULT_PLATFORMS
    select: tuple[str, ...] = ("DA",)
    ignore: tuple[str, ...] = ()
    severity: dict[str, Severity] = field(default_factory=dict)
    online: bool = False
    cache_dir: Path | None = None
    verbose: bool = False

    def enabled(self, code: str) -> bool:
        def match(prefixes: Iterable[str]) -> int:
            return max((len(p) for p in prefixes if code.startswith(p.upper())), default=-1)

        sel, ign = match(self.select), match(self.ignore)
        # The more specific selector wins, as in ruff; ties go to ignore.
        return sel >= 0 and sel > ign


@record(frozen=False)
class Context:
    """What a rule sees: the file, its model, and where to report."""

    tree: Dockerfile
    model: Model
    settings: Settings
    path: Path | None
    #: The build context directory; None when unknown (stdin, untitled buffers).
    context_dir: Path | None
    rule: Rule | None = None
    notes: list[str] = field(default_factory=list)
    #: Checks that could not run as asked (a registry that did not answer);
    #: always shown, never a finding, never a change of exit code.
    warnings: list[str] = field(default_factory=list)
    #: Facts several rules derive from the same file (pip installs, say), computed once.
    cache: dict[object, object] = field(default_factory=dict)
    #: Codes of the rules this check runs: a rule may leave a problem to another
    #: rule's fix, but only when that rule really runs.
    running: frozenset[str] = frozenset()
    _views: tuple[PlatformView, ...] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @property
    def platforms(self) -> tuple[Platform, ...]:
        return self.settings.platforms

    def views(self) -> tuple[PlatformView, ...]:
        """The model as each target platform sees it (asked by most rules, made once)."""
        if self._views is None:
            self._views = tuple([self.model.for_platform(p) for p in self.settings.platforms])
        return self._views

    def text(self, span: Span) -> str:
        return self.tree.text[span.start : span.end]

    def diagnostic(
        self,
        span: Span,
        message: str,
        *,
        fix: Fix | None = None,
        platforms: Sequence[Platform | str] = (),
        severity: Severity | None = None,
        external: ExternalLocation | None = None,
        notes: Sequence[str] = (),
    ) -> Diagnostic:
        assert self.rule is not None
        return Diagnostic(
            code=self.rule.code,
            message=message,
            span=span,
            severity=severity or self.rule.severity,
            fix=fix,
            platforms=tuple(str(p) for p in platforms),
            external=external,
            notes=tuple(notes),
        )


@record(frozen=False)
class Result:
    path: Path | None
    tree: Dockerfile
    diagnostics: list[Diagnostic]
    #: Things --verbose shows: why a check said nothing (unknown Python, say).
    notes: list[str] = field(default_factory=list)
    #: Checks skipped against the user's wish (``--online`` without an answer).
    warnings: list[str] = field(default_factory=list)


def check_text(
    text: str,
    settings: Settings | None = None,
    *,
    path: Path | None = None,
    context_dir: Path | None = None,
    rules: Sequence[Rule] | None = None,
) -> Result:
    """Parse, model and run every enabled rule; apply suppressions."""
    from dockerarch.model import build_model
    from dockerarch.syntax import parse

    settings = settings or Settings()
    with paused_gc():
        tree = parse(text)
        ctx = Context(tree, build_model(tree), settings, path, context_dir)
        active = active_rules(settings, rules)
        ctx.running = frozenset(r.code for r in active)
        found = run_rules(ctx, active)
        ctx.model.release()
        return Result(path, tree, finish(tree, found, settings, active), ctx.notes, ctx.warnings)


def paused_gc() -> _PausedGC:
    """No cyclic garbage collection inside: a check allocates many objects that live
    until it ends (nodes, words, spans, scripts) and few cycles, so collections
    during it would rescan them again and again. Its cycles are collected after."""
    return _PausedGC()


class _PausedGC:
    # A class, not contextlib.contextmanager: a one-file check imports no contextlib.
    def __enter__(self) -> None:
        self.paused = gc.isenabled()
        gc.disable()

    def __exit__(self, *_: object) -> None:
        if self.paused:
            gc.enable()


def active_rules(settings: Settings, rules: Sequence[Rule] | None = None) -> list[Rule]:
    every = rules if rules is not None else load_rules()
    if not isinstance(every, tuple):  # a list may change between calls
        return [r for r in every if settings.enabled(r.code)]
    key = (tuple(settings.select), tuple(settings.ignore))
    # Every file of a run asks with the same selection. The entry holds the rules it was
    # made from, so an ``is`` test cannot be fooled by a reused id.
    known = _active.get(key)
    if known is None or known[0] is not every:
        known = _active[key] = (every, [r for r in every if settings.enabled(r.code)])
    return list(known[1])


_active: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[tuple[Rule, ...], list[Rule]]] = {}


def run_rules(ctx: Context, rules: Iterable[Rule]) -> list[Diagnostic]:
    """What ``rules`` find; suppression rules are left out (they judge the others' findings)."""
    found: list[Diagnostic] = []
    for r in rules:
        if r.category == "suppression":
            continue
        ctx.rule = r
        diags = r.check(ctx)
        found.extend(_with_severity(diags, ctx.settings) if ctx.settings.severity else diags)
    ctx.rule = None
    return found


def finish(
    tree: Dockerfile, found: list[Diagnostic], settings: Settings, active: Sequence[Rule]
) -> list[Diagnostic]:
    """``found`` with suppressions applied, in file order, without duplicates."""
    from dockerarch.suppressions import apply_suppressions

    kept = apply_suppressions(tree, found, settings, active)
    kept.sort(key=lambda d: (d.span.start, d.code, d.message))
    return _dedupe(kept)


def _with_severity(diags: Iterable[Diagnostic], settings: Settings) -> Iterator[Diagnostic]:
    for d in diags:
        override = settings.severity.get(d.code)
        yield replace(d, severity=override) if override else d


def _dedupe(diags: list[Diagnostic]) -> list[Diagnostic]:
    seen: set[tuple[object, ...]] = set()
    out = []
    for d in diags:
        key = (d.code, d.span, d.message, d.external)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


def instruction_at(tree: Dockerfile, offset: int) -> Instruction | None:
    for ins in tree.instructions:
        if ins.span.contains(offset):
            return ins
    return None
