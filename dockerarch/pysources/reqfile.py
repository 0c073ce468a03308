"""pip's requirements file format, with exact source positions.

The logical-line rules follow pip: a line ending in a backslash continues on
the next one (unless it is a whole-line comment), ``#`` starts a comment at the
start of a line or after whitespace, and a line's requirement is everything
before the first space-separated word that starts with ``-``. Every logical
line keeps a :class:`SourceMap` back to the file, so spans are exact even
across continuation lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path, PurePath

from dockerarch.lazyre import lazy_compile
from dockerarch.pysources.files import ContextError, display, lexical, read_text_in_root
from dockerarch.pysources.model import (
    PyRequirement,
    RequirementsResult,
    SourceIssue,
    is_url,
    make_requirement,
)
from dockerarch.pysources.optscan import POSITIONAL, UNKNOWN, OptionTable, Parsed, scan, table
from dockerarch.syntax.positions import LineIndex, Segment, SourceMap, Span

# pip strips ``(^|\s+)#.*$``; searched as is, that pattern is quadratic on long runs of
# whitespace, so find the "#" that starts a word and then the whitespace before it.
_COMMENT_HASH = lazy_compile(r"(?<!\S)#")

_OPTIONS = OptionTable(
    table(
        [
            "-i/--index-url",
            "--extra-index-url",
            "-c/--constraint",
            "-r/--requirement",
            "-e/--editable",
            "-f/--find-links",
            "--no-binary",
            "--only-binary",
            "--trusted-host",
            "--use-feature",
            "--hash",
            "--global-option",
            "--install-option",
            "-C/--config-settings",
        ],
        ["--no-index", "--prefer-binary", "--require-hashes", "--pre"],
    ),
    abbreviations=True,
)
_VALUE_DESTS = frozenset(dest for dest, takes in _OPTIONS.options.values() if takes)
_PER_REQUIREMENT = frozenset({"hash", "global_option", "install_option", "config_settings"})

# Guards against include graphs that are acyclic but explode (a diamond of
# diamonds), which pip would also re-read file by file.
MAX_INCLUDED_FILES = 200

_REQUIREMENT_DIRS = frozenset({"requirements", "reqs", "requirements.d"})
_NOT_REQUIREMENTS_IN = frozenset(
    {"manifest", "makefile", "configure", "config", "setup", "version"}
)


def is_requirements_name(filename: str | PurePath) -> bool:
    """Whether a file name looks like a pip requirements or constraints file.

    ``requirements*.txt``, ``*-requirements.txt``, ``constraints*.txt``,
    pip-tools ``*.in`` inputs (not ``MANIFEST.in`` or ``config.h.in``), and
    ``.txt``/``.in`` files in a ``requirements/`` directory.
    """
    path = PurePath(filename)
    name = path.name.lower()
    stem, dot, ext = name.rpartition(".")
    if not dot or ext not in ("txt", "in"):
        return False
    if path.parent.name.lower() in _REQUIREMENT_DIRS:
        return True
    if "requirements" in stem or "constraints" in stem:
        return True
    return ext == "in" and "." not in stem and stem not in _NOT_REQUIREMENTS_IN


def _comment_start(line: str) -> int | None:
    r"""Where pip's comment pattern ``(^|\s+)#.*$`` starts in ``line``, or None."""
    found = _COMMENT_HASH.search(line)
    if found is None:
        return None
    return len(line[: found.start()].rstrip())


def logical_lines(text: str) -> Iterator[tuple[str, SourceMap]]:
    """pip's joined lines of ``text``, each with a map back to ``text``."""
    parts: list[str] = []
    segments: list[Segment] = []
    length = 0
    pos = 0
    for piece in text.splitlines(keepends=True):
        body = piece.splitlines()[0]
        start = pos
        pos += len(piece)
        is_comment = _comment_start(body) == 0
        if is_comment or not body.endswith("\\"):
            if parts:
                if is_comment:
                    # pip prefixes a space so the comment is stripped even
                    # right after the joined text.
                    parts.append(" ")
                    segments.append(Segment(length, start, 1))
                    length += 1
                parts.append(body)
                segments.append(Segment(length, start, len(body)))
                yield "".join(parts), SourceMap(segments)
                parts, segments, length = [], [], 0
            else:
                yield body, SourceMap([Segment(0, start, len(body))])
            continue
        # pip strips backslashes from both ends of a continued line.
        inner = body.strip("\\")
        lead = len(body) - len(body.lstrip("\\"))
        parts.append(inner)
        segments.append(Segment(length, start + lead, len(inner)))
        length += len(inner)
    if parts:
        yield "".join(parts), SourceMap(segments)


def shell_words(text: str) -> list[tuple[str, list[int]]]:
    """``shlex.split(text)`` (POSIX, no comments) with each character's offset in ``text``.

    An empty word (``''``) gets the offset of its opening quote. Raises
    ValueError for an unclosed quote or a trailing backslash, as shlex does.
    """
    words: list[tuple[str, list[int]]] = []
    chars: list[str] = []
    offsets: list[int] = []
    in_word = False
    start = 0
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch in " \t\r\n":
            if in_word:
                words.append(("".join(chars), offsets or [start]))
                chars, offsets, in_word = [], [], False
            i += 1
            continue
        if not in_word:
            in_word, start = True, i
        if ch == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise ValueError("no closing quotation")
            chars.extend(text[i + 1 : end])
            offsets.extend(range(i + 1, end))
            i = end + 1
        elif ch == '"':
            i += 1
            while True:
                if i >= n:
                    raise ValueError("no closing quotation")
                ch = text[i]
                if ch == '"':
                    i += 1
                    break
                if ch == "\\" and i + 1 < n and text[i + 1] in '"\\':
                    i += 1
                chars.append(text[i])
                offsets.append(i)
                i += 1
        elif ch == "\\":
            if i + 1 >= n:
                raise ValueError("no escaped character")
            chars.append(text[i + 1])
            offsets.append(i + 1)
            i += 2
        else:
            chars.append(ch)
            offsets.append(i)
            i += 1
    if in_word:
        words.append(("".join(chars), offsets or [start]))
    return words


def read_requirements_file(
    path: Path, root: Path, *, constraint: bool = False
) -> RequirementsResult:
    """Read a requirements (or, with ``constraint``, constraints) file and its includes.

    ``root`` is the build context; relative paths are relative to it and no
    file outside it is ever opened. Never raises for file contents.
    """
    reader = _Reader(root)
    reader.read(lexical(path, root), constraint=constraint, stack=(), names=(), site=None)
    return reader.result


class _Reader:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.result = RequirementsResult()
        self.count = 0

    def read(
        self,
        path: Path,
        *,
        constraint: bool,
        stack: tuple[Path, ...],
        names: tuple[str, ...],
        site: SourceIssue | None,
    ) -> None:
        def fail(message: str) -> None:
            where = site or SourceIssue(path, 1, 1, "")
            self.result.issues.append(SourceIssue(where.file, where.line, where.column, message))

        if self.count >= MAX_INCLUDED_FILES:
            fail(f"more than {MAX_INCLUDED_FILES} requirements files included; {path} not read")
            return
        try:
            text, real = read_text_in_root(path, self.root)
        except ContextError as exc:
            fail(str(exc))
            return
        if real in stack:
            chain = " -> ".join([*names, display(path, self.root)])
            fail(f"requirements file cycle {chain}; not read again")
            return
        self.count += 1
        if path not in self.result.files:
            self.result.files.append(path)
        parser = _FileParser(self, path, text, constraint)
        parser.stack = (*stack, real)
        parser.names = (*names, parser.origin)
        parser.parse()


class _FileParser:
    def __init__(
        self,
        reader: _Reader,
        path: Path,
        text: str,
        constraint: bool,
    ) -> None:
        self.reader = reader
        self.result = reader.result
        self.path = path
        self.text = text
        self.lines = LineIndex(text)
        self.constraint = constraint
        self.stack: tuple[Path, ...] = ()
        self.names: tuple[str, ...] = ()
        self.origin = display(path, reader.root)

    def issue(self, offset: int, message: str) -> SourceIssue:
        pos = self.lines.position(offset)
        found = SourceIssue(self.path, pos.line, pos.column, message)
        self.result.issues.append(found)
        return found

    def parse(self) -> None:
        for logical, smap in logical_lines(self.text):
            comment = _comment_start(logical)
            if comment is not None:
                logical = logical[:comment]
            content = logical.strip()
            if content:
                base = len(logical) - len(logical.lstrip())
                self.line(content, base, smap)

    def line(self, content: str, base: int, smap: SourceMap) -> None:
        req_end = 0
        opt_start = len(content)
        at = 0
        for token in content.split(" "):
            if token.startswith("-"):
                opt_start = at
                break
            at += len(token) + 1
            req_end = at - 1
        requirement = content[:req_end].rstrip()
        try:
            words = shell_words(content[opt_start:])
        except ValueError as exc:
            self.issue(smap.to_source(base + opt_start), f"cannot split options: {exc}")
            return
        texts = [w for w, _ in words]

        def locate(word: int, start: int, length: int) -> Span:
            offsets = words[word][1]
            picked = offsets[start : start + length] or offsets[start : start + 1] or offsets[-1:]
            first = base + opt_start + picked[0]
            return smap.span_to_source(first, base + opt_start + picked[-1] + 1)

        def span(item: Parsed) -> Span:
            return locate(item.word, item.start, len(item.value or ""))

        hashes: list[str] = []
        for item in scan(texts, _OPTIONS):
            where = locate(item.option_word, item.option_start, 1).start
            if item.dest == POSITIONAL:
                continue
            if item.dest == UNKNOWN:
                self.issue(where, f"unknown option {item.option} in requirements file")
            elif item.value is None and item.dest in _VALUE_DESTS:
                self.issue(where, f"option {item.option} needs a value")
            elif requirement:
                if item.dest == "hash" and item.value is not None:
                    hashes.append(item.value)
                elif item.dest not in _PER_REQUIREMENT:
                    self.issue(where, f"option {item.option} cannot be used on a requirement line")
            else:
                self.option(item, span(item))
        if requirement:
            self.add(requirement, smap.span_to_source(base, base + len(requirement)), hashes)

    def add(
        self, raw: str, span: Span, hashes: list[str], *, editable: bool = False
    ) -> PyRequirement:
        req, error = make_requirement(
            raw,
            file=self.path,
            lines=self.lines,
            span=span,
            origin=self.origin,
            hashes=tuple(hashes),
            constraint=self.constraint,
            editable=editable,
        )
        self.result.requirements.append(req)
        if error is not None:
            self.issue(span.start, f"invalid requirement {raw!r}: {error.splitlines()[0]}")
        return req

    def option(self, item: Parsed, span: Span) -> None:
        value = item.value
        options = self.result.options
        if value is None:
            if item.dest == "no_index":
                options.no_index = True
            elif item.dest == "prefer_binary":
                options.prefer_binary = True
            elif item.dest == "pre":
                options.pre = True
            return
        if item.dest in ("requirement", "constraint"):
            self.include(value, span, constraint=item.dest == "constraint")
        elif item.dest == "editable":
            self.add(value, span, [], editable=True)
        elif item.dest == "index_url":
            options.index_url = value
        elif item.dest == "extra_index_url":
            options.extra_index_urls.append(value)
        elif item.dest == "find_links":
            options.find_links.append(value)
        elif item.dest == "no_binary":
            options.add_no_binary(value)
        elif item.dest == "only_binary":
            options.add_only_binary(value)
        elif item.dest == "trusted_host":
            options.trusted_hosts.append(value)

    def include(self, value: str, span: Span, *, constraint: bool) -> None:
        if is_url(value):
            self.issue(span.start, f"remote requirements file {value} is not read")
            return
        if "$" in value:
            self.issue(span.start, f"requirements file path {value} uses a variable; not read")
            return
        if PurePath(value).is_absolute():
            self.issue(
                span.start,
                f"absolute path {value} refers to the image, not the build context; not read",
            )
            return
        pos = self.lines.position(span.start)
        site = SourceIssue(self.path, pos.line, pos.column, "")
        target = lexical(self.path.parent / value, self.reader.root)
        self.reader.read(
            target, constraint=constraint, stack=self.stack, names=self.names, site=site
        )
