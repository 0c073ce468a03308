"""What a rule reports: diagnostics, their fixes and where they point."""

from __future__ import annotations

import enum
from pathlib import Path

from dockerarch.records import field, record
from dockerarch.syntax.positions import Span


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "info": 1}[self.value]


class Applicability(enum.Enum):
    """How far a fix can be trusted, as in ruff."""

    #: Keeps the build's meaning on every platform that already worked.
    SAFE = "safe"
    #: Changes what some platform builds; review it.
    UNSAFE = "unsafe"
    #: Shown to the user, never applied automatically.
    DISPLAY_ONLY = "display-only"


@record(slots=True)
class Edit:
    """Replace ``span`` of a file's text with ``content``.

    ``path`` is None for the Dockerfile being checked; a fix may also edit a
    file in the build context (a requirements file, say).
    """

    span: Span
    content: str
    path: Path | None = None


@record(slots=True)
class PlatformVariant:
    """What each target architecture should build in place of whole instructions.

    ``span`` covers whole physical lines of one or more consecutive
    instructions of one stage; ``by_arch`` maps a TARGETARCH value
    ("amd64", "arm64", ...) to the Dockerfile text that architecture should
    build there instead (whole lines, ending in a newline; may be empty).
    Architectures that are not listed keep the original text. ``dockerarch
    fix --style stages`` turns variants into per-architecture stages; the
    fix's ``edits`` remain the inline (``case "$TARGETARCH"``) form of the
    same change.
    """

    span: Span
    by_arch: tuple[tuple[str, str], ...]


@record(slots=True)
class Fix:
    message: str
    edits: tuple[Edit, ...]
    applicability: Applicability
    #: The same change as per-architecture alternatives, when the fix makes
    #: platforms diverge; empty when every platform gets the same edits.
    variants: tuple[PlatformVariant, ...] = ()


@record(slots=True)
class ExternalLocation:
    """A place in another file of the build context (1-based, inclusive start)."""

    path: Path
    line: int
    column: int
    end_line: int
    end_column: int


@record(slots=True)
class Diagnostic:
    code: str
    message: str
    #: Where in the Dockerfile: the instruction or word that causes it.
    span: Span
    severity: Severity
    fix: Fix | None = None
    #: Target platforms this concerns (e.g. ``("linux/arm64",)``); empty = all.
    platforms: tuple[str, ...] = ()
    #: When the cause sits in another file (a requirements line), that place;
    #: it becomes the primary location and the Dockerfile span the related one.
    external: ExternalLocation | None = None
    #: Extra context shown with --verbose and in rich formats.
    notes: tuple[str, ...] = field(default=())
