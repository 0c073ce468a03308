"""DA501-503 on project and lock files, --online, --verbose notes, and their report formats."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
from dockerarch_rules import python as py_rules

from dockerarch.diagnostics import Diagnostic
from dockerarch.engine import Result, Settings, check_text
from dockerarch.report import FileReport, Options, render
from tests.test_pypi_online import Index, make_handler, write_wheel

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "DA501"
SARIF_SCHEMA = json.loads((Path(__file__).parent / "data/sarif-2.1.0.json").read_text())


def check(folder: Path, dockerfile: str | None = None, settings: Settings | None = None) -> Result:
    if dockerfile is not None:
        (folder / "Dockerfile").write_text(dockerfile)
    text = (folder / "Dockerfile").read_text()
    return check_text(
        text,
        settings or Settings(),
        path=folder / "Dockerfile",
        context_dir=folder,
        rules=py_rules.RULES,
    )


def fixture(tmp_path: Path, name: str) -> Path:
    """A writable copy of a DA501 fixture case."""
    return Path(shutil.copytree(FIXTURES / name, tmp_path / name))


def da501(result: Result) -> list[Diagnostic]:
    return [d for d in result.diagnostics if d.code == "DA501"]


def test_poetry_lock_pin_is_reported_at_the_lock_line(tmp_path: Path) -> None:
    folder = fixture(tmp_path, "poetry-lock-numpy")
    result = check(folder)
    (d,) = da501(result)
    assert d.external is not None and d.external.path.name == "poetry.lock"
    lock = (folder / "poetry.lock").read_text().splitlines()
    assert lock[d.external.line - 1] == 'name = "numpy"'
    assert lock[d.external.end_line - 1] == 'version = "1.18.5"'
    assert result.tree.text[d.span.start : d.span.end].startswith("poetry install")
    assert "poetry builds it from source" in d.message and "1.19.0" in d.message
    # A lock is re-locked, never edited: its hashes would no longer match.
    assert d.fix is None


def test_without_the_lock_poetry_ranges_resolve_like_requirements(tmp_path: Path) -> None:
    folder = fixture(tmp_path, "poetry-lock-numpy")
    (folder / "poetry.lock").unlink()
    pyproject = folder / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('numpy = "^1.18"', 'numpy = "1.18.5"'))
    (d,) = da501(check(folder))
    assert d.external is not None and d.external.path.name == "pyproject.toml"
    assert d.fix is not None
    (edit,) = d.fix.edits
    assert pyproject.read_text()[edit.span.start : edit.span.end] == "1.18.5"
    assert edit.content == "1.19.0"
    # A range lets pip pick the newest release, which has wheels everywhere.
    pyproject.write_text(pyproject.read_text().replace('numpy = "1.18.5"', 'numpy = "^1.18"'))
    assert da501(check(folder)) == []


def test_lock_markers_decide_where_a_package_is_installed(tmp_path: Path) -> None:
    folder = fixture(tmp_path, "poetry-lock-torch-triton-marker")
    assert da501(check(folder)) == []
    lock = folder / "poetry.lock"
    text = lock.read_text()
    marker = ', markers = "platform_system == \\"Linux\\" and platform_machine == \\"x86_64\\""'
    assert marker in text
    lock.write_text(text.replace(marker, ""))
    (d,) = da501(check(folder))
    assert "triton 2.1.0" in d.message


@pytest.mark.parametrize(
    ("command", "flagged"),
    [
        ("poetry install --no-root", True),
        ("poetry install --no-root --without dev", False),
        ("poetry install --only main", False),
        ("cd / && poetry -C /opt/model install --only dev", True),
    ],
)
def test_poetry_group_selection(tmp_path: Path, command: str, flagged: bool) -> None:
    folder = fixture(tmp_path, "poetry-lock-torch-triton-marker")
    lock = folder / "poetry.lock"
    lock.write_text(lock.read_text().replace('name = "ruff"', 'name = "confluent-kafka"'))
    lock.write_text(lock.read_text().replace('version = "0.1.15"', 'version = "2.0.2"'))
    pyproject = folder / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('ruff = "^0.1"', 'confluent-kafka = "*"'))
    dockerfile = (folder / "Dockerfile").read_text()
    dockerfile = dockerfile.replace("poetry install --without dev --no-root", command)
    assert [d.message.split()[0] for d in da501(check(folder, dockerfile))] == (
        ["confluent-kafka"] if flagged else []
    )


def test_uv_sync_dev_group_and_extras(tmp_path: Path) -> None:
    folder = fixture(tmp_path, "uv-lock-dev-group-excluded")
    dockerfile = (folder / "Dockerfile").read_text()
    assert da501(check(folder)) == []
    (d,) = da501(check(folder, dockerfile.replace("uv sync --locked --no-dev", "uv sync")))
    assert d.external is not None and d.external.path.name == "uv.lock"
    assert "uv builds it from source" in d.message


def test_pipenv_dev_flag_installs_develop(tmp_path: Path) -> None:
    folder = fixture(tmp_path, "pipfile-lock-develop-only")
    dockerfile = (folder / "Dockerfile").read_text()
    assert da501(check(folder)) == []
    (d,) = da501(check(folder, dockerfile.replace("--system", "--system --dev")))
    assert d.external is not None and d.external.path.name == "Pipfile.lock"


def test_cd_before_pip_install_and_no_deps(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\nversion = "1"\ndependencies = ["confluent-kafka==2.0.2"]\n'
    )
    base = "FROM python:3.11-slim\nCOPY . /src\n"
    (d,) = da501(check(tmp_path, base + "RUN cd /src && pip install .\n"))
    assert d.external is not None and d.external.line == 4
    assert da501(check(tmp_path, base + "RUN cd /src && pip install --no-deps .\n")) == []
    # From / there is no project: nothing is guessed, the note says why.
    result = check(tmp_path, base + "RUN pip install .\n")
    assert da501(result) == []
    assert any("no pyproject.toml, setup.py or setup.cfg of /" in n for n in result.notes)


def test_a_line_installed_twice_is_one_finding(tmp_path: Path) -> None:
    folder = fixture(tmp_path, "uv-lock-confluent-kafka")
    dockerfile = (folder / "Dockerfile").read_text()
    twice = dockerfile.replace(
        "COPY consumer ./consumer\n", "COPY consumer ./consumer\nRUN uv sync --frozen --no-dev\n"
    )
    assert len(da501(check(folder, twice))) == 1


def test_x86_only_package_behind_a_marker_is_not_da503(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text('mkl==2024.0.0; platform_machine == "x86_64"\n')
    text = "FROM python:3.11-slim\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n"
    assert [d.code for d in check(tmp_path, text).diagnostics] == []
    (tmp_path / "requirements.txt").write_text("mkl==2024.0.0\n")
    assert [d.code for d in check(tmp_path, text).diagnostics] == ["DA503"]


# -- report formats ------------------------------------------------------------------------


def test_json_and_sarif_point_at_the_requirements_line(tmp_path: Path) -> None:
    folder = fixture(tmp_path, "numpy-requirements")
    result = check(folder)
    report = FileReport("Dockerfile", result.tree, result.diagnostics, folder)
    options = Options(cwd=folder)

    (item,) = json.loads(render("json", [report], options))
    assert item["code"] == "DA501"
    assert item["filename"] == "requirements.txt"
    assert item["location"] == {"row": 2, "column": 1}
    assert item["end_location"] == {"row": 2, "column": 14}
    (related,) = item["related"]
    assert related["filename"] == "Dockerfile"
    assert related["location"] == {"row": 5, "column": 21}
    (edit,) = item["fix"]["edits"]
    assert edit["filename"] == "requirements.txt" and edit["content"] == "1.19.0"

    log = json.loads(render("sarif", [report], options))
    jsonschema.validate(log, SARIF_SCHEMA)
    (sarif_result,) = log["runs"][0]["results"]
    primary = sarif_result["locations"][0]["physicalLocation"]
    assert primary["artifactLocation"]["uri"] == "requirements.txt"
    assert primary["region"]["startLine"] == 2
    (where,) = sarif_result["relatedLocations"]
    assert where["physicalLocation"]["artifactLocation"]["uri"] == "Dockerfile"
    assert where["physicalLocation"]["region"]["startLine"] == 5


# -- --verbose -----------------------------------------------------------------------------


def test_verbose_says_why_the_python_is_unknown(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM foo/bar:1 AS build\nRUN pip install pyyaml\n")
    cmd = [sys.executable, "-m", "dockerarch", "check", "--isolated", "--select", "DA501"]
    quiet = subprocess.run(
        [*cmd, "Dockerfile"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert quiet.returncode == 0, quiet.stderr
    assert "Python version unknown" not in quiet.stderr
    verbose = subprocess.run(
        [*cmd, "--verbose", "Dockerfile"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert verbose.returncode == 0, verbose.stderr
    assert (
        "stage 'build': Python version unknown: base image foo/bar:1 not in snapshot"
        in verbose.stderr
    )
    assert "stage 'build': libc unknown: base image foo/bar:1 not in snapshot" in verbose.stderr


# -- --online ------------------------------------------------------------------------------

DEMO_WHEELS = [
    "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
    "demo-1.1-cp311-cp311-manylinux_2_17_x86_64.whl",
    "demo-1.1-cp311-cp311-manylinux_2_17_aarch64.whl",
]
DEMO = "FROM python:3.11-slim\nRUN pip install demo==1.0\n"


@pytest.fixture
def index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Index]:
    """A local simple-API index with a package the offline snapshot does not have."""
    root = tmp_path / "index"
    (root / "files").mkdir(parents=True)
    for wheel in DEMO_WHEELS:
        write_wheel(root / "files", wheel)
    state = Index(root)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    monkeypatch.setenv("PIP_INDEX_URL", f"http://127.0.0.1:{server.server_address[1]}/simple/")
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize("mode", ["negotiate", "html-only"])
def test_online_answers_what_the_snapshot_does_not_know(
    tmp_path: Path, index: Index, mode: str
) -> None:
    index.mode = mode
    folder = tmp_path / "ctx"
    folder.mkdir()
    assert da501(check(folder, DEMO)) == []
    assert index.requests == []  # offline unless asked
    result = check(folder, DEMO, Settings(online=True, cache_dir=tmp_path / "cache"))
    (d,) = da501(result)
    assert "demo 1.0" in d.message and "1.1 is the first version" in d.message
    assert d.fix is not None and d.fix.edits[0].content == "1.1"
    assert result.warnings == []
    # Snapshot packages are not fetched; the answer is cached on disk.
    check(folder, DEMO + "RUN pip install numpy==1.26.4\n", Settings(online=True))
    assert [path for path, _, _ in index.requests] == ["/simple/demo/", "/simple/demo/"]
    check(folder, DEMO, Settings(online=True, cache_dir=tmp_path / "cache"))
    assert len(index.requests) == 2


def test_online_failure_falls_back_to_the_snapshot_quickly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("PIP_INDEX_URL", f"http://127.0.0.1:{port}/simple/")
    text = DEMO + "RUN pip install other-unknown==2.0\nRUN pip install numpy==1.18.5\n"
    started = time.monotonic()
    result = check(tmp_path, text, Settings(online=True, platforms=Settings().platforms))
    assert time.monotonic() - started < 5
    (warning,) = result.warnings
    assert "did not answer" in warning and "offline snapshot" in warning
    assert da501(result) == []  # demo unknown offline; numpy 1.18.5 has no cp311 wheel at all


def test_cli_online_uses_the_configured_index(tmp_path: Path, index: Index) -> None:
    (tmp_path / "Dockerfile").write_text(DEMO)
    cmd = [sys.executable, "-m", "dockerarch", "check", "--isolated", "--select", "DA501"]
    done = subprocess.run(
        [*cmd, "--online", "--format", "json", "Dockerfile"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),  # carries the fixture's PIP_INDEX_URL
    )
    assert done.returncode == 1, done.stderr
    (item,) = json.loads(done.stdout)
    assert item["code"] == "DA501" and item["platforms"] == ["linux/arm64"]
