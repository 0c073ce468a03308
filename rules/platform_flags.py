"""Rules about ``FROM --platform``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from dockerarch.diagnostics import Applicability, Diagnostic, Edit, Fix, Severity
from dockerarch.engine import Context, rule
from dockerarch.model import Model, arch_in_name
from dockerarch.platforms import Platform
from dockerarch.syntax import Flag, Span


def platform_variable(flag: Flag) -> str | None:
    """The variable a ``--platform=$NAME`` / ``${NAME}`` flag is exactly, if any."""
    value = (flag.value or "").strip()
    if value.startswith("${") and value.endswith("}"):
        value = "$" + value[2:-1]
    name = value[1:]
    if value.startswith("$") and name.isidentifier():
        return name
    return None


def _file_arch(path: Path | None) -> str | None:
    """The arch a per-arch Dockerfile is for (``Dockerfile.amd64``, ``amd64/Dockerfile``)."""
    if path is None:
        return None
    return arch_in_name(path.name) or arch_in_name(path.parent.name)


@rule(
    code="DA101",
    scope="stage",
    name="constant-platform-flag",
    category="platform-flag",
    severity=Severity.ERROR,
)
def constant_platform_flag(ctx: Context) -> Iterator[Diagnostic]:
    """`FROM --platform` names a fixed platform in a stage that is not per-arch.

    ## What it does
    Finds `FROM --platform=linux/amd64` (any constant platform) on a stage whose
    name does not carry that architecture as a token (`build-amd64`,
    `runtime_arm64`). A name that merely contains the OS (`linux-build`) does not
    count. In a per-arch file (`Dockerfile.amd64`, `amd64/Dockerfile`) a flag
    matching the file's architecture is reported as information only.

    ## Why it matters
    A constant platform makes every build of the stage use that platform. On an
    arm64 builder the stage runs under emulation (slow, sometimes wrong), and the
    image it produces is amd64 whatever `--platform` the build asked for. BuildKit
    reports the same as `FromPlatformFlagConstDisallowed` but stays silent when
    the stage name contains the OS name; this rule does not.

    ## Example
    ```dockerfile
    FROM --platform=linux/amd64 python:3.12-slim AS app
    ```
    Use instead:
    ```dockerfile
    FROM python:3.12-slim AS app
    ```

    ## Fix
    Remove the flag so the stage follows the target platform, or use
    `--platform=$BUILDPLATFORM` for a stage that cross-compiles. A stage that
    really is per-arch says so in its name (`AS build-amd64`).

    ## Fix safety
    No automatic fix: which of the two is right depends on what the stage does.
    """
    file_arch = _file_arch(ctx.path)
    for stage in ctx.model.stages:
        flag = stage.platform
        if flag is None or flag.value is None or "$" in flag.value:
            continue
        try:
            fixed = Platform.parse(flag.value)
        except ValueError:
            continue
        if stage.arch_by_name == fixed.arch:
            continue
        if file_arch == fixed.arch:
            assert ctx.path is not None
            yield ctx.diagnostic(
                flag.span,
                f"FROM --platform={flag.value} pins stage '{stage.label}'; fine if "
                f"'{ctx.path.name}' is only ever built for {fixed.arch}",
                severity=Severity.INFO,
            )
            continue
        yield ctx.diagnostic(
            flag.span,
            f"FROM --platform={flag.value} pins stage '{stage.label}' to one platform; "
            "other targets build it emulated and get the wrong architecture",
        )


def _global_default(model: Model, name: str) -> bool:
    return any(d.name == name and d.default is not None for d in model.global_args)


def _without_flag(text: str, span: Span) -> Span:
    """``span`` widened by the blank run after it (or, failing that, before it)."""
    end = span.end
    while end < len(text) and text[end] in " \t":
        end += 1
    if end > span.end:
        return Span(span.start, end)
    start = span.start
    while start > 0 and text[start - 1] in " \t":
        start -= 1
    return Span(start, span.end)


@rule(
    code="DA102",
    scope="stage",
    name="redundant-target-platform",
    category="platform-flag",
    severity=Severity.WARNING,
    fixable=True,
)
def redundant_target_platform(ctx: Context) -> Iterator[Diagnostic]:
    """`FROM --platform=$TARGETPLATFORM` repeats the default.

    ## What it does
    Finds `FROM --platform=$TARGETPLATFORM` (or `${TARGETPLATFORM}`).

    ## Why it matters
    A stage without `--platform` is already built for the target platform, so
    the flag changes nothing. It suggests the stage is special, and it is often
    left over from copying a cross-compile template where `$BUILDPLATFORM` was
    meant; readers then cannot tell which stages run natively.

    ## Example
    ```dockerfile
    FROM --platform=$TARGETPLATFORM alpine:3.20
    ```
    Use instead:
    ```dockerfile
    FROM alpine:3.20
    ```

    ## Fix
    Remove the flag. Not reported when a global `ARG TARGETPLATFORM=...` gives
    the variable a default (see DA111), since the flag then pins the stage.

    ## Fix safety
    Safe: the stage is built for the same platform with and without the flag.
    """
    if _global_default(ctx.model, "TARGETPLATFORM"):
        return
    for stage in ctx.model.stages:
        flag = stage.platform
        if flag is None or platform_variable(flag) != "TARGETPLATFORM":
            continue
        yield ctx.diagnostic(
            flag.span,
            f"{ctx.text(flag.span)} is the default platform of a stage; remove it",
            fix=Fix(
                "Remove the --platform flag",
                (Edit(_without_flag(ctx.tree.text, flag.span), ""),),
                Applicability.SAFE,
            ),
        )


@rule(
    code="DA103",
    name="final-stage-build-platform",
    category="platform-flag",
    severity=Severity.ERROR,
)
def final_stage_build_platform(ctx: Context) -> Iterator[Diagnostic]:
    """The final image is built on `--platform=$BUILDPLATFORM`.

    ## What it does
    Finds `FROM --platform=$BUILDPLATFORM` on the last stage, or on a stage the
    last stage is built `FROM` (directly or through a chain of stages).

    ## Why it matters
    `$BUILDPLATFORM` is the machine running the build. It is right for a stage
    that cross-compiles and whose output is then copied into the final image,
    but the final image itself must be the target's: built on the build
    platform, an `--platform linux/arm64` image built on an amd64 machine
    contains an amd64 base and amd64 binaries, and fails with `exec format
    error` when it runs.

    ## Example
    ```dockerfile
    FROM --platform=$BUILDPLATFORM golang:1.22 AS build
    ARG TARGETOS TARGETARCH
    RUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app .

    FROM --platform=$BUILDPLATFORM alpine:3.20
    COPY --from=build /out/app /usr/local/bin/app
    ```
    Use instead:
    ```dockerfile
    FROM --platform=$BUILDPLATFORM golang:1.22 AS build
    ARG TARGETOS TARGETARCH
    RUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app .

    FROM alpine:3.20
    COPY --from=build /out/app /usr/local/bin/app
    ```

    ## Fix
    Keep `$BUILDPLATFORM` on the stages that compile for `$TARGETOS`/`$TARGETARCH`
    and copy their output into a final stage without `--platform`.

    ## Fix safety
    No automatic fix: the stage may run build tools that must then move into a
    separate cross-compiling stage.
    """
    final = ctx.model.final
    if final is None:
        return
    chain = sorted({s.index: s for v in ctx.views() for s in v.ancestry(final)}.items())
    for _, stage in chain:
        flag = stage.platform
        if flag is None or platform_variable(flag) != "BUILDPLATFORM":
            continue
        what = "is the final stage" if stage is final else "is the base of the final stage"
        yield ctx.diagnostic(
            flag.span,
            f"stage '{stage.label}' {what} but is built for the build platform "
            f"({ctx.text(flag.span)}): every target gets the build machine's architecture",
        )


RULES = (constant_platform_flag, redundant_target_platform, final_stage_build_platform)
