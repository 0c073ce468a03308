"""How downloads spell the architecture: ``go…linux-amd64``, ``node…linux-x64``, ``awscli…x86_64``.

The table in ``data/download_arch_naming.tsv`` maps a URL or file-name
pattern and the amd64 spelling found in it to the spelling of the arm64 file,
so a fix can rewrite a hard-coded download into one per TARGETARCH.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache

from dockerarch.knowledge import data
from dockerarch.lazyre import lazy_compile
from dockerarch.memo import BoundedMemo
from dockerarch.records import record

#: The architectures the table knows spellings for, in TARGETARCH names.
ARCHES = ("amd64", "arm64")

# x86-64 spellings as a whole word of a file name or path: a letter or digit on
# either side makes it part of something else (``xamd64``, ``x64dbg``, a hash).
_AMD64_TOKEN = lazy_compile(
    r"(?<![A-Za-z0-9])(amd64|x86_64|x86-64|x64|linux64)(?![A-Za-z0-9])", re.IGNORECASE
)
# A download for another operating system never runs in a Linux image, whatever its CPU.
_OTHER_OS = lazy_compile(
    r"(?<![A-Za-z0-9])(darwin|macos|macosx|osx|mac|apple|windows|win|win32|win64|freebsd|"
    r"openbsd|netbsd|solaris|illumos|android)(?![A-Za-z0-9])|\.(exe|msi|dmg|pkg|msix)$",
    re.IGNORECASE,
)
# Generic guesses, for messages only: what the arm64 file is usually called.
_USUAL_ARM64 = {"amd64": "arm64", "x86_64": "aarch64", "x86-64": "aarch64", "x64": "arm64"}


@record(slots=True)
class ArchNaming:
    """One project's spelling of the architectures in its download names."""

    project: str
    #: TARGETARCH -> spelling; an architecture without a published build is absent.
    spelling: Mapping[str, str]
    #: The shell variable a fix stores the spelling in when it is not TARGETARCH's.
    variable: str
    #: Both spellings were seen in a public source; otherwise fixes stay display-only.
    verified: bool

    @property
    def is_targetarch(self) -> bool:
        """True when the names use TARGETARCH's own spellings (``${TARGETARCH}`` fits)."""
        return all(self.spelling.get(a) == a for a in ARCHES)

    def published(self, arch: str) -> bool:
        return arch in self.spelling


@record(slots=True)
class _Row:
    #: Compiled on first use (re caches it): most runs need a few of these, if any.
    pattern: str
    amd64: str
    naming: ArchNaming


@cache
def _rows() -> tuple[_Row, ...]:
    rows: list[_Row] = []
    header = True
    for line in data.read_text("download_arch_naming.tsv").splitlines():
        if not line or line.startswith("#"):
            continue
        if header:
            header = False
            continue
        pattern, amd64, arm64, variable, status, project = line.split("\t")
        spelling = {"amd64": amd64} if arm64 == "-" else {"amd64": amd64, "arm64": arm64}
        naming = ArchNaming(project, spelling, variable, status == "verified")
        rows.append(_Row(pattern, amd64.lower(), naming))
    return tuple(rows)


def naming_for(url: str, token: str) -> ArchNaming | None:
    """How the download at ``url`` (a URL or file name holding ``token``) spells arches."""
    key = (url, token)
    if key in _namings:
        return _namings[key]
    spelling = token.lower()
    found = None
    for row in _rows():
        if row.amd64 == spelling and re.search(row.pattern, url, re.IGNORECASE):
            found = row.naming
            break
    if len(url) <= _NAMINGS_URL_MAX:
        _namings.keep(key, found)
    return found


#: naming_for's answers: DA301 asks once to find a download and again to fix it, and
#: files repeat their downloads.
_NAMINGS_MAX = 4096
_namings: BoundedMemo[tuple[str, str], ArchNaming | None] = BoundedMemo(_NAMINGS_MAX)
#: The memo holds its URLs: a pathological one (a word of a megabyte) is not kept.
_NAMINGS_URL_MAX = 4096


def arch_tokens(url: str, token: str) -> dict[str, str] | None:
    """The spelling per TARGETARCH for the download at ``url``, or None when unknown."""
    naming = naming_for(url, token)
    return None if naming is None else dict(naming.spelling)


def find_amd64_tokens(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, token)`` of every x86-64 spelling in ``text`` as a whole word."""
    return [(m.start(), m.end(), m.group(1)) for m in _AMD64_TOKEN.finditer(text)]


def names_other_os(url: str) -> bool:
    """True when the file name, or a whole path segment, names a non-Linux OS."""
    path = re.split(r"[?#]", url, maxsplit=1)[0]
    segments = path.rstrip("/").split("/")
    if _OTHER_OS.search(segments[-1]):
        return True
    return any(_OTHER_OS.fullmatch(s) for s in segments[:-1])


def usual_arm64(token: str) -> str | None:
    """The arm64 spelling projects most often pair with ``token``; a hint, not a fact."""
    return _USUAL_ARM64.get(token.lower())
