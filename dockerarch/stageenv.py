"""What a stage has, per target platform, at any point of its build.

Rules about source builds need the same facts: the stage's base image (its
distro, package manager, libc and Python), the system packages installed so
far by RUN lines that this platform executes, the Python pip runs under, and
which build-context files COPY put where. This module derives them once per
(stage, platform) from the model and the knowledge tables; unknown stays
unknown, and the reason is recorded for ``--verbose``.
"""

from __future__ import annotations

import posixpath
from bisect import bisect_left
from collections.abc import Callable, Iterator
from pathlib import Path

from dockerarch.expand import expand
from dockerarch.knowledge import builddeps, distros
from dockerarch.lazyattr import cached_property
from dockerarch.lazyre import lazy_compile
from dockerarch.model import PlatformView, Stage
from dockerarch.records import field, record
from dockerarch.shell.model import Command, Word
from dockerarch.syntax import Instruction

#: Values for a package word the shell layer left open; None when unknown.
Resolve = Callable[[Word], "list[str] | None"]
_SIMPLE_REF = lazy_compile(r"\$(?:(\w+)|\{(\w+)\})")

# apt installs Recommends unless told not to; these are the ones that decide
# whether a stage can compile (Debian's and Ubuntu's python3-pip recommend the
# toolchain and headers pip needs for sdists).
_APT_RECOMMENDS = {
    "python3-pip": ("build-essential", "python3-dev"),
    "python-pip": ("build-essential", "python-dev"),
}
_NO_RECOMMENDS = frozenset(
    {
        "--no-install-recommends",
        "APT::Install-Recommends=false",
        "APT::Install-Recommends=0",
        "Apt::Install-Recommends=false",
    }
)

_INSTALL_VERBS = {
    "apt-get": ("apt", {"install"}),
    "apt": ("apt", {"install"}),
    "aptitude": ("apt", {"install"}),
    "apk": ("apk", {"add"}),
    "yum": ("yum", {"install", "groupinstall"}),
    "dnf": ("dnf", {"install", "groupinstall"}),
    "microdnf": ("microdnf", {"install"}),
    "tdnf": ("dnf", {"install"}),
    "zypper": ("zypper", {"install", "in"}),
}
# Options of the package managers above that take a separate value.
_VALUE_OPTIONS = {
    "-o",
    "-t",
    "--virtual",
    "--repository",
    "-X",
    "--target-release",
    "--enablerepo",
    "--disablerepo",
    "--setopt",
    "--releasever",
    "--installroot",
    "-c",
    "--config",
}


@record
class PackageInstall:
    manager: str
    packages: tuple[str, ...]
    instruction: Instruction
    command: Command
    #: Some package words could not be resolved (``$deps`` set by something we
    #: cannot follow): what this install provides is not fully known.
    partial: bool = False


@record
class CopyEntry:
    """A COPY/ADD from the build context: sources (context-relative) to a path."""

    sources: tuple[str, ...]
    dest: str
    instruction: Instruction


@record(frozen=False)
class StageEnv:
    view: PlatformView
    stage: Stage
    context_dir: Path | None
    notes: list[str] = field(default_factory=list)

    @property
    def arch(self) -> str:
        return self.view.platform.arch

    @cached_property
    def image(self) -> str | None:
        return self.view.image(self.stage)

    @cached_property
    def base(self) -> distros.BaseEnv | None:
        if self.image is None:
            return None
        return distros.base_environment(self.image)

    @cached_property
    def instructions(self) -> list[Instruction]:
        """Every instruction this stage's build runs, ancestors first."""
        out: list[Instruction] = []
        for st in reversed(self.view.ancestry(self.stage)):
            out.extend(st.body)
        return out

    def commands(self) -> Iterator[tuple[Instruction, Command]]:
        """Shell commands that run on this platform (or may: undecided guards)."""
        return iter(self._commands)

    @cached_property
    def _commands(self) -> list[tuple[Instruction, Command]]:
        # Walked by every install, Python and source-build question about the stage.
        model = self.view.model
        arch = self.arch
        out = []
        for ins in self.instructions:
            if ins.name != "RUN":
                continue
            for script in model.scripts(ins):
                for cmd in script.commands:
                    if cmd.guard.runs_on(arch) is not False:
                        out.append((ins, cmd.effective()))
        return out

    @cached_property
    def installs(self) -> list[PackageInstall]:
        out = []
        for ins, cmd in self.commands():
            # Only an install with a word the shell layer left open needs the resolver,
            # whose scope look-ups are not free: most commands are neither.
            open_word = any(w.value is None for w in cmd.args)
            found = package_install(cmd, self._resolver(ins, cmd) if open_word else None)
            if found:
                manager, packages, complete = found
                out.append(PackageInstall(manager, packages, ins, cmd, partial=not complete))
        return out

    def _resolver(self, ins: Instruction, cmd: Command) -> Resolve:
        """Values of ``$NAME`` package words: the script's own earlier assignments, then
        the Dockerfile's ARG/ENV (``apt-get install $PHPIZE_DEPS``)."""
        shell: dict[str, str | None] = {}
        for script in self.view.model.scripts(ins):
            for a in script.assignments:
                if a.span.end <= cmd.span.start:
                    shell[a.name] = a.value.value
        docker_env = self.view.env_before(ins)

        def resolve(word: Word) -> list[str] | None:
            text = word.text
            quoted = len(text) >= 2 and text[0] == text[-1] == '"'
            m = _SIMPLE_REF.fullmatch(text[1:-1] if quoted else text)
            if m is None:
                return None
            name = m.group(1) or m.group(2)
            value = shell[name] if name in shell else docker_env.get(name)
            if value is None:
                return None
            return [value] if quoted else value.split()

        return resolve

    def partial_before(self, offset: int) -> bool:
        """Whether an install before ``offset`` installed packages we could not name."""
        return any(i.partial and i.command.span.start < offset for i in self.installs)

    @property
    def package_manager(self) -> str | None:
        if self.base and self.base.package_manager:
            return self.base.package_manager
        managers = {i.manager for i in self.installs}
        return managers.pop() if len(managers) == 1 else None

    def installed_before(self, offset: int) -> list[str]:
        pkgs = list(self.base.packages) if self.base else []
        for inst in self.installs:
            if inst.command.span.start < offset:
                pkgs.extend(inst.packages)
        return pkgs

    def capabilities_before(self, offset: int) -> set[str]:
        caps = set(self.base.capabilities) if self.base else set()
        pm = self.package_manager
        if pm:
            caps |= builddeps.provides(pm, self.installed_before(offset))
        return caps

    def python_before(self, offset: int) -> tuple[tuple[int, int] | None, str]:
        """The Python pip runs under at ``offset``, and where that comes from."""
        # The commands before ``offset`` are those before the first one at or after it:
        # with ``reach`` the running maximum of their starts, how many reach below it.
        reach, pythons = self._pythons
        return pythons[bisect_left(reach, offset)]

    @cached_property
    def _pythons(self) -> tuple[list[int], list[tuple[tuple[int, int] | None, str]]]:
        """``reach[i]``: the furthest start among the first ``i + 1`` commands; ``pythons[i]``:
        the Python after the first ``i`` commands. Every Python rule asks at its own
        offsets, so the commands are walked once, not once per question."""
        base = self.base
        version = base.python if base else None
        reason = base.python_source if base and version else "unknown base image Python"
        reach: list[int] = []
        pythons = [(version, reason)]
        for _, cmd in self.commands():
            reach.append(max(cmd.span.start, reach[-1]) if reach else cmd.span.start)
            words = _python_tool_words(cmd)
            tool = distros.python_from_tool(words) if words else None
            if tool:
                version, reason = tool, f"installed by `{' '.join(words[:4])}`"
            elif base and version is None:
                found = package_install(cmd)
                if found:
                    v = distros.python_from_install(found[0], list(found[1]), base)
                    if v is None and any(p.startswith("python3") for p in found[1]):
                        # python3-pip, python3-dev, python3-venv pull in the default python3.
                        v = base.apt_python
                    if v:
                        version, reason = v, f"{found[0]} installs python{v[0]}.{v[1]}"
            pythons.append((version, reason))
        return reach, pythons

    @cached_property
    def copies(self) -> list[CopyEntry]:
        out: list[CopyEntry] = []
        workdir = "/"
        for ins in self.instructions:
            env = self.view.env_before(ins)
            if ins.name == "WORKDIR":
                value = expand(ins.args, env, self.view.escape)
                if value:
                    workdir = posixpath.normpath(posixpath.join(workdir, value))
                continue
            if ins.name not in ("COPY", "ADD") or ins.flag("from") is not None:
                continue
            words = (
                [w.value for w in ins.json]
                if ins.json is not None
                else [w.value for w in ins.words()]
            )
            if len(words) < 2 or ins.heredocs:
                continue
            *srcs, dest = (expand(w, env, self.view.escape) or w for w in words)
            dest_abs = posixpath.join(workdir, dest)
            if dest.endswith("/") or dest in (".", "./"):
                dest_abs += "/"
            out.append(CopyEntry(tuple(srcs), dest_abs, ins))
        return out

    def workdir_before(self, offset: int) -> str:
        workdir = "/"
        for ins in self.instructions:
            if ins.span.start >= offset:
                break
            if ins.name == "WORKDIR":
                value = expand(ins.args, self.view.env_before(ins), self.view.escape)
                if value:
                    workdir = posixpath.normpath(posixpath.join(workdir, value))
        return workdir

    def context_file(self, image_path: str, before: int) -> str | None:
        """The build-context path (relative) COPY placed at ``image_path``."""
        if self.context_dir is None:
            return None
        target = posixpath.normpath(image_path)
        for entry in reversed(self.copies):
            if entry.instruction.span.start >= before:
                continue
            dest = entry.dest
            is_dir_dest = dest.endswith("/") or len(entry.sources) > 1
            dest_n = posixpath.normpath(dest)
            for src in entry.sources:
                src_n = posixpath.normpath(src)
                local = self.context_dir / src_n
                if local.is_dir():
                    prefix = dest_n.rstrip("/") + "/"
                    if target.startswith(prefix):
                        return posixpath.normpath(posixpath.join(src_n, target[len(prefix) :]))
                    continue
                placed = (
                    posixpath.join(dest_n, posixpath.basename(src_n)) if is_dir_dest else dest_n
                )
                if posixpath.normpath(placed) == target:
                    return src_n
        return None


def _python_tool_words(cmd: Command) -> list[str]:
    """``cmd``'s words for python_from_tool, or none when it runs none of its tools.

    Most commands run none, and this is asked of every command for every stage and target
    platform. python_from_tool names the tool by the first word with a value.
    """
    # The program's name is the first word with a value, unless that value is empty.
    program = cmd.program or next((w.value for w in cmd.words if w.value), "").rsplit("/", 1)[-1]
    if program not in distros.PYTHON_TOOLS:
        return []
    return [w.value or "" for w in cmd.words]


def package_install(
    cmd: Command, resolve: Resolve | None = None
) -> tuple[str, tuple[str, ...], bool] | None:
    """``(manager, packages, complete)`` when ``cmd`` installs system packages.

    Words whose value the shell layer cannot tell (``$deps``) go through
    ``resolve``; ``complete`` is False when one still has no value.
    """
    prog = cmd.program
    if prog is None:
        return None
    spec = _INSTALL_VERBS.get(prog)
    if spec is None:
        return None
    manager, verbs = spec
    words: list[str | None] = []
    complete = True
    for arg in cmd.args:
        if arg.value is not None:
            words.append(arg.value)
            continue
        values = resolve(arg) if resolve else None
        if values is None:
            complete = False
        words.extend(values or [None])
    pkgs: list[str] = []
    verb_seen = False
    group = False
    skip = False
    for w in words:
        if skip:
            skip = False
            continue
        if w is None:
            continue
        if not verb_seen:
            if w in verbs:
                verb_seen = True
                group = w == "groupinstall"
            elif w == "group" and manager in ("dnf", "yum"):
                group = True
            elif w in _VALUE_OPTIONS:
                skip = True
            continue
        if w.startswith("-"):
            if w in _VALUE_OPTIONS:
                skip = True
            continue
        if group and not w.startswith("@"):
            w = "@" + w
        pkgs.append(builddeps.normalize_package(w) if not w.startswith("@") else w)
    if not verb_seen or (not pkgs and complete):
        return None
    if manager == "apt" and not _NO_RECOMMENDS.intersection(w for w in words if w):
        pkgs.extend(r for p in pkgs for r in _APT_RECOMMENDS.get(p, ()))
    return manager, tuple(pkgs), complete


def stage_env(view: PlatformView, stage: Stage, context_dir: Path | None) -> StageEnv:
    """The (cached) environment of ``stage`` as ``view``'s platform builds it."""
    key = ("stage_env", stage.index, context_dir)
    env = view.cache.get(key)
    if not isinstance(env, StageEnv):
        env = view.cache[key] = StageEnv(view, stage, context_dir)
    return env
