"""Python packages that install a wheel on amd64 but build from source on arm64."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from dockerarch_rules.build_deps import fixed_by_build_deps

from dockerarch.diagnostics import Applicability, Diagnostic, Edit, ExternalLocation, Fix, Severity
from dockerarch.engine import Context, rule
from dockerarch.knowledge import builddeps
from dockerarch.pysources import INSTALLER_MARKS
from dockerarch.records import record
from dockerarch.runscripts import may_hold
from dockerarch.scriptcache import TextFlags, text_key
from dockerarch.syntax import Instruction, Span

TYPE_CHECKING = False
if TYPE_CHECKING:
    from packaging.version import Version

    from dockerarch.pysites import PipSite
    from dockerarch.pysources import PyRequirement
    from dockerarch.pywheels import PlatformAnswer
    from dockerarch.shell.model import Word as ShellWord

# The PyPI knowledge, the install readers and packaging are imported by the checks, and only
# for a file that runs a Python installer: the others (most files) need not load them.

_LOCK_NAMES = frozenset({"poetry.lock", "uv.lock", "Pipfile.lock"})


def python_installs(ctx: Context) -> list[PipSite]:
    """:func:`dockerarch.pysites.pip_sites`, without importing it when no command can be one."""
    if not _runs_python_installer(ctx):
        return []
    from dockerarch.pysites import pip_sites

    return pip_sites(ctx)


def _runs_python_installer(ctx: Context) -> bool:
    cached = ctx.cache.get("runs_python_installer")
    if isinstance(cached, bool):
        return cached
    found = any(
        _run_installs_python(ctx, ins)
        for stage in ctx.model.stages
        for ins in stage.body
        if ins.name == "RUN"
    )
    ctx.cache["runs_python_installer"] = found
    return found


def _run_installs_python(ctx: Context, ins: Instruction) -> bool:
    # Every program _installer_program accepts holds one of the marks: a RUN naming none
    # is not walked.
    if not may_hold(ins, INSTALLER_MARKS):
        return False
    # The answer reads the commands' words alone: kept by the text they depend on.
    key = text_key(ins, ctx.tree.text, ctx.tree.escape)
    found = _installing.get(key)
    if found is None:
        found = any(
            _installer_program(raw.effective().words)
            for script in ctx.model.scripts(ins)
            for raw in script.commands
        )
        _installing.put(key, found)
    return found


_installing = TextFlags()


def _installer_program(words: Sequence[ShellWord]) -> bool:
    # Every program pip_sites recognises (pip*, python* -m pip, pypy*, uv, poetry, pipenv),
    # and some it does not.
    if not words:
        return False
    first = words[0].value if words[0].value is not None else words[0].text
    program = first.replace("\\", "/").rsplit("/", 1)[-1]
    return "pip" in program or program in ("uv", "poetry") or program.startswith(("python", "pypy"))


def _external(req: PyRequirement) -> ExternalLocation | None:
    if req.file is None:
        return None
    return ExternalLocation(req.file, req.line, req.column, req.end_line, req.end_column)


@record
class _WheelGap:
    """A requirement with wheels for some targets and none for others."""

    have: list[PlatformAnswer]
    lack: list[PlatformAnswer]
    #: The first version with wheels for every target, when there is one.
    first: Version | None


def _wheel_gap(ctx: Context, site: PipSite, req: PyRequirement) -> _WheelGap | None:
    """The gap of ``req`` at ``site``; computed once per check (DA501 and DA701 both ask)."""
    key = ("wheel_gap", site.command.span.start, req.name, req.file, req.offset)
    if key in ctx.cache:
        cached = ctx.cache[key]
        return cached if isinstance(cached, _WheelGap) else None
    from dockerarch.knowledge import pypi
    from dockerarch.pywheels import pypi_provider

    gap = None
    provider = pypi_provider(ctx, req)
    answers = wheel_answers_at(ctx, site, req)
    have = [a for a in answers if a.wheel is pypi.WheelAnswer.YES]
    lack = [a for a in answers if a.wheel is pypi.WheelAnswer.NO]
    if have and lack and req.name is not None:
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
        gap = _WheelGap(have, lack, first)
    ctx.cache[key] = gap
    return gap


def wheel_answers_at(ctx: Context, site: PipSite, req: PyRequirement) -> list[PlatformAnswer]:
    """:func:`dockerarch.pywheels.wheel_answers` for ``req`` at ``site`` from the provider
    ``pypi_provider`` gives; computed once per check (DA501's gap and DA701's source builds
    both ask)."""
    key = ("wheel_answers", site.command.span.start, req.name, req.file, req.offset)
    cached = ctx.cache.get(key)
    if isinstance(cached, tuple):
        return list(cached)
    from dockerarch.pywheels import pypi_provider, wheel_answers

    answers = wheel_answers(ctx, site, req, pypi_provider(ctx, req))
    ctx.cache[key] = tuple(answers)
    return answers


def pins_within_major(ctx: Context, site: PipSite, req: PyRequirement, word_span: Span) -> bool:
    """Whether DA501 runs and fixes this requirement with a pin in its major version.

    DA701 then leaves the requirement's source build alone: the pin removes it.
    """
    if "DA501" not in ctx.running or req.name is None:
        return False
    gap = _wheel_gap(ctx, site, req)
    if gap is None or gap.first is None or gap.first.major != gap.lack[0].version.major:
        return False
    return _version_edit(req, word_span, gap.first) is not None


def _version_edit(req: PyRequirement, word_span: Span, new: Version) -> Edit | None:
    needle = req.pin_text
    if needle is None:
        return None
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


def _build_needs_note(answer: PlatformAnswer, name: str, offset: int) -> str | None:
    needs = builddeps.source_build_needs("pypi", name)
    pm = answer.env.package_manager
    if pm is None or answer.env.partial_before(offset):
        return None
    missing = builddeps.missing(
        pm, answer.env.installed_before(offset), needs, have=answer.env.capabilities_before(offset)
    )
    if not missing.capabilities:
        return None
    return "the stage has no " + ", ".join(missing.capabilities) + " for that source build"


@rule(
    code="DA501",
    scope="stage",
    name="no-arm64-wheel",
    category="python",
    severity=Severity.ERROR,
    fixable=True,
)
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
    dependencies for the platform that compiles. The fix pins when the first
    version with wheels shares the pinned major version (then DA701 leaves the
    build alone: the pin removes it); a major upgrade is left to DA701, which
    installs the build dependencies and keeps the tested version, when it runs.

    ## Fix safety
    Unsafe: a newer version may change behaviour on every platform.
    """
    # A lock or requirements line installed by several commands is one problem, one fix.
    reported: set[tuple[Path, int, str]] = set()
    sites = python_installs(ctx)
    if not sites:
        return
    from dockerarch.knowledge import pypi

    for site in sites:
        for req, word_span in site.requirements:
            if req.name is None or not req.from_index:
                continue
            if pypi.x86_only(req.name):
                continue  # DA503 says it better
            if "binary" not in site.options.allowed_formats(req.name):
                continue
            gap = _wheel_gap(ctx, site, req)
            if gap is None:
                continue
            have, lack, first = gap.have, gap.lack, gap.first
            bad = lack[0]
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
            edit = None if first is None else _version_edit(req, word_span, first)
            # A pin within the major version is the smaller change; a major upgrade
            # gives way to DA701 installing the build dependencies, when it does.
            if (
                edit is not None
                and first is not None
                and (first.major == bad.version.major or not fixed_by_build_deps(ctx, word_span))
            ):
                message = f"Pin {req.name} to {first} on every platform"
                fix = Fix(message, (edit,), Applicability.UNSAFE)
            yield ctx.diagnostic(
                word_span,
                msg,
                fix=fix,
                platforms=[a.platform for a in lack],
                external=_external(req),
                notes=[f"Python {bad.python_reason}"],
            )


@rule(
    code="DA502",
    scope="stage",
    name="no-binary-compiled-package",
    category="python",
    severity=Severity.WARNING,
)
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
    sites = python_installs(ctx)
    if not sites:
        return
    from dockerarch.knowledge import pypi
    from dockerarch.pyspecifiers import specifier_set
    from dockerarch.pywheels import pypi_provider

    for site in sites:
        for req, word_span in site.requirements:
            if req.name is None or req.url:
                continue
            if site.options.allowed_formats(req.name) != frozenset({"source"}):
                continue
            provider = pypi_provider(ctx, req)
            version = req.pin_text or pypi.choose_version(
                req.name, specifier_set(req.specifier), None, provider=provider
            )
            if version is None or pypi.is_pure(req.name, version, provider=provider) is not False:
                continue
            yield ctx.diagnostic(
                word_span,
                f"--no-binary makes pip compile {req.name} {version} from source on every platform",
                external=_external(req),
            )


@rule(
    code="DA503",
    scope="stage",
    name="x86-only-package",
    category="x86-only",
    severity=Severity.ERROR,
)
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
    sites = python_installs(ctx)
    if not sites:
        return
    from dockerarch.knowledge import pypi
    from dockerarch.pysources.markers import marker_holds

    for site in sites:
        for req, word_span in site.requirements:
            if req.name is None or not pypi.x86_only(req.name):
                continue
            bad = [
                str(v.platform)
                for v in ctx.views()
                if v.platform.arch not in ("amd64", "386")
                and v.reaches(site.instruction)
                and site.command.guard.runs_on(v.platform.arch) is not False
                and marker_holds(req, None, v.platform.arch)
            ]
            if bad:
                yield ctx.diagnostic(
                    word_span,
                    f"{req.name} is published for x86 only; {', '.join(bad)} cannot install it",
                    platforms=bad,
                    external=_external(req),
                )


RULES = (no_arm64_wheel, no_binary, x86_only_package)
