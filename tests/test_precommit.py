"""The pre-commit hooks in .pre-commit-hooks.yaml, run by the real ``pre-commit try-repo``.

pre-commit builds a fresh virtualenv and pip-installs this repository into it. No test may
reach the network, so pip installs from the wheelhouse that scripts/wheelhouse.sh fills.
try-repo sees only what git has, so the hook repository is a commit of the working tree as
it is on disk (tracked and untracked files, minus ignored ones): that is what is tested,
whether or not it is committed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WHEELHOUSE = ROOT / ".wheelhouse"
#: Never copied into the hook repository, ignored by git or not: large, and not the project.
NOT_PROJECT = (".wheelhouse/", ".venv/")

pytestmark = pytest.mark.slow

FINDING = "FROM --platform=linux/amd64 python:3.12-slim\nRUN python -V\n"
CLEAN = "FROM python:3.12-slim\nRUN python -V\n"
FILES = ("--files", "Dockerfile")
# DA102 (a redundant --platform=$TARGETPLATFORM) has a safe fix: removing the flag.
FIXABLE = "FROM --platform=$TARGETPLATFORM python:3.12-slim\nRUN python -V\n"


def _git_env() -> dict[str, str]:
    env = dict(os.environ)
    # The user's git configuration (hooks, signing, templates) must not change the result.
    env.update(
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="dockerarch tests",
        GIT_AUTHOR_EMAIL="tests@dockerarch.invalid",
        GIT_COMMITTER_NAME="dockerarch tests",
        GIT_COMMITTER_EMAIL="tests@dockerarch.invalid",
    )
    return env


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=_git_env(), capture_output=True, text=True, check=True
    )
    return done.stdout


def _offline_env(home: Path) -> dict[str, str]:
    env = _git_env()
    env.update(
        # try-repo builds its environments in a temporary store, but logs failures here.
        PRE_COMMIT_HOME=str(home),
        PIP_NO_INDEX="1",
        PIP_FIND_LINKS=str(WHEELHOUSE),
        # virtualenv would otherwise look for newer seed wheels in the background.
        VIRTUALENV_NO_PERIODIC_UPDATE="1",
        VIRTUALENV_DOWNLOAD="0",
    )
    return env


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    if not any(WHEELHOUSE.glob("setuptools-*.whl")):
        pytest.skip(
            f"no wheelhouse at {WHEELHOUSE}: run scripts/wheelhouse.sh "
            "(pre-commit installs the hook offline from it)"
        )
    if not (ROOT / ".git").exists():
        pytest.skip(f"{ROOT} is not a git work tree")
    listed = _git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    repo = tmp_path_factory.mktemp("hook-repo")
    for name in listed.split("\0"):
        source = ROOT / name
        # ls-files --cached still lists files deleted from the work tree.
        if not name or name.startswith(NOT_PROJECT) or not source.is_file():
            continue
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, repo / name)
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "--no-verify", "-m", "working tree")
    return repo


def try_repo(
    hook_repo: Path, project: Path, hooks: tuple[str, ...], dockerfile: str
) -> tuple[int, str]:
    """Run ``pre-commit try-repo`` with ``hooks`` (all of them when empty) on one Dockerfile."""
    pytest.importorskip(
        "pre_commit", reason="pre-commit is a test dependency: pip install -e '.[test]'"
    )
    project.mkdir()
    _git(project, "init", "-q")
    (project / "Dockerfile").write_text(dockerfile, encoding="utf-8")
    # Staged, as in a real commit: pre-commit sees a hook's changes as a diff against the index.
    _git(project, "add", "Dockerfile")
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), *hooks, *FILES],
        cwd=project,
        env=_offline_env(project.parent / "pre-commit-home"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.returncode, done.stdout + done.stderr


def test_check_hook_fails_on_a_finding_and_shows_it(hook_repo: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    code, output = try_repo(hook_repo, project, ("dockerarch",), FINDING)
    assert code == 1, output
    assert re.search(r"^dockerarch\.+Failed$", output, re.MULTILINE), output
    assert "Dockerfile:1:6: DA101" in output, output
    assert (project / "Dockerfile").read_text(encoding="utf-8") == FINDING


def test_fix_hook_rewrites_the_dockerfile(hook_repo: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    code, output = try_repo(hook_repo, project, ("dockerarch-fix",), FIXABLE)
    # pre-commit fails a hook that changed files, so the fix is reviewed before committing.
    assert code == 1, output
    assert "files were modified by this hook" in output, output
    assert (project / "Dockerfile").read_text(encoding="utf-8") == CLEAN


def test_every_hook_passes_a_clean_dockerfile(hook_repo: Path, tmp_path: Path) -> None:
    code, output = try_repo(hook_repo, tmp_path / "project", (), CLEAN)
    assert code == 0, output
    assert re.search(r"^dockerarch\.+Passed$", output, re.MULTILINE), output
    assert re.search(r"^dockerarch fix\.+Passed$", output, re.MULTILINE), output
