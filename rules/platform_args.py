"""Rules about the automatic platform ARGs (TARGETARCH and friends)."""

from __future__ import annotations

from collections.abc import Iterator

from dockerarch.diagnostics import Applicability, Diagnostic, Edit, Fix, Severity
from dockerarch.engine import Context, rule
from dockerarch.expand import references
from dockerarch.lazyre import lazy_compile
from dockerarch.model import PLATFORM_ARGS, Model, PlatformView, Stage
from dockerarch.records import record
from dockerarch.syntax import Dockerfile, Instruction, Span

# A whole variable name after ``$`` or ``${`` (``$TARGETARCHX`` is TARGETARCHX); the
# span takes the closing brace of a plain ``${NAME}``.
_REF = lazy_compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}?|([A-Za-z_][A-Za-z0-9_]*))")
# Instructions whose words BuildKit expands with the stage's ARG/ENV values.
_EXPANDED = frozenset(
    {"ADD", "ARG", "COPY", "ENV", "EXPOSE", "LABEL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"}
)
# Shell-form commands the shell expands when the container starts.
_RUNTIME = frozenset({"CMD", "ENTRYPOINT", "HEALTHCHECK"})
# (?<!\d): see dockerarch/runscripts.py, same pattern.
_HEREDOC_MARKER = lazy_compile(r"(?<!\d)\d*<<-?\S+")
_SHELL = lazy_compile(r"(?:/usr)?(?:/bin/)?(?:ba|da|a|z)?sh\Z")


@record
class ArgUse:
    """One reference to a platform ARG that gets expanded."""

    name: str
    span: Span
    #: Expanded when the container runs (CMD), not while building.
    runtime: bool


def _scan(text: str, start: int, names: frozenset[str] | None = None) -> Iterator[tuple[str, Span]]:
    for m in _REF.finditer(text):
        name = m.group(1) or m.group(2)
        if name in PLATFORM_ARGS and (names is None or name in names):
            yield name, Span(start + m.start(), start + m.end())


def _scan_logical(ins: Instruction, names: frozenset[str] | None = None) -> Iterator[ArgUse]:
    runtime = ins.name in _RUNTIME
    for m in _REF.finditer(ins.args):
        name = m.group(1) or m.group(2)
        if name in PLATFORM_ARGS and (names is None or name in names):
            yield ArgUse(name, ins.args_map.span_to_source(m.start(), m.end()), runtime)


def _body_is_script(ins: Instruction) -> bool:
    """``RUN <<EOF`` and ``RUN bash <<EOF`` run the heredoc body as the script."""
    rest = _HEREDOC_MARKER.sub(" ", ins.args).split()
    return not rest or (_SHELL.match(rest[0]) is not None and all(a[0] == "-" for a in rest[1:]))


def uses(tree: Dockerfile, ins: Instruction) -> Iterator[ArgUse]:
    """Platform ARG references in ``ins`` that something expands, in source order."""
    # Each is found in the logical arguments, a heredoc body or a flag's text, and every
    # platform ARG's name holds TARGET or BUILD: most instructions hold neither.
    texts = [ins.args, *(doc.body for doc in ins.heredocs)]
    texts += [tree.text[flag.span.start : flag.span.end] for flag in ins.flags]
    if any("TARGET" in text or "BUILD" in text for text in texts):
        yield from _uses(tree, ins)


def _uses(tree: Dockerfile, ins: Instruction) -> Iterator[ArgUse]:
    if ins.name == "RUN":
        # The shell expands everything, single quotes included: `sh -c '...$TARGETARCH'`
        # is the usual reason to write them.
        for flag in ins.flags:
            for name, span in _scan(tree.text[flag.span.start : flag.span.end], flag.span.start):
                yield ArgUse(name, span, False)
        # Exec form expands nothing unless it runs a shell (`["sh", "-c", "..."]`).
        if ins.json is None or (ins.json and _SHELL.match(ins.json[0].value)):
            yield from _scan_logical(ins)
        script = _body_is_script(ins)
        for doc in ins.heredocs:
            if doc.expand or script:
                for name, span in _scan(doc.body, doc.body_span.start):
                    yield ArgUse(name, span, False)
    elif ins.name in _EXPANDED:
        # BuildKit's own expansion: single quotes protect, so ask expand.references.
        for flag in ins.flags:
            if flag.value is not None:
                found = frozenset(references(flag.value, tree.escape))
                flag_text = tree.text[flag.span.start : flag.span.end]
                for name, span in _scan(flag_text, flag.span.start, found):
                    yield ArgUse(name, span, False)
        yield from _scan_logical(ins, frozenset(references(ins.args, tree.escape)))
        for doc in ins.heredocs:
            if doc.expand:
                for name, span in _scan(doc.body, doc.body_span.start):
                    yield ArgUse(name, span, False)
    elif ins.name in _RUNTIME and ins.json is None:
        yield from _scan_logical(ins)


def _env_sets(view: PlatformView, stage: Stage, name: str, before: Instruction) -> bool:
    """Does an ENV in ``stage`` (before ``before``) or an ancestor set ``name``?"""
    for i, st in enumerate(view.ancestry(stage)):
        for ins in st.body:
            if ins.name != "ENV" or (i == 0 and ins.span.start >= before.span.start):
                continue
            if any(kv.key == name for kv in ins.key_values(view.escape)):
                return True
    return False


def insert_lines(model: Model, ins: Instruction, lines: list[str], *, after: bool) -> Edit:
    """An edit adding ``lines`` before or after ``ins``, in the file's style.

    The new lines copy the indentation and line ending of the instruction's
    first line; keywords follow the file's casing (``arg`` in a lower-case file).
    """
    tree = model.tree
    text = tree.text
    line_start = tree.lines.line_start(ins.start_line)
    indent = text[line_start : ins.keyword_span.start]
    if model.lower_case:
        lines = [_lower_keyword(line) for line in lines]
    first_nl = text.find("\n", line_start, ins.span.end)
    if first_nl == -1:
        eol = "\r\n" if "\r\n" in text else "\n"
    else:
        eol = "\r\n" if text[first_nl - 1 : first_nl] == "\r" else "\n"
    if not after:
        return Edit(Span(line_start, line_start), "".join(indent + ln + eol for ln in lines))
    end = ins.span.end
    if text[end - 1 : end] == "\n":
        return Edit(Span(end, end), "".join(indent + ln + eol for ln in lines))
    # The instruction ends the file without a line ending: end its line first.
    return Edit(Span(end, end), "".join(eol + indent + ln for ln in lines))


def _lower_keyword(line: str) -> str:
    keyword, sep, rest = line.partition(" ")
    return keyword.lower() + sep + rest


@rule(
    code="DA110",
    scope="stage",
    name="undeclared-platform-arg",
    category="platform-arg",
    severity=Severity.ERROR,
    fixable=True,
)
def undeclared_platform_arg(ctx: Context) -> Iterator[Diagnostic]:
    """A platform ARG is used in a stage that never declares it, so it is empty.

    ## What it does
    Finds `$TARGETARCH`, `${TARGETOS}`, `${TARGETPLATFORM:-...}` and the other
    automatic platform ARGs used inside a stage (RUN, including its flags and
    heredoc bodies; ENV, ARG defaults, LABEL, WORKDIR, USER, EXPOSE, VOLUME,
    COPY/ADD and their flags) without `ARG NAME` earlier in the stage or in a
    stage it is built `FROM`. Shell-form CMD, ENTRYPOINT and HEALTHCHECK are
    expanded when the container starts, where build ARGs never exist: there the
    variable must be set with `ENV`.

    ## Why it matters
    BuildKit defines the platform ARGs in the global scope only. Inside a stage
    they are empty until declared, so `curl .../tool-$TARGETARCH.tgz` downloads
    `tool-.tgz`, and `case $TARGETARCH in amd64) ... ;; *) ...` silently takes
    the fallback branch on every platform. A global `ARG TARGETARCH` before the
    first FROM does not help either.

    ## Example
    ```dockerfile
    FROM alpine:3.20
    RUN wget -O /usr/local/bin/yq \
        https://github.com/mikefarah/yq/releases/latest/download/yq_linux_${TARGETARCH}
    ```
    Use instead:
    ```dockerfile
    FROM alpine:3.20
    ARG TARGETARCH
    RUN wget -O /usr/local/bin/yq \
        https://github.com/mikefarah/yq/releases/latest/download/yq_linux_${TARGETARCH}
    ```

    ## Fix
    Inserts `ARG NAME` on the line after the stage's `FROM`, with the FROM
    line's indentation and line ending and the file's keyword casing. For a
    CMD/ENTRYPOINT/HEALTHCHECK use it inserts `ENV NAME=$NAME` (after an
    `ARG NAME` when the stage lacks one) on the line before that instruction.

    ## Fix safety
    Declaring the ARG is safe: it only gives the variable the value the author
    expected. Persisting it with `ENV` is unsafe: it adds a variable to the
    image's environment, visible to every process in the container.
    """
    views = ctx.views()
    for stage in ctx.model.stages:
        reported: set[tuple[str, bool]] = set()
        for ins in stage.body:
            for use in uses(ctx.tree, ins):
                key = (use.name, use.runtime)
                if key in reported:
                    continue
                if use.runtime:
                    if all(_env_sets(v, stage, use.name, ins) for v in views):
                        continue
                elif all(
                    v.declared(stage, use.name, before=ins) or _env_sets(v, stage, use.name, ins)
                    for v in views
                ):
                    continue
                reported.add(key)
                yield _undeclared(ctx, stage, ins, use)


def _undeclared(ctx: Context, stage: Stage, ins: Instruction, use: ArgUse) -> Diagnostic:
    name = use.name
    if use.runtime:
        declared = all(v.declared(stage, name, before=ins) for v in ctx.views())
        lines = [f"ENV {name}=${name}"] if declared else [f"ARG {name}", f"ENV {name}=${name}"]
        return ctx.diagnostic(
            use.span,
            f"${name} in {ins.name} is expanded when the container starts, where build ARGs "
            f"do not exist; persist it in stage '{stage.label}' with ENV {name}=${name}",
            fix=Fix(
                f"Set {name} with ENV before the {ins.name}",
                (insert_lines(ctx.model, ins, lines, after=False),),
                Applicability.UNSAFE,
            ),
        )
    return ctx.diagnostic(
        use.span,
        f"${name} is empty here: stage '{stage.label}' does not declare ARG {name}",
        fix=Fix(
            f"Add ARG {name} after the FROM",
            (insert_lines(ctx.model, stage.from_, [f"ARG {name}"], after=True),),
            Applicability.SAFE,
        ),
    )


@rule(
    code="DA111",
    scope="stage",
    name="platform-arg-default",
    category="platform-arg",
    severity=Severity.WARNING,
    fixable=True,
)
def platform_arg_default(ctx: Context) -> Iterator[Diagnostic]:
    """An automatic platform ARG is given a default, which overrides the real value.

    ## What it does
    Finds `ARG TARGETARCH=amd64` (and defaults on the other automatic platform
    ARGs), before the first FROM or inside a stage.

    ## Why it matters
    BuildKit sets these ARGs to the platform being built, but an explicit
    default wins over the automatic value. With `ARG TARGETARCH=amd64` an arm64
    build downloads amd64 binaries and produces an image that fails with
    `exec format error`.

    ## Example
    ```dockerfile
    FROM debian:bookworm-slim
    ARG TARGETARCH=amd64
    RUN echo "building for $TARGETARCH"
    ```
    Use instead:
    ```dockerfile
    FROM debian:bookworm-slim
    ARG TARGETARCH
    RUN echo "building for $TARGETARCH"
    ```

    ## Fix
    Drops the `=default`, keeping the declaration.

    ## Fix safety
    Unsafe: a build that relied on the default (a legacy builder without
    automatic platform ARGs) now sees an empty value.
    """
    decls = [*ctx.model.global_args, *(d for s in ctx.model.stages for d in s.args())]
    for decl in decls:
        if decl.name not in PLATFORM_ARGS or decl.default is None:
            continue
        kv = decl.kv
        yield ctx.diagnostic(
            kv.span,
            f"ARG {decl.name}={decl.default} overrides the automatic value; every platform "
            f"builds with {decl.name}={decl.default!r}",
            fix=Fix(
                f"Drop the default of {decl.name}",
                (Edit(Span(kv.key_span.end, kv.span.end), ""),),
                Applicability.UNSAFE,
            ),
        )


RULES = (undeclared_platform_arg, platform_arg_default)
