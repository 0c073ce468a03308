"""Python packages that install a wheel on amd64 but build from source on arm64."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from packaging.markers import InvalidMarker, Marker, default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from dockerarch.diagnostics import Applicability, Diagnostic, Edit, ExternalLocation, Fix, Severity
from dockerarch.engine import Context, rule
from dockerarch.knowledge import builddeps, pypi
from dockerarch.knowledge.pypi import Libc
from dockerarch.model import Stage
from dockerarch.pysources import (
    PROJECT_FILE_NAMES,
    IndexOptions,
    PipInstall,
    PyRequirement,
    RequirementsResult,
    make_requirement,
    pip_install_args,
    read_project_file,
    read_requirements_file,
)
from dockerarch.pysources.files import ContextError, display, read_text_in_root
from dockerarch.pysources.locate import TOMLDecodeError, load_toml
from dockerarch.pysources.model import is_url
from dockerarch.pysources.optscan import POSITIONAL, OptionTable, scan, table
from dockerarch.pysources.poetry import poetry_requirement
from dockerarch.shell.model import Command
from dockerarch.stageenv import StageEnv, stage_env
from dockerarch.syntax import Instruction, Span


@dataclass(frozen=True)
class PipSite:
    """One ``pip install`` (or ``poetry install``, ``uv sync``, ``pipenv install``) and what
    it installs.

    For project installers ``install`` carries only the tool and subcommand; requirements
    read from a lock file carry a marker saying on which target platforms and Pythons the
    lock's dependency graph installs them.
    """

    stage: Stage
    instruction: Instruction
    command: Command
    install: PipInstall
    requirements: tuple[tuple[PyRequirement, Span], ...]
    options: IndexOptions


def pip_sites(ctx: Context) -> list[PipSite]:
    """Every pip install in the file, with requirements from the build context."""
    cached = ctx.cache.get("pip_sites")
    if isinstance(cached, list):
        return cached
    sites: list[PipSite] = []
    # Where COPY put files does not depend on the platform: any view will do.
    view = ctx.views()[0]
    for stage in ctx.model.stages:
        for ins in stage.body:
            if ins.name != "RUN":
                continue
            senv = stage_env(view, stage, ctx.context_dir)
            for script in ctx.model.scripts(ins):
                cwd: str | None = senv.workdir_before(ins.span.start)
                for raw_cmd in script.commands:
                    cmd = raw_cmd.effective()
                    words = [w.value if w.value is not None else w.text for w in cmd.words]
                    if words[:1] == ["cd"]:
                        cwd = _cd(cwd, cmd)
                        continue
                    found = pip_install_args(words)
                    if found is not None:
                        sites.append(_site(ctx, senv, ins, cmd, found[1], cwd))
                        continue
                    selection = _project_command(words)
                    if selection is not None:
                        site = _project_site(ctx, senv, ins, cmd, selection, cwd)
                        if site is not None:
                            sites.append(site)
    ctx.cache["pip_sites"] = sites
    return sites


def _cd(cwd: str | None, cmd: Command) -> str | None:
    # `cd DIR && pip install .` is as common as WORKDIR; anything fancier is unknown.
    args = [w.value for w in cmd.words[1:]]
    if cwd is None or len(args) != 1 or args[0] is None or args[0].startswith("-"):
        return None
    return posixpath.normpath(posixpath.join(cwd, args[0]))


def _site(
    ctx: Context,
    senv: StageEnv,
    ins: Instruction,
    cmd: Command,
    install: PipInstall,
    cwd: str | None,
) -> PipSite:
    reqs: list[tuple[PyRequirement, Span]] = []
    options: IndexOptions = install
    for arg in install.requirements:
        word = cmd.words[arg.word]
        req, _ = make_requirement(
            arg.text, file=None, lines=ctx.tree.lines, span=word.span, origin="command line"
        )
        reqs.append((req, word.span))
    for arg in [*install.requirements, *install.editables]:
        local = _local_project(arg.text)
        if local is not None and not install.no_deps:
            selection = _Selection("pip", directory=local[0], extras=local[1])
            word = cmd.words[arg.word]
            project = _ProjectSite(ctx, senv, ins, word.span, cwd)
            reqs.extend((req, word.span) for req in project.requirements(selection))
    for arg in install.requirement_files:
        word = cmd.words[arg.word]
        local_file = _traced(ctx, senv, ins, cwd, arg.text, word.span)
        if local_file is None:
            continue
        assert ctx.context_dir is not None
        if PurePosixPath(local_file).name in _PROJECT_NAMES:
            # uv pip install -r pyproject.toml / setup.py / setup.cfg: the project's own needs.
            chosen = _pick(_read(ctx, Path(local_file)), _Selection("pip"), {})
            reqs.extend((req, word.span) for req in chosen)
            continue
        result = read_requirements_file(Path(local_file), Path(ctx.context_dir))
        options = options.updated_with(result.options)
        for req in result.requirements:
            reqs.append((req, word.span))
    return PipSite(senv.stage, ins, cmd, install, tuple(reqs), options)


def _traced(
    ctx: Context, senv: StageEnv, ins: Instruction, cwd: str | None, path: str, span: Span
) -> str | None:
    """The build-context path of ``path`` as the command sees it, or None (with a note)."""
    local = None
    if cwd is not None:
        local = senv.context_file(posixpath.join(cwd, path), ins.span.start)
    if local is None or ctx.context_dir is None:
        ctx.notes.append(
            f"line {ctx.tree.lines.position(span.start).line}: {path} was not "
            "traced to a file COPY'd from the build context; its requirements are not checked"
        )
        return None
    return local


# -- project installs: pip install ., poetry install, uv sync, pipenv install ----------------

_LOCK_NAMES = frozenset({"poetry.lock", "uv.lock", "Pipfile.lock"})
_PROJECT_NAMES = frozenset({"pyproject.toml", "setup.py", "setup.cfg"})
_LOCAL_PROJECT = re.compile(r"(?P<path>[^\[\]]+?)\s*(?:\[(?P<extras>[^\]]*)\])?")
_ARCHIVES = (".whl", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip", ".tar")


@dataclass(frozen=True)
class _Selection:
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


def _local_project(text: str) -> tuple[str, frozenset[str]] | None:
    """(directory, extras) when a pip argument names a local project directory."""
    if is_url(text) or text.lower().endswith(_ARCHIVES) or "@" in text:
        return None
    m = _LOCAL_PROJECT.fullmatch(text.strip())
    if m is None:
        return None
    path = m.group("path")
    if not (path.startswith((".", "/")) or "/" in path):
        return None  # a package name, not a path
    extras = frozenset(canonicalize_name(e) for e in (m.group("extras") or "").split(",") if e)
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


def _project_command(words: Sequence[str]) -> _Selection | None:
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


def _poetry_command(words: Sequence[str]) -> _Selection | None:
    sub = None
    directory = "."
    groups: set[str] = set()
    without: set[str] = set()
    extras: set[str] = set()
    flags: set[str] = set()
    only = False
    for item in scan(words, _POETRY, 1):
        if item.dest == POSITIONAL:
            if sub is not None:
                return None  # `poetry install foo` is not a project install
            sub = item.value
        elif item.dest in ("directory", "project") and item.value:
            directory = item.value
        elif item.dest == "with":
            groups |= _names(item.value)
        elif item.dest == "without":
            without |= _names(item.value)
        elif item.dest == "only":
            only = True
            groups |= _names(item.value)
        elif item.dest == "extras":
            extras |= {canonicalize_name(e) for e in _names(item.value)}
        else:
            flags.add(item.dest)
    if sub not in ("install", "sync") or "only_root" in flags:
        return None
    if "no_dev" in flags:
        without.add("dev")
    return _Selection(
        "poetry",
        directory=directory,
        groups=frozenset(groups),
        without=frozenset(without),
        only=only,
        all_groups="all_groups" in flags,
        extras=frozenset(extras),
        all_extras="all_extras" in flags,
    )


def _uv_sync_command(words: Sequence[str]) -> _Selection | None:
    positional = []
    directory = "."
    groups: set[str] = set()
    without: set[str] = set()
    extras: set[str] = set()
    flags: set[str] = set()
    only = False
    for item in scan(words, _UV_SYNC, 1):
        value = item.value or ""
        if item.dest == POSITIONAL:
            positional.append(value)
        elif item.dest in ("directory", "project") and value:
            directory = value
        elif item.dest == "group":
            groups.add(value)
        elif item.dest == "only_group":
            only = True
            groups.add(value)
        elif item.dest == "no_group":
            without.add(value)
        elif item.dest == "extra":
            extras.add(canonicalize_name(value))
        else:
            flags.add(item.dest)
    if positional != ["sync"]:
        return None
    if "no_dev" in flags:
        without.add("dev")
    if "only_dev" in flags:
        only = True
        groups.add("dev")
    return _Selection(
        "uv",
        directory=directory,
        groups=frozenset(groups),
        without=frozenset(without),
        only=only,
        all_groups="all_groups" in flags,
        default_groups="no_default_groups" not in flags,
        extras=frozenset(extras),
        all_extras="all_extras" in flags,
    )


def _pipenv_command(words: Sequence[str]) -> _Selection | None:
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
    return _Selection("pipenv", groups=frozenset(groups), relocks=len(positional) > 1)


def _project_site(
    ctx: Context,
    senv: StageEnv,
    ins: Instruction,
    cmd: Command,
    selection: _Selection,
    cwd: str | None,
) -> PipSite | None:
    span = Span(cmd.words[0].span.start, cmd.words[-1].span.end)
    reqs = _ProjectSite(ctx, senv, ins, span, cwd).requirements(selection)
    install = PipInstall(tool=selection.tool, command=cmd.words[1].value or "install")
    return PipSite(senv.stage, ins, cmd, install, tuple((r, span) for r in reqs), install)


@dataclass
class _ProjectSite:
    """The project files one install command can see, traced back to the build context."""

    ctx: Context
    senv: StageEnv
    ins: Instruction
    span: Span
    cwd: str | None
    found: dict[str, Path] = field(default_factory=dict)

    def requirements(self, selection: _Selection) -> list[PyRequirement]:
        ctx = self.ctx
        line = ctx.tree.lines.position(self.span.start).line
        if self.cwd is None or ctx.context_dir is None:
            ctx.notes.append(
                f"line {line}: the project directory is unknown; its requirements are not checked"
            )
            return []
        directory = posixpath.normpath(posixpath.join(self.cwd, selection.directory))
        for name in PROJECT_FILE_NAMES:
            local = self.senv.context_file(posixpath.join(directory, name), self.ins.span.start)
            # A copied directory maps every path below it; only files it holds count.
            if local is not None and (Path(ctx.context_dir) / local).is_file():
                self.found[name] = Path(local)
        if selection.tool == "pipenv":
            return self._pipenv(selection, line, directory)
        if not self.found.keys() & _PROJECT_NAMES:
            ctx.notes.append(
                f"line {line}: no pyproject.toml, setup.py or setup.cfg of {directory} was "
                "traced to the build context; its requirements are not checked"
            )
            return []
        pyproject = self._pyproject_data()
        lock_name = {"poetry": "poetry.lock", "uv": "uv.lock"}.get(selection.tool)
        roots: list[PyRequirement] = []
        for name in ("pyproject.toml", "setup.cfg", "setup.py"):
            if name in self.found:
                roots.extend(_pick(_read(ctx, self.found[name]), selection, pyproject))
        if lock_name is None or lock_name not in self.found:
            return roots
        return _locked(ctx, self.found[lock_name], lock_name, roots)

    def _pipenv(self, selection: _Selection, line: int, directory: str) -> list[PyRequirement]:
        if selection.relocks:
            self.ctx.notes.append(
                f"line {line}: pipenv install with package names re-locks; not checked"
            )
            return []
        name = "Pipfile.lock" if "Pipfile.lock" in self.found else "Pipfile"
        if name not in self.found:
            self.ctx.notes.append(
                f"line {line}: no Pipfile of {directory} was traced to the build context; "
                "its requirements are not checked"
            )
            return []
        return _pick(_read(self.ctx, self.found[name]), selection, {})

    def _pyproject_data(self) -> Mapping[str, Any]:
        path = self.found.get("pyproject.toml")
        if path is None or self.ctx.context_dir is None:
            return {}
        try:
            text, _ = read_text_in_root(path, Path(self.ctx.context_dir))
            return load_toml(text)
        except (ContextError, TOMLDecodeError):
            return {}


def _read(ctx: Context, path: Path) -> RequirementsResult:
    """A project or lock file's requirements (``path`` relative to the build context), read
    once per run; problems become notes."""
    key = ("python-project-file", path)
    cached = ctx.cache.get(key)
    if isinstance(cached, RequirementsResult):
        return cached
    assert ctx.context_dir is not None
    root = Path(ctx.context_dir)
    result = read_project_file(path, root)
    for issue in result.issues:
        where = display(issue.file, root) if issue.file is not None else "?"
        ctx.notes.append(f"{where}:{issue.line}:{issue.column}: {issue.message}")
    ctx.cache[key] = result
    return result


def _section(req: PyRequirement) -> str:
    """The table a project file's requirement came from (``project.dependencies``)."""
    _, sep, tail = req.origin.rpartition(" [")
    return tail[:-1] if sep and tail.endswith("]") else ""


def _table(data: object, *keys: str) -> Mapping[str, Any]:
    for key in keys:
        data = data.get(key) if isinstance(data, Mapping) else None
    return data if isinstance(data, Mapping) else {}


def _pick(
    result: RequirementsResult, selection: _Selection, pyproject: Mapping[str, Any]
) -> list[PyRequirement]:
    """The requirements of ``result`` that ``selection`` installs."""
    poetry = _table(pyproject, "tool", "poetry")
    has_project_deps = any(_section(r) == "project.dependencies" for r in result.requirements)
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
        section = _section(req)
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


# -- lock files: which locked packages each target platform installs ---------------------------

# CPython minors a lock's markers are evaluated for: the marker a locked package gets lists
# those (with the machine) for which the dependency graph reaches it.
_PYTHONS = tuple((3, minor) for minor in range(6, 15))
_MACHINE = {"amd64": "x86_64", "arm64": "aarch64", "386": "i686", "arm": "armv7l"}


@dataclass(frozen=True)
class _Edge:
    name: NormalizedName
    specifier: SpecifierSet
    #: uv names the exact version when a lock holds several of one package.
    version: Version | None
    marker: Marker | None
    extras: frozenset[str]
    #: The parent's extra that brings this dependency; None: always.
    extra: str | None


@dataclass(frozen=True)
class _Node:
    name: NormalizedName
    version: Version | None
    edges: tuple[_Edge, ...]


def _version(value: object) -> Version | None:
    try:
        return Version(value) if isinstance(value, str) else None
    except InvalidVersion:
        return None


def _marker(value: object) -> Marker | None:
    try:
        return Marker(value) if isinstance(value, str) else None
    except InvalidMarker:
        return None


def _lock_nodes(data: Mapping[str, Any], lock: str) -> list[_Node]:
    packages = data.get("package")
    nodes = []
    for pkg in packages if isinstance(packages, list) else []:
        if isinstance(pkg, Mapping) and isinstance(pkg.get("name"), str):
            edges = _poetry_edges(pkg) if lock == "poetry.lock" else _uv_edges(pkg)
            nodes.append(
                _Node(canonicalize_name(pkg["name"]), _version(pkg.get("version")), tuple(edges))
            )
    return nodes


def _poetry_edges(pkg: Mapping[str, Any]) -> Iterator[_Edge]:
    # An optional dependency is installed only through an extra that lists it.
    extras_of: dict[str, list[str]] = {}
    for extra_name, items in _table(pkg, "extras").items():
        for item in items if isinstance(items, list) else []:
            m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", str(item))
            if m:
                extras_of.setdefault(canonicalize_name(m.group(1)), []).append(extra_name)
    for dep, value in _table(pkg, "dependencies").items():
        for item in value if isinstance(value, list) else [value]:
            try:
                req = Requirement(poetry_requirement(dep, item))
            except ValueError:
                continue
            name = canonicalize_name(dep)
            optional = isinstance(item, Mapping) and item.get("optional") is True
            brought_by: list[str | None] = [*extras_of.get(name, [])] if optional else [None]
            for extra in brought_by:
                yield _Edge(name, req.specifier, None, req.marker, frozenset(req.extras), extra)


def _uv_edges(pkg: Mapping[str, Any]) -> Iterator[_Edge]:
    groups: list[tuple[str | None, object]] = [(None, pkg.get("dependencies"))]
    groups.extend(_table(pkg, "optional-dependencies").items())
    for extra, items in groups:
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
                continue
            wanted = item.get("extra")
            yield _Edge(
                canonicalize_name(item["name"]),
                SpecifierSet(),
                _version(item.get("version")),
                _marker(item.get("marker")),
                frozenset(str(e) for e in wanted) if isinstance(wanted, list) else frozenset(),
                extra,
            )


def _matches(node: _Node, specifier: SpecifierSet, version: Version | None) -> bool:
    if node.version is None:
        return True
    if version is not None and node.version != version:
        return False
    return specifier.contains(node.version, prereleases=True)


def _environment(python: tuple[int, int], arch: str) -> dict[str, str]:
    # The host's environment fills the keys a container does not change the meaning of.
    env: dict[str, str] = {k: str(v) for k, v in default_environment().items()}
    env.update(
        python_version=f"{python[0]}.{python[1]}",
        python_full_version=f"{python[0]}.{python[1]}.0",
        platform_machine=_MACHINE.get(arch, arch),
        sys_platform="linux",
        platform_system="Linux",
        os_name="posix",
    )
    return env


class _Walk:
    """Which nodes of a lock's graph each (arch, Python) reaches from the project's roots."""

    def __init__(self, nodes: list[_Node], archs: Sequence[str]) -> None:
        self.nodes = nodes
        self.envs = [(arch, python) for arch in archs for python in _PYTHONS]
        self.by_name: dict[str, list[int]] = {}
        for i, node in enumerate(nodes):
            self.by_name.setdefault(node.name, []).append(i)
        self._holds: dict[tuple[str, int, str], bool] = {}

    def holds(self, marker: Marker | None, env: int, extras: frozenset[str]) -> bool:
        if marker is None:
            return True
        for extra in ("", *sorted(extras)):
            key = (str(marker), env, extra)
            if key not in self._holds:
                environment = {**_environment(self.envs[env][1], self.envs[env][0]), "extra": extra}
                self._holds[key] = marker.evaluate(environment)
            if self._holds[key]:
                return True
        return False

    def targets(self, name: str, specifier: SpecifierSet, version: Version | None) -> list[int]:
        found = self.by_name.get(name, [])
        chosen = [i for i in found if _matches(self.nodes[i], specifier, version)]
        # A version the lock does not hold would fail the install; the name is still meant.
        return chosen or found

    def reach(self, roots: Sequence[PyRequirement]) -> dict[int, set[int]]:
        """Node index -> indices of the environments that install it."""
        out: dict[int, set[int]] = {}
        for env in range(len(self.envs)):
            seen: dict[int, frozenset[str]] = {}
            todo = [
                (target, frozenset(root.extras))
                for root in roots
                if root.name is not None and self.holds(root.marker, env, frozenset())
                for target in self.targets(root.name, root.specifier, None)
            ]
            while todo:
                i, extras = todo.pop()
                before = seen.get(i)
                if before is not None and extras <= before:
                    continue
                now = extras | (before or frozenset())
                seen[i] = now
                wanted = {canonicalize_name(e) for e in now}
                for edge in self.nodes[i].edges:
                    if edge.extra is not None and canonicalize_name(edge.extra) not in wanted:
                        continue
                    if self.holds(edge.marker, env, now):
                        for target in self.targets(edge.name, edge.specifier, edge.version):
                            todo.append((target, edge.extras))
            for i in seen:
                out.setdefault(i, set()).add(env)
        return out

    def marker(self, envs: set[int]) -> Marker | None:
        """A marker true in exactly ``envs`` (None when that is every environment)."""
        if len(envs) == len(self.envs):
            return None
        by_arch: dict[str, list[tuple[int, int]]] = {}
        for env in sorted(envs):
            arch, python = self.envs[env]
            by_arch.setdefault(arch, []).append(python)
        clauses = []
        for arch, pythons in by_arch.items():
            machine = f'platform_machine == "{_MACHINE.get(arch, arch)}"'
            if len(pythons) == len(_PYTHONS):
                clauses.append(machine)
            else:
                versions = " or ".join(f'python_version == "{a}.{b}"' for a, b in pythons)
                clauses.append(f"({machine} and ({versions}))")
        return Marker(" or ".join(clauses) or 'platform_machine == "none"')


def _locked(ctx: Context, path: Path, lock: str, roots: list[PyRequirement]) -> list[PyRequirement]:
    """The packages of a lock file the roots pull in, each with the marker of where it does."""
    assert ctx.context_dir is not None
    locked = _read(ctx, path).requirements
    try:
        text, _ = read_text_in_root(path, Path(ctx.context_dir))
        data = load_toml(text)
    except (ContextError, TOMLDecodeError):
        return []
    walk = _Walk(_lock_nodes(data, lock), sorted({v.platform.arch for v in ctx.views()}))
    envs: dict[tuple[str, Version | None], set[int]] = {}
    for i, reached in walk.reach(roots).items():
        node = walk.nodes[i]
        envs.setdefault((node.name, node.version), set()).update(reached)
    out = []
    for req in locked:
        reached_by = envs.get((req.name or "", req.pin))
        if reached_by:
            out.append(replace(req, marker=walk.marker(reached_by)))
    return out


# -- answers ------------------------------------------------------------------------------------


class _OnlineFirst:
    """The package index's answers while it gives them, the offline snapshot's after that.

    The first failure (timeout, HTTP error) ends asking for the rest of the file: one
    bounded wait per run, not one per package.
    """

    def __init__(self, ctx: Context) -> None:
        from dockerarch.knowledge.pypi_online import PyPIClient

        cache = ctx.settings.cache_dir
        self.client = PyPIClient(cache_dir=None if cache is None else Path(cache) / "pypi")
        self.ctx = ctx
        self.failed = False

    def releases(self, name: str) -> Sequence[pypi.Release] | None:
        from dockerarch.knowledge.pypi_online import IndexUnavailable

        if not self.failed:
            try:
                found = self.client.releases(name)
            except IndexUnavailable as exc:
                self.failed = True
                self.ctx.warnings.append(
                    f"the package index did not answer ({exc}); Python wheel checks use the "
                    f"offline snapshot of {pypi.snapshot_date()}"
                )
            else:
                if found is not None:
                    return found
        return pypi.snapshot().releases(name)


def _provider(ctx: Context, req: PyRequirement) -> pypi.Provider | None:
    """Where to look ``req`` up: None for the snapshot, or the index with ``--online``
    when the snapshot does not know the package or the pinned version."""
    assert req.name is not None
    if not ctx.settings.online:
        return None
    known = pypi.snapshot().releases(req.name)
    if known is not None and (req.pin is None or any(r.version == req.pin for r in known)):
        return None
    online = ctx.cache.get("pypi_online")
    if not isinstance(online, _OnlineFirst):
        online = ctx.cache["pypi_online"] = _OnlineFirst(ctx)
    return online


@dataclass(frozen=True)
class _Answer:
    arch: str
    platform: str
    version: Version
    wheel: pypi.WheelAnswer
    python: tuple[int, int] | None
    python_reason: str
    libc: Libc
    libc_version: tuple[int, int] | None
    env: StageEnv


def _answers(
    ctx: Context, site: PipSite, req: PyRequirement, provider: pypi.Provider | None
) -> list[_Answer]:
    out = []
    assert req.name is not None
    for view in ctx.views():
        if (
            not view.reaches(site.instruction)
            or site.command.guard.runs_on(view.platform.arch) is False
        ):
            continue
        senv = stage_env(view, site.stage, ctx.context_dir)
        python, reason = senv.python_before(site.command.span.start)
        if not _marker_holds(req, python, view.platform.arch):
            continue
        _explain_unknowns(ctx, senv, python)
        version = req.pin or pypi.choose_version(req.name, req.specifier, python, provider=provider)
        if version is None:
            continue
        base = senv.base
        libc: Libc = "musl" if base and base.libc == "musl" else "glibc"
        lv = base.libc_version if base else None
        libc_version = (lv[0], lv[1]) if lv is not None else None
        arch = view.platform.arch
        wheel = pypi.wheel_platforms(
            req.name, version, python, libc, libc_version, [arch], provider=provider
        )[arch]
        out.append(
            _Answer(
                arch, str(view.platform), version, wheel, python, reason, libc, libc_version, senv
            )
        )
    return out


def _explain_unknowns(ctx: Context, senv: StageEnv, python: tuple[int, int] | None) -> None:
    """Say for --verbose why a stage's wheel answers are vague (once per stage and reason)."""
    stage = f"stage '{senv.stage.label}'"
    if senv.image is None:
        why = "its base image depends on a build argument without a usable default"
    elif senv.base is None:
        why = f"base image {senv.image} not in snapshot"
    else:
        why = f"base image {senv.image} ships none and no install of one was recognised"
    notes = []
    if python is None:
        notes.append(f"{stage}: Python version unknown: {why}; wheels for every CPython tried")
    if senv.base is None or senv.base.libc is None:
        libc_why = why if senv.base is None else f"base image {senv.image} has no known libc"
        notes.append(f"{stage}: libc unknown: {libc_why}; glibc assumed")
    for note in notes:
        if note not in ctx.notes:
            ctx.notes.append(note)


def _marker_holds(req: PyRequirement, python: tuple[int, int] | None, arch: str) -> bool:
    """False only when the requirement's marker rules this platform out (for every CPython,
    when the stage's is unknown)."""
    if req.marker is None:
        return True
    marker = req.marker
    return any(marker.evaluate(_environment(p, arch)) for p in ([python] if python else _PYTHONS))


def _external(req: PyRequirement) -> ExternalLocation | None:
    if req.file is None:
        return None
    return ExternalLocation(req.file, req.line, req.column, req.end_line, req.end_column)


def _version_edit(req: PyRequirement, word_span: Span, new: Version) -> Edit | None:
    if req.pin is None:
        return None
    needle = str(req.pin)
    idx = req.raw.find(needle)
    if idx < 0:
        return None
    if req.file is not None:
        # A lock file is regenerated, never edited (its hashes would no longer match); and
        # only a requirement whose source text is its raw text can be edited by offset.
        if req.file.name in _LOCK_NAMES or req.end_offset - req.offset != len(req.raw):
            return None
        start = req.offset + idx
        return Edit(Span(start, start + len(needle)), str(new), req.file)
    start = word_span.start + idx
    return Edit(Span(start, start + len(needle)), str(new))


def _build_needs_note(answer: _Answer, name: str, offset: int) -> str | None:
    needs = builddeps.toolchain_for("pypi")
    extra = builddeps.requirements_for("pypi", name)
    if extra is not None:
        needs = needs | extra
    pm = answer.env.package_manager
    if pm is None or answer.env.partial_before(offset):
        return None
    missing = builddeps.missing(
        pm, answer.env.installed_before(offset), needs, have=answer.env.capabilities_before(offset)
    )
    if not missing.capabilities:
        return None
    return "the stage has no " + ", ".join(missing.capabilities) + " for that source build"


@rule(code="DA501", name="no-arm64-wheel", category="python", severity=Severity.ERROR, fixable=True)
def no_arm64_wheel(ctx: Context) -> Iterator[Diagnostic]:
    """A pinned Python package has a wheel for one target platform but not another.

    ## What it does
    For every `pip install` / `uv pip install` (command-line requirements, `-r`
    files, and `pip install .` of a project whose pyproject.toml, setup.cfg or
    setup.py is COPY'd from the build context) and every `poetry install`,
    `uv sync` and `pipenv install` (the versions their lock files pin, on the
    platforms the lock's markers install them), works out the version installed
    and the stage's Python, libc and architecture, and checks PyPI's wheel tags
    per target platform: the offline snapshot, and with `--online` the package
    index for packages or versions the snapshot does not know.

    ## Why it matters
    Where no wheel matches, pip downloads the sdist and compiles it: slowly, and
    usually failing because slim images have no compiler or Python headers. The
    amd64 build works, so the problem appears only when someone builds for arm64.

    ## Example
    ```dockerfile
    FROM ubuntu:20.04
    RUN apt-get update && apt-get install -y python3-pip
    RUN pip3 install numpy==1.18.5
    ```
    numpy 1.18.5 has manylinux x86_64 wheels for CPython 3.8 but no aarch64 wheel;
    1.19.0 is the first with both.

    ## Fix
    Raise the pin to the first version with wheels for every target platform
    (where it is pinned: the requirements or project file, or the RUN line; for
    a lock file, re-lock with the higher version), or install the build
    dependencies for the platform that compiles.

    ## Fix safety
    Unsafe: a newer version may change behaviour on every platform.
    """
    # A lock or requirements line installed by several commands is one problem, one fix.
    reported: set[tuple[Path, int, str]] = set()
    for site in pip_sites(ctx):
        for req, word_span in site.requirements:
            if req.name is None or req.editable or req.url or req.constraint:
                continue
            if pypi.x86_only(req.name):
                continue  # DA503 says it better
            if "binary" not in site.options.allowed_formats(req.name):
                continue
            provider = _provider(ctx, req)
            answers = _answers(ctx, site, req, provider)
            have = [a for a in answers if a.wheel is pypi.WheelAnswer.YES]
            lack = [a for a in answers if a.wheel is pypi.WheelAnswer.NO]
            if not have or not lack:
                continue
            bad = lack[0]
            first = pypi.first_version_with_wheels(
                req.name,
                bad.python,
                bad.libc,
                bad.libc_version,
                [a.arch for a in answers],
                at_least=bad.version,
                provider=provider,
            )
            py = f"cp{bad.python[0]}{bad.python[1]}" if bad.python else "any CPython"
            where = ", ".join(a.platform for a in lack)
            msg = (
                f"{req.name} {bad.version} has a wheel for {have[0].platform} but none for {where} "
                f"({py}, {bad.libc}); {site.install.tool} builds it from source there"
            )
            if first is not None:
                msg += f"; {first} is the first version with wheels for every target"
            note = _build_needs_note(bad, req.name, site.command.span.start)
            if note:
                msg += f"; {note}"
            if req.file is not None:
                if (req.file, req.offset, msg) in reported:
                    continue
                reported.add((req.file, req.offset, msg))
            fix = None
            if first is not None:
                edit = _version_edit(req, word_span, first)
                if edit is not None:
                    fix = Fix(f"Pin {req.name} to {first}", (edit,), Applicability.UNSAFE)
            yield ctx.diagnostic(
                word_span,
                msg,
                fix=fix,
                platforms=[a.platform for a in lack],
                external=_external(req),
                notes=[f"Python {bad.python_reason}"],
            )


@rule(code="DA502", name="no-binary-compiled-package", category="python", severity=Severity.WARNING)
def no_binary(ctx: Context) -> Iterator[Diagnostic]:
    """`--no-binary` forces a compiled package to build from source on every platform.

    ## What it does
    Finds packages with compiled code installed under `--no-binary` (for that
    package or `:all:`), on the command line or in a requirements file.

    ## Why it matters
    Every platform then compiles the package: the build needs a compiler, headers
    and the package's system libraries, and takes much longer under emulation.

    ## Example
    ```dockerfile
    FROM ubuntu:20.04
    RUN pip3 install --no-binary :all: confluent-kafka==2.0.2
    ```

    ## Fix
    Drop `--no-binary` unless you need a source build, or install the build
    dependencies in the same stage first.

    ## Fix safety
    No automatic fix.
    """
    for site in pip_sites(ctx):
        for req, word_span in site.requirements:
            if req.name is None or req.url:
                continue
            if site.options.allowed_formats(req.name) != frozenset({"source"}):
                continue
            provider = _provider(ctx, req)
            version = req.pin or pypi.choose_version(
                req.name, req.specifier, None, provider=provider
            )
            if version is None or pypi.is_pure(req.name, version, provider=provider) is not False:
                continue
            yield ctx.diagnostic(
                word_span,
                f"--no-binary makes pip compile {req.name} {version} from source on every platform",
                external=_external(req),
            )


@rule(code="DA503", name="x86-only-package", category="x86-only", severity=Severity.ERROR)
def x86_only_package(ctx: Context) -> Iterator[Diagnostic]:
    """A Python package that only exists for x86 (Intel MKL and friends) is installed for arm64.

    ## What it does
    Flags installs of packages published only for x86 (mkl, intel-openmp,
    daal4py, scikit-learn-intelex, ...) that run on a non-x86 target platform,
    unless an arch guard keeps them to amd64.

    ## Why it matters
    pip finds no distribution for arm64 at all and the build fails.

    ## Example
    ```dockerfile
    FROM python:3.11-slim
    RUN pip install mkl==2024.0.0
    ```

    ## Fix
    Install the package only on amd64
    (`if [ "$TARGETARCH" = amd64 ]; then pip install mkl; fi` with `ARG TARGETARCH`),
    or use a portable alternative (OpenBLAS).

    ## Fix safety
    No automatic fix.
    """
    for site in pip_sites(ctx):
        for req, word_span in site.requirements:
            if req.name is None or not pypi.x86_only(req.name):
                continue
            bad = [
                str(v.platform)
                for v in ctx.views()
                if v.platform.arch not in ("amd64", "386")
                and v.reaches(site.instruction)
                and site.command.guard.runs_on(v.platform.arch) is not False
                and _marker_holds(req, None, v.platform.arch)
            ]
            if bad:
                yield ctx.diagnostic(
                    word_span,
                    f"{req.name} is published for x86 only; {', '.join(bad)} cannot install it",
                    platforms=bad,
                    external=_external(req),
                )


RULES = (no_arm64_wheel, no_binary, x86_only_package)
