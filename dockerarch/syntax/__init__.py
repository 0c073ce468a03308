"""Lossless Dockerfile syntax: :func:`parse` and the node types."""

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
from dockerarch.syntax.parser import KNOWN_INSTRUCTIONS, parse
from dockerarch.syntax.positions import LineIndex, Position, SourceMap, Span

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
