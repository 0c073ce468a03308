"""Hostile or odd inputs: one line each on stderr, exit 2, the other files still checked.

tests/test_cli.py already covers a missing file, a binary file, invalid UTF-8,
UTF-16 with a BOM, a broken symbolic link, a directory without Dockerfiles,
permission denied and a symbolic link loop in a directory walk; this module
adds the rest of the list and reuses its helpers. Inputs that are large but
valid (a 1 MB line, 10,000 continuation lines, deeply nested shell) are not
errors: they are checked, within a subprocess timeout.
"""

from __future__ import annotations

import builtins
import io
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dockerarch import cli, fileio
from tests.test_cli import FINDING, da101_files, run


def _ten_megabytes(p: Path) -> str:
    with p.open("w") as f:
        f.write(FINDING)
        f.write(("# padding " + "x" * 1013 + "\n") * (10 * 1024))
    return "file is 10.0 MiB, over the 8 MiB limit"


def _fifo(p: Path) -> str:
    os.mkfifo(p)  # opening it for reading would wait for a writer forever
    return "not a regular file"


def _link_loop(p: Path) -> str:
    p.symlink_to(p.name)
    return "cannot read: symbolic link loop"


@pytest.mark.parametrize("make", [_ten_megabytes, _fifo, _link_loop])
def test_refused_input_is_one_line_and_others_still_checked(
    tmp_path: Path, make: Callable[[Path], str]
) -> None:
    (tmp_path / "good.Dockerfile").write_text(FINDING)
    # Found by the directory walk, which is how a FIFO or a loop usually turns up.
    problem = make(tmp_path / "bad.Dockerfile")
    r = run("check", "--select", "DA101", "--format", "json", ".", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr == f"dockerarch: bad.Dockerfile: {problem}\n"
    assert da101_files(r.stdout) == ["good.Dockerfile"]


def test_size_limit_is_checked_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "Dockerfile"
    with big.open("wb") as f:
        f.truncate(fileio.MAX_SOURCE_BYTES + 1)  # sparse: nothing to read, only the size
    with pytest.raises(fileio.FileError, match="over the 8 MiB limit"):
        fileio.read_source(big)


def test_a_file_larger_than_its_reported_size_is_read_to_its_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # read_source asks for the size fstat reports; a file that grew since, or one whose
    # size the kernel reports as 0 (/proc), must still be read whole, and refused past
    # the limit.
    path = tmp_path / "Dockerfile"
    path.write_text(FINDING * 3)
    real = os.fstat

    def shrunk(fd: int) -> os.stat_result:
        st = real(fd)
        return os.stat_result((*st[:6], 0, *st[7:]))  # st_size is field 6

    monkeypatch.setattr(fileio.os, "fstat", shrunk)
    assert fileio.read_source(path).text == FINDING * 3
    with path.open("wb") as f:
        f.truncate(fileio.MAX_SOURCE_BYTES + 1)
    with pytest.raises(fileio.FileError, match="over the 8 MiB limit"):
        fileio.read_source(path)


def _long_line() -> str:
    return FINDING + "RUN echo " + "x" * 1_000_000 + "\n"


def _continuations() -> str:
    return FINDING + "RUN echo start \\\n" + "  && echo $TARGETARCH \\\n" * 10_000 + "  && true\n"


def _nested_shell() -> str:
    depth = 2000
    subst = "RUN echo " + "$(echo " * depth + "x" + ")" * depth + "\n"
    ifs = "RUN " + 'if [ "$TARGETARCH" = amd64 ]; then ' * depth + "x" + "; fi" * depth + "\n"
    return FINDING + subst + ifs


@pytest.mark.parametrize("make", [_long_line, _continuations, _nested_shell])
def test_large_valid_input_is_checked_with_every_rule(
    tmp_path: Path, make: Callable[[], str]
) -> None:
    (tmp_path / "Dockerfile").write_text(make())
    (tmp_path / "good.Dockerfile").write_text(FINDING)
    r = run("check", "--select", "DA", "--format", "json", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    assert r.stderr == ""
    assert da101_files(r.stdout) == ["Dockerfile", "good.Dockerfile"]


def test_requirements_file_including_itself(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("-r requirements.txt\n-r ./requirements.txt\n")
    (tmp_path / "Dockerfile").write_text(
        "FROM python:3.11-slim\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n"
    )
    r = run("check", "--select", "DA", "--format", "json", cwd=tmp_path)
    assert (r.returncode, r.stderr) == (0, "")


# -- files outside the build context ----------------------------------------------------

SENTINEL = "dockerarch-sentinel-outside-context"


@pytest.fixture
def outside(tmp_path: Path) -> tuple[Path, Path]:
    """A build context and, next to it, a requirements file it must never read."""
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "requirements.txt").write_text(f"{SENTINEL}==1.0\nnumpy==1.18.5\n")
    context = tmp_path / "context"
    context.mkdir()
    (context / "linked.txt").symlink_to(secret / "requirements.txt")
    (context / "Dockerfile").write_text(
        "FROM python:3.11-slim\n"
        "COPY ../../etc/passwd /etc/passwd\n"
        "COPY ../secret/requirements.txt /r1.txt\n"
        "COPY linked.txt /r2.txt\n"
        "COPY . /app\n"
        "RUN pip install -r /r1.txt -r /r2.txt -r /app/../secret/requirements.txt\n"
        "RUN pip install -r ../secret/requirements.txt -c /etc/passwd\n"
    )
    return context, secret


def test_copy_sources_outside_the_context_are_never_opened(
    outside: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    context, secret = outside
    opened: list[str] = []

    def spy(real: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(file: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(file, (str, bytes, os.PathLike)):
                opened.append(os.path.realpath(os.fsdecode(file)))
            return real(file, *args, **kwargs)

        return wrapper

    # Every way the code opens a file by name: os.open (fileio), io.open (pathlib's
    # read_text/read_bytes/open) and the builtin open.
    monkeypatch.setattr(os, "open", spy(os.open))
    monkeypatch.setattr(io, "open", spy(io.open))
    monkeypatch.setattr(builtins, "open", spy(builtins.open))
    monkeypatch.chdir(context)
    code = cli.main(["check", "--select", "DA", "--format", "json", "--verbose"])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    # The spy sees reads through pathlib too, else it would prove nothing.
    (secret / "requirements.txt").read_bytes()
    assert opened.pop() == os.path.realpath(secret / "requirements.txt")
    real_secret = os.path.realpath(secret)
    assert not [p for p in opened if p.startswith(real_secret) or p == "/etc/passwd"]
    assert SENTINEL not in out + err


def test_outside_sentinel_is_not_reported_by_fix(outside: tuple[Path, Path]) -> None:
    context, secret = outside
    before = (secret / "requirements.txt").read_text()
    r = run("fix", "--select", "DA", "--unsafe-fixes", "--diff", cwd=context)
    assert SENTINEL not in r.stdout + r.stderr
    r = run("fix", "--select", "DA", "--unsafe-fixes", cwd=context)
    assert (secret / "requirements.txt").read_text() == before
    assert "Traceback" not in r.stderr


def test_make_temp_makes_new_private_files_and_never_reuses_a_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fd, name = fileio.make_temp(tmp_path, prefix=".x.", suffix=".tmp")
    os.close(fd)
    assert os.path.dirname(name) == str(tmp_path)
    assert os.path.basename(name).startswith(".x.") and name.endswith(".tmp")
    assert stat.S_IMODE(os.stat(name).st_mode) == 0o600
    # A name that exists is passed over, as mkstemp does.
    names = iter([b"\x00" * 6, b"\x00" * 6, b"\x01" * 6])
    monkeypatch.setattr(os, "urandom", lambda n: next(names))
    fd1, first = fileio.make_temp(tmp_path, prefix="t")
    fd2, second = fileio.make_temp(tmp_path, prefix="t")
    os.close(fd1)
    os.close(fd2)
    assert (first, second) == (str(tmp_path / "t000000000000"), str(tmp_path / "t010101010101"))
