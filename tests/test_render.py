"""``dockerarch render``: the build one platform sees, and comparing builds."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockerarch import cli
from dockerarch.platforms import Platform
from dockerarch.render import RenderError, equivalent, normalized, render
from dockerarch.syntax import parse
from tests.oracle import compare, needs_oracle
from tests.strategies import dockerfiles

# BuildKit's parser (tests/oracle.py) where its wheel installs.
HAVE_ORACLE = importlib.util.find_spec("dockerfile") is not None
AMD64 = Platform.parse("linux/amd64")
ARM64 = Platform.parse("linux/arm64")
ARMV7 = Platform.parse("linux/arm/v7")


def clean(text: str) -> None:
    """``text`` parses without errors, for us and (where installed) for BuildKit."""
    tree = parse(text)
    assert not tree.errors and not any(i.errors for i in tree.instructions), text
    if HAVE_ORACLE:
        compare(text)


STAGES = """\
# syntax=docker/dockerfile:1
ARG GO=1.22
FROM golang:${GO} AS build-amd64
RUN make amd64

FROM golang:${GO} AS build-arm64
RUN make arm64

# the image
FROM build-${TARGETARCH} AS build
COPY --from=build-${TARGETARCH} /out /out
"""


def test_stage_selection_keeps_reached_stages_and_resolves_the_reference() -> None:
    assert render(STAGES, ARM64) == (
        "# syntax=docker/dockerfile:1\n"
        "ARG GO=1.22\n"
        "FROM golang:${GO} AS build-arm64\n"
        "RUN make arm64\n"
        "\n"
        "# the image\n"
        "FROM build-arm64 AS build\n"
        "COPY --from=build-${TARGETARCH} /out /out\n"
    )


def test_copy_from_through_a_declared_arg_is_resolved() -> None:
    text = STAGES.replace("AS build\n", "AS build\nARG TARGETARCH\n")
    assert render(text, AMD64).endswith(
        "FROM build-amd64 AS build\nARG TARGETARCH\nCOPY --from=build-amd64 /out /out\n"
    )


def test_platform_independent_from_stays_verbatim() -> None:
    text = "ARG BASE=alpine:3.19\nFROM ${BASE}\nFROM $TARGETARCH/ubuntu\n"
    assert render(text, ARM64) == "ARG BASE=alpine:3.19\nFROM arm64/ubuntu\n"
    assert render("ARG BASE=alpine\nFROM ${BASE}\n", ARM64) == "ARG BASE=alpine\nFROM ${BASE}\n"


CONTINUED = """\
FROM debian:12
ARG TARGETARCH
RUN apt-get update && \\
    if [ "$TARGETARCH" = arm64 ]; then \\
      apt-get install -y libfoo; \\
    fi && \\
    rm -rf /var/lib/apt/lists/*
"""


def test_if_in_an_and_chain() -> None:
    assert render(CONTINUED, ARM64) == (
        "FROM debian:12\nARG TARGETARCH\n"
        "RUN apt-get update && \\\n"
        "    apt-get install -y libfoo && \\\n"
        "    rm -rf /var/lib/apt/lists/*\n"
    )
    assert render(CONTINUED, AMD64) == (
        "FROM debian:12\nARG TARGETARCH\n"
        "RUN apt-get update && \\\n    rm -rf /var/lib/apt/lists/*\n"
    )


@pytest.mark.parametrize(
    ("platform", "run"),
    [(AMD64, "RUN A=1; echo a\n"), (ARM64, "RUN echo b\n"), (ARMV7, "RUN echo other\n")],
)
def test_case_keeps_the_branch_taken(platform: Platform, run: str) -> None:
    text = (
        "FROM alpine\nARG TARGETARCH\n"
        'RUN case "$TARGETARCH" in amd64) A=1; echo a;;'
        " arm64|aarch64) echo b;; *) echo other;; esac\n"
    )
    assert render(text, platform) == "FROM alpine\nARG TARGETARCH\n" + run


def test_a_run_with_nothing_left_is_dropped() -> None:
    text = 'FROM alpine\nARG TARGETARCH\nRUN if [ "$TARGETARCH" = arm64 ]; then x; fi\nRUN y\n'
    assert render(text, ARM64) == "FROM alpine\nARG TARGETARCH\nRUN x\nRUN y\n"
    assert render(text, AMD64) == "FROM alpine\nARG TARGETARCH\nRUN y\n"


def test_values_are_what_buildkit_gives_the_run() -> None:
    run = 'RUN if [ "$TARGETARCH" = arm64 ]; then x; else y; fi\n'
    # Undeclared: the variable is unset in the RUN, whatever the platform.
    assert render("FROM alpine\n" + run, ARM64) == "FROM alpine\nRUN y\n"
    # A default overrides the platform's value.
    assert render("FROM alpine\nARG TARGETARCH=amd64\n" + run, ARM64).endswith("RUN y\n")
    # Declared in the stage it is built FROM.
    text = "FROM alpine AS base\nARG TARGETARCH\nFROM base\n" + run
    assert render(text, ARM64).endswith("FROM base\nRUN x\n")


def test_heredoc_script_keeps_the_body_indentation() -> None:
    text = (
        "FROM alpine\nARG TARGETARCH\nRUN <<EOF\nset -e\n"
        'if [ "$TARGETARCH" = amd64 ]; then\n  apk add a\n'
        'elif [ "$TARGETARCH" = arm64 ]; then\n  apk add b\n  echo two\n'
        "else\n  exit 1\nfi\necho done\nEOF\n"
    )
    head = "FROM alpine\nARG TARGETARCH\nRUN <<EOF\nset -e\n"
    assert render(text, ARM64) == head + "  apk add b\n  echo two\necho done\nEOF\n"
    assert render(text, ARMV7) == head + "  exit 1\necho done\nEOF\n"


@pytest.mark.parametrize(
    ("run", "arm64"),
    [
        # `||` binds differently from `&&`: the branch keeps its grouping.
        ('x || if [ "$TARGETARCH" = arm64 ]; then a && b; fi', "x || { a && b; }"),
        # A copy of TARGETARCH decides as well as TARGETARCH.
        ("A=$TARGETARCH; case $A in amd64) x;; esac; y", "A=$TARGETARCH; y"),
        # The running machine's answer is not the target's: kept.
        ('if [ "$(uname -m)" = x86_64 ]; then z; fi', 'if [ "$(uname -m)" = x86_64 ]; then z; fi'),
        # A condition with side effects is kept.
        (
            'if touch /f && [ "$TARGETARCH" = arm64 ]; then z; fi',
            'if touch /f && [ "$TARGETARCH" = arm64 ]; then z; fi',
        ),
        # After eval, nothing is known.
        ('eval "$X"; if [ "$TARGETARCH" = arm64 ]; then z; fi', None),
        # A variable a loop reassigns is unknown inside the loop.
        ("A=$TARGETARCH; for i in 1 2; do case $A in arm64) z;; esac; A=x; done", None),
        # Branches of an undecided if are still pruned inside.
        (
            'if [ -f /x ]; then case "$TARGETARCH" in arm64) a;; *) b;; esac; fi',
            "if [ -f /x ]; then a; fi",
        ),
        # A redirected if keeps its redirection.
        ('if [ "$TARGETARCH" = arm64 ]; then a; fi > /log', "a > /log"),
        ('if [ "$TARGETARCH" = amd64 ]; then a; fi > /log', "true > /log"),
    ],
)
def test_script_pruning(run: str, arm64: str | None) -> None:
    text = f"FROM alpine\nARG TARGETARCH\nRUN {run}\n"
    out = render(text, ARM64)
    assert out == (text if arm64 is None else f"FROM alpine\nARG TARGETARCH\nRUN {arm64}\n")
    clean(out)


def test_target_builds_that_stage() -> None:
    text = "FROM alpine AS a\nRUN a\nFROM alpine AS b\nRUN b\nFROM a\nRUN c\n"
    assert render(text, ARM64, target="b") == "FROM alpine AS b\nRUN b\n"
    assert render(text, ARM64) == "FROM alpine AS a\nRUN a\nFROM a\nRUN c\n"
    with pytest.raises(RenderError, match="no stage named 'nope'"):
        render(text, ARM64, target="nope")


@pytest.mark.parametrize(
    ("text", "message"),
    [("FROM alpine\nENV X\n", "line 2: ENV must have two arguments"), ("# x\n", "no instructions")],
)
def test_unbuildable_files_raise(text: str, message: str) -> None:
    with pytest.raises(RenderError, match=message):
        render(text, ARM64)


def test_normalized_ignores_comments_whitespace_and_stage_splits() -> None:
    one = "FROM ubuntu\nRUN  apt-get   update\n# c\nrun make\nCOPY --from=0 /a /b\n"
    split = (
        "FROM ubuntu AS base-amd64\n\n# comment\nRUN apt-get update\n"
        "FROM base-amd64 AS base\nRUN \\\n  make\nCOPY --from=base-amd64 /a /b\n"
    )
    assert normalized(one) == [
        "FROM ubuntu AS #0",
        "RUN apt-get update",
        "RUN make",
        "COPY --from=#0 /a /b",
    ]
    assert not equivalent(one, split)  # base-amd64 is also copied from: not a mere split
    assert equivalent(one.replace("--from=0", "--from=x"), split.replace("=base-amd64", "=x"))
    assert not equivalent(one, one.replace("make", "make all"))


def test_unused_global_args_do_not_count() -> None:
    assert equivalent("ARG A=1\nFROM x\n", "FROM x\n")
    assert not equivalent("ARG A=1\nFROM x:$A\n", "ARG A=2\nFROM x:$A\n")


# -- properties -------------------------------------------------------------------


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dockerfiles(), st.sampled_from([AMD64, ARM64, ARMV7]))
def test_render_never_crashes(text: str, platform: Platform) -> None:
    try:
        out = render(text, platform)
    except RenderError:
        return
    clean(out)


_tests = st.sampled_from(
    [
        '[ "$TARGETARCH" = amd64 ]',
        '[ "$TARGETARCH" = "arm64" ]',
        '[ "$TARGETARCH" != arm64 ]',
        '[ "$TARGETARCH" = arm ]',
        'test "$TARGETPLATFORM" = linux/arm/v7',
        '[ "$TARGETARCH" = arm64 ] || [ "$TARGETARCH" = arm ]',
        '[ -n "$TARGETARCH" ]',
        '[ "$A" = amd64 ]',
    ]
)


@st.composite
def scripts(draw: st.DrawFn, depth: int = 0) -> str:
    """Shell built from numbered echos and arch branches, to run and compare."""
    counter = draw(st.shared(st.builds(lambda: [0]), key="counter"))

    def echo() -> str:
        counter[0] += 1
        return f"echo {counter[0]}"

    kinds = ["echo", "assign"] + (["if", "case", "andor"] if depth < 2 else [])
    parts: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(kinds))
        if kind == "echo":
            parts.append(echo())
        elif kind == "assign":
            parts.append(draw(st.sampled_from(["A=$TARGETARCH", "A=x", "A=amd64"])))
        elif kind == "if":
            clauses = draw(st.integers(1, 3))
            text = f"if {draw(_tests)}; then {draw(scripts(depth + 1))}; "
            for _ in range(clauses - 1):
                text += f"elif {draw(_tests)}; then {draw(scripts(depth + 1))}; "
            if draw(st.booleans()):
                text += f"else {draw(scripts(depth + 1))}; "
            parts.append(text + "fi")
        elif kind == "case":
            subject = draw(st.sampled_from(['"$TARGETARCH"', "$TARGETARCH", '"$A"']))
            items = draw(
                st.lists(
                    st.sampled_from(["amd64", "arm64", "arm64|aarch64", "arm*", "*"]),
                    min_size=1,
                    max_size=3,
                )
            )
            body = " ".join(f"{p}) {draw(scripts(depth + 1))};;" for p in items)
            parts.append(f"case {subject} in {body} esac")
        else:
            op = draw(st.sampled_from(["&&", "||"]))
            parts.append(f"{draw(scripts(depth + 1))} {op} {draw(scripts(depth + 1))}")
    if depth > 0:
        return parts[0] if len(parts) == 1 else "{ " + "; ".join(parts) + "; }"
    return draw(st.sampled_from(["; ", "\n"])).join(parts)


def _run(script: str, platform: Platform) -> tuple[int, str]:
    sh = shutil.which("sh")
    assert sh is not None
    env = {"PATH": "/usr/bin:/bin", **platform.args()}
    r = subprocess.run([sh, "-c", script], capture_output=True, text=True, env=env, check=False)
    return r.returncode, r.stdout


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX shell")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scripts(), st.sampled_from([AMD64, ARM64, ARMV7]), st.booleans())
def test_pruned_scripts_do_what_the_original_does(
    script: str, platform: Platform, heredoc: bool
) -> None:
    if heredoc:
        text = f"FROM alpine\nARG TARGETARCH TARGETPLATFORM\nRUN <<EOF\n{script}\nEOF\n"
    else:
        text = f"FROM alpine\nARG TARGETARCH TARGETPLATFORM\nRUN {script.replace(chr(10), '; ')}\n"
    out = render(text, platform)
    clean(out)
    runs = [i for i in parse(out).instructions if i.name == "RUN"]
    original = next(i for i in parse(text).instructions if i.name == "RUN")
    want = _run(original.heredocs[0].body if heredoc else original.args, platform)
    if not runs:
        assert want == (0, ""), (script, want)
        return
    got = _run(runs[0].heredocs[0].body if heredoc else runs[0].args, platform)
    assert got == want, (script, out)


# -- command line -------------------------------------------------------------------


def test_cli_render(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "Dockerfile").write_text(STAGES)
    code = cli.main(["render", "--platform", "linux/arm64", str(tmp_path / "Dockerfile")])
    assert (code, capsys.readouterr().out) == (0, render(STAGES, ARM64))


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "cannot read: no such file or directory"),
        ("FROM a\nENV X\n", "cannot render: line 2: ENV must have two arguments"),
        (b"FROM a\n\xff\n", "not valid UTF-8"),
    ],
)
def test_cli_render_bad_input_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | bytes | None, problem: str
) -> None:
    path = tmp_path / "Dockerfile"
    if isinstance(content, str):
        path.write_text(content)
    elif content is not None:
        path.write_bytes(content)
    code = cli.main(["render", "--platform", "linux/arm64", str(path)])
    captured = capsys.readouterr()
    assert (code, captured.out) == (2, "")
    assert captured.err.count("\n") == 1
    assert captured.err.startswith(f"dockerarch: {path}: {problem}")


def test_cli_render_bad_platform(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["render", "--platform", "linux/", "x"]) == 2
    assert capsys.readouterr().err.startswith("dockerarch: --platform: not a platform")


@needs_oracle
def test_examples_parse_with_buildkit() -> None:
    for text in (STAGES, CONTINUED):
        for platform in (AMD64, ARM64, ARMV7):
            compare(render(text, platform))


def test_dropping_a_stage_never_turns_comments_into_parser_directives() -> None:
    text = "FROM a AS unused\n# syntax=docker/dockerfile:1\n# escape=`\nFROM b\nRUN x\n"
    out = render(text, AMD64)
    assert parse(out).escape == "\\" and not parse(out).errors
    assert out == "\n# syntax=docker/dockerfile:1\n# escape=`\nFROM b\nRUN x\n"
    kept = "# syntax=docker/dockerfile:1\nFROM a AS unused\n# escape=`\nFROM b\n"
    assert render(kept, AMD64) == "# syntax=docker/dockerfile:1\n\n# escape=`\nFROM b\n"
