"""Lossless Dockerfile syntax: :func:`parse` and the node types."""

from __future__ import annotations

from dockerarch.syntax.nodes import (
    Blank,
    Comment,
    Directive,
    Dockerfile,
    Flag,
    Heredoc,
    Instruction,
    KeyValue,
    Word,
)
from dockerarch.syntax.positions import LineIndex, Position, SourceMap, Span

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockerarch.syntax.parser import KNOWN_INSTRUCTIONS, parse


def __getattr__(name: str) -> Any:
    # The parser is imported on first use: a cached result is reported without it.
    if name in ("parse", "KNOWN_INSTRUCTIONS"):
        from dockerarch.syntax import parser

        # Kept as a module attribute: every check imports ``parse`` from here again.
        value = globals()[name] = getattr(parser, name)
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "KNOWN_INSTRUCTIONS",
    "Blank",
    "Comment",
    "Directive",
    "Dockerfile",
    "Flag",
    "Heredoc",
    "Instruction",
    "KeyValue",
    "LineIndex",
    "Position",
    "SourceMap",
    "Span",
    "Word",
    "parse",
]
