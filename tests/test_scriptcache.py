"""A cached RUN parse, moved to where its instruction now starts, equals a fresh parse."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockerarch import scriptcache
from dockerarch.runscripts import run_scripts
from dockerarch.shell.model import ArchProbe, Assignment, Command, Script, Word
from dockerarch.syntax import parse
from tests.strategies import dockerfiles, texts
from tests.test_fix_properties import fixable_dockerfiles

FIXTURES = sorted(p for p in (Path(__file__).parent.parent / "fixtures").rglob("Dockerfile*"))
PADDING = ("", "\n", "# moved\n", "# é ü 🐳\n\n")


def _assert_cached_equals_fresh(text: str, padding: str) -> None:
    scriptcache.clear()
    first = parse(text)
    for ins in first.instructions:
        scriptcache.scripts_of(ins, first.text, first.escape)
    # The same instructions further down another file: hits, shifted.
    moved = parse(padding + text)
    for ins in moved.instructions:
        cached = scriptcache.scripts_of(ins, moved.text, moved.escape)
        assert cached == run_scripts(ins, moved.text), moved.text[ins.span.start : ins.span.end]


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: str(p.parent.name))
def test_fixtures(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for padding in PADDING:
        _assert_cached_equals_fresh(text, padding)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(dockerfiles(), fixable_dockerfiles(), texts), st.sampled_from(PADDING))
def test_generated(text: str, padding: str) -> None:
    _assert_cached_equals_fresh(text, padding)


def test_escape_is_part_of_the_key() -> None:
    # The same RUN text continues lines differently under `# escape=``.
    scriptcache.clear()
    plain = parse("FROM a\nRUN echo a `\n  b\n")
    backtick = parse("# escape=`\nFROM a\nRUN echo a `\n  b\n")
    for tree in (plain, backtick):
        ins = tree.instructions[-1]
        assert scriptcache.scripts_of(ins, tree.text, tree.escape) == run_scripts(ins, tree.text)


def test_shift_knows_every_field() -> None:
    # shifted() rebuilds these by position; a new field would be dropped silently.
    # Memos (not passed to the constructor) start afresh in the copy.
    def names(cls: type) -> list[str]:
        return [f.name for f in dataclasses.fields(cls) if f.init]

    assert names(Script) == ["commands", "assignments", "arch_probes", "arch_mappings", "errors"]
    assert names(Command) == ["name", "args", "env", "span", "guard", "in_substitution"]
    assert names(Word) == ["text", "value", "span", "literal_pieces", "expansions", "per_arch"]
    assert names(Assignment) == ["name", "value", "span", "name_span", "guard", "probe_kinds"]
    assert names(ArchProbe) == ["kind", "span", "guard"]


def test_bounded() -> None:
    scriptcache.clear()
    for i in range(scriptcache.MAX_ENTRIES + 10):
        tree = parse(f"FROM a\nRUN echo {i}\n")
        ins = tree.instructions[-1]
        scriptcache.scripts_of(ins, tree.text, tree.escape)
    assert len(scriptcache._cache) == scriptcache.MAX_ENTRIES


def test_text_flags_keep_short_runs_and_stay_bounded() -> None:
    flags = scriptcache.TextFlags()
    long_run = ("RUN " + "x" * scriptcache.FLAG_TEXT, "\\")
    flags.put(long_run, True)
    assert flags.get(long_run) is None  # asked anew every time
    for i in range(scriptcache.MAX_ENTRIES + 10):
        flags.put((f"RUN echo {i}", "\\"), i % 2 == 0)
    assert flags.get((f"RUN echo {scriptcache.MAX_ENTRIES + 9}", "\\")) is False
    assert 0 < len(flags._flags) <= scriptcache.MAX_ENTRIES
