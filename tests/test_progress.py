"""The progress bar: drawn on a terminal (a real pseudo-terminal here), silent on a pipe."""

from __future__ import annotations

import errno
import fcntl
import io
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from dockerarch.progress import MIN_TOTAL, Progress


class FakeTerminal(io.TextIOWrapper):
    """A terminal in memory, with the encoding a real one might have."""

    def __init__(self, encoding: str = "utf-8") -> None:
        super().__init__(io.BytesIO(), encoding=encoding, newline="")

    def isatty(self) -> bool:
        return True

    def getvalue(self) -> str:
        self.flush()
        buffer = self.buffer
        assert isinstance(buffer, io.BytesIO)
        return buffer.getvalue().decode(self.encoding)


def read_all(fd: int) -> str:
    """Everything written to the pty's other side, until it is closed."""
    chunks = []
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError as e:
            # Linux reports the closed far side of a pty as EIO, not end of file.
            if e.errno == errno.EIO:
                break
            raise
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks).decode("utf-8")


def set_columns(fd: int, columns: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))


def last_frame(output: str) -> str:
    """What the terminal line showed before the bar was erased."""
    frames = [f for f in output.split("\r") if f.strip()]
    return frames[-1].rstrip() if frames else ""


def test_bar_is_drawn_on_a_pty() -> None:
    master, slave = pty.openpty()
    set_columns(slave, 80)
    with os.fdopen(slave, "w", encoding="utf-8") as stream:
        progress = Progress(8, stream)
        for i in range(8):
            progress.advance(f"svc{i}/Dockerfile")
        progress.close()
    output = read_all(master)
    os.close(master)
    assert output.startswith("\r[" + "░" * 20 + "] 0/8")
    # A quarter of the width, between 10 and 30 cells; full when all are done.
    assert last_frame(output) == "[" + "█" * 20 + "] 8/8 svc7/Dockerfile"
    # close() leaves the line blank, cursor at its start, for what comes next.
    assert output.endswith("\r")
    assert output.split("\r")[-2].strip() == ""


def test_long_names_are_cut_to_the_terminal_width() -> None:
    master, slave = pty.openpty()
    set_columns(slave, 40)
    name = "services/" + "very-long-directory-name/" * 4 + "Dockerfile"
    with os.fdopen(slave, "w", encoding="utf-8") as stream:
        progress = Progress(5, stream)
        for _ in range(5):
            progress.advance(name)
        progress.close()
    final = last_frame(read_all(master))
    os.close(master)
    bar = "[" + "█" * 10 + "] 5/5 "
    # One column short of the width, so the terminal never wraps; the end of
    # the path is what tells files apart.
    assert len(final) == 39
    assert final == bar + "…" + name[-(39 - len(bar) - 1) :]


def test_nothing_below_the_threshold() -> None:
    term = FakeTerminal()
    progress = Progress(MIN_TOTAL - 1, term)
    for i in range(MIN_TOTAL - 1):
        progress.advance(str(i))
    progress.close()
    assert term.getvalue() == ""


def test_nothing_on_a_stream_that_is_not_a_terminal() -> None:
    stream = io.StringIO()
    progress = Progress(50, stream)
    for i in range(50):
        progress.advance(str(i))
    progress.close()
    assert stream.getvalue() == ""


def test_clear_then_advance_redraws() -> None:
    term = FakeTerminal()
    progress = Progress(5, term, min_total=1)
    progress.advance("a")
    progress.clear()
    shown = term.getvalue()
    assert shown.endswith("\r") and shown.split("\r")[-2].strip() == ""
    for name in "bcde":
        progress.advance(name)
    assert "5/5 e" in last_frame(term.getvalue())


def test_ascii_bar_and_printable_names_when_the_stream_is_not_utf8() -> None:
    term = FakeTerminal(encoding="ascii")
    progress = Progress(5, term, min_total=1)
    for _ in range(5):
        progress.advance("evil\nname\x1b[2J/Dockerfile")
    text = term.getvalue()
    text.encode("ascii")
    assert "\n" not in text and "\x1b" not in text
    assert "evil?name?[2J/Dockerfile" in last_frame(text)
    assert "#" in last_frame(text)


def write_dockerfiles(root: Path, count: int) -> None:
    for i in range(count):
        (root / f"svc{i}").mkdir()
        (root / f"svc{i}" / "Dockerfile").write_text("FROM alpine:3.19\n")


def run_report(cwd: Path, stderr: int) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    return subprocess.run(
        [sys.executable, "-m", "dockerarch", "report", "--isolated", "-o", "report.html", "."],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=stderr,
        env=env,
        timeout=120,
    )


def test_report_draws_the_bar_on_a_terminal(tmp_path: Path) -> None:
    count = MIN_TOTAL + 1
    write_dockerfiles(tmp_path, count)
    master, slave = pty.openpty()
    set_columns(slave, 100)
    try:
        r = run_report(tmp_path, slave)
    finally:
        os.close(slave)
    output = read_all(master)
    os.close(master)
    assert r.returncode == 0
    assert f"0/{count}" in output
    assert f"{count}/{count} svc{count - 1}/Dockerfile" in output
    assert (tmp_path / "report.html").is_file()


def test_report_writes_nothing_to_a_pipe(tmp_path: Path) -> None:
    write_dockerfiles(tmp_path, MIN_TOTAL + 1)
    r = run_report(tmp_path, subprocess.PIPE)
    assert (r.returncode, r.stdout, r.stderr) == (0, b"", b"")


def run_check(cwd: Path, stderr: int, *extra: str) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    return subprocess.run(
        [sys.executable, "-m", "dockerarch", "check", "--isolated", "--no-cache", *extra, "."],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=stderr,
        env=env,
        timeout=120,
    )


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_check_draws_the_bar_on_a_terminal(tmp_path: Path, jobs: str) -> None:
    count = 12  # enough for workers to start with --jobs 2
    write_dockerfiles(tmp_path, count)
    master, slave = pty.openpty()
    set_columns(slave, 100)
    try:
        r = run_check(tmp_path, slave, "--jobs", jobs)
    finally:
        os.close(slave)
    output = read_all(master)
    os.close(master)
    assert r.returncode == 0, r.stdout
    assert f"{count}/{count} " in output
    assert r.stdout.decode().strip() == "All checks passed!"


def test_check_writes_nothing_to_a_pipe(tmp_path: Path) -> None:
    write_dockerfiles(tmp_path, 12)
    r = run_check(tmp_path, subprocess.PIPE)
    assert (r.returncode, r.stderr) == (0, b"")
