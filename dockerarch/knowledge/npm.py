"""npm native addons: does a version ship a prebuilt binary for linux amd64/arm64 on glibc/musl?

The answer comes from a per-version summary of the npm registry document (install scripts,
``binary``, ``gypfile``, per-platform optional dependencies, ``os``/``cpu``/``libc``), the
``prebuilds/`` listed in published tarballs, and hand-checked facts with sources
(``data/npm_curated.toml``) where the metadata cannot tell. The same summariser feeds the
shipped snapshot (``data/npm_addons.bin``) and the online provider in ``npm_online``.

Semver ranges are resolved here with npm's rules (caret, tilde, x-ranges, hyphen ranges,
``||``, prerelease exclusion, dist-tags) so that no dependency is needed.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from functools import cache, lru_cache

from dockerarch.knowledge import curated, data
from dockerarch.lazyattr import cached_property
from dockerarch.lazyre import lazy_compile
from dockerarch.memo import BoundedMemo
from dockerarch.platforms import normalize_arch
from dockerarch.records import field, record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Protocol

__all__ = [
    "KIND_BUNDLED",
    "KIND_DOWNLOAD",
    "KIND_NODE_GYP",
    "KIND_NODE_GYP_BUILD",
    "KIND_NODE_PRE_GYP",
    "KIND_NONE",
    "KIND_PLATFORM_PACKAGES",
    "KIND_PREBUILD_INSTALL",
    "PLATFORM_KEYS",
    "SNAPSHOT_FORMAT",
    "AddonAnswer",
    "CuratedRule",
    "Note",
    "PackageRecord",
    "PlatformPackage",
    "SemVer",
    "SnapshotProvider",
    "VersionFacts",
    "addon_support",
    "classify_install",
    "is_native",
    "load_curated",
    "max_satisfying",
    "parse_curated",
    "parse_range",
    "platform_key",
    "platform_package_from_name",
    "prebuilds_from_listing",
    "record_from_json",
    "record_to_json",
    "resolve_version",
    "satisfies",
    "snapshot_date",
    "summarize_version",
]

# ---------------------------------------------------------------------------------------------
# Semver (node-semver semantics, strict parsing with a leading "v"/"=" tolerated)
# ---------------------------------------------------------------------------------------------

_NUM = r"0|[1-9]\d*"
_VERSION_RE = lazy_compile(
    rf"^\s*(?:[v=]\s*)?({_NUM})\.({_NUM})\.({_NUM})"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]+)?\s*$"
)
_PARTIAL_RE = lazy_compile(
    r"^[v=]?(\*|[xX]|\d+)(?:\.(\*|[xX]|\d+)(?:\.(\*|[xX]|\d+)"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]+)?)?)?$"
)


@record(slots=True)
class SemVer:
    """A semantic version; ordering follows semver 2.0 precedence (build metadata ignored)."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[int | str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> SemVer | None:
        return _parse_semver(text)

    @property
    def release(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    def _key(self) -> tuple[Any, ...]:
        # A version without prerelease sorts after all its prereleases; numeric identifiers
        # sort before alphanumeric ones.
        if not self.prerelease:
            return (self.release, 1, ())
        ids = tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in self.prerelease)
        return (self.release, 0, ids)

    def __lt__(self, other: SemVer) -> bool:
        return self._key() < other._key()

    def __le__(self, other: SemVer) -> bool:
        return self._key() <= other._key()

    def __gt__(self, other: SemVer) -> bool:
        return self._key() > other._key()

    def __ge__(self, other: SemVer) -> bool:
        return self._key() >= other._key()

    def __str__(self) -> str:
        core = f"{self.major}.{self.minor}.{self.patch}"
        return core + ("-" + ".".join(str(p) for p in self.prerelease) if self.prerelease else "")


@record(slots=True)
class _Comparator:
    op: str  # one of "<", "<=", ">", ">=", "="
    version: SemVer

    def test(self, v: SemVer) -> bool:
        o = self.version
        if self.op == "<":
            return v < o
        if self.op == "<=":
            return v <= o
        if self.op == ">":
            return v > o
        if self.op == ">=":
            return v >= o
        return v == o


_ComparatorSet = tuple[_Comparator, ...]
_ZERO = SemVer(0, 0, 0)


# Resolving a range parses every published version of a package, for every
# install of it and every platform: parse each text once (SemVer is immutable).
@lru_cache(maxsize=16384)
def _parse_semver(text: str) -> SemVer | None:
    m = _VERSION_RE.match(text)
    if m is None:
        return None
    pre = tuple(int(p) if p.isdigit() else p for p in m.group(4).split(".")) if m.group(4) else ()
    return SemVer(int(m.group(1)), int(m.group(2)), int(m.group(3)), pre)


def _floor(major: int, minor: int = 0, patch: int = 0) -> SemVer:
    """The lowest version of a release line, prereleases included (node-semver's ``-0``)."""
    return SemVer(major, minor, patch, (0,))


def _partial(text: str) -> tuple[int | None, int | None, int | None, tuple[int | str, ...]] | None:
    m = _PARTIAL_RE.match(text)
    if m is None:
        return None

    def num(s: str | None) -> int | None:
        return None if s is None or s in ("*", "x", "X") else int(s)

    major, minor, patch = num(m.group(1)), num(m.group(2)), num(m.group(3))
    # "1.x.3" means "1.x": anything after a wildcard is a wildcard.
    if major is None:
        minor = patch = None
    elif minor is None:
        patch = None
    pre = tuple(int(p) if p.isdigit() else p for p in m.group(4).split(".")) if m.group(4) else ()
    return major, minor, patch, pre


def _desugar(op: str, text: str) -> list[_Comparator] | None:
    parts = _partial(text)
    if parts is None:
        return None
    major, minor, patch, pre = parts
    if major is None:
        if op in ("<", ">"):
            return [_Comparator("<", _ZERO)]  # matches nothing, as in node-semver
        return []
    if op == "^":
        lo = SemVer(major, minor or 0, patch or 0, pre)
        if major > 0 or minor is None:
            hi = _floor(major + 1)
        elif minor > 0 or patch is None:
            hi = _floor(0, minor + 1)
        else:
            hi = _floor(0, 0, patch + 1)
        return [_Comparator(">=", lo), _Comparator("<", hi)]
    if op in ("~", "~>"):
        lo = SemVer(major, minor or 0, patch or 0, pre)
        hi = _floor(major + 1) if minor is None else _floor(major, minor + 1)
        return [_Comparator(">=", lo), _Comparator("<", hi)]
    if minor is None or patch is None:  # an x-range with an operator or none
        lo = SemVer(major, minor or 0, 0)
        hi = _floor(major + 1) if minor is None else _floor(major, minor + 1)
        if op in ("", "="):
            return [_Comparator(">=", lo), _Comparator("<", hi)]
        if op == ">=":
            return [_Comparator(">=", lo)]
        if op == "<":
            return [_Comparator("<", _floor(*lo.release))]
        if op == ">":
            return [_Comparator(">=", SemVer(*hi.release))]
        return [_Comparator("<", hi)]  # "<="
    return [_Comparator(op if op else "=", SemVer(major, minor, patch, pre))]


def _hyphen(lo_text: str, hi_text: str) -> list[_Comparator] | None:
    lo, hi = _partial(lo_text), _partial(hi_text)
    if lo is None or hi is None:
        return None
    out: list[_Comparator] = []
    if lo[0] is not None:
        out.append(_Comparator(">=", SemVer(lo[0], lo[1] or 0, lo[2] or 0, lo[3])))
    if hi[0] is not None:
        if hi[1] is None:
            out.append(_Comparator("<", _floor(hi[0] + 1)))
        elif hi[2] is None:
            out.append(_Comparator("<", _floor(hi[0], hi[1] + 1)))
        else:
            out.append(_Comparator("<=", SemVer(hi[0], hi[1], hi[2], hi[3])))
    return out


_TOKEN_RE = lazy_compile(r"(<=|>=|<|>|=|~>|~|\^)?\s*([^\s<>=~^]+)")


@cache
def parse_range(text: str) -> tuple[_ComparatorSet, ...] | None:
    """Parse an npm range into comparator sets (OR of ANDs); None if it is not a range."""
    sets: list[_ComparatorSet] = []
    for alt in text.split("||"):
        alt = alt.strip()
        hy = re.fullmatch(r"(\S+)\s+-\s+(\S+)", alt)
        if hy:
            bounds = _hyphen(hy.group(1), hy.group(2))
            if bounds is None:
                return None
            sets.append(tuple(bounds))
            continue
        pos = 0
        comps: list[_Comparator] = []
        while pos < len(alt):
            if alt[pos].isspace():
                pos += 1
                continue
            m = _TOKEN_RE.match(alt, pos)
            if m is None:
                return None
            got = _desugar(m.group(1) or "", m.group(2))
            if got is None:
                return None
            comps.extend(got)
            pos = m.end()
        sets.append(tuple(comps))
    return tuple(sets)


def _set_allows(cset: _ComparatorSet, v: SemVer, include_prerelease: bool) -> bool:
    if not all(c.test(v) for c in cset):
        return False
    if v.prerelease and not include_prerelease:
        # A prerelease only matches a set that names a prerelease of the same release. The
        # "-0" floors added while desugaring sit in "<" comparators, which exclude every
        # prerelease of their own release anyway.
        return any(c.version.prerelease and c.version.release == v.release for c in cset)
    return True


def satisfies(version: str | SemVer, range_text: str, *, include_prerelease: bool = False) -> bool:
    """npm's ``semver.satisfies``; False for anything that does not parse."""
    v = version if isinstance(version, SemVer) else SemVer.parse(version)
    sets = parse_range(range_text)
    if v is None or sets is None:
        return False
    return any(_set_allows(s, v, include_prerelease) for s in sets)


def max_satisfying(versions: Iterable[str], range_text: str) -> str | None:
    best: tuple[SemVer, str] | None = None
    for text in versions:
        v = SemVer.parse(text)
        if v is not None and satisfies(v, range_text) and (best is None or v > best[0]):
            best = (v, text)
    return best[1] if best else None


def resolve_version(
    spec: str, versions: Iterable[str], dist_tags: Mapping[str, str] | None = None
) -> str | None:
    """The version npm would pick for ``spec`` (exact version, dist-tag or range).

    Like npm-pick-manifest, the ``latest`` tag wins when it satisfies the range. Specs that
    are not registry versions (git URLs, ``file:``, ``npm:`` aliases, ``workspace:``) give None.
    """
    return _resolve(spec, _VersionOrder(versions), dist_tags or {})


def _resolve(spec: str, order: _VersionOrder, tags: Mapping[str, str]) -> str | None:
    spec = spec.strip() or "*"
    if spec in tags:
        return tags[spec] if tags[spec] in order.known else None
    exact = SemVer.parse(spec)
    if exact is not None:
        return order.first_of.get(exact)
    if parse_range(spec) is None:
        return None
    latest = tags.get("latest")
    if latest in order.known and latest is not None and satisfies(latest, spec):
        return latest
    # As max_satisfying: the newest match, the first spelling of it when several parse equal.
    return next((text for v, text in order.newest_first if satisfies(v, spec)), None)


class _VersionOrder:
    """A package's version texts parsed and ordered once, for every lookup that follows."""

    def __init__(self, versions: Iterable[str]) -> None:
        self.texts = list(versions)

    @cached_property
    def known(self) -> frozenset[str]:
        return frozenset(self.texts)

    @cached_property
    def parsed(self) -> list[tuple[SemVer, str]]:
        return [(v, text) for text in self.texts if (v := SemVer.parse(text)) is not None]

    @cached_property
    def first_of(self) -> dict[SemVer, str]:
        """Each version's first spelling."""
        out: dict[SemVer, str] = {}
        for v, text in self.parsed:
            out.setdefault(v, text)
        return out

    @cached_property
    def newest_first(self) -> list[tuple[SemVer, str]]:
        # A stable sort, so that equal versions keep their order.
        return sorted(self.parsed, key=lambda pair: pair[0]._key(), reverse=True)

    @cached_property
    def stable(self) -> list[tuple[SemVer, str]]:
        """Versions without a prerelease, oldest first."""
        return sorted(pair for pair in self.parsed if not pair[0].prerelease)


class _Same:
    """Hashes and compares by identity: a package's versions mapping as a cache key."""

    __slots__ = ("value",)

    def __init__(self, value: Mapping[str, VersionFacts]) -> None:
        self.value = value

    def __hash__(self) -> int:
        return id(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.value is self.value


# Every install of a package, on every platform and libc, resolves against the same record;
# records are never changed once made (an online answer is a new record), and the cache
# holds the ones it knows, so an identity cannot be reused while cached.
@lru_cache(maxsize=256)
def _ordered(versions: _Same) -> _VersionOrder:
    return _VersionOrder(versions.value)


def _record_order(record: PackageRecord) -> _VersionOrder:
    return _ordered(_Same(record.versions))


# ---------------------------------------------------------------------------------------------
# Platforms
# ---------------------------------------------------------------------------------------------

LIBCS = ("glibc", "musl")
PLATFORM_KEYS = ("linux-x64-glibc", "linux-x64-musl", "linux-arm64-glibc", "linux-arm64-musl")
_NODE_CPU = {"amd64": "x64", "arm64": "arm64", "arm": "arm", "386": "ia32"}


def platform_key(arch: str, libc: str) -> str:
    """``("arm64", "musl")`` -> ``"linux-arm64-musl"`` (node's ``process.arch`` spelling)."""
    norm = normalize_arch(arch) or arch.lower()
    cpu = _NODE_CPU.get(norm, norm)
    lc = libc.lower()
    lc = "glibc" if lc in ("gnu", "glibc", "") else lc
    if lc not in LIBCS:
        raise ValueError(f"unknown libc {libc!r} (expected glibc or musl)")
    return f"linux-{cpu}-{lc}"


def _split_key(key: str) -> tuple[str, str, str]:
    os_, cpu, libc = key.split("-")
    return os_, cpu, libc


def _expand_keys(patterns: Iterable[str]) -> list[str]:
    """Expand ``*`` wildcards such as ``linux-arm64-*`` against PLATFORM_KEYS."""
    out: list[str] = []
    for pat in patterns:
        rx = re.compile("^" + re.escape(pat).replace(r"\*", "[^-]+") + "$")
        hits = [k for k in PLATFORM_KEYS if rx.match(k)]
        if not hits:
            raise ValueError(f"platform pattern {pat!r} matches none of {PLATFORM_KEYS}")
        out.extend(h for h in hits if h not in out)
    return out


# ---------------------------------------------------------------------------------------------
# Facts per version
# ---------------------------------------------------------------------------------------------


@record(slots=True)
class PlatformPackage:
    """A per-platform optional dependency (``@img/sharp-linux-arm64``) and where it installs."""

    name: str
    os: tuple[str, ...] = ()
    cpu: tuple[str, ...] = ()
    libc: tuple[str, ...] = ()

    @classmethod
    def from_version(cls, name: str, meta: Mapping[str, Any]) -> PlatformPackage:
        """From the package's registry document for one version."""
        return cls(
            name,
            tuple(meta.get("os") or ()),
            tuple(meta.get("cpu") or ()),
            tuple(meta.get("libc") or ()),
        )

    def matches(self, key: str) -> bool:
        os_, cpu, libc = _split_key(key)
        return _allowed(self.os, os_) and _allowed(self.cpu, cpu) and _allowed(self.libc, libc)


def _allowed(values: Sequence[str], value: str) -> bool:
    """npm's os/cpu/libc check: an empty list allows all, ``!x`` excludes x."""
    if not values:
        return True
    if value in values:
        return True
    negated = [v[1:] for v in values if v.startswith("!")]
    return bool(negated) and len(negated) == len(values) and value not in negated


@record(slots=True)
class VersionFacts:
    """What the install of one version does on each linux platform.

    ``prebuilt`` maps platform keys to True (a binary is fetched or shipped), False (none);
    a key that is absent is unknown. ``unsupported`` maps keys to why it cannot work there.
    """

    kind: str
    fallback_build: bool = False
    prebuilt: Mapping[str, bool] = field(default_factory=dict)
    unsupported: Mapping[str, str] = field(default_factory=dict)
    os: tuple[str, ...] = ()
    cpu: tuple[str, ...] = ()
    libc: tuple[str, ...] = ()
    notes: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        if self.fallback_build:
            out["fallback"] = True
        if self.prebuilt:
            out["prebuilt"] = {k: self.prebuilt[k] for k in PLATFORM_KEYS if k in self.prebuilt}
        if self.unsupported:
            out["unsupported"] = dict(self.unsupported)
        for name in ("os", "cpu", "libc"):
            if getattr(self, name):
                out[name] = list(getattr(self, name))
        if self.notes:
            out["notes"] = list(self.notes)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VersionFacts:
        return cls(
            kind=str(data["kind"]),
            fallback_build=bool(data.get("fallback", False)),
            prebuilt={str(k): bool(v) for k, v in data.get("prebuilt", {}).items()},
            unsupported={str(k): str(v) for k, v in data.get("unsupported", {}).items()},
            os=tuple(data.get("os", ())),
            cpu=tuple(data.get("cpu", ())),
            libc=tuple(data.get("libc", ())),
            notes=tuple(int(n) for n in data.get("notes", ())),
        )


@record(slots=True)
class Note:
    """Why a curated rule says what it says."""

    reason: str
    sources: tuple[str, ...]


@record(slots=True)
class PackageRecord:
    name: str
    dist_tags: Mapping[str, str]
    versions: Mapping[str, VersionFacts]
    notes: tuple[Note, ...] = ()


if TYPE_CHECKING:
    # For type checkers only (typing.Protocol would import typing, 5% of a one-file check);
    # not in __all__, which lists what ``import *`` finds at run time.
    class NpmKnowledgeProvider(Protocol):
        """Where package records come from: the shipped snapshot or the live registry."""

        def package(self, name: str) -> PackageRecord | None: ...


# ---------------------------------------------------------------------------------------------
# Classifying install scripts
# ---------------------------------------------------------------------------------------------

# Install kinds, from the most to the least informative about prebuilt binaries.
KIND_PLATFORM_PACKAGES = "platform-packages"  # per-platform optionalDependencies
KIND_BUNDLED = "bundled"  # prebuilds/ in the tarball, no install step
KIND_NODE_GYP_BUILD = "node-gyp-build"  # prebuilds/ in the tarball, else node-gyp
KIND_NODE_PRE_GYP = "node-pre-gyp"  # downloads from the ``binary`` host
KIND_PREBUILD_INSTALL = "prebuild-install"  # downloads a release asset
KIND_DOWNLOAD = "download"  # a package-specific install script (binaries, browsers)
KIND_NODE_GYP = "node-gyp"  # always compiles
KIND_NONE = "none"

_PLATFORM_OS = {"linux", "linuxmusl", "darwin", "win32", "freebsd", "android", "openbsd", "sunos"}
_PLATFORM_CPU = {
    "x64", "arm64", "arm", "ia32", "x86", "s390x", "ppc64", "ppc64le", "riscv64", "loong64",
    "wasm32", "mips64el", "universal",
}  # fmt: skip
_PLATFORM_ABI = {"gnu", "glibc", "musl", "gnueabihf", "musleabihf", "msvc", "eabi"}


def platform_package_from_name(name: str) -> PlatformPackage | None:
    """Guess os/cpu/libc from names like ``@img/sharp-linuxmusl-arm64`` or ``x-linux-arm64-gnu``.

    Used only when the platform package's own document (which carries the authoritative
    ``os``/``cpu``/``libc`` fields) is not at hand.
    """
    tokens = name.rsplit("/", 1)[-1].split("-")
    os_ = next((t for t in tokens if t in _PLATFORM_OS), None)
    cpu = next((t for t in tokens if t in _PLATFORM_CPU), None)
    if os_ is None or cpu is None:
        return None
    abi = next((t for t in tokens if t in _PLATFORM_ABI), None)
    libc: tuple[str, ...] = ()
    if os_ == "linuxmusl" or (abi is not None and abi.startswith("musl")):
        libc = ("musl",)
    elif os_ == "linux" and abi is not None:
        libc = ("glibc",)
    return PlatformPackage(name, ("linux" if os_ == "linuxmusl" else os_,), (cpu,), libc)


def _scripts(meta: Mapping[str, Any]) -> str:
    scripts = meta.get("scripts")
    if not isinstance(scripts, Mapping):
        return ""
    return " && ".join(
        str(scripts[k]) for k in ("preinstall", "install", "postinstall") if scripts.get(k)
    )


def classify_install(meta: Mapping[str, Any]) -> tuple[str, bool]:
    """(install kind, whether a missing prebuilt falls back to a source build)."""
    script = _scripts(meta)
    if re.search(r"npm_config_build_from_source=true", script):
        return KIND_NODE_GYP, False
    if "node-gyp-build" in script:
        return KIND_NODE_GYP_BUILD, True
    if "node-pre-gyp" in script:
        return KIND_NODE_PRE_GYP, "fallback-to-build" in script or "||" in script
    if re.search(r"prebuild-install|prebuild --(install|download)|install-from-cache", script):
        return KIND_PREBUILD_INSTALL, "||" in script or "prebuild --" in script
    if re.search(r"\bnode-gyp\b|node-waf|\bmake\b|cmake-js", script):
        return KIND_NODE_GYP, False
    if script.strip():
        return KIND_DOWNLOAD, False
    if meta.get("gypfile") is True:
        # npm runs "node-gyp rebuild" itself when binding.gyp exists and no install script.
        return KIND_NODE_GYP, False
    return KIND_NONE, False


_PREBUILD_DIR_RE = lazy_compile(
    r"(?:^|/)prebuilds/(?P<plat>[a-z]+)-(?P<arch>[a-z0-9+]+)(?:/(?P<file>[^/]+\.node)|\.node)$"
)
_BIN_DIR_RE = lazy_compile(
    r"(?:^|/)bin/(?P<plat>[a-z]+)-(?P<arch>[a-z0-9]+)-node-[0-9.]+/[^/]+\.node$"
)


def prebuilds_from_listing(paths: Iterable[str]) -> dict[str, bool | None]:
    """Which linux platforms a tarball's shipped ``*.node`` files cover.

    Understands prebuildify's ``prebuilds/linux-arm64/name.musl.node`` (libc tag optional),
    flat ``prebuilds/linuxmusl-arm64.node`` and deasync-style ``bin/linux-x64-node-18/``.
    A linux prebuild without a libc tag counts for glibc; whether it loads on musl is unknown
    (None) unless a musl one is shipped too.
    """
    found: dict[str, bool | None] = {}
    for path in paths:
        m = _PREBUILD_DIR_RE.search(path) or _BIN_DIR_RE.search(path)
        if m is None or m.group("plat") not in ("linux", "linuxmusl"):
            continue
        file = m.groupdict().get("file") or ""
        tags = set(file.split(".")[1:-1])
        for arch in m.group("arch").split("+"):
            if f"linux-{arch}-glibc" not in PLATFORM_KEYS:
                continue
            if m.group("plat") == "linuxmusl" or "musl" in tags:
                found[f"linux-{arch}-musl"] = True
                continue
            found[f"linux-{arch}-glibc"] = True
            if "glibc" not in tags:
                found.setdefault(f"linux-{arch}-musl", None)
    return found


# ---------------------------------------------------------------------------------------------
# Curated facts
# ---------------------------------------------------------------------------------------------


@record(slots=True)
class CuratedRule:
    versions: str
    reason: str
    sources: tuple[str, ...]
    kind: str | None = None
    fallback: bool | None = None
    prebuilt: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    unsupported: tuple[str, ...] = ()
    os: tuple[str, ...] = ()

    def applies(self, version: str) -> bool:
        return satisfies(version, self.versions, include_prerelease=True)


_KINDS = {
    KIND_PLATFORM_PACKAGES, KIND_BUNDLED, KIND_NODE_GYP_BUILD, KIND_NODE_PRE_GYP,
    KIND_PREBUILD_INSTALL, KIND_DOWNLOAD, KIND_NODE_GYP, KIND_NONE,
}  # fmt: skip


def _rule_from_toml(name: str, raw: Mapping[str, Any]) -> CuratedRule:
    allowed = {"versions", "reason", "sources", "kind", "fallback", "prebuilt", "missing"}
    allowed |= {"unsupported", "os"}
    extra = set(raw) - allowed
    if extra:
        raise ValueError(f"{name}: unknown keys in curated rule: {sorted(extra)}")
    if not raw.get("sources"):
        raise ValueError(f"{name}: curated rule {raw.get('versions')!r} has no sources")
    if parse_range(str(raw["versions"])) is None:
        raise ValueError(f"{name}: bad range {raw['versions']!r}")
    kind = raw.get("kind")
    if kind is not None and kind not in _KINDS:
        raise ValueError(f"{name}: unknown kind {kind!r}")
    return CuratedRule(
        versions=str(raw["versions"]),
        reason=str(raw["reason"]),
        sources=tuple(str(s) for s in raw["sources"]),
        kind=kind,
        fallback=raw.get("fallback"),
        prebuilt=tuple(_expand_keys(raw.get("prebuilt", ()))),
        missing=tuple(_expand_keys(raw.get("missing", ()))),
        unsupported=tuple(_expand_keys(raw.get("unsupported", ()))),
        os=tuple(raw.get("os", ())),
    )


def parse_curated(text: str) -> dict[str, tuple[CuratedRule, ...]]:
    """The rules of an ``npm_curated.toml`` text."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib

    return _curated_rules(tomllib.loads(text))


def _curated_rules(data: dict[str, Any]) -> dict[str, tuple[CuratedRule, ...]]:
    return {
        name: tuple(_rule_from_toml(name, r) for r in body.get("rule", ()))
        for name, body in data.items()
    }


@cache
def load_curated() -> Mapping[str, tuple[CuratedRule, ...]]:
    """The hand-checked facts shipped in ``data/npm_curated.toml``."""
    return _curated_rules(curated.load("npm_curated"))


def summarize_version(
    meta: Mapping[str, Any],
    *,
    platform_packages: Mapping[str, PlatformPackage] | None = None,
    tarball_files: Iterable[str] | None = None,
    rules: Sequence[CuratedRule] = (),
    notes: list[Note] | None = None,
) -> VersionFacts:
    """Facts for one version document of the registry, with curated rules applied on top.

    ``platform_packages`` gives the os/cpu/libc of optional dependencies by name (from their
    own registry documents); names missing there are parsed. ``notes`` collects the curated
    notes the result refers to (indices into that list).
    """
    version = str(meta.get("version", ""))
    applicable = [r for r in rules if r.applies(version)]
    kind, fallback = classify_install(meta)
    prebuilt: dict[str, bool] = {}
    unsupported: dict[str, str] = {}
    optional = meta.get("optionalDependencies")
    pps: list[PlatformPackage] = []
    if isinstance(optional, Mapping):
        known = platform_packages or {}
        for dep in optional:
            pp = known.get(dep) or platform_package_from_name(dep)
            if pp is not None:
                pps.append(pp)
    if len(pps) >= 2 and kind in (KIND_NONE, KIND_DOWNLOAD):
        kind, fallback = KIND_PLATFORM_PACKAGES, False
        prebuilt = {k: any(p.matches(k) for p in pps) for k in PLATFORM_KEYS}
    for rule in applicable:
        if rule.kind is not None:
            kind = rule.kind
            fallback = rule.kind in (KIND_NODE_GYP_BUILD, KIND_NODE_PRE_GYP, KIND_PREBUILD_INSTALL)
        if rule.fallback is not None:
            fallback = rule.fallback
    if tarball_files is not None:
        shipped = prebuilds_from_listing(tarball_files)
        if shipped and kind == KIND_NONE:
            kind = KIND_BUNDLED
        if kind in (KIND_NODE_GYP_BUILD, KIND_BUNDLED):
            prebuilt = {k: bool(shipped.get(k, False)) for k in PLATFORM_KEYS}
            for k, state in shipped.items():
                if state is None:
                    del prebuilt[k]
    if kind == KIND_NODE_GYP:
        prebuilt, fallback = dict.fromkeys(PLATFORM_KEYS, False), False
    os_ = tuple(str(x) for x in meta.get("os") or ())
    cpu = tuple(str(x) for x in meta.get("cpu") or ())
    libc = tuple(str(x) for x in meta.get("libc") or ())
    note_ids: list[int] = []
    for rule in applicable:
        for k in rule.prebuilt:
            prebuilt[k] = True
            unsupported.pop(k, None)
        for k in rule.missing:
            prebuilt[k] = False
        for k in rule.unsupported:
            prebuilt[k] = False
            unsupported[k] = rule.reason
        if rule.os:
            os_ = rule.os
        if notes is not None:
            note = Note(rule.reason, rule.sources)
            if note not in notes:
                notes.append(note)
            note_ids.append(notes.index(note))
    return VersionFacts(kind, fallback, prebuilt, unsupported, os_, cpu, libc, tuple(note_ids))


def is_native(facts: VersionFacts) -> bool:
    return facts.kind != KIND_NONE or bool(facts.os) or bool(facts.unsupported)


# ---------------------------------------------------------------------------------------------
# Answers
# ---------------------------------------------------------------------------------------------


@record(slots=True)
class AddonAnswer:
    """What installing ``name@resolved_version`` does on one linux platform.

    ``prebuilt`` is None when nobody knows. ``platform_skipped`` means npm does not install
    the package there at all (``os``/``cpu``/``libc`` fields), so there is nothing to build.
    """

    name: str
    resolved_version: str
    platform: str
    install_kind: str
    prebuilt: bool | None
    builds_from_source: bool
    unsupported: bool
    reason: str
    sources: tuple[str, ...] = ()
    platform_skipped: bool = False
    record: PackageRecord | None = field(default=None, repr=False, compare=False)

    @property
    def needs_attention(self) -> bool:
        """True when the install compiles or cannot work on this platform."""
        return self.builds_from_source or self.unsupported

    def first_version_with_prebuilt(self, arch: str, libc: str) -> str | None:
        """Lowest stable version from which every later stable version has a prebuilt.

        Versions whose answer is unknown break the run, so the result never rests on a
        guess; None when the newest stable version has no known prebuilt.
        """
        if self.record is None:
            return None
        key = platform_key(arch, libc)
        first: str | None = None
        for _, v in reversed(_record_order(self.record).stable):
            facts = self.record.versions[v]
            ok = facts.prebuilt.get(key) is True and key not in facts.unsupported
            if not ok:
                break
            first = v
        return first


def _describe_platform(key: str) -> str:
    _, cpu, libc = _split_key(key)
    return f"linux/{'amd64' if cpu == 'x64' else cpu} ({libc})"


def _decide(record: PackageRecord, version: str, key: str) -> AddonAnswer:
    facts = record.versions[version]
    _, cpu, libc = _split_key(key)
    notes = [record.notes[i] for i in facts.notes if i < len(record.notes)]
    sources = tuple(s for n in notes for s in n.sources)
    curated = "; ".join(n.reason for n in notes)
    where = _describe_platform(key)

    def answer(
        prebuilt: bool | None, build: bool, bad: bool, why: str, skip: bool = False
    ) -> AddonAnswer:
        text = f"{why} ({curated})" if curated and curated not in why else why
        return AddonAnswer(
            record.name,
            version,
            key,
            facts.kind,
            prebuilt,
            build,
            bad,
            text,
            sources,
            skip,
            record,
        )

    installs = _allowed(facts.os, "linux") and _allowed(facts.cpu, cpu)
    if not (installs and _allowed(facts.libc, libc)):
        fields = (("os", facts.os), ("cpu", facts.cpu), ("libc", facts.libc))
        limits = ", ".join(f"{n}={list(v)}" for n, v in fields if v)
        return answer(None, False, False, f"npm skips it on {where}: {limits}", skip=True)
    if key in facts.unsupported:
        return answer(False, False, True, f"does not work on {where}: {facts.unsupported[key]}")
    if facts.kind == KIND_NODE_GYP:
        return answer(False, True, False, "compiled with node-gyp at install on every platform")
    state = facts.prebuilt.get(key)
    if state is True:
        return answer(True, False, False, f"{facts.kind} provides a prebuilt binary for {where}")
    if state is False and facts.fallback_build:
        why = f"no prebuilt binary for {where}; {facts.kind} falls back to a node-gyp build"
        return answer(False, True, False, why)
    if state is False:
        why = f"no prebuilt binary for {where} and no source-build fallback ({facts.kind})"
        return answer(False, False, True, why)
    return answer(None, False, False, f"unknown whether {facts.kind} has a binary for {where}")


def addon_support(
    name: str,
    version_or_range: str,
    arch: str,
    libc: str = "glibc",
    provider: NpmKnowledgeProvider | None = None,
) -> AddonAnswer | None:
    """How ``name@version_or_range`` installs on linux/``arch`` with ``libc``.

    None when the package is not a known native addon (pure JavaScript packages included)
    or the spec resolves to no known version.
    """
    if provider is not None:
        return _addon_support(name, version_or_range, arch, libc, provider)
    # The shipped snapshot never changes: its answers are kept (a registry's are asked
    # anew). Each dependency is asked per platform and libc, by DA601 and DA701 both, and
    # files repeat their installs.
    key = (name, version_or_range, arch, libc)
    if key in _snapshot_answers:
        return _snapshot_answers[key]
    answer = _addon_support(name, version_or_range, arch, libc, SnapshotProvider.default())
    return _snapshot_answers.keep(key, answer)


_SNAPSHOT_ANSWERS_MAX = 4096
_snapshot_answers: BoundedMemo[tuple[str, str, str, str], AddonAnswer | None] = BoundedMemo(
    _SNAPSHOT_ANSWERS_MAX
)


def _addon_support(
    name: str, version_or_range: str, arch: str, libc: str, provider: NpmKnowledgeProvider
) -> AddonAnswer | None:
    record = provider.package(name)
    if record is None:
        return None
    version = _resolve(version_or_range, _record_order(record), record.dist_tags)
    if version is None:
        return None
    if not is_native(record.versions[version]):
        return None
    return _decide(record, version, platform_key(arch, libc))


# ---------------------------------------------------------------------------------------------
# The shipped snapshot
# ---------------------------------------------------------------------------------------------


def record_to_json(record: PackageRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "dist-tags": dict(record.dist_tags),
        "versions": {v: f.to_json() for v, f in record.versions.items()},
    }
    if record.notes:
        out["notes"] = [{"reason": n.reason, "sources": list(n.sources)} for n in record.notes]
    return out


def record_from_json(name: str, data: Mapping[str, Any]) -> PackageRecord:
    return PackageRecord(
        name=name,
        dist_tags={str(k): str(v) for k, v in data.get("dist-tags", {}).items()},
        versions={str(v): VersionFacts.from_json(f) for v, f in data["versions"].items()},
        notes=tuple(Note(n["reason"], tuple(n["sources"])) for n in data.get("notes", ())),
    )


SNAPSHOT_FORMAT = 2
SNAPSHOT_RESOURCE = "npm_addons.bin"


def snapshot_date() -> str:
    """When the shipped snapshot was generated (``dockerarch --version`` prints it)."""
    return SnapshotProvider.default().generated


class SnapshotProvider:
    """Package records from the shipped snapshot (written by scripts/build_npm_snapshot.py):
    a JSON header line, then one zlib member of JSON per package, inflated when the package
    is first asked about. Decoding the whole 0.9 MB was ~6 ms of the first npm question."""

    def __init__(self, blob: bytes) -> None:
        from dockerarch.knowledge.members import Members

        self._members = Members(blob, SNAPSHOT_RESOURCE, SNAPSHOT_FORMAT)
        self.generated: str = str(self._members.header.get("generated", ""))
        self._cache: dict[str, PackageRecord] = {}

    @classmethod
    @cache
    def default(cls) -> SnapshotProvider:
        return cls(data.read_bytes(SNAPSHOT_RESOURCE))

    def names(self) -> list[str]:
        return self._members.names()

    def package(self, name: str) -> PackageRecord | None:
        found = self._cache.get(name)
        if found is None:
            member = self._members.read(name)
            if member is None:
                return None
            found = self._cache[name] = record_from_json(name, json.loads(member))
        return found
