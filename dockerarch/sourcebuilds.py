"""Commands that compile native code, per target platform, and what their stage lacks for it.

A :class:`SourceBuild` is one command that compiles on one platform: a pip or npm install that
falls back to a source build (found by the Python and npm rules), or a build tool run directly
(``./configure``, ``make``, ``cmake``, ``cargo build``, ``go build`` with cgo, ``gem install
--platform ruby``), found here. :func:`lacking` compares what the build needs with what the
stage has installed *before* the command on that platform; unknown stays unknown.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from dockerarch.diagnostics import ExternalLocation
from dockerarch.engine import Context
from dockerarch.knowledge import builddeps
from dockerarch.knowledge.builddeps import BuildNeeds
from dockerarch.model import PlatformView, Stage
from dockerarch.records import record
from dockerarch.shell.model import Command
from dockerarch.stageenv import StageEnv, stage_env
from dockerarch.syntax import Instruction, Span

__all__ = [
    "SourceBuild",
    "guarded",
    "install_command",
    "lacking",
    "tool_builds",
]


@record
class SourceBuild:
    """One command compiling on one platform."""

    what: str
    """What compiles, for messages: ``canvas 2.11.2``, ``./configure``."""
    why: str
    """Why it compiles there (``no prebuilt binary for glibc``, ``--no-binary``); "" for tools."""
    instruction: Instruction
    command: Command
    span: Span
    external: ExternalLocation | None
    needs: BuildNeeds
    env: StageEnv
    python: tuple[int, int] | None = None
    """The Python a pip build compiles against (for its headers package)."""

    @property
    def arch(self) -> str:
        return self.env.arch

    @property
    def platform(self) -> str:
        return str(self.env.view.platform)


def lacking(ctx: Context, build: SourceBuild) -> BuildNeeds | None:
    """The needs of ``build`` that its stage does not meet before the command; None if unknown.

    Unknown base images and stages without a known package manager give None (and a note
    for ``--verbose``): what they have installed cannot be told.
    """
    env = build.env
    offset = build.command.span.start
    if env.base is None or env.package_manager is None:
        why = "the base image is not known" if env.base is None else "no package manager is known"
        _unchecked(ctx, build, why)
        return None
    if env.partial_before(offset):
        why = "an earlier install names packages through a variable dockerarch cannot follow"
        _unchecked(ctx, build, why)
        return None
    have = env.capabilities_before(offset)
    if env.python_before(offset)[0] is not None:
        have.add("python3")  # an image that ships python3 runs node-gyp without installing it
    todo = builddeps.missing(
        env.package_manager, env.installed_before(offset), build.needs, have=have
    )
    return todo if todo else None


def _unchecked(ctx: Context, build: SourceBuild, why: str) -> None:
    """A note for --verbose (the line is looked up only for one)."""
    line = ctx.tree.lines.position(build.command.span.start).line
    text = f"line {line}: build dependencies of {build.what} not checked: {why}"
    if text not in ctx.notes:
        ctx.notes.append(text)


_INSTALL = {
    "apt": "apt-get update && apt-get install -y --no-install-recommends {}",
    "apk": "apk add --no-cache {}",
    "yum": "yum install -y {}",
    "dnf": "dnf install -y {}",
    "microdnf": "microdnf install -y {}",
    "zypper": "zypper --non-interactive install {}",
}


def install_command(env: StageEnv, before: int, packages: Sequence[str]) -> str:
    """A shell command installing ``packages`` the way the stage already installs packages."""
    manager = env.package_manager
    assert manager is not None
    # Amazon Linux 2023 has both yum and dnf: keep to the one the Dockerfile uses.
    used = [i for i in env.installs if i.command.span.start < before and i.command.name]
    for inst in reversed(used):
        program = inst.command.program or ""
        if program in _INSTALL and _same_family(program, manager):
            manager = program
            break
    return _INSTALL.get(manager, _INSTALL["apt"]).format(" ".join(packages))


def _same_family(a: str, b: str) -> bool:
    rpm = {"yum", "dnf", "microdnf"}
    return a == b or (a in rpm and b in rpm)


def guarded(arches: Sequence[str], command: str) -> str:
    """``command`` run only when ``$TARGETARCH`` is one of ``arches``."""
    if len(arches) == 1:
        return f'if [ "$TARGETARCH" = "{arches[0]}" ]; then {command}; fi'
    return f'case "$TARGETARCH" in {"|".join(arches)}) {command} ;; esac'


# --- build tools run directly ----------------------------------------------------------------

_CARGO_BUILDS = frozenset({"build", "install", "rustc", "run", "test", "bench"})
_GO_BUILDS = frozenset({"build", "install", "run", "test", "generate"})
_TOOLS = frozenset({"configure", "make", "gmake", "cmake", "cargo", "go", "gem"})


def tool_builds(ctx: Context) -> list[SourceBuild]:
    """Build tools run by RUN lines, per target platform that runs them."""
    out: list[SourceBuild] = []
    for view in ctx.views():
        for stage in ctx.model.stages:
            if view.reaches(stage):
                out.extend(_stage_tool_builds(ctx, view, stage))
    return out


def _stage_tool_builds(ctx: Context, view: PlatformView, stage: Stage) -> Iterator[SourceBuild]:
    env = stage_env(view, stage, ctx.context_dir)
    own = {id(ins) for ins in stage.body}
    for ins, cmd in env.commands():
        name = cmd.name
        if name is None or name.value is None or id(ins) not in own:
            continue
        found = _tool_needs(cmd, name.value, view, ins)
        if found is not None:
            what, needs = found
            yield SourceBuild(what, "", ins, cmd, name.span, None, needs, env)


def _tool_needs(
    cmd: Command, path: str, view: PlatformView, ins: Instruction
) -> tuple[str, BuildNeeds] | None:
    prog = cmd.program or ""
    # Nearly every command is something else: answer those before looking at the arguments.
    if prog not in _TOOLS:
        return None
    args = [w.value or "" for w in cmd.args]
    if prog == "configure":
        return (path, BuildNeeds(("cc", "make"))) if "/" in path else None
    if prog in ("make", "gmake"):
        return " ".join([prog, *args[:1]]), BuildNeeds(("make",))
    if prog == "cmake":
        if any(a in ("--build", "--install", "-E", "-P", "--version") for a in args):
            return None
        generator = any(a.startswith("-G") for a in args)
        return "cmake", BuildNeeds(("cc", "cmake") if generator else ("cc", "make", "cmake"))
    if prog == "cargo" and args[:1] and args[0] in _CARGO_BUILDS:
        # rustc links through the system C compiler.
        return f"cargo {args[0]}", BuildNeeds(("cc", "rust"))
    if prog == "go" and args[:1] and args[0] in _GO_BUILDS:
        prefix = {a.name: a.value.value for a in cmd.env}
        # The Dockerfile's scope is looked up only here: it is not free, and rarely needed.
        env = prefix if "CGO_ENABLED" in prefix else view.env_before(ins)
        cgo = env.get("CGO_ENABLED")
        return (f"go {args[0]} (CGO_ENABLED=1)", BuildNeeds(("cc",))) if cgo == "1" else None
    if prog == "gem" and args[:1] == ["install"]:
        return _gem(args[1:])
    return None


_GEM_VALUE_OPTIONS = frozenset({"-v", "--version", "-i", "--install-dir", "-n", "--bindir", "-s"})


def _gem(args: list[str]) -> tuple[str, BuildNeeds] | None:
    # Native gems ship precompiled builds for linux x86_64 and aarch64 more and more often;
    # only ``--platform ruby`` is sure to compile.
    names: list[str] = []
    forced = False
    words = iter(args)
    for arg in words:
        if arg == "--platform":
            forced = forced or next(words, "") == "ruby"
        elif arg.startswith("--platform="):
            forced = forced or arg == "--platform=ruby"
        elif arg in _GEM_VALUE_OPTIONS:
            next(words, "")
        elif not arg.startswith("-"):
            names.append(arg)
    if not forced or not names:
        return None
    needs = builddeps.toolchain_for("gem")
    for name in names:
        extra = builddeps.requirements_for("gem", name)
        if extra is not None:
            needs = needs | extra
    return f"gem install {' '.join(names)}", needs
