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
from dockerarch.syntax.positions import Span


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
    span = ins.span
    kspan = ins.keyword_span
    errors, comments = ins.errors, ins.comments
    # Positional: keyword arguments were 30% of this call, made for every instruction
    # the parser takes from its memo.
    moved = Instruction(
        Span(span.start + delta, span.end + delta),
        ins.keyword,
        Span(kspan.start + delta, kspan.end + delta),
        tuple([f.moved(delta) for f in flags]) if flags else flags,
        ins.args,
        ins.args_map.moved(delta),
        None if json is None else tuple([w.moved(delta) for w in json]),
        tuple([h.moved(delta) for h in heredocs]) if heredocs else heredocs,
        ins.start_line + lines,
        ins.end_line + lines,
        None if ins.inner is None else _instruction(ins.inner, delta, lines),
        tuple([(message, s.moved(delta)) for message, s in errors]) if errors else errors,
        tuple([s.moved(delta) for s in comments]) if comments else comments,
    )
    memo = ins._memo
    if memo is not None:
        object.__setattr__(moved, "_memo", memo.moved(delta))
    return moved
