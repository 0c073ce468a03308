"""One line per diagnostic: ``path:line:col: CODE message``, then the summary."""

from __future__ import annotations

from collections.abc import Sequence

from dockerarch.report import FileReport, Options, is_fixable, located, summary
from dockerarch.report.text import Painter, header


def render(files: Sequence[FileReport], options: Options) -> str:
    paint = Painter(options.color)
    items = list(located(files, options))
    out = [header(item, paint) for item in items]
    if not options.quiet:
        fixable = sum(1 for i in items if is_fixable(i.diagnostic))
        out.append(summary(len(items), fixable, options.unchecked))
    return "".join(line + "\n" for line in out)
