"""The result cache: what a hit needs to be valid, what it may skip, and what it stores."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dockerarch import cli
from dockerarch.diagnostics import (
    Applicability,
    Diagnostic,
    Edit,
    ExternalLocation,
    Fix,
    PlatformVariant,
    Severity,
)
from dockerarch.engine import Settings
from dockerarch.resultcache import (
    CACHE_DIR_NAME,
    ResultCache,
    decode_diagnostic,
    encode_diagnostic,
)
from dockerarch.syntax import Span

FINDING = "FROM --platform=linux/amd64 alpine AS app\n"
WITH_CONTEXT = FINDING + "COPY requirements.txt /app/\nRUN pip install -r /app/requirements.txt\n"


def check(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str]:
    code = cli.main(["check", "--isolated", "--format", "concise", *map(str, args)])
    return code, capsys.readouterr().out


def entries(cache: Path) -> list[Path]:
    return [p for p in cache.glob("results/*/*.json") if p.name != "rules.json"]


def tamper(cache: Path) -> None:
    """Change every stored message, so that output shows whether it came from the cache."""
    for entry in entries(cache):
        data = json.loads(entry.read_text())
        for d in data["result"]["diagnostics"]:
            d["message"] = "TAMPERED"
        entry.write_text(json.dumps(data))


def bump(path: Path, seconds: int = 10) -> None:
    """A modification time no coarse clock can leave unchanged."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + seconds * 10**9))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "Dockerfile").write_text(WITH_CONTEXT)
    (tmp_path / "requirements.txt").write_text("requests==2.31.0\n")
    return tmp_path


def test_diagnostic_round_trip() -> None:
    d = Diagnostic(
        code="DA501",
        message="no arm64 wheel",
        span=Span(3, 9),
        severity=Severity.WARNING,
        fix=Fix(
            "pin",
            (Edit(Span(1, 2), "x"), Edit(Span(0, 0), "y\n", Path("req/dev.txt"))),
            Applicability.UNSAFE,
            (PlatformVariant(Span(0, 4), (("amd64", "A\n"), ("arm64", ""))),),
        ),
        platforms=("linux/arm64",),
        external=ExternalLocation(Path("requirements.txt"), 2, 1, 2, 9),
        notes=("a note",),
    )
    assert decode_diagnostic(json.loads(json.dumps(encode_diagnostic(d)))) == d
    bare = Diagnostic("DA101", "m", Span(0, 1), Severity.ERROR)
    assert decode_diagnostic(encode_diagnostic(bare)) == bare


def test_second_run_is_served_from_the_cache(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = project / "cache"
    first = check(capsys, "--cache-dir", cache, project / "Dockerfile")
    assert first[0] == 1 and "TAMPERED" not in first[1]
    tamper(cache)
    assert "TAMPERED" in check(capsys, "--cache-dir", cache, project / "Dockerfile")[1]
    # --no-cache neither reads nor rewrites the entry.
    assert check(capsys, "--no-cache", "--cache-dir", cache, project / "Dockerfile") == first
    assert "TAMPERED" in check(capsys, "--cache-dir", cache, project / "Dockerfile")[1]


def test_a_changed_context_file_invalidates(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = project / "cache"
    check(capsys, "--cache-dir", cache, project / "Dockerfile")
    tamper(cache)
    requirements = project / "requirements.txt"
    requirements.write_text("requests==2.31.0\nidna==3.6\n")
    bump(requirements)
    assert "TAMPERED" not in check(capsys, "--cache-dir", cache, project / "Dockerfile")[1]


def test_a_new_context_file_invalidates(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Files that did not exist when the check ran (an -r include, a pyproject.toml)
    # are found through their directory's modification time.
    (project / "sub").mkdir()
    cache = project / "cache"
    check(capsys, "--cache-dir", cache, project / "Dockerfile")
    tamper(cache)
    assert "TAMPERED" in check(capsys, "--cache-dir", cache, project / "Dockerfile")[1]
    (project / "sub" / "constraints.txt").write_text("idna==3.6\n")
    bump(project / "sub")
    assert "TAMPERED" not in check(capsys, "--cache-dir", cache, project / "Dockerfile")[1]


def test_settings_are_part_of_the_key(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cache = project / "cache"
    check(capsys, "--cache-dir", cache, project / "Dockerfile")
    tamper(cache)
    out = check(capsys, "--cache-dir", cache, "--platform", "linux/arm64", project / "Dockerfile")
    assert "TAMPERED" not in out[1]


def test_online_results_are_not_cached(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path)
    assert cache.key(FINDING, Settings(online=True), None, None) is None
    assert cache.key(FINDING, Settings(), None, None) != cache.key(
        FINDING, Settings(ignore=("DA1",)), None, None
    )


def test_a_corrupt_entry_is_ignored(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cache = project / "cache"
    first = check(capsys, "--cache-dir", cache, project / "Dockerfile")
    for entry in entries(cache):
        entry.write_bytes(b'{"dirs": [[1')
    assert check(capsys, "--cache-dir", cache, project / "Dockerfile") == first
    # The bad entry was replaced by a good one.
    tamper(cache)
    assert "TAMPERED" in check(capsys, "--cache-dir", cache, project / "Dockerfile")[1]


def test_default_directory_is_in_the_project_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "Dockerfile").write_text(FINDING)
    monkeypatch.chdir(tmp_path)
    check(capsys, "Dockerfile")
    cache = tmp_path / CACHE_DIR_NAME
    assert (cache / ".gitignore").read_text() == "*\n"
    assert (cache / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172")
    assert len(entries(cache)) == 1


def test_a_hit_imports_neither_parser_nor_rules(project: Path) -> None:
    script = (
        "import sys\n"
        "from dockerarch import cli\n"
        f"argv = ['check', '--isolated', '--exit-zero', '--cache-dir', {str(project / 'c')!r},"
        f" {str(project / 'Dockerfile')!r}]\n"
        "cli.main(argv)\n"
        "print(sorted(m for m in sys.modules if m.startswith(("
        "'dockerarch.syntax.parser', 'dockerarch_rules', 'tree_sitter', 'dockerarch.model'))))\n"
    )

    def loaded() -> str:
        proc = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        )
        return proc.stdout.strip().splitlines()[-1]

    assert "dockerarch_rules" in loaded()  # a miss checks
    assert loaded() == "[]"
