"""How ready each Dockerfile is for each target platform: the data behind ``dockerarch report``.

A finding *counts against* a platform when its severity is error or warning
and its ``platforms`` is empty (it concerns every platform) or names that
platform; info findings are listed but never change a status. For one file
and one platform the status is

- **ready**: no finding counts against the platform;
- **needs fixes**: some do, and after ``dockerarch fix --unsafe-fixes`` none
  that counts against the platform is left (fixes interact: one rule may leave
  a problem to another rule's fix, so what decides is the fixed file, not
  whether each finding carries a fix of its own);
- **blocked**: something that counts against the platform is left after
  fixing, or the fixer did not settle, so a person must change the build.

Without a fix preview (:func:`status` called with findings only) a finding
counts as fixable when it carries a safe or unsafe fix.

A platform the file's configuration does not target has no status. What
``fix`` would change is computed by running the fixer in memory with unsafe
fixes allowed; nothing is written.
"""

from __future__ import annotations

import enum
import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from dockerarch.diagnostics import Applicability, Severity
from dockerarch.engine import Result, Settings, check_text
from dockerarch.fixer import Outcome, Style, fix_source
from dockerarch.fixer import unified_diff as fixer_diff
from dockerarch.records import record
from dockerarch.report import FileReport, Options, display_path, located

#: Category of a finding whose rule is not installed (a pack removed since).
OTHER = "other"


class Status(enum.Enum):
    READY = "ready"
    NEEDS_FIXES = "needs fixes"
    BLOCKED = "blocked"

    @property
    def rank(self) -> int:
        """Higher is worse; a file's overall status is its worst platform's."""
        return (Status.READY, Status.NEEDS_FIXES, Status.BLOCKED).index(self)


@record
class Finding:
    """A diagnostic as the report shows it, its cause's place resolved."""

    code: str
    category: str
    severity: Severity
    message: str
    #: Where the cause is: the Dockerfile or a build-context file (requirements.txt, ...).
    path: str
    line: int
    column: int
    #: Platforms it concerns; empty = all.
    platforms: tuple[str, ...]
    #: How far its fix can be trusted; None when there is no fix.
    fix: Applicability | None
    #: The rule's documentation; None when its rule is not installed.
    url: str | None = None

    def concerns(self, platform: str) -> bool:
        return not self.platforms or platform in self.platforms

    def counts_against(self, platform: str) -> bool:
        return self.severity is not Severity.INFO and self.concerns(platform)

    @property
    def fixable(self) -> bool:
        return self.fix in (Applicability.SAFE, Applicability.UNSAFE)


def status(findings: Iterable[Finding], platform: str, fix: FixPreview | None = None) -> Status:
    """The status of ``platform`` given a file's findings and fix preview (see the module docs)."""
    against = [f for f in findings if f.counts_against(platform)]
    if not against:
        return Status.READY
    if fix is not None:
        fixed = fix.converged and platform not in fix.left_on
        return Status.NEEDS_FIXES if fixed else Status.BLOCKED
    if all(f.fixable for f in against):
        return Status.NEEDS_FIXES
    return Status.BLOCKED


@record
class FixPreview:
    """What ``dockerarch fix --unsafe-fixes`` would do to one Dockerfile."""

    #: (rule code, fixes applied) in code order.
    applied: tuple[tuple[str, int], ...]
    #: Unified diff of every file that would change; empty when none would.
    diff: str
    added: int
    removed: int
    #: Names of the files that would change, the Dockerfile first.
    files: tuple[str, ...]
    #: Findings left after fixing.
    remaining: int
    #: Target platforms that an error or warning left after fixing still concerns.
    left_on: frozenset[str]
    #: False when fixes kept changing the text until the fixer gave up.
    converged: bool
    #: Why some fix could not be previewed (an unreadable requirements file, ...).
    problems: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return bool(self.files)


@record
class FileReadiness:
    name: str
    #: The repository holding the file (the nearest directory with ``.git``), as shown; None
    #: outside any repository.
    repository: str | None
    #: The platforms the file's configuration targets.
    platforms: tuple[str, ...]
    findings: tuple[Finding, ...]
    fix: FixPreview
    #: Checks that could not run as configured (a registry that did not answer).
    warnings: tuple[str, ...] = ()

    def status(self, platform: str) -> Status | None:
        """Status for ``platform``; None when the file does not target it."""
        return status(self.findings, platform, self.fix) if platform in self.platforms else None

    @property
    def overall(self) -> Status:
        return worst(status(self.findings, p, self.fix) for p in self.platforms)

    def categories(self) -> Counter[str]:
        return Counter(f.category for f in self.findings)


@record
class Unchecked:
    """An input that could not be read or checked, and why."""

    name: str
    problem: str


@record
class Readiness:
    files: tuple[FileReadiness, ...]
    unchecked: tuple[Unchecked, ...] = ()

    @property
    def platforms(self) -> tuple[str, ...]:
        """Every platform some file targets, in the order they first appear."""
        return tuple(dict.fromkeys(p for f in self.files for p in f.platforms))

    def tally(self, platform: str) -> Counter[Status]:
        """How many files have each status for ``platform`` (files not targeting it left out)."""
        return Counter(s for f in self.files if (s := f.status(platform)) is not None)

    def by_category(self) -> dict[str, dict[str, int]]:
        """Findings per category and platform, the most frequent category first.

        A finding for every platform counts once for each platform its file targets.
        """
        counts: dict[str, Counter[str]] = {}
        for f in self.files:
            for finding in f.findings:
                row = counts.setdefault(finding.category, Counter())
                row.update(p for p in f.platforms if finding.concerns(p))
        order = sorted(counts, key=lambda c: (-sum(counts[c].values()), c))
        return {c: {p: counts[c][p] for p in self.platforms} for c in order}

    def repositories(self) -> dict[str | None, list[FileReadiness]]:
        """Files grouped by repository, in the order the repositories first appear."""
        groups: dict[str | None, list[FileReadiness]] = {}
        for f in self.files:
            groups.setdefault(f.repository, []).append(f)
        return groups


def assess(
    name: str,
    text: str,
    settings: Settings,
    *,
    path: Path | None,
    context_dir: Path | None,
    style: Style = "stages",
    cwd: Path | None = None,
) -> tuple[FileReadiness, list[str]]:
    """Check one Dockerfile and preview its fixes; also returns the run's --verbose notes."""
    cwd = cwd or Path.cwd()
    result = check_text(text, settings, path=path, context_dir=context_dir)

    def check(source: str) -> Result:
        # The fixer's first round checks the original text, which is done already.
        if source == text:
            return result
        return check_text(source, settings, path=path, context_dir=context_dir)

    archs = list(dict.fromkeys(p.arch for p in settings.platforms))
    outcome = fix_source(
        text, check, unsafe=True, style=style, archs=archs, context_dir=context_dir
    )
    report = FileReport(name, result.tree, result.diagnostics, context_dir)
    readiness = FileReadiness(
        name=name,
        repository=repository_of(path, cwd),
        platforms=tuple(str(p) for p in settings.platforms),
        findings=findings(report, cwd),
        fix=preview(name, outcome, cwd, tuple(str(p) for p in settings.platforms)),
        warnings=tuple(result.warnings),
    )
    return readiness, list(result.notes)


def findings(report: FileReport, cwd: Path) -> tuple[Finding, ...]:
    out = []
    for item in located([report], Options(cwd=cwd)):
        d = item.diagnostic
        out.append(
            Finding(
                code=d.code,
                category=item.rule.category if item.rule else OTHER,
                severity=d.severity,
                message=d.message,
                path=item.primary.path,
                line=item.primary.line,
                column=item.primary.column,
                platforms=d.platforms,
                fix=d.fix.applicability if d.fix else None,
                url=item.rule.url if item.rule else None,
            )
        )
    return tuple(out)


def preview(name: str, outcome: Outcome, cwd: Path, platforms: tuple[str, ...]) -> FixPreview:
    diffs: list[Diff] = []
    if outcome.source != outcome.original:
        diffs.append(unified_diff(name, outcome.original, outcome.source))
    for path, cf in sorted(outcome.files.items()):
        original = ("\ufeff" if cf.bom else "") + cf.original
        diffs.append(unified_diff(display_path(path, cwd), original, cf.source))
    problems = [f"{display_path(Path(e.path), cwd)}: {e.problem}" for e in outcome.errors]
    return FixPreview(
        applied=tuple(sorted(Counter(a.code for a in outcome.applied).items())),
        diff="".join(d.text for d in diffs),
        added=sum(d.added for d in diffs),
        removed=sum(d.removed for d in diffs),
        files=tuple(d.name for d in diffs),
        remaining=len(outcome.remaining),
        left_on=frozenset(
            p
            for d in outcome.remaining
            if d.severity is not Severity.INFO
            for p in (d.platforms or platforms)
        ),
        converged=outcome.converged,
        problems=tuple(problems),
    )


@record
class Diff:
    name: str
    text: str
    added: int
    removed: int


def unified_diff(name: str, old: str, new: str) -> Diff:
    lines = fixer_diff(name, old, new)
    # The first two lines are the ---/+++ file headers, not changes.
    body = lines[2:]
    added = sum(1 for line in body if line.startswith("+"))
    removed = sum(1 for line in body if line.startswith("-"))
    return Diff(name, "".join(lines), added, removed)


def repository_of(path: Path | None, cwd: Path) -> str | None:
    """The repository root holding ``path`` as shown to the user; None outside any."""
    if path is None:
        return None
    directory = Path(os.path.abspath(path)).parent
    for candidate in (directory, *directory.parents):
        # A .git file marks a worktree or submodule, a repository as much as a .git directory.
        if (candidate / ".git").exists():
            return display_path(candidate, cwd)
    return None


def worst(statuses: Iterable[Status]) -> Status:
    return max(statuses, key=lambda s: s.rank, default=Status.READY)
