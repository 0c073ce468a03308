"""Offsets <-> LSP positions in the negotiated encoding.

dockerarch works on code-point offsets into a ``str``; an LSP position is a
line plus a column counted in UTF-16 code units (the protocol default),
UTF-8 bytes or UTF-32 code points, as negotiated at ``initialize``. Lines end
at ``\\n``, ``\\r\\n`` or a lone ``\\r`` (the LSP definition, not
``str.splitlines``, which also breaks at form feeds and U+2028).
"""

from __future__ import annotations

from bisect import bisect_right

from lsprotocol import types

from dockerarch.lazyre import lazy_compile
from dockerarch.syntax import Span

_LINE_BREAK = lazy_compile(r"\r\n|\r|\n")
UTF8 = types.PositionEncodingKind.Utf8.value
UTF16 = types.PositionEncodingKind.Utf16.value
UTF32 = types.PositionEncodingKind.Utf32.value


def _units(text: str, encoding: str) -> int:
    """Length of ``text`` in code units of ``encoding``."""
    if encoding == UTF32 or text.isascii():
        return len(text)
    if encoding == UTF8:
        return len(text.encode("utf-8", "surrogatepass"))
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _char_units(ch: str, encoding: str) -> int:
    cp = ord(ch)
    if encoding == UTF8:
        return 1 if cp < 0x80 else 2 if cp < 0x800 else 3 if cp < 0x10000 else 4
    if encoding == UTF16:
        return 2 if cp >= 0x10000 else 1
    return 1


class DocumentIndex:
    """Line starts of one text, for conversions in one position encoding."""

    __slots__ = ("_ends", "_starts", "encoding", "text")

    def __init__(self, text: str, encoding: str = UTF16) -> None:
        if encoding not in (UTF8, UTF16, UTF32):
            raise ValueError(f"unknown position encoding {encoding!r}")
        self.text = text
        self.encoding = encoding
        starts = [0]
        ends = []
        if "\r" in text:
            for m in _LINE_BREAK.finditer(text):
                ends.append(m.start())
                starts.append(m.end())
            ends.append(len(text))
        else:
            # Built for every version of a document as the user types: one split is
            # ~3x quicker than a regular expression search per line.
            pos = 0
            for line in text.split("\n"):
                pos += len(line)
                ends.append(pos)
                pos += 1
                starts.append(pos)
            starts.pop()
        self._starts = starts
        self._ends = ends

    @property
    def line_count(self) -> int:
        return len(self._starts)

    def point(self, offset: int) -> tuple[int, int]:
        """The 0-based line and the character of ``offset``, in this index's encoding."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect_right(self._starts, offset) - 1
        # An offset inside a \r\n pair sits at the end of its line.
        column_end = min(offset, self._ends[line])
        prefix = self.text[self._starts[line] : column_end]
        return line, _units(prefix, self.encoding)

    def position(self, offset: int) -> types.Position:
        line, character = self.point(offset)
        return types.Position(line=line, character=character)

    def range(self, span: Span) -> types.Range:
        return types.Range(start=self.position(span.start), end=self.position(span.end))

    def json_range(self, span: Span) -> dict[str, dict[str, int]]:
        """:meth:`range` in its JSON form (how diagnostics are sent, see lsp/convert.py)."""
        (line, character), (end_line, end_character) = self.point(span.start), self.point(span.end)
        return {
            "start": {"line": line, "character": character},
            "end": {"line": end_line, "character": end_character},
        }

    def offset(self, position: types.Position) -> int:
        """The offset of ``position``; past-the-end lines and columns clamp.

        A column inside a character (half of a surrogate pair, the middle of
        a UTF-8 sequence) resolves to that character's start.
        """
        if position.line >= len(self._starts):
            return len(self.text)
        start, end = self._starts[position.line], self._ends[position.line]
        line = self.text[start:end]
        if self.encoding == UTF32 or line.isascii():
            return start + min(position.character, len(line))
        units = 0
        for i, ch in enumerate(line):
            units += _char_units(ch, self.encoding)
            if units > position.character:
                return start + i
        return end

    def line_start(self, line: int) -> int:
        return self._starts[line]

    def line_text(self, line: int) -> str:
        return self.text[self._starts[line] : self._ends[line]]
