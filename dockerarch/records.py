"""Immutable records: dataclasses that type checkers hold frozen.

``@dataclass(frozen=True)`` enforces immutability at run time: ``__init__`` sets
each field through ``object.__setattr__``, and the class gets generated
``__setattr__``/``__delattr__`` methods. Measured here, that makes a two-field
``Span`` cost 0.35 us to create against 0.12 us, and each class two more ``exec``
calls to define; dockerarch creates thousands of spans, words and nodes per file
and defines ~130 records on start-up (about 12% of the instructions of a check).

So the guarantee is kept where it is checked: ``frozen_default=True`` makes mypy
(``--strict``) reject any assignment to a record's field, and the test suite
sets ``DOCKERARCH_FROZEN=1`` (tests/conftest.py), which makes every record a
real frozen dataclass, in the suite's own process and in the processes it
starts. Elsewhere a record is a plain dataclass hashed by its fields, as a
frozen one is. Set-once caches on a record keep using ``object.__setattr__``,
which works either way.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

if sys.version_info >= (3, 11):
    from typing import dataclass_transform
else:  # Read by type checkers only, which check as Python 3.11 (setup.cfg).

    def dataclass_transform(**_: Any) -> Callable[[Any], Any]:
        return lambda fn: fn


T = TypeVar("T")

#: Enforce immutability at run time (the test suite sets it).
FROZEN = os.environ.get("DOCKERARCH_FROZEN") == "1"


@overload
def record(cls: type[T], /) -> type[T]: ...


@overload
def record(*, slots: bool = False, order: bool = False) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def record(
    cls: type[T] | None = None, /, *, slots: bool = False, order: bool = False
) -> type[T] | Callable[[type[T]], type[T]]:
    """``@dataclass(frozen=True, slots=..., order=...)``, frozen for type checkers."""

    def make(c: type[T]) -> type[T]:
        if FROZEN:
            return dataclass(frozen=True, slots=slots, order=order)(c)
        return dataclass(unsafe_hash=True, slots=slots, order=order)(c)

    return make if cls is None else make(cls)
