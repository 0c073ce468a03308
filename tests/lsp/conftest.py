"""Start ``python -m dockerarch lsp`` as an editor would, with a chosen client's capabilities."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities, make_test_lsp_client

HERE = Path(__file__).parent
PACK = "dockerarch_lsp_testpack"
PUSH = "neovim@v0.9.1"  # no pull diagnostics, UTF-16 only
PULL_UTF8 = "neovim@v0.11.0"  # pull diagnostics, prefers UTF-8
VSCODE = "visual-studio-code"

Start = Callable[..., Awaitable[LanguageClient]]


@pytest.fixture(scope="session")
def server_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment whose Python also finds the test rule pack (its own entry point)."""
    root = tmp_path_factory.mktemp("pack")
    shutil.copy(HERE / "fixture_rules.py", root / f"{PACK}.py")
    info = root / f"{PACK}-0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {PACK}\nVersion: 0\n")
    (info / "entry_points.txt").write_text(f"[dockerarch.rules]\ntestpack = {PACK}:RULES\n")
    path = os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path}


def capabilities(
    client: str, *, encodings: list[str] | None = None, pull: bool | None = None
) -> types.ClientCapabilities:
    """A recorded client's capabilities (shipped with pytest-lsp), optionally adjusted."""
    caps = client_capabilities(client)
    if encodings is not None:
        caps.general = types.GeneralClientCapabilities(position_encodings=encodings)
    if pull is True:
        # What VS Code added with LSP 3.17 over the recorded 1.65 capabilities.
        assert caps.text_document is not None and caps.workspace is not None
        caps.text_document.diagnostic = types.DiagnosticClientCapabilities(
            dynamic_registration=True, related_document_support=False
        )
        caps.workspace.diagnostics = types.DiagnosticWorkspaceClientCapabilities(
            refresh_support=True
        )
    elif pull is False and caps.text_document is not None:
        caps.text_document.diagnostic = None
    return caps


async def launch(
    env: dict[str, str],
    caps: types.ClientCapabilities,
    root: Path,
    *,
    init_options: Any = None,
    configuration: dict[str, Any] | None = None,
) -> LanguageClient:
    client = make_test_lsp_client()
    registrations: list[types.Registration] = []

    # pygls' client decorator and stop() carry no type hints.
    @client.feature(types.CLIENT_REGISTER_CAPABILITY)  # type: ignore[untyped-decorator]
    def register(params: types.RegistrationParams) -> None:
        registrations.extend(params.registrations)

    client.registrations = registrations  # type: ignore[attr-defined]
    await client.start_io(sys.executable, "-m", "dockerarch", "lsp", env=env)
    if configuration is not None:
        client.set_configuration(configuration, section="dockerarch")
    await client.initialize_session(
        types.InitializeParams(
            capabilities=caps, root_uri=root.as_uri(), initialization_options=init_options
        )
    )
    return client


async def close(client: LanguageClient) -> None:
    await client.shutdown_session()
    await client.stop()  # type: ignore[no-untyped-call]


# Servers take about a second to start (most of it importing lsprotocol), so tests
# that need no special setup share one server per kind of client.
@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def push_client(
    server_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LanguageClient]:
    """A client without pull diagnostics and with UTF-16 positions (Neovim 0.9)."""
    client = await launch(server_env, capabilities(PUSH), tmp_path_factory.mktemp("push"))
    yield client
    await close(client)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pull_client(
    server_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LanguageClient]:
    """VS Code with pull diagnostics."""
    client = await launch(
        server_env, capabilities(VSCODE, pull=True), tmp_path_factory.mktemp("pull")
    )
    yield client
    await close(client)


@pytest_asyncio.fixture(loop_scope="module")
async def start(server_env: dict[str, str], tmp_path: Path) -> AsyncIterator[Start]:
    """``await start(caps, init_options=..., configuration=...)``: a server of the test's own."""
    clients: list[LanguageClient] = []

    async def _start(
        caps: types.ClientCapabilities,
        *,
        init_options: Any = None,
        configuration: dict[str, Any] | None = None,
    ) -> LanguageClient:
        client = await launch(
            server_env, caps, tmp_path, init_options=init_options, configuration=configuration
        )
        clients.append(client)
        return client

    yield _start
    for client in clients:
        await close(client)
