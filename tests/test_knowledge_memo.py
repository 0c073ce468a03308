"""Memoised knowledge look-ups answer as the plain scans did, and never hide a newer answer."""

from __future__ import annotations

from collections.abc import Sequence

from packaging.version import Version

from dockerarch.knowledge import pypi
from dockerarch.knowledge.npm import (
    AddonAnswer,
    PackageRecord,
    VersionFacts,
    addon_support,
    max_satisfying,
    resolve_version,
)
from dockerarch.knowledge.pypi import FileEntry, Release, WheelAnswer, releases_from_files

# --- PyPI -----------------------------------------------------------------------------------


def test_snapshot_release_is_the_one_a_scan_finds() -> None:
    snap = pypi.snapshot()
    for name in ("numpy", "psycopg2", "lxml"):
        releases = snap.releases(name)
        assert releases
        for wanted in releases:
            found = snap.release(name.upper(), wanted.version)
            assert found is next(r for r in releases if r.version == wanted.version)
        assert snap.release(name, Version("0.0.0.0.1")) is None
    assert snap.release("not-a-real-project-x", Version("1.0")) is None


class ChangingIndex:
    """An online index that learns of a new release between two questions."""

    def __init__(self) -> None:
        self.files = [FileEntry("demo-1.0.tar.gz")]

    def releases(self, name: str) -> Sequence[Release] | None:
        return releases_from_files(name, self.files)


def test_a_provider_answering_anew_is_asked_anew() -> None:
    index = ChangingIndex()
    archs = ["amd64", "arm64"]
    assert pypi.has_sdist("demo", "2.0", provider=index) is None
    assert pypi.wheel_platforms("demo", "2.0", (3, 12), "glibc", None, archs, provider=index) == {
        "amd64": WheelAnswer.UNKNOWN,
        "arm64": WheelAnswer.UNKNOWN,
    }
    index.files.append(FileEntry("demo-2.0-py3-none-manylinux_2_17_x86_64.whl"))
    assert pypi.has_sdist("demo", "2.0", provider=index) is False
    assert pypi.wheel_platforms("demo", "2.0", (3, 12), "glibc", None, archs, provider=index) == {
        "amd64": WheelAnswer.YES,
        "arm64": WheelAnswer.NO,
    }


def test_wheel_answers_are_the_callers_to_change() -> None:
    (release,) = releases_from_files("demo", [FileEntry("demo-1.0-py3-none-any.whl")])
    first = pypi.release_wheel_platforms(release, None, "glibc", None, ["x86_64"])
    assert first == {"amd64": WheelAnswer.YES}
    first["amd64"] = WheelAnswer.NO
    again = pypi.release_wheel_platforms(release, None, "glibc", None, ["x86_64"])
    assert again == {"amd64": WheelAnswer.YES}


def test_purity_follows_the_tags_a_provider_gives_now() -> None:
    index = ChangingIndex()
    index.files.append(FileEntry("demo-2.0-cp312-cp312-manylinux_2_17_x86_64.whl"))
    assert pypi.is_pure("demo", "2.0", provider=index) is False
    index.files.append(FileEntry("demo-2.0-py3-none-any.whl"))
    assert pypi.is_pure("demo", "2.0", provider=index) is True


def test_purity_answers_are_bounded() -> None:
    for i in range(pypi._PURE_MAX + 10):
        wheel = (
            f"demo-{i}.0-py3-none-any.whl" if i % 2 else f"demo-{i}.0-cp312-cp312-linux_x86_64.whl"
        )
        (release,) = releases_from_files("demo", [FileEntry(wheel)])
        assert pypi.is_pure("demo", release.version_text, provider=Fixed([release])) is bool(i % 2)
    assert 0 < len(pypi._pure) <= pypi._PURE_MAX


class Fixed:
    def __init__(self, releases: list[Release]) -> None:
        self.found = releases

    def releases(self, name: str) -> Sequence[Release] | None:
        return self.found


def test_download_namings_answer_as_the_table_scan() -> None:
    import re

    from dockerarch.knowledge import archnames

    def scan(url: str, token: str) -> archnames.ArchNaming | None:
        return next(
            (
                row.naming
                for row in archnames._rows()
                if row.amd64 == token.lower() and re.search(row.pattern, url, re.IGNORECASE)
            ),
            None,
        )

    urls = [
        "https://go.dev/dl/go1.22.0.linux-AMD64.tar.gz",
        "https://nodejs.org/dist/v20.1.0/node-v20.1.0-linux-x64.tar.xz",
        "https://github.com/tianon/gosu/releases/download/1.17/gosu-amd64",
        "https://github.com/yelp/dumb-init/releases/download/v1.2.5/dumb-init_1.2.5_x86_64",
        "https://github.com/just-containers/s6-overlay/releases/download/v3.1.6.2/s6-overlay-x86_64.tar.xz",
        "https://github.com/just-containers/s6-overlay/releases/download/v2.2.0.3/s6-overlay-amd64.tar.gz",
        "https://dl.google.com/linux/direct/google-chrome-stable_current_amd64.deb",
        "https://example.org/tool_1.0_amd64.deb",
        "tool-1.0.x86_64.rpm",
        "fooctl-linux-x86_64.tar.gz",
    ]
    for url in urls:
        for token in ("amd64", "AMD64", "x86_64", "x64"):
            for _ in range(2):  # the second answer comes from the memo
                assert archnames.naming_for(url, token) is scan(url, token)
    for i in range(archnames._NAMINGS_MAX + 10):
        archnames.naming_for(f"https://example.org/tool-{i}-amd64.tgz", "amd64")
    assert 0 < len(archnames._namings) <= archnames._NAMINGS_MAX


# --- npm ------------------------------------------------------------------------------------

ARM = "linux-arm64-glibc"


def record(prebuilt: dict[str, bool], latest: str) -> PackageRecord:
    versions = {
        v: VersionFacts(kind="prebuild-install", fallback_build=True, prebuilt={ARM: ok})
        for v, ok in prebuilt.items()
    }
    return PackageRecord("demo", {"latest": latest}, versions)


class OnlineRegistry:
    """Each answer a new record, as the live registry gives."""

    def __init__(self, current: PackageRecord) -> None:
        self.current = current

    def package(self, name: str) -> PackageRecord | None:
        return self.current


def answer(registry: OnlineRegistry, spec: str) -> AddonAnswer:
    found = addon_support("demo", spec, "arm64", "glibc", registry)
    assert found is not None
    return found


def test_a_new_record_is_resolved_anew() -> None:
    registry = OnlineRegistry(record({"1.0.0": False, "1.1.0": True}, latest="1.0.0"))
    first = answer(registry, "^1.0.0")
    assert first.resolved_version == "1.0.0"
    assert first.first_version_with_prebuilt("arm64", "glibc") == "1.1.0"
    registry.current = record(
        {"1.0.0": False, "1.1.0": True, "1.2.0": True, "1.3.0": True}, latest="1.3.0"
    )
    assert answer(registry, "^1.0.0").resolved_version == "1.3.0"
    assert answer(registry, "1.2.0").resolved_version == "1.2.0"
    assert first.first_version_with_prebuilt("arm64", "glibc") == "1.1.0"
    registry.current = record({"1.0.0": False, "1.1.0": True, "1.2.0": False}, latest="1.2.0")
    assert answer(registry, "1.1.0").first_version_with_prebuilt("arm64", "glibc") is None


def test_snapshot_answers_are_the_snapshot_providers() -> None:
    from dockerarch.knowledge import npm

    shipped = npm.SnapshotProvider.default()
    for name in ("canvas", "sharp", "bcrypt", "left-pad", "not-a-package-x"):
        for spec in ("*", "^2.0.0", "2.11.2", "latest", "0.0.1"):
            for arch, libc in (("arm64", "glibc"), ("amd64", "musl"), ("arm64", "musl")):
                fresh = addon_support(name, spec, arch, libc, shipped)
                assert addon_support(name, spec, arch, libc) == fresh
                assert addon_support(name, spec, arch, libc) == fresh  # from the memo
    assert any(addon_support("canvas", "*", a, "glibc") is not None for a in ("arm64", "amd64"))
    for i in range(npm._SNAPSHOT_ANSWERS_MAX + 10):
        addon_support("canvas", f"^{i}.0.0", "arm64", "glibc")
    assert 0 < len(npm._snapshot_answers) <= npm._SNAPSHOT_ANSWERS_MAX


def test_equal_versions_resolve_to_their_first_spelling() -> None:
    versions = ["1.0.0+build.1", "v1.0.0", "1.0.0", "0.9.0", "2.0.0-rc.1"]
    assert resolve_version("^1", versions) == max_satisfying(versions, "^1") == "1.0.0+build.1"
    assert resolve_version("1.0.0", versions) == "1.0.0+build.1"
    assert resolve_version("=1.0.0", list(reversed(versions))) == "1.0.0"
    assert resolve_version("<1", versions) == "0.9.0"
    assert resolve_version("^2.0.0-rc.0", versions) == "2.0.0-rc.1"
