"""The command when its reader goes away: a quiet exit, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dockerarch.cli import EXIT_BROKEN_PIPE

# Findings on every line: output to write whatever the format.
DOCKERFILE = "FROM ubuntu:22.04\n" + "".join(
    f"RUN curl -fsSLo /usr/local/bin/kubectl{i} "
    "https://dl.k8s.io/release/v1.29.0/bin/linux/amd64/kubectl\n"
    for i in range(40)
)


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "dockerarch", *args]


def _check(path: Path, *extra: str) -> list[str]:
    return _command("check", "--isolated", "--no-cache", *extra, str(path))


def _closed_reader(argv: list[str]) -> tuple[int, str]:
    """Run ``argv`` with stdout a pipe whose only reader is gone before anything is written."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    return proc.wait(timeout=60), err


@pytest.fixture
def dockerfile(tmp_path: Path) -> Path:
    path = tmp_path / "Dockerfile"
    path.write_text(DOCKERFILE, encoding="utf-8")
    return path


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_check_into_a_closed_pipe_exits_quietly(dockerfile: Path, fmt: str) -> None:
    code, err = _closed_reader(_check(dockerfile, "--format", fmt))
    assert code == EXIT_BROKEN_PIPE
    assert err == ""


def test_a_reader_that_stops_after_one_line(dockerfile: Path) -> None:
    proc = subprocess.Popen(
        _check(dockerfile, "--format", "concise"), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    code = proc.wait(timeout=60)
    assert b"DA301" in first
    # All output may have fitted in the pipe before the reader left: then the run ends normally.
    assert code in (1, EXIT_BROKEN_PIPE)
    assert "Traceback" not in err and "Exception ignored" not in err


def test_version_into_a_closed_pipe_exits_quietly() -> None:
    code, err = _closed_reader(_command("--version"))
    assert (code, err) == (EXIT_BROKEN_PIPE, "")


def test_started_with_stdout_closed(dockerfile: Path) -> None:
    proc = subprocess.run(
        _check(dockerfile),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        # Runs in the child after its descriptors are set up: fd 1 is then closed.
        preexec_fn=lambda: os.close(1),
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr.decode() == ""


def test_output_still_complete_for_a_reader_that_reads_everything(dockerfile: Path) -> None:
    proc = subprocess.run(
        _check(dockerfile, "--format", "concise"), capture_output=True, check=False
    )
    assert proc.returncode == 1
    assert proc.stdout.decode().count("DA301") == 40
