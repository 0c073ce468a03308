"""PyPIClient against a local simple-API index served from a thread (no internet)."""

from __future__ import annotations

import base64
import hashlib
import html
import http.server
import json
import socket
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.version import Version

from dockerarch.knowledge.pypi import WheelAnswer, choose_version, wheel_platforms
from dockerarch.knowledge.pypi_online import (
    IndexUnavailable,
    PyPIClient,
    configured_index_url,
    pip_config_files,
)

ARCHS = ["amd64", "arm64"]
WHEELS = [
    "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
    "demo-1.1-cp311-cp311-manylinux_2_17_x86_64.whl",
    "demo-1.1-cp311-cp311-manylinux_2_17_aarch64.whl",
    "demo-1.2-cp311-cp311-manylinux_2_17_x86_64.whl",
    "demo-1.2-cp311-cp311-manylinux_2_17_aarch64.whl",
]
SDISTS = ["demo-1.0.tar.gz"]
YANKED = {
    "demo-1.2-cp311-cp311-manylinux_2_17_x86_64.whl",
    "demo-1.2-cp311-cp311-manylinux_2_17_aarch64.whl",
}


def write_wheel(directory: Path, filename: str) -> Path:
    """A minimal but well-formed wheel: METADATA, WHEEL and RECORD in its dist-info."""
    name, version, python, abi, platform = filename[: -len(".whl")].split("-")
    dist_info = f"{name}-{version}.dist-info"
    members = {
        f"{name}/__init__.py": b"",
        f"{dist_info}/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
        ),
        f"{dist_info}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: dockerarch-tests\nRoot-Is-Purelib: false\n"
            f"Tag: {python}-{abi}-{platform}\n"
        ).encode(),
    }
    record_lines = []
    for member, content in members.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=")
        record_lines.append(f"{member},sha256={digest.decode()},{len(content)}")
    record_lines.append(f"{dist_info}/RECORD,,")
    members[f"{dist_info}/RECORD"] = ("\n".join(record_lines) + "\n").encode()
    path = directory / filename
    with zipfile.ZipFile(path, "w") as archive:
        for member, content in members.items():
            archive.writestr(member, content)
    return path


@dataclass
class Index:
    """A static index tree plus how the handler should behave."""

    root: Path
    mode: str = "negotiate"  # or "html-only", "406", "huge", "huge-unsized"
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)

    def files(self) -> list[Path]:
        return sorted((self.root / "files").iterdir())

    def json_page(self) -> bytes:
        entries = []
        for path in self.files():
            entry: dict[str, object] = {
                "filename": path.name,
                "url": f"../../files/{path.name}",
                "hashes": {"sha256": hashlib.sha256(path.read_bytes()).hexdigest()},
                "requires-python": ">=3.8",
            }
            if path.name in YANKED:
                entry["yanked"] = "broken build"
            entries.append(entry)
        page = {"meta": {"api-version": "1.1"}, "name": "demo", "files": entries}
        return json.dumps(page).encode()

    def html_page(self) -> bytes:
        anchors = []
        for path in self.files():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            yanked = ' data-yanked="broken build"' if path.name in YANKED else ""
            requires = html.escape(">=3.8")
            anchors.append(
                f'<a href="../../files/{path.name}#sha256={digest}"'
                f' data-requires-python="{requires}"{yanked}>{path.name}</a><br/>'
            )
        body = "<!DOCTYPE html><html><body>" + "\n".join(anchors) + "</body></html>"
        return body.encode()


def make_handler(index: Index) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            accept = self.headers.get("Accept", "")
            index.requests.append((self.path, accept, self.headers.get("Authorization")))
            if self.path != "/simple/demo/":
                self.send_error(404)
                return
            wants_json = "application/vnd.pypi.simple.v1+json" in accept
            if index.mode.startswith("huge"):
                padded = index.html_page() + b" " * 200_000
                self.reply("text/html", padded, sized=index.mode == "huge")
            elif index.mode == "406" and wants_json:
                self.send_error(406)
            elif index.mode == "negotiate" and wants_json:
                self.reply("application/vnd.pypi.simple.v1+json", index.json_page())
            else:
                self.reply("text/html; charset=utf-8", index.html_page())

        def reply(self, content_type: str, body: bytes, sized: bool = True) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            if sized:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler


@pytest.fixture
def index(tmp_path: Path) -> Iterator[tuple[Index, str]]:
    files = tmp_path / "files"
    files.mkdir()
    for wheel in WHEELS:
        write_wheel(files, wheel)
    for sdist in SDISTS:
        (files / sdist).write_bytes(b"not really a tarball")
    state = Index(tmp_path)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/simple/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_wheels_are_well_formed(index: tuple[Index, str]) -> None:
    state, _ = index
    wheel = state.root / "files" / WHEELS[0]
    with zipfile.ZipFile(wheel) as archive:
        assert archive.testzip() is None
        assert (
            "Tag: cp311-cp311-manylinux_2_17_x86_64"
            in archive.read("demo-1.0.dist-info/WHEEL").decode()
        )


def check_demo(client: PyPIClient) -> None:
    releases = client.releases("Demo")
    assert releases is not None
    assert [str(r.version) for r in releases] == ["1.0", "1.1", "1.2"]
    assert [r.yanked for r in releases] == [False, False, True]
    assert releases[0].has_sdist and not releases[1].has_sdist
    assert releases[0].requires_python == ">=3.8"
    answers = wheel_platforms("demo", "1.0", (3, 11), "glibc", (2, 31), ARCHS, provider=client)
    assert answers == {"amd64": WheelAnswer.YES, "arm64": WheelAnswer.NO}
    answers = wheel_platforms("demo", "1.1", (3, 11), "glibc", (2, 31), ARCHS, provider=client)
    assert answers == {"amd64": WheelAnswer.YES, "arm64": WheelAnswer.YES}
    # 1.2 is yanked: pip skips it unless pinned.
    assert choose_version("demo", ">=1.0", (3, 11), provider=client) == Version("1.1")
    assert choose_version("demo", "==1.2", (3, 11), provider=client) == Version("1.2")


def test_json_api(index: tuple[Index, str]) -> None:
    state, url = index
    check_demo(PyPIClient(index_url=url))
    assert "application/vnd.pypi.simple.v1+json" in state.requests[0][1]


def test_html_only_server(index: tuple[Index, str]) -> None:
    state, url = index
    state.mode = "html-only"
    check_demo(PyPIClient(index_url=url))


def test_server_refusing_json_media_type(index: tuple[Index, str]) -> None:
    state, url = index
    state.mode = "406"
    check_demo(PyPIClient(index_url=url))
    assert len(state.requests) == 2
    assert "json" not in state.requests[1][1]


def test_unknown_project_is_none(index: tuple[Index, str]) -> None:
    _, url = index
    client = PyPIClient(index_url=url)
    assert client.releases("nothere") is None
    assert wheel_platforms("nothere", "1.0", (3, 11), "glibc", None, ARCHS, provider=client) == {
        "amd64": WheelAnswer.UNKNOWN,
        "arm64": WheelAnswer.UNKNOWN,
    }


@pytest.mark.parametrize("mode", ["huge", "huge-unsized"])
def test_size_limit(index: tuple[Index, str], mode: str) -> None:
    state, url = index
    state.mode = mode
    with pytest.raises(IndexUnavailable, match="bytes"):
        PyPIClient(index_url=url, max_bytes=100_000).releases("demo")
    assert PyPIClient(index_url=url, max_bytes=1_000_000).releases("demo") is not None


def test_timeout_against_silent_server() -> None:
    # Listening but never accepting: the connection opens, no answer ever comes.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/simple/"
        started = time.monotonic()
        with pytest.raises(IndexUnavailable):
            PyPIClient(index_url=url, timeout=0.3).releases("demo")
        assert time.monotonic() - started < 3


def test_credentials_in_index_url_become_basic_auth(index: tuple[Index, str]) -> None:
    state, url = index
    client = PyPIClient(index_url=url.replace("http://", "http://alice:s%40cret@"))
    assert "alice" not in client.index_url
    assert client.releases("demo") is not None
    expected = "Basic " + base64.b64encode(b"alice:s@cret").decode()
    assert state.requests[0][2] == expected


def test_disk_cache_and_expiry(index: tuple[Index, str], tmp_path: Path) -> None:
    state, url = index
    cache = tmp_path / "cache"
    first = PyPIClient(index_url=url, cache_dir=cache).releases("demo")
    assert PyPIClient(index_url=url, cache_dir=cache).releases("nothere") is None
    assert len(state.requests) == 2
    # A fresh client on the same cache answers without asking the server, misses included.
    again = PyPIClient(index_url=url, cache_dir=cache)
    assert again.releases("demo") == first
    assert again.releases("nothere") is None
    assert len(state.requests) == 2
    # Expired entries are refetched.
    assert PyPIClient(index_url=url, cache_dir=cache, ttl=0).releases("demo") == first
    assert len(state.requests) == 3
    # A different index does not share entries.
    other = PyPIClient(index_url=url.replace("/simple/", "/other/"), cache_dir=cache)
    assert other.releases("demo") is None
    assert len(state.requests) == 4


def test_corrupt_cache_entry_is_refetched(index: tuple[Index, str], tmp_path: Path) -> None:
    state, url = index
    cache = tmp_path / "cache"
    PyPIClient(index_url=url, cache_dir=cache).releases("demo")
    (entry,) = cache.glob("*/demo.json")
    entry.write_text("{not json")
    assert PyPIClient(index_url=url, cache_dir=cache).releases("demo") is not None
    assert len(state.requests) == 2


def test_pip_index_url_environment_wins(tmp_path: Path) -> None:
    config = tmp_path / "pip.conf"
    config.write_text("[global]\nindex-url = https://config.example/simple\n")
    env = {"PIP_INDEX_URL": "https://env.example/simple", "PIP_CONFIG_FILE": str(config)}
    assert configured_index_url(env) == "https://env.example/simple"


def test_pip_config_file_install_section_overrides_global(tmp_path: Path) -> None:
    config = tmp_path / "pip.conf"
    config.write_text(
        "[global]\nindex-url = https://global.example/simple\n"
        "[install]\nindex-url = https://install.example/simple\n"
    )
    env = {"PIP_CONFIG_FILE": str(config), "HOME": str(tmp_path)}
    assert configured_index_url(env) == "https://install.example/simple"
    assert pip_config_files(env)[-1] == config


def test_user_pip_config(tmp_path: Path) -> None:
    user = tmp_path / ".config" / "pip" / "pip.conf"
    user.parent.mkdir(parents=True)
    user.write_text("[global]\nindex_url = https://user.example/simple\n")
    env = {"HOME": str(tmp_path), "XDG_CONFIG_DIRS": str(tmp_path / "none")}
    files = pip_config_files(env)
    assert user in files
    # Site-wide files rank above the user's; only check the answer where none sets an index.
    later = files[files.index(user) + 1 :]
    if any(p.exists() and "index" in p.read_text() for p in later):
        pytest.skip("a site pip.conf on this machine sets an index")
    assert configured_index_url(env) == "https://user.example/simple"
    # An existing PIP_CONFIG_FILE replaces the user's files, as in pip.
    explicit = tmp_path / "explicit.conf"
    explicit.write_text("[global]\ntimeout = 3\n")
    assert user not in pip_config_files({**env, "PIP_CONFIG_FILE": str(explicit)})


def test_default_is_pypi_without_configuration(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "XDG_CONFIG_DIRS": str(tmp_path / "none")}
    if any(p.exists() and "index" in p.read_text() for p in pip_config_files(env)):
        pytest.skip("a pip.conf on this machine sets an index")
    assert configured_index_url(env) == "https://pypi.org/simple/"
