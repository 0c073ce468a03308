"""The language server end to end: a pytest-lsp client drives ``python -m dockerarch lsp``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.lsp.conftest import PULL_UTF8, PUSH, VSCODE, Start, capabilities
from tests.lsp.fixture_rules import SAFE_CODE, UNSAFE_CODE

pytestmark = pytest.mark.asyncio(loop_scope="module")

DA101_LINE = "FROM --platform=linux/amd64 alpine AS app"


async def wait_until(pred: Callable[[], bool], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not pred():
        if loop.time() > deadline:
            raise AssertionError("timed out waiting for the server")
        await asyncio.sleep(0.01)


def open_doc(client: LanguageClient, uri: str, text: str, version: int = 1) -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="dockerfile", version=version, text=text
            )
        )
    )


def change_doc(client: LanguageClient, uri: str, text: str, version: int) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


def of(diags: object, code: str) -> list[types.Diagnostic]:
    assert isinstance(diags, list)
    return [d for d in diags if d.code == code]


async def pushed(client: LanguageClient, uri: str, code: str) -> list[types.Diagnostic]:
    await wait_until(lambda: bool(of(list(client.diagnostics.get(uri, [])), code)))
    return of(list(client.diagnostics[uri]), code)


async def pulled(client: LanguageClient, uri: str) -> list[types.Diagnostic]:
    report = await client.text_document_diagnostic_async(
        types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    assert isinstance(report, types.RelatedFullDocumentDiagnosticReport)
    return list(report.items)


def units(text: str, encoding: str) -> int:
    """Code units of ``text``, computed independently of the server's own conversion."""
    if encoding == "utf-8":
        return len(text.encode())
    if encoding == "utf-16":
        return len(text.encode("utf-16-le")) // 2
    return len(text)


def apply(text: str, edits: list[types.TextEdit]) -> str:
    """Apply TextEdits (UTF-16 positions, ``\\n`` lines) the way an editor does."""
    lines = text.split("\n")

    def offset(pos: types.Position) -> int:
        line = lines[pos.line]
        units16, i = 0, 0
        while i < len(line) and units16 < pos.character:
            units16 += 2 if ord(line[i]) > 0xFFFF else 1
            i += 1
        return sum(len(x) + 1 for x in lines[: pos.line]) + i

    for e in sorted(
        edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True
    ):
        text = text[: offset(e.range.start)] + e.new_text + text[offset(e.range.end) :]
    return text


async def test_push_diagnostics_on_open_change_and_close(
    push_client: LanguageClient, tmp_path: Path
) -> None:
    client = push_client
    uri = (tmp_path / "Dockerfile").as_uri()
    open_doc(client, uri, f"# comment\n{DA101_LINE}\n")
    (diag,) = await pushed(client, uri, "DA101")
    assert diag.range == types.Range(
        start=types.Position(line=1, character=5), end=types.Position(line=1, character=27)
    )
    assert diag.severity == types.DiagnosticSeverity.Error
    assert diag.source == "dockerarch"
    assert diag.code_description is not None
    assert diag.code_description.href.endswith("#da101")
    assert isinstance(diag.data, dict)
    assert diag.data["version"] == 1

    change_doc(client, uri, "FROM alpine:3.20 AS app\n", 2)
    await wait_until(lambda: not of(list(client.diagnostics[uri]), "DA101"))
    change_doc(client, uri, f"\n\n{DA101_LINE}\n", 3)
    (diag,) = await pushed(client, uri, "DA101")
    assert diag.range.start.line == 2

    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    await wait_until(lambda: list(client.diagnostics[uri]) == [])


async def test_pull_diagnostics(pull_client: LanguageClient, tmp_path: Path) -> None:
    client = pull_client
    uri = (tmp_path / "Dockerfile").as_uri()
    open_doc(client, uri, f"{DA101_LINE}\n")
    (diag,) = of(await pulled(client, uri), "DA101")
    assert (diag.range.start.character, diag.range.end.character) == (5, 27)
    assert uri not in client.diagnostics  # pull clients get nothing pushed

    report = await client.text_document_diagnostic_async(
        types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    again = await client.text_document_diagnostic_async(
        types.DocumentDiagnosticParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            previous_result_id=report.result_id,
        )
    )
    assert isinstance(again, types.RelatedUnchangedDocumentDiagnosticReport)

    change_doc(client, uri, "FROM alpine:3.20\n", 2)
    assert not of(await pulled(client, uri), "DA101")


EMOJI_LINE = "FROM --network=é😀 --platform=linux/amd64 alpine AS app"


async def check_columns(client: LanguageClient, uri: str, encoding: str, pull: bool) -> None:
    """DA101 after an emoji on its line is highlighted exactly, counted in ``encoding``."""
    open_doc(client, uri, f"# ß\n{EMOJI_LINE}\n")
    if pull:
        (diag,) = of(await pulled(client, uri), "DA101")
    else:
        (diag,) = await pushed(client, uri, "DA101")
    start_col = EMOJI_LINE.index("--platform")
    end_col = start_col + len("--platform=linux/amd64")
    assert diag.range.start == types.Position(
        line=1, character=units(EMOJI_LINE[:start_col], encoding)
    )
    assert diag.range.end == types.Position(line=1, character=units(EMOJI_LINE[:end_col], encoding))


async def test_utf16_columns(push_client: LanguageClient, tmp_path: Path) -> None:
    await check_columns(push_client, (tmp_path / "Dockerfile").as_uri(), "utf-16", pull=False)


@pytest.mark.parametrize(
    ("client_name", "encodings", "expected"),
    [(PUSH, ["utf-32", "utf-16"], "utf-32"), (PULL_UTF8, None, "utf-8")],
)
async def test_columns_in_negotiated_encoding(
    start: Start, tmp_path: Path, client_name: str, encodings: list[str] | None, expected: str
) -> None:
    client = await start(capabilities(client_name, encodings=encodings))
    uri = (tmp_path / "Dockerfile").as_uri()
    await check_columns(client, uri, expected, pull=client_name == PULL_UTF8)


async def code_actions(
    client: LanguageClient, uri: str, diags: list[types.Diagnostic], only: list[str] | None = None
) -> list[types.CodeAction]:
    rng = (
        diags[0].range
        if diags
        else types.Range(
            start=types.Position(line=0, character=0), end=types.Position(line=0, character=0)
        )
    )
    result = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=rng,
            context=types.CodeActionContext(diagnostics=diags, only=only),
        )
    )
    actions = [a for a in result or [] if isinstance(a, types.CodeAction)]
    assert len(actions) == len(result or [])
    return actions


def edits_for(action: types.CodeAction, uri: str) -> list[types.TextEdit]:
    """The action's edits of ``uri``, whether as ``documentChanges`` or ``changes``."""
    assert action.edit is not None
    if action.edit.document_changes is not None:
        (change,) = [
            c
            for c in action.edit.document_changes
            if isinstance(c, types.TextDocumentEdit) and c.text_document.uri == uri
        ]
        return [e for e in change.edits if isinstance(e, types.TextEdit)]
    assert action.edit.changes is not None
    return list(action.edit.changes[uri])


def edited_uris(action: types.CodeAction) -> set[str]:
    assert action.edit is not None
    if action.edit.document_changes is not None:
        return {
            c.text_document.uri
            for c in action.edit.document_changes
            if isinstance(c, types.TextDocumentEdit)
        }
    return set(action.edit.changes or {})


async def test_quick_fix_applies_and_removes_the_diagnostic(
    push_client: LanguageClient, tmp_path: Path
) -> None:
    client = push_client
    uri = (tmp_path / "Dockerfile").as_uri()
    text = "FROM --platform=$TARGETPLATFORM alpine:3.20 AS app\nRUN true\n"
    open_doc(client, uri, text)
    (diag,) = await pushed(client, uri, SAFE_CODE)
    actions = await code_actions(client, uri, [diag])
    fix = next(a for a in actions if a.title == f"Fix {SAFE_CODE}: remove --platform")
    assert fix.kind == types.CodeActionKind.QuickFix
    assert fix.is_preferred is True
    fixed = apply(text, edits_for(fix, uri))
    assert fixed == "FROM alpine:3.20 AS app\nRUN true\n"
    change_doc(client, uri, fixed, 2)
    await wait_until(lambda: not of(list(client.diagnostics[uri]), SAFE_CODE))


async def test_unsafe_and_display_only_fixes(push_client: LanguageClient, tmp_path: Path) -> None:
    client = push_client
    uri = (tmp_path / "Dockerfile").as_uri()
    open_doc(client, uri, "FROM alpine\nFROM busybox\n")
    await wait_until(lambda: len(of(list(client.diagnostics.get(uri, [])), UNSAFE_CODE)) == 2)
    alpine, busybox = sorted(
        of(list(client.diagnostics[uri]), UNSAFE_CODE), key=lambda d: d.range.start.line
    )
    (unsafe,) = [a for a in await code_actions(client, uri, [alpine]) if a.title.startswith("Fix")]
    assert unsafe.title == f"Fix {UNSAFE_CODE}: add :latest (unsafe)"
    assert unsafe.is_preferred is False
    titles = [a.title for a in await code_actions(client, uri, [busybox])]
    assert titles == [f"Ignore {UNSAFE_CODE} for this instruction"]  # display-only: no edit


async def test_stale_diagnostics_get_no_fix(push_client: LanguageClient, tmp_path: Path) -> None:
    client = push_client
    uri = (tmp_path / "Dockerfile").as_uri()
    open_doc(client, uri, "FROM --platform=$TARGETPLATFORM alpine:3.20\n")
    (diag,) = await pushed(client, uri, SAFE_CODE)
    change_doc(client, uri, "# moved\nFROM --platform=$TARGETPLATFORM alpine:3.20\n", 2)
    assert await code_actions(client, uri, [diag], only=[types.CodeActionKind.QuickFix]) == []


FIX_ALL_TEXT = (
    "FROM --platform=$TARGETPLATFORM alpine AS a\n"
    "RUN true\n"
    "FROM --platform=${TARGETPLATFORM} debian:12\n"
)


async def check_fix_all(client: LanguageClient, uri: str, expected: str) -> None:
    open_doc(client, uri, FIX_ALL_TEXT)
    await pushed(client, uri, SAFE_CODE)
    actions = await code_actions(client, uri, [], only=[types.CodeActionKind.SourceFixAll])
    (fix_all,) = actions
    assert fix_all.kind == "source.fixAll.dockerarch"
    assert apply(FIX_ALL_TEXT, edits_for(fix_all, uri)) == expected


async def test_fix_all_safe(push_client: LanguageClient, tmp_path: Path) -> None:
    expected = "FROM alpine AS a\nRUN true\nFROM debian:12\n"
    await check_fix_all(push_client, (tmp_path / "Dockerfile").as_uri(), expected)


async def test_fix_all_with_unsafe_fixes_setting(start: Start, tmp_path: Path) -> None:
    client = await start(capabilities(PUSH), init_options={"dockerarch": {"unsafeFixes": True}})
    expected = "FROM alpine:latest AS a\nRUN true\nFROM debian:12\n"
    await check_fix_all(client, (tmp_path / "Dockerfile").as_uri(), expected)


async def test_ignore_action_inserts_then_merges(
    push_client: LanguageClient, tmp_path: Path
) -> None:
    client = push_client
    uri = (tmp_path / "Dockerfile").as_uri()
    finding = "FROM --platform=linux/amd64 busybox AS app"
    text = f"FROM alpine:3.20\nONBUILD RUN true\n  {finding}\n"
    open_doc(client, uri, text)
    (diag,) = await pushed(client, uri, "DA101")
    (ignore,) = [a for a in await code_actions(client, uri, [diag]) if a.title.startswith("Ignore")]
    assert ignore.title == "Ignore DA101 for this instruction"
    text = apply(text, edits_for(ignore, uri))
    assert text.splitlines()[2:] == ["  # dockerarch: ignore[DA101]", f"  {finding}"]
    change_doc(client, uri, text, 2)
    await wait_until(lambda: not of(list(client.diagnostics[uri]), "DA101"))

    # Another finding on the same instruction joins the existing comment.
    (other,) = of(list(client.diagnostics[uri]), UNSAFE_CODE)
    (ignore,) = await code_actions(client, uri, [other])
    text = apply(text, edits_for(ignore, uri))
    assert text.splitlines()[2:] == [f"  # dockerarch: ignore[DA101,{UNSAFE_CODE}]", f"  {finding}"]


async def test_hover_on_from_image_and_ignore_code(
    pull_client: LanguageClient, tmp_path: Path
) -> None:
    client = pull_client
    uri = (tmp_path / "Dockerfile").as_uri()
    text = "# dockerarch: ignore[DA101]\nFROM --platform=linux/amd64 python:3.4.1\n"
    open_doc(client, uri, text)

    async def hover(line: int, character: int) -> str:
        result = await client.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=line, character=character),
            )
        )
        assert result is not None and isinstance(result.contents, types.MarkupContent)
        return result.contents.value

    image = await hover(1, text.splitlines()[1].index("python") + 3)
    assert "`linux/amd64`" in image and "`linux/arm64`" not in image
    assert "Not published for the target linux/arm64" in image
    assert "snapshot" in image

    rule_text = await hover(0, text.index("DA101") + 2)
    assert "DA101" in rule_text and "#da101" in rule_text


async def test_configuration_change_via_workspace_configuration(
    start: Start, tmp_path: Path
) -> None:
    client = await start(capabilities(VSCODE, pull=True), configuration={})
    uri = (tmp_path / "Dockerfile").as_uri()
    open_doc(client, uri, f"{DA101_LINE}\n")
    assert of(await pulled(client, uri), "DA101")

    # Files on disk changed (the client watches what the server registered): re-check.
    await wait_until(lambda: bool(client.registrations))  # type: ignore[attr-defined]
    refreshes = client.diagnostic_refresh_count
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[
                types.FileEvent(
                    uri=(tmp_path / "requirements.txt").as_uri(), type=types.FileChangeType.Changed
                )
            ]
        )
    )
    await wait_until(lambda: client.diagnostic_refresh_count > refreshes)

    before = await client.text_document_diagnostic_async(
        types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    client.set_configuration({"ignore": ["DA101"]}, section="dockerarch")
    refreshes = client.diagnostic_refresh_count
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    await wait_until(lambda: client.diagnostic_refresh_count > refreshes)
    # Same text and version, new settings: the old result id must not count as current.
    after = await client.text_document_diagnostic_async(
        types.DocumentDiagnosticParams(
            text_document=types.TextDocumentIdentifier(uri=uri), previous_result_id=before.result_id
        )
    )
    assert isinstance(after, types.RelatedFullDocumentDiagnosticReport)
    assert not of(list(after.items), "DA101")


async def test_pushed_configuration_without_workspace_configuration(
    start: Start, tmp_path: Path
) -> None:
    caps = capabilities(PUSH)
    assert caps.workspace is not None
    caps.workspace.configuration = False
    client = await start(caps)
    uri = (tmp_path / "Dockerfile").as_uri()
    open_doc(client, uri, f"{DA101_LINE}\n")
    await pushed(client, uri, "DA101")
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"dockerarch": {"ignore": ["DA1"]}})
    )
    await wait_until(lambda: not of(list(client.diagnostics[uri]), "DA101"))


async def test_thousand_rapid_changes_end_in_the_last_state(
    push_client: LanguageClient, tmp_path: Path
) -> None:
    client = push_client
    uri = (tmp_path / "Dockerfile").as_uri()
    open_doc(client, uri, "FROM alpine:3.20\n")
    for version in range(2, 1002):
        blank = "\n" * (version % 5)
        change_doc(client, uri, f"{blank}FROM alpine:3.{version}\n", version)
    change_doc(client, uri, f"\n\n\n\n\n\n{DA101_LINE}\n", 1002)
    (diag,) = await pushed(client, uri, "DA101")
    assert diag.range.start.line == 6
    assert isinstance(diag.data, dict)
    assert diag.data["version"] == 1002


async def test_survives_bad_input(start: Start, tmp_path: Path) -> None:
    client = await start(capabilities(PUSH))
    # Not JSON at all, then a request whose parameters do not fit its method.
    assert client._server is not None and client._server.stdin is not None
    bad = b'{"jsonrpc": "2.0", "id": "bad", "method": "textDocument/hover", "params": {"x": 1}}'
    for body in (b"{nonsense", bad):
        client._server.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    binary = "\x00\x01\ufffd" * 1000 + "\r\rFROM\\\n"
    open_doc(client, (tmp_path / "garbage.bin").as_uri(), binary)
    untitled = "untitled:Untitled-1"
    open_doc(client, untitled, f"{DA101_LINE}\n")
    (diag,) = await pushed(client, untitled, "DA101")
    assert diag.range.start.character == 5
    await wait_until(
        lambda: any(
            "untitled document: build-context rules skipped" in m.message
            for m in client.log_messages
        )
    )
    open_doc(client, (tmp_path / "huge").as_uri(), "RUN x\n" * 400_000)
    uri = (tmp_path / "Dockerfile").as_uri()
    open_doc(client, uri, f"{DA101_LINE}\n")
    await pushed(client, uri, "DA101")


async def test_project_configuration_reloads_on_watched_file_change(
    push_client: LanguageClient, tmp_path: Path
) -> None:
    client = push_client
    uri = (tmp_path / "Dockerfile").as_uri()
    open_doc(client, uri, f"{DA101_LINE}\n")
    await pushed(client, uri, "DA101")
    config = tmp_path / ".dockerarch.toml"
    config.write_text('ignore = ["DA101"]\n')
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=config.as_uri(), type=types.FileChangeType.Created)]
        )
    )
    await wait_until(lambda: not of(list(client.diagnostics[uri]), "DA101"))


def _expected(text: str, path: Path) -> list[tuple[str, int, int, str]]:
    """What a whole check finds in ``text`` (ASCII), as (code, line, column, message)."""
    from dockerarch.engine import check_text, load_rules

    ours = {r.code for r in load_rules()}
    result = check_text(text, path=path, context_dir=path.parent)
    found = []
    for d in result.diagnostics:
        pos = result.tree.lines.position(d.span.start)
        found.append((d.code, pos.line - 1, pos.column - 1, d.message))
    return sorted(f for f in found if f[0] in ours)


async def test_edits_to_one_stage_match_a_whole_check(
    pull_client: LanguageClient, tmp_path: Path
) -> None:
    # The server re-runs stage rules only for the stages an edit touched
    # (tests/test_incremental.py holds the checker itself to this, exhaustively).
    client = pull_client
    path = tmp_path / "Dockerfile"
    text = "".join(
        f"FROM python:3.12-slim AS s{n}\n"
        "RUN curl -fsSL https://example.com/tool-linux-amd64.tar.gz | tar -xz\n"
        f"RUN pip install numpy==1.18.5 # {n}\n"
        for n in range(6)
    )
    text += "FROM --platform=linux/amd64 alpine AS app\nCOPY --from=s2 /a /b\n"
    edits = [
        ("numpy==1.18.5 # 1", "numpy==1.19.0 # 1"),
        (
            "AS s4\nRUN curl -fsSL https://example.com/tool-linux-amd64",
            "AS s4\nRUN curl -fsSL https://example.com/tool-linux-$TARGETARCH",
        ),
        ("# 5\n", "# 5\nENV GOARCH=amd64\n"),
        ("--from=s2", "--from=s3"),
    ]
    open_doc(client, path.as_uri(), text)
    for version in range(1, len(edits) + 2):
        if version > 1:
            old, new = edits[version - 2]
            assert old in text
            text = text.replace(old, new, 1)
            change_doc(client, path.as_uri(), text, version)
        got = sorted(
            (str(d.code), d.range.start.line, d.range.start.character, d.message)
            for d in await pulled(client, path.as_uri())
            if str(d.code) not in (SAFE_CODE, UNSAFE_CODE)
        )
        assert got == _expected(text, path), version


#: An unused first stage to edit, and a final stage that installs requirements.txt
#: (DA501 reports its line 5 once that file pins a package without arm64 wheels).
_INSTALLS_REQUIREMENTS = (
    "FROM alpine AS other\n"
    "RUN echo 1\n"
    "FROM ubuntu:20.04 AS py\n"
    "RUN apt-get update && apt-get install -y python3-pip\n"
    "COPY requirements.txt .\n"
    "RUN pip3 install -r requirements.txt\n"
)


async def _without_file_watching(
    start: Start, caps: types.ClientCapabilities, **options: Any
) -> LanguageClient:
    """A server for a client like ``caps`` that does not report file changes."""
    assert caps.workspace is not None
    caps.workspace.did_change_watched_files = None
    return await start(caps, **options)


async def test_unreported_context_file_changes_show_once_typing_pauses(
    start: Start, tmp_path: Path
) -> None:
    # A client that does not report file changes: a keystroke's check reuses what
    # unchanged stages found, and the server checks the document whole again at
    # the first pause, so a requirements file edited elsewhere still shows.
    client = await _without_file_watching(start, capabilities(PUSH))
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("requests==2.31.0\n")
    uri, text = (tmp_path / "Dockerfile").as_uri(), _INSTALLS_REQUIREMENTS
    open_doc(client, uri, text)
    await wait_until(lambda: uri in client.diagnostics)
    assert not of(list(client.diagnostics[uri]), "DA501")
    # numpy 1.18.5 has no arm64 wheel; nothing tells the server the file changed.
    requirements.write_text("numpy==1.18.5\n")
    change_doc(client, uri, text.replace("echo 1", "echo 2"), 2)
    found = await pushed(client, uri, "DA501")
    assert found[0].range.start.line == 5


async def test_unreported_context_file_changes_are_pulled_once_typing_pauses(
    start: Start, tmp_path: Path
) -> None:
    # The same in pull mode: the server checks at the pause and asks the client to pull.
    client = await _without_file_watching(start, capabilities(VSCODE, pull=True), configuration={})
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("requests==2.31.0\n")
    uri, text = (tmp_path / "Dockerfile").as_uri(), _INSTALLS_REQUIREMENTS
    open_doc(client, uri, text)
    assert not of(await pulled(client, uri), "DA501")
    requirements.write_text("numpy==1.18.5\n")
    change_doc(client, uri, text.replace("echo 1", "echo 2"), 2)
    assert not of(await pulled(client, uri), "DA501")  # unchanged stage: findings reused
    refreshes = client.diagnostic_refresh_count
    await wait_until(lambda: client.diagnostic_refresh_count > refreshes)
    found = of(await pulled(client, uri), "DA501")
    assert found and found[0].range.start.line == 5
