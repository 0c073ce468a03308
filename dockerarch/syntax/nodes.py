"""The concrete syntax tree of a Dockerfile.

Nodes are immutable views over the file's text: every node knows its exact
span, and the top-level items partition the text, so printing them back
reproduces the input byte for byte (see :meth:`Dockerfile.to_source`).
Analysis never rewrites nodes; fixes are text edits over spans, like ruff's.
"""

from __future__ import annotations

from collections.abc import Iterator

from dockerarch.lazyre import lazy_compile
from dockerarch.records import field, record
from dockerarch.syntax.positions import LineIndex, SourceMap, Span


@record(slots=True)
class Word:
    """A whitespace-delimited argument.

    ``text`` is the argument as BuildKit's parser sees it (quotes kept);
    ``value`` has quotes and escapes removed, variables left unexpanded.
    """

    text: str
    value: str
    span: Span

    def moved(self, delta: int) -> Word:
        """The same word ``delta`` characters further on (see Span.moved)."""
        return Word(self.text, self.value, self.span.moved(delta))


@record(slots=True)
class Flag:
    """A ``--name=value`` flag such as ``--platform=$BUILDPLATFORM``."""

    name: str
    value: str | None
    text: str
    span: Span
    value_span: Span | None

    def moved(self, delta: int) -> Flag:
        value_span = self.value_span
        return Flag(
            self.name,
            self.value,
            self.text,
            self.span.moved(delta),
            None if value_span is None else value_span.moved(delta),
        )


@record(slots=True)
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

    def moved(self, delta: int) -> Heredoc:
        terminator = self.terminator
        return Heredoc(
            self.name,
            self.chomp,
            self.expand,
            self.fd,
            self.marker.moved(delta),
            self.body,
            self.body_span.moved(delta),
            None if terminator is None else terminator.moved(delta),
        )


@record(slots=True)
class KeyValue:
    """One ``key=value`` (or legacy ``key value``) pair of ENV, LABEL or ARG."""

    key: str
    value: str | None
    key_span: Span
    value_span: Span | None
    span: Span

    def moved(self, delta: int) -> KeyValue:
        value_span = self.value_span
        return KeyValue(
            self.key,
            self.value,
            self.key_span.moved(delta),
            None if value_span is None else value_span.moved(delta),
            self.span.moved(delta),
        )


@record(slots=True)
class Comment:
    span: Span
    text: str


@record(slots=True)
class Blank:
    span: Span


@record(slots=True)
class Directive:
    """A parser directive (``# syntax=``, ``# escape=``, ``# check=``)."""

    span: Span
    name: str
    value: str
    value_span: Span


class _Memo:
    """Splits of an instruction's arguments, computed on first use: rules ask for
    the same words and pairs of the same instruction many times over. The
    quoted splits are kept for one escape character, the file's."""

    __slots__ = ("key_values", "pending", "quoted", "words")

    def __init__(self) -> None:
        self.words: tuple[Word, ...] | None = None
        self.quoted: tuple[str, tuple[Word, ...]] | None = None
        self.key_values: tuple[str, tuple[KeyValue, ...]] | None = None
        #: How far the instruction moved since these splits were made: they are moved
        #: when next used (most instructions an edit moves are not looked at again).
        self.pending = 0

    def moved(self, delta: int) -> _Memo:
        """The same splits for the instruction ``delta`` characters further on: cheaper than
        splitting again the instructions an edit moved (the LSP moves a tail of them per
        keystroke), and nothing is copied until they are used."""
        memo = _Memo()
        memo.words, memo.quoted, memo.key_values = self.words, self.quoted, self.key_values
        memo.pending = self.pending + delta
        return memo

    def settle(self) -> None:
        """Move the splits to where the instruction is now."""
        delta, self.pending = self.pending, 0
        if self.words is not None:
            self.words = tuple([w.moved(delta) for w in self.words])
        if self.quoted is not None:
            escape, words = self.quoted
            self.quoted = (escape, tuple([w.moved(delta) for w in words]))
        if self.key_values is not None:
            escape, pairs = self.key_values
            self.key_values = (escape, tuple([kv.moved(delta) for kv in pairs]))


@record(slots=True)
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
    #: The upper-case instruction name (``RUN``); derived from ``keyword``.
    name: str = field(init=False, repr=False, compare=False)
    # Made on first use: most instructions are never split, and every object
    # a tree holds is one more for the garbage collector to scan.
    _memo: _Memo | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Read for nearly every instruction by nearly every rule: computed once.
        object.__setattr__(self, "name", self.keyword.upper())

    @property
    def args_span(self) -> Span:
        return self.args_map.span_to_source(0, len(self.args))

    def flag(self, name: str) -> Flag | None:
        for f in self.flags:
            if f.name == name:
                return f
        return None

    # The splits below are kept as tuples and handed out as fresh lists, so a
    # caller that edits its list cannot change what the next caller sees.

    def _memoized(self) -> _Memo:
        memo = self._memo
        if memo is None:
            memo = _Memo()
            object.__setattr__(self, "_memo", memo)
        elif memo.pending:
            memo.settle()
        return memo

    def words(self) -> list[Word]:
        """Shell-form arguments split on whitespace, with positions."""
        memo = self._memoized()
        if memo.words is None:
            memo.words = tuple(split_whitespace(self.args, self.args_map))
        return list(memo.words)

    def quoted_words(self, escape: str = "\\") -> list[Word]:
        """Arguments split like BuildKit's parseWords (quotes group words)."""
        memo = self._memoized()
        if memo.quoted is None or memo.quoted[0] != escape:
            memo.quoted = (escape, tuple(split_quoted(self.args, self.args_map, escape)))
        return list(memo.quoted[1])

    def key_values(self, escape: str = "\\") -> list[KeyValue]:
        """ENV/LABEL/ARG pairs (the legacy ``ENV key value`` form included)."""
        memo = self._memoized()
        if memo.key_values is None or memo.key_values[0] != escape:
            memo.key_values = (escape, tuple(key_values(self, escape)))
        return list(memo.key_values[1])


Item = Directive | Comment | Blank | Instruction


@record(slots=True)
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


_NOT_WS = lazy_compile(r"[^ \t\v\f\r]+")
# Go's unicode.IsSpace within ASCII.
_NOT_ASCII_SPACE = lazy_compile(r"[^ \t\n\v\f\r]+")


def split_whitespace(text: str, smap: SourceMap) -> list[Word]:
    """BuildKit's reWhitespace split (``[\\t\\v\\f\\r ]+``)."""
    return [
        Word(m.group(), unquote(m.group()), smap.span_to_source(m.start(), m.end()))
        for m in _NOT_WS.finditer(text)
    ]


#: A character class of what go_isspace accepts (tests/test_syntax.py compares every code
#: point), for scanning a run of spaces with one regex call instead of a call per character.
GO_SPACE = "[ \\t\\n\\v\\f\\r\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"


def go_isspace(ch: str) -> bool:
    """Go's unicode.IsSpace, which differs from str.isspace on \\x1c-\\x1f."""
    return ch in " \t\n\v\f\r\x85\xa0" or (ch > "\xff" and ch.isspace())


def split_quoted(text: str, smap: SourceMap, escape: str = "\\") -> list[Word]:
    """BuildKit's parseWords: quotes group, the escape char escapes."""
    if text.isascii() and "'" not in text and '"' not in text and escape not in text:
        # Nothing to group or escape (most ENV, LABEL and ARG lines): words are the
        # runs between spaces, taken as they are.
        return [
            Word(m.group(), m.group(), smap.span_to_source(m.start(), m.end()))
            for m in _NOT_ASCII_SPACE.finditer(text)
        ]
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
    if "'" not in word and '"' not in word and escape not in word:
        return word
    return _unquoted(word, escape, keep_trailing_escape=True)[0]


def lex_word(word: str, escape: str = "\\") -> str | None:
    """``word`` as BuildKit's shell lexer reads it (heredoc names): like :func:`unquote`,
    but an escape with nothing after it is dropped, and an unterminated quote is an error
    (None)."""
    text, open_quote = _unquoted(word, escape, keep_trailing_escape=False)
    return None if open_quote else text


def _unquoted(word: str, escape: str, *, keep_trailing_escape: bool) -> tuple[str, bool]:
    """The word with quotes and escapes removed, and whether a quote was left open."""
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
        elif ch == escape and i + 1 == n and not quote and not keep_trailing_escape:
            pass
        elif ch in "'\"" and (not quote or ch == quote):
            quote = "" if quote else ch
        else:
            out.append(ch)
        i += 1
    return "".join(out), bool(quote)


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
