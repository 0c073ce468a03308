"""RegistryClient against a real registry (Debian's docker-registry) and a fake token server.

Everything listens on 127.0.0.1 and is stopped by the test that started it.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from dockerarch.imageref import ImageRef, parse_image_ref
from dockerarch.knowledge.registry import (
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    RegistryClient,
    RegistryError,
    parse_bearer_challenge,
)

REGISTRY_BINARY = shutil.which("docker-registry")
needs_registry = pytest.mark.skipif(
    REGISTRY_BINARY is None,
    reason="docker-registry not installed (Debian package docker-registry provides it)",
)
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def ref(text: str) -> ImageRef:
    parsed = parse_image_ref(text)
    assert parsed is not None
    return parsed


@dataclass
class Registry:
    host: str
    process: subprocess.Popen[bytes]

    @property
    def base(self) -> str:
        return f"http://{self.host}"

    def client(self, **kwargs: Any) -> RegistryClient:
        return RegistryClient(endpoints={self.host: self.base}, timeout=5.0, **kwargs)

    def request(self, method: str, url: str, body: bytes = b"", ctype: str = "") -> Any:
        headers = {"Content-Type": ctype} if ctype else {}
        req = urllib.request.Request(url, data=body or None, method=method, headers=headers)
        return urllib.request.urlopen(req, timeout=5)

    def push_blob(self, name: str, data: bytes) -> dict[str, Any]:
        with self.request("POST", f"{self.base}/v2/{name}/blobs/uploads/") as started:
            location = urllib.parse.urljoin(self.base, started.headers["Location"])
        separator = "&" if "?" in location else "?"
        digest = digest_of(data)
        url = f"{location}{separator}digest={urllib.parse.quote(digest)}"
        with self.request("PUT", url, data, "application/octet-stream") as done:
            assert done.status == 201
        return {"digest": digest, "size": len(data)}

    def push_manifest(self, name: str, reference: str, manifest: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(manifest).encode()
        url = f"{self.base}/v2/{name}/manifests/{reference}"
        with self.request("PUT", url, body, manifest["mediaType"]) as done:
            assert done.status == 201
        return {"mediaType": manifest["mediaType"], "digest": digest_of(body), "size": len(body)}

    def push_image(
        self, name: str, config: dict[str, Any], media_type: str, tag: str | None = None
    ) -> dict[str, Any]:
        """Push config, one layer and the manifest (by digest, and by ``tag`` if given)."""
        is_oci = media_type == OCI_MANIFEST
        config_type = OCI_CONFIG if is_oci else "application/vnd.docker.container.image.v1+json"
        layer_type = OCI_LAYER if is_oci else "application/vnd.docker.image.rootfs.diff.tar.gzip"
        config_blob = self.push_blob(name, json.dumps(config).encode())
        layer = self.push_blob(name, f"layer for {config['architecture']}".encode())
        manifest = {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": {"mediaType": config_type, **config_blob},
            "layers": [{"mediaType": layer_type, **layer}],
        }
        if tag is not None:
            self.push_manifest(name, tag, manifest)
        return self.push_manifest(name, digest_of(json.dumps(manifest).encode()), manifest)


@contextmanager
def running_registry(root: Path) -> Iterator[Registry]:
    assert REGISTRY_BINARY is not None
    port = free_port()
    root.mkdir(parents=True, exist_ok=True)
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: error\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'storage'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n",
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [REGISTRY_BINARY, "serve", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    registry = Registry(f"127.0.0.1:{port}", process)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with registry.request("GET", f"{registry.base}/v2/") as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    stderr = process.stderr.read().decode() if process.stderr else ""
                    pytest.fail(f"docker-registry did not start: {stderr}")
                time.sleep(0.05)
        yield registry
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()


@dataclass
class Pushed:
    registry: Registry
    arm64_digest: str


@pytest.fixture(scope="module")
def pushed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pushed]:
    if REGISTRY_BINARY is None:
        pytest.skip("docker-registry not installed")
    with running_registry(tmp_path_factory.mktemp("registry")) as registry:
        amd64 = {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers"}}
        arm64 = {"architecture": "arm64", "os": "linux", "variant": "v8"}
        registry.push_image("test/amd64only", amd64, DOCKER_MANIFEST, tag="1")
        amd = registry.push_image("test/multi", amd64, OCI_MANIFEST)
        arm = registry.push_image("test/multi", arm64, OCI_MANIFEST)
        attestation = registry.push_image(
            "test/multi", {"architecture": "unknown", "os": "unknown"}, OCI_MANIFEST
        )
        index = {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {**amd, "platform": {"architecture": "amd64", "os": "linux"}},
                {**arm, "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}},
                {**attestation, "platform": {"architecture": "unknown", "os": "unknown"}},
            ],
        }
        registry.push_manifest("test/multi", "1", index)
        yield Pushed(registry, arm["digest"])


@needs_registry
def test_single_manifest_reads_config(pushed: Pushed) -> None:
    host = pushed.registry.host
    found = pushed.registry.client().platforms(ref(f"{host}/test/amd64only:1"))
    assert found.platforms == {"linux/amd64"}
    assert found.source.startswith(f"registry {host} ")


@needs_registry
def test_index_lists_platforms_without_attestations(pushed: Pushed) -> None:
    found = pushed.registry.client().platforms(ref(f"{pushed.registry.host}/test/multi:1"))
    assert found.platforms == {"linux/amd64", "linux/arm64"}


@needs_registry
def test_digest_reference(pushed: Pushed) -> None:
    text = f"{pushed.registry.host}/test/multi@{pushed.arm64_digest}"
    assert pushed.registry.client().platforms(ref(text)).platforms == {"linux/arm64"}


@needs_registry
def test_missing_tag(pushed: Pushed) -> None:
    with pytest.raises(RegistryError, match="HTTP 404"):
        pushed.registry.client().platforms(ref(f"{pushed.registry.host}/test/multi:nope"))


@needs_registry
def test_response_over_limit_is_refused(pushed: Pushed) -> None:
    client = pushed.registry.client(max_bytes=200)
    with pytest.raises(RegistryError, match="limit"):
        client.platforms(ref(f"{pushed.registry.host}/test/multi:1"))


def test_unreachable_registry_fails_fast() -> None:
    host = f"127.0.0.1:{free_port()}"
    client = RegistryClient(endpoints={host: f"http://{host}"}, timeout=2.0)
    started = time.monotonic()
    with pytest.raises(RegistryError, match=r"GET http://127\.0\.0\.1"):
        client.platforms(ref(f"{host}/test/app:1"))
    assert time.monotonic() - started < 2.0


@needs_registry
def test_cache_avoids_network(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with running_registry(tmp_path / "registry") as registry:
        config = {"architecture": "arm64", "os": "linux"}
        registry.push_image("test/app", config, OCI_MANIFEST, tag="1")
        image = ref(f"{registry.host}/test/app:1")
        client = registry.client(cache_dir=cache)
        first = client.platforms(image)
    assert registry.process.returncode is not None  # the registry is gone
    assert client.platforms(image) == first  # memory cache
    from_disk = registry.client(cache_dir=cache).platforms(image)
    assert from_disk.platforms == {"linux/arm64"}
    assert from_disk.source.startswith("online cache ")
    with pytest.raises(RegistryError):
        registry.client(cache_dir=cache, cache_ttl=0).platforms(image)
    with pytest.raises(RegistryError):
        registry.client().platforms(image)


# --- bearer tokens and redirects, against a fake registry on http.server ---------------------


@dataclass
class FakeLog:
    token_queries: list[dict[str, list[str]]] = field(default_factory=list)
    auth_by_path: dict[str, str | None] = field(default_factory=dict)


CONFIG = json.dumps({"architecture": "arm", "os": "linux", "variant": "v6"}).encode()
MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": digest_of(CONFIG), "size": len(CONFIG)},
        "layers": [],
    }
).encode()


@contextmanager
def fake_registry() -> Iterator[tuple[str, FakeLog]]:
    log = FakeLog()
    token = "tok-123"

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            address = self.server.server_address
            assert isinstance(address, tuple)
            port = address[1]
            path, _, query = self.path.partition("?")
            auth = self.headers.get("Authorization")
            log.auth_by_path[path] = auth
            if path == "/token":
                log.token_queries.append(urllib.parse.parse_qs(query))
                self._send(200, json.dumps({"token": token}).encode(), "application/json")
            elif path.startswith("/v2/") and auth != f"Bearer {token}":
                realm = f"http://127.0.0.1:{port}/token"
                challenge = (
                    f'Bearer realm="{realm}",service="fake",scope="repository:test/app:pull"'
                )
                self._send(401, b"{}", "application/json", {"WWW-Authenticate": challenge})
            elif path == "/v2/test/app/manifests/1":
                self._send(200, MANIFEST, OCI_MANIFEST)
            elif path == f"/v2/test/app/blobs/{digest_of(CONFIG)}":
                # Blob storage on another host name, as registries redirect to a CDN.
                self._send(307, b"", "text/plain", {"Location": f"http://localhost:{port}/cdn"})
            elif path == "/cdn":
                self._send(200, CONFIG, "application/octet-stream")
            else:
                self._send(404, b"{}", "application/json")

        def _send(
            self, code: int, body: bytes, ctype: str, extra: dict[str, str] | None = None
        ) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", log
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_bearer_token_flow_and_redirect_drops_credentials() -> None:
    with fake_registry() as (host, log):
        client = RegistryClient(endpoints={host: f"http://{host}"}, timeout=5.0)
        found = client.platforms(ref(f"{host}/test/app:1"))
    assert found.platforms == {"linux/arm/v6"}
    assert log.token_queries == [{"service": ["fake"], "scope": ["repository:test/app:pull"]}]
    assert log.auth_by_path["/v2/test/app/manifests/1"] == "Bearer tok-123"
    assert log.auth_by_path[f"/v2/test/app/blobs/{digest_of(CONFIG)}"] == "Bearer tok-123"
    assert log.auth_by_path["/cdn"] is None  # the redirect target is another host
    assert log.auth_by_path["/token"] is None


def test_plain_http_only_for_loopback() -> None:
    with pytest.raises(ValueError, match="loopback"):
        RegistryClient(endpoints={"example.com": "http://example.com"})
    RegistryClient(endpoints={"[::1]:5000": "http://[::1]:5000", "localhost": "http://localhost"})


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            'Bearer realm="https://auth.example/token",service="reg",'
            'scope="repository:a/b:pull,push"',
            {
                "realm": "https://auth.example/token",
                "service": "reg",
                "scope": "repository:a/b:pull,push",
            },
        ),
        (
            'bearer realm="https://a/t", error="invalid_token"',
            {"realm": "https://a/t", "error": "invalid_token"},
        ),
        ('Bearer realm=https://a/t,service="x\\"y"', {"realm": "https://a/t", "service": 'x"y'}),
        ('Basic realm="registry"', None),
    ],
)
def test_parse_bearer_challenge(header: str, expected: dict[str, str] | None) -> None:
    assert parse_bearer_challenge(header) == expected
