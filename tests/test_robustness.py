"""Nothing crashes on any text, and ``fix`` never loses a file.

Properties already elsewhere, not repeated: parse round-trips byte for byte
on any text and on generated Dockerfiles (test_syntax), the text-level rules
survive generated Dockerfiles (test_engine), fixing is idempotent and valid
(test_fix_properties), render survives generated Dockerfiles (test_render)
and merge renders back to each input (test_merge). Here: every rule at once
on arbitrary text and on files mixing what every rule looks for, fixing with
every rule on arbitrary text, render and merge on arbitrary text; and the
write path under failures. Example counts are bounded; for a longer run:
``python -m pytest tests/test_robustness.py --hypothesis-profile=long``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockerarch import cli
from dockerarch.engine import Settings, check_text
from dockerarch.merge import MergeError, MergeInput, merge
from dockerarch.platforms import Platform
from dockerarch.render import RenderError, render
from dockerarch.syntax import parse
from tests.conftest import LONG
from tests.strategies import dockerfiles, texts
from tests.test_fix_properties import _body_lines, _real_rule_lines, check_properties
from tests.test_fix_properties import fixable_dockerfiles as rule_dockerfiles

EVERY_RULE = Settings(select=("DA",))
AMD64 = Platform.parse("linux/amd64")
ARM64 = Platform.parse("linux/arm64")
ARMV7 = Platform.parse("linux/arm/v7")


def budget(n: int) -> int:
    """``n`` examples, or the profile's count under ``--hypothesis-profile=long``."""
    current = settings.default
    if current is not None and settings.get_current_profile_name() == LONG:
        return current.max_examples
    return n


def bounded(n: int) -> settings:
    return settings(
        max_examples=budget(n), deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )


def check_all(text: str) -> None:
    result = check_text(text, EVERY_RULE)
    size = len(result.tree.text)
    for d in result.diagnostics:
        assert 0 <= d.span.start <= d.span.end <= size, d
        for edit in d.fix.edits if d.fix else ():
            if edit.path is None:
                assert 0 <= edit.span.start <= edit.span.end <= size, d


@bounded(300)
@given(texts)
def test_every_rule_survives_arbitrary_text(text: str) -> None:
    check_all(text)


@bounded(200)
@given(dockerfiles())
def test_every_rule_survives_generated_dockerfiles(text: str) -> None:
    check_all(text)


@bounded(150)
@given(rule_dockerfiles(st.one_of(_body_lines, _real_rule_lines)))
def test_every_rule_survives_what_every_rule_looks_for(text: str) -> None:
    check_all(text)


@bounded(150)
@given(st.one_of(texts, dockerfiles()))
def test_fixing_arbitrary_text_with_every_rule_settles(text: str) -> None:
    check_properties(text, "stages", ("DA",))


@bounded(300)
@given(texts, st.sampled_from([AMD64, ARM64, ARMV7]))
def test_render_refuses_or_renders_arbitrary_text(text: str, platform: Platform) -> None:
    try:
        out = render(text, platform)
    except RenderError:
        return
    assert parse(out).to_source() == out


@bounded(150)
@given(st.one_of(texts, dockerfiles()), st.one_of(texts, dockerfiles()))
def test_merge_refuses_or_merges_arbitrary_text(a: str, b: str) -> None:
    items = [MergeInput(AMD64, a, "a"), MergeInput(ARM64, b, "b")]
    try:
        out = merge(items)
    except (MergeError, RenderError):
        return
    assert parse(out).to_source() == out


# -- fix never loses data ----------------------------------------------------------------

UNDECLARED = "FROM alpine\nRUN echo $TARGETARCH\n"
FIXED = "FROM alpine\nARG TARGETARCH\nRUN echo $TARGETARCH\n"


def test_failing_rename_keeps_the_original_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.Dockerfile").write_text(UNDECLARED)
    (tmp_path / "b.Dockerfile").write_text(UNDECLARED)
    real = os.replace

    def replace(src: str, dst: str | os.PathLike[str]) -> None:
        if os.path.basename(dst) == "a.Dockerfile":
            raise OSError(28, "No space left on device")
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["fix", "--select", "DA110"]) == 2
    err = capsys.readouterr().err
    assert err == "dockerarch: a.Dockerfile: cannot write: no space left on device\n"
    assert (tmp_path / "a.Dockerfile").read_text() == UNDECLARED
    assert (tmp_path / "b.Dockerfile").read_text() == FIXED
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.Dockerfile", "b.Dockerfile"]


# The child stops between writing the temporary file and renaming it over the Dockerfile
# (after the fsync, before os.replace), says so, and waits to be killed.
_STALL = """
import os, sys, time
real = os.fsync
def stall(fd):
    real(fd)
    open(sys.argv[1], "w").close()
    time.sleep(600)
os.fsync = stall
from dockerarch import cli
sys.exit(cli.main(["fix", "--select", "DA110", "Dockerfile"]))
"""


def test_killed_mid_write_keeps_the_original(tmp_path: Path) -> None:
    original = UNDECLARED + "# padding to make the write large\n" * 6000
    (tmp_path / "Dockerfile").write_text(original)
    ready = tmp_path.parent / f"{tmp_path.name}.ready"
    child = subprocess.Popen([sys.executable, "-c", _STALL, str(ready)], cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert child.poll() is None, "fix ended before writing"
            assert time.monotonic() < deadline, "fix never reached the write"
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert (tmp_path / "Dockerfile").read_text() == original
    # A kill leaves the written temporary file: a dot file next to the Dockerfile,
    # with the whole fixed text, which discovery does not take for a Dockerfile.
    (leftover,) = [p for p in tmp_path.iterdir() if p.name != "Dockerfile"]
    assert leftover.name.startswith(".Dockerfile.") and leftover.name.endswith(".tmp")
    assert leftover.read_text().startswith(FIXED)
    r = subprocess.run(
        [sys.executable, "-m", "dockerarch", "check", "--select", "DA110", "--format", "json"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 1 and '"filename": "Dockerfile"' in r.stdout
    assert ".tmp" not in r.stdout + r.stderr
