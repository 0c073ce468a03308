"""DA001: what BuildKit refuses to parse."""

from __future__ import annotations

from collections.abc import Iterator

from dockerarch.diagnostics import Diagnostic, Severity
from dockerarch.engine import Context, rule
from dockerarch.lazyre import lazy_compile
from dockerarch.syntax import KNOWN_INSTRUCTIONS, Instruction, Span

# BuildKit's validStageName.
_STAGE_NAME = lazy_compile(r"[a-z][a-z0-9\-_.]*\Z")
_AT_LEAST_ONE = frozenset(
    {"ARG", "ENV", "EXPOSE", "HEALTHCHECK", "LABEL", "ONBUILD", "SHELL", "VOLUME"}
)
_EXACTLY_ONE = frozenset({"MAINTAINER", "STOPSIGNAL", "USER", "WORKDIR"})
_NOT_TRIGGERS = frozenset({"FROM", "MAINTAINER"})


def _unknown(ins: Instruction) -> str | None:
    if ins.name in KNOWN_INSTRUCTIONS:
        return None
    message = f"unknown instruction: {ins.keyword}"
    import difflib  # only for unknown instructions: kept out of every run's start-up

    close = difflib.get_close_matches(ins.name, sorted(KNOWN_INSTRUCTIONS), n=1, cutoff=0.6)
    return f"{message} (did you mean {close[0]}?)" if close else message


def _argument_errors(ins: Instruction) -> Iterator[tuple[str, Span]]:
    """BuildKit's per-instruction argument checks, with the word to point at."""
    name = ins.name
    # HEALTHCHECK's JSON is the command after its type word. Splitting the
    # arguments is only needed where a count is checked (not for every RUN).
    counted = name in _AT_LEAST_ONE or name in ("COPY", "ADD")
    if not counted:
        count = -1
    elif ins.json is not None and name != "HEALTHCHECK":
        count = len(ins.json)
    else:
        count = len(ins.words())
    if name in _AT_LEAST_ONE and count == 0:
        yield f"{name} requires at least one argument", ins.keyword_span
    elif name in _EXACTLY_ONE and not ins.args:
        # BuildKit reads the whole rest of the line as the one argument.
        yield f"{name} requires exactly one argument", ins.keyword_span
    elif name in ("COPY", "ADD") and count < 2:
        yield (
            f"{name} requires at least two arguments, but only one was provided. "
            "Destination could not be determined",
            ins.keyword_span,
        )
    elif name == "SHELL" and ins.json is None:
        yield "SHELL requires the arguments to be in JSON form", ins.keyword_span
    elif name == "FROM":
        yield from _from_errors(ins)
    elif name == "HEALTHCHECK":
        yield from _healthcheck_errors(ins)
    if name in ("ARG", "ENV", "LABEL"):
        for kv in ins.key_values():
            if not kv.key:
                yield f"{name} names can not be blank", kv.span
    if name == "ONBUILD" and ins.inner is not None:
        inner = ins.inner
        if inner.name == "ONBUILD":
            yield "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed", inner.keyword_span
        elif inner.name in _NOT_TRIGGERS:
            yield f"{inner.name} isn't allowed as an ONBUILD trigger", inner.keyword_span


def _from_errors(ins: Instruction) -> Iterator[tuple[str, Span]]:
    words = ins.words()
    if len(words) == 3 and words[1].text.lower() == "as":
        if not _STAGE_NAME.match(words[2].text.lower()):
            yield (
                f'invalid name for build stage: "{words[2].text}", '
                "name can't start with a number or contain symbols",
                words[2].span,
            )
    elif len(words) != 1:
        span = words[1].span if len(words) > 1 else ins.keyword_span
        yield "FROM requires either one or three arguments", span


def _healthcheck_errors(ins: Instruction) -> Iterator[tuple[str, Span]]:
    words = ins.words()
    kind = words[0].text.upper()
    if kind == "NONE":
        if len(words) > 1:
            yield "HEALTHCHECK NONE takes no arguments", words[1].span
    elif kind != "CMD":
        yield f'Unknown type "{kind}" in HEALTHCHECK (try CMD)', words[0].span
    elif len(words) == 1 or ins.json == ():
        yield "Missing command after HEALTHCHECK CMD", words[0].span


@rule(code="DA001", scope="stage", name="syntax-error", category="syntax", severity=Severity.ERROR)
def syntax_error(ctx: Context) -> Iterator[Diagnostic]:
    """BuildKit would reject this Dockerfile before building anything.

    ## What it does
    Reports what BuildKit's parser refuses, with BuildKit's wording where it has
    one: unknown instructions (with the closest known one), unterminated
    heredocs, repeated or invalid parser directives, JSON arrays holding
    non-strings, `ENV`/`LABEL` without a value, `ONBUILD ONBUILD` and
    `ONBUILD FROM`, instructions other than `ARG` before the first `FROM`, a
    `FROM` without an image or with a malformed `AS name`, `SHELL` not in JSON
    form, and instructions missing their arguments.

    ## Why it matters
    Every other rule reasons about a build that would happen; a file BuildKit
    rejects never builds on any platform. The error is cheaper to see in the
    editor than at the end of a CI queue.

    ## Example
    ```dockerfile
    FORM alpine:3.20
    RUN apk add --no-cache curl
    ```
    Use instead:
    ```dockerfile
    FROM alpine:3.20
    RUN apk add --no-cache curl
    ```

    ## Fix
    Correct the instruction as the message says.

    ## Fix safety
    No automatic fix: a typo's intended spelling is a guess.
    """
    for message, span in ctx.tree.errors:
        yield ctx.diagnostic(span, message)
    seen_from = False
    for ins in ctx.tree.instructions:
        for message, span in ins.errors:
            yield ctx.diagnostic(span, message)
        unknown = _unknown(ins)
        if unknown is not None:
            yield ctx.diagnostic(ins.keyword_span, unknown)
            # A misspelt FROM still starts the stage its author meant.
            seen_from = seen_from or unknown.endswith("(did you mean FROM?)")
            continue
        if ins.name == "FROM":
            seen_from = True
        elif not seen_from and ins.name != "ARG":
            yield ctx.diagnostic(ins.keyword_span, "no build stage in current context")
        for message, span in _argument_errors(ins):
            yield ctx.diagnostic(span, message)


RULES = (syntax_error,)
