"""`dockerarch check` reads CI files too: found in directories, or named on the command line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data" / "workflows"


def check(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "dockerarch", "check", "--isolated", "--no-cache", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(DATA / "qemu-make", root)
    return root


def test_a_directory_argument_checks_its_workflows(repo: Path) -> None:
    result = check(repo, "--format", "concise", ".")
    assert result.returncode == 1, result.stderr
    [line] = [x for x in result.stdout.splitlines() if "DA801" in x]
    assert line.startswith(".github/workflows/release.yml:53:22: DA801 [*] job 'image'")


def test_a_named_workflow_is_checked_as_one_and_nothing_else(repo: Path) -> None:
    (repo / "other.Dockerfile").write_text("FROM --platform=linux/amd64 alpine\n")
    result = check(repo, "--format", "json", ".github/workflows/release.yml")
    assert result.returncode == 1, result.stderr
    found = json.loads(result.stdout)
    assert [(d["code"], d["filename"]) for d in found] == [
        ("DA801", ".github/workflows/release.yml")
    ]
    assert found[0]["location"] == {"row": 53, "column": 22}
    assert found[0]["fix"]["applicability"] == "unsafe"


def test_ignoring_da801_skips_ci_files(repo: Path) -> None:
    result = check(repo, "--format", "concise", "--ignore", "DA801", ".")
    assert "DA801" not in result.stdout
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_broken_workflow_is_one_line_and_exit_2(repo: Path) -> None:
    (repo / ".github/workflows/bad.yml").write_bytes(b"\xff\xfe not utf-8")
    result = check(repo, "--format", "concise", ".")
    assert result.returncode == 2
    assert "bad.yml" in result.stderr and "Traceback" not in result.stderr
    assert "DA801" in result.stdout  # the other workflow is still checked
