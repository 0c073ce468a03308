"""YAML nodes with exact source spans, for reading CI files and editing them as text.

PyYAML's composer keeps a start and end mark on every node; block collections
and block scalars end where the *next* token starts (after trailing blank and
comment lines), so :func:`content_end` finds where a node's own text stops.
Nothing here writes YAML: rewrites are text edits at these spans.
"""

from __future__ import annotations

import yaml
from yaml import MappingNode as MappingNode
from yaml import Node as Node
from yaml import ScalarNode as ScalarNode
from yaml import SequenceNode as SequenceNode

from dockerarch.syntax.positions import Segment, SourceMap, Span


def compose(text: str) -> Node | None:
    """The document's node tree; None when the text is not one valid YAML document."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None


def span(node: Node, text: str) -> Span:
    """The node's own text: from its first character to the end of its content."""
    return Span(node.start_mark.index, content_end(node, text))


def content_end(node: Node, text: str) -> int:
    """Where ``node``'s text ends, without trailing blank lines and comments."""
    if isinstance(node, ScalarNode):
        if node.style in ("|", ">"):
            start: int = node.start_mark.index
            return start + len(text[start : node.end_mark.index].rstrip())
        return int(node.end_mark.index)
    if node.flow_style or not node.value:
        return int(node.end_mark.index)
    last = node.value[-1]
    return content_end(last[1] if isinstance(node, MappingNode) else last, text)


def get(node: Node | None, key: str) -> Node | None:
    """The value of ``key`` in a mapping node (None for anything else)."""
    pair = entry(node, key)
    return pair[1] if pair else None


def entry(node: Node | None, key: str) -> tuple[ScalarNode, Node] | None:
    """The key node and value node of ``key`` in a mapping node."""
    if not isinstance(node, MappingNode):
        return None
    for k, v in node.value:
        if isinstance(k, ScalarNode) and k.value == key:
            return k, v
    return None


def items(node: Node | None) -> list[tuple[str, Node]]:
    """The string-keyed entries of a mapping node, in order."""
    if not isinstance(node, MappingNode):
        return []
    return [(k.value, v) for k, v in node.value if isinstance(k, ScalarNode)]


def scalar(node: Node | None) -> str | None:
    return node.value if isinstance(node, ScalarNode) else None


def strings(node: Node | None) -> list[str]:
    """A scalar, or the scalars of a sequence, as strings."""
    if isinstance(node, ScalarNode):
        return [node.value]
    if isinstance(node, SequenceNode):
        return [v.value for v in node.value if isinstance(v, ScalarNode)]
    return []


def line_start(text: str, offset: int) -> int:
    return text.rfind("\n", 0, offset) + 1


def line_end(text: str, offset: int) -> int:
    """Offset just after the line terminator of the line holding ``offset``."""
    i = text.find("\n", offset)
    return len(text) if i == -1 else i + 1


def indent_of(text: str, offset: int) -> int:
    """Column (0-based) of ``offset`` within its line."""
    return offset - line_start(text, offset)


def scalar_source(node: ScalarNode, text: str) -> tuple[str, SourceMap] | None:
    """The scalar's value as its source lines spell it, with a map back to the file.

    Plain, literal (``|``) and folded (``>``) scalars and quoted ones without
    escapes map character for character; folded line breaks become spaces.
    None when the value cannot be matched to its source (escapes, odd folds).
    """
    start, end = node.start_mark.index, node.end_mark.index
    if node.style in ("|", ">"):
        return _block_source(node, text)
    if node.style in ('"', "'"):
        start, end = start + 1, end - 1
    raw = text[start:end]
    if "\n" not in raw:
        return (raw, SourceMap.identity(start, len(raw))) if raw == node.value else None
    # A multi-line flow scalar folds each line break (and the indentation) into a space.
    segments: list[Segment] = []
    parts: list[str] = []
    logical = 0
    offset = start
    for line in raw.split("\n"):
        stripped = line.strip(" \t")
        lead = len(line) - len(line.lstrip(" \t"))
        if parts:
            logical += 1
        segments.append(Segment(logical, offset + lead, len(stripped)))
        parts.append(stripped)
        logical += len(stripped)
        offset += len(line) + 1
    value = " ".join(parts)
    return (value, SourceMap(segments)) if value == node.value else None


def _block_source(node: ScalarNode, text: str) -> tuple[str, SourceMap] | None:
    header_end = line_end(text, node.start_mark.index)
    body_end = content_end(node, text)
    lines = text[header_end:body_end].split("\n")
    indent = min(
        (len(line) - len(line.lstrip(" ")) for line in lines if line.strip()),
        default=0,
    )
    segments: list[Segment] = []
    parts: list[str] = []
    logical = 0
    offset = header_end
    for line in lines:
        body = line[indent:] if len(line) >= indent else ""
        if parts:
            logical += 1
        segments.append(Segment(logical, offset + min(indent, len(line)), len(body)))
        parts.append(body)
        logical += len(body)
        offset += len(line) + 1
    joined = "\n".join(parts)
    if node.style == ">":
        # The shell sees one long line where YAML folds; same length, same offsets.
        return joined.replace("\n", " "), SourceMap(segments)
    return (joined, SourceMap(segments)) if node.value.startswith(joined) else None
