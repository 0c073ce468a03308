"""Re-parsing after an edit gives exactly the tree a parse from scratch gives."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockerarch.syntax import Dockerfile, SourceMap, parse, parser
from dockerarch.syntax.parser import reparse
from tests.strategies import dockerfiles, texts
from tests.test_fix_properties import fixable_dockerfiles
from tests.test_incremental import _edits

FIXTURES = sorted((Path(__file__).parent.parent / "fixtures").rglob("Dockerfile*"))
# What typing inserts, and what changes how lines after it read.
_PIECES = st.sampled_from(
    ["x", " ", "\n", "\\", "\\\n", "`", "<<EOF", "\nEOF\n", "#", "# escape=`\n", "FROM a\n",
     "RUN <<EOF\n", "ONBUILD ", "\r\n", "é", "🐳", '"', "["]
)  # fmt: skip


def _norm(value: object) -> object:
    """Value equality through the whole tree (a SourceMap compares by identity)."""
    if isinstance(value, SourceMap):
        return ("SourceMap", tuple(value.segments))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (
            type(value).__name__,
            *(_norm(getattr(value, f.name)) for f in dataclasses.fields(value) if f.compare),
        )
    if isinstance(value, (tuple, list)):
        return tuple(_norm(v) for v in value)
    return value


def _tree(tree: Dockerfile) -> object:
    return (tree.text, tree.escape, tree.bom, _norm(tree.items), _norm(tree.errors))


def _splits(tree: Dockerfile) -> list[object]:
    """Every instruction's argument splits (the ones an instruction memoizes)."""
    return [
        (ins.words(), ins.quoted_words(tree.escape), ins.key_values(tree.escape))
        for ins in tree.walk()
    ]


def _assert_reparses(texts_in_order: list[str]) -> None:
    tree = parse(texts_in_order[0])
    for text in texts_in_order[1:]:
        _splits(tree)  # memoized now, so moved instructions carry them along
        tree = reparse(tree, text)
        fresh = parse(text)
        assert _tree(tree) == _tree(fresh), text
        assert _splits(tree) == _splits(fresh), text
        assert tree.to_source() == text


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: str(p.parent.name))
def test_fixtures_after_edits(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    _assert_reparses([text, *_edits(text, 8)])


@st.composite
def _edit_sequences(draw: st.DrawFn) -> list[str]:
    text = draw(st.one_of(dockerfiles(), fixable_dockerfiles(), texts))
    out = [text]
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, min(8, len(text) - at)))
        text = text[:at] + draw(_PIECES) + text[at + cut :]
        out.append(text)
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_edit_sequences())
def test_generated_edits(sequence: list[str]) -> None:
    _assert_reparses(sequence)


def test_an_edit_keeps_the_items_before_it() -> None:
    old = parse("FROM a\nRUN one\nRUN two\n")
    new = reparse(old, "FROM a\nRUN one\nRUN twoo\n")
    assert new.items[:2] == old.items[:2]


def _unremembered(text: str) -> Dockerfile:
    """``parse(text)`` with no instruction taken from the parser's memo."""
    saved = parser._MEMO_TEXT
    parser._MEMO_TEXT = -1
    try:
        return parse(text)
    finally:
        parser._MEMO_TEXT = saved


@given(dockerfiles(), dockerfiles())
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_remembered_instructions_give_the_tree_a_fresh_parse_gives(a: str, b: str) -> None:
    # parse() takes an instruction it has seen (same lines, same escape) from its memo and
    # moves it: in another file, at another offset and line, after other escapes.
    parser.clear_memo()
    first = parse(a)
    _splits(first)  # memoized splits travel with a remembered instruction
    backtick = "# escape=`\n"
    for text in (a, b, a + b, b + a, a + "\n" + a, b.replace("\n", "\r\n"), backtick + a):
        tree = parse(text)
        fresh = _unremembered(text)
        assert _tree(tree) == _tree(fresh), text
        assert _splits(tree) == _splits(fresh), text


def test_an_instruction_seen_before_is_remembered() -> None:
    # Without this the property above could pass with the memo never used.
    parser.clear_memo()
    text = "FROM alpine\nRUN apk add --no-cache \\\n    curl\nCOPY . /app\n"
    first, again = parse(text), parse(text)
    assert all(x is y for x, y in zip(first.instructions, again.instructions, strict=True))
    moved = parse("# a comment\n" + text)
    assert [i.start_line for i in moved.instructions] == [2, 3, 5]
    assert _tree(moved) == _tree(_unremembered("# a comment\n" + text))
    # The same lines under another escape character are another instruction.
    other = "# escape=`\n" + text
    assert _tree(parse(other)) == _tree(_unremembered(other))


def test_heredoc_instructions_are_remembered_with_their_bodies() -> None:
    # The lines before a heredoc's body are the memo's key; the body and terminator that
    # follow must be the same text too, and one header may have many bodies.
    parser.clear_memo()
    one = "FROM a\nRUN <<EOF\necho one\nEOF\n"
    two = "FROM a\nRUN <<EOF\necho two\nEOF\nRUN <<EOF\necho one\nEOF\n"
    first = parse(one)
    again = parse("# moved\n" + one)
    assert again.instructions[1].start_line == 3
    assert again.instructions[1].heredocs[0].body == "echo one\n"
    tree = parse(two)
    assert [h.body for i in tree.instructions for h in i.heredocs] == ["echo two\n", "echo one\n"]
    assert parse(one).instructions[1] is first.instructions[1]  # remembered, not parsed again
    for text in (
        one,
        two,
        "# moved\n" + one,
        one + "RUN x\n",
        one[:-1],
        one.replace("EOF\n", "EOFX\n"),
    ):
        assert _tree(parse(text)) == _tree(_unremembered(text)), text


def test_the_memo_holds_a_bounded_number_of_instructions(monkeypatch: pytest.MonkeyPatch) -> None:
    parser.clear_memo()
    monkeypatch.setattr(parser, "_MEMO_SIZE", 20)
    for n in range(50):
        parse(f"FROM a\nRUN echo {n}\nRUN <<EOF\necho {n}\nEOF\n")
    held = [len(entries) for entries in parser._memo.values()]
    assert sum(held) == parser._held <= 20
    assert max(held) <= parser._MEMO_BODIES  # one heredoc header, many bodies
    parser.clear_memo()
