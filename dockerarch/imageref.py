"""Image references as written after FROM, normalised like the distribution reference grammar."""

from __future__ import annotations

import re
from functools import lru_cache

from dockerarch.lazyre import lazy_compile
from dockerarch.platforms import normalize_arch
from dockerarch.records import record

DEFAULT_REGISTRY = "docker.io"
# Older clients and docs spell the Hub these ways; they name the same registry.
_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})

_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_RE = lazy_compile(
    rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
)
_PATH_COMPONENT_RE = lazy_compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG_RE = lazy_compile(r"[\w][\w.-]{0,127}", re.ASCII)
_DIGEST_RE = lazy_compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")
_NAME_MAX = 255

# Docker Hub namespaces that hold single-architecture copies of the official images.
_ARCH_NAMESPACES = {
    "amd64": "amd64",
    "arm64v8": "arm64",
    "arm32v7": "arm",
    "arm32v6": "arm",
    "arm32v5": "arm",
    "i386": "386",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
    "mips64le": "mips64le",
    "winamd64": "amd64",
}

# An architecture word that is a whole dash/underscore/dot-separated part of a tag. Longest
# spellings first so that x86_64 is not read as a tag ending in "_64".
_TAG_ARCH_RE = lazy_compile(
    r"(?:^|[-_.])"
    r"(x86_64|x86-64|amd64|arm64v8|arm64|aarch64|arm32v7|arm32v6|armv7l?|armhf|i386|i686"
    r"|ppc64le|ppc64el|s390x|riscv64)"
    r"(?=$|[-_.])",
    re.IGNORECASE,
)


@record(slots=True)
class ImageRef:
    """A normalised image reference: ``docker.io/library/python:3.12`` and friends."""

    registry: str
    repository: str
    tag: str | None
    digest: str | None

    @property
    def official_name(self) -> str | None:
        """``python`` for ``docker.io/library/python``; None for anything else."""
        prefix = "library/"
        if self.registry == DEFAULT_REGISTRY and self.repository.startswith(prefix):
            return self.repository[len(prefix) :]
        return None

    @property
    def name(self) -> str:
        """``registry/repository`` without tag or digest."""
        return f"{self.registry}/{self.repository}"

    @property
    def familiar(self) -> str:
        """The short form ``docker`` prints: ``python:3.12``, ``ghcr.io/o/r@sha256:...``."""
        name = self.name
        if self.registry == DEFAULT_REGISTRY:
            name = self.official_name or self.repository
        return name + self._suffix()

    def _suffix(self) -> str:
        tag = f":{self.tag}" if self.tag is not None else ""
        digest = f"@{self.digest}" if self.digest is not None else ""
        return tag + digest

    def __str__(self) -> str:
        return self.name + self._suffix()


# Asked per stage and target platform, about the few references a set of files names.
@lru_cache(maxsize=4096)
def parse_image_ref(text: str) -> ImageRef | None:
    """Parse and normalise ``text``; None if it is not a valid reference or still has ``$``."""
    text = text.strip()
    if not text or "$" in text:
        return None
    remainder, _, digest = text.partition("@")
    if digest and not _DIGEST_RE.fullmatch(digest):
        return None
    name, tag = _split_tag(remainder)
    if tag is not None and not _TAG_RE.fullmatch(tag):
        return None
    if not name or len(name) > _NAME_MAX:
        return None
    registry, repository = _split_registry(name)
    if registry is None or not all(_PATH_COMPONENT_RE.fullmatch(c) for c in repository.split("/")):
        return None
    if registry == DEFAULT_REGISTRY and "/" not in repository:
        repository = f"library/{repository}"
    if tag is None and not digest:
        tag = "latest"
    return ImageRef(registry, repository, tag, digest or None)


def _split_tag(name: str) -> tuple[str, str | None]:
    # A colon after the last slash starts the tag; one before it belongs to host:port.
    colon = name.rfind(":")
    if colon > name.rfind("/"):
        return name[:colon], name[colon + 1 :]
    return name, None


def _split_registry(name: str) -> tuple[str | None, str]:
    first, slash, rest = name.partition("/")
    is_domain = slash and (
        "." in first or ":" in first or first == "localhost" or first.lower() != first
    )
    if not is_domain:
        return DEFAULT_REGISTRY, name
    if not _DOMAIN_RE.fullmatch(first):
        return None, rest
    registry = DEFAULT_REGISTRY if first.lower() in _HUB_ALIASES else first
    return registry, rest


def arch_pinned(ref: ImageRef) -> str | None:
    """TARGETARCH that ``ref`` is tied to by an arch namespace or an arch word in its tag."""
    if ref.registry == DEFAULT_REGISTRY:
        namespace = ref.repository.split("/", 1)[0]
        if namespace in _ARCH_NAMESPACES and "/" in ref.repository:
            return _ARCH_NAMESPACES[namespace]
    if ref.tag is not None:
        match = _TAG_ARCH_RE.search(ref.tag)
        if match:
            return normalize_arch(match.group(1))
    return None


def multiarch_equivalent(ref: ImageRef) -> str | None:
    """``ubuntu:22.04`` for ``amd64/ubuntu:22.04``; None when no equivalent can be known.

    A digest names one architecture's manifest, whose index digest cannot be derived offline, so
    digest-pinned references get None, as do arch words in tags (the multi-arch tag, if any, is
    the publisher's choice).
    """
    if ref.registry != DEFAULT_REGISTRY or ref.digest is not None or ref.tag is None:
        return None
    namespace, slash, rest = ref.repository.partition("/")
    if not slash or namespace not in _ARCH_NAMESPACES:
        return None
    return f"{rest}:{ref.tag}"
