"""BuildKit's variable expansion for Dockerfile words (not for RUN scripts).

Supports ``$V``, ``${V}``, ``${V:-w}``, ``${V-w}``, ``${V:+w}``, ``${V+w}``,
``${V:?m}``, ``${V#p}``, ``${V##p}``, ``${V%p}``, ``${V%%p}``, quotes and the
escape character. A variable that is declared but has no known value
(``ARG BASE`` with no default: a ``--build-arg`` we cannot see) makes the
result unknown, so no rule reasons from a guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from fnmatch import fnmatchcase


class Unknown(Exception):
    """The word depends on a value we cannot know."""


#: name -> value; None = declared without a known value.
Env = Mapping[str, "str | None"]


def expand(word: str, env: Env, escape: str = "\\") -> str | None:
    """The expanded, unquoted word, or None when it depends on an unknown."""
    if _plain(word, escape):
        return word
    try:
        return _Expander(word, env, escape).run()
    except Unknown:
        return None


def references(word: str, escape: str = "\\") -> list[str]:
    """Names of the variables ``word`` refers to, in order."""
    if "$" not in word:
        return []
    recorder = _Recorder()
    try:
        _Expander(word, recorder, escape).run()
    except Unknown:
        pass
    return recorder.seen


def _plain(word: str, escape: str) -> bool:
    """Whether expansion leaves ``word`` as it is (most words: no ``$``, quote or escape)."""
    return "$" not in word and "'" not in word and '"' not in word and escape not in word


class _Recorder(dict[str, "str | None"]):
    """An empty environment that notes every name looked up in it."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str) and key not in self.seen:
            self.seen.append(key)
        return False


def _is_name_start(ch: str) -> bool:
    return ch.isascii() and (ch.isalpha() or ch == "_")


def _is_name(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch == "_")


class _Expander:
    def __init__(self, word: str, env: Env, escape: str) -> None:
        self.s = word
        self.i = 0
        self.env = env
        self.escape = escape

    def run(self, stop: str = "") -> str:
        out: list[str] = []
        s = self.s
        quote = ""
        while self.i < len(s):
            ch = s[self.i]
            if not quote and stop and ch in stop:
                break
            if quote == "'":
                if ch == "'":
                    quote = ""
                else:
                    out.append(ch)
                self.i += 1
                continue
            if ch == self.escape and self.i + 1 < len(s):
                nxt = s[self.i + 1]
                if quote == '"' and nxt not in f'"$`{self.escape}':
                    out.append(ch)
                out.append(nxt)
                self.i += 2
                continue
            if ch == "'" and not quote:
                quote = "'"
                self.i += 1
                continue
            if ch == '"':
                quote = "" if quote else '"'
                self.i += 1
                continue
            if ch == "$":
                out.append(self._dollar())
                continue
            out.append(ch)
            self.i += 1
        return "".join(out)

    def _lookup(self, name: str) -> str | None:
        if name not in self.env:
            return ""
        value = self.env[name]
        if value is None:
            raise Unknown(name)
        return value

    def _dollar(self) -> str:
        s = self.s
        self.i += 1
        if self.i >= len(s):
            return "$"
        ch = s[self.i]
        if ch == "{":
            return self._braced()
        if _is_name_start(ch):
            j = self.i
            while j < len(s) and _is_name(s[j]):
                j += 1
            name = s[self.i : j]
            self.i = j
            return self._lookup(name) or ""
        return "$"

    def _braced(self) -> str:
        s = self.s
        self.i += 1
        j = self.i
        while j < len(s) and _is_name(s[j]):
            j += 1
        name = s[self.i : j]
        self.i = j
        if not name or self.i >= len(s):
            raise Unknown("bad substitution")
        op = s[self.i]
        if op == "}":
            self.i += 1
            return self._lookup(name) or ""
        for candidate in (":-", ":+", ":?", "##", "%%", "-", "+", "?", "#", "%"):
            if s.startswith(candidate, self.i):
                op = candidate
                break
        else:
            raise Unknown("unsupported substitution")
        self.i += len(op)
        word = self.run(stop="}")
        if self.i >= len(s) or s[self.i] != "}":
            raise Unknown("unterminated substitution")
        self.i += 1
        declared = name in self.env
        value = self._lookup(name) if declared else None
        if op in (":-", "-"):
            use_default = value is None or (op == ":-" and value == "")
            return word if use_default else (value or "")
        if op in (":+", "+"):
            use_alt = value is not None and (op == "+" or value != "")
            return word if use_alt else ""
        if op in (":?", "?"):
            if value is None or (op == ":?" and value == ""):
                raise Unknown(f"{name} unset")
            return value
        value = value or ""
        if op in ("#", "##"):
            cuts = range(len(value) + 1) if op == "#" else range(len(value), -1, -1)
            for k in cuts:
                if fnmatchcase(value[:k], word):
                    return value[k:]
            return value
        cuts = range(len(value), -1, -1) if op == "%" else range(len(value) + 1)
        for k in cuts:
            if fnmatchcase(value[k:], word):
                return value[:k]
        return value
