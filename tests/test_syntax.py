"""The syntax tree: lossless round trip, exact spans, and agreement with BuildKit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockerarch.syntax import Instruction, Span, parse
from tests.oracle import compare, needs_oracle
from tests.strategies import dockerfiles, texts

FIXTURES = Path(__file__).parent.parent / "fixtures"

CASES = [
    "FROM --platform=$BUILDPLATFORM alpine AS x\nRUN <<EOF\necho hi\nEOF\n"
    'COPY ["a","b"] /c\nRUN echo a \\\n  # c\n  b\n',
    'FROM a\nENV a=b c="d e"\n',
    "ONBUILD RUN echo hi\n",
    'RUN ["a", "b"]\n',
    'RUN [ "a", \n',
    "FROM --platform linux/amd64 alpine\n",
    "COPY --from=a --chmod=755 x y\n",
    'RUN --mount=type=cache,target="/a b" echo\n',
    'RUN <<EOF cat <<-"X"\nhi\nEOF\n\tbody\n\tX\n',
    "from a\nrun \\\n\n  # c\n  echo \\\n",
    'ARG A=1 B\nHEALTHCHECK --interval=5s CMD curl x\nHEALTHCHECK NONE\nLABEL a=b "c d"=e\n'
    'MAINTAINER me <a@b>\nEXPOSE 80/tcp 443\nSHELL ["/bin/bash", "-c"]\nVOLUME /a /b\nCMD echo\n',
    "FROM a\nUSER\nRUN\nWORKDIR  \nENV\nARG\nCOPY\nHEALTHCHECK\nONBUILD\n",
    "FROM a\nENV a\n",
    'FROM a\nHEALTHCHECK --x=1 CMD ["a"]\n',
    "FROM a\nCMD [1]\n",
    "FROM a\nONBUILD ONBUILD RUN x\n",
    "FROM a\nONBUILD --x=1 RUN x\n",
    "FROM a\nENV a b  c\n",
    "# escape=`\nFROM a\nRUN echo `\n  b\n",
    "# escape=`\n# escape=\\\nFROM a\n",
    "\ufeffFROM a\r\nRUN a \\\r\n b\r\n",
    "RUN <<EOF\nunterminated\n",
    "RUN 3<<EOF cat\nx\nEOF",
    "",
    "\n\n# only comment\n",
    "FROM a\nRUN \\\\\nRUN b\n",
    "\\\nFROM a\n",
    "RUN x \\  \n\t \n  y",
    "ONBUILD RUN <<EOF\nx\nEOF\n",
    'RUN ["a"] <<EOF\nx\nEOF\n',
    "FROM a AS b\n# syntax=x\n",
    "  # escape=`\nRUN a`\nb\n",
    "COPY <<a <<b /x\n1\na\n2\nb\n",
    "RUN cat <<'E F'\nx\nE F\n",
    "RUN echo <<$EOF\nx\n$EOF\n",
    "ENV a=b c\n",
    'LABEL "a b"\n',
    'RUN echo "<<EOF"\n',
    'RUN <<"EOF"\nx\nEOF\n',
    'RUN <<E"O"F\nx\nEOF\n',
    'COPY --chown="a b" x y\n',
    "COPY -- x\n",
    "RUN --a= x\n",
    "# syntax = a\n#escape=`\n\nFROM a\n",
    "FROM a\nRUN a\\\\\nRUN b\n",
    "RUN <<-EOF\n\t\tx\n\t\tEOF\n",
    "RUN a\r\r\nRUN b\r",
    "RUN a \\\r\n\r\n  b\n",
    "ENV \\ \\\n",
    'ENV a=""\n',
    'LABEL ""=x\n',
    # Heredoc names are lexed with "\\" as the escape whatever the file's: a trailing one
    # is dropped; an unterminated quote or an empty name makes no heredoc (hypothesis found
    # the first).
    "# escape=`\nRUN <<EOF\\\nEOF\n",
    "# escape=`\nRUN <<EOF\\\n\\\nEOF\n",
    "RUN <<'EOF\nEOF\n",
    'RUN <<"EOF\\"\nEOF\n',
    "RUN <<''\nEOF\n",
]


@pytest.mark.parametrize("text", CASES)
def test_round_trip_cases(text: str) -> None:
    assert parse(text).to_source() == text


@needs_oracle
@pytest.mark.parametrize("text", CASES)
def test_agrees_with_buildkit_on_cases(text: str) -> None:
    compare(text)


@needs_oracle
def test_agrees_with_buildkit_on_fixtures() -> None:
    files = [p for p in FIXTURES.rglob("*") if p.is_file() and "ockerfile" in p.name]
    assert files, "fixtures missing"
    for path in files:
        compare(path.read_text(encoding="utf-8"))


@given(texts)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_round_trip_any_text(text: str) -> None:
    assert parse(text).to_source() == text


@given(dockerfiles())
@settings(max_examples=300)
def test_round_trip_dockerfiles(text: str) -> None:
    assert parse(text).to_source() == text


@needs_oracle
@given(dockerfiles())
@settings(max_examples=400, deadline=None)
def test_agrees_with_buildkit_on_generated(text: str) -> None:
    compare(text)


@given(dockerfiles())
@settings(max_examples=200)
def test_items_partition_the_text(text: str) -> None:
    tree = parse(text)
    body = text[1:] if text.startswith("\ufeff") else text
    pos = 0
    for item in tree.items:
        assert item.span.start == pos
        pos = item.span.end
    assert pos == len(body)


@given(dockerfiles())
@settings(max_examples=200)
def test_spans_point_at_their_text(text: str) -> None:
    tree = parse(text)
    for ins in tree.walk():
        kw = tree.text[ins.keyword_span.start : ins.keyword_span.end]
        assert kw[:1] == ins.keyword[:1] and kw[-1:] == ins.keyword[-1:]
        for flag in ins.flags:
            assert tree.text[flag.span.start : flag.span.end].startswith("--")
        for word in ins.words():
            src = tree.text[word.span.start : word.span.end]
            # A word may straddle a continuation; its ends are exact either way.
            assert src[:1] == word.text[:1] and src[-1:] == word.text[-1:]


def _first(text: str) -> Instruction:
    return parse(text).instructions[0]


def test_positions_are_one_based() -> None:
    tree = parse("FROM a\n  RUN  echo é \\\n    amd64\n")
    run = tree.instructions[1]
    pos = tree.lines.position(run.keyword_span.start)
    assert (pos.line, pos.column) == (2, 3)
    word = run.words()[-1]
    assert word.text == "amd64"
    assert tree.lines.position(word.span.start).line == 3
    assert tree.lines.position(word.span.start).column == 5


def test_continuation_comment_and_blank_lines_are_kept() -> None:
    text = "RUN a \\\n  # note\n\n  b\n"
    ins = _first(text)
    assert ins.args == "a   b"
    assert (ins.start_line, ins.end_line) == (1, 4)
    assert len(ins.comments) == 1


def test_backtick_escape() -> None:
    ins = parse("# escape=`\nRUN a `\n  b\n").instructions[0]
    assert ins.args == "a   b"


def test_heredoc_fields() -> None:
    ins = _first("RUN <<-'EOT' bash\n\techo $A\n\tEOT\nFROM x\n")
    (doc,) = ins.heredocs
    assert (doc.name, doc.chomp, doc.expand, doc.body) == ("EOT", True, False, "\techo $A\n")
    assert ins.end_line == 3


def test_unterminated_heredoc_is_an_error_node_not_an_exception() -> None:
    ins = _first("RUN <<EOF\necho\n")
    assert [m for m, _ in ins.errors] == ["unterminated heredoc"]


@pytest.mark.parametrize(
    ("text", "message", "pointed_at"),
    [
        ("RUN <<EOF\necho\n", "unterminated heredoc", "<<EOF"),
        ("RUN cat <<A <<-B\na\nA\nb\n", "unterminated heredoc", "<<-B"),
        ('CMD ["sleep", 3600]\n', "arrays must be comprised of strings only", '["sleep", 3600]'),
        ('HEALTHCHECK CMD ["a", 1] x\n', "arrays must be comprised of strings only", '["a", 1]'),
        ("ENV DEBIAN_FRONTEND\n", "ENV must have two arguments", "DEBIAN_FRONTEND"),
        ("LABEL a=1 b c=3\n", "can't find = in 'b'", "b"),
        ("ENV A=1 \\\n  BROKEN\n", "can't find = in 'BROKEN'", "BROKEN"),
        ("ONBUILD ENV ONLY\n", "ENV must have two arguments", "ONLY"),
    ],
)
def test_instruction_errors_point_at_the_offending_text(
    text: str, message: str, pointed_at: str
) -> None:
    tree = parse(text)
    ((got, span),) = tree.instructions[0].errors
    assert message in got
    assert tree.text[span.start : span.end] == pointed_at


def test_an_error_before_a_continuation_does_not_swallow_the_escape() -> None:
    tree = parse("ENV FIRST \\\n\n")
    ((message, span),) = tree.instructions[0].errors
    assert message == "ENV must have two arguments"
    assert tree.text[span.start : span.end] == "FIRST"


def test_flags_and_json() -> None:
    ins = _first('COPY --from=build --chmod=0755 ["a b", "/c"]\n')
    assert [(f.name, f.value) for f in ins.flags] == [("from", "build"), ("chmod", "0755")]
    assert ins.json is not None and [w.value for w in ins.json] == ["a b", "/c"]


def test_onbuild_wraps_an_instruction() -> None:
    ins = _first("ONBUILD RUN GOARCH=amd64 go build\n")
    assert ins.inner is not None and ins.inner.name == "RUN"
    assert ins.inner.args == "GOARCH=amd64 go build"


def test_key_values_legacy_and_modern() -> None:
    kv = _first('ENV A=1 B="two words"\n').key_values()
    assert [(k.key, k.value) for k in kv] == [("A", "1"), ("B", "two words")]
    kv = _first("ENV JAVA_HOME /usr/lib/jvm/java-17-openjdk-amd64\n").key_values()
    assert [(k.key, k.value) for k in kv] == [("JAVA_HOME", "/usr/lib/jvm/java-17-openjdk-amd64")]


def test_directives_only_at_top() -> None:
    tree = parse("# syntax=docker/dockerfile:1\n# escape=`\nFROM a\n# escape=\\\n")
    assert [d.name for d in tree.directives] == ["syntax", "escape"]
    assert tree.escape == "`"


def test_crlf_bom_and_no_final_newline() -> None:
    text = "\ufeffFROM a\r\nRUN b"
    tree = parse(text)
    assert tree.bom and tree.to_source() == text
    assert tree.instructions[1].args == "b"


def test_nothing_is_placed_at_the_start_of_the_file() -> None:
    # An ONBUILD trigger stands on its wrapper's lines; an empty instruction or empty
    # arguments stand where they are, not at offset 0.
    tree = parse("FROM a\nONBUILD ONBUILD RUN x\nRUN\n\\\n")
    onbuild, run, empty = tree.instructions[1:]
    assert onbuild.inner is not None and onbuild.inner.inner is not None
    assert onbuild.inner.span == onbuild.inner.inner.span == onbuild.span
    assert onbuild.inner.end_line == onbuild.end_line
    assert run.args_span == Span(run.span.start + 3, run.span.start + 3)
    assert empty.keyword_span == Span(empty.span.start, empty.span.start)
    assert empty.args_span == Span(empty.span.start, empty.span.start)


def test_the_go_space_class_is_go_isspace() -> None:
    from dockerarch.syntax.nodes import GO_SPACE, go_isspace

    space = re.compile(GO_SPACE)
    assert [c for c in range(0x110000) if bool(space.fullmatch(chr(c))) != go_isspace(chr(c))] == []


@given(st.text(alphabet=" \t\n\v\f\r\x85\xa0\u2000\u3000\x1c!~a#\\\u00e9"), st.integers(0, 12))
def test_leading_space_skip_is_gos_unicode_isspace(text: str, start: int) -> None:
    # The parser skips printable ASCII without its pattern; the answer must not change.
    from dockerarch.syntax.nodes import GO_SPACE
    from dockerarch.syntax.parser import _lstrip_len

    match = re.compile(f"{GO_SPACE}*").match(text, start)
    expected = start if start >= len(text) or match is None else match.end()
    assert _lstrip_len(text, start) == expected


def _lines_one_by_one(text: str) -> tuple[list[tuple[int, int, int]], list[int]]:
    """The parser's line table as it was first written: line by line."""
    out: list[tuple[int, int, int]] = []
    starts: list[int] = []
    pos = 0
    for line in text.split("\n"):
        end = pos + len(line) + 1
        out.append((pos, pos + len(line.rstrip("\r")), end))
        starts.append(pos)
        pos = end
    start, content_end, _ = out.pop()
    if start < len(text):
        out.append((start, content_end, len(text)))
    return out, starts


@given(st.text(alphabet="a \r\n\t\\é"))
def test_the_line_table_is_the_line_by_line_one(text: str) -> None:
    from dockerarch.syntax.parser import _Lines

    table = _Lines(text)
    assert (table.lines, table.starts) == _lines_one_by_one(text)


@given(st.text(alphabet="ab\n\r\u2028", max_size=40))
def test_line_index_positions_count_newlines(text: str) -> None:
    # Lines are what "\n" ends (as BuildKit and LSP count them: not "\r" or U+2028), and
    # the index made from the text alone agrees with the one the parser hands over.
    from dockerarch.syntax.positions import LineIndex

    index = LineIndex(text)
    assert index.line_count == text.count("\n") + 1
    assert index._starts == parse(text).lines._starts
    for offset in range(len(text) + 1):
        line_start = text.rfind("\n", 0, offset) + 1
        position = index.position(offset)
        assert (position.line, position.column) == (
            text.count("\n", 0, offset) + 1,
            offset - line_start + 1,
        )
