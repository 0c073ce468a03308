"""One TARGETARCH-conditional Dockerfile from per-platform Dockerfiles.

:func:`merge` takes a Dockerfile per platform (``Dockerfile`` and
``Dockerfile.aarch64``, ``amd64/`` and ``arm64v8/``) and writes one whose
:func:`dockerarch.render.render` for each platform is equivalent to that
platform's input rendered for it.

Stages are matched by name (the last stage of each file with the last; unnamed
earlier stages in order). Within a stage, :class:`difflib.SequenceMatcher`
aligns the normalized instructions (the FROM line without its stage name
first); what every file has in common is written once, from the first file's
text, and each divergence becomes one stage per platform followed by a stage
that picks the platform's variant through stage selection, the structure
``dockerarch fix --style stages`` produces::

    FROM ubuntu:22.04 AS app-shared        # the common beginning
    RUN apt-get update
    FROM app-shared AS app-amd64           # what only amd64 runs
    RUN install-amd64-things
    FROM app-shared AS app-arm64           # what only arm64 runs
    RUN install-arm64-things
    FROM app-${TARGETARCH} AS app          # the common rest
    COPY . /app

A stage whose FROM images differ starts with the per-platform stages
(``FROM amd64/ubuntu AS base-amd64``, ``FROM arm64v8/ubuntu AS base-arm64``,
``FROM base-${TARGETARCH} AS base``): global ARGs cannot depend on
TARGETARCH, stage selection can. A stage only some files have is copied as it
is; the platforms without it never reach it.

Stage names get the platform's TARGETARCH as suffix (``-arm`` for
linux/arm/v7), or TARGETARCH and TARGETVARIANT (``-armv7``, ``-armv6``,
selected by ``${TARGETARCH}${TARGETVARIANT}``) when two platforms share an
architecture. Several divergences in one stage are numbered
(``app-1-amd64``, ``app-1``, ``app-2-amd64``, ...). A suffix that would clash
with an existing stage name gets a number (``app-2-amd64``).

Not supported (:class:`MergeError`): files with parse errors or without FROM,
different escape directives, a global ARG with different values in two
files, numeric stage references (``COPY --from=0``), and stages that come in
a different order in two files.
"""

from __future__ import annotations

from collections.abc import Sequence
from difflib import SequenceMatcher
from itertools import count

from dockerarch.model import Model, Stage, build_model
from dockerarch.platforms import Platform
from dockerarch.records import record
from dockerarch.render import RenderError, check_buildable, equivalent, render, stage_regions
from dockerarch.syntax import Dockerfile, Instruction, Span, parse

__all__ = ["MergeError", "MergeInput", "merge", "suffixes"]

_FINAL = "\0final"


class MergeError(ValueError):
    """Inputs :func:`merge` cannot combine; ``label`` names the input at fault, if one is."""

    def __init__(self, label: str | None, problem: str) -> None:
        super().__init__(f"{label}: {problem}" if label else problem)
        self.label = label
        self.problem = problem


@record
class MergeInput:
    platform: Platform
    text: str
    #: How messages name this input (its path).
    label: str


@record
class _Element:
    """An instruction with the text that carries it (comments above it included)."""

    norm: str
    chunk: Span
    ins: Instruction


@record
class _StageData:
    key: str
    name: str | None
    #: The FROM first, then the body.
    elements: list[_Element]


@record
class _Doc:
    input: MergeInput
    tree: Dockerfile
    model: Model
    prologue: Span
    stages: list[_StageData]

    def text(self, span: Span) -> str:
        return self.tree.text[span.start : span.end]


@record
class _Segment:
    equal: bool
    #: Platform index -> element range [lo, hi) of that platform's stage.
    ranges: dict[int, tuple[int, int]]


def suffixes(platforms: Sequence[Platform]) -> tuple[list[str], str]:
    """Each platform's stage-name suffix and the FROM expression that selects it."""
    arches = [p.arch for p in platforms]
    if len(set(arches)) == len(arches):
        return arches, "${TARGETARCH}"
    names = [p.arch + p.variant for p in platforms]
    if len(set(names)) != len(names):
        raise MergeError(None, "two inputs are for the same architecture and variant")
    return names, "${TARGETARCH}${TARGETVARIANT}"


def merge(inputs: Sequence[MergeInput]) -> str:
    """The merged Dockerfile; the first input's text is used for shared parts."""
    if len(inputs) < 2:
        raise MergeError(None, "merge needs at least two Dockerfiles")
    names, selector = suffixes([i.platform for i in inputs])
    docs = [_read(i) for i in inputs]
    escapes = {d.tree.escape for d in docs}
    if len(escapes) > 1:
        raise MergeError(None, "the files use different escape characters (# escape=)")
    used = {st.name for d in docs for st in d.model.stages if st.name}
    writer = _Writer(docs, names, selector, used)
    parts = [_prologue(docs)]
    for key in _stage_order(docs):
        parts.extend(writer.group(key))
    bom = "\ufeff" if docs[0].tree.bom else ""
    head = parts[0]
    if head and not head.endswith("\n"):
        head += "\n"
    out = bom + head + "\n".join(parts[1:])
    for item in inputs:
        # A wrong merge must never be written: check it builds each input.
        if not equivalent(render(out, item.platform), render(item.text, item.platform)):
            raise MergeError(
                item.label, f"internal error: the merged file does not build it for {item.platform}"
            )
    return out


def _read(item: MergeInput) -> _Doc:
    tree = parse(item.text)
    try:
        check_buildable(tree)
    except RenderError as e:
        raise MergeError(item.label, str(e)) from None
    model = build_model(tree)
    for ins in tree.instructions:
        for ref in _from_values(ins):
            if ref.isdigit():
                raise MergeError(
                    item.label,
                    f"line {ins.start_line}: numeric stage reference {ref!r};"
                    " name the stage to merge",
                )
    regions = stage_regions(tree, model)
    stages: list[_StageData] = []
    unnamed = count()
    for stage, region in zip(model.stages, regions, strict=True):
        if stage.index == len(model.stages) - 1:
            key = _FINAL
        elif stage.name:
            key = stage.name
        else:
            key = f"\0unnamed{next(unnamed)}"
        stages.append(_StageData(key, stage.name, _elements(tree, stage, region)))
    return _Doc(item, tree, model, Span(0, regions[0].start), stages)


def _from_values(ins: Instruction) -> list[str]:
    out: list[str] = []
    for flag in ins.flags:
        if flag.value is None:
            continue
        if flag.name == "from":
            out.append(flag.value)
        elif flag.name == "mount":
            for part in flag.value.split(","):
                key, _, value = part.partition("=")
                if key.strip() == "from":
                    out.append(value)
    return out


def _elements(tree: Dockerfile, stage: Stage, region: Span) -> list[_Element]:
    from_ = stage.from_
    flags = " ".join(f.text for f in from_.flags)
    image = stage.image.text if stage.image else ""
    out = [_Element(_collapse(f"FROM {flags} {image}"), Span(region.start, from_.span.end), from_)]
    pos = from_.span.end
    for ins in stage.body:
        out.append(_Element(_norm(ins), Span(pos, ins.span.end), ins))
        pos = ins.span.end
    last = out[-1]
    out[-1] = _Element(last.norm, Span(last.chunk.start, region.end), last.ins)
    return out


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _norm(ins: Instruction) -> str:
    parts = [ins.name, *(f.text for f in ins.flags), ins.args, *(h.body for h in ins.heredocs)]
    return _collapse(" ".join(parts))


def _stage_order(docs: list[_Doc]) -> list[str]:
    """Stage keys of all files in one order that respects each file's."""
    order = [st.key for st in docs[0].stages]
    for doc in docs[1:]:
        keys = [st.key for st in doc.stages]
        merged: list[str] = []
        sm = SequenceMatcher(None, order, keys, autojunk=False)
        for tag, a0, a1, b0, b1 in sm.get_opcodes():
            merged.extend(order[a0:a1])
            if tag != "equal":
                merged.extend(keys[b0:b1])
        if len(set(merged)) != len(merged) or merged[-1] != _FINAL:
            raise MergeError(
                doc.input.label,
                f"its stages come in a different order than in {docs[0].input.label}",
            )
        order = merged
    return order


def _prologue(docs: list[_Doc]) -> str:
    """The text before the first FROM: the first file's, plus global ARGs only
    other files declare."""
    first = docs[0]
    text = first.text(first.prologue)
    seen = {_norm(ins) for ins in _prologue_instructions(first)}
    values: dict[str, tuple[str | None, str]] = {}
    extra: list[str] = []
    for doc in docs:
        for ins in _prologue_instructions(doc):
            for kv in ins.key_values(doc.tree.escape):
                known = values.setdefault(kv.key, (kv.value, doc.input.label))
                if known[0] != kv.value:
                    raise MergeError(
                        None,
                        f"global ARG {kv.key} differs between {known[1]} and"
                        f" {doc.input.label}; give both the same global ARGs",
                    )
            if _norm(ins) not in seen:
                seen.add(_norm(ins))
                extra.append(doc.text(ins.span).rstrip("\n") + "\n")
    if extra and text and not text.endswith("\n"):
        text += "\n"
    return text + "".join(extra)


def _prologue_instructions(doc: _Doc) -> list[Instruction]:
    return [ins for ins in doc.tree.instructions if ins.span.end <= doc.prologue.end]


class _Writer:
    """Writes the stages of each group of matched stages."""

    def __init__(self, docs: list[_Doc], suffixes: list[str], selector: str, used: set[str]):
        self.docs = docs
        self.suffixes = suffixes
        self.selector = selector
        self.used = used
        self.groups = 0

    def group(self, key: str) -> list[str]:
        members = {k: st for k, doc in enumerate(self.docs) for st in doc.stages if st.key == key}
        self.groups += 1
        first = min(members)
        name = members[first].name
        if len(members) == 1:
            return [self.stage_text(first, members[first].elements, None)]
        segments = _segments({k: [e.norm for e in st.elements] for k, st in members.items()})
        if len(segments) == 1 and segments[0].equal:
            return [self.stage_text(first, members[first].elements, None)]
        base = name or ("final" if key == _FINAL else f"stage-{self.groups}")
        diverging = sum(not s.equal for s in segments)
        out: list[str] = []
        current: list[str] = []
        prev: str | None = None
        number = 0
        for seg in segments:
            if seg.equal:
                lo, hi = seg.ranges[first]
                elements = members[first].elements[lo:hi]
                if number == 0:
                    prev = self.unique(f"{base}-shared")
                    current = [self.chunks(first, elements, prev)]
                else:
                    current.append(self.chunks(first, elements, None))
                continue
            number += 1
            if current:
                out.append(_tidy("".join(current)))
            prefix = self.prefix(base if diverging == 1 else f"{base}-{number}")
            for k, (lo, hi) in seg.ranges.items():
                own = f"{prefix}-{self.suffixes[k]}"
                elements = members[k].elements[lo:hi]
                if prev is None:
                    out.append(self.stage_text(k, elements, own))
                else:
                    out.append(_tidy(f"FROM {prev} AS {own}\n" + self.chunks(k, elements, None)))
            prev = name if number == diverging else self.unique(f"{base}-{number}")
            alias = f" AS {prev}" if prev else ""
            current = [f"FROM {prefix}-{self.selector}{alias}\n"]
        out.append(_tidy("".join(current)))
        return out

    def stage_text(self, k: int, elements: list[_Element], rename: str | None) -> str:
        return _tidy(self.chunks(k, elements, rename))

    def chunks(self, k: int, elements: list[_Element], rename: str | None) -> str:
        """The elements' text; with ``rename``, the first (a FROM) gets that stage name."""
        doc = self.docs[k]
        parts = [doc.text(e.chunk) for e in elements]
        if rename is not None and elements:
            parts[0] = _renamed(doc, elements[0], rename)
        return "".join(p if p.endswith("\n") else p + "\n" for p in parts)

    def unique(self, name: str) -> str:
        for n in count(1):
            candidate = name if n == 1 else f"{name}-{n}"
            if candidate not in self.used:
                self.used.add(candidate)
                return candidate
        raise AssertionError("unreachable")

    def prefix(self, stem: str) -> str:
        """A stem whose per-platform names are all free."""
        for n in count(1):
            candidate = stem if n == 1 else f"{stem}-{n}"
            names = {f"{candidate}-{s}" for s in self.suffixes}
            if not names & self.used:
                self.used |= names
                return candidate
        raise AssertionError("unreachable")


def _renamed(doc: _Doc, element: _Element, name: str) -> str:
    """The FROM element's text with the stage named ``name``."""
    ins = element.ins
    stage = doc.model.stage_of(ins)
    assert stage is not None
    if stage.name_word is not None:
        span, new = stage.name_word.span, name
    else:
        end = ins.args_span.end
        span, new = Span(end, end), f" AS {name}"
    start = element.chunk.start
    text = doc.text(element.chunk)
    return text[: span.start - start] + new + text[span.end - start :]


def _tidy(text: str) -> str:
    """A stage's text without leading or trailing blank lines, ending in a newline."""
    lines = text.splitlines(keepends=True)
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    out = "".join(lines)
    return out if out.endswith("\n") else out + "\n"


def _segments(seqs: dict[int, list[str]]) -> list[_Segment]:
    """Common runs (anchors every sequence shares, in order) and divergences."""
    ref, *others = sorted(seqs)
    maps: list[tuple[int, dict[int, int]]] = []
    for k in others:
        sm = SequenceMatcher(None, seqs[ref], seqs[k], autojunk=False)
        pairs = {b.a + i: b.b + i for b in sm.get_matching_blocks() for i in range(b.size)}
        maps.append((k, pairs))
    anchors = [i for i in range(len(seqs[ref])) if all(i in m for _, m in maps)]
    cursor = dict.fromkeys(seqs, 0)
    out: list[_Segment] = []
    for i in anchors:
        pos = {ref: i, **{k: m[i] for k, m in maps}}
        if any(pos[k] > cursor[k] for k in seqs):
            out.append(_Segment(False, {k: (cursor[k], pos[k]) for k in seqs}))
        if out and out[-1].equal:
            out[-1].ranges.update({k: (r[0], pos[k] + 1) for k, r in out[-1].ranges.items()})
        else:
            out.append(_Segment(True, {k: (pos[k], pos[k] + 1) for k in seqs}))
        cursor = {k: pos[k] + 1 for k in seqs}
    if any(cursor[k] < len(seqs[k]) for k in seqs):
        out.append(_Segment(False, {k: (cursor[k], len(seqs[k])) for k in seqs}))
    return out
