"""``cached_property`` without the lock Python 3.10 and 3.11 take on every first read.

``functools.cached_property`` there holds one RLock per property, shared by all
instances, around computing the value: about 0.3 us more per first read than the
computation needs. A check makes a few dozen stage and platform environments per
file and reads each fact once, so that was ~1% of checking a file. Python 3.12
dropped the lock; dockerarch is single-threaded where it computes these (a
worker per process), and a value computed twice would be the same value.

Type checkers see ``functools.cached_property``, which behaves the same for them.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from functools import cached_property as cached_property
else:

    class cached_property:
        """The value of the method, computed on the first read and kept in the
        instance's ``__dict__``, where later reads find it without calling this."""

        def __init__(self, func):
            self.func = func
            self.attrname = func.__name__
            self.__doc__ = func.__doc__

        def __set_name__(self, owner, name):
            self.attrname = name

        def __get__(self, instance, owner=None):
            if instance is None:
                return self
            value = instance.__dict__[self.attrname] = self.func(instance)
            return value
