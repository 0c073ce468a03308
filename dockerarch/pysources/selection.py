"""What a project install (``pip install .``, ``poetry install``, ``uv sync``,
``pipenv install``) takes from the project's files: main dependencies, groups, extras."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from dockerarch.lazyre import lazy_compile
from dockerarch.pynames import canonicalize_name
from dockerarch.pysources.model import PyRequirement, RequirementsResult, is_url
from dockerarch.pysources.optscan import POSITIONAL, OptionTable, scan, table
from dockerarch.records import field, record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# The path ends in a non-space so that the optional spaces before ``[extras]``
# cannot be shared with it: a lazy path then \s* backtracks quadratically on
# long runs of inner whitespace.
_LOCAL_PROJECT = lazy_compile(r"(?P<path>[^\[\]]*[^\[\]\s])\s*(?:\[(?P<extras>[^\]]*)\])?")
_ARCHIVES = (".whl", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip", ".tar")


@record
class Selection:
    """What a project installer installs: main dependencies, groups and extras."""

    tool: str
    directory: str = "."
    groups: frozenset[str] = frozenset()
    without: frozenset[str] = frozenset()
    only: bool = False
    all_groups: bool = False
    default_groups: bool = True
    extras: frozenset[str] = frozenset()
    all_extras: bool = False
    #: pipenv given package names re-locks instead of installing the lock.
    relocks: bool = False

    @property
    def main(self) -> bool:
        return "main" not in self.without and (not self.only or "main" in self.groups)

    def group(self, name: str, optional: bool) -> bool:
        if name in self.without:
            return False
        if self.all_groups or name in self.groups:
            return True
        return not self.only and self.default_groups and not optional

    def extra(self, name: str) -> bool:
        return self.all_extras or canonicalize_name(name) in self.extras


def local_project(text: str) -> tuple[str, frozenset[str]] | None:
    """(directory, extras) when a pip argument names a local project directory."""
    if is_url(text) or text.lower().endswith(_ARCHIVES) or "@" in text:
        return None
    m = _LOCAL_PROJECT.fullmatch(text.strip())
    if m is None:
        return None
    path = m.group("path")
    if not (path.startswith((".", "/")) or "/" in path):
        return None  # a package name, not a path
    parts = (e.strip() for e in (m.group("extras") or "").split(","))
    extras = frozenset(canonicalize_name(e) for e in parts if e)
    return path, extras


def _names(value: str | None) -> frozenset[str]:
    return frozenset(v for v in re.split(r"[\s,]+", value or "") if v)


_POETRY = OptionTable(
    table(
        ["-C/--directory", "-P/--project", "--without", "--with", "--only", "-E/--extras"],
        ["--no-dev", "--only-root", "--all-extras", "--all-groups"],
    )
)
_UV_SYNC = OptionTable(
    table(
        [
            "--directory",
            "--project",
            "--group",
            "--only-group",
            "--no-group",
            "--extra",
            "--no-extra",
            "-p/--python",
            "--package",
            "-i/--index-url",
            "--extra-index-url",
            "--index",
            "--default-index",
            "-f/--find-links",
            "--link-mode",
            "--cache-dir",
            "--config-file",
            "--color",
        ],
        ["--no-dev", "--only-dev", "--dev", "--all-groups", "--no-default-groups", "--all-extras"],
    ),
    short_equals=True,
)
_PIPENV = OptionTable(
    table(
        ["--python", "--categories", "--pypi-mirror", "-r/--requirements", "--extra-pip-args"],
        ["-d/--dev"],
    )
)


def project_command(words: Sequence[str]) -> Selection | None:
    """What a poetry/uv/pipenv command installs from the project in the current directory."""
    if not words:
        return None
    program = words[0].rsplit("/", 1)[-1]
    if program == "poetry":
        return _poetry_command(words)
    if program == "uv":
        return _uv_sync_command(words)
    if program == "pipenv":
        return _pipenv_command(words)
    return None


@record(frozen=False)
class _Choices:
    """The directory, groups and extras a poetry or uv command line asks for."""

    directory: str = "."
    groups: set[str] = field(default_factory=set)
    without: set[str] = field(default_factory=set)
    extras: set[str] = field(default_factory=set)
    flags: set[str] = field(default_factory=set)
    only: bool = False

    def selection(self, tool: str) -> Selection:
        if "no_dev" in self.flags:
            self.without.add("dev")
        return Selection(
            tool,
            directory=self.directory,
            groups=frozenset(self.groups),
            without=frozenset(self.without),
            only=self.only,
            all_groups="all_groups" in self.flags,
            default_groups="no_default_groups" not in self.flags,
            extras=frozenset(self.extras),
            all_extras="all_extras" in self.flags,
        )


def _poetry_command(words: Sequence[str]) -> Selection | None:
    sub = None
    chose = _Choices()
    for item in scan(words, _POETRY, 1):
        if item.dest == POSITIONAL:
            if sub is not None:
                return None  # `poetry install foo` is not a project install
            sub = item.value
        elif item.dest in ("directory", "project") and item.value:
            chose.directory = item.value
        elif item.dest == "with":
            chose.groups |= _names(item.value)
        elif item.dest == "without":
            chose.without |= _names(item.value)
        elif item.dest == "only":
            chose.only = True
            chose.groups |= _names(item.value)
        elif item.dest == "extras":
            chose.extras |= {canonicalize_name(e) for e in _names(item.value)}
        else:
            chose.flags.add(item.dest)
    if sub not in ("install", "sync") or "only_root" in chose.flags:
        return None
    return chose.selection("poetry")


def _uv_sync_command(words: Sequence[str]) -> Selection | None:
    positional = []
    chose = _Choices()
    for item in scan(words, _UV_SYNC, 1):
        value = item.value or ""
        if item.dest == POSITIONAL:
            positional.append(value)
        elif item.dest in ("directory", "project") and value:
            chose.directory = value
        elif item.dest == "group":
            chose.groups.add(value)
        elif item.dest == "only_group":
            chose.only = True
            chose.groups.add(value)
        elif item.dest == "no_group":
            chose.without.add(value)
        elif item.dest == "extra":
            chose.extras.add(canonicalize_name(value))
        else:
            chose.flags.add(item.dest)
    if positional != ["sync"]:
        return None
    if "only_dev" in chose.flags:
        chose.only = True
        chose.groups.add("dev")
    return chose.selection("uv")


def _pipenv_command(words: Sequence[str]) -> Selection | None:
    positional = []
    groups: set[str] = set()
    for item in scan(words, _PIPENV, 1):
        if item.dest == POSITIONAL:
            positional.append(item.value or "")
        elif item.dest == "dev":
            groups.add("develop")
        elif item.dest == "categories":
            groups |= _names(item.value)
    if positional[:1] not in (["install"], ["sync"]):
        return None
    return Selection("pipenv", groups=frozenset(groups), relocks=len(positional) > 1)


def _table(data: object, *keys: str) -> Mapping[str, Any]:
    for key in keys:
        data = data.get(key) if isinstance(data, Mapping) else None
    return data if isinstance(data, Mapping) else {}


def selected(
    result: RequirementsResult, selection: Selection, pyproject: Mapping[str, Any]
) -> list[PyRequirement]:
    """The requirements of a project file's ``result`` that ``selection`` installs.

    ``pyproject`` is the parsed pyproject.toml next to it (``{}`` when there is none):
    Poetry's optional dependencies and groups are declared there.
    """
    poetry = _table(pyproject, "tool", "poetry")
    has_project_deps = any(r.section == "project.dependencies" for r in result.requirements)
    # Poetry installs an optional main dependency only for an extra that names it.
    optional = {
        canonicalize_name(name)
        for name, value in _table(poetry, "dependencies").items()
        if isinstance(value, Mapping) and value.get("optional") is True
    }
    wanted_optional = {
        canonicalize_name(str(name))
        for extra, names in _table(poetry, "extras").items()
        if selection.extra(extra) and isinstance(names, list)
        for name in names
    }
    out = []
    for req in result.requirements:
        section = req.section
        parts = section.split(".")
        if section in ("project.dependencies", "options.install_requires", "install_requires"):
            keep = selection.main
        elif section == "tool.poetry.dependencies":
            # pip builds the metadata with poetry-core from this table when [project] has none.
            keep = selection.main and (selection.tool == "poetry" or not has_project_deps)
            keep = keep and (req.name not in optional or req.name in wanted_optional)
        elif section.startswith(("project.optional-dependencies.", "options.extras_require.")):
            keep = selection.extra(parts[-1])
        elif section.startswith("extras_require["):
            keep = selection.extra(section[len("extras_require[") : -1])
        elif section == "tool.poetry.dev-dependencies":
            keep = selection.tool == "poetry" and selection.group("dev", optional=False)
        elif section.startswith("tool.poetry.group."):
            group = ".".join(parts[3:-1])
            is_optional = _table(poetry, "group", group).get("optional") is True
            keep = selection.tool == "poetry" and selection.group(group, is_optional)
        elif section == "tool.uv.dev-dependencies":
            keep = selection.tool == "uv" and selection.group("dev", optional=False)
        elif section.startswith("dependency-groups."):
            group = section[len("dependency-groups.") :]
            keep = selection.tool == "uv" and selection.group(group, optional=group != "dev")
        elif section in ("packages", "default"):
            keep = selection.main
        elif section in ("dev-packages", "develop"):
            keep = selection.group("develop", optional=True)
        else:
            # build-system.requires and setup_requires build the project, they are not
            # installed into the image; files setup.cfg includes ("file:") have no section.
            keep = section == "" and selection.main
        if keep:
            out.append(req)
    return out
