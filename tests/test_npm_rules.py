"""DA601: npm native addons without a prebuilt binary for a target platform."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from dockerarch_rules import npm as npm_rules

from dockerarch.diagnostics import Diagnostic
from dockerarch.engine import Result, Settings, check_text

AL2023 = """\
FROM amazonlinux:2023
RUN yum install -y nodejs
RUN npm install canvas@2.11.2
"""

LOCK = {
    "name": "app",
    "lockfileVersion": 3,
    "packages": {
        "": {"name": "app", "dependencies": {"canvas": "^2.11.0"}},
        "node_modules/canvas": {"version": "2.11.2", "hasInstallScript": True},
        "node_modules/nan": {"version": "2.17.0"},
    },
}


def check(
    dockerfile: str,
    context: Path | None = None,
    files: dict[str, str] | None = None,
    settings: Settings | None = None,
) -> Result:
    for name, text in (files or {}).items():
        assert context is not None
        (context / name).write_text(text)
    return check_text(
        dockerfile,
        settings or Settings(),
        path=None if context is None else context / "Dockerfile",
        context_dir=context,
        rules=npm_rules.RULES,
    )


def spans(text: str, diags: list[Diagnostic]) -> list[str]:
    return [text[d.span.start : d.span.end] for d in diags]


def test_canvas_on_amazon_linux_compiles_on_arm64_only() -> None:
    (d,) = check(AL2023).diagnostics
    assert d.code == "DA601" and d.severity.value == "warning"
    assert d.platforms == ("linux/arm64",)
    assert spans(AL2023, [d]) == ["canvas@2.11.2"]
    assert "compiles it from source" in d.message and "(glibc)" in d.message
    assert d.fix is not None and d.fix.applicability.value == "unsafe"
    (edit,) = d.fix.edits
    assert AL2023[edit.span.start : edit.span.end] == "2.11.2" and edit.content == "3.1.1"
    assert any("github.com/Automattic/node-canvas" in n for n in d.notes)


def test_canvas_on_alpine_compiles_on_both_platforms_without_a_fix() -> None:
    text = "FROM node:20-alpine\nRUN npm install canvas@2.11.2\n"
    (d,) = check(text).diagnostics
    assert d.platforms == ("linux/amd64", "linux/arm64")
    assert "(musl)" in d.message
    assert d.fix is None  # no canvas release has musl binaries


def test_sharp_with_platform_packages_is_fine() -> None:
    assert check("FROM amazonlinux:2023\nRUN npm install sharp@0.33.0\n").diagnostics == []


def test_unknown_base_image_reports_only_what_holds_for_both_libcs() -> None:
    result = check("FROM example.com/node:20\nRUN npm install canvas@2.11.2\n")
    (d,) = result.diagnostics
    assert d.platforms == ("linux/arm64",) and "(glibc or musl)" in d.message
    assert any("libc is unknown" in n for n in result.notes)


@pytest.mark.parametrize(
    "run",
    [
        "npm install --ignore-scripts canvas@2.11.2",
        "npm_config_ignore_scripts=true npm install canvas@2.11.2",
        'if [ "$TARGETARCH" = amd64 ]; then npm install canvas@2.11.2; fi',
        "npm install canvas@3.1.1",
        "npm install left-pad@1.3.0",
        "npm install canvas@git+https://github.com/Automattic/node-canvas.git",
    ],
)
def test_no_finding(run: str) -> None:
    text = f"FROM node:20-bookworm-slim\nARG TARGETARCH\nRUN {run}\n"
    assert check(text).diagnostics == []


def test_npm_config_from_env_applies_to_a_later_install() -> None:
    # npm_sites reads the ENV only for RUNs that name npm or yarn: this one does.
    base = "FROM node:20-bookworm-slim\nENV npm_config_ignore_scripts=true\n"
    assert check(base + "RUN npm install canvas@2.11.2\n").diagnostics == []
    assert check(base.replace("true", "false") + "RUN npm install canvas@2.11.2\n").diagnostics


@pytest.mark.parametrize(
    "run",
    ["yarn add canvas@^2.11.0", "pnpm add canvas@2.11.2", "npm i -S canvas@latest-2"],
)
def test_yarn_pnpm_and_ranges(run: str) -> None:
    text = f"FROM node:20-bookworm-slim\nRUN {run}\n"
    diags = check(text).diagnostics
    if "latest-2" in run:
        # A dist-tag the snapshot does not know resolves to nothing: no guess.
        assert diags == []
        return
    (d,) = diags
    assert d.platforms == ("linux/arm64",) and "canvas 2.11.2" in d.message


def test_npm_ci_reads_the_copied_lockfile(tmp_path: Path) -> None:
    text = (
        "FROM node:20-bookworm-slim\nWORKDIR /app\n"
        "COPY package.json package-lock.json ./\nRUN npm ci\n"
    )
    lock = json.dumps(LOCK, indent=2)
    files = {"package.json": '{"dependencies": {"canvas": "^2.11.0"}}', "package-lock.json": lock}
    (d,) = check(text, tmp_path, files).diagnostics
    assert spans(text, [d]) == ["npm ci"]
    assert d.external is not None and d.external.path == Path("package-lock.json")
    line = lock.splitlines()[d.external.line - 1]
    assert line[d.external.column - 1 : d.external.end_column - 1] == "canvas"
    assert d.fix is None  # a lockfile is not edited


def test_package_json_when_no_lockfile_and_dev_dependencies_under_production(
    tmp_path: Path,
) -> None:
    manifest = (
        '{\n  "dependencies": {"express": "^4.18.2"},\n  "devDependencies": {"canvas": "^2"}\n}\n'
    )
    text = "FROM node:20-bookworm-slim\nCOPY package.json /srv/\nRUN npm install --prefix /srv\n"
    (d,) = check(text, tmp_path, {"package.json": manifest}).diagnostics
    assert d.external is not None and (d.external.line, d.external.column) == (3, 24)
    production = text.replace("--prefix /srv", "--prefix /srv --omit=dev")
    assert check(production, tmp_path).diagnostics == []
    env = text.replace("COPY", "ENV NODE_ENV=production\nCOPY")
    assert check(env, tmp_path).diagnostics == []


def test_manifest_outside_the_copies_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text('{"dependencies": {"canvas": "2.11.2"}}')
    result = check("FROM node:20-bookworm-slim\nWORKDIR /app\nRUN npm ci\n", tmp_path)
    assert result.diagnostics == []
    assert any("not checked" in n for n in result.notes)


# -- --online ------------------------------------------------------------------------------------

FASTIMG: dict[str, Any] = {
    "name": "fastimg",
    "dist-tags": {"latest": "1.0.0"},
    "versions": {
        "1.0.0": {
            "name": "fastimg",
            "version": "1.0.0",
            "optionalDependencies": {
                "@fastimg/linux-x64-gnu": "1.0.0",
                "@fastimg/darwin-arm64": "1.0.0",
            },
        }
    },
}


class _Registry(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.strip("/") != "fastimg":
            self.send_error(404)
            return
        body = json.dumps(FASTIMG).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def registry() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Registry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def npm_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    import os

    for key in list(os.environ):
        if key.lower().startswith("npm_config_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    context = tmp_path / "ctx"
    context.mkdir()
    return context


def test_online_asks_the_configured_registry(registry: str, npm_env: Path) -> None:
    (npm_env / ".npmrc").write_text(f"registry={registry}\n")
    text = "FROM node:20-bookworm-slim\nRUN npm install fastimg@1.0.0\n"
    assert check(text, npm_env).diagnostics == []  # the snapshot does not know it
    (d,) = check(text, npm_env, settings=Settings(online=True)).diagnostics
    assert d.platforms == ("linux/arm64",) and "the install fails" in d.message


def test_online_falls_back_to_the_snapshot(npm_env: Path) -> None:
    # A port nothing listens on: the registry does not answer.
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (npm_env / ".npmrc").write_text(f"registry=http://127.0.0.1:{port}/\n")
    result = check(AL2023, npm_env, settings=Settings(online=True))
    (d,) = result.diagnostics
    assert d.platforms == ("linux/arm64",)
    assert any("offline snapshot" in w for w in result.warnings)
