"""Records are frozen under the suite and plain, hashed by their fields, elsewhere.

dockerarch/records.py explains why: the run-time guard costs ~12% of a check, so
mypy and this suite's processes enforce it, not every user's run.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dockerarch.diagnostics import Diagnostic, Severity
from dockerarch.syntax import Span, parse


def test_records_are_frozen_in_the_suite() -> None:
    ins = parse("FROM alpine\n").instructions[0]
    diagnostic = Diagnostic("DA000", "m", Span(0, 1), Severity.INFO)
    for obj, name in ((Span(0, 1), "start"), (ins, "keyword"), (diagnostic, "message")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, name, None)


def test_records_elsewhere_are_plain_and_compare_as_frozen_ones_do() -> None:
    script = (
        "from dockerarch.syntax import Span\n"
        "a, b = Span(1, 2), Span(1, 2)\n"
        "assert Span.__setattr__ is object.__setattr__\n"
        "assert a == b and hash(a) == hash(b) == hash((1, 2)) and a != Span(1, 3)\n"
        "assert len({a, b}) == 1\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DOCKERARCH_FROZEN"}
    subprocess.run([sys.executable, "-c", script], env=env, check=True)


def test_a_frozen_record_hashes_as_a_plain_one() -> None:
    # The suite checks frozen records; users run plain ones: same hash, same equality.
    assert hash(Span(1, 2)) == hash((1, 2))


def test_users_plain_records_give_the_suites_answers_on_every_fixture() -> None:
    # The suite runs with frozen records; users do not. Both must say the same.
    root = Path(__file__).parent.parent / "fixtures"
    files = [str(p) for p in sorted(root.rglob("Dockerfile*"))]
    checks = ["check", "--isolated", "--no-cache", "--exit-zero", "--format", "json"]
    checks += ["--select", "DA"]
    fixes = ["fix", "--isolated", "--diff", "--unsafe-fixes", "--select", "DA"]
    plain = {k: v for k, v in os.environ.items() if k != "DOCKERARCH_FROZEN"}
    for command in (checks, fixes):
        outputs = [
            subprocess.run(
                [sys.executable, "-m", "dockerarch", *command, *files],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            for env in (plain, os.environ)
        ]
        assert outputs[0].returncode == outputs[1].returncode
        assert outputs[0].stdout == outputs[1].stdout
        assert outputs[0].stdout
