"""DA901: suppression comments that silence nothing."""

from __future__ import annotations

from collections.abc import Iterator

from dockerarch.diagnostics import Diagnostic, Severity
from dockerarch.engine import Context, rule
from dockerarch.suppressions import UNUSED_CODE


@rule(
    code=UNUSED_CODE, name="unused-suppression", category="suppression", severity=Severity.WARNING
)
def unused_suppression(ctx: Context) -> Iterator[Diagnostic]:
    """A `# dockerarch: ignore[...]` comment silences nothing.

    ## What it does
    Reports a suppression comment, or a code listed in one, that matched no
    diagnostic in this run, and an `ignore` comment that is not directly above
    an instruction (a blank line in between detaches it).

    ## Why it matters
    Suppressions outlive the problems they hid: after the base image gains an
    arm64 variant, or the flag is removed, a stale `ignore[DA101]` would hide
    the next real problem on that line without anyone noticing.

    ## Example
    ```dockerfile
    # dockerarch: ignore[DA101]
    FROM python:3.12-slim
    ```
    Use instead:
    ```dockerfile
    FROM python:3.12-slim
    ```

    ## Fix
    Delete the comment, or the codes in it that no longer fire.

    ## Fix safety
    No automatic fix: a suppression can be unused only because its rule is not
    selected in this run, and other configurations may still need it.
    """
    # The engine reports unused suppressions itself once every other rule has
    # run (dockerarch.suppressions); this rule only makes DA901 selectable.
    yield from ()


RULES = (unused_suppression,)
