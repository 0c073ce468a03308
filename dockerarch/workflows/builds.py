"""Image builds found in CI files: what they build, for which platforms, on which machine."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from dockerarch.lazyre import lazy_compile
from dockerarch.platforms import Platform, normalize_arch
from dockerarch.records import field, record
from dockerarch.syntax.positions import Span

#: How a build is written, which decides the fix offered.
BUILD_PUSH_ACTION = "build-push-action"
BUILDX_COMMAND = "buildx-command"
BAKE_TARGET = "bake-target"


@record
class Build:
    """One multi-platform image build in a CI file.

    Paths are absolute when known; ``dockerfile`` is None when it cannot be
    told (a remote context, an expression that is not resolved).
    """

    kind: str
    #: The job, step or target, for messages.
    label: str
    platforms: tuple[Platform, ...]
    #: Where the platform list is written: the diagnostic's place.
    platforms_span: Span
    #: The architecture of the machine running the build; None when unknown.
    host_arch: str | None
    #: The step or command that installs QEMU, when there is one.
    emulator: Span | None
    context: Path | None
    dockerfile: Path | None
    #: Facts the GitHub fix needs (the job and step nodes); None for other kinds.
    extra: object = field(default=None, compare=False)


# Hosted runner labels and the words self-hosted runner labels use for their CPU.
_ARM_RUNNER = lazy_compile(r"(^|[-_.])(arm64|aarch64|arm)($|[-_.])", re.IGNORECASE)
_X64_RUNNER = lazy_compile(r"(^|[-_.])(x64|amd64|x86_64|x86-64)($|[-_.])", re.IGNORECASE)
_HOSTED_X64 = lazy_compile(r"(ubuntu|windows)-(latest|\d+\.\d+|\d+)(-(xl|l|\d+-cores?))?\Z")


def runner_arch(labels: Iterable[str]) -> str | None:
    """The CPU architecture a runner with these labels has, when the labels tell."""
    arches = set()
    for label in labels:
        if "${{" in label:
            return None
        if _ARM_RUNNER.search(label):
            arches.add("arm64")
        elif _X64_RUNNER.search(label) or _HOSTED_X64.match(label):
            arches.add("amd64")
    return arches.pop() if len(arches) == 1 else None


def runs_natively(arch: str, host: str) -> bool:
    """Whether a machine of architecture ``host`` runs ``arch`` binaries without QEMU."""
    return arch == host or (host == "amd64" and arch == "386")


def parse_platforms(value: str) -> tuple[Platform, ...] | None:
    """A comma- or newline-separated platform list; None if any entry is not a platform."""
    out: list[Platform] = []
    for part in re.split(r"[,\n]", value):
        part = part.strip()
        if not part:
            continue
        try:
            platform = Platform.parse(part)
        except ValueError:
            return None
        if normalize_arch(platform.arch) is None:
            return None
        out.append(platform)
    return tuple(dict.fromkeys(out)) or None


_VAR = lazy_compile(r"\$(?:\{(\w+)\}|(\w+))")


def expand_variables(value: str, variables: Mapping[str, str]) -> str | None:
    """``$NAME`` / ``${NAME}`` replaced from ``variables``; None when one is unknown."""
    missing = False

    def sub(m: re.Match[str]) -> str:
        nonlocal missing
        name = m.group(1) or m.group(2)
        if name not in variables:
            missing = True
            return ""
        return variables[name]

    out = _VAR.sub(sub, value)
    return None if missing else out
