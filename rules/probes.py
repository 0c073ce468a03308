"""Architecture probes that answer for the build machine instead of the target."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from dockerarch_rules.foreign_arch import build_platform_stage

from dockerarch.diagnostics import Applicability, Diagnostic, Edit, Fix, Severity
from dockerarch.engine import Context, rule
from dockerarch.model import Stage
from dockerarch.records import record
from dockerarch.shell.arch import probe_kind
from dockerarch.shell.model import Command, Script
from dockerarch.shell.model import Word as ShellWord
from dockerarch.syntax import Span

_TARGET_ARGS = ("TARGETARCH", "TARGETPLATFORM", "TARGETOS", "TARGETVARIANT")
# Settings that pick the architecture a cross-compile produces.
_CROSS_VARS = frozenset(
    {
        "GOARCH",
        "GOARM",
        "CC",
        "CXX",
        "CROSS_COMPILE",
        "CHOST",
        "CARGO_BUILD_TARGET",
        "RUST_TARGET",
        "ZIG_TARGET",
    }
)
_CROSS_OPTIONS = ("--target", "--host", "--arch", "-target")
_UNAME_OPTIONS = frozenset({"-m", "--machine", "-p", "--processor", "-i", "--hardware-platform"})
_DPKG_ARCH_QUERIES = frozenset(
    {"DEB_HOST_ARCH", "DEB_HOST_MULTIARCH", "DEB_HOST_GNU_TYPE", "DEB_HOST_GNU_CPU"}
)
_COMPILERS = frozenset({"gcc", "cc", "clang", "g++", "c++"})


def _probe(cmd: Command) -> bool:
    """Whether ``cmd`` prints the running machine's architecture."""
    words = [w.value for w in cmd.words]
    name = posixpath.basename(words[0]) if words and words[0] else ""
    args = [w.text if w.value is None else w.value for w in cmd.words[1:]]
    if name == "dpkg-architecture" and any(
        "DEB_BUILD_" in a or a.startswith(("-a", "--host-arch", "-t", "--host-type")) for a in args
    ):
        return False  # asks for the build machine on purpose, or translates a given arch
    if probe_kind(words) is not None:
        return True
    if name == "uname":
        return bool(args) and all(
            a in _UNAME_OPTIONS or (a[:1] == "-" and a[1:2] != "-" and set(a[1:]) <= set("mpi"))
            for a in args
        )
    if name == "dpkg-architecture":
        joined = "".join(args)
        return any(joined.endswith(q) for q in _DPKG_ARCH_QUERIES) and "-q" in joined
    if name == "rpm":
        return any("_arch" in a for a in args) and any(a in ("--eval", "-E") for a in args)
    if name in _COMPILERS:
        return args in (["-dumpmachine"], ["-print-multiarch"])
    return False


@record
class _Probe:
    command: Command
    #: The probe's answer decides what a cross-compile targets.
    steers_target: bool


def _probes(script: Script) -> Iterator[_Probe]:
    probes = [c for c in script.commands if _probe(c)]
    if not probes:
        return
    assignments = list(script.assignments)
    for cmd in script.commands:
        assignments.extend(cmd.env)

    def holds(span: Span, probe: Command) -> bool:
        return span.start <= probe.span.start and probe.span.end <= span.end

    for probe in probes:
        # Variables the probe's answer lands in (ARCH="$(uname -m)").
        tainted = {a.name for a in assignments if holds(a.value.span, probe)}
        steers = any(
            a.name in _CROSS_VARS
            and (holds(a.value.span, probe) or tainted & set(a.value.expansions))
            for a in assignments
        ) or any(
            holds(w.span, probe) or tainted & set(w.expansions)
            for c in script.commands
            for w in _cross_option_values(c)
        )
        yield _Probe(probe, steers)


def _cross_option_values(cmd: Command) -> Iterator[ShellWord]:
    """Words giving ``--target``/``--host``/``--arch`` a value (``--target=x``, ``--target x``)."""
    args = cmd.args
    for i, w in enumerate(args):
        option = (w.value or w.text).partition("=")[0]
        if option not in _CROSS_OPTIONS:
            continue
        if "=" in w.text:
            yield w
        elif i + 1 < len(args):
            yield args[i + 1]


def _cross_compiles(ctx: Context, stage: Stage) -> bool:
    """Whether the stage declares a TARGET* ARG, i.e. builds for the target from afar."""
    return any(v.declared(stage, name) for v in ctx.views() for name in _TARGET_ARGS)


def _fix(ctx: Context, probe: Command) -> Fix | None:
    words = [w.value for w in probe.words]
    name = posixpath.basename(words[0] or "")
    if (name, words[1:]) not in (
        ("dpkg", ["--print-architecture"]),
        ("dpkg-architecture", ["-qDEB_HOST_ARCH"]),
    ):
        return None
    text = ctx.tree.text
    start, end = probe.span.start, probe.span.end
    if text[start - 2 : start] != "$(" or text[end : end + 1] != ")":
        return None
    return Fix(
        "Use ${TARGETARCH}: dpkg names amd64 and arm64 as TARGETARCH does",
        (Edit(Span(start - 2, end + 1), "${TARGETARCH}"),),
        Applicability.DISPLAY_ONLY,
    )


@rule(
    code="DA410",
    scope="stage",
    name="arch-probe-on-build-platform",
    category="toolchain",
    severity=Severity.WARNING,
)
def arch_probe_on_build_platform(ctx: Context) -> Iterator[Diagnostic]:
    """An architecture probe (`uname -m`, `dpkg --print-architecture`) runs on `$BUILDPLATFORM`.

    ## What it does
    Finds `uname -m`/`-p`, `arch`, `dpkg --print-architecture`,
    `dpkg-architecture -qDEB_HOST_ARCH` (and `_MULTIARCH`, `_GNU_TYPE`),
    `apk --print-arch`, `rpm --eval '%{_arch}'` and `gcc -dumpmachine` in RUN
    commands of a stage built `FROM --platform=$BUILDPLATFORM` (or on a stage
    that is). Such a probe answers for the build machine, which is right for
    the stage's own tools and wrong for what it builds for the target, so:

    - **warning** when the probe's answer, directly or through the variable
      it is stored in, sets what a cross-compile targets: `GOARCH`, `GOARM`,
      `CC`, `CXX`, `CROSS_COMPILE`, `CHOST`, `CARGO_BUILD_TARGET`, or a
      `--target`/`--host`/`--arch` option;
    - **info** for any other probe in a stage that declares `TARGETARCH` (or
      another TARGET* ARG), i.e. one that cross-compiles: fine when it picks a
      download for the build machine's tools, wrong when it picks something
      the target image gets;
    - nothing in a build-platform stage that never mentions the target: that
      stage only prepares build-machine tools.

    ## Why it matters
    With `--platform=$BUILDPLATFORM` an arm64 image built on an amd64 machine
    runs the stage natively on amd64: `uname -m` prints `x86_64`, so
    `GOARCH=$(dpkg --print-architecture)` compiles an amd64 binary into the
    arm64 image, which fails with `exec format error`.

    ## Example
    ```dockerfile
    FROM --platform=$BUILDPLATFORM golang:1.22 AS build
    ARG TARGETARCH
    RUN GOARCH="$(dpkg --print-architecture)" go build -o /out/app .
    ```
    Use instead:
    ```dockerfile
    FROM --platform=$BUILDPLATFORM golang:1.22 AS build
    ARG TARGETARCH
    RUN GOARCH="$TARGETARCH" go build -o /out/app .
    ```

    ## Fix
    Use `$TARGETARCH` (declared with `ARG TARGETARCH`) for the target, and
    map its spelling where needed (`amd64` -> `x86_64` in a
    `case "$TARGETARCH"`). For `$(dpkg --print-architecture)` a display-only
    fix shows `${TARGETARCH}`: dpkg spells amd64 and arm64 the same way.

    ## Fix safety
    No automatic fix: the suggestion is display-only, since on 32-bit arm
    dpkg says `armhf` where TARGETARCH says `arm`, and the probe may be meant
    for the build machine after all.
    """
    for stage in ctx.model.stages:
        if not build_platform_stage(ctx, stage):
            continue
        cross = _cross_compiles(ctx, stage)
        for ins in stage.body:
            for script in ctx.model.scripts(ins):
                for found in _probes(script):
                    if not found.steers_target and not cross:
                        continue
                    probe = ctx.text(found.command.span)
                    if found.steers_target:
                        message = (
                            f"`{probe}` reports the build machine in this $BUILDPLATFORM stage, "
                            "and it picks the cross-compile target; use $TARGETARCH"
                        )
                    else:
                        message = (
                            f"`{probe}` reports the build machine, not the target, in this "
                            "cross-compiling stage; use $TARGETARCH unless it picks a build tool"
                        )
                    yield ctx.diagnostic(
                        found.command.span,
                        message,
                        fix=_fix(ctx, found.command),
                        severity=None if found.steers_target else Severity.INFO,
                    )


RULES = (arch_probe_on_build_platform,)
