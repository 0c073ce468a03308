"""The concrete syntax tree of a Dockerfile.

Nodes are immutable views over the file's text: every node knows its exact
span, and the top-level items partition the text, so printing them back
reproduces the input byte for byte (see :meth:`Dockerfile.to_source`).
Analysis never rewrites nodes; fixes are text edits over spans, like ruff's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from dockerarch.syntax.positions import LineIndex, SourceMap, Span


@dataclass(frozen=True, slots=True)
class Word:
    """A whitespace-delimited argument.

    ``text`` is the argument as BuildKit's parser sees it (quotes kept);
    ``value`` has quotes and escapes removed, variables left unexpanded.
    """

    text: str
    value: str
    span: Span


@dataclass(frozen=True, slots=True)
class Flag:
    """A ``--name=value`` flag such as ``--platform=$BUILDPLATFORM``."""

    name: str
    value: str | None
    text: str
    span: Span
    value_span: Span | None


@dataclass(frozen=True, slots=True)
class Heredoc:
    """A here-document attached to RUN, COPY or ADD."""

    name: str
    chomp: bool
    expand: bool
    fd: int
    marker: Span
    body: str
    body_span: Span
    terminator: Span | None


@dataclass(frozen=True, slots=True)
class KeyValue:
    """One ``key=value`` (or legacy ``key value``) pair of ENV, LABEL or ARG."""

    key: str
    value: str | None
    key_span: Span
    value_span: Span | None
    span: Span


@dataclass(frozen=True, slots=True)
class Comment:
    span: Span
    text: str


@dataclass(frozen=True, slots=True)
class Blank:
    span: Span


@dataclass(frozen=True, slots=True)
class Directive:
    """A parser directive (``# syntax=``, ``# escape=``, ``# check=``)."""

    span: Span
    name: str
    value: str
    value_span: Span


@dataclass(frozen=True, slots=True)
class Instruction:
    """One instruction with everything BuildKit reads from it.

    ``span`` covers whole physical lines: the first line, continuation lines
    (including comment and blank lines inside the continuation), heredoc
    bodies and terminators, and the final line terminator.
    """

    span: Span
    keyword: str
    keyword_span: Span
    flags: tuple[Flag, ...]
    #: The logical text after the flags, continuations joined, trimmed.
    args: str
    args_map: SourceMap
    #: Exec form (a JSON array of strings), else None.
    json: tuple[Word, ...] | None
    heredocs: tuple[Heredoc, ...]
    start_line: int
    end_line: int
    #: The ONBUILD trigger.
    inner: Instruction | None = None
    #: Problems BuildKit would reject this instruction for, each with the text it is about.
    errors: tuple[tuple[str, Span], ...] = ()
    #: Spans of comment lines inside the continuation.
    comments: tuple[Span, ...] = field(default=())

    @property
    def name(self) -> str:
        """The upper-case instruction name (``RUN``)."""
        return self.keyword.upper()

    @property
    def args_span(self) -> Span:
        return self.args_map.span_to_source(0, len(self.args))

    def flag(self, name: str) -> Flag | None:
        for f in self.flags:
            if f.name == name:
                return f
        return None

    def words(self) -> list[Word]:
        """Shell-form arguments split on whitespace, with positions."""
        return split_whitespace(self.args, self.args_map)

    def quoted_words(self, escape: str = "\\") -> list[Word]:
        """Arguments split like BuildKit's parseWords (quotes group words)."""
        return split_quoted(self.args, self.args_map, escape)

    def key_values(self, escape: str = "\\") -> list[KeyValue]:
        """ENV/LABEL/ARG pairs (the legacy ``ENV key value`` form included)."""
        return key_values(self, escape)


Item = Directive | Comment | Blank | Instruction


@dataclass(frozen=True, slots=True)
class Dockerfile:
    text: str
    items: tuple[Item, ...]
    escape: str
    bom: bool
    lines: LineIndex
    #: Whole-file problems (a repeated or invalid directive, no instructions).
    errors: tuple[tuple[str, Span], ...] = ()

    def to_source(self) -> str:
        return ("\ufeff" if self.bom else "") + "".join(
            self.text[i.span.start : i.span.end] for i in self.items
        )

    @property
    def instructions(self) -> list[Instruction]:
        return [i for i in self.items if isinstance(i, Instruction)]

    @property
    def directives(self) -> list[Directive]:
        return [i for i in self.items if isinstance(i, Directive)]

    def directive(self, name: str) -> Directive | None:
        for d in self.directives:
            if d.name == name:
                return d
        return None

    def walk(self) -> Iterator[Instruction]:
        """Every instruction, ONBUILD triggers included after their wrapper."""
        for ins in self.instructions:
            yield ins
            if ins.inner is not None:
                yield ins.inner


_WS = frozenset(" \t\v\f\r")


def split_whitespace(text: str, smap: SourceMap) -> list[Word]:
    """BuildKit's reWhitespace split (``[\\t\\v\\f\\r ]+``)."""
    out: list[Word] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in _WS:
            i += 1
        if i >= n:
            break
        j = i
        while j < n and text[j] not in _WS:
            j += 1
        w = text[i:j]
        out.append(Word(w, unquote(w), smap.span_to_source(i, j)))
        i = j
    return out


def go_isspace(ch: str) -> bool:
    """Go's unicode.IsSpace, which differs from str.isspace on \\x1c-\\x1f."""
    return ch in " \t\n\v\f\r\x85\xa0" or (ch > "\xff" and ch.isspace())


def split_quoted(text: str, smap: SourceMap, escape: str = "\\") -> list[Word]:
    """BuildKit's parseWords: quotes group, the escape char escapes."""
    out: list[Word] = []
    n = len(text)
    i = 0
    while i < n:
        while i < n and go_isspace(text[i]):
            i += 1
        if i >= n:
            break
        start = i
        quote = ""
        blank_ok = False  # a quoted empty string is a word; a lone escape is not
        buf: list[str] = []
        while i < n:
            ch = text[i]
            if not quote:
                if go_isspace(ch):
                    break
                if ch in "'\"":
                    quote = ch
                    blank_ok = True
                elif ch == escape:
                    if i + 1 == n:
                        i += 1
                        continue
                    buf.append(ch)
                    i += 1
                    ch = text[i]
                buf.append(ch)
                i += 1
                continue
            if ch == quote:
                quote = ""
            elif ch == escape and quote != "'":
                if i + 1 == n:
                    i += 1
                    continue
                buf.append(ch)
                i += 1
                ch = text[i]
            buf.append(ch)
            i += 1
        raw = "".join(buf)
        if raw or blank_ok:
            out.append(Word(raw, unquote(raw, escape), smap.span_to_source(start, i)))
    return out


def unquote(word: str, escape: str = "\\") -> str:
    """Remove shell quotes and escapes, leaving ``$VAR`` references as written."""
    out: list[str] = []
    i, n = 0, len(word)
    quote = ""
    while i < n:
        ch = word[i]
        if quote == "'":
            if ch == "'":
                quote = ""
            else:
                out.append(ch)
        elif ch == escape and i + 1 < n and (not quote or word[i + 1] in f'"{escape}$'):
            i += 1
            out.append(word[i])
        elif ch in "'\"" and (not quote or ch == quote):
            quote = "" if quote else ch
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def key_values(ins: Instruction, escape: str = "\\") -> list[KeyValue]:
    words = ins.quoted_words(escape)
    if not words:
        return []
    if ins.name != "ARG" and "=" not in words[0].text:
        # Legacy ``ENV key value with spaces``: the rest of the line is the value.
        key = words[0]
        rest_start = len(ins.args) - len(ins.args[len(key.text) :].lstrip(" \t\v\f\r"))
        if rest_start >= len(ins.args):
            return [KeyValue(key.value, None, key.span, None, key.span)]
        vspan = ins.args_map.span_to_source(rest_start, len(ins.args))
        return [
            KeyValue(
                key.value,
                unquote(ins.args[rest_start:], escape),
                key.span,
                vspan,
                Span(key.span.start, vspan.end),
            )
        ]
    out: list[KeyValue] = []
    for w in words:
        if "=" not in w.text:
            out.append(KeyValue(w.value, None, w.span, None, w.span))
            continue
        k, _, v = w.text.partition("=")
        key_end = w.span.start + len(k)
        # Words never span continuation gaps inside a key in practice; fall back
        # to the word's span when the key crosses one.
        key_span = Span(w.span.start, min(key_end, w.span.end))
        value_span = Span(min(key_end + 1, w.span.end), w.span.end)
        out.append(KeyValue(unquote(k, escape), unquote(v, escape), key_span, value_span, w.span))
    return out
