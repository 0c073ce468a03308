"""A check leaves no cyclic garbage: its tree, model and caches are freed by
reference counting the moment the result is dropped.

Why it matters: the CLI checks thousands of files and the language server one
file per keystroke. Objects that only a garbage collection can free make every
collection walk whole trees, and make memory grow between collections.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from dockerarch.engine import Settings, check_text
from dockerarch.incremental import IncrementalChecker
from tests.test_incremental import _edits

ROOT = Path(__file__).parent.parent
FIXTURES = sorted((ROOT / "fixtures").rglob("Dockerfile*"))
EVERY_RULE = Settings(select=("DA",))


@contextmanager
def _cyclic_garbage() -> Iterator[Counter[str]]:
    """Counts, by type, the objects of dockerarch's own types that only the cycle
    collector could free of what ran inside. (The standard library makes a few
    cycles of its own: ``ast.literal_eval`` defines recursive closures per call.)"""
    found: Counter[str] = Counter()
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield found
        gc.collect()
        found.update(
            type(o).__qualname__
            for o in gc.garbage
            if type(o).__module__.startswith(("dockerarch.", "dockerarch_rules."))
        )
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if enabled:
            gc.enable()


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: str(p.relative_to(ROOT / "fixtures")))
def test_a_check_leaves_no_cycles(path: Path) -> None:
    text = path.read_text(encoding="utf-8", errors="replace")
    check_text(text, EVERY_RULE, path=path, context_dir=path.parent)  # warm the caches
    with _cyclic_garbage() as garbage:
        check_text(text, EVERY_RULE, path=path, context_dir=path.parent)
    assert not garbage, garbage.most_common(5)


def test_incremental_checks_leave_no_cycles() -> None:
    path = ROOT / "fixtures" / "DA301" / "awscli" / "Dockerfile"
    text = path.read_text(encoding="utf-8")
    checker = IncrementalChecker(EVERY_RULE, path=path, context_dir=path.parent, most_dirty=1.0)
    checker.check(text)
    with _cyclic_garbage() as garbage:
        for edited in _edits(text * 3, 12):
            checker.check(edited)
    assert not garbage, garbage.most_common(5)
