"""Patterns compiled on first use: they match as re.compile's do, and none hides where the
first use cannot replace it with the compiled pattern."""

from __future__ import annotations

import re
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

from dockerarch.lazyre import LazyPattern
from tests.modules import every_module

ROOT = Path(__file__).resolve().parent.parent

_DEMO = r"""
import re
from dockerarch.lazyre import lazy_compile

_WORD = lazy_compile(r"(?P<w>[a-z]+)-(\d+)", re.IGNORECASE)

def find(text):
    return _WORD.search(text)
"""


def test_the_first_use_compiles_and_takes_the_stand_ins_place() -> None:
    demo = types.ModuleType("demo")
    exec(_DEMO, demo.__dict__)  # a module of its own: pytest's collection touches ours
    assert isinstance(demo._WORD, LazyPattern)
    m = demo.find("x ABC-12 y")
    assert m is not None and m.group("w") == "ABC" and m.span() == (2, 8)
    replaced: object = demo.__dict__["_WORD"]
    assert replaced is re.compile(r"(?P<w>[a-z]+)-(\d+)", re.IGNORECASE)
    assert demo.find("none") is None


def _hidden(value: Any, depth: int = 0) -> bool:
    if isinstance(value, LazyPattern):
        return True
    if depth > 3:
        return False
    if isinstance(value, dict):
        return any(_hidden(v, depth + 1) or _hidden(k, depth + 1) for k, v in value.items())
    if isinstance(value, (tuple, list, set, frozenset)):
        return any(_hidden(v, depth + 1) for v in value)
    if isinstance(value, types.FunctionType):
        return any(_hidden(v, depth + 1) for v in (value.__defaults__ or ()))
    return False


def hidden_stand_ins() -> list[str]:
    """Stand-ins kept in a container, a default argument or another module's globals (by
    ``from module import PATTERN``): their first use would not replace them."""
    hidden = []
    for module in every_module():
        for name, value in vars(module).items():
            if isinstance(value, LazyPattern):
                if value._namespace is not vars(module):
                    hidden.append(f"{module.__name__}.{name} (imported)")
            elif _hidden(value):
                hidden.append(f"{module.__name__}.{name}")
            if isinstance(value, type):
                hidden += [
                    f"{module.__name__}.{value.__name__}.{attr}"
                    for attr, member in vars(value).items()
                    if _hidden(member)
                ]
    return hidden


def test_every_stand_in_is_a_module_global() -> None:
    # In a fresh interpreter: here, earlier tests may have used (and replaced) the patterns
    # before a module imported them by name.
    code = "from tests.test_lazyre import hidden_stand_ins; print(hidden_stand_ins())"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
