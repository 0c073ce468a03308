"""Scan command-line style options the way optparse (pip) and clap (uv) do.

Only the shape of the arguments matters here: which words are options, which
option consumes the following word as its value, and which words are
positional. Knowing every value-taking option is what keeps ``--index-url
https://x numpy`` from reading ``https://x`` as a package.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping, Sequence

from dockerarch.records import record

POSITIONAL = "<positional>"
UNKNOWN = "<unknown>"


@record(slots=True)
class OptionTable:
    """Options by spelling (``"--index-url"``, ``"-i"``) mapped to (dest, takes_value)."""

    options: Mapping[str, tuple[str, bool]]
    # optparse accepts any unambiguous prefix of a long option; clap does not.
    abbreviations: bool = False
    # clap reads "-r=file" as "-r file"; optparse keeps the "=" in the value.
    short_equals: bool = False

    def long(self, spelling: str) -> tuple[str, bool] | None:
        found = self.options.get(spelling)
        if found is not None or not self.abbreviations:
            return found
        matches = {v for k, v in self.options.items() if k.startswith(spelling) and k[:2] == "--"}
        return matches.pop() if len(matches) == 1 else None

    def merged(self, other: OptionTable) -> OptionTable:
        return OptionTable({**self.options, **other.options}, self.abbreviations, self.short_equals)


def table(value_options: Sequence[str], flags: Sequence[str]) -> dict[str, tuple[str, bool]]:
    """Build an option mapping from ``"-r/--requirement"`` style declarations."""
    out: dict[str, tuple[str, bool]] = {}
    for takes_value, decls in ((True, value_options), (False, flags)):
        for decl in decls:
            spellings = decl.split("/")
            dest = spellings[-1].lstrip("-").replace("-", "_")
            for spelling in spellings:
                out[spelling] = (dest, takes_value)
    return out


@record(slots=True)
class Parsed:
    """One option or positional argument.

    ``value`` is the option's value (None for flags and for a value missing at
    the end); ``word`` is the index of the word holding the value (or the
    option/positional itself) and ``start`` the value's offset in that word;
    ``option_word``/``option_start`` locate the option itself.
    """

    dest: str
    option: str
    value: str | None
    word: int
    start: int
    option_word: int
    option_start: int = 0


def scan(words: Sequence[str], options: OptionTable, first: int = 0) -> Iterator[Parsed]:
    i = first
    positional_only = False
    while i < len(words):
        word = words[i]
        if positional_only or word == "-" or not word.startswith("-"):
            yield Parsed(POSITIONAL, "", word, i, 0, i)
            i += 1
            continue
        if word == "--":
            positional_only = True
            i += 1
            continue
        if word.startswith("--"):
            spelling, eq, attached = word.partition("=")
            spec = options.long(spelling)
            if spec is None:
                yield Parsed(UNKNOWN, spelling, attached if eq else None, i, len(spelling) + 1, i)
                i += 1
                continue
            dest, takes_value = spec
            if not takes_value:
                yield Parsed(dest, spelling, None, i, 0, i)
            elif eq:
                yield Parsed(dest, spelling, attached, i, len(spelling) + 1, i)
            elif i + 1 < len(words):
                yield Parsed(dest, spelling, words[i + 1], i + 1, 0, i)
                i += 1
            else:
                yield Parsed(dest, spelling, None, i, len(word), i)
            i += 1
            continue
        i = yield from _short_cluster(words, i, options)
    return


def _short_cluster(
    words: Sequence[str], i: int, options: OptionTable
) -> Generator[Parsed, None, int]:
    # "-qUr file", "-rfile": flags may be clustered; the first value-taking
    # option takes the rest of the word, or the next word.
    word = words[i]
    at = i
    j = 1
    while j < len(word):
        spelling = "-" + word[j]
        # Point at the dash for the first option of a cluster, else at its letter.
        here = 0 if j == 1 else j
        spec = options.options.get(spelling)
        if spec is None:
            yield Parsed(UNKNOWN, spelling, None, i, j, at, here)
            j += 1
            continue
        dest, takes_value = spec
        if not takes_value:
            yield Parsed(dest, spelling, None, i, j, at, here)
            j += 1
            continue
        start = j + 1
        if options.short_equals and word[start : start + 1] == "=":
            start += 1
        if start < len(word):
            yield Parsed(dest, spelling, word[start:], i, start, at, here)
        elif i + 1 < len(words):
            i += 1
            yield Parsed(dest, spelling, words[i], i, 0, at, here)
        else:
            yield Parsed(dest, spelling, None, i, len(word), at, here)
        break
    return i + 1
