"""``check --jobs``: files checked in worker processes give the output one process gives.

Each run is a fresh interpreter: workers are forked, and forking the test
process is unsafe once other tests have loaded the BuildKit oracle (a Go
runtime with threads of its own).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

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


def command(argv: list[str], prelude: str = "") -> list[str]:
    """A fresh interpreter running ``dockerarch ARGV`` after ``prelude``."""
    script = f"{prelude}\nimport sys\nfrom dockerarch import cli\nsys.exit(cli.main({argv!r}))\n"
    return [sys.executable, "-c", script]


def run(*args: str | Path, prelude: str = "") -> tuple[int, str, str]:
    argv = ["check", "--isolated", "--no-cache", "--format", "json", *map(str, args)]
    done = subprocess.run(command(argv, prelude), capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout, done.stderr


def patched(before: str, pool: str | None = None) -> str:
    """A prelude that runs ``before`` (which sees the file's ``text``) ahead of every
    check, in whichever process checks; with ``pool``, the worker pool check uses."""
    body = "".join(f"    {line}\n" for line in before.splitlines())
    prelude = (
        "import os, signal, time\n"
        "import dockerarch.engine as engine\n"
        "real = engine.check_text\n"
        f"def patched(text, *args, **kwargs):\n{body}    return real(text, *args, **kwargs)\n"
        "engine.check_text = patched\n"
    )
    if pool is not None:
        prelude += f"import dockerarch.commands.check as check\ncheck.POOL = {pool!r}\n"
    return prelude


def test_parallel_output_equals_serial(tmp_path: Path) -> None:
    files = corpus(tmp_path)
    serial = run("--jobs", "1", *files)
    assert serial[0] == 1 and serial[2] == ""
    assert run("--jobs", "2", *files) == serial
    # Directories are walked in a stable order, whatever the workers do.
    assert run("-j", "3", tmp_path) == run("-j", "1", tmp_path)


@pytest.mark.skipif(sys.platform != "linux", reason="workers inherit the patch only when forked")
def test_a_crash_in_a_worker_names_its_file(tmp_path: Path) -> None:
    files = corpus(tmp_path)
    flaky = patched("if 'AS app5\\n' in text:\n    raise RuntimeError('boom')")
    code, out, err = run("--jobs", "2", *files, prelude=flaky)
    assert code == 2
    assert err.splitlines() == [
        f"dockerarch: {files[5]}: internal error: RuntimeError: boom",
    ]
    assert str(files[4]) in out and str(files[6]) in out and str(files[5]) not in out


def test_negative_jobs_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM alpine\n")
    code, _, err = run("--jobs", "-1", tmp_path / "Dockerfile")
    assert code == 2 and "--jobs" in err


KILL_APP5 = "if 'AS app5\\n' in text:\n    os.kill(os.getpid(), signal.SIGKILL)"


@pytest.mark.skipif(sys.platform != "linux", reason="workers inherit the patch only when forked")
def test_a_killed_worker_costs_only_its_file(tmp_path: Path) -> None:
    # The OOM killer, or a crash in a C extension: the run goes on without that worker.
    files = corpus(tmp_path, 40)
    code, out, err = run("--jobs", "2", *files, prelude=patched(KILL_APP5))
    assert code == 2
    assert err.splitlines() == [
        f"dockerarch: {files[5]}: internal error: "
        "the worker process checking it was killed by SIGKILL",
    ]
    serial = run("--jobs", "1", *(f for f in files if f != files[5]))[1]
    assert out == serial


@pytest.mark.skipif(sys.platform != "linux", reason="workers inherit the patch only when forked")
def test_a_killed_worker_of_the_executor_pool_is_reported(tmp_path: Path) -> None:
    # macOS and Windows start workers through concurrent.futures, which does not say
    # which job a dead worker was on: every file left is reported, and no traceback.
    files = corpus(tmp_path, 40)
    prelude = patched(KILL_APP5, pool="executor")
    code, out, err = run("--jobs", "2", *files, prelude=prelude)
    assert code == 2
    lines = err.splitlines()
    assert f"dockerarch: {files[5]}: internal error: a worker process died before checking it" in (
        lines
    )
    assert all(line.endswith("a worker process died before checking it") for line in lines)
    assert str(files[0]) in out


@pytest.mark.skipif(sys.platform != "linux", reason="workers inherit the patch only when forked")
@pytest.mark.parametrize("pool", ["fork", "executor"])
def test_ctrl_c_stops_the_run_and_its_workers(tmp_path: Path, pool: str) -> None:
    # The terminal sends SIGINT to the whole process group, workers included.
    files = corpus(tmp_path, 60)
    argv = ["check", "--isolated", "--no-cache", "--jobs", "2", *map(str, files)]
    proc = subprocess.Popen(
        command(argv, patched("time.sleep(0.2)", pool=pool)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    time.sleep(2)  # started, and the workers busy with their first chunks
    assert proc.poll() is None
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "Traceback" not in err
    # Nothing of the run is left: the workers were killed and reaped.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("a worker outlived the run")
