"""Target platforms and the many spellings of an architecture."""

from __future__ import annotations

from dockerarch.records import record

# uname -m, dpkg, apk and release-asset spellings, folded to BuildKit's TARGETARCH.
_ARCH_ALIASES = {
    "amd64": "amd64",
    "x86_64": "amd64",
    "x86-64": "amd64",
    "x64": "amd64",
    "arm64": "arm64",
    "aarch64": "arm64",
    "arm64v8": "arm64",
    "arm": "arm",
    "armhf": "arm",
    "armv7l": "arm",
    "armv7": "arm",
    "armv6l": "arm",
    "arm32v7": "arm",
    "arm32v6": "arm",
    "386": "386",
    "i386": "386",
    "i686": "386",
    "x86": "386",
    "ppc64le": "ppc64le",
    "ppc64el": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
}


def normalize_arch(name: str) -> str | None:
    """TARGETARCH spelling of ``name`` (``x86_64`` -> ``amd64``), or None if unknown."""
    return _ARCH_ALIASES.get(name.lower())


@record(slots=True, order=True)
class Platform:
    """An OCI platform such as ``linux/arm64`` or ``linux/arm/v7``."""

    os: str
    arch: str
    variant: str = ""

    @classmethod
    def parse(cls, text: str) -> Platform:
        parts = text.strip().lower().split("/")
        if len(parts) == 1:
            parts = ["linux", *parts]
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(f"not a platform: {text!r} (expected os/arch[/variant])")
        arch = normalize_arch(parts[1]) or parts[1]
        variant = parts[2] if len(parts) == 3 else ""
        if arch == "arm" and not variant:
            variant = "v7"
        return cls(parts[0], arch, variant)

    def __str__(self) -> str:
        os, arch, variant = self.os, self.arch, self.variant
        if os and arch:
            # Every parsed platform: rules ask for this text per install and platform.
            return f"{os}/{arch}/{variant}" if variant else f"{os}/{arch}"
        return "/".join(p for p in (os, arch, variant) if p)

    def args(self) -> dict[str, str]:
        """BuildKit's automatic TARGET* ARG values for this platform."""
        return {
            "TARGETPLATFORM": str(self),
            "TARGETOS": self.os,
            "TARGETARCH": self.arch,
            "TARGETVARIANT": self.variant,
        }


DEFAULT_PLATFORMS = (Platform("linux", "amd64"), Platform("linux", "arm64"))
