"""``dockerarch merge``: per-platform Dockerfiles into one."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockerarch import cli
from dockerarch.merge import MergeError, MergeInput, merge
from dockerarch.platforms import Platform
from dockerarch.render import equivalent, render
from dockerarch.syntax import parse
from tests.oracle import compare

# BuildKit's parser (tests/oracle.py) where its wheel installs.
HAVE_ORACLE = importlib.util.find_spec("dockerfile") is not None
AMD64 = Platform.parse("linux/amd64")
ARM64 = Platform.parse("linux/arm64")
ARMV7 = Platform.parse("linux/arm/v7")
ARMV6 = Platform.parse("linux/arm/v6")


def inputs(*pairs: tuple[Platform, str]) -> list[MergeInput]:
    return [MergeInput(p, text, f"Dockerfile.{p.arch}{p.variant}") for p, text in pairs]


def check(merged: str, items: list[MergeInput]) -> None:
    """The merge builds every input, and parses for us and for BuildKit."""
    tree = parse(merged)
    assert not tree.errors and not any(i.errors for i in tree.instructions), merged
    if HAVE_ORACLE:
        compare(merged)
    for item in items:
        assert equivalent(render(merged, item.platform), render(item.text, item.platform)), (
            item.platform,
            merged,
        )


AMD = """\
ARG VERSION=1.0
FROM golang:1.22 AS build
WORKDIR /src
COPY . .
RUN go build -o /app

# runtime
FROM amd64/ubuntu:22.04
RUN apt-get update
RUN apt-get install -y libfoo
COPY --from=build /app /app
CMD ["/app"]
"""
ARM = (
    AMD.replace("amd64/ubuntu", "arm64v8/ubuntu")
    .replace("go build", "GOARCH=arm64 go build")
    .replace("libfoo", "libfoo libbar")
)


def test_two_platforms() -> None:
    items = inputs((AMD64, AMD), (ARM64, ARM))
    merged = merge(items)
    assert merged == (
        "ARG VERSION=1.0\n"
        "FROM golang:1.22 AS build-shared\n"
        "WORKDIR /src\n"
        "COPY . .\n"
        "\n"
        "FROM build-shared AS build-amd64\n"
        "RUN go build -o /app\n"
        "\n"
        "FROM build-shared AS build-arm64\n"
        "RUN GOARCH=arm64 go build -o /app\n"
        "\n"
        "FROM build-${TARGETARCH} AS build\n"
        "\n"
        "# runtime\n"
        "FROM amd64/ubuntu:22.04 AS final-1-amd64\n"
        "\n"
        "# runtime\n"
        "FROM arm64v8/ubuntu:22.04 AS final-1-arm64\n"
        "\n"
        "FROM final-1-${TARGETARCH} AS final-1\n"
        "RUN apt-get update\n"
        "\n"
        "FROM final-1 AS final-2-amd64\n"
        "RUN apt-get install -y libfoo\n"
        "\n"
        "FROM final-1 AS final-2-arm64\n"
        "RUN apt-get install -y libfoo libbar\n"
        "\n"
        "FROM final-2-${TARGETARCH}\n"
        "COPY --from=build /app /app\n"
        'CMD ["/app"]\n'
    )
    check(merged, items)


def test_identical_files_merge_to_the_first() -> None:
    items = inputs((AMD64, AMD), (ARM64, AMD.replace("COPY . .", "COPY  .  .")))
    assert merge(items) == AMD


def test_arm_variants_share_an_arch() -> None:
    items = inputs(
        (AMD64, AMD),
        (ARMV7, AMD.replace("amd64/", "arm32v7/")),
        (ARMV6, AMD.replace("amd64/", "arm32v6/")),
    )
    merged = merge(items)
    assert "FROM final-${TARGETARCH}${TARGETVARIANT}\n" in merged
    assert "FROM arm32v6/ubuntu:22.04 AS final-armv6\n" in merged
    assert "AS final-amd64\n" in merged
    check(merged, items)


def test_arm_v7_alone_is_named_by_its_arch() -> None:
    items = inputs((AMD64, AMD), (ARM64, ARM), (ARMV7, AMD.replace("amd64/", "arm32v7/")))
    merged = merge(items)
    assert "FROM arm32v7/ubuntu:22.04 AS final-1-arm\n" in merged
    check(merged, items)


def test_a_stage_only_one_file_has_is_copied() -> None:
    amd = "FROM alpine AS tools\nRUN make tools\nFROM alpine\nCOPY --from=tools /t /t\nRUN x\n"
    arm = "FROM alpine\nRUN x\n"
    items = inputs((AMD64, amd), (ARM64, arm))
    merged = merge(items)
    assert merged.startswith("FROM alpine AS tools\nRUN make tools\n")
    check(merged, items)


def test_generated_names_avoid_existing_stages() -> None:
    amd = "FROM alpine AS app-amd64\nRUN a\nFROM alpine AS app\nRUN x\n"
    arm = "FROM alpine AS app-amd64\nRUN a\nFROM alpine AS app\nRUN y\n"
    items = inputs((AMD64, amd), (ARM64, arm))
    merged = merge(items)
    assert "FROM app-2-${TARGETARCH} AS app\n" in merged
    check(merged, items)


@pytest.mark.parametrize(
    ("amd", "arm", "problem"),
    [
        ("ARG V=1\nFROM a:$V\n", "ARG V=2\nFROM a:$V\n", "global ARG V differs"),
        ("FROM a\n", "# escape=`\nFROM a\n", "different escape characters"),
        ("FROM a AS x\nFROM a\nCOPY --from=0 / /\n", "FROM a\n", "numeric stage reference '0'"),
        ("FROM a AS x\nFROM a AS y\nFROM a\n", "FROM a AS y\nFROM a AS x\nFROM a\n", "order"),
        ("FROM a\nENV X\n", "FROM a\n", "ENV must have two arguments"),
    ],
)
def test_unsupported_inputs(amd: str, arm: str, problem: str) -> None:
    with pytest.raises(MergeError, match=problem):
        merge(inputs((AMD64, amd), (ARM64, arm)))


def test_global_args_only_one_file_declares_are_kept() -> None:
    amd = "ARG A=1\nFROM x:$A\n"
    arm = "ARG B=2\nFROM y:$B\n"
    items = inputs((AMD64, amd), (ARM64, arm))
    merged = merge(items)
    assert merged.startswith("ARG A=1\nARG B=2\n")
    check(merged, items)


# -- properties -------------------------------------------------------------------

_images = st.sampled_from(
    ["ubuntu:22.04", "amd64/ubuntu:22.04", "arm64v8/ubuntu:22.04", "alpine:3.19", "golang:1.22"]
)
_body = st.sampled_from(
    [
        "RUN apt-get update",
        "RUN make",
        "RUN make install && rm -rf /tmp/*",
        "COPY . /src",
        "WORKDIR /src",
        "ENV A=1",
        "ARG TARGETARCH",
        "ARG VERSION=2",
        "RUN echo $VERSION",
        'RUN if [ "$TARGETARCH" = arm64 ]; then apt-get install -y foo; fi',
        'RUN case "$TARGETARCH" in amd64) echo a;; *) echo b;; esac',
        'CMD ["/app"]',
        "# a comment",
        "",
    ]
)


@st.composite
def dockerfile_stages(draw: st.DrawFn) -> list[tuple[str, list[str]]]:
    """Stages as (FROM line, body lines); earlier stages are named and may be copied from."""
    n = draw(st.integers(1, 3))
    stages: list[tuple[str, list[str]]] = []
    for i in range(n):
        image = draw(_images)
        if i and draw(st.booleans()):
            image = f"s{draw(st.integers(0, i - 1))}"
        name = f" AS s{i}" if i < n - 1 or draw(st.booleans()) else ""
        body = draw(st.lists(_body, max_size=5))
        if i and draw(st.booleans()):
            body.append(f"COPY --from=s{draw(st.integers(0, i - 1))} /out /out")
        stages.append((f"FROM {image}{name}", body))
    return stages


@st.composite
def mutated(draw: st.DrawFn, stages: list[tuple[str, list[str]]]) -> list[tuple[str, list[str]]]:
    """The same build with some changes: another FROM, added, dropped or changed lines."""
    out: list[tuple[str, list[str]]] = []
    for from_, body in stages:
        body = list(body)
        if draw(st.booleans()):
            _, _, name = from_.partition(" AS ")
            from_ = f"FROM {draw(_images)}" + (f" AS {name}" if name else "")
        for _ in range(draw(st.integers(0, 3))):
            op = draw(st.sampled_from(["insert", "delete", "change"]))
            at = draw(st.integers(0, len(body)))
            if op == "insert":
                body.insert(at, draw(_body))
            elif body and at < len(body):
                if op == "delete":
                    del body[at]
                else:
                    body[at] = (
                        body[at] + " --changed" if body[at].startswith("RUN") else draw(_body)
                    )
        out.append((from_, body))
    return out


def text_of(stages: list[tuple[str, list[str]]], prologue: str) -> str:
    lines = [prologue] if prologue else []
    for from_, body in stages:
        lines.append(from_)
        lines.extend(body)
    return "\n".join(lines) + "\n"


@st.composite
def families(draw: st.DrawFn) -> list[MergeInput]:
    base = draw(dockerfile_stages())
    prologue = draw(st.sampled_from(["", "ARG VERSION=1", "# syntax=docker/dockerfile:1"]))
    platforms = draw(st.sampled_from([[AMD64, ARM64], [AMD64, ARM64, ARMV7], [ARMV7, ARMV6]]))
    texts = [text_of(base, prologue)]
    texts += [text_of(draw(mutated(base)), prologue) for _ in platforms[1:]]
    return inputs(*zip(platforms, texts, strict=True))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(families())
def test_merge_renders_back_to_each_input(items: list[MergeInput]) -> None:
    check(merge(items), items)


# -- command line -------------------------------------------------------------------


def test_cli_merge_writes_the_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "Dockerfile").write_text(AMD)
    (tmp_path / "Dockerfile.aarch64").write_text(ARM)
    args = ["merge", "--amd64", str(tmp_path / "Dockerfile")]
    args += ["--arm64", str(tmp_path / "Dockerfile.aarch64")]
    assert cli.main([*args, "-o", str(tmp_path / "out")]) == 0
    assert capsys.readouterr() == ("", "")
    want = merge(inputs((AMD64, AMD), (ARM64, ARM)))
    assert (tmp_path / "out").read_text() == want
    assert cli.main(args) == 0
    assert capsys.readouterr().out == want


def test_cli_merge_more_platforms(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a").write_text(AMD)
    (tmp_path / "b").write_text(AMD.replace("amd64/", "arm32v7/"))
    args = ["merge", "--amd64", str(tmp_path / "a"), "--platform", f"linux/arm/v7={tmp_path / 'b'}"]
    assert cli.main(args) == 0
    assert "AS final-arm\n" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--amd64", "{a}"], "merge needs two Dockerfiles or more"),
        (["--amd64", "{a}", "--arm64", "{missing}"], "{missing}: cannot read: no such file"),
        (["--amd64", "{a}", "--arm64", "{bad}"], "{bad}: line 2: ENV must have two arguments"),
        (["--amd64", "{a}", "--platform", "linux/amd64={a}"], "a platform is given twice"),
        (["--amd64", "{a}", "--platform", "linux/arm64"], "--platform: expected PLATFORM=FILE"),
    ],
)
def test_cli_merge_errors_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], problem: str
) -> None:
    (tmp_path / "a").write_text(AMD)
    (tmp_path / "bad").write_text("FROM a\nENV X\n")
    names = {k: str(tmp_path / k) for k in ("a", "bad", "missing")}
    code = cli.main(["merge", *(a.format(**names) for a in args)])
    captured = capsys.readouterr()
    assert (code, captured.out) == (2, "")
    assert captured.err.count("\n") == 1
    assert captured.err.startswith(f"dockerarch: {problem.format(**names)}")
