"""The records every Python-source reader returns.

A :class:`PyRequirement` is one requirement *as written somewhere*: in a
requirements file, a ``pyproject.toml`` array, a ``setup.py`` literal, a lock
file or a ``pip install`` command line. It carries both the parsed PEP 508 view
(when there is one) and the exact source span, so rules can report and fixers
can rewrite the text.
"""

from __future__ import annotations

import functools
from pathlib import Path
from urllib.parse import unquote, urlsplit

from dockerarch.lazyre import lazy_compile
from dockerarch.pynames import canonicalize_name
from dockerarch.pyspecifiers import parse_version, plain_clauses, written
from dockerarch.records import field, record
from dockerarch.syntax.positions import LineIndex, Span

TYPE_CHECKING = False
if TYPE_CHECKING:
    from packaging.markers import Marker
    from packaging.specifiers import SpecifierSet
    from packaging.utils import NormalizedName
    from packaging.version import Version


@record(slots=True)
class SourceIssue:
    """Something a reader could not read or understand; 1-based line and column."""

    file: Path | None
    line: int
    column: int
    message: str


@record(slots=True)
class PyRequirement:
    """One requirement with its exact source span.

    ``raw`` is the requirement text as given (the decoded string for TOML,
    JSON and Python literals; ``name==version`` for lock files); ``pep508`` says
    whether it is a PEP 508 requirement (else a path, URL or unreadable text).
    ``specifier`` is its version clauses as packaging prints them (``<5,>=4.2``;
    empty for none), which :func:`dockerarch.pyspecifiers.specifier_set` reads;
    ``pin_text`` the version they pin, as packaging prints it (:attr:`pin` reads it). ``end_line``
    and ``end_column`` are exclusive, like ruff's end locations. ``section`` is
    the table a project or lock file declares it in (``project.dependencies``,
    ``tool.poetry.group.dev.dependencies``, ``default``); empty for
    requirements files and command lines.
    """

    raw: str
    pep508: bool
    name: NormalizedName | None
    pin_text: str | None
    specifier: str
    marker: Marker | None
    extras: frozenset[str]
    url: str | None
    file: Path | None
    line: int
    column: int
    end_line: int
    end_column: int
    offset: int
    end_offset: int
    origin: str
    section: str = ""
    hashes: tuple[str, ...] = ()
    constraint: bool = False
    editable: bool = False

    @property
    def pin(self) -> Version | None:
        """The pinned version as packaging reads it (its import is paid when asked)."""
        return None if self.pin_text is None else parse_version(self.pin_text)

    @property
    def span(self) -> Span:
        return Span(self.offset, self.end_offset)

    @property
    def from_index(self) -> bool:
        """A named distribution pip fetches from an index (not a path, URL or constraint)."""
        return self.name is not None and not (self.editable or self.url or self.constraint)


@record(frozen=False)
class IndexOptions:
    """Where and in which format pip may fetch packages.

    ``no_binary``/``only_binary`` hold canonical names or ``":all:"`` with pip's
    mutual-exclusion semantics; ``format_changes`` keeps the raw values in order
    because a later source (a requirements file read after the command line)
    applies its changes on top of the earlier state, not as a set union.
    """

    index_url: str | None = None
    extra_index_urls: list[str] = field(default_factory=list)
    find_links: list[str] = field(default_factory=list)
    no_index: bool = False
    no_binary: set[str] = field(default_factory=set)
    only_binary: set[str] = field(default_factory=set)
    prefer_binary: bool = False
    pre: bool = False
    trusted_hosts: list[str] = field(default_factory=list)
    format_changes: list[tuple[str, str]] = field(default_factory=list)

    def add_no_binary(self, value: str) -> None:
        self.format_changes.append(("no_binary", value))
        _update_format(value, self.no_binary, self.only_binary)

    def add_only_binary(self, value: str) -> None:
        self.format_changes.append(("only_binary", value))
        _update_format(value, self.only_binary, self.no_binary)

    def allowed_formats(self, name: str) -> frozenset[str]:
        """``{"binary", "source"}`` minus what the options forbid for ``name``."""
        key = canonicalize_name(name)
        if key in self.only_binary:
            return frozenset({"binary"})
        if key in self.no_binary:
            return frozenset({"source"})
        if ":all:" in self.only_binary:
            return frozenset({"binary"})
        if ":all:" in self.no_binary:
            return frozenset({"source"})
        return frozenset({"binary", "source"})

    def updated_with(self, later: IndexOptions) -> IndexOptions:
        """These options with ``later`` (e.g. a requirements file's) applied on top."""
        out = IndexOptions(
            index_url=self.index_url,
            extra_index_urls=[*self.extra_index_urls],
            find_links=[*self.find_links, *later.find_links],
            no_index=self.no_index or later.no_index,
            no_binary=set(self.no_binary),
            only_binary=set(self.only_binary),
            prefer_binary=self.prefer_binary or later.prefer_binary,
            pre=self.pre or later.pre,
            trusted_hosts=[*self.trusted_hosts, *later.trusted_hosts],
            format_changes=[*self.format_changes],
        )
        if later.index_url is not None:
            out.index_url = later.index_url
        out.extra_index_urls.extend(later.extra_index_urls)
        for kind, value in later.format_changes:
            if kind == "no_binary":
                out.add_no_binary(value)
            else:
                out.add_only_binary(value)
        return out


def _update_format(value: str, target: set[str], other: set[str]) -> None:
    # pip: ":all:" resets both sets and wins over everything before it; a later
    # ":none:" in the same value clears the target again; naming a package
    # moves it from the other set to this one.
    items = value.split(",")
    while ":all:" in items:
        other.clear()
        target.clear()
        target.add(":all:")
        items = items[items.index(":all:") + 1 :]
        if ":none:" not in items:
            return
    for item in items:
        if item == ":none:":
            target.clear()
            continue
        key = canonicalize_name(item.strip())
        if key:
            other.discard(key)
            target.add(key)


@record(frozen=False)
class RequirementsResult:
    """What a reader found: requirements in source order, issues, file-level options."""

    requirements: list[PyRequirement] = field(default_factory=list)
    issues: list[SourceIssue] = field(default_factory=list)
    options: IndexOptions = field(default_factory=IndexOptions)
    files: list[Path] = field(default_factory=list)

    def extend(self, other: RequirementsResult) -> None:
        self.requirements.extend(other.requirements)
        self.issues.extend(other.issues)
        self.options = self.options.updated_with(other.options)
        self.files.extend(f for f in other.files if f not in self.files)


_URL_START = lazy_compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_EGG = lazy_compile(r"[#&]egg=([^&#]+)")
# A project name (and an extra's) as PEP 508 spells it.
_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_NAME_RE = lazy_compile(_NAME)
_LENIENT_NAME = lazy_compile(
    # No two optional whitespace runs side by side: failing would be quadratic in their length.
    rf"\s*({_NAME})\s*(?:\[[^\]]*\]\s*)?(?:[=!<>~@;(]|$)"
)
_ARCHIVE_SUFFIXES = (".whl", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip", ".tar")


@record(slots=True)
class _Interpretation:
    pep508: bool
    name: NormalizedName | None
    pin_text: str | None
    specifier: str
    marker: Marker | None
    extras: frozenset[str]
    url: str | None
    error: str | None


def is_url(text: str) -> bool:
    """A URL pip would fetch (``https://``, ``git+ssh://``, ``file:``), not a Windows drive."""
    m = _URL_START.match(text)
    return m is not None and m.end() > 2


# A file names the same few requirements in every install, and Dockerfiles repeat them;
# the reading depends on the text alone and makes a frozen record.
@functools.lru_cache(maxsize=4096)
def interpret(text: str) -> _Interpretation:
    """Read a requirement string the way pip's install_req_from_line would classify it."""
    text = text.strip()
    return _simple(text) or _pep508(text)


# A name, extras, comma-separated version clauses and nothing else: most requirements a
# Dockerfile names. packaging's Requirement reads them the same (tests/test_packaging_equivalence.py
# holds the two equal) but imports its marker parser and, through it, packaging.tags, platform,
# subprocess and logging: a fifth of a one-file run. No two optional whitespace runs side by
# side, so a failing match stays linear.
_CLAUSE = r"(?:~=|===|==|!=|<=|>=|<|>)[ \t]*[A-Za-z0-9._*+!-]+"
_SIMPLE = lazy_compile(
    rf"({_NAME})[ \t]*"
    r"(?:\[([A-Za-z0-9._, \t-]*)\][ \t]*)?"
    rf"({_CLAUSE}(?:[ \t]*,[ \t]*{_CLAUSE})*)?"
)


def _simple(text: str) -> _Interpretation | None:
    """``text`` read without packaging's Requirement; None when it is not that simple."""
    match = _SIMPLE.fullmatch(text)
    if match is None:
        return None
    name, extras_text, clauses = match.groups()
    extras: frozenset[str] = frozenset()
    if extras_text is not None and extras_text.strip():
        extras = frozenset(extra.strip() for extra in extras_text.split(","))
        if not all(_NAME_RE.fullmatch(extra) for extra in extras):
            return None
    plain = plain_clauses(clauses or "")
    if plain is not None:
        # Version equality holds for plain_clauses' distinct clauses only between equal texts.
        pins = {
            ".".join(map(str, c.release)) for c in plain if c.operator == "==" and not c.wildcard
        }
        pin = pins.pop() if len(pins) == 1 else None
        specifier = written(plain)
    else:
        from packaging.specifiers import InvalidSpecifier, SpecifierSet

        try:
            parsed = SpecifierSet(clauses or "")
        except InvalidSpecifier:
            return None
        pin, specifier = _text(exact_pin(parsed)), str(parsed)
    name = canonicalize_name(name)
    return _Interpretation(True, name, pin, specifier, None, extras, None, None)


def _pep508(text: str) -> _Interpretation:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        return _non_pep508(text, str(exc))
    pin = exact_pin(req.specifier)
    name = canonicalize_name(req.name)
    if pin is None and req.url and not req.specifier:
        file_name, file_version = _archive_name_version(req.url)
        if file_name == name:
            pin = file_version
    return _Interpretation(
        True, name, _text(pin), str(req.specifier), req.marker, frozenset(req.extras), req.url, None
    )


def _text(version: Version | None) -> str | None:
    return None if version is None else str(version)


def exact_pin(specifier: SpecifierSet) -> Version | None:
    """The single version ``specifier`` allows by ``==``/``===`` (no wildcards), if any."""
    from packaging.version import InvalidVersion, Version

    pins: set[Version] = set()
    for spec in specifier:
        if spec.operator in ("==", "===") and not spec.version.endswith(".*"):
            try:
                pins.add(Version(spec.version))
            except InvalidVersion:
                return None
    return pins.pop() if len(pins) == 1 else None


def _non_pep508(text: str, error: str) -> _Interpretation:
    url_like = is_url(text)
    location, sep, marker_text = text.partition("; " if url_like else ";")
    location = location.strip()
    marker: Marker | None = None
    if sep:
        from packaging.markers import InvalidMarker, Marker

        try:
            marker = Marker(marker_text.strip())
        except InvalidMarker:
            marker = None
    bare = location.split("[", 1)[0] if not url_like else location
    path_like = (
        bare.startswith((".", "/", "~"))
        or "/" in bare
        or "\\" in bare
        or bare.lower().endswith(_ARCHIVE_SUFFIXES)
    )
    if url_like or path_like:
        name, pin = _archive_name_version(location)
        egg = _EGG.search(location)
        if egg:
            name = _valid_name(egg.group(1))
        return _Interpretation(False, name, _text(pin), "", marker, frozenset(), location, None)
    lenient = _LENIENT_NAME.match(text)
    name = _valid_name(lenient.group(1)) if lenient else None
    # ${VAR} references are expanded by pip from the build environment; they
    # are expected here, not an error in the file.
    problem = None if "$" in text else error
    return _Interpretation(False, name, None, "", marker, frozenset(), None, problem)


def _valid_name(text: str) -> NormalizedName | None:
    if _NAME_RE.fullmatch(text):
        return canonicalize_name(text)
    return None


def _archive_name_version(location: str) -> tuple[NormalizedName | None, Version | None]:
    path = unquote(urlsplit(location).path) if is_url(location) else location
    base = path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    from packaging.utils import parse_sdist_filename, parse_wheel_filename
    from packaging.version import InvalidVersion

    try:
        if base.endswith(".whl"):
            name, version, _build, _tags = parse_wheel_filename(base)
            return name, version
        if base.endswith((".tar.gz", ".zip")):
            return parse_sdist_filename(base)
    except (ValueError, InvalidVersion):
        pass
    return None, None


def make_requirement(
    raw: str,
    *,
    file: Path | None,
    lines: LineIndex,
    span: Span,
    origin: str,
    section: str = "",
    parse_as: str | None = None,
    hashes: tuple[str, ...] = (),
    constraint: bool = False,
    editable: bool = False,
) -> tuple[PyRequirement, str | None]:
    """Build a :class:`PyRequirement` for ``raw`` at ``span`` of a text indexed by ``lines``.

    ``parse_as`` replaces ``raw`` for parsing when the source is not PEP 508
    (a Poetry table entry, a lock file pin). Returns the requirement and a
    message when the text is not a valid requirement.
    """
    info = interpret(raw if parse_as is None else parse_as)
    start = lines.position(span.start)
    end = lines.position(span.end)
    req = PyRequirement(
        raw=raw,
        pep508=info.pep508,
        name=info.name,
        pin_text=info.pin_text,
        specifier=info.specifier,
        marker=info.marker,
        extras=info.extras,
        url=info.url,
        file=file,
        line=start.line,
        column=start.column,
        end_line=end.line,
        end_column=end.column,
        offset=start.offset,
        end_offset=end.offset,
        origin=origin,
        section=section,
        hashes=hashes,
        constraint=constraint,
        editable=editable,
    )
    return req, info.error
