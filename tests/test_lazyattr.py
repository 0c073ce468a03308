"""dockerarch.lazyattr.cached_property reads as functools.cached_property does."""

from __future__ import annotations

import functools

import pytest

from dockerarch.lazyattr import cached_property


def make(decorator: type) -> type:
    class Counted:
        def __init__(self) -> None:
            self.calls = 0

        @decorator
        def value(self) -> list[int]:
            """The doc."""
            self.calls += 1
            return [self.calls]

    return Counted


@pytest.mark.parametrize("decorator", [cached_property, functools.cached_property])
def test_computed_once_per_instance_and_kept_in_its_dict(decorator: type) -> None:
    counted = make(decorator)
    first, second = counted(), counted()
    assert first.value is first.value == [1]
    assert first.calls == 1 and first.__dict__["value"] == [1]
    assert second.value == [1] and second.calls == 1
    del first.value  # forgetting the value computes it again
    assert first.value == [2]
    assert counted.__dict__["value"].__doc__ == "The doc."
    assert isinstance(counted.value, decorator)  # read on the class: the descriptor
