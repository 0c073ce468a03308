"""DA801: CI builds that compile under QEMU emulation, and the native-runner alternative."""

from __future__ import annotations

import os
from pathlib import Path

from dockerarch.diagnostics import Applicability, Diagnostic, Fix, Severity
from dockerarch.engine import Settings
from dockerarch.fileio import FileError, read_source
from dockerarch.platforms import Platform
from dockerarch.records import field, record
from dockerarch.syntax.positions import LineIndex
from dockerarch.workflows import bake, github, gitlab
from dockerarch.workflows.builds import BUILD_PUSH_ACTION, Build, runs_natively
from dockerarch.workflows.discover import BAKE, GITHUB, GITLAB, ci_kind, repo_root
from dockerarch.workflows.github import StepRef
from dockerarch.workflows.heavy import HeavyStep, emulated_work
from dockerarch.workflows.rewrite import guidance, native_matrix_fix

CODE = "DA801"
#: Where an unknown runner is assumed to be, when the job sets up QEMU.
ASSUMED_HOST = "amd64"
#: Heavy steps named in the message; the rest are counted.
_SHOWN = 3


@record(frozen=False)
class CiResult:
    """One checked CI file, shaped like :class:`dockerarch.engine.Result` for the reporters.

    ``text`` and ``lines`` are what the reporters read from a Dockerfile tree.
    """

    path: Path
    text: str
    diagnostics: list[Diagnostic]
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    lines: LineIndex = field(init=False)

    def __post_init__(self) -> None:
        self.lines = LineIndex(self.text)


def check_ci_file(path: Path, settings: Settings, root: Path | None = None) -> CiResult:
    """Read and check one CI file; ``root`` defaults to the repository the file says."""
    text = read_source(path).text.removeprefix("\ufeff")
    notes: list[str] = []
    diagnostics = _check(path, text, settings, root or repo_root(path), notes)
    return CiResult(path, text, diagnostics, notes)


def check_workflow(path: Path, text: str, settings: Settings, repo_root: Path) -> list[Diagnostic]:
    """DA801 findings of the CI file ``path`` (GitHub workflow, GitLab CI or bake file)."""
    return _check(path, text, settings, repo_root, [])


def _check(
    path: Path, text: str, settings: Settings, root: Path, notes: list[str]
) -> list[Diagnostic]:
    if not settings.enabled(CODE):
        return []
    kind = ci_kind(path)
    if kind == GITHUB:
        workflow = github.parse_workflow(text)
        found = github.builds(text, workflow, root) if workflow is not None else []
    elif kind == GITLAB:
        found = gitlab.builds(text, root)
    elif kind == BAKE:
        found = bake.builds(text, path)
    else:
        return []
    work = _DockerfileWork(settings, notes)
    out: list[Diagnostic] = []
    for build in found:
        d = _diagnostic(text, kind, build, work, root, notes)
        if d is not None:
            out.append(d)
    severity = settings.severity.get(CODE)
    if severity is not None:
        out = [_with(d, severity) for d in out]
    return sorted(out, key=lambda d: (d.span.start, d.message))


def _with(d: Diagnostic, severity: Severity) -> Diagnostic:
    return Diagnostic(d.code, d.message, d.span, severity, d.fix, d.platforms, d.external, d.notes)


class _DockerfileWork:
    """Heavy steps per Dockerfile, builder and platform list: each analysed once per file."""

    def __init__(self, settings: Settings, notes: list[str]) -> None:
        self.settings = settings
        self.notes = notes
        self.cache: dict[tuple[Path, Path | None, tuple[Platform, ...], str], list[HeavyStep]] = {}

    def steps(self, build: Build, host: str) -> list[HeavyStep] | None:
        if build.dockerfile is None:
            self.notes.append(f"{build.label}: the Dockerfile is not known; not checked")
            return None
        key = (build.dockerfile, build.context, build.platforms, host)
        if key not in self.cache:
            try:
                text = read_source(build.dockerfile).text.removeprefix("\ufeff")
            except FileError as e:
                self.notes.append(f"{build.label}: {e.path}: {e.problem}")
                return None
            self.cache[key] = emulated_work(
                text,
                path=build.dockerfile,
                context_dir=build.context,
                settings=self.settings,
                platforms=build.platforms,
                host=host,
            )
        return self.cache[key]


def _diagnostic(
    text: str, kind: str, build: Build, work: _DockerfileWork, root: Path, notes: list[str]
) -> Diagnostic | None:
    host = build.host_arch
    if host is None:
        if build.emulator is None:
            notes.append(f"{build.label}: the runner's architecture is not known; not checked")
            return None
        host = ASSUMED_HOST
    if all(runs_natively(p.arch, host) for p in build.platforms):
        return None
    steps = work.steps(build, host)
    if not steps:
        return None
    emulated = list(dict.fromkeys(s.platform for s in steps))
    assert build.dockerfile is not None
    dockerfile = _shown(build.dockerfile, root)
    where = {
        GITHUB: f"an {host} runner",
        GITLAB: f"an {host} runner",
        BAKE: f"one {host} builder (assumed)",
    }[kind]
    plats = ", ".join(str(p) for p in emulated)
    whats = list(dict.fromkeys(f"{s.what} (line {s.line})" for s in steps))
    listed = ", ".join(whats[:_SHOWN])
    if len(whats) > _SHOWN:
        listed += f" and {len(whats) - _SHOWN} more"
    message = (
        f"{build.label} builds {plats} under QEMU emulation on {where}, and {dockerfile} "
        f"compiles there: {listed}; compiling under emulation is many times slower than "
        "on a native runner"
    )
    step_notes = list(
        dict.fromkeys(
            f"{dockerfile}:{s.line}: {s.what} runs emulated for {s.platform}" for s in steps
        )
    )
    if build.host_arch is None:
        step_notes.insert(0, f"the runner's architecture is not known; assumed {ASSUMED_HOST}")
    return Diagnostic(
        CODE,
        message,
        build.platforms_span,
        Severity.WARNING,
        fix=_fix(text, kind, build),
        platforms=tuple(str(p) for p in emulated),
        notes=tuple(step_notes),
    )


def _fix(text: str, kind: str, build: Build) -> Fix:
    if build.kind == BUILD_PUSH_ACTION and isinstance(build.extra, StepRef):
        return native_matrix_fix(text, build.extra, build.platforms)
    return Fix(guidance(kind), (), Applicability.DISPLAY_ONLY)


def _shown(path: Path, root: Path) -> str:
    try:
        return Path(os.path.relpath(path, root)).as_posix()
    except ValueError:
        return path.as_posix()
