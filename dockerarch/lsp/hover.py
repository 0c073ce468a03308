"""Hover text: where a FROM image is published, and what an ignored rule is."""

from __future__ import annotations

import re
from collections.abc import Callable

from dockerarch.engine import Settings, rule_by_code
from dockerarch.imageref import ImageRef, parse_image_ref
from dockerarch.knowledge.images import ImagePlatforms, image_platforms
from dockerarch.lazyre import lazy_compile
from dockerarch.model import Model, Stage, build_model
from dockerarch.platforms import Platform
from dockerarch.suppressions import find_suppressions
from dockerarch.syntax import Dockerfile, Span

_CODE = lazy_compile(r"DA\d{3}", re.IGNORECASE)

#: What is known online about an image without waiting: platforms, why not, or None (not yet).
Online = Callable[[ImageRef], ImagePlatforms | Exception | None]


def hover_at(
    tree: Dockerfile, offset: int, settings: Settings, online: Online | None = None
) -> tuple[str, Span] | None:
    """Markdown for the thing at ``offset`` (into ``tree.text``) and its span.

    ``online`` answers for images the offline snapshot lacks.
    """
    return _rule_code(tree, offset) or _from_image(tree, offset, settings, online)


def _rule_code(tree: Dockerfile, offset: int) -> tuple[str, Span] | None:
    for sup in find_suppressions(tree):
        if not (sup.span.start <= offset <= sup.span.end):
            continue
        for m in _CODE.finditer(tree.text, sup.span.start, sup.span.end):
            if m.start() <= offset <= m.end():
                span = Span(m.start(), m.end())
                rule = rule_by_code(m.group())
                if rule is None:
                    return f"`{m.group().upper()}`: no installed rule has this code.", span
                text = (
                    f"**{rule.code}** `{rule.name}`: {rule.summary}\n\n[Documentation]({rule.url})"
                )
                return text, span
    return None


def _from_image(
    tree: Dockerfile, offset: int, settings: Settings, online: Online | None
) -> tuple[str, Span] | None:
    model = build_model(tree)
    for stage in model.stages:
        word = stage.image
        if word is not None and word.span.start <= offset <= word.span.end:
            return _image_text(model, stage, settings.platforms, online), word.span
    return None


def _image_text(
    model: Model, stage: Stage, targets: tuple[Platform, ...], online: Online | None
) -> str:
    # The same FROM may name different images per target (python:${TAG}-${TARGETARCH}).
    by_ref: dict[str | None, list[Platform]] = {}
    for p in targets:
        view = model.for_platform(p)
        parent = view.parent(stage)
        if parent is not None:
            line = parent.from_.start_line
            return f"Build stage `{parent.label}` (line {line})."
        by_ref.setdefault(view.base(stage), []).append(p)
    assert stage.image is not None
    parts = []
    for ref_text, platforms in by_ref.items():
        on = ", ".join(str(p) for p in platforms)
        parts.append(_one_image(stage.image.text, ref_text, platforms, on, online))
    return "\n\n---\n\n".join(parts)


def _one_image(
    written: str, expanded: str | None, targets: list[Platform], on: str, online: Online | None
) -> str:
    if expanded is None:
        return f"`{written}` depends on a build argument with no known value (for {on})."
    if expanded.lower() == "scratch":
        return "`scratch` is the empty image: every platform has it."
    ref = parse_image_ref(expanded)
    if ref is None:
        return f"`{expanded}` is not a valid image reference."
    known = image_platforms(ref)
    if known is None and online is not None:
        answer = online(ref)
        if answer is None:
            return (
                f"`{ref.familiar}`: not in the offline image snapshot; "
                "looking it up in the registry, hover again in a moment."
            )
        if isinstance(answer, Exception):
            return (
                f"`{ref.familiar}`: not in the offline image snapshot; "
                f"the registry did not say: {answer}"
            )
        known = answer
    if known is None:
        return f"`{ref.familiar}`: not in the offline image snapshot; its platforms are unknown."
    listed = ", ".join(f"`{p}`" for p in sorted(known.platforms))
    lines = [f"`{ref.familiar}` is published for {listed}."]
    missing = [str(p) for p in targets if not known.supports(p)]
    if missing:
        lines.append(f"Not published for the target {', '.join(missing)}.")
    source = known.source
    if known.last_listed is not None:
        source += f"; tag last listed {known.last_listed}"
    lines.append(f"_Source: {source}._")
    return "\n\n".join(lines)
