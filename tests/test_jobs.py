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


def run(*args: str | Path, prelude: str = "") -> tuple[int, str, str]:
    argv = ["check", "--isolated", "--no-cache", "--format", "json", *map(str, args)]
    script = f"{prelude}\nimport sys\nfrom dockerarch import cli\nsys.exit(cli.main({argv!r}))\n"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    return done.returncode, done.stdout, done.stderr


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
    flaky = (
        "import dockerarch.engine as engine\n"
        "real = engine.check_text\n"
        "def flaky(text, *args, **kwargs):\n"
        "    if 'AS app5\\n' in text:\n"
        "        raise RuntimeError('boom')\n"
        "    return real(text, *args, **kwargs)\n"
        "engine.check_text = flaky\n"
    )
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


KILLER = (
    "import os, signal\n"
    "import dockerarch.engine as engine\n"
    "real = engine.check_text\n"
    "def killer(text, *args, **kwargs):\n"
    "    if 'AS app5\\n' in text:\n"
    "        os.kill(os.getpid(), signal.SIGKILL)\n"
    "    return real(text, *args, **kwargs)\n"
    "engine.check_text = killer\n"
)


@pytest.mark.skipif(sys.platform != "linux", reason="workers inherit the patch only when forked")
def test_a_killed_worker_costs_only_its_file(tmp_path: Path) -> None:
    # The OOM killer, or a crash in a C extension: the run goes on without that worker.
    files = corpus(tmp_path, 40)
    code, out, err = run("--jobs", "2", *files, prelude=KILLER)
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
    prelude = KILLER + "import dockerarch.commands.check as check\ncheck.POOL = 'executor'\n"
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
    slow = (
        "import time\n"
        "import dockerarch.engine as engine\n"
        "real = engine.check_text\n"
        "def slow(*args, **kwargs):\n"
        "    time.sleep(0.2)\n"
        "    return real(*args, **kwargs)\n"
        "engine.check_text = slow\n"
        "import dockerarch.commands.check as check\n"
        f"check.POOL = {pool!r}\n"
    )
    argv = ["check", "--isolated", "--no-cache", "--jobs", "2", *map(str, files)]
    script = f"{slow}\nimport sys\nfrom dockerarch import cli\nsys.exit(cli.main({argv!r}))\n"
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
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
