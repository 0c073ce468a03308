"""The forked worker pool: every job answered once, dead workers cost only their job.

The pool forks the process it runs in, which is unsafe in the test process once
other tests have loaded the BuildKit oracle (a Go runtime with threads of its
own), so each case runs in a fresh interpreter and prints what it saw.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockerarch.forkpool import MAX_CHUNKS, chunks

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")


def run(body: str) -> Any:
    """What ``body`` (which sees ``fork_map`` and ``os``) prints as JSON on its last line."""
    script = "import json, os, sys, time\nfrom dockerarch.forkpool import fork_map\n" + body
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.parametrize(("count", "workers"), [(0, 2), (1, 2), (7, 1), (100, 2), (100, 4)])
def test_every_job_is_answered_once(count: int, workers: int) -> None:
    seen = run(
        f"got = list(fork_map(lambda i: [i, i * i, os.getpid()], {count}, {workers}))\n"
        "print(json.dumps([[i, a] for i, a in got]))\n"
    )
    assert sorted(i for i, _ in seen) == list(range(count))
    assert all(answer[:2] == [i, i * i] for i, answer in seen)
    pids = {answer[2] for _, answer in seen}
    assert len(pids) <= workers


def test_workers_share_the_jobs() -> None:
    # Sleeping jobs: with two workers both take part.
    pids = run(
        "got = fork_map(lambda i: (time.sleep(0.01), os.getpid())[1], 40, 2)\n"
        "print(json.dumps(sorted({pid for _, pid in got})))\n"
    )
    assert len(pids) == 2


def test_answers_larger_than_a_pipe_arrive_whole() -> None:
    # One chunk's answers together take hundreds of reads of the pipe.
    sizes = run(
        "got = fork_map(lambda i: [chr(97 + i % 26) * (2_000_000 + i)], 12, 2)\n"
        "print(json.dumps(sorted([len(a[0]), a[0][:1]] for _, a in got)))\n"
    )
    assert sizes == sorted([2_000_000 + i, chr(97 + i % 26)] for i in range(12))


@pytest.mark.parametrize(
    ("death", "said"),
    [
        ("os.kill(os.getpid(), 9)", "was killed by SIGKILL"),
        ("os._exit(3)", "exited with status 3"),
    ],
)
def test_a_dead_worker_costs_only_its_job(death: str, said: str) -> None:
    seen = run(
        "parent = os.getpid()\n"
        "def work(i):\n"
        f"    if i == 13 and os.getpid() != parent:\n        {death}\n"
        "    return [i, os.getpid() == parent]\n"
        "got = list(fork_map(work, 60, 2))\n"
        "print(json.dumps([[i, a if isinstance(a, list) else str(a)] for i, a in got]))\n"
    )
    assert sorted(i for i, _ in seen) == list(range(60))
    answers = dict(seen)
    assert answers[13] == f"the worker process checking it {said}"
    assert all(answers[i][0] == i for i in range(60) if i != 13)
    # The rest of the dead worker's chunk is done by the parent.
    assert any(answers[i][1] for i in range(14, 60))


def test_leaving_early_kills_and_reaps_the_workers() -> None:
    left = run(
        "got = fork_map(lambda i: time.sleep(0.05), 100, 2)\n"
        "next(got)\n"
        "got.close()\n"
        "try:\n"
        "    os.waitpid(-1, os.WNOHANG)\n"
        "    print(json.dumps('a child is left'))\n"
        "except ChildProcessError:\n"
        "    print(json.dumps('none'))\n"
    )
    assert left == "none"


def test_a_failed_fork_leaves_the_work_to_the_parent() -> None:
    seen = run(
        "def no_fork():\n    raise BlockingIOError(11, 'Resource temporarily unavailable')\n"
        "os.fork = no_fork\n"
        "got = list(fork_map(lambda i: [i, os.getpid()], 30, 2))\n"
        "print(json.dumps([[i, a[1] == os.getpid()] for i, a in got]))\n"
    )
    assert sorted(i for i, _ in seen) == list(range(30))
    assert all(here for _, here in seen)


@given(st.integers(0, 200_000), st.integers(1, 64))
def test_chunks_cover_the_jobs_in_order_and_shrink(count: int, workers: int) -> None:
    found = chunks(count, workers)
    assert len(found) <= MAX_CHUNKS
    assert [i for start, end in found for i in range(start, end)] == list(range(count))
    sizes = [end - start for start, end in found]
    assert all(size >= 1 for size in sizes)
    assert sizes == sorted(sizes, reverse=True)
