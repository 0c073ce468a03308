"""Shell words: UTF-8 byte offsets to str offsets, quote removal, literal pieces, globs."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from enum import IntEnum

from dockerarch.lazyre import lazy_compile
from dockerarch.shell.model import Word
from dockerarch.syntax.positions import SourceMap, Span

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TypeAlias

    import tree_sitter as ts

EXPANSION_TYPES = frozenset(
    {
        "simple_expansion",
        "expansion",
        "command_substitution",
        "process_substitution",
        "arithmetic_expansion",
    }
)
# Nodes that are one word when they appear as an operand or argument.
WORD_TYPES = EXPANSION_TYPES | {
    "word",
    "string",
    "raw_string",
    "ansi_c_string",
    "translated_string",
    "concatenation",
    "number",
    "extglob_pattern",
    "regex",
    "brace_expression",
    "array",
}
_DQ_TYPES = frozenset({"string", "translated_string"})
_NESTED = _DQ_TYPES | {"raw_string", "ansi_c_string", "concatenation"}
_NON_ASCII = lazy_compile(r"[^\x00-\x7f]")
_SURROGATE = lazy_compile(r"[\ud800-\udfff]")


class Offsets:
    """Maps tree-sitter's UTF-8 byte offsets back to str offsets.

    Only non-ASCII characters shift the two apart, so the map stores, for each
    of them, its byte offset and the extra bytes accumulated through it.
    """

    __slots__ = ("_extra", "_starts")

    def __init__(self, text: str) -> None:
        starts: list[int] = []
        extra: list[int] = []
        total = 0
        for m in _NON_ASCII.finditer(text):
            i = m.start()
            cp = ord(text[i])
            starts.append(i + total)
            total += 1 if cp < 0x800 else 2 if cp < 0x10000 else 3
            extra.append(total)
        self._starts = starts
        self._extra = extra

    def char(self, byte: int) -> int:
        k = bisect_left(self._starts, byte) - 1
        return byte - self._extra[k] if k >= 0 else byte


# tree-sitter-bash 0.25 crashes the process, more often than not, on `{` followed by
# a character from the tag or private-use planes (U+E0000 and up); the planes from
# U+40000 hold no assigned character a script would need. Each becomes U+10000, four
# UTF-8 bytes like the original, so byte offsets still map to the real text.
_HIGH_PLANES = lazy_compile("[\U00040000-\U0010ffff]")


def encode(text: str) -> bytes:
    """UTF-8 for tree-sitter; a lone surrogate becomes U+FFFD (also three bytes)."""
    if not text.isascii():
        text = _HIGH_PLANES.sub("\U00010000", text)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text).encode("utf-8")


class Source:
    """The script text with its offset maps, shared by everything built from one parse.

    Mapping is the hot path (several spans per word), so the common cases (ASCII
    text, one source segment) skip the general machinery; results equal
    ``SourceMap.span_to_source``.
    """

    __slots__ = ("_ends", "_keys", "_lens", "_shift", "_srcs", "ascii", "offsets", "text")

    def __init__(self, text: str, smap: SourceMap) -> None:
        self.text = text
        self.offsets = Offsets(text)
        #: Byte offsets are str offsets (plain_word reads them itself).
        self.ascii = text.isascii()
        segs = smap.segments
        self._keys = [s.logical for s in segs]
        self._srcs = [s.source for s in segs]
        self._lens = [s.length for s in segs]
        self._ends = [s.logical + s.length for s in segs]
        one = len(segs) == 1 and segs[0].logical == 0 and segs[0].length >= len(text)
        self._shift = segs[0].source if one else None

    def start(self, node: ts.Node) -> int:
        b: int = node.start_byte
        return b if self.ascii else self.offsets.char(b)

    def end(self, node: ts.Node) -> int:
        b: int = node.end_byte
        return b if self.ascii else self.offsets.char(b)

    def node_text(self, node: ts.Node) -> str:
        return self.text[self.start(node) : self.end(node)]

    def _to_source(self, logical: int) -> int:
        keys = self._keys
        if not keys:
            return 0
        i = max(bisect_right(keys, logical) - 1, 0)
        return self._srcs[i] + min(logical - keys[i], self._lens[i])

    def span(self, start: int, end: int) -> Span:
        shift = self._shift
        if shift is not None:
            return Span(start + shift, max(start, end) + shift)
        s = self._to_source(start)
        if end <= start:
            return Span(s, s)
        return Span(s, max(s, self._to_source(end - 1) + 1))

    def node_span(self, node: ts.Node) -> Span:
        return self.span(self.start(node), self.end(node))

    def shift_of(self, start: int, end: int) -> int | None:
        """What maps ``text[start:end]`` (not empty) to the source when it lies in one
        segment, as most words do; None when it spans a jump (a line continuation)."""
        shift = self._shift
        if shift is not None:
            return shift
        ends = self._ends
        i = bisect_right(ends, start)
        if i < len(ends) and self._keys[i] <= start and end <= ends[i]:
            return self._srcs[i] - self._keys[i]
        return None

    def pieces(self, start: int, end: int) -> list[tuple[str, Span]]:
        """``text[start:end]`` cut where the source map jumps, each piece with its span."""
        if self._shift is not None:
            return [(self.text[start:end], self.span(start, end))] if start < end else []
        out: list[tuple[str, Span]] = []
        ends, keys, srcs = self._ends, self._keys, self._srcs
        i = bisect_right(ends, start)
        while start < end:
            while i < len(ends) and ends[i] <= start:
                i += 1  # empty segments
            if i < len(ends) and keys[i] <= start:
                # The piece lies inside segment i, which maps it by one shift:
                # what span() computes, without its two searches.
                cut = min(end, ends[i])
                shift = srcs[i] - keys[i]
                out.append((self.text[start:cut], Span(start + shift, cut + shift)))
            else:
                cut = min(end, ends[i]) if i < len(ends) else end
                out.append((self.text[start:cut], self.span(start, cut)))
            start = cut
        return out


class Kind(IntEnum):
    UNQUOTED = 0
    DOUBLE = 1
    SINGLE = 2
    ANSI = 3
    EXPANSION = 4


# (kind, start, end, node): a literal stretch or one expansion, in str offsets.
Atom: TypeAlias = "tuple[Kind, int, int, ts.Node | None]"


def atoms(src: Source, node: ts.Node) -> list[Atom]:
    """The word cut into literal stretches (by quoting) and expansions."""
    out: list[Atom] = []
    # Items are nodes still to cut, or literal gaps (node None). Nesting inside
    # one word is shallow (concatenation > string > expansion) and expansions
    # are not entered.
    stack: list[Atom] = [(Kind.UNQUOTED, src.start(node), src.end(node), node)]
    while stack:
        kind, start, end, n = stack.pop()
        if n is None:
            if start < end:
                out.append((kind, start, end, None))
            continue
        t = n.type
        if t in EXPANSION_TYPES:
            out.append((Kind.EXPANSION, start, end, n))
        elif t in _DQ_TYPES:
            kids = n.children
            lo = src.end(kids[0]) if kids and not kids[0].is_named else start
            hi = src.start(kids[-1]) if len(kids) > 1 and kids[-1].type == '"' else end
            stack.extend(reversed(_fill(src, kids, lo, hi, Kind.DOUBLE)))
        elif t == "raw_string":
            hi = end - 1 if end - start >= 2 and src.text[end - 1] == "'" else end
            stack.append((Kind.SINGLE, start + 1, hi, None))
        elif t == "ansi_c_string":
            hi = end - 1 if end - start >= 3 and src.text[end - 1] == "'" else end
            stack.append((Kind.ANSI, start + 2, hi, None))
        else:
            stack.extend(reversed(_fill(src, n.children, start, end, kind)))
    return out


def _fill(src: Source, kids: list[ts.Node], lo: int, hi: int, kind: Kind) -> list[Atom]:
    """Children of interest in ``[lo, hi)``, with the gaps between them as literals."""
    out: list[Atom] = []
    cursor = lo
    for k in kids:
        if k.type not in EXPANSION_TYPES and k.type not in _NESTED:
            continue
        ks, ke = src.start(k), src.end(k)
        if ks < cursor or ke > hi:
            continue
        if ks > cursor:
            out.append((kind, cursor, ks, None))
        out.append((kind, ks, ke, k))
        cursor = ke
    if cursor < hi:
        out.append((kind, cursor, hi, None))
    return out


_UNQUOTE = lazy_compile(r"\\(\n|.)", re.S)
_UNQUOTE_DQ = lazy_compile(r'\\([$`"\\\n])')
_ANSI_ESCAPE = lazy_compile(
    r"\\(?:([abeEfnrtv\\'\"?])|x([0-9A-Fa-f]{1,2})|u([0-9A-Fa-f]{1,4})"
    r"|U([0-9A-Fa-f]{1,8})|([0-7]{1,3})|c(.))",
    re.S,
)
_ANSI_SIMPLE = {
    "a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b", "f": "\f", "n": "\n",
    "r": "\r", "t": "\t", "v": "\v", "\\": "\\", "'": "'", '"': '"', "?": "?",
}  # fmt: skip


def _drop_backslash(m: re.Match[str]) -> str:
    c = m.group(1)
    return "" if c == "\n" else c


def _ansi(m: re.Match[str]) -> str:
    simple, hex2, u4, u8, octal, ctrl = m.groups()
    if simple is not None:
        return _ANSI_SIMPLE[simple]
    if ctrl is not None:
        return chr(ord(ctrl) & 0x1F)
    num = hex2 or u4 or u8
    code = int(num, 16) if num else int(octal, 8)
    return chr(code) if code <= 0x10FFFF else m.group(0)


def literal_value(kind: Kind, raw: str) -> str:
    """A literal stretch after quote removal."""
    if kind is Kind.UNQUOTED:
        return _UNQUOTE.sub(_drop_backslash, raw) if "\\" in raw else raw
    if kind is Kind.DOUBLE:
        return _UNQUOTE_DQ.sub(_drop_backslash, raw) if "\\" in raw else raw
    if kind is Kind.ANSI:
        return _ANSI_ESCAPE.sub(_ansi, raw)
    return raw


def static_value(src: Source, parts: list[Atom]) -> str | None:
    """The word after quote removal, or None if it has an expansion."""
    out: list[str] = []
    for kind, start, end, _ in parts:
        if kind is Kind.EXPANSION:
            return None
        out.append(literal_value(kind, src.text[start:end]))
    return "".join(out)


def expansion_name(src: Source, node: ts.Node) -> str | None:
    """The variable a ``$x`` / ``${x...}`` expansion reads."""
    if node.type not in ("simple_expansion", "expansion"):
        return None
    for k in node.named_children:
        if k.type in ("variable_name", "special_variable_name"):
            return src.node_text(k)
    return None


def make_word(
    src: Source, node: ts.Node, parts: list[Atom], per_arch: Mapping[str, str] | None = None
) -> Word:
    start, end = src.start(node), src.end(node)
    pieces: list[tuple[str, Span]] = []
    names: list[str] = []
    for kind, a, b, n in parts:
        if kind is Kind.EXPANSION:
            name = None if n is None else expansion_name(src, n)
            if name is not None:
                names.append(name)
        else:
            pieces.extend(src.pieces(a, b))
    return Word(
        text=src.text[start:end],
        value=static_value(src, parts),
        span=src.span(start, end),
        literal_pieces=tuple(pieces),
        expansions=tuple(names),
        per_arch=per_arch,
    )


_PLAIN_TYPES = frozenset({"word", "number"})


def plain_word(src: Source, node: ts.Node) -> Word | None:
    """Fast path for the commonest word: one bare token without backslashes."""
    if node.type not in _PLAIN_TYPES:
        return None
    start: int = node.start_byte
    end: int = node.end_byte
    if not src.ascii:
        start, end = src.offsets.char(start), src.offsets.char(end)
    text = src.text[start:end]
    if "\\" in text:
        return None
    shift = src.shift_of(start, end) if start < end else None
    if shift is not None:
        # One literal piece: what pieces() and span() give, without building a list.
        span = Span(start + shift, end + shift)
        return Word(text, text, span, ((text, span),))
    pieces = src.pieces(start, end)
    span = pieces[0][1] if len(pieces) == 1 else src.span(start, end)
    return Word(text, text, span, tuple(pieces))


def empty_word(src: Source, at: int) -> Word:
    return Word(text="", value="", span=src.span(at, at))


def glob_regex(src: Source, parts: list[Atom]) -> re.Pattern[str] | None:
    """A shell pattern (``case`` item, ``[[ x == pat ]]``) as a regex; None if it
    has an expansion or uses extglob/character classes we do not model."""
    out: list[str] = []
    for kind, start, end, _ in parts:
        if kind is Kind.EXPANSION:
            return None
        raw = src.text[start:end]
        if kind is Kind.UNQUOTED:
            translated = _glob(raw)
            if translated is None:
                return None
            out.append(translated)
        else:
            out.append(re.escape(literal_value(kind, raw)))
    try:
        return re.compile("".join(out), re.S)
    except re.error:
        return None


def _glob(pattern: str) -> str | None:
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        i += 1
        if c == "\\":
            if i < n:
                out.append(re.escape(pattern[i]))
                i += 1
            else:
                out.append(re.escape(c))
        elif c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c in "@+!" and i < n and pattern[i] == "(":
            return None
        elif c == "[":
            j = i + 1 if i < n and pattern[i] in "!^" else i
            if j < n and pattern[j] == "]":
                j += 1
            close = pattern.find("]", j)
            if close == -1:
                out.append(re.escape(c))
                continue
            body = pattern[i:close]
            if "[:" in body or "\\" in body:
                return None
            negate = body[:1] in ("!", "^")
            if negate:
                body = body[1:]
            cls = "".join("-" if ch == "-" else re.escape(ch) for ch in body)
            out.append("[" + ("^" if negate else "") + cls + "]")
            i = close + 1
        else:
            out.append(re.escape(c))
    return "".join(out)
