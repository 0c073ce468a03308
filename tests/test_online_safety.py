"""What ``--online`` may and may not do, for the three registry clients.

Covered elsewhere and not repeated: size limits of the PyPI and npm clients
(test_pypi_online, test_npm_online), silent servers (both), the OCI client's
bearer token staying on its host across a redirect and plain http only for
loopback (test_registry_online). Here: certificates are verified, a server
trickling bytes cannot outlast the timeout, the OCI client's size limit
without a real registry, credentials never follow a redirect to another host,
and nothing in the build context is ever executed.
"""

from __future__ import annotations

import base64
import contextlib
import http.server
import json
import os
import shutil
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dockerarch.imageref import parse_image_ref
from dockerarch.knowledge.npm_online import NpmRegistryClient, RegistryUnavailable
from dockerarch.knowledge.pypi_online import IndexUnavailable, PyPIClient
from dockerarch.knowledge.registry import RegistryClient, RegistryError

Reply = Callable[[http.server.BaseHTTPRequestHandler], None]


@dataclass
class Seen:
    """Requests a test server received: path and Authorization header."""

    requests: list[tuple[str, str | None]] = field(default_factory=list)


@contextmanager
def serve(reply: Reply, context: ssl.SSLContext | None = None) -> Iterator[tuple[int, Seen]]:
    seen = Seen()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self) -> None:
            seen.requests.append((self.path, self.headers.get("Authorization")))
            # A client that gives up (as it should, on a slow server) closes the connection.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                reply(self)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def send(handler: http.server.BaseHTTPRequestHandler, body: bytes, ctype: str) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", ctype)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


# -- TLS ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    if shutil.which("openssl") is None:
        pytest.skip("neither the cryptography package nor the openssl command is available")
    where = tmp_path_factory.mktemp("tls")
    key, cert = where / "key.pem", where / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def _ok(handler: http.server.BaseHTTPRequestHandler) -> None:
    send(handler, b'{"meta": {"api-version": "1.0"}, "files": [], "versions": {}}', "text/plain")


def test_self_signed_certificates_are_refused(self_signed: ssl.SSLContext) -> None:
    with serve(_ok, self_signed) as (port, seen):
        base = f"https://127.0.0.1:{port}"
        with pytest.raises(IndexUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
            PyPIClient(index_url=f"{base}/simple/", timeout=5).releases("demo")
        with pytest.raises(RegistryUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
            NpmRegistryClient(f"{base}/", timeout=5).document("canvas")
        image = parse_image_ref(f"127.0.0.1:{port}/team/app:1")
        assert image is not None
        oci = RegistryClient(endpoints={f"127.0.0.1:{port}": base}, timeout=5)
        with pytest.raises(RegistryError, match="CERTIFICATE_VERIFY_FAILED"):
            oci.platforms(image)
    assert seen.requests == []  # no request went past the handshake


# -- slow servers ------------------------------------------------------------------------


def _trickle(handler: http.server.BaseHTTPRequestHandler) -> None:
    """Headers at once, then a byte now and then, for far longer than any client waits."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.end_headers()
    handler.wfile.write(b"[")
    for _ in range(600):
        time.sleep(0.05)
        handler.wfile.write(b" ")
        handler.wfile.flush()


@pytest.mark.parametrize("client", ["pypi", "npm", "oci"])
def test_a_trickling_server_times_out(client: str) -> None:
    with serve(_trickle) as (port, _):
        base = f"http://127.0.0.1:{port}"
        started = time.monotonic()
        if client == "pypi":
            with pytest.raises(IndexUnavailable, match="timed out"):
                PyPIClient(index_url=f"{base}/simple/", timeout=0.5).releases("demo")
        elif client == "npm":
            with pytest.raises(RegistryUnavailable, match="timed out"):
                NpmRegistryClient(f"{base}/", timeout=0.5).document("canvas")
        else:
            image = parse_image_ref(f"127.0.0.1:{port}/team/app:1")
            assert image is not None
            oci = RegistryClient(endpoints={f"127.0.0.1:{port}": base}, timeout=0.5)
            with pytest.raises(RegistryError, match="timed out"):
                oci.platforms(image)
        # The timeout is per receive plus one overall deadline: well under the 30 s of bytes.
        assert time.monotonic() - started < 5


# -- size ------------------------------------------------------------------------------


@pytest.mark.parametrize("sized", [True, False])
def test_oci_response_over_the_limit_is_refused(sized: bool) -> None:
    manifest = json.dumps({"schemaVersion": 2, "manifests": [], "pad": "x" * 50_000}).encode()

    def big(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/vnd.oci.image.index.v1+json")
        if sized:
            handler.send_header("Content-Length", str(len(manifest)))
        handler.end_headers()
        handler.wfile.write(manifest)

    with serve(big) as (port, _):
        image = parse_image_ref(f"127.0.0.1:{port}/team/app:1")
        assert image is not None
        host = f"127.0.0.1:{port}"
        oci = RegistryClient(endpoints={host: f"http://{host}"}, max_bytes=10_000, timeout=5)
        with pytest.raises(RegistryError, match="limit"):
            oci.platforms(image)


# -- redirects and credentials -----------------------------------------------------------


def test_pypi_credentials_stay_on_the_index_host() -> None:
    """A redirect to another host must not carry the index's Basic credentials."""
    page = json.dumps({"meta": {"api-version": "1.0"}, "files": []}).encode()

    def elsewhere(handler: http.server.BaseHTTPRequestHandler) -> None:
        send(handler, page, "application/vnd.pypi.simple.v1+json")

    with serve(elsewhere) as (other_port, other_seen):

        def redirect(handler: http.server.BaseHTTPRequestHandler) -> None:
            handler.send_response(302)
            handler.send_header("Location", f"http://localhost:{other_port}{handler.path}")
            handler.send_header("Content-Length", "0")
            handler.end_headers()

        with serve(redirect) as (port, seen):
            url = f"http://alice:secret@127.0.0.1:{port}/simple/"
            assert PyPIClient(index_url=url, timeout=5).releases("demo") == []
    basic = "Basic " + base64.b64encode(b"alice:secret").decode()
    assert seen.requests == [("/simple/demo/", basic)]
    assert other_seen.requests == [("/simple/demo/", None)]


def test_npm_sends_no_credentials_even_when_npmrc_has_a_token(tmp_path: Path) -> None:
    doc = json.dumps({"name": "canvas", "versions": {}}).encode()

    def elsewhere(handler: http.server.BaseHTTPRequestHandler) -> None:
        send(handler, doc, "application/json")

    with serve(elsewhere) as (other_port, other_seen):

        def redirect(handler: http.server.BaseHTTPRequestHandler) -> None:
            handler.send_response(301)
            handler.send_header("Location", f"http://localhost:{other_port}{handler.path}")
            handler.send_header("Content-Length", "0")
            handler.end_headers()

        with serve(redirect) as (port, seen):
            (tmp_path / ".npmrc").write_text(
                f"registry=http://127.0.0.1:{port}/\n//127.0.0.1:{port}/:_authToken=npm_secret\n"
            )
            client = NpmRegistryClient(environ={"HOME": str(tmp_path)}, cwd=tmp_path, timeout=5)
            assert client.document("canvas") == {"name": "canvas", "versions": {}}
    assert seen.requests == [("/canvas", None)]
    assert other_seen.requests == [("/canvas", None)]


# -- nothing is executed --------------------------------------------------------------------


def _not_found(handler: http.server.BaseHTTPRequestHandler) -> None:
    handler.send_error(404)


def test_build_context_code_is_never_run(tmp_path: Path) -> None:
    """setup.py, package.json scripts and the like are read, never executed, online or not."""
    sentinel = tmp_path / "executed"
    app = tmp_path / "app"
    app.mkdir()
    touch = f"open({str(sentinel)!r}, 'a').write('x')"
    (app / "setup.py").write_text(
        f"{touch}\nfrom setuptools import setup\n"
        "setup(name='demo', install_requires=['dockerarch-probe-unknown==1.0'])\n"
    )
    (app / "conftest.py").write_text(touch + "\n")
    (app / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "backend"\n'
        'backend-path = ["."]\n[project]\nname = "demo"\nversion = "1"\n'
        'dependencies = ["dockerarch-probe-other==2.0"]\n'
    )
    (app / "backend.py").write_text(touch + "\n")
    shell_touch = f"touch {sentinel}"
    scripts = {k: shell_touch for k in ("preinstall", "install", "postinstall", "prepare")}
    (app / "package.json").write_text(
        json.dumps(
            {
                "name": "demo",
                "scripts": scripts,
                "dependencies": {"dockerarch-probe-addon": "1.0.0"},
            }
        )
    )
    (app / "Dockerfile").write_text(
        "FROM 127.0.0.1:1/python:3.11-slim\nWORKDIR /app\nCOPY . .\n"
        "RUN pip install . && pip install -e . && python setup.py install\n"
        "RUN npm install && npm ci && npm run prepare\n"
    )
    with serve(_not_found) as (port, seen):
        local = f"http://127.0.0.1:{port}/"
        env = {
            **os.environ,
            "PIP_INDEX_URL": local + "simple/",
            "npm_config_registry": local,
            "HOME": str(tmp_path),
        }
        for args in (
            ["check", "--select", "DA"],
            ["check", "--select", "DA", "--online", "--cache-dir", str(tmp_path / "cache")],
            ["fix", "--select", "DA", "--unsafe-fixes", "--diff"],
        ):
            subprocess.run(
                [sys.executable, "-m", "dockerarch", *args, "Dockerfile"],
                cwd=app, env=env, capture_output=True, timeout=120,
            )  # fmt: skip
    assert not sentinel.exists()
    # The online run did ask the (local) registries: the check looked, and still ran nothing.
    assert seen.requests
