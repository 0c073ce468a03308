"""No regular expression takes time quadratic (or worse) in an adversarial input.

Every ``re.compile`` and regex literal in dockerarch/ and rules/ was run against
100,000-character repetitions of the characters each pattern cares about; the
ones below are those whose *use* (``match``, ``search``, ``sub`` as the code
calls them, on text a Dockerfile or a build-context file controls) took
measurable time on 5,000 characters. Each case runs in its own subprocess; the
budget is a crash detector, not a benchmark: linear code takes milliseconds,
a quadratic pattern on 100,000 characters takes many minutes. All cases start
at once so that the module costs one budget of wall time, not one per case.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

N = 100_000
BUDGET = 10.0


@dataclass(frozen=True)
class Case:
    id: str
    code: str
    #: Why the case is known to fail, for a pattern in a module this suite may not change.
    known_bug: str | None = None


CASES = [
    Case(
        "requirements-comment-after-long-whitespace",
        """
        import pathlib, tempfile
        from dockerarch.pysources import read_requirements_file
        root = pathlib.Path(tempfile.mkdtemp())
        (root / "requirements.txt").write_text("numpy==1.0" + " " * N + "x\\n" + "\\t" * N + "\\n")
        result = read_requirements_file(pathlib.Path("requirements.txt"), root)
        assert result.requirements
        """,
    ),
    Case(
        "requirements-many-hashes-without-whitespace",
        """
        from dockerarch.pysources.reqfile import _comment_start
        assert _comment_start("a#" * N) is None
        assert _comment_start("a" + " " * N + "#x") == 1
        """,
    ),
    Case(
        "poetry-constraint-long-whitespace",
        """
        from dockerarch.pysources import poetry_specifier
        try:
            poetry_specifier("1.0," + " " * N + "#")
        except ValueError:
            pass
        else:
            raise AssertionError("accepted")
        """,
    ),
    Case(
        "requirement-name-then-whitespace",
        """
        from dockerarch.pysources.model import _LENIENT_NAME
        assert _LENIENT_NAME.match("a" + " " * N + "x") is None
        assert _LENIENT_NAME.match("a" + "-" * N + "#") is None
        """,
    ),
    Case(
        "setup-cfg-line-without-separator",
        """
        from dockerarch.pysources.project import _OPTION
        assert _OPTION.match("a" + " " * N) is None
        assert _OPTION.match("a" + " " * N + "= 1").group("key").strip() == "a"
        """,
    ),
    Case(
        "pnpm-lock-long-lines",
        """
        from dockerarch.npmsources import parse_pnpm_lock
        parse_pnpm_lock(" " * N + "x\\npackages:\\n  /" + "(" * N + ":\\n    a: b\\n")
        """,
    ),
    Case(
        "npmrc-unclosed-references",
        """
        import pathlib, tempfile
        from dockerarch.knowledge.npm_online import _read_npmrc
        rc = pathlib.Path(tempfile.mkdtemp()) / ".npmrc"
        rc.write_text("registry=" + "${" * N + "\\n")
        assert _read_npmrc(rc, {})["registry"].startswith("${")
        """,
    ),
    Case(
        "registry-bearer-challenge-long-word",
        """
        from dockerarch.knowledge.registry import parse_bearer_challenge
        assert parse_bearer_challenge("Bearer " + "a_" * N) == {}
        assert parse_bearer_challenge("Bearer " + "a" * N + '=",') is not None
        """,
    ),
    Case(
        "image-reference-long-components",
        """
        from dockerarch.imageref import parse_image_ref
        for text in ("a-" * N + "!", "a/" * N + "!", "a:" + "b" * N + "@sha256:" + "0" * N):
            parse_image_ref(text)
        """,
    ),
    Case(
        "dockerfile-directive-and-heredoc-words",
        """
        from dockerarch.syntax import parse
        parse("# a=" + " \\t" * N + "x\\n#" + " " * N + "\\nFROM a\\nRUN " + "1" * N + "<x\\n")
        """,
    ),
    Case(
        "suppression-comment-long-whitespace",
        """
        from dockerarch.engine import Settings, check_text
        check_text("#" + " " * N + "dockerarch\\nFROM a\\n", Settings(select=("DA9",)))
        """,
    ),
    Case(
        "heredoc-run-with-long-digit-word",
        """
        from dockerarch.runscripts import _MARKER
        _MARKER.sub(" ", "1" * N)
        """,
    ),
    Case(
        "platform-args-heredoc-marker",
        """
        from dockerarch_rules.platform_args import _HEREDOC_MARKER
        _HEREDOC_MARKER.sub(" ", "1" * N)
        """,
    ),
    Case(
        "sed-substitution-many-delimiters",
        """
        from dockerarch.shell.arch import sed_substitution
        sed_substitution("s" + "/" * N + "x")
        sed_substitution("s/" + "\\\\/" * N)
        """,
    ),
    Case(
        "npm-version-long-whitespace",
        """
        from dockerarch.knowledge.npm import SemVer
        assert SemVer.parse(" " * N + "x") is None
        """,
    ),
    Case(
        "pip-local-project-long-whitespace",
        """
        from dockerarch.pysources.selection import local_project
        local_project("./a" + " " * N + "b")
        """,
    ),
]


def _script(case: Case) -> str:
    return f"N = {N}\n" + textwrap.dedent(case.code)


@pytest.fixture(scope="module")
def started() -> Iterator[tuple[float, dict[str, subprocess.Popen[bytes]]]]:
    procs = {
        case.id: subprocess.Popen(
            [sys.executable, "-c", _script(case)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for case in CASES
    }
    try:
        yield time.monotonic(), procs
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
            proc.communicate()


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            c,
            id=c.id,
            marks=[pytest.mark.xfail(strict=True, reason=c.known_bug)] if c.known_bug else [],
        )
        for c in CASES
    ],
)
def test_pattern_use_is_linear_enough(
    case: Case, started: tuple[float, dict[str, subprocess.Popen[bytes]]]
) -> None:
    began, procs = started
    proc = procs[case.id]
    try:
        _, err = proc.communicate(timeout=max(0.1, began + BUDGET - time.monotonic()))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"{case.id}: still running after {BUDGET}s on {N} characters")
    assert proc.returncode == 0, err.decode()
