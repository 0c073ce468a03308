"""Syntax nodes moved to another place in the text: the same source, ``delta`` characters
and ``lines`` lines further on. What :func:`parser.reparse` does with the items after an edit."""

from __future__ import annotations

from dockerarch.syntax.nodes import (
    Blank,
    Comment,
    Directive,
    Instruction,
    Item,
)


def shifted(item: Item, delta: int, lines: int) -> Item:
    if isinstance(item, Instruction):
        return _instruction(item, delta, lines)
    if isinstance(item, Blank):
        return Blank(item.span.moved(delta))
    if isinstance(item, Comment):
        return Comment(item.span.moved(delta), item.text)
    return Directive(item.span.moved(delta), item.name, item.value, item.value_span.moved(delta))


def _instruction(ins: Instruction, delta: int, lines: int) -> Instruction:
    # Most instructions have no flags, heredocs, exec form, errors or comment lines:
    # their empty tuples are kept as they are (a tail of a few hundred instructions
    # moves on every keystroke in an editor).
    json, flags, heredocs = ins.json, ins.flags, ins.heredocs
    moved = Instruction(
        span=ins.span.moved(delta),
        keyword=ins.keyword,
        keyword_span=ins.keyword_span.moved(delta),
        flags=tuple([f.moved(delta) for f in flags]) if flags else flags,
        args=ins.args,
        args_map=ins.args_map.moved(delta),
        json=None if json is None else tuple([w.moved(delta) for w in json]),
        heredocs=tuple([h.moved(delta) for h in heredocs]) if heredocs else heredocs,
        start_line=ins.start_line + lines,
        end_line=ins.end_line + lines,
        inner=None if ins.inner is None else _instruction(ins.inner, delta, lines),
        errors=tuple([(message, s.moved(delta)) for message, s in ins.errors])
        if ins.errors
        else ins.errors,
        comments=tuple([s.moved(delta) for s in ins.comments]) if ins.comments else ins.comments,
    )
    memo = ins._memo
    if memo is not None:
        object.__setattr__(moved, "_memo", memo.moved(delta))
    return moved
