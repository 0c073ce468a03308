"""DA701: source builds whose stage lacks the toolchain, headers or libraries they need."""

from __future__ import annotations

from pathlib import Path

import pytest
from dockerarch_rules import build_deps
from dockerarch_rules import python as py_rules

from dockerarch.diagnostics import Diagnostic
from dockerarch.engine import Result, Settings, check_text
from dockerarch.sourcebuilds import guarded


def check(dockerfile: str, context: Path | None = None, *, with_python: bool = False) -> Result:
    rules = (*build_deps.RULES, *(py_rules.RULES if with_python else ()))
    return check_text(dockerfile, Settings(), context_dir=context, rules=rules)


def only(dockerfile: str) -> Diagnostic:
    (d,) = check(dockerfile).diagnostics
    assert d.code == "DA701" and d.severity.value == "error"
    return d


def fixed(text: str, d: Diagnostic) -> str:
    assert d.fix is not None
    (edit,) = d.fix.edits
    return text[: edit.span.start] + edit.content + text[edit.span.end :]


AL2023 = """\
FROM amazonlinux:2023
RUN yum install -y nodejs
RUN npm install canvas@2.11.2
"""


def test_canvas_on_amazon_linux_needs_yum_packages_on_arm64_only() -> None:
    d = only(AL2023)
    assert d.platforms == ("linux/arm64",)
    assert AL2023[d.span.start : d.span.end] == "canvas@2.11.2"
    assert "gcc-c++ cairo-devel libjpeg-turbo-devel pango-devel giflib-devel" in d.message
    assert d.fix is not None and d.fix.applicability.value == "unsafe"
    assert fixed(AL2023, d) == (
        "FROM amazonlinux:2023\nRUN yum install -y nodejs\nARG TARGETARCH\n"
        'RUN if [ "$TARGETARCH" = "arm64" ]; then yum install -y gcc-c++ cairo-devel '
        "libjpeg-turbo-devel pango-devel giflib-devel make; fi\n"
        "RUN npm install canvas@2.11.2\n"
    )
    (variant,) = d.fix.variants
    run = "RUN npm install canvas@2.11.2\n"
    assert AL2023[variant.span.start : variant.span.end] == run
    by_arch = dict(variant.by_arch)
    assert by_arch["amd64"] == run
    assert by_arch["arm64"] == (
        "RUN yum install -y gcc-c++ cairo-devel libjpeg-turbo-devel pango-devel giflib-devel "
        "make\n" + run
    )
    # Applying the fix settles it.
    assert check(fixed(AL2023, d)).diagnostics == []


def test_dnf_when_the_stage_uses_dnf() -> None:
    d = only(AL2023.replace("yum install", "dnf install"))
    assert "dnf install -y gcc-c++" in fixed(AL2023.replace("yum install", "dnf install"), d)


def test_canvas_on_node_bookworm_needs_only_the_libraries() -> None:
    d = only("FROM node:20-bookworm\nRUN npm install canvas@2.11.2\n")
    assert d.platforms == ("linux/arm64",)
    assert d.message.endswith("install libcairo2-dev libpango1.0-dev libgif-dev librsvg2-dev")


def test_canvas_on_node_alpine_builds_everywhere_and_is_unguarded() -> None:
    text = "FROM node:20-alpine\nRUN npm install canvas@2.11.2\n"
    d = only(text)
    assert d.platforms == ("linux/amd64", "linux/arm64") and "musl" in d.message
    assert "build-base cairo-dev pango-dev jpeg-dev giflib-dev python3" in d.message
    assert d.fix is not None and d.fix.variants == ()
    assert fixed(text, d) == (
        "FROM node:20-alpine\n"
        "RUN apk add --no-cache build-base cairo-dev pango-dev jpeg-dev giflib-dev python3\n"
        "RUN npm install canvas@2.11.2\n"
    )


def test_sharp_with_prebuilt_platform_packages_builds_nothing() -> None:
    assert check("FROM amazonlinux:2023\nRUN npm install sharp@0.33.0\n").diagnostics == []


def test_build_from_source_builds_everywhere() -> None:
    text = "FROM node:20-bookworm-slim\nRUN npm install --build-from-source sqlite3@5.1.6\n"
    d = only(text)
    assert d.platforms == ("linux/amd64", "linux/arm64")
    assert "--build-from-source" in d.message and "python3" in d.message


UBUNTU_PIP = (
    "FROM ubuntu:20.04\n"
    "RUN apt-get update && apt-get install -y --no-install-recommends python3-pip\n"
)


def test_confluent_kafka_no_binary_on_ubuntu_both_platforms() -> None:
    text = UBUNTU_PIP + "RUN pip3 install --no-binary :all: confluent-kafka==2.0.2\n"
    d = only(text)
    assert d.platforms == ("linux/amd64", "linux/arm64")
    assert text[d.span.start : d.span.end] == "confluent-kafka==2.0.2"
    assert d.message.endswith("install build-essential python3-dev librdkafka-dev")


def test_numpy_with_build_deps_installed_keeps_da501_only() -> None:
    text = (
        "FROM ubuntu:20.04\nRUN apt-get update && apt-get install -y --no-install-recommends "
        "python3-pip build-essential python3-dev\nRUN pip3 install numpy==1.18.5\n"
    )
    codes = [d.code for d in check(text, with_python=True).diagnostics]
    assert codes == ["DA501"]


def test_installs_in_the_same_run_before_the_command_count() -> None:
    text = UBUNTU_PIP + (
        "RUN apt-get install -y build-essential python3-dev && pip3 install numpy==1.18.5\n"
    )
    assert check(text).diagnostics == []


def test_installs_after_the_command_do_not_count() -> None:
    text = UBUNTU_PIP + (
        "RUN pip3 install numpy==1.18.5 && apt-get install -y build-essential python3-dev\n"
    )
    d = only(text)
    assert d.platforms == ("linux/arm64",) and "build-essential python3-dev" in d.message


def test_install_guarded_for_another_arch_does_not_count() -> None:
    text = UBUNTU_PIP + (
        'ARG TARGETARCH\nRUN if [ "$TARGETARCH" = amd64 ]; then '
        "apt-get install -y build-essential python3-dev; fi\nRUN pip3 install numpy==1.18.5\n"
    )
    d = only(text)
    assert d.fix is not None
    assert fixed(text, d).count("ARG TARGETARCH") == 1  # already declared


def test_versioned_python_gets_its_own_headers() -> None:
    text = (
        "FROM ubuntu:22.04\nRUN apt-get update && apt-get install -y --no-install-recommends "
        "python3.11 python3-pip\nRUN python3.11 -m pip install --no-binary :all: psycopg2==2.9.9\n"
    )
    assert "python3.11-dev" in only(text).message


def test_requirements_file_points_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("flask==3.0.0\npsycopg2==2.9.9\n")
    text = "FROM python:3.11-slim\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n"
    (d,) = check(text, tmp_path).diagnostics
    assert d.external is not None and (d.external.line, d.external.column) == (2, 1)
    assert d.message.endswith("install build-essential libpq-dev")


def test_unknown_base_image_is_not_judged() -> None:
    result = check("FROM example.com/node:20\nRUN npm install canvas@2.11.2\n")
    assert result.diagnostics == []
    assert any("base image is not known" in n for n in result.notes)


@pytest.mark.parametrize(
    ("text", "packages"),
    [
        ("FROM debian:bookworm-slim\nRUN ./configure && make && make install\n", "build-essential"),
        ("FROM golang:1.22-alpine\nRUN CGO_ENABLED=1 go build -o /app ./cmd/app\n", "build-base"),
        (
            "FROM debian:bookworm-slim\nRUN gem install mysql2 --platform ruby\n",
            "build-essential default-libmysqlclient-dev",
        ),
        ("FROM ubuntu:22.04\nRUN cmake -S . -B build\n", "build-essential cmake"),
    ],
)
def test_build_tools(text: str, packages: str) -> None:
    d = only(text)
    assert d.platforms == ("linux/amd64", "linux/arm64")
    assert d.message.endswith(f"install {packages}")


@pytest.mark.parametrize(
    "text",
    [
        "FROM buildpack-deps:bookworm\nRUN ./configure && make && make install\n",
        "FROM golang:1.22-alpine\nRUN go build -o /app ./cmd/app\n",
        "FROM golang:1.22\nRUN CGO_ENABLED=1 go build -o /app ./cmd/app\n",
        "FROM ubuntu:22.04\nRUN cmake --build build\n",
        "FROM debian:bookworm-slim\nRUN gem install mysql2\n",
    ],
)
def test_build_tools_with_what_they_need_or_no_build(text: str) -> None:
    assert check(text).diagnostics == []


def test_guard_spelling() -> None:
    assert guarded(["arm64"], "x") == 'if [ "$TARGETARCH" = "arm64" ]; then x; fi'
    assert guarded(["arm64", "arm"], "x") == 'case "$TARGETARCH" in arm64|arm) x ;; esac'


@pytest.mark.parametrize(
    "text",
    [
        # The docker-library php idiom: the toolchain lives in an ENV list.
        "FROM debian:bookworm-slim\nENV PHPIZE_DEPS autoconf g++ gcc libc-dev make\n"
        "RUN apt-get install -y $PHPIZE_DEPS && ./configure && make\n",
        'FROM alpine:3.19\nARG BUILD_DEPS="build-base"\n'
        "RUN apk add --virtual .build-deps ${BUILD_DEPS} && ./configure && make\n",
        # A shell variable set earlier in the same script.
        "FROM debian:bookworm-slim\n"
        'RUN deps="gcc libc6-dev make"; apt-get install -y $deps; ./configure && make\n',
    ],
)
def test_package_lists_in_variables_are_followed(text: str) -> None:
    assert check(text).diagnostics == []


def test_package_list_from_an_unknown_variable_is_not_judged() -> None:
    # $DEPS may hold the compiler: no finding, and --verbose says why.
    text = "FROM debian:bookworm-slim\nRUN apt-get install -y $DEPS && ./configure && make\n"
    result = check(text)
    assert result.diagnostics == []
    assert any("variable dockerarch cannot follow" in n for n in result.notes)


def test_a_followed_variable_without_the_toolchain_still_counts() -> None:
    text = (
        "FROM debian:bookworm-slim\nENV RUNTIME_DEPS curl ca-certificates\n"
        "RUN apt-get install -y $RUNTIME_DEPS && ./configure && make\n"
    )
    assert only(text).message.endswith("install build-essential")


def test_a_pin_in_the_major_version_beats_installing_build_deps() -> None:
    # numpy 1.19.0 has arm64 wheels: DA501 pins it and DA701 stands back, so one
    # fix run does not both pin numpy and install a compiler for it.
    text = UBUNTU_PIP + "RUN pip3 install numpy==1.18.5\n"
    (pin,) = check(text, with_python=True).diagnostics
    assert pin.code == "DA501" and pin.fix is not None
    assert pin.fix.message == "Pin numpy to 1.19.0 on every platform"
    # Without DA501 running, DA701 reports the build and installs what it needs.
    assert "build-essential python3-dev" in only(text).message


def test_a_major_upgrade_gives_way_to_build_deps() -> None:
    # canvas-like case for Python: when only a new major version has wheels, DA701's
    # install keeps the tested version and DA501 offers no pin while DA701 runs.
    text = "FROM python:3.7-slim\nRUN pip install pandas==0.25.3\n"
    found = {d.code: d for d in check(text, with_python=True).diagnostics}
    assert "1.1.3 is the first version with wheels" in found["DA501"].message
    assert found["DA501"].fix is None
    fix = found["DA701"].fix
    assert fix is not None and "build-essential" in fix.edits[0].content
