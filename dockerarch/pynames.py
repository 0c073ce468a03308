"""Python project names, normalized as PEP 503 says.

packaging.utils has the same function, but importing packaging.utils imports
packaging.tags, and with it platform, subprocess, logging and sysconfig: a
fifth of a one-file run that only needs to compare names.
tests/test_packaging_equivalence.py holds the two equal.
"""

from __future__ import annotations

from dockerarch.lazyre import lazy_compile
from dockerarch.memo import BoundedMemo

TYPE_CHECKING = False
if TYPE_CHECKING:
    from packaging.utils import NormalizedName

_SEPARATORS = lazy_compile(r"[-_.]+")


#: Names already normalized: a file asks about the same few names many times over
#: (~20 calls a file, a regular-expression substitution each).
_KNOWN_MAX = 4096
_known: BoundedMemo[str, NormalizedName] = BoundedMemo(_KNOWN_MAX)


def canonicalize_name(name: str) -> NormalizedName:
    """``name`` lower-cased with each run of ``-``, ``_`` and ``.`` made one ``-``."""
    found = _known.get(name)
    if found is not None:
        return found
    # NormalizedName is a NewType of str (typing.cast would import typing).
    normalized: NormalizedName = _SEPARATORS.sub("-", name).lower()  # type: ignore[assignment]
    return _known.keep(name, normalized)
