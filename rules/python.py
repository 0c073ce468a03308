"""Python packages that install a wheel on amd64 but build from source on arm64."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import default_environment
from packaging.version import Version

from dockerarch.diagnostics import Applicability, Diagnostic, Edit, ExternalLocation, Fix, Severity
from dockerarch.engine import Context, rule
from dockerarch.knowledge import builddeps, pypi
from dockerarch.knowledge.pypi import Libc
from dockerarch.model import Stage
from dockerarch.pysources import (
    IndexOptions,
    PipInstall,
    PyRequirement,
    make_requirement,
    pip_install_args,
    read_requirements_file,
)
from dockerarch.shell.model import Command
from dockerarch.stageenv import StageEnv, stage_env
from dockerarch.syntax import Instruction, Span


@dataclass(frozen=True)
class PipSite:
    """One ``pip install`` and what it installs."""

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
            for script in ctx.model.scripts(ins):
                for raw_cmd in script.commands:
                    cmd = raw_cmd.effective()
                    words = [w.value if w.value is not None else w.text for w in cmd.words]
                    found = pip_install_args(words)
                    if found is not None:
                        senv = stage_env(view, stage, ctx.context_dir)
                        sites.append(_site(ctx, senv, ins, cmd, found[1]))
    ctx.cache["pip_sites"] = sites
    return sites


def _site(
    ctx: Context, senv: StageEnv, ins: Instruction, cmd: Command, install: PipInstall
) -> PipSite:
    reqs: list[tuple[PyRequirement, Span]] = []
    options: IndexOptions = install
    for arg in install.requirements:
        word = cmd.words[arg.word]
        req, _ = make_requirement(
            arg.text, file=None, lines=ctx.tree.lines, span=word.span, origin="command line"
        )
        reqs.append((req, word.span))
    for arg in install.requirement_files:
        word = cmd.words[arg.word]
        image_path = posixpath.join(senv.workdir_before(ins.span.start), arg.text)
        local = senv.context_file(image_path, ins.span.start)
        if local is None or ctx.context_dir is None:
            ctx.notes.append(
                f"line {ctx.tree.lines.position(word.span.start).line}: {arg.text} was not "
                "traced to a file COPY'd from the build context; its requirements are not checked"
            )
            continue
        result = read_requirements_file(Path(ctx.context_dir) / local, Path(ctx.context_dir))
        options = options.updated_with(result.options)
        for req in result.requirements:
            reqs.append((req, word.span))
    return PipSite(senv.stage, ins, cmd, install, tuple(reqs), options)


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


def _answers(ctx: Context, site: PipSite, req: PyRequirement) -> list[_Answer]:
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
        version = req.pin or pypi.choose_version(req.name, req.specifier, python)
        if version is None:
            continue
        base = senv.base
        libc: Libc = "musl" if base and base.libc == "musl" else "glibc"
        lv = base.libc_version if base else None
        libc_version = (lv[0], lv[1]) if lv is not None else None
        arch = view.platform.arch
        wheel = pypi.wheel_platforms(req.name, version, python, libc, libc_version, [arch])[arch]
        out.append(
            _Answer(
                arch, str(view.platform), version, wheel, python, reason, libc, libc_version, senv
            )
        )
    return out


_MACHINE = {"amd64": "x86_64", "arm64": "aarch64"}


def _marker_holds(req: PyRequirement, python: tuple[int, int] | None, arch: str) -> bool:
    """False only when the requirement's marker rules this platform out."""
    if req.marker is None or python is None:
        return True
    # The host's environment fills the keys a container does not change the meaning of.
    env: dict[str, str] = {k: str(v) for k, v in default_environment().items()}
    return req.marker.evaluate(
        {
            **env,
            "python_version": f"{python[0]}.{python[1]}",
            "python_full_version": f"{python[0]}.{python[1]}.0",
            "platform_machine": _MACHINE.get(arch, arch),
            "sys_platform": "linux",
            "platform_system": "Linux",
            "os_name": "posix",
        }
    )


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
    if pm is None:
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
    For every `pip install` (command-line requirements, `-r` files COPY'd from
    the build context), works out the version pip picks and the stage's Python,
    libc and architecture, and checks PyPI's wheel tags (offline snapshot, or
    the index with `--online`) per target platform.

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
    (where it is pinned: the requirements file or the RUN line), or install the
    build dependencies for the platform that compiles.

    ## Fix safety
    Unsafe: a newer version may change behaviour on every platform.
    """
    for site in pip_sites(ctx):
        for req, word_span in site.requirements:
            if req.name is None or req.editable or req.url or req.constraint:
                continue
            if pypi.x86_only(req.name):
                continue  # DA503 says it better
            if "binary" not in site.options.allowed_formats(req.name):
                continue
            answers = _answers(ctx, site, req)
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
            )
            py = f"cp{bad.python[0]}{bad.python[1]}" if bad.python else "any CPython"
            where = ", ".join(a.platform for a in lack)
            msg = (
                f"{req.name} {bad.version} has a wheel for {have[0].platform} but none for {where} "
                f"({py}, {bad.libc}); pip builds it from source there"
            )
            if first is not None:
                msg += f"; {first} is the first version with wheels for every target"
            note = _build_needs_note(bad, req.name, site.command.span.start)
            if note:
                msg += f"; {note}"
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
            version = req.pin or pypi.choose_version(req.name, req.specifier, None)
            if version is None or pypi.is_pure(req.name, version) is not False:
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
            ]
            if bad:
                yield ctx.diagnostic(
                    word_span,
                    f"{req.name} is published for x86 only; {', '.join(bad)} cannot install it",
                    platforms=bad,
                    external=_external(req),
                )


RULES = (no_arm64_wheel, no_binary, x86_only_package)
