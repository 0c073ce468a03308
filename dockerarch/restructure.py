"""Per-platform variants of instructions as per-architecture stages (``fix --style stages``).

A stage whose instructions diverge between platforms becomes a chain::

    FROM debian AS app-base          # the original FROM, renamed; shared instructions
    ...
    FROM app-base AS app-amd64       # what amd64 builds in place of the variant lines
    ...
    FROM app-base AS app-arm64       # what arm64 builds there
    ...
    FROM app-${TARGETARCH} AS app    # the original name again, then the rest
    ...

so stage names, ``FROM app`` and ``COPY --from=app`` references and the
final stage mean what they meant. BuildKit resolves ``${TARGETARCH}`` in
FROM from the global scope and builds only the stages the target needs.
A stage built FROM another stage inherits its environment, working
directory, user, shell, platform and ARG declarations, which is what makes
the split safe. Inserted stages shift stage indices, so numeric
``COPY --from=N`` and ``RUN --mount=from=N`` references are renumbered.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import pairwise

from dockerarch.diagnostics import Edit, PlatformVariant
from dockerarch.lazyre import lazy_compile
from dockerarch.model import Model, Stage
from dockerarch.records import record
from dockerarch.syntax import Instruction, Span

_LONE_LF = lazy_compile(r"(?<!\r)\n")
_DIGITS = lazy_compile(r"\d+\Z")
_MOUNT_FROM = lazy_compile(r"(?:^|,)\s*from=(\d+)\s*(?=,|$)")


@record
class _Split:
    stage: Stage
    variants: tuple[PlatformVariant, ...]


def stage_of_variant(model: Model, variant: PlatformVariant) -> Stage | None:
    """The stage whose body instructions ``variant`` replaces exactly, or None.

    None when the span does not start and end at instruction boundaries of
    one stage's body, or when the stage has an ONBUILD before the variant's
    end: a trigger in a stage that becomes a base would run in the new
    per-architecture stages.
    """
    span = variant.span
    if not variant.by_arch or span.start >= span.end:
        return None
    for stage in model.stages:
        starts = [i for i, ins in enumerate(stage.body) if ins.span.start == span.start]
        ends = [i for i, ins in enumerate(stage.body) if ins.span.end == span.end]
        if starts and ends and starts[0] <= ends[0]:
            if any(ins.name == "ONBUILD" for ins in stage.body[: ends[0] + 1]):
                return None
            return stage
    return None


def restructure(
    model: Model, variants: Iterable[PlatformVariant], archs: Sequence[str]
) -> tuple[Edit, ...] | None:
    """Edits splitting every stage that ``variants`` touch into per-architecture stages.

    ``archs`` are the TARGETARCH values to build (the targets' architectures);
    the architectures the variants name are added to them. Variants must not
    overlap. None when a variant is not restructurable (see
    :func:`stage_of_variant`) or no stage would differ between architectures.
    """
    by_stage: dict[int, list[PlatformVariant]] = {}
    for v in variants:
        stage = stage_of_variant(model, v)
        if stage is None:
            return None
        by_stage.setdefault(stage.index, []).append(v)
    splits = [
        _Split(model.stages[i], tuple(sorted(vs, key=lambda v: v.span.start)))
        for i, vs in sorted(by_stage.items())
    ]
    if not splits:
        return None
    for s in splits:
        for a, b in pairwise(s.variants):
            if b.span.start < a.span.end:
                return None
    named = (a for s in splits for v in s.variants for a, _ in v.by_arch)
    all_archs = list(dict.fromkeys([*archs, *named]))
    # Each split inserts the per-architecture stages and the continuation stage.
    renumbered = _renumber(model, {s.stage.index: len(all_archs) + 1 for s in splits})
    taken = {s.name for s in model.stages if s.name}
    edits: list[Edit] = []
    for s in splits:
        split_edits = _split(model, s, all_archs, taken, renumbered)
        if split_edits is None:
            return None
        edits.extend(split_edits)
    regions = [Span(s.variants[0].span.start, s.variants[-1].span.end) for s in splits]
    edits.extend(e for e in renumbered if not any(_inside(e.span, r) for r in regions))
    return tuple(edits)


def _inside(span: Span, region: Span) -> bool:
    return region.start <= span.start and span.end <= region.end


def _split(
    model: Model,
    split: _Split,
    archs: Sequence[str],
    taken: set[str],
    renumbered: Sequence[Edit],
) -> list[Edit] | None:
    text = model.tree.text
    stage = split.stage
    from_ = stage.from_
    start, end = split.variants[0].span.start, split.variants[-1].span.end
    eol = _eol(model, from_)
    regions = {arch: _region(text, split.variants, arch, eol, renumbered) for arch in archs}
    if all(r == text[start:end] for r in regions.values()):
        return None
    prefix = _prefix(stage, archs, taken)
    shared = f"{prefix}-base"
    taken.update({shared, *(f"{prefix}-{a}" for a in archs)})

    line_start = model.tree.lines.line_start(from_.start_line)
    indent = text[line_start : from_.keyword_span.start]
    keyword = text[from_.keyword_span.start : from_.keyword_span.end]
    as_word = _as_word(stage, keyword)

    def from_line(base: str, name: str | None) -> str:
        named = f" {as_word} {name}" if name else ""
        return f"{indent}{keyword} {base}{named}"

    edits = [_rename(stage, as_word, shared)]
    out: list[str] = []
    if not _follows_blank_line(text, start):
        out.append(eol)
    for arch in archs:
        out.append(from_line(shared, f"{prefix}-{arch}") + eol)
        out.append(regions[arch])
        out.append(eol)
    # A file without a final newline keeps lacking one.
    at_eof_without_eol = end == len(text) and not text.endswith("\n")
    out.append(
        from_line(f"{prefix}-${{TARGETARCH}}", stage.name_word.text if stage.name_word else None)
    )
    out.append("" if at_eof_without_eol else eol)
    edits.append(Edit(Span(start, end), "".join(out)))
    return edits


def _region(
    text: str,
    variants: Sequence[PlatformVariant],
    arch: str,
    eol: str,
    renumbered: Sequence[Edit],
) -> str:
    """The text ``arch`` builds from the first variant's start to the last one's end.

    Original text keeps its numeric stage references renumbered; a
    replacement is the rule's text as given.
    """

    def original(a: int, b: int) -> str:
        out, pos = [], a
        for e in sorted(renumbered, key=lambda e: e.span.start):
            if _inside(e.span, Span(a, b)):
                out += [text[pos : e.span.start], e.content]
                pos = e.span.end
        return "".join(out) + text[pos:b]

    parts: list[str] = []
    pos = variants[0].span.start
    for v in variants:
        parts.append(original(pos, v.span.start))
        replacement = dict(v.by_arch).get(arch)
        if replacement is None:
            parts.append(original(v.span.start, v.span.end))
        else:
            parts.append(_LONE_LF.sub(eol, replacement) if eol == "\r\n" else replacement)
        pos = v.span.end
    region = "".join(parts)
    if region and not region.endswith("\n"):
        region += eol
    return region


def _prefix(stage: Stage, archs: Sequence[str], taken: set[str]) -> str:
    """A name whose ``-base`` and ``-<arch>`` forms name no stage yet."""
    base = stage.name or f"stage-{stage.index}"
    candidate, n = base, 1
    while any(f"{candidate}-{suffix}" in taken for suffix in ("base", *archs)):
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _as_word(stage: Stage, keyword: str) -> str:
    words = stage.from_.words()
    if stage.name_word is not None and len(words) >= 2:
        return words[1].text
    return "as" if keyword.islower() else "AS"


def _rename(stage: Stage, as_word: str, name: str) -> Edit:
    if stage.name_word is not None:
        return Edit(stage.name_word.span, name)
    end = stage.from_.args_span.end
    return Edit(Span(end, end), f" {as_word} {name}")


def _eol(model: Model, ins: Instruction) -> str:
    text = model.tree.text
    first_nl = text.find("\n", ins.span.start, ins.span.end)
    if first_nl == -1:
        return "\r\n" if "\r\n" in text else "\n"
    return "\r\n" if text[first_nl - 1 : first_nl] == "\r" else "\n"


def _follows_blank_line(text: str, offset: int) -> bool:
    if offset == 0:
        return True
    prev_start = text.rfind("\n", 0, offset - 1) + 1
    return not text[prev_start:offset].strip()


def _renumber(model: Model, inserted: dict[int, int]) -> list[Edit]:
    """Edits moving numeric stage references past the stages inserted before them."""

    def new_index(old: int) -> int:
        return old + sum(n for index, n in inserted.items() if index <= old)

    edits: list[Edit] = []
    text = model.tree.text
    for ins in model.tree.walk():
        for flag in ins.flags:
            span = flag.value_span
            if flag.value is None or span is None or text[span.start : span.end] != flag.value:
                continue
            if flag.name == "from" and ins.name in ("COPY", "ADD") and _DIGITS.match(flag.value):
                old = int(flag.value)
                if old < len(model.stages) and new_index(old) != old:
                    edits.append(Edit(span, str(new_index(old))))
            elif flag.name == "mount" and ins.name == "RUN":
                for m in _MOUNT_FROM.finditer(flag.value):
                    old = int(m.group(1))
                    if old < len(model.stages) and new_index(old) != old:
                        at = span.start + m.start(1)
                        edits.append(Edit(Span(at, at + len(m.group(1))), str(new_index(old))))
    return edits
