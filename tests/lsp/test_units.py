"""The language server's pure parts: positions, edits, settings, LSP conversion."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lsprotocol import types
from pygls.protocol import default_converter

from dockerarch.config import FileConfig, Selection, settings_for
from dockerarch.diagnostics import Diagnostic, ExternalLocation, Severity
from dockerarch.engine import Result, Settings, check_text
from dockerarch.lsp.convert import to_lsp
from dockerarch.lsp.edits import text_edits
from dockerarch.lsp.positions import UTF8, UTF16, UTF32, DocumentIndex
from dockerarch.lsp.server import _converter as server_converter
from dockerarch.lsp.settings import EditorSettings, parse_editor_settings
from dockerarch.platforms import Platform
from dockerarch.syntax import parse

ENCODINGS = (UTF8, UTF16, UTF32)
_CODECS = {UTF8: ("utf-8", 1), UTF16: ("utf-16-le", 2), UTF32: ("utf-32-le", 4)}


def expected_position(text: str, offset: int, encoding: str) -> types.Position:
    """The LSP position of ``offset``, by a different route than the server's."""
    before = text[:offset].replace("\r\n", "\n").replace("\r", "\n")
    line = before.count("\n")
    prefix = before.rsplit("\n", 1)[-1]
    codec, width = _CODECS[encoding]
    return types.Position(line=line, character=len(prefix.encode(codec, "surrogatepass")) // width)


texts = st.text(alphabet=st.sampled_from("aé😀\n\r\t\x0c\u2028 "), max_size=40)


@given(texts, st.data())
def test_offset_position_round_trip(text: str, data: st.DataObject) -> None:
    offset = data.draw(st.integers(0, len(text)))
    if 0 < offset < len(text) and text[offset - 1 : offset + 1] == "\r\n":
        offset -= 1  # no LSP position lies between \r and \n
    for encoding in ENCODINGS:
        index = DocumentIndex(text, encoding)
        pos = index.position(offset)
        assert pos == expected_position(text, offset, encoding)
        assert index.offset(pos) == offset


def test_columns_past_the_end_and_inside_a_character_clamp() -> None:
    index = DocumentIndex("a😀b\nxy", UTF16)
    assert index.offset(types.Position(line=0, character=2)) == 1  # half an emoji
    assert index.offset(types.Position(line=0, character=99)) == 3
    assert index.offset(types.Position(line=7, character=0)) == len(index.text)


def apply_text_edits(index: DocumentIndex, edits: list[types.TextEdit]) -> str:
    text = index.text
    spans = [(index.offset(e.range.start), index.offset(e.range.end)) for e in edits]
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans)), "unordered or overlapping"
    for (start, end), e in reversed(list(zip(spans, edits, strict=True))):
        text = text[:start] + e.new_text + text[end:]
    return text


@pytest.mark.parametrize(
    ("old", "new", "changed"),
    [
        ("a\r\nb\r\n", "a\r\nc\r\nb\r\n", ["c\r\n"]),
        ("abc", "abXc", ["X"]),
        ("x\r\ny", "x\r\n", [""]),
        ("é😀z", "é😀", [""]),
        (
            "FROM a\nRUN x-amd64\nCMD y\nRUN z\n",
            "FROM a\nARG T\nRUN x-$T\nCMD y\n",
            ["ARG T\nRUN x-$T", ""],
        ),
    ],
)
def test_text_edits_change_only_the_differences(old: str, new: str, changed: list[str]) -> None:
    index = DocumentIndex(old, UTF16)
    edits = text_edits(index, new)
    assert [e.new_text for e in edits] == changed
    assert apply_text_edits(index, edits) == new


@given(texts, texts)
def test_text_edits_turn_any_text_into_any_other(old: str, new: str) -> None:
    for encoding in ENCODINGS:
        index = DocumentIndex(old, encoding)
        assert apply_text_edits(index, text_edits(index, new)) == new


def test_editor_settings_layer_over_the_project_and_reject_bad_values(tmp_path: Path) -> None:
    warnings: list[str] = []
    editor = parse_editor_settings(
        {"ignore": ["da101"], "platforms": "linux/arm64", "online": "yes", "unsafeFixes": True},
        warnings.append,
    )
    assert editor.ignore == ("DA101",) and editor.unsafe_fixes is True and editor.online is None
    assert warnings == ["editor settings: 'online' must be true or false"]
    assert parse_editor_settings({"select": ["E501"]}, warnings.append).select is None
    assert "invalid rule selector 'E501'" in warnings[-1]

    project = FileConfig(None, tmp_path, selection=Selection(ignore=("DA102",)))
    layered = EditorSettings(select=("DA1",)).over(editor)
    settings = settings_for(project, layered.overrides(), None)
    assert settings.platforms == (Platform.parse("linux/arm64"),)
    assert not settings.enabled("DA101") and settings.enabled("DA103")
    # The editor's select starts over, as --select does on the command line.
    assert settings.enabled("DA102")


def test_external_location_becomes_related_information(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("# é😀\nnumpy==1.0  # 😀\n", encoding="utf-8")
    text = "\ufeffFROM python:3.12\nRUN pip install -r requirements.txt\n"
    tree = parse(text)
    ins = tree.instructions[1]
    external = ExternalLocation(Path("requirements.txt"), 2, 1, 2, 12)
    diag = Diagnostic(
        "DA501", "numpy==1.0 has no arm64 wheel", ins.args_span, Severity.WARNING, external=external
    )
    (sent,) = to_lsp(Result(None, tree, [diag]), DocumentIndex(text, UTF16), 3, _read, tmp_path)
    lsp = default_converter().structure(sent, types.Diagnostic)
    # On the Dockerfile (shifted past the BOM the editor keeps), pointing at the requirement.
    assert lsp.range.start == types.Position(line=1, character=4)
    assert isinstance(lsp.data, dict)
    assert lsp.data["version"] == 3
    (related,) = lsp.related_information or []
    assert related.location.uri == (tmp_path / "requirements.txt").as_uri()
    assert related.location.range == types.Range(
        start=types.Position(line=1, character=0), end=types.Position(line=1, character=11)
    )


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_diagnostics_in_json_form_are_what_lsprotocol_would_send(encoding: str) -> None:
    # to_lsp builds the JSON itself (lsp/convert.py): it must be exactly what the
    # lsprotocol Diagnostic it stands for unstructures to, for every fixture's findings.
    converter = default_converter()
    fixtures = Path(__file__).parent.parent.parent / "fixtures"
    seen = 0
    for path in sorted(fixtures.rglob("Dockerfile*")):
        text = path.read_text(encoding="utf-8")
        result = check_text(text, Settings(), path=path, context_dir=path.parent)
        index = DocumentIndex(text, encoding)
        for sent in to_lsp(result, index, 7, _read, path.parent):
            assert converter.unstructure(converter.structure(sent, types.Diagnostic)) == sent
            seen += 1
    assert seen > 100


def test_the_servers_converter_sends_json_diagnostics_as_they_are() -> None:
    text = "FROM --platform=linux/amd64 alpine\n"
    (sent,) = to_lsp(check_text(text, Settings()), DocumentIndex(text), 1, _read, None)
    as_object = default_converter().structure(sent, types.Diagnostic)
    assert as_object.code == "DA101"
    expected = default_converter().unstructure(
        types.PublishDiagnosticsParams(uri="file:///x", diagnostics=[as_object])
    )
    params = types.PublishDiagnosticsParams(uri="file:///x", diagnostics=[sent])
    assert server_converter().unstructure(params) == expected
