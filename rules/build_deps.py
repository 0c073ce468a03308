"""Source builds whose stage lacks the compiler, headers or libraries they need."""

from __future__ import annotations

from collections.abc import Iterator
from functools import reduce

from dockerarch_rules.npm import npm_answers, npm_sites
from dockerarch_rules.platform_args import insert_lines

from dockerarch.diagnostics import (
    Applicability,
    Diagnostic,
    ExternalLocation,
    Fix,
    PlatformVariant,
    Severity,
)
from dockerarch.engine import Context, rule
from dockerarch.knowledge import builddeps
from dockerarch.knowledge.builddeps import BuildNeeds
from dockerarch.records import record
from dockerarch.sourcebuilds import SourceBuild, guarded, install_command, lacking, tool_builds
from dockerarch.syntax import Instruction, Span


def _pip_builds(ctx: Context) -> Iterator[SourceBuild]:
    # Imported here: rules/python.py asks this module whether DA701 fixes a build.
    from dockerarch_rules.python import pins_within_major, python_installs, wheel_answers_at

    sites = python_installs(ctx)
    if not sites:
        return
    from dockerarch.knowledge import pypi
    from dockerarch.pywheels import pypi_provider

    for site in sites:
        for req, word_span in site.requirements:
            if req.name is None or not req.from_index:
                continue
            formats = site.options.allowed_formats(req.name)
            if "source" not in formats:
                continue  # --only-binary: pip fails rather than compiles
            external = None
            if req.file is not None:
                external = ExternalLocation(
                    req.file, req.line, req.column, req.end_line, req.end_column
                )
            if pins_within_major(ctx, site, req, word_span):
                continue
            provider = pypi_provider(ctx, req)
            for a in wheel_answers_at(ctx, site, req):
                # Pure-Python packages build a wheel without compiling anything.
                if pypi.is_pure(req.name, a.version_text, provider=provider) is not False:
                    continue
                if "binary" in formats:
                    if a.wheel is not pypi.WheelAnswer.NO:
                        continue
                    py = f"cp{a.python[0]}{a.python[1]}" if a.python else "any CPython"
                    why = f"no wheel for {py}, {a.libc}"
                else:
                    why = "--no-binary"
                if pypi.has_sdist(req.name, a.version_text, provider=provider) is False:
                    continue
                yield SourceBuild(
                    f"{req.name} {a.version_text}",
                    why,
                    site.instruction,
                    site.command,
                    word_span,
                    external,
                    builddeps.source_build_needs("pypi", req.name),
                    a.env,
                    a.python,
                )


def _npm_builds(ctx: Context) -> list[SourceBuild]:
    """The npm source builds of the file (cached in ``ctx.cache``: DA601 asks about each
    package it reports, and DA701 about all of them)."""
    cached = ctx.cache.get("npm_builds")
    if isinstance(cached, list):
        return cached
    builds = list(_find_npm_builds(ctx))
    ctx.cache["npm_builds"] = builds
    return builds


def _find_npm_builds(ctx: Context) -> Iterator[SourceBuild]:
    for site in npm_sites(ctx):
        for dep in site.deps:
            name = dep.dependency.name
            for a in npm_answers(ctx, site, dep.dependency):
                if not a.builds:
                    continue
                from dockerarch.knowledge import npm

                if a.answer.install_kind == npm.KIND_NODE_GYP:
                    why = "it always compiles with node-gyp"
                elif a.answer.builds_from_source:
                    why = f"no prebuilt binary for {a.libc}"
                else:
                    why = "--build-from-source"
                yield SourceBuild(
                    f"{name} {a.answer.resolved_version}",
                    why,
                    site.instruction,
                    site.command,
                    dep.span,
                    dep.external,
                    builddeps.source_build_needs("npm", name),
                    a.env,
                )


@record
class _Gap:
    """What one platform lacks for the source builds of one instruction."""

    builds: tuple[SourceBuild, ...]
    missing: BuildNeeds
    packages: tuple[str, ...]


def compiles_with_build_deps(ctx: Context, span: Span) -> bool:
    """Whether every platform that compiles the npm package word at ``span`` has its build
    dependencies before the install, or gets them from DA701's fix (when DA701 runs)."""
    builds = [b for b in _npm_builds(ctx) if b.span == span]
    gaps = _gaps(ctx)
    for build in builds:
        gap = gaps.get(build.instruction.span.start, {}).get(build.platform)
        if gap is not None and any(b.span == span for b in gap.builds):
            if not (gap.packages and "DA701" in ctx.running):
                return False
        elif lacking(ctx, build) is None and not _judged(build):
            return False
    return bool(builds)


def fixed_by_build_deps(ctx: Context, span: Span) -> bool:
    """Whether DA701 runs and its fix installs what the source build at ``span`` lacks.

    Rules with another remedy for the same build (a version pin) stand back then,
    so one fix run does not both pin and install build dependencies.
    """
    if "DA701" not in ctx.running:
        return False
    return any(
        gap.packages and any(b.span == span for b in gap.builds)
        for per_platform in _gaps(ctx).values()
        for gap in per_platform.values()
    )


def _judged(build: SourceBuild) -> bool:
    """Whether :func:`lacking` could tell what the stage has before ``build``."""
    env = build.env
    known = env.base is not None and env.package_manager is not None
    return known and not env.partial_before(build.command.span.start)


def _gaps(ctx: Context) -> dict[int, dict[str, _Gap]]:
    """Per instruction (by offset), per platform, what its source builds lack."""
    cached = ctx.cache.get("build_deps_gaps")
    if isinstance(cached, dict):
        return cached
    found: dict[int, dict[str, list[tuple[SourceBuild, BuildNeeds]]]] = {}
    for build in (*_pip_builds(ctx), *_npm_builds(ctx), *tool_builds(ctx)):
        todo = lacking(ctx, build)
        if todo is not None:
            per_platform = found.setdefault(build.instruction.span.start, {})
            per_platform.setdefault(build.platform, []).append((build, todo))
    out: dict[int, dict[str, _Gap]] = {}
    for start, per_platform in found.items():
        for platform, items in per_platform.items():
            items.sort(key=lambda item: item[0].span.start)
            builds = tuple(b for b, _ in items)
            missing = reduce(lambda a, b: a | b, (todo for _, todo in items))
            env = builds[0].env
            assert env.package_manager is not None and env.base is not None
            python = next((b.python for b in builds if b.python is not None), None)
            # The distro's own python3 takes the generic headers package.
            headers = python if python != env.base.apt_python else None
            packages = builddeps.packages_for(env.package_manager, missing, headers)
            out.setdefault(start, {})[platform] = _Gap(builds, missing, tuple(packages))
    ctx.cache["build_deps_gaps"] = out
    return out


@rule(
    code="DA701",
    scope="stage",
    name="source-build-lacks-build-deps",
    category="build-deps",
    severity=Severity.ERROR,
    fixable=True,
)
def source_build_lacks_build_deps(ctx: Context) -> Iterator[Diagnostic]:
    """A source build runs in a stage without the compiler, headers or libraries it needs.

    ## What it does
    Finds commands that compile, per target platform: pip installs without a
    matching wheel there (or with `--no-binary`), npm native addons without a
    prebuilt binary there (or with `--build-from-source`), and build tools run
    directly (`./configure`, `make`, `cmake`, `cargo build`, `go build` with
    `CGO_ENABLED=1`, `gem install --platform ruby`). For each it checks that the
    base image or the package installs *before* the command provide what the
    build needs: a C/C++ toolchain, make, pkg-config, Python headers, python3 for
    node-gyp, and the package's own system libraries (canvas needs cairo,
    pango, libjpeg and giflib; confluent-kafka needs librdkafka). Unknown base
    images are not judged.

    ## Why it matters
    The build fails on the platform that compiles, with a compiler error deep in
    the log, and usually only there: amd64 downloads a binary and never notices.

    ## Example
    ```dockerfile
    FROM amazonlinux:2023
    RUN yum install -y nodejs
    RUN npm install canvas@2.11.2
    ```
    canvas 2.11.2 compiles on linux/arm64, which has no gcc-c++, make or the
    cairo, pango, libjpeg and giflib headers.

    ## Fix
    Install the missing packages, named for the stage's package manager, in a
    step before the build: only for the platforms that compile
    (`RUN if [ "$TARGETARCH" = "arm64" ]; then yum install -y gcc-c++ ...; fi`
    with `ARG TARGETARCH`), or for all when every platform compiles. With
    `dockerarch fix --style stages` each architecture gets its own stage.
    A pinned Python package whose next wheel-bearing version is in the same
    major version is not reported here while DA501 runs: DA501 pins it, which
    removes the source build.

    ## Fix safety
    Unsafe: it adds packages (and size) to the image, and the package names come
    from upstream build instructions that may lag a new release.
    """
    for _, per_platform in sorted(_gaps(ctx).items()):
        groups: dict[tuple[str, ...], list[_Gap]] = {}
        for gap in per_platform.values():
            groups.setdefault(gap.packages, []).append(gap)
        for packages, gaps in groups.items():
            yield _diagnostic(ctx, gaps, packages)


def _diagnostic(ctx: Context, gaps: list[_Gap], packages: tuple[str, ...]) -> Diagnostic:
    first = gaps[0].builds[0]
    platforms = [g.builds[0].platform for g in gaps]
    whats = list(dict.fromkeys(b.what for b in gaps[0].builds))
    verb = "builds" if len(whats) == 1 else "build"
    why = f" ({first.why})" if first.why else ""
    caps = ", ".join(gaps[0].missing.capabilities)
    msg = f"{', '.join(whats)} {verb} from source on {', '.join(platforms)}{why}, "
    msg += f"but the stage installs no {caps} before it"
    if packages:
        msg += f": install {' '.join(packages)}"
    fix = _fix(ctx, first.instruction, gaps, packages) if packages else None
    notes = [f"{first.env.base.reason}" if first.env.base else ""]
    if gaps[0].missing.source:
        notes.append(f"needs from: {gaps[0].missing.source}")
    return ctx.diagnostic(
        first.span,
        msg,
        fix=fix,
        platforms=platforms,
        external=first.external,
        notes=[n for n in notes if n],
    )


def _fix(ctx: Context, ins: Instruction, gaps: list[_Gap], packages: tuple[str, ...]) -> Fix:
    env = gaps[0].builds[0].env
    arches = [g.builds[0].arch for g in gaps]
    reaching = list(dict.fromkeys(v.platform.arch for v in ctx.views() if v.reaches(ins)))
    command = install_command(env, ins.span.start, packages)
    if set(arches) >= set(reaching):
        edit = insert_lines(ctx.model, ins, [f"RUN {command}"], after=False)
        return Fix(f"Install {' '.join(packages)} first", (edit,), Applicability.UNSAFE)
    lines = [f"RUN {guarded(arches, command)}"]
    if not env.view.declared(env.stage, "TARGETARCH", before=ins):
        lines.insert(0, "ARG TARGETARCH")
    edit = insert_lines(ctx.model, ins, lines, after=False)
    install = insert_lines(ctx.model, ins, [f"RUN {command}"], after=False).content
    original = ctx.text(ins.span)
    variant = PlatformVariant(
        ins.span,
        tuple((a, install + original if a in arches else original) for a in reaching),
    )
    return Fix(
        f"Install {' '.join(packages)} first on {', '.join(arches)}",
        (edit,),
        Applicability.UNSAFE,
        (variant,),
    )


RULES = (source_build_lacks_build_deps,)
