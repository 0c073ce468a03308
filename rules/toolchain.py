"""What the toolchain rules share: where variables get set, and which targets an instruction builds.

The rule modules are ``golang`` (DA401, DA402, DA407) and ``compilers`` (DA403, DA404).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from dockerarch_rules.platform_args import insert_lines
from dockerarch_rules.platform_flags import platform_variable

from dockerarch.diagnostics import Edit
from dockerarch.engine import Context
from dockerarch.expand import references
from dockerarch.model import Stage, arch_in_name
from dockerarch.records import record
from dockerarch.shell import EVERYWHERE, Assignment, Command, Guard, Word
from dockerarch.syntax import Instruction, KeyValue, Span

#: Architectures whose compilers take x86 options.
X86 = frozenset({"amd64", "386"})


@record
class Setting:
    """``NAME=value`` from ENV, an ARG default, or a shell assignment in RUN.

    ``value`` is None when the value expands something (``$TARGETARCH``, a
    command substitution). ``value_span`` holds the literal characters, quotes
    excluded; ``quote`` says a replacement there must bring its own double
    quotes (the value was single-quoted, which stops expansion).
    """

    name: str
    value: str | None
    span: Span
    value_span: Span | None
    quote: bool
    instruction: Instruction
    stage: Stage | None
    guard: Guard = EVERYWHERE


def guarded(guard: Guard) -> bool:
    """Does an arch test (or one we cannot evaluate) decide whether this runs?"""
    return guard.archs is not None or not guard.decided


def instructions(ctx: Context) -> Iterator[tuple[Stage, Instruction]]:
    for stage in ctx.model.stages:
        for ins in stage.body:
            yield stage, ins


def settings(ctx: Context, names: frozenset[str]) -> Iterator[Setting]:
    """Every place the file sets one of ``names``: ENV, ARG defaults (global ones
    included), shell assignments and exports, ``env NAME=...`` and ``go env -w``."""
    # Several rules ask, each for its own names: the file is walked once.
    found = ctx.cache.get("toolchain.settings")
    if not isinstance(found, list):
        found = ctx.cache["toolchain.settings"] = list(_all_settings(ctx))
    return (s for s in found if s.name in names)


def _all_settings(ctx: Context) -> Iterator[Setting]:
    for decl in ctx.model.global_args:
        if decl.default is not None:
            yield _from_key_value(ctx, decl.kv, decl.instruction, None)
    for stage, ins in instructions(ctx):
        if ins.name in ("ENV", "ARG"):
            for kv in ins.key_values(ctx.tree.escape):
                if kv.value is not None:
                    yield _from_key_value(ctx, kv, ins, stage)
        elif ins.name == "RUN":
            for script in ctx.model.scripts(ins):
                for a in script.assignments:
                    yield _from_assignment(a, ins, stage, a.guard)
                for raw in script.commands:
                    cmd = raw.effective()
                    for a in cmd.env:
                        yield _from_assignment(a, ins, stage, cmd.guard)
                    yield from _go_env_w(cmd, ins, stage)


def _from_key_value(ctx: Context, kv: KeyValue, ins: Instruction, stage: Stage | None) -> Setting:
    assert kv.value is not None and kv.value_span is not None
    span = kv.value_span
    source = ctx.text(span)
    if references(source, ctx.tree.escape):
        return Setting(kv.key, None, kv.span, None, False, ins, stage)
    if len(source) >= 2 and source[0] == source[-1] and source[0] in "'\"":
        if source[0] == "'":
            return Setting(kv.key, kv.value, kv.span, span, True, ins, stage)
        span = Span(span.start + 1, span.end - 1)
    if ctx.text(span) != kv.value:
        # Escapes or mixed quoting: the value is known, but not where to edit it.
        return Setting(kv.key, kv.value, kv.span, None, False, ins, stage)
    return Setting(kv.key, kv.value, kv.span, span, False, ins, stage)


def _from_assignment(a: Assignment, ins: Instruction, stage: Stage, guard: Guard) -> Setting:
    value_span, quote = _literal_span(a.value)
    return Setting(a.name, a.value.value, a.span, value_span, quote, ins, stage, guard)


def _literal_span(word: Word) -> tuple[Span | None, bool]:
    if word.value is None or len(word.literal_pieces) != 1:
        return None, False
    piece, span = word.literal_pieces[0]
    if piece != word.value:
        return None, False
    if word.text.startswith("'"):
        return word.span, True
    return span, False


def _go_env_w(cmd: Command, ins: Instruction, stage: Stage) -> Iterator[Setting]:
    if cmd.program != "go" or [w.value for w in cmd.args[:2]] != ["env", "-w"]:
        return
    for word in cmd.args[2:]:
        if word.value is None or "=" not in word.value or len(word.literal_pieces) != 1:
            continue
        name, _, value = word.value.partition("=")
        piece, span = word.literal_pieces[0]
        if piece != word.value:
            continue
        start = span.start + len(name) + 1
        yield Setting(name, value, word.span, Span(start, span.end), False, ins, stage, cmd.guard)


def replace_with_target_arch(s: Setting) -> Edit | None:
    """The edit turning the setting's literal value into ``$TARGETARCH``."""
    if s.value_span is None:
        return None
    return Edit(s.value_span, '"$TARGETARCH"' if s.quote else "$TARGETARCH")


def declare_target_arch(ctx: Context, stage: Stage | None, ins: Instruction) -> tuple[Edit, ...]:
    """``ARG TARGETARCH`` after the stage's FROM, unless every platform sees it declared."""
    if stage is None or all(v.declared(stage, "TARGETARCH", before=ins) for v in ctx.views()):
        return ()
    return (insert_lines(ctx.model, stage.from_, ["ARG TARGETARCH"], after=True),)


def target_arches(ctx: Context, ins: Instruction, stage: Stage | None) -> dict[str, list[str]]:
    """Architectures whose build runs ``ins``, with their platforms (``linux/arm64``)."""
    out: dict[str, list[str]] = {}
    for view in ctx.views():
        if stage is None or view.reaches(ins):
            out.setdefault(view.platform.arch, []).append(str(view.platform))
    return out


def cross_stage(ctx: Context, stage: Stage | None) -> bool:
    """Does the stage run on ``--platform=$BUILDPLATFORM`` (itself or the stage it is FROM)?"""
    if stage is None:
        return False
    for st in ctx.views()[0].ancestry(stage):
        if st.platform is not None:
            name: str | None = platform_variable(st.platform)
            return name == "BUILDPLATFORM"
    return False


def dedicated_arch(ctx: Context, stage: Stage | None) -> str | None:
    """The architecture the stage (``AS build-amd64``) or file (``Dockerfile.amd64``) is for."""
    if stage is not None and stage.arch_by_name is not None:
        return stage.arch_by_name
    path: Path | None = ctx.path
    if path is None:
        return None
    return arch_in_name(path.name) or arch_in_name(path.parent.name)


def replaced_many(ctx: Context, ins: Instruction, edits: Iterable[tuple[Span, str]]) -> str:
    """The whole lines of ``ins`` with non-overlapping ``edits`` applied."""
    text = ctx.tree.text
    out: list[str] = []
    pos = ins.span.start
    for span, content in sorted(edits, key=lambda e: e[0].start):
        out.append(text[pos : span.start])
        out.append(content)
        pos = span.end
    out.append(text[pos : ins.span.end])
    return "".join(out)
