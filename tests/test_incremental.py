"""Re-checking after an edit gives exactly what a whole check gives.

The incremental checker reuses stage rules' findings for stages an edit did not
touch; these properties hold it to :func:`check_text` after every edit of every
fixture and of generated files, so a rule that wrongly claims ``scope="stage"``
fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockerarch.engine import Settings, check_text
from dockerarch.incremental import IncrementalChecker
from tests.strategies import dockerfiles, texts
from tests.test_fix_properties import fixable_dockerfiles

ROOT = Path(__file__).parent.parent
FIXTURES = sorted((ROOT / "fixtures").rglob("Dockerfile*"))
EVERY_RULE = Settings(select=("DA",))


def _edits(text: str, count: int) -> list[str]:
    """``count`` successive texts, each one keystroke-sized edit after the last:
    a character added, a line inserted, a line deleted, or none, spread over the file."""
    rows = text.splitlines(keepends=True) or [""]
    out = []
    for n in range(count):
        i = (n * 7 + 3) % len(rows)
        kind = n % 4
        if kind == 3:
            pass  # the same text again: editors send that too
        elif kind == 0:
            body = rows[i].rstrip("\r\n")
            rows[i] = body + "x" + rows[i][len(body) :]
        elif kind == 1:
            rows.insert(i, "\n")
        elif len(rows) > 1:
            del rows[i]
        out.append("".join(rows))
    return out


def _assert_same(texts: list[str], path: Path | None = None) -> IncrementalChecker:
    context = path.parent if path else None
    # Partial checks whenever the global ARGs allow, to put them to the test.
    checker = IncrementalChecker(EVERY_RULE, path=path, context_dir=context, most_dirty=1.0)
    for text in texts:
        got = checker.check(text).diagnostics
        want = check_text(text, EVERY_RULE, path=path, context_dir=context).diagnostics
        assert got == want, (checker.last, text)
    return checker


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: str(p.relative_to(ROOT / "fixtures")))
def test_every_fixture_after_edits(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    _assert_same([text, *_edits(text, 6)], path)


@pytest.mark.parametrize("first", range(0, len(FIXTURES), 3))
def test_fixtures_side_by_side_after_edits(first: int) -> None:
    # Two fixtures in one file: stages that do and do not depend on each other.
    path = FIXTURES[first]
    other = FIXTURES[(first * 7 + 1) % len(FIXTURES)]
    text = path.read_text(encoding="utf-8").rstrip("\n") + "\n" + other.read_text(encoding="utf-8")
    _assert_same([text, *_edits(text, 6)], path)


_ENDED = fixable_dockerfiles().map(lambda t: t if t.endswith("\n") else t + "\n")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        dockerfiles(),
        fixable_dockerfiles(),
        st.lists(_ENDED, min_size=2, max_size=4).map("".join),
        texts,
    ),
    st.integers(1, 5),
)
def test_generated_after_edits(text: str, count: int) -> None:
    _assert_same([text, *_edits(text, count)])


STAGES = "".join(
    f"FROM python:3.12-slim AS s{n}\n"
    f"RUN curl -fsSL https://example.com/tool-linux-amd64.tar.gz | tar -xz\n"
    f"RUN pip install numpy==1.18.5\n"
    for n in range(6)
)


def test_an_edit_rechecks_only_its_stage() -> None:
    texts = [STAGES, STAGES.replace("AS s2\n", "AS s2x\n")]
    assert _assert_same(texts).last == "partial"


def test_an_edit_rechecks_the_stages_built_from_it() -> None:
    text = STAGES + "FROM s1\nCOPY --from=s3 /a /b\nRUN curl -O https://example.com/x_amd64.deb\n"
    edited = text.replace(
        "tool-linux-amd64.tar.gz | tar -xz\nRUN pip install numpy==1.18.5\n"
        "FROM python:3.12-slim AS s2",
        "tool-linux-arm64.tgz | tar -xz\n"
        "RUN pip install numpy==1.18.5\nFROM python:3.12-slim AS s2",
        1,
    )
    assert edited != text
    assert _assert_same([text, edited]).last == "partial"


def test_the_same_text_again() -> None:
    assert _assert_same([STAGES, STAGES, STAGES.replace("AS s2\n", "AS s2x\n")] * 2).last == (
        "partial"
    )


def test_global_args_changed_means_a_whole_check() -> None:
    texts = [STAGES, "ARG V=1\n" + STAGES]
    assert _assert_same(texts).last == "whole"


def test_expire_makes_the_next_check_whole() -> None:
    checker = IncrementalChecker(EVERY_RULE)
    checker.check(STAGES)
    checker.check(STAGES.replace("AS s2\n", "AS s2y\n"))
    assert checker.last == "partial"
    checker.expire()
    checker.check(STAGES.replace("AS s2\n", "AS s2z\n"))
    assert checker.last == "whole"
    checker.check(STAGES.replace("AS s2\n", "AS s2w\n"))
    assert checker.last == "partial"
