"""Which Linux platforms a PyPI release has a usable wheel for.

The decisions here are pure functions over a `Provider`: by default the snapshot shipped in
``data/pypi_wheels.bin`` (one project inflated when first asked about), or any object with a
``releases(name)`` method, such as the online client in `dockerarch.knowledge.pypi_online`.

A release is reduced to what the decision needs: its wheel tags with the platform folded to
(libc family, libc version, architecture), whether it has an sdist, its ``Requires-Python``
and whether it is yanked. macOS and Windows wheels are dropped: they never install in a Linux
container.
"""

from __future__ import annotations

import enum
import functools
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

from dockerarch.lazyre import lazy_compile
from dockerarch.memo import BoundedMemo
from dockerarch.platforms import normalize_arch
from dockerarch.pynames import canonicalize_name
from dockerarch.pyspecifiers import allows, parse_version, plain_clauses, plain_release
from dockerarch.records import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import date
    from typing import Literal, Protocol, TypeAlias, TypeVar

    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

__all__ = [
    "SNAPSHOT_FORMAT",
    "FileEntry",
    "Libc",
    "PlatformKey",
    "Release",
    "Snapshot",
    "WheelAnswer",
    "WheelTag",
    "choose_version",
    "first_version_with_wheels",
    "fold_platform",
    "has_sdist",
    "is_pure",
    "known",
    "release_wheel_platforms",
    "releases_from_files",
    "snapshot",
    "snapshot_date",
    "wheel_platforms",
    "x86_only",
]

SNAPSHOT_FORMAT = 2
SNAPSHOT_RESOURCE = "pypi_wheels.bin"

# A string, so that typing is imported by type checkers only.
Libc: TypeAlias = 'Literal["glibc", "musl"]'
# ("glibc", (2, 17), "amd64"), ("musl", (1, 1), "arm64"), ("linux", (0, 0), "amd64") for the
# bare linux_<arch> tag every Linux pip accepts, ("any", (0, 0), "") for pure wheels.
PlatformKey: TypeAlias = tuple[str, tuple[int, int], str]
WheelTag: TypeAlias = tuple[str, str, PlatformKey]

ANY_PLATFORM: PlatformKey = ("any", (0, 0), "")

_LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
_PEP600 = lazy_compile(r"(manylinux|musllinux)_(\d+)_(\d+)_(.+)")
_LEGACY = lazy_compile(r"(manylinux1|manylinux2010|manylinux2014)_(.+)")
_BARE_LINUX = lazy_compile(r"linux_(.+)")
_FAMILY = {"manylinux": "glibc", "musllinux": "musl"}
_SDIST_SUFFIXES = (".tar.gz", ".zip", ".tar.bz2", ".tar.xz", ".tgz", ".tar")
# CPython minors a stage of unknown Python could plausibly run; cpXY tags in a release add more.
_PLAUSIBLE_PYTHONS = tuple((3, minor) for minor in range(6, 15))


class WheelAnswer(enum.Enum):
    """Whether pip finds a wheel for one architecture."""

    YES = "yes"
    NO = "no"
    # Only with an unknown stage Python: some CPython versions get a wheel, others do not.
    VARIES = "varies"
    # The package or the version is not in the data.
    UNKNOWN = "unknown-package"


@record(slots=True)
class FileEntry:
    """One file of an index's project page (PEP 503 / PEP 691)."""

    filename: str
    yanked: bool = False
    requires_python: str | None = None


@record(slots=True)
class Release:
    """What the wheel decision needs to know about one version of a project."""

    #: As packaging writes it (``2.31.0``, ``1.26.0rc1``); :attr:`version` reads it.
    version_text: str
    tags: frozenset[WheelTag]
    has_sdist: bool
    requires_python: str | None
    yanked: bool

    @property
    def version(self) -> Version:
        return parse_version(self.version_text)

    def allows_python(self, python: tuple[int, int]) -> bool:
        """False when ``Requires-Python`` rules out this CPython minor (pip skips the release)."""
        if not self.requires_python:
            return True
        plain = plain_clauses(self.requires_python)
        if plain is not None:
            return allows(plain, python)
        requires = _parse_specifier(self.requires_python)
        return requires is None or requires.contains(_python_version(python), prereleases=True)

    @property
    def installable(self) -> bool:
        """Whether pip on Linux sees any file of this release at all."""
        return self.has_sdist or bool(self.tags)


if TYPE_CHECKING:
    _K = TypeVar("_K")

    # For type checkers only (typing.Protocol would import typing, 5% of a one-file check):
    # at run time, anything with this method is a provider. Not in __all__, which lists
    # what ``import *`` finds at run time.
    class Provider(Protocol):
        """A source of release data: the shipped snapshot, a live index, a test double."""

        def releases(self, name: str) -> Sequence[Release] | None:
            """Releases of ``name`` oldest first, or None when the project is unknown."""
            ...


# Few distinct values (">=3.8" ...) shared by thousands of releases.
@functools.lru_cache(maxsize=1024)
def _parse_specifier(text: str | None) -> SpecifierSet | None:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    if not text:
        return None
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        # pip ignores a Requires-Python it cannot parse.
        return None


def _python_version(python: tuple[int, int]) -> str:
    return f"{python[0]}.{python[1]}"


def fold_platform(platform: str) -> PlatformKey | None:
    """Fold a wheel platform tag to a `PlatformKey`; None for tags no Linux pip accepts."""
    if platform == "any":
        return ANY_PLATFORM
    if match := _PEP600.fullmatch(platform):
        family, major, minor, arch = match.groups()
        return (_FAMILY[family], (int(major), int(minor)), _arch(arch))
    if match := _LEGACY.fullmatch(platform):
        legacy, arch = match.groups()
        return ("glibc", _LEGACY_MANYLINUX[legacy], _arch(arch))
    if match := _BARE_LINUX.fullmatch(platform):
        return ("linux", (0, 0), _arch(match.group(1)))
    return None


def _arch(wheel_arch: str) -> str:
    # Architectures BuildKit has no name for (ppc64, loongarch64...) stay as spelled.
    return normalize_arch(wheel_arch) or wheel_arch


def _file_version(project: str, filename: str) -> tuple[Version, frozenset[WheelTag] | None] | None:
    """(version, folded tags) for a wheel, (version, None) for an sdist, None for other files."""
    # Only an index's file list needs these: packaging.utils imports packaging.tags.
    from packaging.utils import (
        InvalidSdistFilename,
        InvalidWheelFilename,
        parse_sdist_filename,
        parse_wheel_filename,
    )
    from packaging.version import InvalidVersion, Version

    if filename.endswith(".whl"):
        try:
            _, version, _, tags = parse_wheel_filename(filename)
        except (InvalidWheelFilename, InvalidVersion):
            return None
        folded = set()
        for tag in tags:
            platform = fold_platform(tag.platform)
            if platform is not None:
                folded.add((tag.interpreter, tag.abi, platform))
        return version, frozenset(folded)
    suffix = next((s for s in _SDIST_SUFFIXES if filename.endswith(s)), None)
    if suffix is None:
        return None  # eggs, installers: pip never installs them
    try:
        if suffix in (".tar.gz", ".zip"):
            return parse_sdist_filename(filename)[1], None
        # Older sdist formats: the project name may hold dashes, so strip it by its length.
        stem = filename[: -len(suffix)]
        name_part, sep, version_text = stem.rpartition("-")
        if not sep or canonicalize_name(name_part) != canonicalize_name(project):
            return None
        return Version(version_text), None
    except (InvalidSdistFilename, InvalidVersion):
        return None


def releases_from_files(project: str, files: Iterable[FileEntry]) -> list[Release]:
    """Group an index's file list into releases, oldest first.

    A release is yanked when all its files are; otherwise its yanked files are ignored, as pip
    does. Its ``Requires-Python`` is the value most of its files carry.
    """
    grouped: dict[Version, list[tuple[FileEntry, frozenset[WheelTag] | None]]] = {}
    for entry in files:
        parsed = _file_version(project, entry.filename)
        if parsed is not None:
            grouped.setdefault(parsed[0], []).append((entry, parsed[1]))
    releases = []
    for version, entries in grouped.items():
        yanked = all(entry.yanked for entry, _ in entries)
        live = entries if yanked else [(e, t) for e, t in entries if not e.yanked]
        tags: set[WheelTag] = set()
        sdist = False
        for _, wheel_tags in live:
            if wheel_tags is None:
                sdist = True
            else:
                tags |= wheel_tags
        votes = Counter(entry.requires_python or None for entry, _ in live)
        requires = max(votes, key=lambda value: (votes[value], value or ""))
        releases.append(Release(str(version), frozenset(tags), sdist, requires, yanked))
    releases.sort(key=lambda release: release.version)
    return releases


class Snapshot:
    """The shipped offline data (written by scripts/build_pypi_snapshot.py): a JSON header
    line, then one zlib member per project, inflated when the project is first asked about.
    A check asks about a handful of projects; inflating and scanning the whole snapshot was
    ~5 ms of a one-file run."""

    def __init__(self, data: bytes) -> None:
        from dockerarch.knowledge.members import Members

        self._members = Members(data, SNAPSHOT_RESOURCE, SNAPSHOT_FORMAT)
        meta = self._members.header
        self._date: str = meta["date"]
        self.index_url: str = meta["index"]
        self._x86_only = frozenset[str](meta["x86_only"])
        self._requires: list[str] = meta["requires_python"]
        self._decoded: dict[str, list[Release]] = {}
        self._by_version: dict[str, dict[Version, Release]] = {}
        self._by_release: dict[str, dict[tuple[int, ...], Release]] = {}

    @classmethod
    def load(cls) -> Snapshot:
        from dockerarch.knowledge import data

        return cls(data.read_bytes(SNAPSHOT_RESOURCE))

    @property
    def date(self) -> date:
        """When the snapshot was taken (datetime is imported only when asked: ~2 ms)."""
        from datetime import date

        return date.fromisoformat(self._date)

    def packages(self) -> list[str]:
        return self._members.names()

    def is_x86_only(self, name: str) -> bool:
        return canonicalize_name(name) in self._x86_only

    def releases(self, name: str) -> list[Release] | None:
        key = canonicalize_name(name)
        decoded = self._decoded.get(key)
        if decoded is None:
            member = self._members.read(key)
            if member is None:
                return None
            decoded = self._decoded[key] = self._decode(member)
        return decoded

    def release(self, name: str, version: Version) -> Release | None:
        """The release of ``name`` at ``version``; None when either is unknown."""
        index = self._index(self._by_version, name, lambda r: r.version)
        return None if index is None else index.get(version)

    def plain_release(self, name: str, release: tuple[int, ...]) -> Release | None:
        """The release of ``name`` that is the final release ``release`` (``(2, 31)`` for
        2.31.0: trailing zeros do not count); None when either is unknown.

        Answered from the versions' text, as the snapshot writes them normalized: a final
        release is digits and dots there, and no other release equals one.
        """
        index = self._index(self._by_release, name, lambda r: plain_release(r.version_text))
        return None if index is None else index.get(release)

    def _index(
        self,
        indexes: dict[str, dict[_K, Release]],
        name: str,
        key_of: Callable[[Release], _K | None],
    ) -> dict[_K, Release] | None:
        """``name``'s releases by ``key_of`` (the first of equal keys; None: left out), made
        once: each pinned requirement is looked up once per platform and per rule asking,
        and a scan of a project's releases costs hundreds of comparisons."""
        project = canonicalize_name(name)
        index = indexes.get(project)
        if index is None:
            releases = self.releases(project)
            if releases is None:
                return None
            index = {}
            for r in releases:
                key = key_of(r)
                if key is not None:
                    index.setdefault(key, r)
            indexes[project] = index
        return index

    def _decode(self, member: bytes) -> list[Release]:
        import json

        project = json.loads(member)
        tags: list[WheelTag] = [
            (interpreter, abi, (family, (major, minor), arch))
            for interpreter, abi, family, major, minor, arch in project["tags"]
        ]
        tagsets = [frozenset(tags[i] for i in indices) for indices in project["tagsets"]]
        return [
            Release(
                version_text=version,
                tags=tagsets[tagset],
                has_sdist=bool(flags & 1),
                requires_python=self._requires[requires] or None,
                yanked=bool(flags & 2),
            )
            for version, tagset, flags, requires in project["rows"]
        ]


@functools.cache
def snapshot() -> Snapshot:
    """The shipped snapshot (decoded on the first call)."""
    return Snapshot.load()


def _provider(provider: Provider | None) -> Provider:
    return snapshot() if provider is None else provider


def _find(provider: Provider | None, name: str, version: str | Version) -> Release | None:
    source = _provider(provider)
    if isinstance(source, Snapshot) and isinstance(version, str):
        numbers = plain_release(version.strip())
        if numbers is not None:
            return source.plain_release(name, numbers)
    from packaging.version import InvalidVersion, Version

    releases = source.releases(name)
    if releases is None:
        return None
    try:
        wanted = version if isinstance(version, Version) else Version(version)
    except InvalidVersion:
        return None
    if isinstance(source, Snapshot):
        return source.release(name, wanted)
    return next((r for r in releases if r.version == wanted), None)


def _cpython_abis(python: tuple[int, int]) -> list[str]:
    # Spelled out rather than taken from packaging, which reads the running interpreter's build
    # flags; the CPython of a container image is a release build (UCS-4 on 2.7, pymalloc < 3.8).
    nodot = f"{python[0]}{python[1]}"
    if python < (3, 0):
        return [f"cp{nodot}mu"]
    if python < (3, 8):
        return [f"cp{nodot}m"]
    return [f"cp{nodot}"]


@functools.cache
def _interpreter_tags(python: tuple[int, int]) -> tuple[frozenset[tuple[str, str]], ...]:
    """(interpreter, abi) pairs CPython ``python`` accepts: with a platform, and with ``any``.

    What packaging.tags' cpython_tags and compatible_tags yield for a release (GIL) build,
    without their platforms. Importing packaging.tags (platform, subprocess, logging) cost more
    than a check; tests/test_packaging_equivalence.py holds the two equal for every CPython minor.
    """
    major, minor = python
    cpython = f"cp{major}{minor}"
    # py3.X, then py3, then every older py3.x, as pip tries them.
    generic = [f"py{major}{minor}", f"py{major}", *(f"py{major}{m}" for m in range(minor))]
    platform_specific = {(cpython, abi) for abi in _cpython_abis(python)}
    platform_specific.add((cpython, "none"))
    if python >= (3, 2):
        # The stable ABI, from 3.2 (when it began) up to this minor.
        platform_specific |= {(f"cp{major}{m}", "abi3") for m in range(2, minor + 1)}
    platform_specific |= {(version, "none") for version in generic}
    pure = {(cpython, "none"), *((version, "none") for version in generic)}
    return frozenset(platform_specific), frozenset(pure)


def _platform_ok(
    platform: PlatformKey, libc: Libc, libc_version: tuple[int, int] | None, arch: str
) -> bool:
    family, version, wheel_arch = platform
    if wheel_arch != arch:
        return False
    if family == "linux":
        return True
    return family == libc and (libc_version is None or version <= libc_version)


def _has_wheel(
    release: Release,
    python: tuple[int, int],
    libc: Libc,
    libc_version: tuple[int, int] | None,
    arch: str,
) -> bool:
    platform_specific, pure = _interpreter_tags(python)
    for interpreter, abi, platform in release.tags:
        if platform == ANY_PLATFORM:
            if (interpreter, abi) in pure:
                return True
        elif (interpreter, abi) in platform_specific and _platform_ok(
            platform, libc, libc_version, arch
        ):
            return True
    return False


def _candidate_pythons(release: Release) -> list[tuple[int, int]]:
    found = set(_PLAUSIBLE_PYTHONS)
    for interpreter, _, _ in release.tags:
        digits = interpreter[2:]
        if interpreter.startswith("cp") and len(digits) >= 2 and digits.isdigit():
            found.add((int(digits[0]), int(digits[1:])))
    return sorted(p for p in found if release.allows_python(p))


def release_wheel_platforms(
    release: Release,
    python: tuple[int, int] | None,
    libc: Libc,
    libc_version: tuple[int, int] | None,
    archs: Iterable[str],
) -> dict[str, WheelAnswer]:
    """Per architecture, whether pip finds a wheel of ``release``; see `wheel_platforms`."""
    return dict(_release_wheel_platforms(release, python, libc, libc_version, tuple(archs)))


# A pure function of its arguments, so it holds for any provider's releases; every platform
# and rule that looks at a requirement asks again, and with no known Python each answer
# tries a dozen CPython versions.
@functools.lru_cache(maxsize=4096)
def _release_wheel_platforms(
    release: Release,
    python: tuple[int, int] | None,
    libc: Libc,
    libc_version: tuple[int, int] | None,
    archs: tuple[str, ...],
) -> tuple[tuple[str, WheelAnswer], ...]:
    wanted = [normalize_arch(arch) or arch for arch in archs]
    if python is not None:
        return tuple(
            {
                arch: WheelAnswer.YES
                if release.allows_python(python)
                and _has_wheel(release, python, libc, libc_version, arch)
                else WheelAnswer.NO
                for arch in wanted
            }.items()
        )
    per_python = []
    for candidate in _candidate_pythons(release):
        row = {arch: _has_wheel(release, candidate, libc, libc_version, arch) for arch in wanted}
        if any(row.values()):
            per_python.append(row)
    answers = {}
    for arch in wanted:
        seen = {row[arch] for row in per_python}
        if seen == {True}:
            answers[arch] = WheelAnswer.YES
        elif seen == {True, False}:
            answers[arch] = WheelAnswer.VARIES
        else:
            answers[arch] = WheelAnswer.NO
    return tuple(answers.items())


def wheel_platforms(
    name: str,
    version: str | Version,
    python: tuple[int, int] | None,
    libc: Libc,
    libc_version: tuple[int, int] | None,
    archs: Iterable[str],
    *,
    provider: Provider | None = None,
) -> dict[str, WheelAnswer]:
    """Per architecture (TARGETARCH spelling), whether pip finds a wheel of ``name==version``.

    ``libc_version`` is the base image's glibc or musl version; None accepts any manylinux or
    musllinux level. A ``python`` the release's ``Requires-Python`` excludes gets NO everywhere.
    With ``python`` None (the stage's Python is unknown) every CPython version the release has
    a wheel for is tried: an architecture is YES or NO only if it is so for all of them, and
    VARIES otherwise; a release with no wheel for any of them is NO.
    """
    release = _find(provider, name, version)
    if release is None:
        return {normalize_arch(arch) or arch: WheelAnswer.UNKNOWN for arch in archs}
    return release_wheel_platforms(release, python, libc, libc_version, archs)


def _as_specifier(spec: SpecifierSet | str | Version) -> SpecifierSet:
    from packaging.specifiers import SpecifierSet
    from packaging.version import InvalidVersion, Version

    if isinstance(spec, SpecifierSet):
        return spec
    if isinstance(spec, Version):
        return SpecifierSet(f"=={spec}")
    text = spec.strip()
    try:
        return SpecifierSet(f"=={Version(text)}")
    except InvalidVersion:
        return SpecifierSet(text)


def _is_exact_pin(spec: SpecifierSet) -> bool:
    return len(spec) == 1 and all(
        s.operator == "===" or (s.operator == "==" and not s.version.endswith(".*")) for s in spec
    )


def choose_version(
    name: str,
    spec: SpecifierSet | str | Version,
    python: tuple[int, int] | None,
    *,
    provider: Provider | None = None,
) -> Version | None:
    """The version pip would pick for ``name`` + ``spec`` (a specifier set or an exact version).

    Newest match with some file on Linux, honouring ``Requires-Python`` when ``python`` is
    known; pre-releases only when the specifier names one or nothing final matches (PEP 440);
    yanked releases only for an exact pin with nothing else matching (PEP 592).
    """
    releases = _provider(provider).releases(name)
    if releases is None:
        return None
    specifier = _as_specifier(spec)
    usable = [r for r in releases if r.installable and (python is None or r.allows_python(python))]
    live = {r.version for r in usable if not r.yanked}
    picked = list(specifier.filter(sorted(live)))
    if not picked and _is_exact_pin(specifier):
        picked = list(specifier.filter(sorted({r.version for r in usable}), prereleases=True))
    return max(picked, default=None)


def first_version_with_wheels(
    name: str,
    python: tuple[int, int] | None,
    libc: Libc,
    libc_version: tuple[int, int] | None,
    archs: Iterable[str],
    at_least: Version,
    *,
    provider: Provider | None = None,
) -> Version | None:
    """The oldest final, non-yanked version >= ``at_least`` with a wheel on every arch."""
    releases = _provider(provider).releases(name)
    if releases is None:
        return None
    wanted = list(archs)
    for release in releases:
        if release.version < at_least or release.yanked or release.version.is_prerelease:
            continue
        if python is not None and not release.allows_python(python):
            continue
        answers = release_wheel_platforms(release, python, libc, libc_version, wanted)
        if all(answer is WheelAnswer.YES for answer in answers.values()):
            return release.version
    return None


def is_pure(name: str, version: str | Version, *, provider: Provider | None = None) -> bool | None:
    """Whether the release has a platform-independent wheel; None if unknown."""
    release = _find(provider, name, version)
    if release is None:
        return None
    tags = release.tags
    # Releases share their tag sets (the snapshot stores each once), and a frozenset keeps
    # its hash: a look-up instead of a walk over every tag, asked per requirement and platform.
    pure = _pure.get(tags)
    if pure is None:
        pure = _pure.keep(tags, any(platform == ANY_PLATFORM for _, _, platform in tags))
    return pure


_PURE_MAX = 4096
_pure: BoundedMemo[frozenset[WheelTag], bool] = BoundedMemo(_PURE_MAX)


def has_sdist(
    name: str, version: str | Version, *, provider: Provider | None = None
) -> bool | None:
    """Whether the release has a source distribution; None if unknown."""
    release = _find(provider, name, version)
    return None if release is None else release.has_sdist


def known(name: str, *, provider: Provider | None = None) -> bool:
    """Whether the data covers project ``name`` (any spelling)."""
    return _provider(provider).releases(name) is not None


def snapshot_date() -> date:
    """When the shipped snapshot was taken."""
    return snapshot().date


def x86_only(name: str) -> bool:
    """Whether ``name`` is an x86-only package (Intel MKL family and similar)."""
    return snapshot().is_x86_only(name)
