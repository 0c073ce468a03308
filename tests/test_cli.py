"""The command line, run as users run it: ``python -m dockerarch`` in a subprocess."""

from __future__ import annotations

import codecs
import errno
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dockerarch import __version__, cli, fileio
from dockerarch.commands.check import FORMATS as CHECK_FORMATS
from dockerarch.report import FORMATS

FINDING = "FROM --platform=linux/amd64 alpine AS app\n"
CLEAN = "FROM alpine AS app\n"


class Started:
    """A ``python -m dockerarch`` process under way, so tests can run several at once."""

    def __init__(
        self,
        *args: str | os.PathLike[str],
        cwd: Path,
        stdin: bytes | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
        self.stdin = stdin or b""
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dockerarch", *map(str, args)],
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**base, **(env or {})},
        )

    def result(self) -> subprocess.CompletedProcess[str]:
        out, err = self.proc.communicate(self.stdin, timeout=60)
        return subprocess.CompletedProcess(
            self.proc.args, self.proc.returncode, out.decode(), err.decode()
        )


def run(
    *args: str | os.PathLike[str],
    cwd: Path,
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    return Started(*args, cwd=cwd, stdin=stdin, env=env).result()


def da101_files(stdout: str) -> list[str]:
    return sorted(d["filename"] for d in json.loads(stdout) if d["code"] == "DA101")


def test_clean_file_exits_0(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(CLEAN)
    r = run("check", "--select", "DA101", cwd=tmp_path)
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == "All checks passed!\n"


def test_finding_exits_1_with_ruff_style_line(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(FINDING)
    r = run("check", "--select", "DA101", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("Dockerfile:1:6: DA101 FROM --platform=linux/amd64 pins stage")
    assert lines[1:5] == [
        "  |",
        "1 | FROM --platform=linux/amd64 alpine AS app",
        "  |      ^^^^^^^^^^^^^^^^^^^^^^ DA101",
        "  |",
    ]
    assert lines[-1] == "Found 1 problem."


def test_exit_zero_and_quiet(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(FINDING)
    r = run("check", "--select", "DA101", "--exit-zero", "--quiet", cwd=tmp_path)
    assert r.returncode == 0
    assert "DA101" in r.stdout
    assert "Found" not in r.stdout


def test_ignore_turns_the_finding_off(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(FINDING)
    r = run("check", "--select", "DA1", "--ignore", "DA101", "--format", "json", cwd=tmp_path)
    assert da101_files(r.stdout) == []


def test_discovery_names_skips_and_dockerignore(tmp_path: Path) -> None:
    for rel in (
        "Dockerfile",
        "Dockerfile.dev",
        "svc/api.Dockerfile",
        "svc/web.dockerfile",
        "svc/Containerfile",
        "svc/Containerfile.arm",
        "node_modules/pkg/Dockerfile",
        ".git/Dockerfile",
        ".venv/Dockerfile",
    ):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(FINDING)
    (tmp_path / "Dockerfile.dockerignore").write_text("*.md\n")
    (tmp_path / "svc/notes.txt").write_text(FINDING)
    r = run("check", "--select", "DA101", "--format", "json", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    assert da101_files(r.stdout) == [
        "Dockerfile",
        "Dockerfile.dev",
        "svc/Containerfile",
        "svc/Containerfile.arm",
        "svc/api.Dockerfile",
        "svc/web.dockerfile",
    ]


def test_explicit_file_is_checked_whatever_its_name(tmp_path: Path) -> None:
    (tmp_path / "build.txt").write_text(FINDING)
    r = run("check", "--select", "DA101", "--format", "json", "build.txt", cwd=tmp_path)
    assert da101_files(r.stdout) == ["build.txt"]


def test_symlink_loop_is_walked_once(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a/Dockerfile").write_text(FINDING)
    (tmp_path / "a/loop").symlink_to(tmp_path)
    (tmp_path / "a/self").symlink_to(".")
    r = run("check", "--select", "DA101", "--format", "json", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    assert da101_files(r.stdout) == ["a/Dockerfile"]


def test_exclude_globs_from_config(tmp_path: Path) -> None:
    (tmp_path / ".dockerarch.toml").write_text('exclude = ["legacy/", "*.old.Dockerfile"]\n')
    for rel in ("Dockerfile", "legacy/Dockerfile", "svc/x.old.Dockerfile", "svc/Dockerfile"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(FINDING)
    r = run("check", "--select", "DA101", "--format", "json", cwd=tmp_path)
    assert da101_files(r.stdout) == ["Dockerfile", "svc/Dockerfile"]


# -- bad input: one line on stderr, the other files still checked, exit 2 ---------


def _missing(p: Path) -> str:
    return "cannot read: no such file or directory"


def _binary(p: Path) -> str:
    p.write_bytes(b"FROM alpine\n\0\x01\x02")
    return "binary file (contains NUL bytes), not a Dockerfile"


def _latin1(p: Path) -> str:
    p.write_bytes(b"FROM alpine\nLABEL author=J\xe9r\xf4me\n")
    return "not valid UTF-8: byte 0xe9 at line 2, byte 15"


def _utf16(p: Path) -> str:
    p.write_bytes(FINDING.encode("utf-16"))
    return "file is UTF-16; dockerarch reads UTF-8"


def _broken_link(p: Path) -> str:
    p.symlink_to("nowhere")
    return "cannot read: broken symbolic link to 'nowhere'"


def _a_directory_without_dockerfiles(p: Path) -> str:
    p.mkdir()
    (p / "README.md").write_text("hello\n")
    return "no Dockerfiles found"


@pytest.mark.parametrize(
    "make",
    [_missing, _binary, _latin1, _utf16, _broken_link, _a_directory_without_dockerfiles],
)
def test_bad_input_is_one_line_and_others_still_checked(
    tmp_path: Path, make: Callable[[Path], str]
) -> None:
    (tmp_path / "good.Dockerfile").write_text(FINDING)
    bad = tmp_path / "bad"
    problem = make(bad)
    r = run(
        "check", "--select", "DA101", "--format", "json", "good.Dockerfile", "bad", cwd=tmp_path
    )
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith(f"dockerarch: bad: {problem}")
    assert "Traceback" not in r.stderr
    assert da101_files(r.stdout) == ["good.Dockerfile"]


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="root reads mode-000 files; test_permission_denied_message simulates EACCES instead",
)
def test_permission_denied(tmp_path: Path) -> None:
    (tmp_path / "good.Dockerfile").write_text(FINDING)
    bad = tmp_path / "Dockerfile"
    bad.write_text(FINDING)
    bad.chmod(0)
    try:
        r = run("check", "--select", "DA101", "--format", "json", cwd=tmp_path)
    finally:
        bad.chmod(0o644)
    assert r.returncode == 2
    assert r.stderr == "dockerarch: Dockerfile: cannot read: permission denied\n"
    assert da101_files(r.stdout) == ["good.Dockerfile"]


def test_permission_denied_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    denied = tmp_path / "Dockerfile"
    denied.write_text(FINDING)
    real_open = os.open

    def fake_open(file: object, *args: object, **kwargs: object) -> object:
        # The suite may run as root, whom a mode of 000 does not stop.
        if file == denied:
            raise PermissionError(errno.EACCES, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", fake_open)
    with pytest.raises(fileio.FileError, match=r"^cannot read: permission denied$"):
        fileio.read_source(denied)


def test_internal_error_names_the_file_and_others_still_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import dockerarch.engine

    (tmp_path / "a.Dockerfile").write_text("FROM boom\n")
    (tmp_path / "b.Dockerfile").write_text(FINDING)
    real = dockerarch.engine.check_text

    def flaky(text: str, *args: object, **kwargs: object) -> dockerarch.engine.Result:
        if "boom" in text:
            raise RuntimeError("rule exploded")
        return real(text, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(dockerarch.engine, "check_text", flaky)
    monkeypatch.chdir(tmp_path)
    code = cli.main(["check", "--select", "DA101", "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 2
    assert err == "dockerarch: a.Dockerfile: internal error: RuntimeError: rule exploded\n"
    assert da101_files(out) == ["b.Dockerfile"]

    code = cli.main(["check", "--select", "DA101", "--format", "json", "--verbose"])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback (most recent call last)" in err
    assert "RuntimeError: rule exploded" in err


def test_verbose_notes_and_build_context(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import dockerarch.engine

    (tmp_path / "svc").mkdir()
    (tmp_path / "svc/Dockerfile").write_text(FINDING)
    (tmp_path / ".dockerarch.toml").write_text('extend-select = ["DA101"]\n')
    seen: list[Path | None] = []
    real = dockerarch.engine.check_text

    def noting(*args: Any, **kwargs: Any) -> dockerarch.engine.Result:
        seen.append(kwargs["context_dir"])
        result = real(*args, **kwargs)
        result.notes.append("requirements.txt not in the build context")
        return result

    monkeypatch.setattr(dockerarch.engine, "check_text", noting)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["check", "--quiet", "--format", "json"]) == 1
    assert capsys.readouterr().err == ""
    assert cli.main(["check", "--verbose", "--context", "ctx", "--format", "json"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "dockerarch: svc/Dockerfile: note: configuration from .dockerarch.toml",
        "dockerarch: svc/Dockerfile: note: requirements.txt not in the build context",
    ]
    assert seen == [tmp_path / "svc", tmp_path / "ctx"]


# -- stdin, options, output ---------------------------------------------------------


def test_stdin_with_filename(tmp_path: Path) -> None:
    r = run(
        "check", "--select", "DA101", "--stdin-filename", "svc/Dockerfile", "-",
        cwd=tmp_path, stdin=FINDING.encode(),
    )  # fmt: skip
    assert r.returncode == 1, r.stderr
    assert r.stdout.startswith("svc/Dockerfile:1:6: DA101 ")


def test_stdin_filename_selects_the_config(tmp_path: Path) -> None:
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc/.dockerarch.toml").write_text('ignore = ["DA101"]\n')
    args = ("check", "--format", "json", "--stdin-filename")
    r = run(*args, "svc/Dockerfile", cwd=tmp_path, stdin=FINDING.encode())
    assert da101_files(r.stdout) == []
    r = run(*args, "Dockerfile", cwd=tmp_path, stdin=FINDING.encode())
    assert da101_files(r.stdout) == ["Dockerfile"]


def test_stdin_without_name_and_bad_bytes(tmp_path: Path) -> None:
    r = run("check", "--select", "DA101", "-", cwd=tmp_path, stdin=FINDING.encode())
    assert r.stdout.startswith("-:1:6: DA101 ")
    r = run("check", "-", cwd=tmp_path, stdin=b"FROM \xff\n")
    assert r.returncode == 2
    assert r.stderr == "dockerarch: -: not valid UTF-8: byte 0xff at line 1, byte 6\n"


def test_colour_only_when_asked_and_never_with_no_color(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(FINDING)
    args = ("check", "--select", "DA101")
    started = [
        Started(*args, cwd=tmp_path),
        Started(*args, cwd=tmp_path, env={"FORCE_COLOR": "1"}),
        Started(*args, cwd=tmp_path, env={"FORCE_COLOR": "1", "NO_COLOR": "1"}),
        Started(*args, "--no-color", cwd=tmp_path, env={"FORCE_COLOR": "1"}),
    ]
    plain, forced, no_color_env, no_color_flag = (s.result() for s in started)
    assert "\x1b[" not in plain.stdout  # a pipe is not a terminal
    assert "\x1b[1;31mDA101\x1b[0m" in forced.stdout
    assert no_color_env.stdout == no_color_flag.stdout == plain.stdout


def test_output_file(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(FINDING)
    r = run("check", "--select", "DA101", "--format", "json", "-o", "out.json", cwd=tmp_path)
    assert (r.returncode, r.stdout) == (1, "")
    assert da101_files((tmp_path / "out.json").read_text()) == ["Dockerfile"]
    r = run("check", "-o", "missing-dir/out.json", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.startswith("dockerarch: missing-dir/out.json: cannot write: ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--select", "DA1x"), "--select: 'select': invalid rule selector 'DA1x'"),
        (("--platform", "linux/"), "--platform: 'platform': not a platform: 'linux/'"),
        (("--config", "nope.toml"), "nope.toml: cannot read: no such file or directory"),
    ],
)
def test_bad_options_exit_2(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    (tmp_path / "Dockerfile").write_text(FINDING)
    r = run("check", *args, cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.startswith(f"dockerarch: {message}")
    assert r.stderr.count("\n") == 1


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run("check", "--format", "yaml", cwd=tmp_path).returncode == 2
    assert run(cwd=tmp_path).returncode == 2
    r = run("check", "--statistics", "--format", "json", cwd=tmp_path)
    assert r.returncode == 2


def test_statistics(tmp_path: Path) -> None:
    (tmp_path / "a.Dockerfile").write_text(FINDING)
    (tmp_path / "b.Dockerfile").write_text(FINDING)
    r = run("check", "--select", "DA101", "--statistics", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stdout == "2\tDA101\t[ ] constant-platform-flag\n"


def test_version_lists_snapshots(tmp_path: Path) -> None:
    r = run("--version", cwd=tmp_path)
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert lines[0] == f"dockerarch {__version__}"
    # Each shipped snapshot, with a date.
    dated = [line.split(" snapshot: ") for line in lines[1:]]
    assert [name for name, _ in dated] == ["images", "pypi", "npm"]
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", date) for _, date in dated)


def test_rules_and_explain(tmp_path: Path) -> None:
    table = run("rules", cwd=tmp_path)
    assert table.returncode == 0
    row = next(line for line in table.stdout.splitlines() if line.startswith("DA101"))
    assert row.split() == ["DA101", "constant-platform-flag", "platform-flag", "no"]
    data = json.loads(run("rules", "--format", "json", cwd=tmp_path).stdout)
    assert {"code": "DA101", "name": "constant-platform-flag"}.items() <= data[
        [d["code"] for d in data].index("DA101")
    ].items()

    r = run("explain", "da101", cwd=tmp_path)
    assert r.returncode == 0
    assert r.stdout.startswith("DA101 (constant-platform-flag)\n\n`FROM --platform` names")
    assert "## Why it matters" in r.stdout
    assert run("explain", "constant-platform-flag", cwd=tmp_path).stdout == r.stdout

    r = run("explain", "DA999", cwd=tmp_path)
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr == "dockerarch: unknown rule 'DA999' (`dockerarch rules` lists them)\n"


def test_format_lists_agree() -> None:
    assert CHECK_FORMATS == FORMATS


def test_every_format_runs_and_exits_1(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(FINDING)
    started = [Started("check", "--select", "DA101", "--format", f, cwd=tmp_path) for f in FORMATS]
    for fmt, r in zip(FORMATS, [s.result() for s in started], strict=True):
        assert (r.returncode, r.stderr) == (1, ""), fmt
        assert "DA101" in r.stdout, fmt


# -- fileio -------------------------------------------------------------------------


def test_decode_keeps_utf8_bom_and_rejects_wide_encodings() -> None:
    assert fileio.decode(b"\xef\xbb\xbfFROM a\n", "f") == "\ufeffFROM a\n"
    with pytest.raises(fileio.FileError, match="file is UTF-32; dockerarch reads UTF-8"):
        fileio.decode("FROM a\n".encode("utf-32"), "f")
    with pytest.raises(fileio.FileError, match="file is UTF-16"):
        fileio.decode(codecs.BOM_UTF16_BE + "FROM a\n".encode("utf-16-be"), "f")


def test_write_atomic_keeps_mode_and_leaves_no_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text("FROM a\n")
    path.chmod(0o640)
    source = fileio.read_source(path)
    fileio.write_atomic(path, "FROM b\r\n", expected_mtime_ns=source.mtime_ns)
    assert path.read_bytes() == b"FROM b\r\n"
    assert path.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Dockerfile"]


def test_write_atomic_refuses_a_file_changed_since_read(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text("FROM a\n")
    source = fileio.read_source(path)
    path.write_text("FROM edited\n")
    os.utime(path, ns=(source.mtime_ns + 1_000_000, source.mtime_ns + 1_000_000))
    with pytest.raises(fileio.FileChangedError, match="changed on disk"):
        fileio.write_atomic(path, "FROM fixed\n", expected_mtime_ns=source.mtime_ns)
    assert path.read_text() == "FROM edited\n"
    path.unlink()
    with pytest.raises(fileio.FileChangedError):
        fileio.write_atomic(path, "FROM fixed\n", expected_mtime_ns=source.mtime_ns)
    assert not path.exists()


def test_write_atomic_through_a_symlink_and_to_a_new_file(tmp_path: Path) -> None:
    (tmp_path / "real").write_text("FROM a\n")
    link = tmp_path / "Dockerfile"
    link.symlink_to("real")
    fileio.write_atomic(link, "FROM b\n")
    assert link.is_symlink() and (tmp_path / "real").read_text() == "FROM b\n"
    umask = os.umask(0o022)
    try:
        fileio.write_atomic(tmp_path / "new", "x")
    finally:
        os.umask(umask)
    assert (tmp_path / "new").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("columns", [50, 100, 160])
def test_help_fits_the_width_columns_asks_for(columns: int) -> None:
    # As argparse's own formatter sizes it (shutil.get_terminal_size), without shutil.
    env = {**os.environ, "COLUMNS": str(columns)}
    proc = subprocess.run(
        [sys.executable, "-m", "dockerarch", "check", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    widths = [len(line) for line in proc.stdout.splitlines()]
    assert max(widths) <= columns - 2
    assert max(widths) > columns - 20
