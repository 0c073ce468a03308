"""Rules about ``FROM --platform``."""

from __future__ import annotations

from collections.abc import Iterator

from dockerarch.diagnostics import Diagnostic, Severity
from dockerarch.engine import Context, rule
from dockerarch.platforms import Platform


@rule(
    code="DA101", name="constant-platform-flag", category="platform-flag", severity=Severity.ERROR
)
def constant_platform_flag(ctx: Context) -> Iterator[Diagnostic]:
    """`FROM --platform` names a fixed platform in a stage that is not per-arch.

    ## What it does
    Finds `FROM --platform=linux/amd64` (any constant platform) on a stage whose
    name does not say it is dedicated to that architecture.

    ## Why it matters
    A constant platform makes every build of the stage use that platform. On an
    arm64 builder the stage runs under emulation (slow, sometimes wrong), and the
    image it produces is amd64 whatever `--platform` the build asked for. BuildKit
    reports the same as `FromPlatformFlagConstDisallowed`; this rule also catches
    stage names that merely contain "linux".

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
        yield ctx.diagnostic(
            flag.span,
            f"FROM --platform={flag.value} pins stage '{stage.label}' to one platform; "
            "other targets build it emulated and get the wrong architecture",
        )


RULES = (constant_platform_flag,)
