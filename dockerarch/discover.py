"""Finding Dockerfiles under the paths given on the command line."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from dockerarch.records import record

SKIP_DIRS = frozenset({".git", "node_modules", ".venv"})
PATTERNS = "Dockerfile, Dockerfile.*, *.Dockerfile, *.dockerfile, Containerfile, Containerfile.*"


def is_dockerfile_name(name: str) -> bool:
    # BuildKit reads <Dockerfile>.dockerignore next to a Dockerfile; it is not one.
    if name.endswith(".dockerignore"):
        return False
    return (
        name in ("Dockerfile", "Containerfile")
        or name.startswith(("Dockerfile.", "Containerfile."))
        or name.endswith((".Dockerfile", ".dockerfile"))
    )


@record
class DiscoveryError:
    path: Path
    problem: str


#: Whether a path found while walking is excluded; the flag says it is a directory.
Excluded = Callable[[Path, bool], bool]


def discover(paths: Sequence[Path], excluded: Excluded) -> Iterator[Path | DiscoveryError]:
    """Dockerfiles to check, in a stable order, and the paths that gave none.

    Files named on the command line are checked whatever their name and
    even when excluded, as in ruff; directories are walked. Symbolic links
    to directories are followed once each, so a link loop ends the walk.
    """
    seen_files: set[Path] = set()
    for path in paths:
        if not path.is_dir():
            if path not in seen_files:
                seen_files.add(path)
                yield path
            continue
        found = 0
        visited: set[str] = set()
        for item in _walk(path, excluded, visited):
            if isinstance(item, Path):
                if item in seen_files:
                    continue
                seen_files.add(item)
                found += 1
            yield item
        if not found:
            yield DiscoveryError(path, f"no Dockerfiles found (looked for {PATTERNS})")


def _walk(
    directory: Path, excluded: Excluded, visited: set[str]
) -> Iterator[Path | DiscoveryError]:
    real = os.path.realpath(directory)
    if real in visited:
        return
    visited.add(real)
    try:
        with os.scandir(directory) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as e:
        yield DiscoveryError(directory, f"cannot read directory: {(e.strerror or str(e)).lower()}")
        return
    subdirs = []
    for entry in entries:
        path = directory / entry.name
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        if is_dir:
            if entry.name not in SKIP_DIRS and not excluded(path, True):
                subdirs.append(path)
        elif is_dockerfile_name(entry.name) and not excluded(path, False):
            yield path
    for sub in subdirs:
        yield from _walk(sub, excluded, visited)


class GlobSet:
    """gitignore-style globs relative to ``root``; a later ``!pattern`` re-includes.

    A pattern without a slash matches a name at any depth; one with a slash
    is anchored at ``root``; a trailing slash matches directories only;
    ``**`` spans directories. A path is also matched when one of its parent
    directories is.
    """

    def __init__(self, patterns: Sequence[str], root: Path) -> None:
        self.root = Path(os.path.abspath(root))
        self.patterns = tuple(patterns)
        self._compiled = [c for c in map(compile_glob, patterns) if c is not None]

    def __bool__(self) -> bool:
        return bool(self._compiled)

    def matches(self, path: Path, is_dir: bool) -> bool:
        rel = os.path.relpath(os.path.abspath(path), self.root).replace(os.sep, "/")
        parts = rel.split("/")
        for i in range(1, len(parts) + 1):
            if self._match_one("/".join(parts[:i]), is_dir or i < len(parts)):
                return True
        return False

    def _match_one(self, rel: str, is_dir: bool) -> bool:
        result = False
        for regex, negate, dir_only in self._compiled:
            if dir_only and not is_dir:
                continue
            if regex.fullmatch(rel):
                result = not negate
        return result


def compile_glob(pattern: str) -> tuple[re.Pattern[str], bool, bool] | None:
    """(regex, negated, directories only) for one gitignore line; None for blanks and comments."""
    pattern = pattern.strip()
    if not pattern or pattern.startswith("#"):
        return None
    negate = pattern.startswith("!")
    if negate:
        pattern = pattern[1:]
    dir_only = pattern.endswith("/")
    pattern = pattern.rstrip("/")
    anchored = "/" in pattern
    pattern = pattern.lstrip("/")
    regex = _translate(pattern)
    if not anchored:
        regex = "(?:.*/)?" + regex
    return re.compile(regex), negate, dir_only


def _translate(pattern: str) -> str:
    out = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("**/", i) and (i == 0 or pattern[i - 1] == "/"):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i) and i + 2 == n and (i == 0 or pattern[i - 1] == "/"):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[" and (close := pattern.find("]", i + 2)) != -1:
            body = pattern[i + 1 : close]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = close + 1
        elif c == "\\" and i + 1 < n:
            out.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)
