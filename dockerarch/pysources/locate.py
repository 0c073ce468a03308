"""Source spans of keys and values in TOML and JSON documents.

tomllib and json return values without positions. These scanners walk a
document that the real parser has already accepted and record, for every key
path, the span of its key and of its value. Paths use table keys and list
indices: ``("project", "dependencies", 2)``, ``("package", 5, "version")`` for
the sixth ``[[package]]``. Being run only on valid documents, they stay small;
on anything unexpected they stop and keep what they found.
"""

from __future__ import annotations

import json
import sys

from dockerarch.lazyre import lazy_compile
from dockerarch.syntax.positions import Span

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

TOMLDecodeError = tomllib.TOMLDecodeError


def load_toml(text: str) -> dict[str, Any]:
    data: dict[str, Any] = tomllib.loads(text)
    return data


KeyPath = tuple[str | int, ...]

_BARE_KEY = lazy_compile(r"[A-Za-z0-9_-]+")
_SCALAR_END = lazy_compile(r"[,\]}#\n]")
# Longest first, so a triple quote is not read as an empty string.
_DELIMITERS = ('"""', "'''", '"', "'")
_JSON_SCALAR = lazy_compile(r"[-+0-9.eE]+|true|false|null")


class Located:
    """Key and value spans by path; string values also by their inner (unquoted) span."""

    def __init__(self) -> None:
        self.keys: dict[KeyPath, Span] = {}
        self.values: dict[KeyPath, Span] = {}
        self.strings: dict[KeyPath, Span] = {}

    def value(self, path: KeyPath) -> Span | None:
        """The string's content span for strings, else the whole value's span."""
        return self.strings.get(path) or self.values.get(path)

    def entry(self, path: KeyPath) -> Span | None:
        """From the start of the key (or the value, for list items) to the end of the value."""
        value = self.values.get(path)
        if value is None:
            return None
        key = self.keys.get(path)
        return Span(key.start, value.end) if key else value


class _Stop(Exception):
    pass


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.out = Located()

    def peek(self, n: int = 1) -> str:
        return self.text[self.pos : self.pos + n]

    def expect(self, s: str) -> None:
        if not self.text.startswith(s, self.pos):
            raise _Stop
        self.pos += len(s)

    def skip_blank(self, newlines: bool) -> None:
        chars = " \t\r\n" if newlines else " \t"
        text = self.text
        while self.pos < len(text):
            ch = text[self.pos]
            if ch in chars:
                self.pos += 1
            elif ch == "#" and newlines:
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            else:
                return

    def record(self, path: KeyPath, start: int, quote: int) -> None:
        self.out.values[path] = Span(start, self.pos)
        if quote:
            inner = start + quote
            if quote == 3 and self.text.startswith("\n", inner):
                inner += 1
            elif quote == 3 and self.text.startswith("\r\n", inner):
                inner += 2
            self.out.strings[path] = Span(inner, self.pos - quote)


class _Toml(_Scanner):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.arrays: dict[KeyPath, int] = {}

    def resolve(self, keys: list[str]) -> KeyPath:
        # A header key naming an array of tables refers to its latest element.
        path: KeyPath = ()
        for key in keys:
            path = (*path, key)
            if path in self.arrays:
                path = (*path, self.arrays[path] - 1)
        return path

    def run(self) -> Located:
        table: KeyPath = ()
        text = self.text
        while True:
            self.skip_blank(newlines=True)
            if self.pos >= len(text):
                return self.out
            if self.peek(2) == "[[":
                start = self.pos
                self.pos += 2
                keys, _ = self.key()
                self.skip_blank(newlines=False)
                self.expect("]]")
                parent = (*self.resolve(keys[:-1]), keys[-1])
                index = self.arrays.get(parent, 0)
                self.arrays[parent] = index + 1
                table = (*parent, index)
                self.out.keys[table] = Span(start, self.pos)
            elif self.peek() == "[":
                start = self.pos
                self.pos += 1
                keys, _ = self.key()
                self.skip_blank(newlines=False)
                self.expect("]")
                table = self.resolve(keys)
                self.out.keys.setdefault(table, Span(start, self.pos))
            else:
                self.pair(table)

    def pair(self, table: KeyPath) -> None:
        keys, key_span = self.key()
        self.skip_blank(newlines=False)
        self.expect("=")
        self.skip_blank(newlines=False)
        path = (*table, *keys)
        self.out.keys[path] = key_span
        self.value(path)

    def key(self) -> tuple[list[str], Span]:
        keys: list[str] = []
        while True:
            self.skip_blank(newlines=False)
            start = self.pos
            ch = self.peek()
            if ch in ('"', "'"):
                self.string()
                keys.append(load_toml(f"k = {self.text[start : self.pos]}")["k"])
            else:
                m = _BARE_KEY.match(self.text, self.pos)
                if not m:
                    raise _Stop
                keys.append(m.group())
                self.pos = m.end()
            span = Span(start, self.pos)
            self.skip_blank(newlines=False)
            if self.peek() != ".":
                return keys, span
            self.pos += 1

    def string(self) -> int:
        """Skip a string at pos; return its quote length."""
        text = self.text
        delim = next((d for d in _DELIMITERS if text.startswith(d, self.pos)), "")
        if not delim:
            raise _Stop
        escapes = delim[0] == '"'
        i = self.pos + len(delim)
        while True:
            if i >= len(text):
                raise _Stop
            if escapes and text[i] == "\\":
                i += 2
                continue
            if text.startswith(delim, i):
                # A multi-line string may end with up to two extra quotes.
                extra = 0
                while len(delim) == 3 and extra < 2 and text.startswith(delim[0], i + 3):
                    i += 1
                    extra += 1
                self.pos = i + len(delim)
                return len(delim)
            i += 1

    def value(self, path: KeyPath) -> None:
        start = self.pos
        ch = self.peek()
        if ch in ('"', "'"):
            quote = self.string()
            self.record(path, start, quote)
        elif ch == "[":
            self.pos += 1
            index = 0
            while True:
                self.skip_blank(newlines=True)
                if self.peek() == "]":
                    break
                self.value((*path, index))
                index += 1
                self.skip_blank(newlines=True)
                if self.peek() == ",":
                    self.pos += 1
                elif self.peek() != "]":
                    raise _Stop
            self.pos += 1
            self.record(path, start, 0)
        elif ch == "{":
            self.pos += 1
            while True:
                self.skip_blank(newlines=True)
                if self.peek() == "}":
                    break
                self.pair(path)
                self.skip_blank(newlines=True)
                if self.peek() == ",":
                    self.pos += 1
                elif self.peek() != "}":
                    raise _Stop
            self.pos += 1
            self.record(path, start, 0)
        else:
            m = _SCALAR_END.search(self.text, self.pos)
            end = len(self.text) if m is None else m.start()
            self.pos = start + len(self.text[start:end].rstrip(" \t\r"))
            if self.pos == start:
                raise _Stop
            self.record(path, start, 0)


def locate_toml(text: str) -> Located:
    """Spans in a TOML document (call only after tomllib accepted ``text``)."""
    scanner = _Toml(text)
    try:
        return scanner.run()
    except (_Stop, IndexError, ValueError, TOMLDecodeError):
        return scanner.out


class _Json(_Scanner):
    def value(self, path: KeyPath) -> None:
        self.skip_blank(newlines=True)
        start = self.pos
        ch = self.peek()
        if ch == '"':
            self.string()
            self.record(path, start, 1)
        elif ch in "[{":
            close = "]" if ch == "[" else "}"
            self.pos += 1
            index = 0
            while True:
                self.skip_blank(newlines=True)
                if self.peek() == close:
                    break
                if ch == "[":
                    item: KeyPath = (*path, index)
                    index += 1
                else:
                    key_start = self.pos
                    self.string()
                    key = json.loads(self.text[key_start : self.pos])
                    item = (*path, key)
                    self.out.keys[item] = Span(key_start, self.pos)
                    self.skip_blank(newlines=True)
                    self.expect(":")
                self.value(item)
                self.skip_blank(newlines=True)
                if self.peek() == ",":
                    self.pos += 1
                elif self.peek() != close:
                    raise _Stop
            self.pos += 1
            self.record(path, start, 0)
        else:
            m = _JSON_SCALAR.match(self.text, self.pos)
            if not m:
                raise _Stop
            self.pos = m.end()
            self.record(path, start, 0)

    def string(self) -> None:
        if self.peek() != '"':
            raise _Stop
        i = self.pos + 1
        text = self.text
        while text[i] != '"':
            i += 2 if text[i] == "\\" else 1
        self.pos = i + 1


def locate_json(text: str) -> Located:
    """Spans in a JSON document (call only after json accepted ``text``)."""
    scanner = _Json(text)
    try:
        scanner.value(())
    except (_Stop, IndexError, ValueError):
        pass
    return scanner.out
