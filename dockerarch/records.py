"""Immutable records: dataclasses that type checkers hold frozen.

``@dataclass(frozen=True)`` enforces immutability at run time: ``__init__`` sets
each field through ``object.__setattr__``, and the class gets generated
``__setattr__``/``__delattr__`` methods. Defining a dataclass is also slow: each
generated method is source text compiled by ``exec``, ~0.6 M instructions apiece
(callgrind), and a check of one small file defines about a hundred records before
it reads a line. So in a user's run a record is a dataclass with only ``__init__``
generated; ``__repr__``, ``__eq__`` and ``__hash__`` are shared functions that
behave as the generated ones do (same text, same comparison and hash over the same
fields). Creating a two-field ``Span`` then costs 0.12 us instead of 0.35; under
callgrind a check of one small file went from 828 M instructions (frozen
dataclasses) to 715 M (plain ones) to 617 M (this), ``python -c pass`` being 88 M.

The immutability guarantee is kept where it is checked: ``frozen_default=True``
makes mypy (``--strict``) reject any assignment to a record's field, and the test
suite sets ``DOCKERARCH_FROZEN=1`` (tests/conftest.py), which makes every record a
real ``@dataclass(frozen=True)``, in the suite's own process and in the processes
it starts. tests/test_records.py holds the two kinds to the same behaviour.
Set-once caches on a record keep using ``object.__setattr__``, which works either way.
"""

from __future__ import annotations

import os
import reprlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from operator import attrgetter
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
        if order:
            # Ordering methods are generated from the comparison fields, with __eq__.
            return dataclass(unsafe_hash=True, slots=slots, order=True)(c)
        made = dataclass(repr=False, eq=False, slots=slots)(c)
        _share_methods(made)
        return made

    return make if cls is None else make(cls)


def _share_methods(cls: type[Any]) -> None:
    """Give ``cls`` the ``__repr__``, ``__eq__`` and ``__hash__`` a frozen dataclass
    would generate, as shared functions reading the fields through getters; like
    dataclass, keep those the class body defines itself."""
    body = dict(cls.__dict__)
    own = fields(cls)
    cls._record_shown = tuple(f.name for f in own if f.repr)
    # Static: a getter made of a lambda would otherwise bind to the instance.
    cls._record_compared = staticmethod(_getter([f.name for f in own if f.compare]))
    hashed = [f.name for f in own if (f.compare if f.hash is None else f.hash)]
    cls._record_hashed = staticmethod(_getter(hashed))
    # A body that defines __eq__ gets __hash__ = None from Python, which is not its own.
    own_hash = "__hash__" in body and not (body["__hash__"] is None and "__eq__" in body)
    shared: dict[str, Callable[..., Any]] = {"__repr__": _repr, "__eq__": _eq, "__hash__": _hash}
    for name, method in shared.items():
        if not (own_hash if name == "__hash__" else name in body):
            setattr(cls, name, method)


def _getter(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    """The values of ``names`` as a tuple, as the generated methods compare them."""
    if not names:
        return lambda _: ()
    if len(names) == 1:
        one = attrgetter(names[0])
        return lambda obj: (one(obj),)
    return attrgetter(*names)


@reprlib.recursive_repr()
def _repr(self: Any) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._record_shown)
    return f"{type(self).__qualname__}({shown})"


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is self.__class__:
        compared = self._record_compared
        return compared(self) == compared(other)
    return NotImplemented


def _hash(self: Any) -> int:
    return hash(self._record_hashed(self))
