"""The default human format: a header line, the source line and carets, as ruff prints."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from dockerarch.diagnostics import Severity
from dockerarch.report import FileReport, Located, Options, is_fixable, located, summary

_RESET = "\x1b[0m"
_BOLD = "\x1b[1m"
_BLUE = "\x1b[34m"
_CYAN = "\x1b[36m"
_SEVERITY = {
    Severity.ERROR: "\x1b[1;31m",
    Severity.WARNING: "\x1b[1;33m",
    Severity.INFO: "\x1b[1;34m",
}


class Painter:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, style: str, text: str) -> str:
        return f"{style}{text}{_RESET}" if self.enabled and text else text


def header(item: Located, paint: Painter) -> str:
    loc = item.primary
    d = item.diagnostic
    colon = paint(_CYAN, ":")
    where = f"{paint(_BOLD, clean(loc.path))}{colon}{loc.line}{colon}{loc.column}{colon}"
    mark = " [*]" if is_fixable(d) else ""
    return f"{where} {paint(_SEVERITY[d.severity], d.code)}{mark} {clean(d.message)}"


_TAB = "    "


def char_width(ch: str) -> int:
    """Terminal columns ``ch`` takes: 0 for combining marks, 2 for wide East Asian."""
    if ch == "\t":
        return len(_TAB)
    if " " <= ch <= "~":
        return 1
    # Loaded for text beyond ASCII only: most reports have none.
    import unicodedata

    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def caret_line(line_text: str, start_col: int, end_col: int) -> tuple[str, str]:
    """The padding and carets that sit under columns ``[start_col, end_col)``.

    Counted in terminal cells, not code points, so the carets line up under
    wide characters too; tabs are shown as four spaces (see :func:`shown`).
    """
    pad = " " * sum(map(char_width, line_text[: start_col - 1]))
    width = sum(map(char_width, line_text[start_col - 1 : end_col - 1]))
    return pad, "^" * max(1, width)


# A Dockerfile's own bytes must not drive the terminal: C0 controls, DEL and
# C1 controls are shown as visible symbols instead.
_CONTROLS = (
    {c: 0x2400 + c for c in range(0x20)} | {0x7F: 0x2421} | {c: 0xFFFD for c in range(0x80, 0xA0)}
)


def clean(text: str) -> str:
    # Every character _CONTROLS maps is unprintable; most messages and paths have none,
    # and isprintable() tells that many times faster than translate() copies them.
    return text if text.isprintable() else text.translate(_CONTROLS)


def shown(line_text: str) -> str:
    """The source line as printed: tabs expanded to fixed width, as the carets assume."""
    return clean(line_text.replace("\t", _TAB))


def snippet(item: Located, paint: Painter) -> list[str]:
    loc = item.dockerfile
    lines = item.file.tree.lines
    text = lines.line_text(loc.line)
    end = loc.end_column if loc.end_line == loc.line else len(text) + 1
    pad, carets = caret_line(text, loc.column, max(end, loc.column))
    gutter = " " * len(str(loc.line))
    bar = paint(_BLUE, "|")
    color = _SEVERITY[item.diagnostic.severity]
    return [
        f"{gutter} {bar}",
        f"{paint(_BLUE, str(loc.line))} {bar} {shown(text)}",
        f"{gutter} {bar} {pad}{paint(color, carets + ' ' + item.code)}",
        f"{gutter} {bar}",
    ]


def render_item(item: Located, options: Options, paint: Painter) -> list[str]:
    out = [header(item, paint)]
    d = item.diagnostic
    if item.related is not None:
        rel = item.related
        out.append(f"  in {clean(rel.path)}:{rel.line}:{rel.column}")
    out.extend(snippet(item, paint))
    if d.platforms:
        out.append(f"  = platforms: {', '.join(d.platforms)}")
    if d.fix is not None:
        out.append(f"  {paint(_CYAN, '= help:')} {clean(d.fix.message)}")
    if options.verbose:
        out.extend(f"  = note: {clean(n)}" for n in d.notes)
    return out


def render(files: Sequence[FileReport], options: Options) -> str:
    paint = Painter(options.color)
    out: list[str] = []
    items = list(located(files, options))
    for item in items:
        out.extend(render_item(item, options, paint))
        out.append("")
    if not options.quiet:
        fixable = sum(1 for i in items if is_fixable(i.diagnostic))
        out.append(paint(_BOLD, summary(len(items), fixable, options.unchecked)))
    return "".join(line + "\n" for line in out)


def render_statistics(files: Sequence[FileReport], options: Options) -> str:
    """One line per code: how often it was reported, whether fixable, its name."""
    items = list(located(files, options))
    counts = Counter(i.code for i in items)
    fixable = {i.code for i in items if is_fixable(i.diagnostic)}
    names = {i.code: i.name or "" for i in items}
    width = len(str(max(counts.values(), default=0)))
    rows = [
        f"{n:>{width}}\t{code}\t{'[*]' if code in fixable else '[ ]'} {names[code]}".rstrip()
        for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return "".join(r + "\n" for r in rows)
