from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from dockerarch.knowledge.npm import addon_support, parse_curated
from dockerarch.knowledge.npm_online import (
    ABBREVIATED,
    NpmOnlineProvider,
    NpmRegistryClient,
    RegistryUnavailable,
    configured_registry,
)


def _canvas_doc() -> dict[str, Any]:
    install = "node-pre-gyp install --fallback-to-build --update-binary"
    return {
        "name": "canvas",
        "dist-tags": {"latest": "2.11.2"},
        "versions": {
            v: {"name": "canvas", "version": v, "scripts": {"install": install}}
            for v in ("2.11.0", "2.11.2")
        },
    }


def _imgtool_doc() -> dict[str, Any]:
    optional = {"@imgtool/linux-arm64": "1.0.0", "@imgtool/linux-x64": "1.0.0"}
    return {
        "name": "imgtool",
        "dist-tags": {"latest": "1.0.0"},
        "versions": {"1.0.0": {"version": "1.0.0", "optionalDependencies": optional}},
    }


def _platform_doc(name: str, cpu: str) -> dict[str, Any]:
    # The glibc-only libc field cannot be told from the name: the provider must read it.
    meta = {"version": "1.0.0", "os": ["linux"], "cpu": [cpu], "libc": ["glibc"]}
    return {"name": name, "dist-tags": {"latest": "1.0.0"}, "versions": {"1.0.0": meta}}


DOCS: dict[str, dict[str, Any]] = {
    "/canvas": _canvas_doc(),
    "/left-pad": {
        "name": "left-pad",
        "dist-tags": {"latest": "1.3.0"},
        "versions": {"1.3.0": {"version": "1.3.0"}},
    },
    "/imgtool": _imgtool_doc(),
    "/@imgtool%2flinux-arm64": _platform_doc("@imgtool/linux-arm64", "arm64"),
    "/@imgtool%2flinux-x64": _platform_doc("@imgtool/linux-x64", "x64"),
    "/huge": {"name": "huge", "versions": {}, "padding": "x" * 5000},
}


def _abbreviate(doc: dict[str, Any]) -> dict[str, Any]:
    """What a registry serves for the install-v1 Accept type: no scripts, hasInstallScript."""
    versions = {}
    for v, meta in doc.get("versions", {}).items():
        short = {k: val for k, val in meta.items() if k != "scripts"}
        if set(meta.get("scripts", {})) & {"preinstall", "install", "postinstall"}:
            short["hasInstallScript"] = True
        versions[v] = short
    return {**doc, "versions": versions}


class _Registry(BaseHTTPRequestHandler):
    hits: ClassVar[list[tuple[str, str]]] = []

    def do_GET(self) -> None:
        type(self).hits.append((self.path, self.headers.get("Accept", "")))
        doc = DOCS.get(self.path)
        if doc is None:
            self.send_error(404)
            return
        if self.headers.get("Accept") == ABBREVIATED:
            doc = _abbreviate(doc)
        body = json.dumps(doc).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def registry() -> Iterator[str]:
    _Registry.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Registry)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_fetches_documents(registry: str) -> None:
    client = NpmRegistryClient(registry)
    doc = client.document("canvas")
    assert doc is not None and doc["dist-tags"]["latest"] == "2.11.2"
    assert _Registry.hits == [("/canvas", ABBREVIATED)]
    assert client.document("canvas", abbreviated=False) is not None
    assert _Registry.hits[-1] == ("/canvas", "application/json")
    assert client.document("no-such-package") is None


def test_scoped_names_are_encoded(registry: str) -> None:
    client = NpmRegistryClient(registry)
    assert client.document("@imgtool/linux-arm64") is not None
    assert _Registry.hits[-1][0] == "/@imgtool%2flinux-arm64"


def test_size_limit(registry: str) -> None:
    client = NpmRegistryClient(registry, max_bytes=1000)
    with pytest.raises(RegistryUnavailable, match="larger"):
        client.document("huge")


def test_timeout_when_the_server_never_answers() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # connections queue in the backlog and are never answered
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        client = NpmRegistryClient(url, timeout=0.3)
        started = time.monotonic()
        with pytest.raises(RegistryUnavailable):
            client.document("canvas")
        assert time.monotonic() - started < 3


def test_disk_cache_and_expiry(registry: str, tmp_path: Path) -> None:
    NpmRegistryClient(registry, cache_dir=tmp_path).document("canvas")
    NpmRegistryClient(registry, cache_dir=tmp_path).document("canvas")
    assert len(_Registry.hits) == 1
    NpmRegistryClient(registry, cache_dir=tmp_path, ttl=-1).document("canvas")
    assert len(_Registry.hits) == 2
    # A missing package is cached too, so it is not asked for again.
    NpmRegistryClient(registry, cache_dir=tmp_path).document("nope")
    NpmRegistryClient(registry, cache_dir=tmp_path).document("nope")
    assert len(_Registry.hits) == 3


def test_provider_feeds_the_same_decision(registry: str) -> None:
    provider = NpmOnlineProvider(NpmRegistryClient(registry), curated={})
    arm = addon_support("canvas", "^2.11.0", "arm64", "glibc", provider=provider)
    assert arm is not None and arm.resolved_version == "2.11.2"
    assert arm.install_kind == "node-pre-gyp" and arm.prebuilt is None  # no curated facts
    assert addon_support("left-pad", "^1", "arm64", "glibc", provider=provider) is None
    # left-pad's abbreviated document shows no install script: the full one is never fetched.
    assert ("/left-pad", "application/json") not in _Registry.hits


def test_provider_reads_platform_package_documents(registry: str) -> None:
    provider = NpmOnlineProvider(NpmRegistryClient(registry), curated={})
    glibc = addon_support("imgtool", "1.0.0", "arm64", "glibc", provider=provider)
    musl = addon_support("imgtool", "1.0.0", "arm64", "musl", provider=provider)
    assert glibc is not None and glibc.prebuilt is True
    assert musl is not None and musl.prebuilt is False and musl.unsupported


def test_provider_applies_curated_rules(registry: str) -> None:
    curated = parse_curated(
        '[[canvas.rule]]\nversions = "2.x"\nprebuilt = ["linux-x64-glibc"]\n'
        'missing = ["linux-arm64-*"]\nreason = "x64 only"\nsources = ["https://e.invalid/1"]\n'
    )
    provider = NpmOnlineProvider(NpmRegistryClient(registry), curated=curated)
    arm = addon_support("canvas", "2.11.2", "arm64", "musl", provider=provider)
    assert arm is not None and arm.builds_from_source and arm.sources == ("https://e.invalid/1",)


def test_configured_registry(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".npmrc").write_text("registry=https://user.example/npm\n@corp:registry=${CORP}\n")
    project = tmp_path / "proj"
    project.mkdir()
    env = {"HOME": str(home), "CORP": "https://corp.example/"}
    assert configured_registry("x", env) == "https://user.example/npm/"
    assert configured_registry("@corp/x", env) == "https://corp.example/"
    (project / ".npmrc").write_text("; comment\nregistry = https://project.example/\n")
    assert configured_registry("x", env, project) == "https://project.example/"
    env["npm_config_registry"] = "https://env.example"
    assert configured_registry("x", env, project) == "https://env.example/"
    env = {"HOME": str(tmp_path / "nowhere"), "NPM_CONFIG_REGISTRY": "https://upper.example/"}
    assert configured_registry("x", env) == "https://upper.example/"
    assert configured_registry("x", {"HOME": str(tmp_path / "nowhere")}).startswith("https://")


def test_client_uses_the_configured_registry(registry: str, tmp_path: Path) -> None:
    client = NpmRegistryClient(environ={"npm_config_registry": registry, "HOME": str(tmp_path)})
    assert client.document("canvas") is not None
