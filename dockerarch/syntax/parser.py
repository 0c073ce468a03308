"""A lossless, error-tolerant Dockerfile parser that follows BuildKit.

The line handling mirrors BuildKit's ``frontend/dockerfile/parser``: lines end
at ``\\n`` only; parser directives are read until the first line that is not
one; an instruction continues while a line ends in the escape character
(optionally followed by spaces or tabs); comment lines and blank lines inside
a continuation are skipped; heredocs (RUN, COPY, ADD, and those inside
ONBUILD) consume the lines after the instruction up to their terminator.
Where BuildKit would stop with an error, we record it on the node and go on,
so every input yields a tree and ``to_source()`` always gives the input back.
"""

from __future__ import annotations

import json
from bisect import bisect_left
from collections.abc import Callable

from dockerarch.lazyre import lazy_compile
from dockerarch.records import record, replace
from dockerarch.syntax.nodes import (
    GO_SPACE,
    Blank,
    Comment,
    Directive,
    Dockerfile,
    Flag,
    Heredoc,
    Instruction,
    Item,
    Word,
    go_isspace,
    lex_word,
)
from dockerarch.syntax.positions import LineIndex, Segment, SourceMap, Span, line_starts
from dockerarch.syntax.shift import shifted

KNOWN_INSTRUCTIONS = frozenset(
    {
        "ADD",
        "ARG",
        "CMD",
        "COPY",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "FROM",
        "HEALTHCHECK",
        "LABEL",
        "MAINTAINER",
        "ONBUILD",
        "RUN",
        "SHELL",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
        "WORKDIR",
    }
)
_HEREDOC_INSTRUCTIONS = frozenset({"ADD", "COPY", "RUN"})
_JSON_INSTRUCTIONS = frozenset({"ADD", "CMD", "COPY", "ENTRYPOINT", "RUN", "SHELL", "VOLUME"})
_DIRECTIVE = lazy_compile(r"#[ \t\v\f\r]*([a-zA-Z][a-zA-Z0-9]*)[ \t\v\f\r]*=[ \t\v\f\r]*(.+?)\s*\Z")
_VALID_DIRECTIVES = frozenset({"syntax", "escape", "check"})
_HEREDOC_WORD = lazy_compile(r"(\d*)<<(-?)([^<]*)\Z")
_CMD_SEP = lazy_compile(r"[\t\v\f\r ]+")


_SPACES = lazy_compile(f"{GO_SPACE}*")


def _lstrip_len(s: str, start: int = 0) -> int:
    if start >= len(s):
        return start
    # Printable ASCII other than the space starts most lines: no pattern to run.
    if "!" <= s[start] <= "~":
        return start
    match = _SPACES.match(s, start)
    return start if match is None else match.end()


def _rstrip_end(s: str, end: int, start: int = 0) -> int:
    while end > start and go_isspace(s[end - 1]):
        end -= 1
    return end


class _Lines:
    """Physical lines: (start, content_end, end) with content_end before \\r\\n."""

    def __init__(self, text: str) -> None:
        self.text = text
        # Split once rather than find line by line, and build the tables with
        # comprehensions: this runs for every file, and twice per keystroke in the LSP.
        parts = text.split("\n")
        #: Where every line starts, as LineIndex counts them (a last, empty line too).
        self.starts = line_starts(parts)
        starts = self.starts
        if "\r" in text:
            ends = [s + len(p.rstrip("\r")) for s, p in zip(starts, parts, strict=True)]
        else:
            ends = [s + len(p) for s, p in zip(starts, parts, strict=True)]
        # Each line ends where the next starts; the piece after the last newline is a
        # last line without one, or nothing.
        self.lines: list[tuple[int, int, int]] = list(zip(starts, ends, starts[1:], strict=False))
        if parts[-1]:
            self.lines.append((starts[-1], ends[-1], len(text)))


class _Logical:
    """A logical line being assembled from source slices."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.segments: list[Segment] = []
        self.length = 0
        self.anchor: int | None = None

    def add(self, text: str, start: int, end: int) -> None:
        if self.anchor is None:
            self.anchor = start
        if end > start:
            self.parts.append(text[start:end])
            self.segments.append(Segment(self.length, start, end - start))
            self.length += end - start

    def build(self) -> tuple[str, SourceMap]:
        # An empty line (a lone continuation) still stands somewhere: where it starts.
        segments = self.segments or [Segment(0, self.anchor or 0, 0)]
        return "".join(self.parts), SourceMap(segments)


def parse(text: str) -> Dockerfile:
    """Parse ``text``; never raises, and ``parse(t).to_source() == t``."""
    return _Parser(text).run()


def reparse(old: Dockerfile, text: str) -> Dockerfile:
    """``parse(text)``, for a ``text`` that is ``old``'s after an edit (an editor's next
    version): ``old``'s items before the edit are kept, those after it are moved into
    place, and only the lines between are parsed."""
    parser = _Parser(text)
    new, before = parser.text, old.text
    first = next((x for x in old.items if isinstance(x, Instruction)), None)
    same_start = _common_prefix(new, before)
    # An edit up to the first instruction can make or unmake a parser directive,
    # which changes how every later line reads.
    if parser.bom != old.bom or first is None or same_start < first.span.end:
        return parser.run()
    same_end = _common_suffix(new, before, min(len(new), len(before)) - same_start)
    delta = len(new) - len(before)
    items = old.items
    # Kept: the items that end before the edit, at a line end (the last item may
    # end at the end of the text in the middle of a continuation or heredoc).
    k = 0
    while k < len(items) and (
        items[k].span.end < same_start
        or (same_start < len(before) and items[k].span.end == same_start)
    ):
        k += 1
    # From an item start in the unchanged tail on, the text and the parser's state
    # (escape character, directives over) are the old ones: so are the items.
    old_starts = {x.span.start: j for j, x in enumerate(items[k:], k)}
    tail_from = len(new) - same_end
    lines = parser.lines

    def resumes(i: int) -> bool:
        pos = lines[i][0]
        return pos >= tail_from and pos - delta in old_starts

    resume_at = items[k].span.start if k < len(items) else len(before)
    parser.directives_done = True
    parser.escape = old.escape
    # The starts of the lines (line_starts may hold one more: an empty last line).
    first_line = bisect_left(parser.line_starts, resume_at, 0, len(lines))
    middle, i = parser._items(first_line, resumes)
    tail: list[Item] = []
    if i < len(lines):
        j = old_starts[lines[i][0] - delta]
        moved = i - (old.lines.position(items[j].span.start).line - 1)
        tail = [shifted(x, delta, moved) for x in items[j:]]
    parser.errors = [e for e in old.errors if e[1].end <= first.span.start]
    return parser._tree([*items[:k], *middle, *tail])


def _common_prefix(a: str, b: str) -> int:
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a.startswith(b[lo:mid], lo):
            lo = mid
        else:
            hi = mid - 1
    return lo


def _common_suffix(a: str, b: str, limit: int) -> int:
    lo, hi = 0, max(0, limit)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[len(a) - mid :] == b[len(b) - mid :]:
            lo = mid
        else:
            hi = mid - 1
    return lo


#: Instructions parsed before, by their source lines and the escape character, with the
#: offset and line they were parsed at and their whole text (heredoc bodies included). An
#: instruction's parse depends on nothing else, and a repository repeats its FROM, COPY, ENV
#: and RUN lines across Dockerfiles (and an editor re-reads the same ones): a known one is
#: moved to where it stands (syntax/shift.py).
_memo: dict[tuple[str, str], list[tuple[Instruction, int, int, str]]] = {}
#: Instructions kept, and how many of them per key: the lines before a heredoc's body say
#: nothing of the body.
_MEMO_SIZE = 8192
_MEMO_BODIES = 8
_held = 0
#: Longer instructions are parsed every time: rare, and they would hold much text.
_MEMO_TEXT = 4096


def clear_memo() -> None:
    global _held
    _memo.clear()
    _held = 0


def _remember(key: tuple[str, str], entry: tuple[Instruction, int, int, str]) -> None:
    global _held
    if _held >= _MEMO_SIZE:
        clear_memo()
    known = _memo.setdefault(key, [])
    if len(known) >= _MEMO_BODIES:
        del known[0]
        _held -= 1
    known.append(entry)
    _held += 1


def _rememberable(ins: Instruction, whole: str) -> bool:
    """Whether ``ins`` parses the same wherever its text ``whole`` starts a line."""
    heredocs: list[Heredoc] = []
    node: Instruction | None = ins
    while node is not None:  # an ONBUILD trigger's heredocs are its own
        heredocs.extend(node.heredocs)
        node = node.inner
    if not heredocs:
        return True  # its lines are all _extent counts, and the key holds them
    # A heredoc's parse reads on to its terminator line (to the end of the file when it has
    # none): the same text followed by a newline ends it the same way anywhere.
    return (
        len(whole) <= _MEMO_TEXT
        and whole.endswith("\n")
        and all(h.terminator is not None for h in heredocs)
    )


class _Parser:
    def __init__(self, source: str) -> None:
        self.bom = source.startswith("\ufeff")
        self.text = source[1:] if self.bom else source
        table = _Lines(self.text)
        self.lines = table.lines
        self.line_starts = table.starts
        self.escape = "\\"
        self.directives_done = False
        self.seen_directives: set[str] = set()
        self.errors: list[tuple[str, Span]] = []

    # -- continuation handling -------------------------------------------------

    def _continuation(self, start: int, end: int) -> int | None:
        """Logical end of the line if it ends with a continuation, else None.

        BuildKit: ``([^E])E[ \\t]*$|^E[ \\t]*$`` where E is the escape char.
        """
        t = self.text
        j = end
        while j > start and t[j - 1] in " \t":
            j -= 1
        if j > start and t[j - 1] == self.escape and (j - 1 == start or t[j - 2] != self.escape):
            return j - 1
        return None

    def _directive(self, start: int, content_end: int) -> Directive | None:
        if self.directives_done:
            return None
        lead = _lstrip_len(self.text, start)
        m = _DIRECTIVE.match(self.text, lead, content_end)
        if not m or m.group(1).lower() not in _VALID_DIRECTIVES:
            self.directives_done = True
            return None
        name = m.group(1).lower()
        value = m.group(2)
        if name in self.seen_directives:
            self.errors.append(
                (f"only one {name} parser directive can be used", Span(start, content_end))
            )
        self.seen_directives.add(name)
        if name == "escape":
            if value in ("\\", "`"):
                self.escape = value
            else:
                self.errors.append(
                    (
                        f"invalid escape token '{value}' does not match ` or \\",
                        Span(start, content_end),
                    )
                )
        return Directive(Span(start, content_end), name, value, Span(m.start(2), m.end(2)))

    # -- main loop ---------------------------------------------------------------

    def run(self) -> Dockerfile:
        items, _ = self._items(0, None)
        return self._tree(items)

    def _items(self, i: int, stop: Callable[[int], bool] | None) -> tuple[list[Item], int]:
        """The items from line ``i`` on, up to the first line ``stop`` accepts; and that line."""
        t = self.text
        lines = self.lines
        items: list[Item] = []
        n = len(lines)
        while i < n:
            if stop is not None and stop(i):
                break
            start, cend, end = lines[i]
            d = self._directive(start, cend)
            if d is not None:
                items.append(Directive(Span(start, end), d.name, d.value, d.value_span))
                i += 1
                continue
            lead = _lstrip_len(t, start)
            if lead >= cend:
                items.append(Blank(Span(start, end)))
                i += 1
                continue
            if t[lead] == "#":
                items.append(Comment(Span(start, end), t[lead:cend]))
                i += 1
                continue
            ins, i = self._instruction(i)
            items.append(ins)
        return items, i

    def _tree(self, items: list[Item]) -> Dockerfile:
        t = self.text
        if not any(isinstance(x, Instruction) for x in items):
            self.errors.append(("file with no instructions", Span(0, len(t))))
        return Dockerfile(
            text=t,
            items=tuple(items),
            escape=self.escape,
            bom=self.bom,
            lines=LineIndex(t, self.line_starts),
            errors=tuple(self.errors),
        )

    def _instruction(self, i: int) -> tuple[Instruction, int]:
        """The instruction that starts on line ``i``, and the line after it."""
        lines = self.lines
        end = self._extent(i)
        start = lines[i][0]
        source = self.text[start : lines[end - 1][2]]
        if len(source) > _MEMO_TEXT:
            return self._parse_instruction(i)
        key = (source, self.escape)
        known = _memo.get(key)
        if known is not None:
            for ins, at, line, whole in known:
                # A "<" may start a heredoc, whose body and terminator lines follow the
                # lines _extent counts: the text must go on as where it was parsed.
                if self.text.startswith(whole, start):
                    after = i + ins.end_line - ins.start_line + 1
                    if at == start and line == i:
                        return ins, after
                    moved = shifted(ins, start - at, i - line)
                    assert isinstance(moved, Instruction)
                    return moved, after
        ins, after = self._parse_instruction(i)
        whole = self.text[start : ins.span.end]
        if _rememberable(ins, whole):
            # Without a heredoc the whole text is the key's: held once, not twice.
            _remember(key, (ins, start, i, source if whole == source else whole))
        return ins, after

    def _extent(self, i: int) -> int:
        """The line after the instruction starting on line ``i``, as the continuation lines
        of :meth:`_parse_instruction` end it (heredoc bodies not counted)."""
        t = self.text
        lines = self.lines
        start, cend, _ = lines[i]
        cont = self._continuation(_lstrip_len(t, start), cend)
        i += 1
        while cont is not None and i < len(lines):
            s, ce, _ = lines[i]
            i += 1
            ls = _lstrip_len(t, s)
            if ls >= ce or t[ls] == "#":
                continue
            cont = self._continuation(s, ce)
        return i

    def _parse_instruction(self, i: int) -> tuple[Instruction, int]:
        t = self.text
        lines = self.lines
        first = i
        start, cend, _ = lines[i]
        lead = _lstrip_len(t, start)
        logical = _Logical()
        comments: list[Span] = []
        cont = self._continuation(lead, cend)
        logical.add(t, lead, cend if cont is None else cont)
        i += 1
        while cont is not None and i < len(lines):
            s, ce, e = lines[i]
            i += 1
            ls = _lstrip_len(t, s)
            if ls < ce and t[ls] == "#":
                comments.append(Span(s, e))
                continue
            if ls >= ce:
                continue
            cont = self._continuation(s, ce)
            logical.add(t, s, ce if cont is None else cont)
        line, smap = logical.build()
        head = _head(line, smap, self.escape, first + 1)
        heredocs: list[Heredoc] = []
        errors = list(head.errors)
        if head.inner is not None:
            takes_heredocs = head.inner.name in _HEREDOC_INSTRUCTIONS and head.inner.json is None
        else:
            takes_heredocs = head.name in _HEREDOC_INSTRUCTIONS and head.json is None
        if takes_heredocs and "<<" in line:
            for name, chomp, expand, fd, marker in _heredoc_words(line):
                body_start = lines[i][0] if i < len(lines) else len(t)
                terminated = None
                while i < len(lines):
                    s, ce, e = lines[i]
                    i += 1
                    cand = t[s:ce]
                    if chomp:
                        cand = cand.lstrip("\t")
                    if cand == name:
                        terminated = Span(s, e)
                        break
                body_end = terminated.start if terminated else (lines[i - 1][2] if i else 0)
                body_end = max(body_end, body_start)
                heredocs.append(
                    Heredoc(
                        name=name,
                        chomp=chomp,
                        expand=expand,
                        fd=fd,
                        marker=smap.span_to_source(*marker),
                        body=t[body_start:body_end],
                        body_span=Span(body_start, body_end),
                        terminator=terminated,
                    )
                )
                if terminated is None:
                    errors.append(("unterminated heredoc", heredocs[-1].marker))
                    break
        end = lines[i - 1][2]
        full = Span(lines[first][0], end)
        hd = tuple(heredocs)
        if head.inner is not None and hd:
            trigger = replace(_placed(head.inner, full, i), heredocs=hd)
            return head.instruction(full, i, errors=tuple(errors), inner=trigger), i
        placed = None if head.inner is None else _placed(head.inner, full, i)
        ins = head.instruction(
            full, i, heredocs=hd, errors=tuple(errors), comments=tuple(comments), inner=placed
        )
        return ins, i


def _placed(trigger: Instruction, span: Span, end_line: int) -> Instruction:
    """An ONBUILD trigger (and any trigger it wraps) given its wrapper's lines."""
    inner = None if trigger.inner is None else _placed(trigger.inner, span, end_line)
    return replace(trigger, span=span, end_line=end_line, inner=inner)


@record(slots=True)
class _Head:
    """What one logical line says, before the lines after it (heredocs) are read."""

    keyword: str
    name: str
    keyword_span: Span
    flags: tuple[Flag, ...]
    args: str
    args_map: SourceMap
    json: tuple[Word, ...] | None
    inner: Instruction | None
    errors: tuple[tuple[str, Span], ...]
    lineno: int

    def instruction(
        self,
        span: Span,
        end_line: int,
        *,
        heredocs: tuple[Heredoc, ...] = (),
        errors: tuple[tuple[str, Span], ...] | None = None,
        comments: tuple[Span, ...] = (),
        inner: Instruction | None = None,
    ) -> Instruction:
        return Instruction(
            span=span,
            keyword=self.keyword,
            keyword_span=self.keyword_span,
            flags=self.flags,
            args=self.args,
            args_map=self.args_map,
            json=self.json,
            heredocs=heredocs,
            start_line=self.lineno,
            end_line=end_line,
            inner=inner if inner is not None else self.inner,
            errors=self.errors if errors is None else errors,
            comments=comments,
        )


def _head(line: str, smap: SourceMap, escape: str, lineno: int) -> _Head:
    """BuildKit's newNodeFromLine over one logical line."""
    s = _lstrip_len(line)
    e = _rstrip_end(line, len(line), s)
    m = _CMD_SEP.search(line, s, e)
    kw_end = m.start() if m else e
    keyword = line[s:kw_end]
    kw_span = smap.span_to_source(s, kw_end)
    rest_start = m.end() if m else e
    flags, args_start = _extract_flags(line, rest_start, e, smap)
    args_start = _lstrip_len(line, args_start)
    args_end = _rstrip_end(line, e, args_start)
    args = line[args_start:args_end]
    args_map = smap.slice(args_start, args_end)
    name = keyword.upper()
    errors: list[tuple[str, Span]] = []
    json_words: tuple[Word, ...] | None = None
    inner: Instruction | None = None
    if name in _JSON_INSTRUCTIONS:
        json_words, err = _parse_json(args, args_map)
        if err:
            errors.append(err)
    elif name == "HEALTHCHECK":
        # BuildKit reads the first word as the type and the rest as a command.
        sep = next((k for k, ch in enumerate(args) if go_isspace(ch)), len(args))
        rest = _lstrip_len(args, sep)
        if sep:
            json_words, err = _parse_json(args[rest:], args_map.slice(rest, len(args)))
            if err:
                errors.append(err)
    if name == "ONBUILD" and args:
        # The trigger's span is its wrapper's, set with its heredocs once they are read.
        inner = _head(args, args_map, escape, lineno).instruction(Span(0, 0), lineno)
        errors.extend(inner.errors)
    if name in ("ENV", "LABEL"):
        errors.extend(_name_val_errors(name, args, args_map, escape))
    return _Head(
        keyword, name, kw_span, flags, args, args_map, json_words, inner, tuple(errors), lineno
    )


def _name_val_errors(name: str, args: str, smap: SourceMap, escape: str) -> list[tuple[str, Span]]:
    """BuildKit's parseNameVal errors for ENV and LABEL."""
    from dockerarch.syntax.nodes import split_quoted

    words = split_quoted(args, smap, escape)
    if not words:
        return []
    if "=" not in words[0].text:
        if len(_CMD_SEP.split(args, maxsplit=1)) < 2:
            return [(f"{name} must have two arguments", smap.span_to_source(0, len(args)))]
        return []
    return [
        (f"Syntax error - can't find = in {w.text!r}. Must be of the form: name=value", w.span)
        for w in words
        if "=" not in w.text
    ]


def _extract_flags(line: str, pos: int, end: int, smap: SourceMap) -> tuple[tuple[Flag, ...], int]:
    """BuildKit's extractBuilderFlags: leading ``--name[=value]`` words."""
    flags: list[Flag] = []
    while True:
        while pos < end and go_isspace(line[pos]):
            pos += 1
        if pos >= end or not line.startswith("--", pos):
            return tuple(flags), pos
        start = pos
        buf: list[str] = []
        blank_ok = False
        quote = ""
        value_at: int | None = None
        while pos < end:
            ch = line[pos]
            if quote:
                if ch == quote:
                    quote = ""
                    pos += 1
                    continue
                if ch == "\\":
                    if pos + 1 == end:
                        pos += 1
                        quote = ""
                        continue
                    pos += 1
                    ch = line[pos]
                buf.append(ch)
                pos += 1
                continue
            if go_isspace(ch):
                break
            if ch in "'\"":
                quote = ch
                blank_ok = True
                pos += 1
                continue
            if ch == "\\":
                if pos + 1 == end:
                    pos += 1
                    continue
                pos += 1
                ch = line[pos]
            if ch == "=" and value_at is None:
                value_at = pos + 1
            buf.append(ch)
            pos += 1
        word = "".join(buf)
        if word == "--":
            return tuple(flags), pos
        if not (blank_ok or word):
            continue
        body = word[2:]
        fname, eq, fval = body.partition("=")
        span = smap.span_to_source(start, pos)
        vspan = smap.span_to_source(value_at, pos) if value_at is not None else None
        flags.append(Flag(fname, fval if eq else None, word, span, vspan))


class _RejectConstant(ValueError):
    pass


def _no_constants(name: str) -> object:
    raise _RejectConstant(name)


_DECODER = json.JSONDecoder(parse_constant=_no_constants)


def _parse_json(
    args: str, smap: SourceMap
) -> tuple[tuple[Word, ...] | None, tuple[str, Span] | None]:
    """Exec form: the first JSON value of the arguments, if it is an array.

    Like BuildKit's decoder, trailing text after the array is ignored; an
    array with a non-string element is an error, anything else falls back to
    shell form.
    """
    i = _lstrip_len(args)
    if not args.startswith("[", i):
        return None, None
    try:
        value, end = _DECODER.raw_decode(args, i)
    except (ValueError, RecursionError):
        return None, None
    if not isinstance(value, list):
        return None, None
    if not all(isinstance(v, str) for v in value):
        message = "when using JSON array syntax, arrays must be comprised of strings only"
        return None, (message, smap.span_to_source(i, end))
    return tuple(_locate_json_strings(args, i, value, smap)), None


def _locate_json_strings(args: str, i: int, values: list[str], smap: SourceMap) -> list[Word]:
    """Spans of each string literal of a JSON array starting at ``i``."""
    out: list[Word] = []
    pos = i + 1
    for v in values:
        q = args.find('"', pos)
        j = q + 1
        while j < len(args) and args[j] != '"':
            j += 2 if args[j] == "\\" else 1
        out.append(Word(args[q : j + 1], v, smap.span_to_source(q, j + 1)))
        pos = j + 1
    return out


def _heredoc_words(line: str) -> list[tuple[str, bool, bool, int, tuple[int, int]]]:
    """Heredoc markers on the line, like BuildKit's heredocsFromLine."""
    out: list[tuple[str, bool, bool, int, tuple[int, int]]] = []
    for raw, a, b in _raw_words(line):
        m = _HEREDOC_WORD.match(raw)
        if not m or not m.group(3):
            continue
        rest = m.group(3)
        words = _raw_words(rest)
        if len(words) != 1:
            continue
        # With "\\" as the escape whatever the file's; an unterminated quote, or an empty
        # name (<<''), makes no heredoc.
        name = lex_word(words[0][0])
        if not name:
            continue
        raw_quotes = words[0][0].count("'") + words[0][0].count('"')
        expand = raw_quotes == name.count("'") + name.count('"')
        out.append((name, m.group(2) == "-", expand, int(m.group(1) or 0), (a, b)))
    return out


def _raw_words(line: str) -> list[tuple[str, int, int]]:
    """Shell words with quotes and escapes kept (BuildKit's RawQuotes lexing)."""
    out: list[tuple[str, int, int]] = []
    i, n = 0, len(line)
    while i < n:
        while i < n and go_isspace(line[i]):
            i += 1
        if i >= n:
            break
        start = i
        quote = ""
        while i < n:
            ch = line[i]
            if quote:
                if ch == quote:
                    quote = ""
                elif ch == "\\" and quote == '"' and i + 1 < n:
                    i += 1
            elif go_isspace(ch):
                break
            elif ch in "'\"":
                quote = ch
            elif ch == "\\" and i + 1 < n:
                i += 1
            i += 1
        out.append((line[start:i], start, i))
    return out
