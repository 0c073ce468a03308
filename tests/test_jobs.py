"""``check --jobs``: files checked in worker processes give the output one process gives."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import dockerarch.engine
from dockerarch import cli
from dockerarch.commands.check import PARALLEL_MIN

BASES = ("alpine", "ubuntu:22.04", "python:3.12-slim", "node:20")


def corpus(root: Path, count: int = PARALLEL_MIN + 4) -> list[Path]:
    """Files that differ in findings, so that any reordering shows."""
    paths = []
    for n in range(count):
        path = root / f"{n:02d}.Dockerfile"
        lines = [f"FROM --platform=linux/amd64 {BASES[n % len(BASES)]} AS app{n}\n"]
        lines += ["RUN curl -fsSLO https://example.com/tool-linux-amd64.tar.gz\n"] * (n % 3)
        path.write_text("".join(lines))
        paths.append(path)
    return paths


def check(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = cli.main(["check", "--isolated", "--no-cache", "--format", "json", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_parallel_output_equals_serial(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = corpus(tmp_path)
    serial = check(capsys, "--jobs", "1", *files)
    assert serial[0] == 1 and serial[2] == ""
    assert check(capsys, "--jobs", "2", *files) == serial
    # Directories are walked in a stable order, whatever the workers do.
    assert check(capsys, "-j", "3", tmp_path) == check(capsys, "-j", "1", tmp_path)


@pytest.mark.skipif(sys.platform != "linux", reason="workers inherit the patch only when forked")
def test_a_crash_in_a_worker_names_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    files = corpus(tmp_path)
    real = dockerarch.engine.check_text

    def flaky(text: str, *args: object, **kwargs: object) -> dockerarch.engine.Result:
        if "AS app5\n" in text:
            raise RuntimeError("boom")
        return real(text, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(dockerarch.engine, "check_text", flaky)
    code, out, err = check(capsys, "--jobs", "2", *files)
    assert code == 2
    assert err.splitlines() == [
        f"dockerarch: {files[5]}: internal error: RuntimeError: boom",
    ]
    assert str(files[4]) in out and str(files[6]) in out and str(files[5]) not in out


def test_negative_jobs_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "Dockerfile").write_text("FROM alpine\n")
    code, _, err = check(capsys, "--jobs", "-1", tmp_path / "Dockerfile")
    assert code == 2 and "--jobs" in err
