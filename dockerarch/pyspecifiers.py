"""Versions and specifiers (PEP 440) of the plainest kind, read without packaging.

Most specifiers a Dockerfile or an index carries are operators on plain releases:
``==2.31.0``, ``>=4.2,<5``, ``~=1.26``, ``!=3.0.*``, and ``Requires-Python: >=3.8``.
Importing packaging.specifiers (its patterns compiled) costs 7% of a one-file run that
checks ``pip install requests==2.31.0``. These readers answer such clauses themselves and
return None for anything else, which packaging then reads; on what they answer, their
answer is packaging's (tests/test_packaging_equivalence.py). A pinned version likewise
travels as text (``2.31.0``) and is looked up by :func:`plain_release`: packaging.version,
another 3%, is imported when a Version is needed, not to find a pinned release.
"""

from __future__ import annotations

import functools

from dockerarch.lazyre import lazy_compile
from dockerarch.records import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

#: An operator and a plain release (``==`` and ``!=`` may end in ``.*``); [0-9], not \d,
#: as packaging reads ASCII digits only.
_CLAUSE = lazy_compile(r"[ \t]*(==|!=|~=|>=|<=|<|>)[ \t]*([0-9]+(?:\.[0-9]+)*)(\.\*)?[ \t]*")


@record(slots=True)
class Clause:
    """One clause: an operator on a plain release (``>=3.8``, ``!=3.0.*``)."""

    operator: str
    #: As written, ``.*`` included: what packaging prints.
    version: str
    release: tuple[int, ...]
    wildcard: bool

    @property
    def identity(self) -> tuple[object, ...]:
        """What packaging's Specifier equality compares: the release without trailing zeros
        (but for ``~=``, where the length means something)."""
        release = self.release
        if self.operator != "~=" and not self.wildcard:
            release = _without_trailing_zeros(release)
        return self.operator, release, self.wildcard


@functools.lru_cache(maxsize=1024)
def plain_clauses(text: str) -> tuple[Clause, ...] | None:
    """The clauses of ``text`` when each is an operator on a plain release; None otherwise.

    Such clauses are always valid. Two that packaging counts as one (``==1.0`` and
    ``==1.0.0``) make it None too: which of them packaging keeps is its business.
    """
    if not text.strip():
        return ()
    out: dict[str, Clause] = {}
    for part in text.split(","):
        match = _CLAUSE.fullmatch(part)
        if match is None:
            return None
        operator, release, wildcard = match.groups()
        if wildcard and operator not in ("==", "!="):
            return None
        numbers = tuple(int(n) for n in release.split("."))
        if operator == "~=" and len(numbers) < 2:
            return None
        clause = Clause(operator, release + (wildcard or ""), numbers, bool(wildcard))
        out[operator + clause.version] = clause
    if len({c.identity for c in out.values()}) != len(out):
        return None
    return tuple(out.values())


def written(clauses: tuple[Clause, ...]) -> str:
    """``str(SpecifierSet(text))`` for the plain clauses of ``text``: sorted, once each."""
    return ",".join(sorted(c.operator + c.version for c in clauses))


def allows(clauses: tuple[Clause, ...], version: tuple[int, ...]) -> bool:
    """Whether the final release ``version`` (``(3, 12)``) satisfies every clause."""
    return all(_allows(c.operator, c.release, c.wildcard, version) for c in clauses)


def _allows(
    operator: str, release: tuple[int, ...], wildcard: bool, version: tuple[int, ...]
) -> bool:
    if wildcard:
        # A prefix match, the candidate padded with zeros to the prefix's length.
        prefix = _padded(version, len(release))[: len(release)]
        return (prefix == release) == (operator == "==")
    width = max(len(version), len(release))
    mine, theirs = _padded(version, width), _padded(release, width)
    if operator == "==":
        return mine == theirs
    if operator == "!=":
        return mine != theirs
    if operator == ">=":
        return mine >= theirs
    if operator == "<=":
        return mine <= theirs
    if operator == ">":
        return mine > theirs
    if operator == "<":
        return mine < theirs
    # ~=X.Y.Z: >= X.Y.Z and the same X.Y.
    return mine >= theirs and _allows("==", release[:-1], True, version)


def _padded(release: tuple[int, ...], width: int) -> tuple[int, ...]:
    return release + (0,) * max(0, width - len(release))


_RELEASE = lazy_compile(r"[0-9]+(?:\.[0-9]+)*")


@functools.lru_cache(maxsize=4096)
def plain_release(text: str) -> tuple[int, ...] | None:
    """The numbers of a final release written plainly (``2.31.0``), trailing zeros dropped
    as version equality ignores them (``(2, 31)``); None for any other text."""
    if _RELEASE.fullmatch(text) is None:
        return None
    return _without_trailing_zeros(tuple(int(n) for n in text.split(".")))


def _without_trailing_zeros(release: tuple[int, ...]) -> tuple[int, ...]:
    end = len(release)
    while end > 1 and release[end - 1] == 0:
        end -= 1
    return release[:end]


@functools.lru_cache(maxsize=4096)
def parse_version(text: str) -> Version:
    """packaging's Version of ``text`` (a valid one), one object per text."""
    from packaging.version import Version

    return Version(text)


@functools.lru_cache(maxsize=1024)
def specifier_set(text: str) -> SpecifierSet:
    """packaging's reading of ``text``, a specifier known to be valid (a requirement's).

    Shared between callers, as requirements repeat: none may set its ``prereleases``."""
    from packaging.specifiers import SpecifierSet

    return SpecifierSet(text)
