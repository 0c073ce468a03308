"""A rule pack for the language-server tests: fixes of every applicability.

The tests install it into the server's process as a separate pack (its own
entry point), so the LSP's fix plumbing is tested whatever fixes the
built-in rules happen to have.
"""

from __future__ import annotations

from collections.abc import Iterator

from dockerarch.diagnostics import Applicability, Diagnostic, Edit, Fix, Severity
from dockerarch.engine import Context, rule
from dockerarch.syntax import Span

SAFE_CODE = "DA198"
UNSAFE_CODE = "DA199"


@rule(
    code=SAFE_CODE,
    name="test-target-platform",
    category="platform-flag",
    severity=Severity.WARNING,
    fixable=True,
)
def target_platform(ctx: Context) -> Iterator[Diagnostic]:
    """Test rule: `FROM --platform=$TARGETPLATFORM` says what BuildKit does anyway.

    ## What it does
    Flags the flag.

    ## Why it matters
    It exercises safe fixes in the language-server tests.

    ## Example
    `FROM --platform=$TARGETPLATFORM alpine`

    ## Fix
    Remove the flag.

    ## Fix safety
    Safe.
    """
    for stage in ctx.model.stages:
        flag = stage.platform
        if flag is None or flag.value not in ("$TARGETPLATFORM", "${TARGETPLATFORM}"):
            continue
        end = flag.span.end
        while ctx.tree.text[end : end + 1] in (" ", "\t"):
            end += 1
        fix = Fix("remove --platform", (Edit(Span(flag.span.start, end), ""),), Applicability.SAFE)
        yield ctx.diagnostic(flag.span, "redundant --platform=$TARGETPLATFORM", fix=fix)


@rule(
    code=UNSAFE_CODE,
    name="test-untagged-image",
    category="base-image",
    severity=Severity.INFO,
    fixable=True,
)
def untagged_image(ctx: Context) -> Iterator[Diagnostic]:
    """Test rule: a FROM image without a tag.

    ## What it does
    Flags `FROM alpine`; for `busybox` the fix is display-only.

    ## Why it matters
    It exercises unsafe and display-only fixes in the language-server tests.

    ## Example
    `FROM alpine`

    ## Fix
    Add `:latest`.

    ## Fix safety
    Unsafe: the test says so.
    """
    for stage in ctx.model.stages:
        word = stage.image
        if word is None or ":" in word.text or "$" in word.text or ctx.model.stage_named(word.text):
            continue
        kind = Applicability.DISPLAY_ONLY if word.text == "busybox" else Applicability.UNSAFE
        fix = Fix("add :latest", (Edit(Span(word.span.end, word.span.end), ":latest"),), kind)
        yield ctx.diagnostic(word.span, f"{word.text} has no tag", fix=fix)


RULES = (target_platform, untagged_image)
