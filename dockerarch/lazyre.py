"""Module-level regular expressions compiled when first used, not when imported.

A check imports every rule module, and compiling their patterns (``re`` does it in Python)
was 7% of a one-file run, though one file uses few of them. ``_X = lazy_compile(r"...")``
stands where ``_X = re.compile(r"...")`` would: the first use compiles the pattern and puts
it in the module's globals in place of the stand-in, so the module's functions find the
pattern itself from then on and pay nothing per use. A stand-in kept anywhere else (a
container, a default argument) would stay one and pay a Python call per use;
tests/test_lazyre.py checks that none is.
"""

from __future__ import annotations

import re
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class LazyPattern:
    """Stands in for ``re.compile(pattern, flags)`` until an attribute is asked for."""

    __slots__ = ("_compiled", "_flags", "_namespace", "_pattern")

    def __init__(self, pattern: str, flags: int, namespace: dict[str, Any]) -> None:
        self._pattern = pattern
        self._flags = flags
        self._namespace = namespace
        self._compiled: re.Pattern[str] | None = None

    def __getattr__(self, name: str) -> Any:
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = re.compile(self._pattern, self._flags)
            for key, value in list(self._namespace.items()):
                if value is self:
                    self._namespace[key] = compiled
        return getattr(compiled, name)

    def __repr__(self) -> str:
        return f"lazy_compile({self._pattern!r}, {self._flags!r})"


def lazy_compile(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """``re.compile(pattern, flags)``, compiled on first use (see the module's docs). For
    module-level assignments only: the module's globals are where the pattern is put."""
    namespace = sys._getframe(1).f_globals
    # A stand-in for the pattern (typing.cast would import typing: 5% of a one-file check).
    return LazyPattern(pattern, flags, namespace)  # type: ignore[return-value]
