"""A dictionary that forgets everything once it holds its limit.

For answers that depend on their key alone and that files (and an editor's keystrokes)
ask again and again: a name's normal form, a RUN's flat text, a download's arch naming.
Callers look entries up on paths that run per word or per RUN, where a dictionary look-up
is the cheapest there is, and some keep only some keys (no long texts). Clearing all at
once bounds a long-lived process (the language server) without least-recently-used
bookkeeping.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Generic, TypeVar

    K = TypeVar("K")
    V = TypeVar("V")

    class BoundedMemo(dict[K, V], Generic[K, V]):
        limit: int

        def __init__(self, limit: int) -> None: ...

        def keep(self, key: K, value: V) -> V:
            """Remember ``value`` for ``key`` (forgetting all first when full); ``value``."""
            ...

else:
    # A dict subclass at run time, so that look-ups stay dict look-ups; typing (for
    # Generic) is not imported for it.

    class BoundedMemo(dict):
        __slots__ = ("limit",)

        def __init__(self, limit):
            super().__init__()
            self.limit = limit

        def keep(self, key, value):
            if len(self) >= self.limit:
                self.clear()
            self[key] = value
            return value
