"""Where a Dockerfile installs Python packages, and which requirements each install reads.

A site is one ``pip install`` / ``uv pip install`` (command-line requirements, ``-r``
files, ``pip install .``) or one project install (``poetry install``, ``uv sync``,
``pipenv install``), with its requirements traced back to files in the build context.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from dockerarch.engine import Context
from dockerarch.model import Stage
from dockerarch.pysources import INSTALLER_MARKS
from dockerarch.pysources.files import ContextError, display, read_text_in_root
from dockerarch.pysources.model import (
    IndexOptions,
    PyRequirement,
    RequirementsResult,
    make_requirement,
)
from dockerarch.pysources.pip import PipInstall, pip_install_args
from dockerarch.pysources.selection import Selection, local_project, project_command, selected
from dockerarch.records import field, record
from dockerarch.runscripts import may_hold
from dockerarch.shell.model import Command
from dockerarch.stageenv import StageEnv, stage_env
from dockerarch.syntax import Instruction, Span

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_PROJECT_NAMES = frozenset({"pyproject.toml", "setup.py", "setup.cfg"})
# The readers of requirements, project and lock files are imported where a site has such a
# file: a plain `pip install NAME` needs none of them.


@record
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
    """Every pip install in the file, with requirements from the build context (cached in
    ``ctx.cache``; what could not be traced becomes a note)."""
    cached = ctx.cache.get("pip_sites")
    if isinstance(cached, list):
        return cached
    sites: list[PipSite] = []
    # Where COPY put files does not depend on the platform: any view will do.
    view = ctx.views()[0]
    for stage in ctx.model.stages:
        for ins in stage.body:
            if ins.name != "RUN" or not may_hold(ins, INSTALLER_MARKS):
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
                    selection = project_command(words)
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
        local = local_project(arg.text)
        if local is not None and not install.no_deps:
            selection = Selection("pip", directory=local[0], extras=local[1])
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
            chosen = selected(_read(ctx, Path(local_file)), Selection("pip"), {})
            reqs.extend((req, word.span) for req in chosen)
            continue
        from dockerarch.pysources.reqfile import read_requirements_file

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


def _project_site(
    ctx: Context,
    senv: StageEnv,
    ins: Instruction,
    cmd: Command,
    selection: Selection,
    cwd: str | None,
) -> PipSite | None:
    span = Span(cmd.words[0].span.start, cmd.words[-1].span.end)
    reqs = _ProjectSite(ctx, senv, ins, span, cwd).requirements(selection)
    install = PipInstall(tool=selection.tool, command=cmd.words[1].value or "install")
    return PipSite(senv.stage, ins, cmd, install, tuple((r, span) for r in reqs), install)


@record(frozen=False)
class _ProjectSite:
    """The project files one install command can see, traced back to the build context."""

    ctx: Context
    senv: StageEnv
    ins: Instruction
    span: Span
    cwd: str | None
    found: dict[str, Path] = field(default_factory=dict)

    def requirements(self, selection: Selection) -> list[PyRequirement]:
        from dockerarch.pysources.project import PROJECT_FILE_NAMES

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
        pyproject = self._toml("pyproject.toml") or {}
        lock_name = {"poetry": "poetry.lock", "uv": "uv.lock"}.get(selection.tool)
        roots: list[PyRequirement] = []
        for name in ("pyproject.toml", "setup.cfg", "setup.py"):
            if name in self.found:
                roots.extend(selected(_read(ctx, self.found[name]), selection, pyproject))
        if lock_name is None or lock_name not in self.found:
            return roots
        locked = _read(ctx, self.found[lock_name]).requirements
        lock = self._toml(lock_name)
        if lock is None:
            return []
        archs = sorted({v.platform.arch for v in ctx.views()})
        from dockerarch.pysources.lockgraph import locked_requirements

        return locked_requirements(lock, lock_name, locked, roots, archs)

    def _pipenv(self, selection: Selection, line: int, directory: str) -> list[PyRequirement]:
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
        return selected(_read(self.ctx, self.found[name]), selection, {})

    def _toml(self, name: str) -> Mapping[str, Any] | None:
        """A found TOML file's data; None when it is missing or unreadable."""
        from dockerarch.pysources.locate import TOMLDecodeError, load_toml

        path = self.found.get(name)
        if path is None or self.ctx.context_dir is None:
            return None
        try:
            text, _ = read_text_in_root(path, Path(self.ctx.context_dir))
            return load_toml(text)
        except (ContextError, TOMLDecodeError):
            return None


def _read(ctx: Context, path: Path) -> RequirementsResult:
    """A project or lock file's requirements (``path`` relative to the build context), read
    once per run; problems become notes."""
    key = ("python-project-file", path)
    cached = ctx.cache.get(key)
    if isinstance(cached, RequirementsResult):
        return cached
    assert ctx.context_dir is not None
    root = Path(ctx.context_dir)
    from dockerarch.pysources.project import read_project_file

    result = read_project_file(path, root)
    for issue in result.issues:
        where = display(issue.file, root) if issue.file is not None else "?"
        ctx.notes.append(f"{where}:{issue.line}:{issue.column}: {issue.message}")
    ctx.cache[key] = result
    return result
