"""Offsets, positions and the maps between them.

Convention: everything inside dockerarch works on 0-based character offsets
into the decoded text (a ``str``). User-facing output uses 1-based lines and
1-based columns counted in Unicode code points, like ruff; the LSP adapter
converts to the negotiated encoding (UTF-16 by default) itself.
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate

from dockerarch.records import FROZEN, record


@record(slots=True)
class Position:
    """A point in a file: 1-based line, 1-based column (code points), 0-based offset."""

    line: int
    column: int
    offset: int


@record(slots=True)
class Span:
    """A half-open range of offsets ``[start, end)`` into a file's text."""

    start: int
    end: int

    if FROZEN:
        # Checked where records are held frozen, the test suite: ~120 spans are made a
        # file, and the check was 0.6% of a user's run.
        def __post_init__(self) -> None:
            if self.start > self.end:
                raise ValueError(f"span start {self.start} after end {self.end}")

    def __len__(self) -> int:
        return self.end - self.start

    def contains(self, offset: int) -> bool:
        return self.start <= offset < self.end

    def moved(self, delta: int) -> Span:
        """The same range ``delta`` characters further on (back, when negative)."""
        return Span(self.start + delta, self.end + delta)


def line_starts(lines: list[str]) -> list[int]:
    """Where each line starts, given ``text.split("\\n")``: as LineIndex counts them (the
    piece after the last newline is a line too, empty or not). Sums of lengths rather than a
    search per newline: the parent of a many-file run makes an index for every file."""
    return list(accumulate([len(line) + 1 for line in lines[:-1]], initial=0))


class LineIndex:
    """Maps offsets to line/column positions. Built once per text."""

    __slots__ = ("_starts", "_text")

    def __init__(self, text: str, starts: list[int] | None = None) -> None:
        """``starts``: where each line of ``text`` starts, if known (the parser knows)."""
        self._text = text
        self._starts = line_starts(text.split("\n")) if starts is None else starts

    @property
    def line_count(self) -> int:
        return len(self._starts)

    def position(self, offset: int) -> Position:
        offset = max(0, min(offset, len(self._text)))
        line = bisect_right(self._starts, offset) - 1
        return Position(line + 1, offset - self._starts[line] + 1, offset)

    def line_start(self, line: int) -> int:
        """Offset of the first character of 1-based ``line``."""
        return self._starts[line - 1]

    def line_text(self, line: int) -> str:
        """The text of 1-based ``line`` without its line terminator."""
        start = self._starts[line - 1]
        end = self._starts[line] if line < len(self._starts) else len(self._text)
        return self._text[start:end].rstrip("\r\n")

    def offset(self, line: int, column: int) -> int:
        """Inverse of :meth:`position` (1-based line and column)."""
        return self._starts[line - 1] + column - 1


@record(slots=True)
class Segment:
    """``length`` characters of logical text at ``logical`` come from ``source``."""

    logical: int
    source: int
    length: int


class SourceMap:
    """Maps offsets in a derived ("logical") string back to the source text.

    A Dockerfile instruction spread over continuation lines is joined into one
    logical line; a RUN heredoc body is a slice of the file. Either way the
    derived string is a concatenation of source slices, and this map takes an
    offset in the derived string to the offset of the same character in the
    file, so every diagnostic can point at exact source bytes.
    """

    __slots__ = ("_delta", "_keys", "_segments")

    def __init__(self, segments: list[Segment]) -> None:
        self._segments = segments
        self._keys = [s.logical for s in segments]
        #: Added to every source offset: a map moved with its instruction (after an
        #: edit before it) shares its segments instead of copying them.
        self._delta = 0

    @classmethod
    def identity(cls, source_start: int, length: int) -> SourceMap:
        return cls([Segment(0, source_start, length)])

    def moved(self, delta: int) -> SourceMap:
        """The same map for source text ``delta`` characters further on."""
        moved = SourceMap.__new__(SourceMap)
        moved._segments = self._segments
        moved._keys = self._keys
        moved._delta = self._delta + delta
        return moved

    @property
    def segments(self) -> list[Segment]:
        delta = self._delta
        if not delta:
            return self._segments
        return [Segment(s.logical, s.source + delta, s.length) for s in self._segments]

    def to_source(self, logical: int) -> int:
        """Source offset of logical offset ``logical``.

        An offset at the very end of a segment (an exclusive end) maps to the
        end of that segment's source slice, so spans never swallow the
        continuation characters between two segments.
        """
        segments = self._segments
        if not segments:
            return 0
        if len(segments) == 1:
            # A one-line instruction or a heredoc body: no segment to search for.
            seg = segments[0]
            return seg.source + self._delta + min(logical - seg.logical, seg.length)
        i = bisect_right(self._keys, logical) - 1
        if i < 0:
            i = 0
        seg = segments[i]
        if i > 0 and logical == seg.logical:
            prev = segments[i - 1]
            if prev.logical + prev.length == logical:
                # Prefer the start of the next segment for starts; callers that
                # need an exclusive end use span_to_source.
                return seg.source + self._delta
        return seg.source + self._delta + min(logical - seg.logical, seg.length)

    def span_to_source(self, start: int, end: int) -> Span:
        """Source span of the logical range ``[start, end)``."""
        s = self.to_source(start)
        if end <= start:
            return Span(s, s)
        e = self.to_source(end - 1) + 1
        return Span(s, max(s, e))

    def slice(self, start: int, end: int) -> SourceMap:
        """The map of the logical substring ``[start, end)``, re-based at 0."""
        out: list[Segment] = []
        for seg in self.segments:
            a = max(start, seg.logical)
            b = min(end, seg.logical + seg.length)
            if a < b:
                out.append(Segment(a - start, seg.source + (a - seg.logical), b - a))
        if not out:
            # Empty, yet somewhere: where ``start`` is.
            out.append(Segment(0, self.to_source(start), 0))
        return SourceMap(out)
