"""The acceptance examples of the fixer issue, through ``dockerarch fix --unsafe-fixes``.

Each runs the installed command line in a subprocess in a temporary
directory with every rule loaded, then reads what it wrote.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dockerarch.platforms import Platform
from dockerarch.render import render
from tests.oracle import compare, needs_oracle
from tests.test_fix_faithfulness import assert_faithful, build

AMD64 = Platform("linux", "amd64")
ARM64 = Platform("linux", "arm64")
DEPS = "gcc-c++ cairo-devel libjpeg-turbo-devel pango-devel giflib-devel"

CANVAS = """\
FROM amazonlinux:2023
RUN yum install -y nodejs
WORKDIR /app
RUN npm install canvas@2.11.2
COPY . .
CMD ["node", "index.js"]
"""


def fix(tmp_path: Path, source: str, *args: str) -> tuple[str, subprocess.CompletedProcess[str]]:
    path = tmp_path / "Dockerfile"
    path.write_text(source)
    run = subprocess.run(
        [sys.executable, "-m", "dockerarch", "fix", "--unsafe-fixes", "--show-fixes", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode in (0, 1), run.stderr
    return path.read_text(), run


def test_canvas_on_amazon_linux_gets_an_arm64_stage_with_build_deps(tmp_path: Path) -> None:
    fixed, run = fix(tmp_path, CANVAS)
    assert "DA701" in run.stdout and "DA601" not in run.stdout.split("Fixed", 1)[-1]
    stages = fixed.split("\n\n")
    assert (
        stages[0]
        == "FROM amazonlinux:2023 AS stage-0-base\nRUN yum install -y nodejs\nWORKDIR /app"
    )
    assert stages[1] == "FROM stage-0-base AS stage-0-amd64\nRUN npm install canvas@2.11.2"
    arm = stages[2].splitlines()
    assert arm[0] == "FROM stage-0-base AS stage-0-arm64"
    assert arm[1].startswith(f"RUN yum install -y {DEPS}")
    assert arm[2:] == ["RUN npm install canvas@2.11.2"]
    assert stages[3].startswith("FROM stage-0-${TARGETARCH}\nCOPY . .\n")

    arm_render = render(fixed, ARM64)
    assert arm_render.index(f"yum install -y {DEPS}") < arm_render.index("npm install canvas")
    assert build(fixed, AMD64) == build(CANVAS, AMD64)
    # Fixing the result again changes nothing.
    again, _ = fix(tmp_path, fixed)
    assert again == fixed


def test_canvas_inline_keeps_the_version_and_guards_the_deps(tmp_path: Path) -> None:
    fixed, _ = fix(tmp_path, CANVAS, "--style", "inline")
    assert "canvas@2.11.2" in fixed and "canvas@3" not in fixed
    assert f'if [ "$TARGETARCH" = "arm64" ]; then yum install -y {DEPS}' in fixed
    assert build(fixed, AMD64) == build(CANVAS, AMD64)
    assert_faithful(CANVAS, "inline")


def test_canvas_pin_is_offered_when_build_deps_are_not_checked(tmp_path: Path) -> None:
    """Without DA701 the newer version is the only fix, and says it changes every platform."""
    fixed, run = fix(tmp_path, CANVAS, "--select", "DA601")
    assert "npm install canvas@3.1.1\n" in fixed
    assert "1 × DA601" in run.stdout


GO_DOWNLOAD = """\
FROM debian:bookworm-slim
RUN curl -fsSLO https://go.dev/dl/go1.22.0.linux-amd64.tar.gz \\
 && tar -C /usr/local -xzf go1.22.0.linux-amd64.tar.gz
"""

GO_TAGS = """\
FROM golang:1.22
WORKDIR /src
COPY . .
RUN go test -tags amd64 -v ./...
"""


def test_go_download_uses_targetarch_inline(tmp_path: Path) -> None:
    fixed, run = fix(tmp_path, GO_DOWNLOAD, "--style", "inline")
    assert "DA301" in run.stdout
    assert "go1.22.0.linux-${TARGETARCH}.tar.gz" in fixed
    assert fixed.count("ARG TARGETARCH\n") == 1
    assert build(fixed, AMD64) == build(GO_DOWNLOAD, AMD64)
    assert "linux-arm64.tar.gz" in " ".join(build(fixed, ARM64))


def test_go_download_in_stages(tmp_path: Path) -> None:
    fixed, _ = fix(tmp_path, GO_DOWNLOAD)
    assert build(fixed, AMD64) == build(GO_DOWNLOAD, AMD64)
    arm = " ".join(build(fixed, ARM64))
    assert "go1.22.0.linux-arm64.tar.gz" in arm and "linux-amd64" not in arm


@pytest.mark.parametrize("style", ["stages", "inline"])
def test_go_test_tags(tmp_path: Path, style: str) -> None:
    fixed, run = fix(tmp_path, GO_TAGS, "--style", style)
    assert "DA402" in run.stdout
    assert build(fixed, AMD64) == build(GO_TAGS, AMD64)
    arm = " ".join(build(fixed, ARM64))
    assert "go test -tags arm64 -v ./..." in arm and "-tags amd64" not in arm
    if style == "inline":
        assert "go test -tags ${TARGETARCH} -v ./..." in fixed
        assert fixed.count("ARG TARGETARCH\n") == 1


@needs_oracle
@pytest.mark.parametrize("source", [CANVAS, GO_DOWNLOAD, GO_TAGS])
@pytest.mark.parametrize("style", ["stages", "inline"])
def test_buildkit_parses_the_results(tmp_path: Path, source: str, style: str) -> None:
    fixed, _ = fix(tmp_path, source, "--style", style)
    compare(fixed)
