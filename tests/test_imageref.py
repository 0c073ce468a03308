from __future__ import annotations

import pytest

from dockerarch.imageref import ImageRef, arch_pinned, multiarch_equivalent, parse_image_ref

DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("python", "docker.io", "library/python", "latest", None),
        ("python:3.12-slim", "docker.io", "library/python", "3.12-slim", None),
        ("library/python:3", "docker.io", "library/python", "3", None),
        ("docker.io/python", "docker.io", "library/python", "latest", None),
        ("docker.io/library/python:3", "docker.io", "library/python", "3", None),
        ("index.docker.io/library/python", "docker.io", "library/python", "latest", None),
        ("registry-1.docker.io/bitnami/redis:7", "docker.io", "bitnami/redis", "7", None),
        ("bitnami/redis:7.2", "docker.io", "bitnami/redis", "7.2", None),
        ("ghcr.io/owner/repo/sub:v1", "ghcr.io", "owner/repo/sub", "v1", None),
        ("localhost/app", "localhost", "app", "latest", None),
        ("localhost:5000/app:dev", "localhost:5000", "app", "dev", None),
        ("127.0.0.1:5000/team/app", "127.0.0.1:5000", "team/app", "latest", None),
        ("[::1]:5000/app:1", "[::1]:5000", "app", "1", None),
        (f"python@{DIGEST}", "docker.io", "library/python", None, DIGEST),
        (f"python:3.12@{DIGEST}", "docker.io", "library/python", "3.12", DIGEST),
        (
            "gcr.io/google.com/cloudsdktool/google-cloud-cli:stable",
            "gcr.io",
            "google.com/cloudsdktool/google-cloud-cli",
            "stable",
            None,
        ),
        ("Registry.Example.com/a__b/c-d--e:x", "Registry.Example.com", "a__b/c-d--e", "x", None),
        ("  alpine:3.19  ", "docker.io", "library/alpine", "3.19", None),
    ],
)
def test_parse_valid(
    text: str, registry: str, repository: str, tag: str | None, digest: str | None
) -> None:
    assert parse_image_ref(text) == ImageRef(registry, repository, tag, digest)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "$BASE",
        "python:${VERSION}",
        "Python:3",  # upper case is only allowed in the registry host
        "python:",
        "python:-bad",
        "python:" + "x" * 129,
        "python@sha256:short",
        "python@sha256",
        "/python",
        "python/",
        "a//b",
        "a_-b",
        "my image",
        "-x.com/app",
        "x" * 256,
    ],
)
def test_parse_invalid(text: str) -> None:
    assert parse_image_ref(text) is None


@pytest.mark.parametrize(
    ("text", "official", "familiar", "canonical"),
    [
        ("python:3", "python", "python:3", "docker.io/library/python:3"),
        ("index.docker.io/library/python", "python", "python:latest", None),
        ("bitnami/redis", None, "bitnami/redis:latest", "docker.io/bitnami/redis:latest"),
        ("quay.io/library/x", None, "quay.io/library/x:latest", "quay.io/library/x:latest"),
        (f"ubuntu@{DIGEST}", "ubuntu", f"ubuntu@{DIGEST}", f"docker.io/library/ubuntu@{DIGEST}"),
    ],
)
def test_names(text: str, official: str | None, familiar: str, canonical: str | None) -> None:
    ref = parse_image_ref(text)
    assert ref is not None
    assert ref.official_name == official
    assert ref.familiar == familiar
    if canonical is not None:
        assert str(ref) == canonical
    assert parse_image_ref(str(ref)) == ref


@pytest.mark.parametrize(
    ("text", "arch", "equivalent"),
    [
        ("amd64/ubuntu:22.04", "amd64", "ubuntu:22.04"),
        ("docker.io/amd64/ubuntu:22.04", "amd64", "ubuntu:22.04"),
        ("arm64v8/python:3.12-slim", "arm64", "python:3.12-slim"),
        ("arm32v7/debian", "arm", "debian:latest"),
        ("i386/alpine:3.19", "386", "alpine:3.19"),
        ("ppc64le/node:20", "ppc64le", "node:20"),
        ("s390x/busybox", "s390x", "busybox:latest"),
        (f"amd64/ubuntu@{DIGEST}", "amd64", None),
        ("myorg/app:1.2-amd64", "amd64", None),
        ("myorg/app:1.2_amd64", "amd64", None),
        ("myorg/app:linux-x86_64", "amd64", None),
        ("myorg/app:v3-arm64", "arm64", None),
        ("myorg/app:aarch64-v3", "arm64", None),
        ("myorg/app:amd64-latest", "amd64", None),
        ("myorg/app:latest-arm64v8", "arm64", None),
        ("ghcr.io/o/app:1.0-armv7", "arm", None),
        ("ghcr.io/amd64/app:1.0", None, None),  # arch namespaces are a Docker Hub convention
        ("ubuntu:22.04", None, None),
        ("myorg/app:amd64x", None, None),
        ("myorg/app:x86", None, None),
        ("amd64", None, None),  # docker.io/library/amd64, not a namespace
    ],
)
def test_arch_pinned(text: str, arch: str | None, equivalent: str | None) -> None:
    ref = parse_image_ref(text)
    assert ref is not None
    assert arch_pinned(ref) == arch
    assert multiarch_equivalent(ref) == equivalent
