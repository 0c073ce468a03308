"""A one-line progress bar on stderr for runs over many files.

The bar is drawn only on a terminal: piped or redirected output, CI logs and
tests see nothing, so it never mixes into what a program reads. It redraws
in place with a carriage return and spaces (no escape sequences), which
works on dumb terminals too.
"""

from __future__ import annotations

import os
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

#: Fewer files than this finish before a bar would be worth seeing.
MIN_TOTAL = 5
#: Redraws closer together than this only cost time on slow terminals.
INTERVAL = 0.1


class Progress:
    """``done/total`` and the last file finished, redrawn as files are done.

    A no-op when ``stream`` is not a terminal or ``total < min_total``.
    Call :meth:`clear` before writing other lines to ``stream`` while the
    bar is shown; the next :meth:`advance` draws it again.
    """

    def __init__(self, total: int, stream: TextIO, *, min_total: int = MIN_TOTAL) -> None:
        self.total = total
        self.stream = stream
        self.done = 0
        self.enabled = total >= min_total and _is_terminal(stream)
        self._shown = 0
        self._last_draw = 0.0
        self._fill, self._empty, self._ellipsis = _characters(stream)
        if self.enabled:
            self._draw("")

    def advance(self, name: str) -> None:
        """One more file, ``name``, is finished."""
        self.done += 1
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last_draw >= INTERVAL or self.done >= self.total:
            self._draw(name)

    def clear(self) -> None:
        """Erase the bar so that a message can be written on a line of its own."""
        if self.enabled and self._shown:
            self.stream.write("\r" + " " * self._shown + "\r")
            self.stream.flush()
            self._shown = 0

    def close(self) -> None:
        """Erase the bar for good; later calls draw nothing."""
        self.clear()
        self.enabled = False

    def _draw(self, name: str) -> None:
        width = _width(self.stream)
        count = f"{self.done}/{self.total}"
        cells = max(10, min(30, width // 4))
        filled = cells * self.done // self.total if self.total else cells
        line = f"[{self._fill * filled}{self._empty * (cells - filled)}] {count}"
        room = width - len(line) - 2
        # A newline or escape in a file name would break the line in place.
        name = "".join(c if c.isprintable() else "?" for c in name)
        if name and room > 3:
            # The end of a long path tells files apart better than its start.
            cut = room - len(self._ellipsis)
            shown = name if len(name) <= room else self._ellipsis + name[-cut:]
            line += " " + shown
        # A line as wide as the terminal would wrap and leave the bar behind.
        line = line[: max(0, width - 1)]
        self.stream.write("\r" + line.ljust(self._shown))
        self.stream.flush()
        self._shown = len(line)
        self._last_draw = time.monotonic()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _width(stream: TextIO) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


def _characters(stream: TextIO) -> tuple[str, str, str]:
    """Filled cell, empty cell and ellipsis that the stream's encoding can write."""
    encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
    if encoding == "utf8":
        return "█", "░", "…"
    return "#", "-", "..."
