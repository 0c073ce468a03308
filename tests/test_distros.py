"""Base-image facts: distro, release, package manager, libc, Python and toolchain."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockerarch.knowledge.distros import (
    PYTHON_TOOLS,
    BaseEnv,
    base_environment,
    python_from_install,
    python_from_tool,
    snapshot_date,
)

# image, distro, release, package manager, libc, libc version, python, apt_python, compiler
IMAGES = [
    ("python:3.12-slim", "debian", "trixie", "apt", "glibc", (2, 41), (3, 12), (3, 13), False),
    (
        "python:3.12-slim-bookworm",
        "debian",
        "bookworm",
        "apt",
        "glibc",
        (2, 36),
        (3, 12),
        (3, 11),
        False,
    ),
    ("python:3.11-bullseye", "debian", "bullseye", "apt", "glibc", (2, 31), (3, 11), (3, 9), True),
    ("python:3.8", "debian", "bookworm", "apt", "glibc", (2, 36), (3, 8), (3, 11), True),
    ("python:3", "debian", "trixie", "apt", "glibc", (2, 41), (3, 14), (3, 13), True),
    ("python", "debian", "trixie", "apt", "glibc", (2, 41), (3, 14), (3, 13), True),
    ("python:3.12-alpine3.19", "alpine", "3.19", "apk", "musl", (1, 2), (3, 12), (3, 11), False),
    ("python:3.10.14-alpine", "alpine", "3.24", "apk", "musl", (1, 2), (3, 10), (3, 14), False),
    (
        "docker.io/library/ubuntu:20.04",
        "ubuntu",
        "20.04",
        "apt",
        "glibc",
        (2, 31),
        None,
        (3, 8),
        False,
    ),
    ("ubuntu:jammy", "ubuntu", "22.04", "apt", "glibc", (2, 35), None, (3, 10), False),
    ("ubuntu:24.04", "ubuntu", "24.04", "apt", "glibc", (2, 39), None, (3, 12), False),
    ("ubuntu:18.04", "ubuntu", "18.04", "apt", "glibc", (2, 27), None, (3, 6), False),
    ("ubuntu:focal-20240123", "ubuntu", "20.04", "apt", "glibc", (2, 31), None, (3, 8), False),
    ("amazonlinux:2", "amzn", "2", "yum", "glibc", (2, 26), None, (3, 7), False),
    ("amazonlinux:2023", "amzn", "2023", "dnf", "glibc", (2, 34), (3, 9), (3, 9), False),
    ("amazonlinux", "amzn", "2023", "dnf", "glibc", (2, 34), (3, 9), (3, 9), False),
    (
        "public.ecr.aws/amazonlinux/amazonlinux:2023",
        "amzn",
        "2023",
        "dnf",
        "glibc",
        (2, 34),
        (3, 9),
        (3, 9),
        False,
    ),
    (
        "registry.access.redhat.com/ubi9/ubi-minimal",
        "rhel",
        "9",
        "microdnf",
        "glibc",
        (2, 34),
        None,
        (3, 9),
        False,
    ),
    (
        "registry.access.redhat.com/ubi8/ubi:8.9",
        "rhel",
        "8",
        "dnf",
        "glibc",
        (2, 28),
        None,
        (3, 6),
        False,
    ),
    ("redhat/ubi9", "rhel", "9", "dnf", "glibc", (2, 34), (3, 9), (3, 9), False),
    ("rockylinux:9", "rocky", "9", "dnf", "glibc", (2, 34), (3, 9), (3, 9), False),
    ("rockylinux:9-minimal", "rocky", "9", "microdnf", "glibc", (2, 34), None, (3, 9), False),
    ("almalinux:8", "alma", "8", "dnf", "glibc", (2, 28), None, (3, 6), False),
    ("alpine:3.18", "alpine", "3.18", "apk", "musl", (1, 2), None, (3, 11), False),
    ("alpine:3.12.4", "alpine", "3.12", "apk", "musl", (1, 1), None, (3, 8), False),
    ("alpine:3.16", "alpine", "3.16", "apk", "musl", (1, 2), None, (3, 10), False),
    ("node:20-alpine", "alpine", "3.23", "apk", "musl", (1, 2), None, (3, 12), False),
    ("node:20-bookworm", "debian", "bookworm", "apt", "glibc", (2, 36), (3, 11), (3, 11), True),
    ("node:20", "debian", "bookworm", "apt", "glibc", (2, 36), (3, 11), (3, 11), True),
    ("node:20.11.1-slim", "debian", "bookworm", "apt", "glibc", (2, 36), None, (3, 11), False),
    ("node:26", "debian", "trixie", "apt", "glibc", (2, 41), (3, 13), (3, 13), True),
    ("node:16-bullseye-slim", "debian", "bullseye", "apt", "glibc", (2, 31), None, (3, 9), False),
    ("node:lts", "debian", "bookworm", "apt", "glibc", (2, 36), (3, 11), (3, 11), True),
    ("golang:1.22", "debian", "bookworm", "apt", "glibc", (2, 36), None, (3, 11), True),
    ("golang:1.24.3", "debian", "trixie", "apt", "glibc", (2, 41), None, (3, 13), True),
    ("golang:1.22-alpine", "alpine", "3.21", "apk", "musl", (1, 2), None, (3, 12), False),
    ("debian:bullseye-slim", "debian", "bullseye", "apt", "glibc", (2, 31), None, (3, 9), False),
    ("debian:12.5", "debian", "bookworm", "apt", "glibc", (2, 36), None, (3, 11), False),
    ("debian:buster", "debian", "buster", "apt", "glibc", (2, 28), None, (3, 7), False),
    ("debian", "debian", "trixie", "apt", "glibc", (2, 41), None, (3, 13), False),
    ("buildpack-deps:jammy", "ubuntu", "22.04", "apt", "glibc", (2, 35), (3, 10), (3, 10), True),
    (
        "buildpack-deps:bookworm-curl",
        "debian",
        "bookworm",
        "apt",
        "glibc",
        (2, 36),
        None,
        (3, 11),
        False,
    ),
    ("eclipse-temurin:17-jammy", "ubuntu", "22.04", "apt", "glibc", (2, 35), None, (3, 10), False),
    (
        "eclipse-temurin:21-jre-noble",
        "ubuntu",
        "24.04",
        "apt",
        "glibc",
        (2, 39),
        None,
        (3, 12),
        False,
    ),
    ("ruby:3.2-alpine", "alpine", "3.23", "apk", "musl", (1, 2), None, (3, 12), False),
    ("ruby:3.1", "debian", "bookworm", "apt", "glibc", (2, 36), (3, 11), (3, 11), True),
    ("rust:1.75.0-slim", "debian", "bookworm", "apt", "glibc", (2, 36), None, (3, 11), True),
    ("php:8.2-fpm-alpine3.19", "alpine", "3.19", "apk", "musl", (1, 2), None, (3, 11), False),
    ("php:8.0-apache", "debian", "bullseye", "apt", "glibc", (2, 31), None, (3, 9), False),
    ("centos:7", "centos", "7", "yum", "glibc", (2, 17), None, (3, 6), False),
    (
        "quay.io/centos/centos:stream9",
        "centos",
        "9",
        "dnf",
        "glibc",
        (2, 34),
        (3, 9),
        (3, 9),
        False,
    ),
    ("fedora:39", "fedora", "39", "dnf", "glibc", (2, 38), (3, 12), (3, 12), False),
    ("oraclelinux:8-slim", "ol", "8", "microdnf", "glibc", (2, 28), None, (3, 6), False),
    ("opensuse/leap:15.5", "opensuse", "15.5", "zypper", "glibc", (2, 31), None, (3, 6), False),
    (
        "gcr.io/distroless/python3-debian12",
        "distroless",
        "debian12",
        None,
        "glibc",
        (2, 36),
        (3, 11),
        None,
        False,
    ),
    (
        "gcr.io/distroless/static-debian12:nonroot",
        "distroless",
        "debian12",
        None,
        None,
        None,
        None,
        None,
        False,
    ),
    ("scratch", "scratch", None, None, None, None, None, None, False),
    ("busybox", "busybox", None, None, "glibc", None, None, None, False),
    ("busybox:1.36-musl", "busybox", None, None, "musl", None, None, None, False),
]


@pytest.mark.parametrize(
    ("image", "distro", "release", "pm", "libc", "libc_version", "python", "apt_python", "cc"),
    IMAGES,
)
def test_base_environment(
    image: str,
    distro: str | None,
    release: str | None,
    pm: str | None,
    libc: str | None,
    libc_version: tuple[int, ...] | None,
    python: tuple[int, int] | None,
    apt_python: tuple[int, int] | None,
    cc: bool,
) -> None:
    env = base_environment(image)
    assert env is not None
    got = (env.distro, env.release, env.package_manager, env.libc, env.libc_version)
    assert got == (distro, release, pm, libc, libc_version)
    assert (env.python, env.apt_python, env.has_compiler) == (python, apt_python, cc)
    assert env.reason


def test_digest_is_ignored_and_tag_defaults_to_latest() -> None:
    pinned = base_environment("python:3.12-slim@sha256:" + "a" * 64)
    assert pinned == base_environment("python:3.12-slim")
    assert base_environment("alpine") == base_environment("alpine:latest")
    assert base_environment("library/alpine:3.18") == base_environment("alpine:3.18")


@pytest.mark.parametrize(
    "image",
    ["mycompany/app:1.0", "ghcr.io/someone/tool", "", "python:${PY}", "not an image"],
)
def test_unknown_images_are_none(image: str) -> None:
    assert base_environment(image) is None


@pytest.mark.parametrize(
    ("image", "python"),
    [
        ("python:3.12-windowsservercore", (3, 12)),
        ("python:3.12-someunknownvariant", (3, 12)),
        ("node:20-nanoserver", None),
    ],
)
def test_unrecognised_variants_leave_the_distro_unknown(
    image: str, python: tuple[int, int] | None
) -> None:
    env = base_environment(image)
    assert env is not None
    assert (env.distro, env.release, env.package_manager, env.libc) == (None, None, None, None)
    assert env.python == python


@pytest.mark.parametrize(
    "image",
    ["python:3.15", "eclipse-temurin:17", "continuumio/miniconda3", "ubuntu:latest", "fedora:44"],
)
def test_unknown_facts_stay_none(image: str) -> None:
    env = base_environment(image)
    assert env is not None
    assert env.distro is not None
    assert env.libc_version is None


def test_python_image_has_headers_everywhere_and_compiler_only_when_full() -> None:
    for image in ("python:3.12", "python:3.12-slim", "python:3.12-alpine"):
        env = base_environment(image)
        assert env is not None
        assert "python-headers" in env.capabilities
    full = base_environment("python:3.12")
    slim = base_environment("python:3.12-slim")
    assert full is not None and slim is not None
    assert {"cc", "c++", "make"} <= full.capabilities
    assert "libpq-dev" in full.packages
    assert slim.packages == ()


def test_python_source_explains_the_version() -> None:
    env = base_environment("python:3.12")
    assert env is not None and "python:3.12" in env.python_source
    ubuntu = base_environment("ubuntu:20.04")
    assert ubuntu is not None and ubuntu.python_source == "apt python3 on Ubuntu 20.04"


def test_snapshot_date_is_iso() -> None:
    assert len(snapshot_date().split("-")) == 3


def _env(image: str) -> BaseEnv:
    env = base_environment(image)
    assert env is not None
    return env


@pytest.mark.parametrize(
    ("pm", "packages", "image", "expected"),
    [
        ("apt", ["python3.11"], "ubuntu:20.04", (3, 11)),
        ("apt", ["python3", "python3-pip"], "ubuntu:20.04", (3, 8)),
        ("apt", ["python3=3.11.2-1+b1"], "debian:bookworm", (3, 11)),
        ("apt", ["curl", "git"], "ubuntu:22.04", None),
        ("apk", ["python3", "py3-pip"], "alpine:3.18", (3, 11)),
        ("yum", ["python3.11"], "amazonlinux:2", (3, 11)),
        ("yum", ["python3"], "amazonlinux:2", (3, 7)),
        ("dnf", ["python3.12", "python3.12-devel"], "rockylinux:9", (3, 12)),
        ("dnf", ["python39"], "almalinux:8", (3, 9)),
        ("zypper", ["python311"], "opensuse/leap:15.5", (3, 11)),
        ("pip", ["python3.11"], "ubuntu:20.04", None),
    ],
)
def test_python_from_install(
    pm: str, packages: list[str], image: str, expected: tuple[int, int] | None
) -> None:
    assert python_from_install(pm, packages, _env(image)) == expected


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["uv", "python", "install", "3.12"], (3, 12)),
        (["uv", "python", "install", "--preview", "cpython-3.13.1"], (3, 13)),
        (["uv", "venv", "--python", "3.12"], (3, 12)),
        (["uv", "venv", "--python=3.11", ".venv"], (3, 11)),
        (["/root/.pyenv/bin/pyenv", "install", "3.11.7"], (3, 11)),
        (["pyenv", "global", "3.10.4"], (3, 10)),
        (["conda", "install", "-y", "python=3.10"], (3, 10)),
        (["mamba", "create", "-n", "env", "python==3.9.18"], (3, 9)),
        (["conda", "install", "numpy"], None),
        (["uv", "pip", "install", "requests"], None),
        ([], None),
    ],
)
def test_python_from_tool(words: list[str], expected: tuple[int, int] | None) -> None:
    assert python_from_tool(words) == expected


_TOOL_WORDS = st.sampled_from(
    [
        *("", "uv", "/usr/bin/pyenv", "conda", "asdf", "mamba", "micromamba", "pip", "install"),
        *("python", "create", "global", "python=3.11", "3.12", "--python", "-p", "3.11.4"),
    ]
)


@given(st.lists(_TOOL_WORDS, max_size=6))
def test_python_from_tool_answers_only_for_its_tools(words: list[str]) -> None:
    # stageenv skips commands whose first word with a value is not one of PYTHON_TOOLS.
    first = next((w for w in words if w), "")
    if first.rsplit("/", 1)[-1] not in PYTHON_TOOLS:
        assert python_from_tool(words) is None
