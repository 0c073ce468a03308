"""`dockerarch fix` fixes CI files too: DA801's native-runner rewrite of a workflow."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from dockerarch import cli
from dockerarch.engine import Settings, check_text
from dockerarch.fixer import Outcome
from dockerarch.workflows.emulation import check_ci_file

DATA = Path(__file__).parent / "data" / "workflows"
RELEASE = ".github/workflows/release.yml"
#: A Dockerfile with a safe fix of its own (DA110 declares the ARG).
UNDECLARED = "FROM alpine\nRUN echo $TARGETARCH\n"
DECLARED = "FROM alpine\nARG TARGETARCH\nRUN echo $TARGETARCH\n"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(DATA / "qemu-make", root)
    monkeypatch.chdir(root)
    return root


def fix(*args: str) -> int:
    return cli.main(["fix", "--isolated", *args])


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_unsafe_fixes_rewrite_the_workflow_into_native_runners(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workflow = repo / RELEASE
    original = workflow.read_text()
    dockerfile = (repo / "Dockerfile").read_bytes()
    workflow.chmod(0o640)
    assert fix("--unsafe-fixes", "--show-fixes", ".") == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out == (
        "Fixed 1 problem:\n"
        f"- {RELEASE}:\n"
        "    1 × DA801 (emulated-build-compiles)\n"
        "Found 1 problem (1 fixed, 0 remaining).\n"
    )
    new = workflow.read_text()
    data: dict[str, Any] = yaml.safe_load(new)
    assert list(data["jobs"]) == ["test", "image", "image-merge", "notify"]
    platforms = [e["platform"] for e in data["jobs"]["image"]["strategy"]["matrix"]["include"]]
    assert platforms == ["linux/amd64", "linux/arm64"]
    for line in original.splitlines():
        if line.strip().startswith("#"):
            assert line in new.splitlines()
    assert check_ci_file(workflow, Settings()).diagnostics == []
    assert workflow.stat().st_mode & 0o777 == 0o640
    # The Dockerfile has nothing of its own to fix, so it stays as it was.
    assert not [d for d in check_text(dockerfile.decode()).diagnostics if d.fix is not None]
    assert (repo / "Dockerfile").read_bytes() == dockerfile


def test_without_unsafe_fixes_nothing_changes_and_the_finding_remains(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(repo)
    assert fix(".") == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{RELEASE}:53:22: DA801 [*] job 'image' builds linux/arm64")
    assert out[1:] == [
        "Found 1 problem (0 fixed, 1 remaining).",
        "1 more fix available with --unsafe-fixes.",
    ]
    assert snapshot(repo) == before


def test_diff_shows_the_workflow_hunk_and_writes_nothing(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(repo)
    assert fix("--unsafe-fixes", "--diff", ".") == 1
    out, err = capsys.readouterr()
    assert out.startswith(f"--- {RELEASE}\n+++ {RELEASE}\n@@ -18,7 +18,15 @@\n")
    assert "-          platforms: linux/amd64,linux/arm64  # both architectures\n" in out
    assert "+          platforms: ${{ matrix.platform }}  # both architectures\n" in out
    assert "+  image-merge:\n" in out
    assert err == "Would fix 1 problem.\n"
    assert snapshot(repo) == before
    assert fix("--diff", ".") == 0
    assert capsys.readouterr().out == ""


def test_a_named_workflow_is_fixed_as_a_ci_file_and_nothing_else(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "other.Dockerfile").write_text(UNDECLARED)
    assert fix("--unsafe-fixes", RELEASE) == 0
    assert "image-merge" in yaml.safe_load((repo / RELEASE).read_text())["jobs"]
    assert (repo / "other.Dockerfile").read_text() == UNDECLARED
    assert capsys.readouterr().out == "Found 1 problem (1 fixed, 0 remaining).\n"


def test_dockerfiles_and_workflows_are_fixed_in_one_run_and_a_second_run_changes_nothing(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "other.Dockerfile").write_text(UNDECLARED)
    assert fix("--unsafe-fixes", ".") == 0
    assert (repo / "other.Dockerfile").read_text() == DECLARED
    assert capsys.readouterr().out == "Found 2 problems (2 fixed, 0 remaining).\n"
    after = snapshot(repo)
    assert fix("--unsafe-fixes", ".") == 0
    assert capsys.readouterr().out == "All checks passed!\n"
    assert snapshot(repo) == after


def test_a_byte_order_mark_stays(repo: Path) -> None:
    workflow = repo / RELEASE
    workflow.write_bytes(b"\xef\xbb\xbf" + workflow.read_bytes())
    assert fix("--unsafe-fixes", RELEASE) == 0
    data = workflow.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf# Publishes")
    assert "image-merge" in yaml.safe_load(data.decode("utf-8-sig"))["jobs"]
    assert check_ci_file(workflow, Settings()).diagnostics == []


def test_crlf_line_endings_stay(repo: Path) -> None:
    workflow = repo / RELEASE
    workflow.write_bytes(workflow.read_bytes().replace(b"\n", b"\r\n"))
    assert fix("--unsafe-fixes", RELEASE) == 0
    data = workflow.read_bytes()
    assert "image-merge" in yaml.safe_load(data)["jobs"]
    assert b"\n" not in data.replace(b"\r\n", b"")


@pytest.mark.parametrize(
    "config",
    [
        'exclude = [".github"]\n',
        '[per-file-ignores]\n".github/workflows/*.yml" = ["DA801"]\n',
    ],
)
def test_configuration_applies_per_ci_file(
    repo: Path, config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / ".dockerarch.toml").write_text(config)
    before = snapshot(repo)
    assert cli.main(["fix", "--unsafe-fixes", "."]) == 0
    assert snapshot(repo) == before
    assert capsys.readouterr().out == "All checks passed!\n"


def test_ignoring_da801_leaves_ci_files_alone(repo: Path) -> None:
    before = snapshot(repo)
    assert fix("--unsafe-fixes", "--ignore", "DA801", RELEASE) == 0
    assert snapshot(repo) == before


def test_a_finding_without_an_applicable_fix_remains(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GitLab CI gets guidance only: nothing to write, and the finding is still there.
    shutil.copytree(DATA / "gitlab", tmp_path / "gitlab")
    monkeypatch.chdir(tmp_path / "gitlab")
    before = snapshot(tmp_path / "gitlab")
    assert fix("--unsafe-fixes", ".") == 1
    out = capsys.readouterr().out
    assert out.startswith(".gitlab-ci.yml:")
    assert "DA801" in out and "(0 fixed, 1 remaining)" in out
    assert snapshot(tmp_path / "gitlab") == before


def test_an_unreadable_workflow_is_one_line_and_the_others_are_fixed(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / ".github/workflows/bad.yml").write_bytes(b"\xff\xfe not utf-8")
    assert fix("--unsafe-fixes", ".") == 2
    assert capsys.readouterr().err == (
        "dockerarch: .github/workflows/bad.yml: file is UTF-16; dockerarch reads UTF-8\n"
    )
    assert "image-merge" in (repo / RELEASE).read_text()


def test_a_workflow_changed_during_the_run_is_not_overwritten(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import dockerarch.fixer

    workflow = repo / RELEASE
    real = dockerarch.fixer.fix_source

    def meanwhile(*args: object, **kwargs: object) -> Outcome:
        out = real(*args, **kwargs)  # type: ignore[arg-type]
        workflow.write_text("name: edited\n")
        st = workflow.stat()
        os.utime(workflow, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
        return out

    monkeypatch.setattr(dockerarch.fixer, "fix_source", meanwhile)
    assert fix("--unsafe-fixes", RELEASE) == 2
    assert capsys.readouterr().err == (
        f"dockerarch: {RELEASE}: file changed on disk since it was read; not overwritten\n"
    )
    assert workflow.read_text() == "name: edited\n"
