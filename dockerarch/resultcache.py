"""A cache of check results, like ruff's: a file whose inputs did not change is not checked again.

A result depends on the Dockerfile (text, path, build context directory), the
resolved settings, the code that checks it (dockerarch and every installed rule
pack: file names, sizes and modification times, which catches editable installs
too) and the build-context files its rules look at. The first three make the
key. Context files cannot be known before the check runs (``COPY . .`` then
``pip install -r reqs/dev.txt``), so they are recorded while it runs and
compared on every hit:

- every file opened under the context directory (an audit hook sees each
  ``open``), by modification time and size; a file that could not be opened
  is recorded as missing;
- when the Dockerfile can read from the context at all (COPY/ADD without
  ``--from``, RUN with ``--mount``), every directory of the context by
  modification time, so that a file created or deleted anywhere (a
  requirements file that was missing) invalidates the entry. ``.git``,
  ``node_modules``, ``.venv`` and the cache itself are not walked; a context
  with more than :data:`MAX_CONTEXT_DIRS` directories is not cached.

Results that depend on registries (``--online``) are never cached. Entries are
JSON files written atomically; one that cannot be read or decoded is ignored.
A hit needs neither the parser nor the rules: the report is rendered from the
stored diagnostics and a rule index stored next to them.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from dockerarch import __version__
from dockerarch.diagnostics import (
    Applicability,
    Diagnostic,
    Edit,
    ExternalLocation,
    Fix,
    PlatformVariant,
    Severity,
)
from dockerarch.fileio import make_temp
from dockerarch.records import record
from dockerarch.syntax.positions import Span

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockerarch.engine import Context, Result, Rule, Settings
    from dockerarch.syntax.nodes import Dockerfile

CACHE_DIR_NAME = ".dockerarch_cache"
#: Bumped when the entry layout changes.
FORMAT = 1
MAX_CONTEXT_DIRS = 2000
_SKIP_DIRS = frozenset({".git", "node_modules", ".venv", CACHE_DIR_NAME})
_MISSING = -1


# -- recording what a check reads ---------------------------------------------


class _Recording:
    def __init__(self, root: str) -> None:
        self.prefix = root.rstrip(os.sep) + os.sep
        self.opened: set[str] = set()


_recording: _Recording | None = None
_hooked = False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    # Runs on every audited event of the process: leave as early as possible.
    if event != "open":
        return
    rec = _recording
    if rec is None:
        return
    target = args[0]
    if isinstance(target, (str, os.PathLike)):
        path = os.fspath(target)
        if isinstance(path, str):
            path = os.path.abspath(path)
            if path.startswith(rec.prefix):
                rec.opened.add(path)


class _Record:
    """What one check read from its build context (a context manager)."""

    def __init__(self, context_dir: Path | None) -> None:
        self._rec = None if context_dir is None else _Recording(os.path.abspath(context_dir))

    def __enter__(self) -> _Record:
        global _recording, _hooked
        if self._rec is not None:
            if not _hooked:
                # Audit hooks cannot be removed; outside a recording this one returns at once.
                sys.addaudithook(_audit)
                _hooked = True
            _recording = self._rec
        return self

    def __exit__(self, *exc: object) -> None:
        global _recording
        _recording = None

    @property
    def opened(self) -> frozenset[str]:
        return frozenset(self._rec.opened) if self._rec is not None else frozenset()


def reads_context(tree: Dockerfile) -> bool:
    """Whether a build of ``tree`` can read build-context files (so rules may too)."""
    for ins in tree.instructions:
        if ins.name in ("COPY", "ADD") and ins.flag("from") is None:
            return True
        if ins.name == "RUN" and ins.flag("mount") is not None:
            return True
    return False


def _context_dirs(root: str, skip: str) -> list[str] | None:
    """Every directory of the context (not following links) but ``skip``, or None when there
    are too many."""
    out = [root]
    stack = [root]
    while stack:
        try:
            entries = os.scandir(stack.pop())
        except OSError:
            continue
        with entries:
            for entry in entries:
                if entry.name in _SKIP_DIRS or entry.path == skip:
                    continue
                try:
                    is_dir = entry.is_dir(follow_symlinks=False)
                except OSError:
                    continue
                if is_dir:
                    out.append(entry.path)
                    stack.append(entry.path)
                    if len(out) > MAX_CONTEXT_DIRS:
                        return None
    return out


# -- encoding results -----------------------------------------------------------


def _span(s: Span) -> list[int]:
    return [s.start, s.end]


def encode_diagnostic(d: Diagnostic) -> dict[str, Any]:
    out: dict[str, Any] = {
        "code": d.code,
        "message": d.message,
        "span": _span(d.span),
        "severity": d.severity.value,
    }
    if d.fix is not None:
        out["fix"] = {
            "message": d.fix.message,
            "applicability": d.fix.applicability.value,
            "edits": [
                [_span(e.span), e.content, None if e.path is None else str(e.path)]
                for e in d.fix.edits
            ],
            "variants": [[_span(v.span), [list(p) for p in v.by_arch]] for v in d.fix.variants],
        }
    if d.platforms:
        out["platforms"] = list(d.platforms)
    if d.external is not None:
        x = d.external
        out["external"] = [str(x.path), x.line, x.column, x.end_line, x.end_column]
    if d.notes:
        out["notes"] = list(d.notes)
    return out


def decode_diagnostic(data: Mapping[str, Any]) -> Diagnostic:
    fix = None
    if "fix" in data:
        f = data["fix"]
        fix = Fix(
            message=f["message"],
            edits=tuple(
                Edit(Span(*span), content, None if path is None else Path(path))
                for span, content, path in f["edits"]
            ),
            applicability=Applicability(f["applicability"]),
            variants=tuple(
                PlatformVariant(Span(*span), tuple((arch, text) for arch, text in by_arch))
                for span, by_arch in f["variants"]
            ),
        )
    external = None
    if "external" in data:
        path, line, column, end_line, end_column = data["external"]
        external = ExternalLocation(Path(path), line, column, end_line, end_column)
    return Diagnostic(
        code=data["code"],
        message=data["message"],
        span=Span(*data["span"]),
        severity=Severity(data["severity"]),
        fix=fix,
        platforms=tuple(data.get("platforms", ())),
        external=external,
        notes=tuple(data.get("notes", ())),
    )


@record
class CachedResult:
    """A check result without its syntax tree (see :func:`text_tree`)."""

    diagnostics: list[Diagnostic]
    notes: list[str]
    warnings: list[str]


def encode_result(result: Result | CachedResult) -> dict[str, Any]:
    return {
        "diagnostics": [encode_diagnostic(d) for d in result.diagnostics],
        "notes": list(result.notes),
        "warnings": list(result.warnings),
    }


def decode_result(data: Mapping[str, Any]) -> CachedResult:
    return CachedResult(
        [decode_diagnostic(d) for d in data["diagnostics"]],
        [str(n) for n in data["notes"]],
        [str(w) for w in data["warnings"]],
    )


def text_tree(text: str) -> Dockerfile:
    """A tree with the text and line index of ``text`` and no items: all reports need.

    Building it does not import the parser, which a cache hit must not pay for.
    """
    from dockerarch.syntax.nodes import Dockerfile
    from dockerarch.syntax.positions import LineIndex

    bom = text.startswith("\ufeff")
    body = text[1:] if bom else text
    return Dockerfile(text=body, items=(), escape="\\", bom=bom, lines=LineIndex(body))


# -- code fingerprint -------------------------------------------------------------


def _tree_files(top: str) -> Iterator[tuple[str, int, int]]:
    stack = [top]
    while stack:
        try:
            entries = os.scandir(stack.pop())
        except OSError:
            continue
        with entries:
            for entry in entries:
                if entry.is_dir():
                    if entry.name != "__pycache__":
                        stack.append(entry.path)
                elif not entry.name.endswith(".pyc"):
                    st = entry.stat()
                    yield entry.path, st.st_mtime_ns, st.st_size


def _site_state() -> list[list[Any]]:
    # Installing or removing a distribution adds or removes a *.dist-info
    # directory, which changes its sys.path directory's modification time.
    out: list[list[Any]] = []
    for entry in sys.path:
        try:
            out.append([entry, os.stat(entry or ".").st_mtime_ns])
        except OSError:
            continue
    return out


def _rule_packs(directory: Path) -> list[list[str]]:
    """[entry point, version, location] of each installed rule pack, cached per sys.path state."""
    record = directory / "packs.json"
    site = _site_state()
    try:
        data = json.loads(record.read_bytes())
        if data["site"] == site:
            return [[str(x) for x in pack] for pack in data["packs"]]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    import importlib.util
    from importlib.metadata import entry_points

    packs: list[list[str]] = []
    for ep in entry_points(group="dockerarch.rules"):
        top = ep.module.partition(".")[0]
        spec = importlib.util.find_spec(top)
        if spec is None:
            location = ""
        elif spec.submodule_search_locations:
            location = next(iter(spec.submodule_search_locations))
        else:
            location = spec.origin or ""
        packs.append([ep.value, ep.dist.version if ep.dist else "", location])
    write_atomic(record, json.dumps({"site": site, "packs": packs}))
    return packs


def code_fingerprint(directory: Path) -> str:
    """A digest of the checking code: dockerarch (with its data) and every rule pack."""
    # Imported where digests are made (here and in ResultCache.key): loading OpenSSL is a
    # noticeable part of a --no-cache run, which needs only text_tree from this module.
    import hashlib

    h = hashlib.sha256(f"{FORMAT} {__version__} {sys.version}".encode())
    locations = [os.path.dirname(os.path.abspath(__file__))]
    for value, version, location in sorted(_rule_packs(directory)):
        h.update(f"\0{value}\0{version}".encode())
        locations.append(location)
    for location in locations:
        files = sorted(_tree_files(location)) if os.path.isdir(location) else []
        if not files and os.path.isfile(location):
            st = os.stat(location)
            files = [(location, st.st_mtime_ns, st.st_size)]
        for path, mtime, size in files:
            h.update(f"\0{path}\0{mtime}\0{size}".encode())
    return h.hexdigest()[:32]


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a rename; a failure leaves no entry, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = make_temp(path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


# -- the cache --------------------------------------------------------------------


def settings_identity(settings: Settings) -> list[Any]:
    return [
        [str(p) for p in settings.platforms],
        list(settings.select),
        list(settings.ignore),
        sorted((code, level.value) for code, level in settings.severity.items()),
        settings.online,
        None if settings.cache_dir is None else str(settings.cache_dir),
        settings.verbose,
    ]


class ResultCache:
    """The result entries of one cache directory, for one run of the command."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(os.path.abspath(directory))
        self._fingerprint: str | None = None
        # Stat results are shared by all entries checked in one run.
        self._stats: dict[str, tuple[int, int, bool]] = {}

    def prepare(self) -> None:
        """Create the directory first, so its birth does not change a context being recorded."""
        if self.directory.is_dir():
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        # As ruff does: never committed, and skipped by backup tools.
        write_atomic(self.directory / ".gitignore", "*\n")
        write_atomic(
            self.directory / "CACHEDIR.TAG",
            "Signature: 8a477f597d28d172789f06886806bc55\n# dockerarch result cache\n",
        )

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = code_fingerprint(self.directory)
        return self._fingerprint

    @property
    def _entries(self) -> Path:
        return self.directory / "results" / self.fingerprint

    def key(
        self, text: str, settings: Settings, path: Path | None, context_dir: Path | None
    ) -> str | None:
        """The entry key of one check; None when its result must not be cached."""
        if settings.online:
            return None
        head = [
            settings_identity(settings),
            None if path is None else os.path.abspath(path),
            None if context_dir is None else os.path.abspath(context_dir),
        ]
        import hashlib

        h = hashlib.sha256(json.dumps(head).encode())
        h.update(b"\0")
        h.update(text.encode("utf-8", "surrogatepass"))
        return h.hexdigest()

    def _stat(self, path: str) -> tuple[int, int, bool]:
        found = self._stats.get(path)
        if found is None:
            try:
                st = os.stat(path)
                found = (st.st_mtime_ns, st.st_size, os.path.isdir(path))
            except OSError:
                found = (_MISSING, _MISSING, False)
            self._stats[path] = found
        return found

    def load(self, key: str) -> CachedResult | None:
        """The stored result, if there is one and the context files it read are unchanged."""
        try:
            data = json.loads((self._entries / f"{key}.json").read_bytes())
            for path, mtime in data["dirs"]:
                if self._stat(path)[0] != mtime:
                    return None
            for path, mtime, size in data["files"]:
                if self._stat(path)[:2] != (mtime, size):
                    return None
            return decode_result(data["result"])
        except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
            return None

    def record(self, context_dir: Path | None) -> _Record:
        """Record, around a check, which context files it opens."""
        return _Record(context_dir)

    def store(
        self,
        key: str,
        result: Result | CachedResult,
        tree: Dockerfile,
        context_dir: Path | None,
        opened: Iterable[str],
    ) -> None:
        """Store a result with what it read; a context too large to watch is not stored."""
        dirs: list[str] = []
        if context_dir is not None and reads_context(tree):
            walked = _context_dirs(os.path.abspath(context_dir), str(self.directory))
            if walked is None:
                return
            dirs = walked
        files = sorted(set(opened))
        entry = {
            "dirs": [[d, self._stat(d)[0]] for d in dirs],
            "files": [[f, *self._stat(f)[:2]] for f in files],
            "result": encode_result(result),
        }
        try:
            write_atomic(self._entries / f"{key}.json", json.dumps(entry))
        except OSError:
            # A read-only or full disk makes the cache useless, not the check wrong.
            return

    def rules(self) -> list[Rule] | None:
        """The installed rules' metadata as stored by an earlier run, checks loaded on first use."""
        from dockerarch.engine import Rule

        try:
            data = json.loads((self._entries / "rules.json").read_bytes())
            return [
                Rule(
                    code=r["code"],
                    name=r["name"],
                    summary=r["summary"],
                    category=r["category"],
                    severity=Severity(r["severity"]),
                    docs=r["docs"],
                    fixable=bool(r["fixable"]),
                    check=_deferred_check(r["code"]),
                )
                for r in data
            ]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def store_rules(self, rules: Iterable[Rule]) -> None:
        target = self._entries / "rules.json"
        if target.exists():
            return
        data = [
            {
                "code": r.code,
                "name": r.name,
                "summary": r.summary,
                "category": r.category,
                "severity": r.severity.value,
                "docs": r.docs,
                "fixable": r.fixable,
            }
            for r in rules
        ]
        try:
            write_atomic(target, json.dumps(data))
        except OSError:
            return


def _deferred_check(code: str) -> Any:
    def check(ctx: Context) -> Iterable[Diagnostic]:
        from dockerarch.engine import installed_rules

        for r in installed_rules():
            if r.code == code:
                return r.check(ctx)
        raise LookupError(f"rule {code} is no longer installed")

    return check
