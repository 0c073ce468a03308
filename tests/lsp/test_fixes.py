"""Code actions and hovers that reach past the Dockerfile: fixes as ``dockerarch fix``
makes them, build-context files, ignore comments, registry answers."""

from __future__ import annotations

import asyncio
import http.server
import json
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from dockerarch.config import FileConfig, Overrides, settings_for
from dockerarch.engine import Result, check_text
from dockerarch.fixer import fix_source
from tests.lsp.conftest import PUSH, VSCODE, Start, capabilities
from tests.lsp.test_server import (
    apply,
    change_doc,
    code_actions,
    edited_uris,
    edits_for,
    of,
    open_doc,
    pulled,
    pushed,
    wait_until,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

FIXTURES = Path(__file__).parents[2] / "fixtures"

# DA111 (a default for TARGETARCH), DA301 (a hard-coded amd64 download) and DA110
# (TARGETARCH used, not declared) in one stage: the DA301 and DA110 fixes both
# insert the same `ARG TARGETARCH` after the FROM, and DA111's fix is needed
# before the download's `${TARGETARCH}` is right.
INTERACTING = (
    "ARG TARGETARCH=amd64\n"
    "FROM debian:bookworm-slim\n"
    "RUN curl -fsSL https://go.dev/dl/go1.22.0.linux-amd64.tar.gz | tar -C /usr/local -xz\n"
    'RUN curl -fsSLo /usr/local/bin/kubectl "https://dl.k8s.io/v1.30.2/bin/linux/${TARGETARCH}/kubectl"\n'
)


def cli_fix(text: str, path: Path, unsafe: bool) -> str:
    """What ``dockerarch fix --style inline [--unsafe-fixes]`` makes of ``text`` at ``path``."""
    settings = settings_for(FileConfig(None, path.parent), Overrides(), path)

    def check(source: str) -> Result:
        return check_text(source, settings, path=path, context_dir=path.parent)

    outcome = fix_source(text, check, unsafe=unsafe, style="inline")
    assert {"DA110", "DA111", "DA301"} <= {a.code for a in outcome.applied}
    return outcome.source


async def fix_all_action(client: LanguageClient, uri: str) -> types.CodeAction:
    (action,) = await code_actions(client, uri, [], only=[types.CodeActionKind.SourceFixAll])
    assert action.kind == "source.fixAll.dockerarch"
    return action


@pytest.mark.parametrize("client_name", [PUSH, VSCODE])
async def test_fix_all_equals_the_cli_with_unsafe_fixes(
    start: Start, tmp_path: Path, client_name: str
) -> None:
    client = await start(
        capabilities(client_name, pull=client_name == VSCODE),
        init_options={"dockerarch": {"unsafeFixes": True}},
    )
    path = tmp_path / "Dockerfile"
    uri = path.as_uri()
    open_doc(client, uri, INTERACTING, version=4)
    if client_name == VSCODE:
        assert of(await pulled(client, uri), "DA301")
    else:
        await pushed(client, uri, "DA301")
    action = await fix_all_action(client, uri)
    expected = cli_fix(INTERACTING, path, unsafe=True)
    assert apply(INTERACTING, edits_for(action, uri)) == expected
    assert expected.count("ARG TARGETARCH\n") == 2  # the global one, and one shared in the stage
    assert action.edit is not None
    if client_name == VSCODE:
        # Versioned, so the client refuses it once the text has moved on.
        (change,) = action.edit.document_changes or []
        assert isinstance(change, types.TextDocumentEdit)
        assert change.text_document.version == 4
    else:
        assert action.edit.document_changes is None


async def test_fix_all_without_unsafe_fixes_leaves_unsafe_ones(
    push_client: LanguageClient, tmp_path: Path
) -> None:
    client = push_client
    path = tmp_path / "Dockerfile"
    uri = path.as_uri()
    open_doc(client, uri, INTERACTING)
    await pushed(client, uri, "DA301")
    action = await fix_all_action(client, uri)
    settings = settings_for(FileConfig(None, tmp_path), Overrides(), path)
    expected = fix_source(
        INTERACTING,
        lambda t: check_text(t, settings, path=path, context_dir=tmp_path),
        style="inline",
    )
    assert apply(INTERACTING, edits_for(action, uri)) == expected.source != INTERACTING


def copy_fixture(case: str, into: Path) -> Path:
    for f in (FIXTURES / case).iterdir():
        if f.name in ("Dockerfile", "requirements.txt"):
            shutil.copy(f, into / f.name)
    return into / "Dockerfile"


async def test_quick_fix_edits_the_requirements_file(
    push_client: LanguageClient, tmp_path: Path
) -> None:
    client = push_client
    dockerfile = copy_fixture("DA501/numpy-requirements", tmp_path)
    requirements = tmp_path / "requirements.txt"
    uri = dockerfile.as_uri()
    open_doc(client, uri, dockerfile.read_text())
    (diag,) = await pushed(client, uri, "DA501")
    (fix,) = [a for a in await code_actions(client, uri, [diag]) if a.title.startswith("Fix")]
    assert fix.title == "Fix DA501: Pin numpy to 1.19.0 on every platform (unsafe)"
    # Only the requirements file changes: the Dockerfile installs whatever it lists.
    assert edited_uris(fix) == {requirements.as_uri()}
    fixed = apply(requirements.read_text(), edits_for(fix, requirements.as_uri()))
    assert fixed == (FIXTURES / "DA501/numpy-requirements/fixed/requirements.txt").read_text()


async def test_no_quick_fix_for_a_requirements_file_with_unsaved_changes(
    push_client: LanguageClient, tmp_path: Path
) -> None:
    client = push_client
    dockerfile = copy_fixture("DA501/numpy-requirements", tmp_path)
    requirements = tmp_path / "requirements.txt"
    uri = dockerfile.as_uri()
    open_doc(client, uri, dockerfile.read_text())
    (diag,) = await pushed(client, uri, "DA501")
    # The finding's offsets index the file on disk; the buffer has moved on.
    open_doc(client, requirements.as_uri(), "# pinned\n" + requirements.read_text())
    titles = [a.title for a in await code_actions(client, uri, [diag])]
    assert titles == ["Ignore DA501 for this instruction"]


MULTILINE_RUN = (
    "FROM debian:bookworm-slim\n"
    "ARG TARGETARCH\n"
    "# why: the tarball is checked below\n"
    "# dockerarch: ignore[DA110]  kept for the old CI\n"
    "RUN set -eux; \\\n"
    "    curl -fsSLO https://go.dev/dl/go1.22.0.linux-amd64.tar.gz; \\\n"
    "    tar -C /usr/local -xzf go1.22.0.linux-amd64.tar.gz\n"
)


async def test_ignore_action_on_a_multi_line_run_extends_the_comment_above(
    push_client: LanguageClient, tmp_path: Path
) -> None:
    client = push_client
    uri = (tmp_path / "Dockerfile").as_uri()
    open_doc(client, uri, MULTILINE_RUN)
    (diag,) = await pushed(client, uri, "DA301")
    assert diag.range.start.line == 5  # the continuation line, not the RUN's first
    (ignore,) = [a for a in await code_actions(client, uri, [diag]) if a.title.startswith("Ignore")]
    assert ignore.title == "Ignore DA301 for this instruction"
    text = apply(MULTILINE_RUN, edits_for(ignore, uri))
    lines = MULTILINE_RUN.splitlines()
    lines[3] = "# dockerarch: ignore[DA110,DA301]  kept for the old CI"
    assert text.splitlines() == lines
    change_doc(client, uri, text, 2)
    await wait_until(lambda: not of(list(client.diagnostics[uri]), "DA301"))


async def test_ignore_action_on_a_multi_line_run_without_a_comment(
    push_client: LanguageClient, tmp_path: Path
) -> None:
    client = push_client
    uri = (tmp_path / "Dockerfile").as_uri()
    text = MULTILINE_RUN.replace("# dockerarch: ignore[DA110]  kept for the old CI\n", "")
    open_doc(client, uri, text)
    (diag,) = await pushed(client, uri, "DA301")
    (ignore,) = [a for a in await code_actions(client, uri, [diag]) if a.title.startswith("Ignore")]
    fixed = apply(text, edits_for(ignore, uri)).splitlines()
    assert fixed[3:5] == ["# dockerarch: ignore[DA301]", "RUN set -eux; \\"]


INDEX = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"platform": {"os": "linux", "architecture": "amd64"}},
            {"platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
            {"platform": {"os": "unknown", "architecture": "unknown"}},
        ],
    }
).encode()


@contextmanager
def held_registry() -> Iterator[tuple[str, threading.Event]]:
    """A registry on 127.0.0.1 with one image, answering only once the event is set."""
    release = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            release.wait(10)
            found = self.path == "/v2/team/app/manifests/1"
            body = INDEX if found else b"{}"
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "application/vnd.oci.image.index.v1+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", release
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


async def test_hover_never_waits_on_the_registry(start: Start, tmp_path: Path) -> None:
    client = await start(
        capabilities(VSCODE, pull=True),
        init_options={"dockerarch": {"online": True}},
    )
    uri = (tmp_path / "Dockerfile").as_uri()
    with held_registry() as (host, release):
        text = f"FROM python:3.12\nFROM {host}/team/app:1\n"
        open_doc(client, uri, text)

        async def hover(line: int) -> str:
            result = await client.text_document_hover_async(
                types.HoverParams(
                    text_document=types.TextDocumentIdentifier(uri=uri),
                    position=types.Position(line=line, character=8),
                )
            )
            assert result is not None and isinstance(result.contents, types.MarkupContent)
            return result.contents.value

        # The registry holds every request until released: the hovers answer regardless.
        assert "_Source: official-images snapshot" in await hover(0)
        assert "looking it up in the registry" in await hover(1)
        release.set()
        answers: list[str] = []

        async def answered() -> bool:
            answers.append(await hover(1))
            return "published for" in answers[-1]

        deadline = asyncio.get_running_loop().time() + 10
        while not await answered():
            assert asyncio.get_running_loop().time() < deadline, answers[-1]
            await asyncio.sleep(0.05)
    assert "`linux/amd64`, `linux/arm64`" in answers[-1]
    assert f"_Source: registry {host}" in answers[-1]
