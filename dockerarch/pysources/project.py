"""Requirements declared by Python project and lock files, with exact positions."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path, PurePath

from dockerarch.lazyre import lazy_compile
from dockerarch.pysources.files import ContextError, display, lexical, read_text_in_root
from dockerarch.pysources.locate import (
    KeyPath,
    Located,
    TOMLDecodeError,
    load_toml,
    locate_json,
    locate_toml,
)
from dockerarch.pysources.model import RequirementsResult, SourceIssue, make_requirement
from dockerarch.pysources.poetry import pipenv_requirement, poetry_requirement
from dockerarch.pysources.reqfile import is_requirements_name, read_requirements_file
from dockerarch.syntax.positions import LineIndex, Span

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockerarch.pysources.setuppy import Literal

_TOML_ERROR_AT = lazy_compile(r"line (\d+), column (\d+)")


class _Doc:
    """One project file being read: its text, positions and the result so far."""

    def __init__(self, path: Path, root: Path, text: str) -> None:
        self.path = path
        self.root = root
        self.text = text
        self.lines = LineIndex(text)
        self.name = display(path, root)
        self.result = RequirementsResult(files=[path])
        self.located = Located()

    def issue(self, offset: int, message: str) -> None:
        pos = self.lines.position(offset)
        self.result.issues.append(SourceIssue(self.path, pos.line, pos.column, message))

    def add(
        self,
        raw: str,
        span: Span,
        section: str,
        *,
        parse_as: str | None = None,
        hashes: tuple[str, ...] = (),
    ) -> None:
        req, error = make_requirement(
            raw,
            file=self.path,
            lines=self.lines,
            span=span,
            origin=f"{self.name} [{section}]",
            section=section,
            parse_as=parse_as,
            hashes=hashes,
        )
        self.result.requirements.append(req)
        if error is not None:
            self.issue(span.start, f"invalid requirement {raw!r}: {error.splitlines()[0]}")

    def span(self, path: KeyPath) -> Span:
        # The locator only fails on documents the real parser accepted in
        # ways it does not model; the start of the file is the honest fallback.
        return self.located.value(path) or Span(0, 0)

    def strings(self, values: object, path: KeyPath, section: str) -> None:
        """Add each PEP 508 string of a TOML array at ``path``."""
        if not isinstance(values, list):
            where = self.located.values.get(path, Span(0, 0))
            self.issue(where.start, f"[{section}] is not an array of strings")
            return
        for i, value in enumerate(values):
            if isinstance(value, str):
                self.add(value, self.span((*path, i)), section)

    def load_toml(self) -> dict[str, Any] | None:
        try:
            data = load_toml(self.text)
        except TOMLDecodeError as exc:
            at = _TOML_ERROR_AT.search(str(exc))
            line, column = (int(at.group(1)), int(at.group(2))) if at else (1, 1)
            message = f"invalid TOML: {str(exc).splitlines()[0]}"
            self.result.issues.append(SourceIssue(self.path, line, column, message))
            return None
        self.located = locate_toml(self.text)
        return data


def _table(data: object, *keys: str) -> Mapping[str, Any]:
    for key in keys:
        data = data.get(key) if isinstance(data, Mapping) else None
    return data if isinstance(data, Mapping) else {}


def _pyproject(doc: _Doc) -> None:
    data = doc.load_toml()
    if data is None:
        return
    project = _table(data, "project")
    if "dependencies" in project:
        doc.strings(project["dependencies"], ("project", "dependencies"), "project.dependencies")
    for extra, values in _table(project, "optional-dependencies").items():
        path = ("project", "optional-dependencies", extra)
        doc.strings(values, path, f"project.optional-dependencies.{extra}")
    for group, values in _table(data, "dependency-groups").items():
        # Entries may also be {include-group = "..."} tables, which name no package.
        if isinstance(values, list):
            for i, value in enumerate(values):
                if isinstance(value, str):
                    doc.add(
                        value,
                        doc.span(("dependency-groups", group, i)),
                        f"dependency-groups.{group}",
                    )
    build = _table(data, "build-system")
    if "requires" in build:
        doc.strings(build["requires"], ("build-system", "requires"), "build-system.requires")
    uv_dev = _table(data, "tool", "uv").get("dev-dependencies")
    if uv_dev is not None:
        doc.strings(uv_dev, ("tool", "uv", "dev-dependencies"), "tool.uv.dev-dependencies")
    poetry = _table(data, "tool", "poetry")
    _poetry_table(doc, poetry.get("dependencies"), ("tool", "poetry", "dependencies"))
    _poetry_table(doc, poetry.get("dev-dependencies"), ("tool", "poetry", "dev-dependencies"))
    for group, table in _table(poetry, "group").items():
        deps = table.get("dependencies") if isinstance(table, Mapping) else None
        _poetry_table(doc, deps, ("tool", "poetry", "group", group, "dependencies"))


def _entries(doc: _Doc, table: object, path: KeyPath) -> Iterator[tuple[str, object, Span]]:
    """(name, value, span of the whole entry) for a name -> constraint table; list values
    (several constraints with markers) give one entry per element."""
    if not isinstance(table, Mapping):
        return
    for name, value in table.items():
        if isinstance(value, list):
            for i, item in enumerate(value):
                yield name, item, doc.located.entry((*path, name, i)) or doc.span(path)
        else:
            yield name, value, doc.located.entry((*path, name)) or doc.span(path)


def _poetry_table(doc: _Doc, table: object, path: KeyPath) -> None:
    section = ".".join(str(p) for p in path)
    for name, value, span in _entries(doc, table, path):
        if name.lower() == "python":
            continue
        try:
            pep508 = poetry_requirement(name, value)
        except ValueError as exc:
            doc.issue(span.start, f"{exc}; not analysed")
            continue
        doc.add(doc.text[span.start : span.end], span, section, parse_as=pep508)


def _pipfile(doc: _Doc) -> None:
    data = doc.load_toml()
    if data is None:
        return
    for section in ("packages", "dev-packages"):
        for name, value, span in _entries(doc, data.get(section), (section,)):
            try:
                pep508 = pipenv_requirement(name, value)
            except ValueError as exc:
                doc.issue(span.start, f"{exc}; not analysed")
                continue
            doc.add(doc.text[span.start : span.end], span, section, parse_as=pep508)


def _lock_packages(doc: _Doc, lock: str) -> None:
    data = doc.load_toml()
    if data is None:
        return
    packages = data.get("package")
    if not isinstance(packages, list):
        return
    for i, package in enumerate(packages):
        if not isinstance(package, Mapping) or not isinstance(package.get("name"), str):
            continue
        source = package.get("source")
        # uv lists the project itself and its workspace members; they are
        # built from the context, not fetched.
        if lock == "uv" and isinstance(source, Mapping) and {"editable", "virtual"} & set(source):
            continue
        name: str = package["name"]
        version = package.get("version")
        start = doc.span(("package", i, "name"))
        if isinstance(version, str):
            end = doc.span(("package", i, "version"))
            span = Span(start.start, max(start.end, end.end))
            raw = f"{name}=={version}"
        else:
            span, raw = start, name
        doc.add(raw, span, "package", parse_as=raw, hashes=_lock_hashes(package))


def _lock_hashes(package: Mapping[str, Any]) -> tuple[str, ...]:
    files: list[object] = []
    for key in ("files", "wheels"):
        if isinstance(package.get(key), list):
            files.extend(package[key])
    files.append(package.get("sdist"))
    return tuple(
        f["hash"] for f in files if isinstance(f, Mapping) and isinstance(f.get("hash"), str)
    )


def _pipfile_lock(doc: _Doc) -> None:
    try:
        data = json.loads(doc.text)
    except json.JSONDecodeError as exc:
        doc.issue(exc.pos, f"invalid JSON: {exc.msg}")
        return
    doc.located = locate_json(doc.text)
    if not isinstance(data, Mapping):
        return
    for section in ("default", "develop"):
        packages = data.get(section)
        if not isinstance(packages, Mapping):
            continue
        for name, info in packages.items():
            if not isinstance(info, Mapping):
                continue
            key = doc.located.keys.get((section, name), Span(0, 0))
            start = key.start + 1 if len(key) >= 2 else key.start
            version = info.get("version") if isinstance(info.get("version"), str) else ""
            end = doc.located.value((section, name, "version")) if version else None
            span = Span(start, end.end if end else max(start, key.end - 1))
            hashes = info.get("hashes")
            doc.add(
                f"{name}{version}",
                span,
                section,
                parse_as=pipenv_requirement(name, info),
                hashes=tuple(h for h in hashes if isinstance(h, str))
                if isinstance(hashes, list)
                else (),
            )


_SECTION = lazy_compile(r"\[(?P<name>[^\]]+)\]")
# The key keeps its trailing space (callers strip it): a lazy key followed by \s* is quadratic
# on a long line without "=" or ":".
_OPTION = lazy_compile(r"(?P<key>[^=:\s][^=:]*)[=:][ \t]*")


def _setup_cfg(doc: _Doc) -> None:
    for section, key, pieces in _cfg_values(doc.text):
        key = key.lower().replace("-", "_")
        if section == "options" and key in ("install_requires", "setup_requires"):
            label = f"options.{key}"
        elif section == "options.extras_require":
            label = f"options.extras_require.{key}"
        else:
            continue
        _cfg_requirements(doc, pieces, label)


def _cfg_values(text: str) -> Iterator[tuple[str, str, list[tuple[str, int]]]]:
    """(section, key, value pieces with offsets) in configparser's layout rules."""
    section = ""
    key: str | None = None
    pieces: list[tuple[str, int]] = []
    offset = 0
    for raw_line in text.split("\n"):
        line = raw_line.rstrip("\r")
        start = offset
        offset += len(raw_line) + 1
        stripped = line.strip()
        if stripped.startswith(("#", ";")):
            continue
        if key is not None and (not stripped or line[0] in " \t"):
            lead = len(line) - len(line.lstrip())
            pieces.append((stripped, start + lead))
            continue
        if key is not None:
            yield section, key, _trimmed(pieces)
            key = None
        if not stripped:
            continue
        header = _SECTION.match(line)
        if header:
            section = header.group("name").strip()
            continue
        option = _OPTION.match(line)
        if option:
            key = option.group("key").strip()
            pieces = [(line[option.end() :].strip(), start + option.end())]
    if key is not None:
        yield section, key, _trimmed(pieces)


def _trimmed(pieces: list[tuple[str, int]]) -> list[tuple[str, int]]:
    # configparser drops the blank lines that end a value.
    while len(pieces) > 1 and not pieces[-1][0]:
        pieces = pieces[:-1]
    return pieces


def _cfg_requirements(doc: _Doc, pieces: list[tuple[str, int]], label: str) -> None:
    first = pieces[0][0]
    if first.startswith("file:") and len(pieces) == 1:
        for name in first[len("file:") :].split(","):
            target = lexical(doc.path.parent / name.strip(), doc.root)
            doc.result.extend(read_requirements_file(target, doc.root))
        return
    if len(pieces) == 1:
        # setuptools splits a one-line value at semicolons, markers included.
        items: list[tuple[str, int]] = []
        at = pieces[0][1]
        for chunk in first.split(";"):
            items.append((chunk, at))
            at += len(chunk) + 1
    else:
        items = pieces
    for text, at in items:
        # setuptools drops " #" comments inside values.
        value = text.partition(" #")[0]
        lead = len(value) - len(value.lstrip())
        value = value.strip()
        if value and not value.startswith("#"):
            doc.add(value, Span(at + lead, at + lead + len(value)), label)


def _setup_py(doc: _Doc) -> None:
    # libcst costs ~150 ms to import: only a build context with a setup.py pays it.
    import libcst as cst

    from dockerarch.pysources.setuppy import Literal, setup_py_literals

    try:
        found = list(setup_py_literals(doc.text, doc.lines))
    except SyntaxError as exc:
        line, column = exc.lineno or 1, exc.offset or 1
        doc.result.issues.append(
            SourceIssue(doc.path, line, column, f"setup.py cannot be parsed: {exc.msg}")
        )
        return
    except cst.ParserSyntaxError as exc:
        doc.result.issues.append(
            SourceIssue(doc.path, exc.raw_line, exc.raw_column + 1, "setup.py cannot be parsed")
        )
        return
    except (ValueError, RecursionError, MemoryError) as exc:
        doc.issue(0, f"setup.py cannot be parsed: {type(exc).__name__}")
        return
    for item in found:
        if isinstance(item, Literal):
            _setup_literal(doc, item)
        else:
            message = f"{item.keyword}: {item.what} is not a string literal; not analysed"
            doc.issue(item.offset, message)


def _setup_literal(doc: _Doc, item: Literal) -> None:
    # One literal may hold several newline-separated requirements.
    at = item.span.start
    for line in item.value.split("\n"):
        value = line.partition(" #")[0].strip()
        if value:
            if item.exact:
                start = at + line.index(value)
                span = Span(start, start + len(value))
            else:
                span = item.span
            doc.add(value, span, item.keyword)
        at += len(line) + 1


_READERS: dict[str, Callable[[_Doc], None]] = {
    "pyproject.toml": _pyproject,
    "setup.cfg": _setup_cfg,
    "setup.py": _setup_py,
    "poetry.lock": lambda doc: _lock_packages(doc, "poetry"),
    "uv.lock": lambda doc: _lock_packages(doc, "uv"),
    "Pipfile": _pipfile,
    "Pipfile.lock": _pipfile_lock,
}

PROJECT_FILE_NAMES = frozenset(_READERS)


def read_project_file(path: Path, root: Path) -> RequirementsResult:
    """Requirements of a Python project or lock file, chosen by file name.

    Handles pyproject.toml (PEP 621, PEP 735 groups, build-system, Poetry,
    uv dev-dependencies), setup.cfg, setup.py (parsed, never run), poetry.lock,
    uv.lock, Pipfile, Pipfile.lock and requirements files. Never opens a file
    outside ``root`` and never raises for file contents.
    """
    name = PurePath(path).name
    reader = _READERS.get(name)
    full = lexical(path, root)
    if reader is None:
        if is_requirements_name(path):
            return read_requirements_file(path, root)
        message = f"{display(path, root)} is not a known Python requirements file"
        return RequirementsResult(issues=[SourceIssue(full, 1, 1, message)])
    try:
        text, _ = read_text_in_root(path, root)
    except ContextError as exc:
        return RequirementsResult(issues=[SourceIssue(full, 1, 1, str(exc))])
    doc = _Doc(full, root, text)
    reader(doc)
    return doc.result
