"""Compute-heavy work a Dockerfile runs under emulation for a target platform.

The heuristic, kept small so users can predict it: a step is heavy when it
*compiles*, and it runs emulated when its stage executes for the target
platform on a builder of another architecture. Compiling means

- a build tool run by a RUN line: ``./configure``, ``make``, ``cmake``,
  ``ninja``, ``meson``, ``cargo build|install|test|...``, ``go build|install|test``
  (with or without cgo: the Go compiler itself runs emulated), a C/C++ compiler
  or ``rustc`` called directly, ``mvn``/``gradle`` builds, ``dotnet build|publish``,
  ``bazel build``;
- a source build the package rules find for that platform: a pip install
  without a matching wheel (DA501) or under ``--no-binary`` (DA502), an npm
  native addon without a prebuilt binary (DA601), any build DA701 checks.

Package installs (``apt-get install``, ``apk add``) are not counted: they
unpack prebuilt binaries, slower under QEMU but minutes, not an hour.

A stage executes on the builder's own architecture when it, or the stage it
is built ``FROM``, says ``--platform=$BUILDPLATFORM`` (the cross-compiling
pattern) or names a platform the builder runs natively.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from pathlib import Path

from dockerarch.engine import Settings, check_text, instruction_at, load_rules
from dockerarch.expand import expand
from dockerarch.model import Model, PlatformView, Stage, build_model
from dockerarch.platforms import Platform
from dockerarch.records import record, replace
from dockerarch.shell.model import Command
from dockerarch.syntax import Instruction, Span, parse
from dockerarch.workflows.builds import runs_natively

#: Rules whose findings mean "this platform compiles a package from source".
SOURCE_BUILD_CODES = ("DA501", "DA502", "DA601", "DA701")


@record
class HeavyStep:
    """One compiling command the build runs emulated for ``platform``."""

    platform: Platform
    what: str
    #: 1-based line of the Dockerfile where it runs.
    line: int
    span: Span


def emulated_work(
    text: str,
    *,
    path: Path | None,
    context_dir: Path | None,
    settings: Settings,
    platforms: Sequence[Platform],
    host: str,
) -> list[HeavyStep]:
    """Heavy steps of the Dockerfile ``text`` that run emulated on a ``host`` builder."""
    emulated = [p for p in platforms if not runs_natively(p.arch, host)]
    if not emulated:
        return []
    tree = parse(text)
    model = build_model(tree)
    found: dict[tuple[Platform, int], HeavyStep] = {}

    def add(platform: Platform, what: str, span: Span) -> None:
        # One step per command: a package DA501 and DA701 both report is one source build.
        line = tree.lines.position(span.start).line
        found.setdefault((platform, span.start), HeavyStep(platform, what, line, span))

    for platform in emulated:
        view = model.for_platform(platform)
        for stage in model.stages:
            if not view.reaches(stage) or runs_natively(stage_arch(view, stage, host), host):
                continue
            for ins in stage.body:
                for cmd in _commands(model, ins, platform.arch):
                    what = compile_command(cmd)
                    if what is not None:
                        assert cmd.name is not None
                        add(platform, what, cmd.name.span)
    for code, platform, span, word in _source_builds(
        text, path, context_dir, replace(settings, platforms=tuple(platforms)), emulated
    ):
        at = instruction_at(tree, span.start)
        owner = model.stage_of(at) if at is not None else None
        view = model.for_platform(platform)
        if owner is not None and runs_natively(stage_arch(view, owner, host), host):
            continue
        add(platform, f"{word} builds from source ({code})", span)
    return sorted(found.values(), key=lambda s: (s.span.start, str(s.platform), s.what))


def stage_arch(view: PlatformView, stage: Stage, host: str) -> str:
    """The architecture a stage's commands execute as, when built for ``view.platform``."""
    for st in view.ancestry(stage):
        flag = st.platform
        if flag is None or flag.value is None:
            continue
        value = flag.value.strip()
        if value in ("$BUILDPLATFORM", "${BUILDPLATFORM}"):
            return host
        env = dict(view.global_env)
        # The view models a native build; on this builder BUILD* is the host's.
        env.update({"BUILDPLATFORM": f"linux/{host}", "BUILDARCH": host})
        expanded = expand(value, env, view.escape)
        if expanded is None:
            return view.platform.arch
        try:
            return Platform.parse(expanded).arch
        except ValueError:
            return view.platform.arch
    return view.platform.arch


def _commands(model: Model, ins: Instruction, arch: str) -> list[Command]:
    out = []
    for script in model.scripts(ins):
        for cmd in script.commands:
            if cmd.guard.runs_on(arch) is False:
                continue
            out.append(cmd.effective())
    return out


_CARGO = frozenset({"build", "install", "rustc", "run", "test", "bench"})
_GO = frozenset({"build", "install", "run", "test", "generate"})
_COMPILERS = frozenset({"gcc", "g++", "cc", "c++", "clang", "clang++", "rustc"})
_JVM_GOALS = frozenset({"compile", "package", "install", "verify", "build", "assemble", "jar"})


def compile_command(cmd: Command) -> str | None:
    """A short name for what ``cmd`` compiles, if it runs a build tool."""
    if cmd.name is None or cmd.name.value is None:
        return None
    path = cmd.name.value
    prog = posixpath.basename(path)
    args = [w.value or "" for w in cmd.args]
    first = args[0] if args else ""
    if prog == "configure" and "/" in path:
        return path
    if prog in ("make", "gmake", "ninja") or prog in _COMPILERS:
        return prog
    if prog == "cmake" and not {"-E", "-P", "--version", "--install"} & set(args):
        return "cmake"
    if prog == "meson" and first in ("compile", "setup", "install"):
        return f"meson {first}"
    if prog == "cargo" and first in _CARGO:
        return f"cargo {first}"
    if prog == "go" and first in _GO:
        return f"go {first}"
    if prog in ("mvn", "mvnw", "gradle", "gradlew") and _JVM_GOALS & set(args):
        return prog
    if prog == "dotnet" and first in ("build", "publish"):
        return f"dotnet {first}"
    if prog == "bazel" and first in ("build", "test", "run"):
        return f"bazel {first}"
    return None


def _source_builds(
    text: str,
    path: Path | None,
    context_dir: Path | None,
    settings: Settings,
    emulated: Sequence[Platform],
) -> list[tuple[str, Platform, Span, str]]:
    rules = [r for r in load_rules() if r.code in SOURCE_BUILD_CODES]
    if not rules:
        return []
    # Every target platform takes part: DA501 compares wheels across them.
    run = replace(settings, select=("DA",), ignore=(), severity={})
    result = check_text(text, run, path=path, context_dir=context_dir, rules=rules)
    out = []
    for d in result.diagnostics:
        word = text[d.span.start : d.span.end]
        concerned = [Platform.parse(p) for p in d.platforms] if d.platforms else emulated
        for platform in concerned:
            if platform in emulated:
                out.append((d.code, platform, d.span, word))
    return out
