"""Which platforms an image tag is published for, from the shipped offline snapshots.

Two sources, both read lazily on first use and kept for the life of the process:

- ``official_images.bin`` (built by scripts/build_images_snapshot.py): every tag ever listed in
  Docker's official images, one compressed member per image so a lookup inflates only its image;
- ``vendor_images.tsv``: a short curated list of other well-known images.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache, lru_cache

from dockerarch.imageref import DEFAULT_REGISTRY, ImageRef, parse_image_ref
from dockerarch.knowledge import data
from dockerarch.knowledge.members import Members
from dockerarch.platforms import Platform
from dockerarch.records import record

_SNAPSHOT_FILE = "official_images.bin"
_VENDOR_FILE = "vendor_images.tsv"
_SNAPSHOT_FORMAT = 2

# Architecture names used by official-images Architectures: lines, in OCI platform form.
_OFFICIAL_ARCHES = {
    "amd64": "linux/amd64",
    "arm64v8": "linux/arm64",
    "arm32v7": "linux/arm/v7",
    "arm32v6": "linux/arm/v6",
    "arm32v5": "linux/arm/v5",
    "i386": "linux/386",
    "ppc64le": "linux/ppc64le",
    "s390x": "linux/s390x",
    "riscv64": "linux/riscv64",
    "mips64le": "linux/mips64le",
    "windows-amd64": "windows/amd64",
}
# Hub namespaces holding one architecture's copy of each official image.
_ARCH_NAMESPACES = {name: name for name in _OFFICIAL_ARCHES if "-" not in name}
_ARCH_NAMESPACES["winamd64"] = "windows-amd64"


def platform_string(os: str, arch: str, variant: str = "") -> str:
    """Canonical OCI platform text: ``linux/arm64`` (v8 is implied), ``linux/arm/v7``."""
    platform = Platform.parse("/".join(p for p in (os, arch, variant) if p))
    return str(_canonical(platform))


@lru_cache(maxsize=256)
def _parsed(text: str) -> Platform:
    # Every base image of every file asks about the same few platform texts.
    return _canonical(Platform.parse(text))


def _canonical(platform: Platform) -> Platform:
    if platform.arch == "arm64" and platform.variant == "v8":
        return Platform(platform.os, platform.arch)
    return platform


def _arm_level(variant: str) -> int:
    return int(variant[1:]) if variant[1:].isdigit() else 0


@record(slots=True)
class ImagePlatforms:
    """The platforms one image tag is published for, and where that fact comes from."""

    platforms: frozenset[str]
    source: str
    #: ISO date (``2025-05-06``). Text, not a date: importing datetime (~2 ms) for a value
    #: only the editor's hover shows would slow down every check.
    last_listed: str | None = None

    def supports(self, platform: Platform) -> bool:
        """Whether a build for ``platform`` finds a matching image.

        An arm/v7 host also takes v6 and v5 images, as containerd's platform matcher does.
        """
        want = _canonical(platform)
        for text in self.platforms:
            have = _parsed(text)
            if have == want:
                return True
            if (have.os, have.arch) == (want.os, want.arch) == (want.os, "arm") and 0 < _arm_level(
                have.variant
            ) <= _arm_level(want.variant):
                return True
        return False


class _OfficialSnapshot:
    """The official-images tags (a JSON header line, then one zlib member per image); each
    image's member is inflated on first request."""

    def __init__(self, data: bytes) -> None:
        self._members = Members(data, _SNAPSHOT_FILE, _SNAPSHOT_FORMAT)
        meta = self._members.header
        self.date: str = meta["snapshot_date"]
        self.source = f"official-images snapshot {self.date}"
        self._archsets: list[tuple[str, ...]] = [tuple(s.split(",")) for s in meta["archsets"]]
        # Each member's text, with a newline in front so that every line follows one.
        self._images: dict[str, str] = {}

    def _text(self, image: str) -> str | None:
        text = self._images.get(image)
        if text is None:
            member = self._members.read(image)
            if member is None:
                return None
            text = self._images[image] = "\n" + member.decode("utf-8")
        return text

    def lookup(self, image: str, tag: str) -> tuple[tuple[str, ...], str] | None:
        """Official-images architecture names and last listing date of ``image:tag``."""
        text = self._text(image)
        if text is None or "\t" in tag or "\n" in tag:
            return None
        # One line is looked up, not all parsed: an image such as python lists thousands of
        # tags. The last line of a tag wins, as when the lines were read into a dict.
        at = text.rfind(f"\n{tag}\t")
        if at < 0:
            return None
        end = text.find("\n", at + 1)
        line = text[at + 1 : end if end >= 0 else len(text)].rstrip("\r")
        _, archset, listed = line.split("\t")
        return self._archsets[int(archset)], listed


@cache
def _official() -> _OfficialSnapshot:
    return _OfficialSnapshot(data.read_bytes(_SNAPSHOT_FILE))


@record(slots=True)
class _VendorRow:
    pattern: str
    platforms: frozenset[str]
    source: str

    def rank(self, tag: str) -> tuple[int, int] | None:
        """How specifically the row's pattern matches ``tag`` (higher wins), or None."""
        if self.pattern == tag:
            return (1, len(tag))
        if self.pattern.endswith("*") and tag.startswith(self.pattern[:-1]):
            return (0, len(self.pattern))
        return None


@cache
def _vendor() -> dict[str, list[_VendorRow]]:
    text = data.read_text(_VENDOR_FILE)
    lines = (line for line in text.splitlines() if line and not line.startswith("#"))
    return _parse_vendor(lines)


def _parse_vendor(lines: Iterable[str]) -> dict[str, list[_VendorRow]]:
    import csv  # here: most files name only official images

    rows: dict[str, list[_VendorRow]] = {}
    for number, row in enumerate(
        csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE), start=1
    ):
        ref = parse_image_ref(row["repository"])
        if ref is None or ref.digest is not None or ":" in row["repository"].rpartition("/")[2]:
            raise ValueError(f"{_VENDOR_FILE} row {number}: bad repository {row['repository']!r}")
        platforms = frozenset(platform_string(*p.split("/")) for p in row["platforms"].split(","))
        rows.setdefault(ref.name, []).append(_VendorRow(row["tags"], platforms, row["source"]))
    return rows


def _best_vendor_row(rows: Iterable[_VendorRow], tag: str) -> _VendorRow | None:
    ranked = [(rank, row) for row in rows if (rank := row.rank(tag)) is not None]
    return max(ranked, key=lambda pair: pair[0])[1] if ranked else None


def _from_vendor(ref: ImageRef) -> ImagePlatforms | None:
    if ref.tag is None:
        return None
    row = _best_vendor_row(_vendor().get(ref.name, []), ref.tag)
    if row is None:
        return None
    return ImagePlatforms(row.platforms, f"vendor list: {row.source}")


def _from_official(ref: ImageRef) -> ImagePlatforms | None:
    if ref.registry != DEFAULT_REGISTRY or ref.tag is None:
        return None
    namespace, _, image = ref.repository.partition("/")
    if "/" in image:
        return None
    snapshot = _official()
    if namespace == "library":
        found = snapshot.lookup(image, ref.tag)
        if found is None:
            return None
        arches, listed = found
    elif namespace in _ARCH_NAMESPACES:
        # amd64/ubuntu:22.04 holds only the amd64 image of ubuntu:22.04, if that was published.
        found = snapshot.lookup(image, ref.tag)
        arch = _ARCH_NAMESPACES[namespace]
        if found is None or arch not in found[0]:
            return None
        arches, listed = (arch,), found[1]
    else:
        return None
    platforms = frozenset(_OFFICIAL_ARCHES.get(a) or platform_string("linux", a) for a in arches)
    return ImagePlatforms(platforms, snapshot.source, listed)


# Every stage asks once per target platform, and files share base images; a lookup in a
# big image's member (python lists thousands of tags) scans its text.
@lru_cache(maxsize=4096)
def image_platforms(ref: ImageRef) -> ImagePlatforms | None:
    """Platforms of ``ref`` from the offline snapshots; None when unknown or digest-pinned.

    A digest may name a single architecture's manifest, so no tag-level fact applies to it.
    """
    if ref.digest is not None:
        return None
    return _from_official(ref) or _from_vendor(ref)


def snapshot_date() -> str:
    """Date (YYYY-MM-DD) of the official-images commit the shipped snapshot was built from."""
    return _official().date
