"""Every runtime dependency installs from a wheel on x86_64 and aarch64, glibc and musl.

dockerarch runs in CI images of every kind, Alpine on Graviton included; a dependency that
pip would have to compile there (Rust for libcst, C for tree-sitter) makes it uninstallable.
scripts/wheelhouse.sh downloads, per Python and platform, the wheels pip picks for setup.cfg's
``install_requires``; this test decides from their file names and tags, offline, that each
requirement has one. The download is not trusted: pip's choices are checked again here.
"""

from __future__ import annotations

import configparser
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import product
from pathlib import Path

import pytest
from packaging import tags
from packaging.requirements import Requirement
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

ROOT = Path(__file__).resolve().parent.parent
TARGETS_DIR = ROOT / ".wheelhouse" / "targets"
# Keep in step with scripts/wheelhouse.sh. manylinux2014 is glibc 2.17 (RHEL 7 and every
# distribution since); musllinux_1_2 is musl 1.2 (Alpine 3.13 and later: libcst ships no
# wheels for musl 1.1).
PYTHONS = ("3.10", "3.11", "3.12", "3.13")
PLATFORMS = (
    "manylinux2014_x86_64",
    "manylinux2014_aarch64",
    "musllinux_1_2_x86_64",
    "musllinux_1_2_aarch64",
)
_LEGACY_MANYLINUX = {"manylinux1": 5, "manylinux2010": 12, "manylinux2014": 17}
_PLATFORM = re.compile(
    r"(?P<legacy>manylinux1|manylinux2010|manylinux2014)_(?P<arch>\w+)\Z"
    r"|(?P<libc>manylinux|musllinux)_(?P<major>\d+)_(?P<minor>\d+)_(?P<arch2>\w+)\Z"
)


@dataclass(frozen=True)
class Target:
    """One CPython version on one platform, as pip's ``--python-version``/``--platform`` name it."""

    python: str
    platform: str

    @property
    def name(self) -> str:
        return f"cp{self.python.replace('.', '')}-{self.platform}"

    @property
    def arch(self) -> str:
        match = _PLATFORM.match(self.platform)
        if match is None:
            raise ValueError(f"not a manylinux or musllinux platform: {self.platform}")
        return match["arch"] or match["arch2"]

    def platform_tags(self) -> Iterator[str]:
        """Every platform tag a system of this kind installs: the same libc or older."""
        match = _PLATFORM.match(self.platform)
        if match is None:
            raise ValueError(f"not a manylinux or musllinux platform: {self.platform}")
        arch = self.arch
        if match["legacy"]:
            libc, major, minor = "manylinux", 2, _LEGACY_MANYLINUX[match["legacy"]]
        else:
            libc, major, minor = match["libc"], int(match["major"]), int(match["minor"])
        for older in range(minor, -1, -1):
            yield f"{libc}_{major}_{older}_{arch}"
            if libc == "manylinux" and major == 2:
                yield from (
                    f"{legacy}_{arch}"
                    for legacy, glibc in _LEGACY_MANYLINUX.items()
                    if glibc == older
                )

    def supported(self) -> frozenset[tags.Tag]:
        version = tuple(int(part) for part in self.python.split("."))
        interpreter = f"cp{self.python.replace('.', '')}"
        platforms = list(self.platform_tags())
        return frozenset(
            [
                *tags.cpython_tags(version, abis=[interpreter], platforms=platforms),
                *tags.compatible_tags(version, interpreter, platforms),
            ]
        )

    def environment(self) -> dict[str, str]:
        """Marker values on this target, so ``tomli; python_version < "3.11"`` is judged right."""
        return {
            "python_version": self.python,
            "python_full_version": f"{self.python}.0",
            "implementation_name": "cpython",
            "platform_python_implementation": "CPython",
            "os_name": "posix",
            "sys_platform": "linux",
            "platform_system": "Linux",
            "platform_machine": self.arch,
        }


def runtime_requirements(setup_cfg: Path) -> list[Requirement]:
    cfg = configparser.ConfigParser()
    cfg.read(setup_cfg, encoding="utf-8")
    lines = cfg["options"]["install_requires"].splitlines()
    return [Requirement(line) for line in map(str.strip, lines) if line]


def missing_wheels(
    requirements: Iterable[Requirement], wheel_files: Iterable[str], target: Target
) -> list[str]:
    """The requirements (as written) that no wheel among ``wheel_files`` satisfies on ``target``."""
    supported = target.supported()
    available: list[tuple[str, str]] = []
    for filename in wheel_files:
        try:
            name, version, _, wheel_tags = parse_wheel_filename(filename)
        except InvalidWheelFilename:
            continue
        if wheel_tags & supported:
            available.append((name, str(version)))
    env = target.environment()
    return [
        str(req)
        for req in requirements
        if (req.marker is None or req.marker.evaluate(env))
        and not any(
            name == canonicalize_name(req.name)
            and req.specifier.contains(version, prereleases=True)
            for name, version in available
        )
    ]


TARGETS = [Target(python, platform) for python, platform in product(PYTHONS, PLATFORMS)]


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
def test_every_runtime_requirement_has_a_wheel(target: Target) -> None:
    if not TARGETS_DIR.is_dir():
        pytest.skip(f"no {TARGETS_DIR}: run scripts/wheelhouse.sh (it downloads the wheels)")
    directory = TARGETS_DIR / target.name
    assert directory.is_dir(), f"scripts/wheelhouse.sh did not download {target.name}"
    wheels = [path.name for path in directory.glob("*.whl")]
    missing = missing_wheels(runtime_requirements(ROOT / "setup.cfg"), wheels, target)
    errors = directory / "pip-errors.txt"
    pip_said = errors.read_text(encoding="utf-8").strip() if errors.exists() else ""
    assert not missing, (
        f"no wheel on {target.name} for {missing}: pip would build them from source. "
        f"pip download said:\n{pip_said}"
    )


# The checking function itself, on a made-up wheelhouse.

_GLIBC_ARM = Target("3.11", "manylinux2014_aarch64")
_MUSL_ARM = Target("3.11", "musllinux_1_2_aarch64")
_GLIBC_X86_310 = Target("3.10", "manylinux2014_x86_64")


def _missing(requirements: list[str], wheels: list[str], target: Target) -> list[str]:
    return missing_wheels([Requirement(r) for r in requirements], wheels, target)


def test_pure_python_wheels_serve_every_target() -> None:
    for target in (_GLIBC_ARM, _MUSL_ARM, _GLIBC_X86_310):
        assert _missing(["attrs>=22"], ["attrs-23.2.0-py3-none-any.whl"], target) == []


def test_a_wheel_for_the_other_architecture_does_not_count() -> None:
    wheels = ["fastthing-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"]
    assert _missing(["fastthing>=1"], wheels, _GLIBC_ARM) == ["fastthing>=1"]
    arm = ["fastthing-1.0-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl"]
    assert _missing(["fastthing>=1"], arm, _GLIBC_ARM) == []


def test_glibc_and_musl_wheels_are_not_interchangeable() -> None:
    glibc = ["fastthing-1.0-cp311-cp311-manylinux_2_17_aarch64.whl"]
    musl = ["fastthing-1.0-cp311-cp311-musllinux_1_1_aarch64.whl"]
    assert _missing(["fastthing"], glibc, _MUSL_ARM) == ["fastthing"]
    assert _missing(["fastthing"], musl, _GLIBC_ARM) == ["fastthing"]
    assert _missing(["fastthing"], musl, _MUSL_ARM) == []


def test_a_wheel_for_a_newer_libc_does_not_count() -> None:
    newer_glibc = ["fastthing-1.0-cp311-cp311-manylinux_2_28_aarch64.whl"]
    assert _missing(["fastthing"], newer_glibc, _GLIBC_ARM) == ["fastthing"]
    # libcst's case: wheels for musl 1.2 only, none for a musl 1.1 system.
    musl_1_2 = ["fastthing-1.0-cp311-cp311-musllinux_1_2_aarch64.whl"]
    assert _missing(["fastthing"], musl_1_2, Target("3.11", "musllinux_1_1_aarch64"))
    assert _missing(["fastthing"], musl_1_2, _MUSL_ARM) == []


def test_older_manylinux_names_count_for_newer_systems() -> None:
    wheels = ["fastthing-1.0-cp310-cp310-manylinux1_x86_64.whl"]
    assert _missing(["fastthing"], wheels, _GLIBC_X86_310) == []
    assert _missing(["fastthing"], wheels, Target("3.10", "manylinux1_x86_64")) == []
    assert _missing(["fastthing"], wheels, Target("3.10", "manylinux_2_4_x86_64"))


def test_abi_and_version_must_fit() -> None:
    assert _missing(
        ["fastthing"], ["fastthing-1.0-cp312-cp312-manylinux2014_aarch64.whl"], _GLIBC_ARM
    )
    assert not _missing(
        ["fastthing"], ["fastthing-1.0-cp310-abi3-manylinux2014_aarch64.whl"], _GLIBC_ARM
    )
    old = ["fastthing-0.9-cp311-cp311-manylinux2014_aarch64.whl"]
    assert _missing(["fastthing>=1.0"], old, _GLIBC_ARM) == ["fastthing>=1.0"]


def test_names_are_compared_canonically_and_markers_apply() -> None:
    wheels = ["tree_sitter-0.23.2-cp311-cp311-musllinux_1_2_aarch64.whl"]
    assert _missing(["Tree-Sitter>=0.23"], wheels, _MUSL_ARM) == []
    only_old_pythons = ['tomli>=2; python_version < "3.11"']
    assert _missing(only_old_pythons, [], _MUSL_ARM) == []
    assert _missing(only_old_pythons, [], _GLIBC_X86_310) == only_old_pythons


def test_runtime_requirements_come_from_setup_cfg(tmp_path: Path) -> None:
    cfg = tmp_path / "setup.cfg"
    cfg.write_text(
        "[options]\ninstall_requires =\n"
        "    packaging>=23\n"
        "    tomli>=2.0; python_version < '3.11'\n",
        encoding="utf-8",
    )
    found = runtime_requirements(cfg)
    assert [str(r) for r in found] == ["packaging>=23", 'tomli>=2.0; python_version < "3.11"']
