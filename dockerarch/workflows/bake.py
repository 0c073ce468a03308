"""Targets of ``docker buildx bake`` files (HCL and JSON) with their platform lists.

Only what finding an emulated build needs is read: ``target`` blocks with
``context``, ``dockerfile``, ``platforms`` and ``inherits``, ``group``
members and ``variable`` defaults for ``${NAME}`` in strings. Any other
expression (functions, conditionals, other targets' attributes) is unknown
and the attribute is treated as unset.

A bake file does not say where it runs; builds are taken to run on one
amd64 machine (the usual CI runner), which emulates every other architecture.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from dockerarch.lazyre import lazy_compile
from dockerarch.records import field, record
from dockerarch.syntax.positions import Span
from dockerarch.workflows import yamlspans as ys
from dockerarch.workflows.builds import BAKE_TARGET, Build, expand_variables, parse_platforms

#: The architecture a bake file is assumed to be built on.
ASSUMED_HOST = "amd64"


@record
class Value:
    """An attribute's value: a string, a list of strings, or None when unknown."""

    data: str | tuple[str, ...] | None
    span: Span


@record(frozen=False)
class Block:
    kind: str
    name: str
    attributes: dict[str, Value] = field(default_factory=dict)


def builds(text: str, path: Path) -> list[Build]:
    blocks = parse_json(text) if path.suffix == ".json" else parse_hcl(text)
    if blocks is None:
        return []
    variables = {
        b.name: b.attributes["default"].data
        for b in blocks
        if b.kind == "variable"
        and "default" in b.attributes
        and isinstance(b.attributes["default"].data, str)
    }
    targets = {b.name: b for b in blocks if b.kind == "target"}
    grouped = {
        member
        for b in blocks
        if b.kind == "group"
        for member in _strings(b.attributes.get("targets"))
    }
    parents = {p for t in targets.values() for p in _strings(t.attributes.get("inherits"))}
    out: dict[tuple[object, ...], Build] = {}
    for name in targets:
        if name in parents and name not in grouped:
            continue  # a template other targets inherit from, not built by itself
        attrs = _resolved(name, targets, set())
        platforms_value = attrs.get("platforms")
        raw = _strings(platforms_value)
        expanded = [expand_variables(p, variables) for p in raw]
        if platforms_value is None or not raw or any(p is None for p in expanded):
            continue
        platforms = parse_platforms(",".join(p for p in expanded if p is not None))
        if platforms is None:
            continue
        context_raw = _string(attrs.get("context"), variables, ".")
        file_raw = _string(attrs.get("dockerfile"), variables, "Dockerfile")
        context = dockerfile = None
        if context_raw is not None and "://" not in context_raw:
            context = path.parent / context_raw
            dockerfile = context / file_raw if file_raw is not None else None
        build = Build(
            BAKE_TARGET,
            f"target '{name}'",
            platforms,
            platforms_value.span,
            ASSUMED_HOST,
            None,
            context,
            dockerfile,
        )
        out.setdefault((build.platforms_span, build.dockerfile), build)
    return list(out.values())


def _resolved(name: str, targets: dict[str, Block], seen: set[str]) -> dict[str, Value]:
    """The target's attributes after ``inherits`` (later parents and the target win)."""
    target = targets.get(name)
    if target is None or name in seen:
        return {}
    seen = seen | {name}
    out: dict[str, Value] = {}
    for parent in _strings(target.attributes.get("inherits")):
        out.update(_resolved(parent, targets, seen))
    out.update(target.attributes)
    return out


def _strings(value: Value | None) -> tuple[str, ...]:
    if value is None or value.data is None:
        return ()
    return (value.data,) if isinstance(value.data, str) else value.data


def _string(value: Value | None, variables: dict[str, str], default: str) -> str | None:
    if value is None:
        return default
    if not isinstance(value.data, str):
        return None
    return expand_variables(value.data, variables)


# --- JSON -------------------------------------------------------------------------------------


def parse_json(text: str) -> list[Block] | None:
    try:
        json.loads(text)
    except ValueError:
        return None
    # JSON is YAML; the YAML composer keeps positions that json.loads drops.
    root = ys.compose(text)
    if not isinstance(root, ys.MappingNode):
        return None
    out = []
    for kind, section in ys.items(root):
        for name, body in ys.items(section):
            block = Block(kind, name)
            for key, node in ys.items(body):
                if isinstance(node, ys.ScalarNode):
                    data: str | tuple[str, ...] | None = node.value
                elif isinstance(node, ys.SequenceNode):
                    data = tuple(ys.strings(node))
                else:
                    data = None
                block.attributes[key] = Value(data, ys.span(node, text))
            out.append(block)
    return out


# --- HCL --------------------------------------------------------------------------------------

_TOKEN = lazy_compile(
    r"""
    (?P<space>[ \t\r]+)
  | (?P<comment>\#[^\n]*|//[^\n]*|/\*.*?\*/)
  | (?P<newline>\n)
  | (?P<heredoc><<-?(?P<tag>[A-Za-z_]\w*)[ \t]*\n(?:.*?\n)??[ \t]*(?P=tag)[ \t]*(?=\n|\Z))
  | (?P<string>"(?:[^"\\$\n]|\\.|\$\{(?:[^{}"]|"(?:[^"\\]|\\.)*")*\}|\$(?!\{))*")
  | (?P<ident>[A-Za-z_][\w-]*)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<punct>[{}\[\]()=,:?.!<>+\-*/%&|])
    """,
    re.VERBOSE | re.DOTALL,
)


@record
class _Token:
    kind: str
    text: str
    span: Span


def _tokens(text: str) -> list[_Token] | None:
    out = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            return None
        kind = m.lastgroup
        if kind == "tag":
            kind = "heredoc"
        assert kind is not None
        if kind not in ("space", "comment"):
            out.append(_Token(kind, m.group(), Span(m.start(), m.end())))
        pos = m.end()
    return out


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def _unescape(literal: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group()), literal[1:-1])


def parse_hcl(text: str) -> list[Block] | None:
    """The blocks of an HCL bake file; None when it does not tokenize or nest."""
    tokens = _tokens(text)
    if tokens is None:
        return None
    out: list[Block] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.kind == "newline":
            i += 1
            continue
        if tok.kind != "ident":
            return None
        j = i + 1
        labels = []
        while j < len(tokens) and tokens[j].kind in ("string", "ident"):
            labels.append(
                _unescape(tokens[j].text) if tokens[j].kind == "string" else tokens[j].text
            )
            j += 1
        if j < len(tokens) and tokens[j].text == "{":
            end = _closing(tokens, j)
            if end is None:
                return None
            block = Block(tok.text, labels[0] if labels else "")
            block.attributes = dict(_attributes(tokens[j + 1 : end]))
            out.append(block)
            i = end + 1
        elif not labels and j < len(tokens) and tokens[j].text == "=":
            i = _value_end(tokens, j + 1)  # a top-level attribute: not used by bake targets
        else:
            return None
    return out


def _closing(tokens: list[_Token], start: int) -> int | None:
    depth = 0
    for k in range(start, len(tokens)):
        if tokens[k].text in ("{", "[", "("):
            depth += 1
        elif tokens[k].text in ("}", "]", ")"):
            depth -= 1
            if depth == 0:
                return k if tokens[k].text == "}" else None
    return None


def _value_end(tokens: list[_Token], start: int) -> int:
    """Index just after an attribute's expression: the newline at bracket depth 0."""
    depth = 0
    k = start
    while k < len(tokens):
        t = tokens[k]
        if t.text in ("{", "[", "("):
            depth += 1
        elif t.text in ("}", "]", ")"):
            depth -= 1
        elif t.kind == "newline" and depth == 0:
            break
        k += 1
    return k


def _attributes(tokens: list[_Token]) -> Iterator[tuple[str, Value]]:
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.kind == "ident" and i + 1 < len(tokens) and tokens[i + 1].text == "=":
            end = _value_end(tokens, i + 2)
            expr = tokens[i + 2 : end]
            if expr:
                yield tok.text, Value(_data(expr), Span(expr[0].span.start, expr[-1].span.end))
            i = end
        elif tok.text == "{":
            i = (_closing(tokens, i) or len(tokens)) + 1  # a nested block: not read
        else:
            i += 1


def _data(expr: list[_Token]) -> str | tuple[str, ...] | None:
    if len(expr) == 1 and expr[0].kind == "string":
        return _unescape(expr[0].text)
    if expr[0].text == "[" and expr[-1].text == "]":
        inner = [t for t in expr[1:-1] if t.kind != "newline"]
        items = [t for t in inner if t.text != ","]
        commas = len(inner) - len(items)
        if all(t.kind == "string" for t in items) and commas in (len(items) - 1, len(items)):
            return tuple(_unescape(t.text) for t in items)
    return None
