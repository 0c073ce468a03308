from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from dockerarch.imageref import ImageRef, parse_image_ref
from dockerarch.knowledge import images
from dockerarch.knowledge.images import (
    ImagePlatforms,
    image_platforms,
    platform_string,
    snapshot_date,
)
from dockerarch.platforms import Platform
from tests.scripts import load_script

AMD64 = Platform("linux", "amd64")
ARM64 = Platform("linux", "arm64")


def ref(text: str) -> ImageRef:
    parsed = parse_image_ref(text)
    assert parsed is not None, text
    return parsed


def lookup(text: str) -> ImagePlatforms | None:
    return image_platforms(ref(text))


def test_old_python_tag_is_amd64_only() -> None:
    found = lookup("python:3.4.1")
    assert found is not None
    assert found.platforms == {"linux/amd64"}
    assert found.supports(AMD64) and not found.supports(ARM64)
    assert found.last_listed == "2014-10-03"
    assert found.source == f"official-images snapshot {snapshot_date()}"


def test_python_slim_has_arm64_in_oci_names() -> None:
    found = lookup("python:3.8-slim")
    assert found is not None
    assert {"linux/amd64", "linux/arm64", "linux/arm/v7", "linux/386"} <= found.platforms
    assert not any("arm64v8" in p or "arm32" in p or "i386" in p for p in found.platforms)
    assert found.supports(ARM64)
    assert found.supports(Platform.parse("linux/arm64/v8"))


@pytest.mark.parametrize(
    "text", ["python:3.8-slim", "library/python:3.8-slim", "docker.io/library/python:3.8-slim"]
)
def test_official_spellings_normalise(text: str) -> None:
    assert lookup(text) == lookup("index.docker.io/python:3.8-slim")
    assert lookup(text) is not None


def test_windows_only_tag() -> None:
    python_windows = lookup("python:3.12-windowsservercore-ltsc2022")
    assert python_windows is not None
    assert python_windows.platforms == {"windows/amd64"}
    assert python_windows.supports(Platform("windows", "amd64"))
    assert not python_windows.supports(AMD64)


@pytest.mark.parametrize(
    "text",
    [
        "nosuchimage-dockerarch:1",
        "python:no-such-tag",
        "ghcr.io/library/python:3.8-slim",
        "someone/python:3.8-slim",
        "mcr.microsoft.com/windows/servercore:ltsc2022",
        "python@sha256:" + "ab" * 32,
        "python:3.8-slim@sha256:" + "ab" * 32,
        "arm64v8/python:3.4.1",  # never published for arm64
    ],
)
def test_unknown_or_digest_pinned_is_none(text: str) -> None:
    assert lookup(text) is None


def test_arch_namespace_holds_one_platform() -> None:
    arm = lookup("arm64v8/python:3.8-slim")
    assert arm is not None and arm.platforms == {"linux/arm64"}
    amd = lookup("docker.io/amd64/python:3.4.1")
    assert amd is not None and amd.platforms == {"linux/amd64"}


@pytest.mark.parametrize(
    "text",
    [
        "mcr.microsoft.com/mssql/server:2019-latest",
        "mcr.microsoft.com/mssql/server:2017-latest",
        "mcr.microsoft.com/mssql/server:2022-CU14-ubuntu-22.04",
        "google/cloud-sdk:slim",
        "gvenzl/oracle-xe:21-slim",
    ],
)
def test_vendor_amd64_only(text: str) -> None:
    found = lookup(text)
    assert found is not None
    assert found.platforms == {"linux/amd64"}
    assert found.source.startswith("vendor list: ")
    assert not found.supports(ARM64)


def test_vendor_multiarch_and_unlisted_tag() -> None:
    found = lookup("gcr.io/google.com/cloudsdktool/google-cloud-cli:stable")
    assert found is not None and found.platforms == {"linux/amd64", "linux/arm64"}
    assert lookup("gcr.io/google.com/cloudsdktool/google-cloud-cli:123.0.0") is None


def test_vendor_most_specific_pattern_wins() -> None:
    rows = images._parse_vendor(
        [
            "repository\ttags\tplatforms\tsource",
            "example.com/app\t*\tlinux/amd64\tall",
            "example.com/app\t2-*\tlinux/amd64,linux/arm64/v8\tprefix",
            "example.com/app\t2-rc*\tlinux/amd64\tlonger prefix",
            "example.com/app\t2-rc1\tlinux/arm/v7\texact",
        ]
    )
    table = rows["example.com/app"]

    def best(tag: str) -> str | None:
        row = images._best_vendor_row(table, tag)
        return None if row is None else row.source

    assert best("1") == "all"
    assert best("2-x") == "prefix"
    assert best("2-rc2") == "longer prefix"
    assert best("2-rc1") == "exact"
    assert images._best_vendor_row(rows["example.com/app"][1:], "1") is None
    assert next(r for r in table if r.source == "prefix").platforms == {
        "linux/amd64",
        "linux/arm64",
    }


def test_vendor_rejects_bad_repository() -> None:
    with pytest.raises(ValueError, match="bad repository"):
        images._parse_vendor(["repository\ttags\tplatforms\tsource", "Bad Name\t*\tamd64\tx"])


@pytest.mark.parametrize(
    ("published", "platform", "expected"),
    [
        ({"linux/arm/v6"}, "linux/arm/v7", True),
        ({"linux/arm/v7"}, "linux/arm/v6", False),
        ({"linux/arm/v7"}, "linux/arm", True),
        ({"linux/arm64"}, "linux/arm64/v8", True),
        ({"linux/arm/v7"}, "linux/arm64", False),
        ({"linux/amd64"}, "windows/amd64", False),
        ({"linux/386"}, "linux/amd64", False),
    ],
)
def test_supports(published: set[str], platform: str, expected: bool) -> None:
    found = ImagePlatforms(frozenset(published), "test")
    assert found.supports(Platform.parse(platform)) is expected


@pytest.mark.parametrize(
    ("parts", "text"),
    [
        (("linux", "arm64", "v8"), "linux/arm64"),
        (("linux", "aarch64", ""), "linux/arm64"),
        (("linux", "arm", ""), "linux/arm/v7"),
        (("linux", "arm", "v6"), "linux/arm/v6"),
        (("linux", "x86_64", ""), "linux/amd64"),
        (("windows", "amd64", ""), "windows/amd64"),
    ],
)
def test_platform_string(parts: tuple[str, str, str], text: str) -> None:
    assert platform_string(*parts) == text


def test_snapshot_date_is_iso() -> None:
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", snapshot_date())


def test_loading_is_lazy_and_per_image() -> None:
    # A fresh interpreter: importing reads nothing, a lookup inflates only its own image.
    code = (
        "from dockerarch.knowledge import images as m\n"
        "from dockerarch.imageref import parse_image_ref as p\n"
        "assert m._official.cache_info().currsize == 0\n"
        "assert m._vendor.cache_info().currsize == 0\n"
        "assert m.image_platforms(p('redis:7')) is not None\n"
        "print(sorted(m._official()._images))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "['redis']"


def test_build_script_round_trip(tmp_path: Path) -> None:
    source = tmp_path / "official-images"
    source.mkdir()
    (source / "README.md").write_text(
        "history up to commit " + "a" * 40 + ", 2026-01-02) with ...\n", encoding="utf-8"
    )
    (source / "tags.tsv").write_text(
        "image\ttag\tarchitectures\tlast_listed\n"
        "demo\t1\tarm64v8,amd64\t2025-05-06\n"
        "demo\t1.0-rc\tamd64\t2024-01-01\n"
        "demo\t-typo\tamd64\t2016-10-04\n"
        "other\tlatest\twindows-amd64\t2025-01-01\n",
        encoding="utf-8",
    )
    output = tmp_path / "snap.bin"
    assert (
        load_script("build_images_snapshot").main(
            [str(source / "tags.tsv"), "--output", str(output)]
        )
        == 0
    )
    first = output.read_bytes()
    snapshot = images._OfficialSnapshot(first)
    assert snapshot.date == "2026-01-02"
    assert snapshot.lookup("demo", "1") == (("amd64", "arm64v8"), "2025-05-06")
    assert snapshot.lookup("demo", "1.0-rc") == (("amd64",), "2024-01-01")
    assert snapshot.lookup("demo", "-typo") is None
    assert snapshot.lookup("other", "latest") == (("windows-amd64",), "2025-01-01")
    assert snapshot.lookup("missing", "latest") is None
    load_script("build_images_snapshot").main([str(source / "tags.tsv"), "--output", str(output)])
    assert output.read_bytes() == first  # reproducible bytes


def test_build_script_rejects_duplicates(tmp_path: Path) -> None:
    tsv = tmp_path / "tags.tsv"
    tsv.write_text(
        "image\ttag\tarchitectures\tlast_listed\n"
        "demo\t1\tamd64\t2025-05-06\n"
        "demo\t1\tamd64\t2025-05-07\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="duplicate"):
        load_script("build_images_snapshot").main(
            [
                str(tsv),
                *("--output", str(tmp_path / "x.bin")),
                *("--source-commit", "c", "--snapshot-date", "2026-01-01"),
            ]
        )
