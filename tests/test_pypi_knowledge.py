"""Wheel decisions: facts from the shipped PyPI snapshot, and rules on synthetic releases."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from dockerarch.knowledge import pypi
from dockerarch.knowledge.pypi import (
    FileEntry,
    Libc,
    Release,
    WheelAnswer,
    choose_version,
    first_version_with_wheels,
    fold_platform,
    has_sdist,
    is_pure,
    known,
    release_wheel_platforms,
    releases_from_files,
    wheel_platforms,
)
from dockerarch.pyspecifiers import plain_release
from tests.scripts import load_script

YES, NO, VARIES, UNKNOWN = WheelAnswer.YES, WheelAnswer.NO, WheelAnswer.VARIES, WheelAnswer.UNKNOWN
ARCHS = ["amd64", "arm64"]
UBUNTU_2004 = (2, 31)


def both(amd64: WheelAnswer, arm64: WheelAnswer) -> dict[str, WheelAnswer]:
    return {"amd64": amd64, "arm64": arm64}


# --- facts from the real snapshot -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "version"),
    [("numpy", "1.21.6"), ("scikit-learn", "1.2.0"), ("matplotlib", "3.6.1")],
)
def test_wheels_on_both_arches_py38_focal(name: str, version: str) -> None:
    answers = wheel_platforms(name, version, (3, 8), "glibc", UBUNTU_2004, ARCHS)
    assert answers == both(YES, YES)


def test_numpy_1_18_5_is_amd64_only_until_1_19_0() -> None:
    assert wheel_platforms("numpy", "1.18.5", (3, 8), "glibc", UBUNTU_2004, ARCHS) == both(YES, NO)
    first = first_version_with_wheels(
        "numpy", (3, 8), "glibc", UBUNTU_2004, ARCHS, at_least=Version("1.18.5")
    )
    assert first == Version("1.19.0")


def test_confluent_kafka_2_0_2_is_amd64_only_until_2_1_0() -> None:
    answers = wheel_platforms("confluent-kafka", "2.0.2", (3, 8), "glibc", UBUNTU_2004, ARCHS)
    assert answers == both(YES, NO)
    first = first_version_with_wheels(
        "Confluent_Kafka", (3, 8), "glibc", UBUNTU_2004, ARCHS, at_least=Version("2.0.2")
    )
    assert first == Version("2.1.0")


def test_confluent_kafka_2_2_0_has_no_py312_wheel() -> None:
    answers = wheel_platforms("confluent-kafka", "2.2.0", (3, 12), "glibc", (2, 36), ARCHS)
    assert answers == both(NO, NO)
    assert has_sdist("confluent-kafka", "2.2.0")


def test_pure_package_is_yes_everywhere() -> None:
    assert is_pure("requests", "2.31.0")
    platforms: list[tuple[Libc, tuple[int, int]]] = [("glibc", UBUNTU_2004), ("musl", (1, 2))]
    for libc, libc_version in platforms:
        for python in ((3, 8), (3, 12), None):
            answers = wheel_platforms(
                "requests", "2.31.0", python, libc, libc_version, [*ARCHS, "s390x"]
            )
            assert set(answers.values()) == {YES}


def test_manylinux_arm64_wheel_does_not_help_on_alpine() -> None:
    # numpy 1.25.0 shipped musllinux x86_64 wheels but its aarch64 wheels were manylinux only.
    alpine = wheel_platforms("numpy", "1.25.0", (3, 11), "musl", (1, 2), ARCHS)
    assert alpine == both(YES, NO)
    assert wheel_platforms("numpy", "1.25.0", (3, 11), "glibc", UBUNTU_2004, ARCHS) == both(
        YES, YES
    )


def test_unknown_python_over_real_release() -> None:
    # numpy 1.18.5 has wheels for CPython 3.5-3.8, x86_64 only on Linux: true for all of them.
    assert wheel_platforms("numpy", "1.18.5", None, "glibc", UBUNTU_2004, ARCHS) == both(YES, NO)


def test_unknown_package_or_version() -> None:
    assert wheel_platforms("numpy", "0.0.0.1", (3, 8), "glibc", None, ARCHS) == both(
        UNKNOWN, UNKNOWN
    )
    assert wheel_platforms("not-a-real-project-x", "1.0", (3, 8), "glibc", None, ARCHS) == both(
        UNKNOWN, UNKNOWN
    )
    assert is_pure("not-a-real-project-x", "1.0") is None


def test_arch_spellings_are_normalized() -> None:
    answers = wheel_platforms(
        "numpy", "1.18.5", (3, 8), "glibc", UBUNTU_2004, ["x86_64", "aarch64"]
    )
    assert answers == both(YES, NO)


def test_known_and_x86_only_and_date() -> None:
    assert known("SciPy") and known("zope.interface") and known("Pillow")
    assert not known("not-a-real-project-x")
    assert pypi.x86_only("MKL") and pypi.x86_only("scikit_learn_intelex")
    assert not pypi.x86_only("numpy") and not pypi.x86_only("fibers")
    assert date(2024, 1, 1) <= pypi.snapshot_date() <= date.today()


def test_choose_version_real() -> None:
    assert choose_version("numpy", "==1.18.5", (3, 8)) == Version("1.18.5")
    assert choose_version("numpy", "1.18.5", (3, 8)) == Version("1.18.5")
    # numpy 1.25 needs Python >= 3.9, so 3.8 stops at 1.24.x.
    picked = choose_version("numpy", SpecifierSet("<2"), (3, 8))
    assert picked is not None and picked.release[:2] == (1, 24)
    newest = choose_version("numpy", "<2", (3, 12))
    assert newest is not None and newest > picked


def test_snapshot_is_not_loaded_at_import() -> None:
    code = "import dockerarch.knowledge.pypi as p, sys; sys.exit(p.snapshot.cache_info().currsize)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


_TAGS = st.tuples(
    st.sampled_from(["cp39", "cp312", "py3", "pp310"]),
    st.sampled_from(["cp39", "abi3", "none", "pypy310_pp73"]),
    st.tuples(
        st.sampled_from(["glibc", "musl", "linux", "any"]),
        st.tuples(st.integers(0, 2), st.integers(0, 40)),
        st.sampled_from(["amd64", "arm64", ""]),
    ),
)
_RELEASES = st.lists(
    st.builds(
        Release,
        # Normalized, as packaging prints versions and the snapshot stores them.
        version_text=st.sampled_from(["1.0", "1.0.1", "2.0rc1", "2.0", "2024.1.post1", "3!1.0"]),
        tags=st.frozensets(_TAGS, max_size=6),
        has_sdist=st.booleans(),
        requires_python=st.sampled_from([None, ">=3.8", ">=3.9,<4"]),
        yanked=st.booleans(),
    ),
    max_size=5,
)


@settings(max_examples=50, deadline=None)
@given(
    projects=st.dictionaries(st.sampled_from(["numpy", "a-b", "z", "x86-only"]), _RELEASES),
    x86_only=st.lists(st.sampled_from(["x86-only", "mkl"]), unique=True),
)
def test_the_snapshot_reads_what_the_build_script_writes(
    projects: dict[str, list[Release]], x86_only: list[str]
) -> None:
    script = load_script("build_pypi_snapshot")
    written = script.encode(projects, x86_only, date(2026, 1, 2))
    assert script.encode(projects, x86_only, date(2026, 1, 2)) == written  # same bytes
    snapshot = pypi.Snapshot(written)
    assert snapshot.date == date(2026, 1, 2)
    assert snapshot.packages() == sorted(projects)
    for name, releases in projects.items():
        assert snapshot.releases(name.upper()) == releases
        for r in releases:
            assert snapshot.release(name, r.version) == next(
                x for x in releases if x.version == r.version
            )
            numbers = plain_release(r.version_text)
            if numbers is not None:
                assert snapshot.plain_release(name, numbers) == snapshot.release(name, r.version)
    assert snapshot.releases("missing") is None
    assert [n for n in ("x86-only", "mkl", "numpy") if snapshot.is_x86_only(n)] == [
        n for n in ("x86-only", "mkl") if n in x86_only
    ]


def test_a_snapshot_lookup_inflates_only_its_project() -> None:
    snapshot = pypi.Snapshot.load()
    assert len(snapshot.packages()) > 100
    numpy = snapshot.releases("NumPy")
    assert numpy and numpy == sorted(numpy, key=lambda r: r.version)
    assert list(snapshot._decoded) == ["numpy"]


@pytest.mark.parametrize("name", ["requests", "numpy", "grpcio", "cryptography"])
def test_a_pin_finds_by_its_text_the_release_its_version_finds(name: str) -> None:
    # Pinned installs look releases up by text, without packaging.version.
    releases = pypi.snapshot().releases(name)
    assert releases
    for r in releases:
        texts = [r.version_text, f" {r.version_text}"]
        if plain_release(r.version_text) is not None:
            texts.append(r.version_text + ".0")
        for text in texts:
            assert pypi._find(None, name, text) == pypi._find(None, name, Version(text)), text
    assert pypi._find(None, name, "0.0.0.1") is None
    assert pypi._find(None, name, "\u0661") is None  # not a version to packaging either


def test_an_unknown_snapshot_format_is_refused() -> None:
    with pytest.raises(
        ValueError, match=r"pypi_wheels.bin: unsupported format 1 \(this dockerarch reads 2\)"
    ):
        pypi.Snapshot(b'{"format":1}\n')


# --- synthetic releases -----------------------------------------------------------------------


class FakeIndex:
    def __init__(self, **projects: list[FileEntry]) -> None:
        self.projects = {name: releases_from_files(name, files) for name, files in projects.items()}

    def releases(self, name: str) -> Sequence[Release] | None:
        return self.projects.get(name)


def wheels(version: str, *tags: str, requires: str | None = None) -> list[FileEntry]:
    return [FileEntry(f"demo-{version}-{tag}.whl", requires_python=requires) for tag in tags]


def release(*tags: str, sdist: bool = False, requires: str | None = None) -> Release:
    files = wheels("1.0", *tags, requires=requires)
    if sdist:
        files.append(FileEntry("demo-1.0.tar.gz", requires_python=requires))
    (only,) = releases_from_files("demo", files)
    return only


def test_unknown_python_varies_when_versions_disagree() -> None:
    r = release(
        "cp38-cp38-manylinux_2_17_x86_64",
        "cp39-cp39-manylinux_2_17_x86_64",
        "cp39-cp39-manylinux_2_17_aarch64",
    )
    assert release_wheel_platforms(r, None, "glibc", None, ARCHS) == both(YES, VARIES)
    assert release_wheel_platforms(r, (3, 8), "glibc", None, ARCHS) == both(YES, NO)
    assert release_wheel_platforms(r, (3, 9), "glibc", None, ARCHS) == both(YES, YES)


def test_unknown_python_amd64_only_for_every_version() -> None:
    r = release("cp38-cp38-manylinux_2_17_x86_64", "cp39-cp39-manylinux2014_x86_64", sdist=True)
    assert release_wheel_platforms(r, None, "glibc", None, ARCHS) == both(YES, NO)


def test_unknown_python_ignores_versions_without_any_wheel() -> None:
    # Python 3.10 gets nothing on either arch; it says nothing about arm64 versus amd64.
    r = release("cp38-cp38-manylinux_2_17_x86_64", "cp38-cp38-macosx_11_0_arm64")
    assert release_wheel_platforms(r, None, "glibc", None, ARCHS) == both(YES, NO)


def test_unknown_python_sdist_only_is_no() -> None:
    r = release(sdist=True)
    assert release_wheel_platforms(r, None, "glibc", None, ARCHS) == both(NO, NO)
    assert release_wheel_platforms(r, (3, 11), "glibc", None, ARCHS) == both(NO, NO)


def test_abi3_wheel_serves_later_pythons() -> None:
    r = release("cp38-abi3-manylinux_2_17_x86_64", "cp38-abi3-manylinux_2_28_aarch64")
    assert release_wheel_platforms(r, (3, 12), "glibc", (2, 31), ARCHS) == both(YES, YES)
    assert release_wheel_platforms(r, (3, 7), "glibc", (2, 31), ARCHS) == both(NO, NO)
    # glibc 2.17 (CentOS 7) is too old for the manylinux_2_28 aarch64 wheel.
    assert release_wheel_platforms(r, (3, 12), "glibc", (2, 17), ARCHS) == both(YES, NO)
    assert release_wheel_platforms(r, None, "glibc", (2, 17), ARCHS) == both(YES, NO)


def test_musllinux_levels_and_legacy_manylinux() -> None:
    r = release("cp311-cp311-musllinux_1_2_x86_64", "cp311-cp311-manylinux1_x86_64")
    assert release_wheel_platforms(r, (3, 11), "musl", (1, 1), ["amd64"]) == {"amd64": NO}
    assert release_wheel_platforms(r, (3, 11), "musl", (1, 2), ["amd64"]) == {"amd64": YES}
    assert release_wheel_platforms(r, (3, 11), "glibc", (2, 5), ["amd64"]) == {"amd64": YES}


def test_requires_python_excludes_interpreter() -> None:
    r = release("py3-none-any", requires=">=3.10")
    assert release_wheel_platforms(r, (3, 9), "glibc", None, ARCHS) == both(NO, NO)
    assert release_wheel_platforms(r, (3, 10), "glibc", None, ARCHS) == both(YES, YES)
    assert release_wheel_platforms(r, None, "musl", None, ARCHS) == both(YES, YES)


def test_py2_only_pure_wheel_is_not_for_python3() -> None:
    r = release("py2-none-any")
    assert release_wheel_platforms(r, (3, 11), "glibc", None, ARCHS) == both(NO, NO)


def test_fold_platform() -> None:
    assert fold_platform("manylinux2014_x86_64") == ("glibc", (2, 17), "amd64")
    assert fold_platform("manylinux_2_17_x86_64") == ("glibc", (2, 17), "amd64")
    assert fold_platform("manylinux1_i686") == ("glibc", (2, 5), "386")
    assert fold_platform("musllinux_1_1_aarch64") == ("musl", (1, 1), "arm64")
    assert fold_platform("linux_armv7l") == ("linux", (0, 0), "arm")
    assert fold_platform("any") == ("any", (0, 0), "")
    assert fold_platform("macosx_11_0_arm64") is None
    assert fold_platform("win_amd64") is None


def test_releases_from_files_groups_and_filters() -> None:
    files = [
        FileEntry("Demo_Pkg-1.0.tar.gz", requires_python=">=3.8"),
        FileEntry("demo_pkg-1.0-cp38-cp38-win_amd64.whl", requires_python=">=3.8"),
        FileEntry("demo_pkg-1.0-py2.py3-none-any.whl", requires_python=">=3.8"),
        FileEntry("demo-pkg-0.9.tar.bz2"),
        FileEntry("demo_pkg-0.9-py2.7.egg"),
        FileEntry("demo_pkg-1.1-cp38-cp38-manylinux1_x86_64.whl", yanked=True),
        FileEntry("demo_pkg-1.2-cp38-cp38-manylinux1_x86_64.whl", yanked=True),
        FileEntry("demo_pkg-1.2.tar.gz"),
        FileEntry("garbage.whl"),
    ]
    r09, r10, r11, r12 = releases_from_files("demo-pkg", files)
    assert (r09.version, r09.has_sdist, r09.tags) == (Version("0.9"), True, frozenset())
    assert r10.requires_python == ">=3.8" and r10.has_sdist
    assert {platform for _, _, platform in r10.tags} == {("any", (0, 0), "")}
    assert r11.yanked and r11.tags
    # A yanked file in a live release is ignored, as pip does.
    assert not r12.yanked and not r12.tags and r12.has_sdist


def test_choose_version_rules() -> None:
    index = FakeIndex(
        demo=[
            *wheels("1.0", "py3-none-any"),
            *wheels("1.1", "py3-none-any", requires=">=3.10"),
            *wheels("1.2rc1", "py3-none-any"),
            FileEntry("demo-1.3-py3-none-any.whl", yanked=True),
            *wheels("1.4", "cp38-cp38-win_amd64"),
        ]
    )

    def pick(spec: str, python: tuple[int, int] | None = (3, 11)) -> Version | None:
        return choose_version("demo", spec, python, provider=index)

    assert pick(">=1.0") == Version("1.1")
    assert pick(">=1.0", (3, 9)) == Version("1.0")
    assert pick(">=1.0", None) == Version("1.1")
    assert pick(">=1.2rc1") == Version("1.2rc1")
    assert pick(">1.1") == Version("1.2rc1")  # only a pre-release matches: PEP 440 allows it
    assert pick("==1.3") == Version("1.3")  # yanked, but pinned exactly
    assert pick(">=1.3") is None  # Windows-only 1.4 is invisible on Linux
    assert pick("==1.4") is None
    assert choose_version("nothere", ">=1", (3, 11), provider=index) is None


def test_first_version_with_wheels_skips_yanked_and_prereleases() -> None:
    index = FakeIndex(
        demo=[
            *wheels("1.0", "cp311-cp311-manylinux_2_17_x86_64"),
            *wheels(
                "1.1rc1", "cp311-cp311-manylinux_2_17_x86_64", "cp311-cp311-manylinux_2_17_aarch64"
            ),
            FileEntry("demo-1.1-cp311-cp311-manylinux_2_17_aarch64.whl", yanked=True),
            FileEntry("demo-1.1-cp311-cp311-manylinux_2_17_x86_64.whl", yanked=True),
            *wheels(
                "1.2", "cp311-cp311-manylinux_2_28_x86_64", "cp311-cp311-manylinux_2_28_aarch64"
            ),
            *wheels(
                "1.3", "cp311-cp311-manylinux_2_17_x86_64", "cp311-cp311-manylinux_2_17_aarch64"
            ),
        ]
    )

    def first(libc_version: tuple[int, int] | None) -> Version | None:
        return first_version_with_wheels(
            "demo", (3, 11), "glibc", libc_version, ARCHS, Version("1.0"), provider=index
        )

    assert first(None) == Version("1.2")
    assert first((2, 17)) == Version("1.3")
    assert (
        first_version_with_wheels(
            "demo", (3, 12), "glibc", None, ARCHS, Version("1.0"), provider=index
        )
        is None
    )
