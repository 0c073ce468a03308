"""npm native addons that have a prebuilt binary for one target platform but not another."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from pathlib import Path

from dockerarch.diagnostics import Applicability, Diagnostic, Edit, ExternalLocation, Fix, Severity
from dockerarch.engine import Context, rule
from dockerarch.model import Stage
from dockerarch.records import record
from dockerarch.runscripts import may_hold
from dockerarch.shell.model import Command
from dockerarch.stageenv import StageEnv, stage_env
from dockerarch.syntax import Instruction, Span

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockerarch.knowledge.npm import AddonAnswer, NpmKnowledgeProvider, PackageRecord
    from dockerarch.npmsources import NpmCommand, NpmDependency

# The npm knowledge (and its snapshot) is imported by the functions that need it: most
# Dockerfiles install no npm package, and importing it costs a run's start-up time.

# Every install command names one of these tools (pnpm contains npm): other
# commands are skipped without importing the npm manifest readers.
_TOOL_MARKS = ("npm", "yarn")

# The files a manifest install reads, in the order the tool prefers them.
_LOCKFILES = {
    "npm": ("npm-shrinkwrap.json", "package-lock.json"),
    "yarn": ("yarn.lock",),
    "pnpm": ("pnpm-lock.yaml",),
}
_PROJECT_DIR_OPTIONS = {"npm": ("--prefix", "-C"), "yarn": ("--cwd",), "pnpm": ("-C", "--dir")}


@record
class NpmDep:
    """One package an install command asks for, and where to point at it."""

    dependency: NpmDependency
    span: Span
    """In the Dockerfile: the package word, or the install command for file dependencies."""
    external: ExternalLocation | None
    word: int | None
    """Index into ``NpmSite.command.words`` of a command-line package."""


@record
class NpmSite:
    """One ``npm``/``yarn``/``pnpm`` install and the packages it installs."""

    stage: Stage
    instruction: Instruction
    command: Command
    install: NpmCommand
    deps: tuple[NpmDep, ...]


def npm_sites(ctx: Context) -> list[NpmSite]:
    """Every npm, yarn and pnpm install, with dependencies from COPY'd manifests."""
    cached = ctx.cache.get("npm_sites")
    if isinstance(cached, list):
        return cached
    sites: list[NpmSite] = []
    # Where COPY put files does not depend on the platform: any view will do.
    view = ctx.views()[0]
    for stage in ctx.model.stages:
        for ins in stage.body:
            # A site's program word is npm, yarn or pnpm (npmsources._tool): a RUN whose
            # words hold neither "npm" nor "yarn" has none, whatever its environment says.
            if ins.name != "RUN" or not may_hold(ins, _TOOL_MARKS):
                continue
            env = view.env_before(ins)
            # npm reads npm_config_* from the environment, whether ENV or a command prefix set it.
            config = [
                f"{k}={v}" for k, v in env.items() if k.lower().startswith("npm_config_") and v
            ]
            for script in ctx.model.scripts(ins):
                for raw in script.commands:
                    cmd = raw.effective()
                    senv = stage_env(view, stage, ctx.context_dir)
                    site = _site(ctx, senv, ins, cmd, env, config)
                    if site is not None:
                        sites.append(site)
    ctx.cache["npm_sites"] = sites
    return sites


def _site(
    ctx: Context,
    senv: StageEnv,
    ins: Instruction,
    cmd: Command,
    env: dict[str, str | None],
    config: list[str],
) -> NpmSite | None:
    env_words = [*config, *(f"{a.name}={a.value.value or ''}" for a in cmd.env)]
    words = [w.value if w.value is not None else w.text for w in cmd.words]
    command = [*env_words, *words]
    if not any(mark in word for word in command for mark in _TOOL_MARKS):
        return None
    from dockerarch.npmsources import parse_npm_command

    found = parse_npm_command(command)
    if found is None:
        return None
    production = env.get("NODE_ENV") == "production" or any(
        a.name == "NODE_ENV" and a.value.value == "production" for a in cmd.env
    )
    deps: list[NpmDep] = []
    for dep in found.packages:
        if dep.word_index is None or not dep.registry:
            continue
        index = dep.word_index - len(env_words)
        deps.append(NpmDep(dep, cmd.words[index].span, None, index))
    if found.from_manifest:
        span = _command_span(cmd, found)
        for dep in _manifest_deps(ctx, senv, ins, found):
            if not dep.registry or (dep.dev and (found.omit_dev or production)):
                continue
            if dep.optional and found.omit_optional:
                continue
            deps.append(NpmDep(dep, span, _external(dep), None))
    return NpmSite(senv.stage, ins, cmd, found, tuple(deps))


def _command_span(cmd: Command, found: NpmCommand) -> Span:
    """``npm ci``: the tool word through its subcommand word (just ``yarn`` when bare)."""
    tool = cmd.words[0].span
    for word in cmd.words[1:]:
        if word.value == found.subcommand:
            return Span(tool.start, word.span.end)
    return tool


def _manifest_deps(
    ctx: Context, senv: StageEnv, ins: Instruction, found: NpmCommand
) -> list[NpmDependency]:
    """Dependencies of the lockfile the install reads, else of package.json."""
    where = f"line {ctx.tree.lines.position(ins.span.start).line}"
    if ctx.context_dir is None:
        ctx.notes.append(f"{where}: no build context; the packages `{found.tool}` installs are not")
        return []
    project = _project_dir(found, senv.workdir_before(ins.span.start))
    for name in (*_LOCKFILES[found.tool], "package.json"):
        local = senv.context_file(posixpath.join(project, name), ins.span.start)
        if local is None:
            continue
        from dockerarch.npmsources import ContextError, read_npm_file

        try:
            return read_npm_file(Path(local), Path(ctx.context_dir))
        except ContextError as exc:
            ctx.notes.append(f"{where}: {exc}")
            return []
    ctx.notes.append(
        f"{where}: no package.json or lockfile of {project} was traced to a COPY from the build "
        f"context; the packages `{found.tool} {found.subcommand}` installs are not checked"
    )
    return []


def _project_dir(found: NpmCommand, workdir: str) -> str:
    flags = found.flags
    for i, flag in enumerate(flags):
        name, eq, value = flag.partition("=")
        if name in _PROJECT_DIR_OPTIONS[found.tool]:
            value = value if eq else (flags[i + 1] if i + 1 < len(flags) else "")
            if value:
                return posixpath.normpath(posixpath.join(workdir, value))
    return workdir


def _external(dep: NpmDependency) -> ExternalLocation | None:
    if dep.position is None:
        return None
    line, column = dep.position.line, dep.position.column
    return ExternalLocation(Path(dep.source), line, column, line, column + len(dep.name))


class _OnlineWithFallback:
    """The live registry, falling back to the offline snapshot when it does not answer."""

    def __init__(self, online: NpmKnowledgeProvider, warnings: list[str]) -> None:
        self.online = online
        self.warnings = warnings
        self.records: dict[str, PackageRecord | None] = {}

    def package(self, name: str) -> PackageRecord | None:
        from dockerarch.knowledge.npm_online import RegistryUnavailable

        if name not in self.records:
            try:
                self.records[name] = self.online.package(name)
            except RegistryUnavailable as exc:
                from dockerarch.knowledge import npm

                self.warnings.append(
                    f"npm registry did not answer for {name} ({exc}); used the offline snapshot"
                )
                self.records[name] = npm.SnapshotProvider.default().package(name)
        return self.records[name]


def npm_provider(ctx: Context) -> NpmKnowledgeProvider | None:
    """The registry with ``--online``; None (the shipped snapshot) otherwise."""
    if not ctx.settings.online:
        return None
    cached = ctx.cache.get("npm_provider")
    if isinstance(cached, _OnlineWithFallback):
        return cached
    from dockerarch.knowledge import npm
    from dockerarch.knowledge.npm_online import NpmOnlineProvider, NpmRegistryClient

    client = NpmRegistryClient(cache_dir=ctx.settings.cache_dir, cwd=ctx.context_dir)
    online = NpmOnlineProvider(client, snapshot=npm.SnapshotProvider.default())
    provider = _OnlineWithFallback(online, ctx.warnings)
    ctx.cache["npm_provider"] = provider
    return provider


@record
class NpmAnswer:
    """How one dependency installs on one target platform."""

    arch: str
    platform: str
    libc: str
    """``glibc``, ``musl``, or ``glibc or musl`` when the base image is unknown."""
    answer: AddonAnswer
    builds: bool
    """A node-gyp build runs (no prebuilt, or ``--build-from-source``)."""
    env: StageEnv


def npm_answers(ctx: Context, site: NpmSite, dep: NpmDependency) -> list[NpmAnswer]:
    """Per target platform that runs the install, what installing ``dep`` does there."""
    # DA601, DA701, and DA601's check of DA701's fix ask about the same installs:
    # answered once per check (keyed by identity: sites and deps live in ctx.cache),
    # repeating the first answer's notes as a fresh answer would.
    memo = ctx.cache.setdefault("npm_answers", {})
    assert isinstance(memo, dict)
    hit = memo.get((id(site), id(dep)))
    if hit is not None:
        ctx.notes.extend(hit[2])
        return list(hit[1])
    noted = len(ctx.notes)
    out = _npm_answers(ctx, site, dep)
    # The site and dep are kept in the entry so their ids stay theirs.
    memo[(id(site), id(dep))] = ((site, dep), tuple(out), tuple(ctx.notes[noted:]))
    return out


def _npm_answers(ctx: Context, site: NpmSite, dep: NpmDependency) -> list[NpmAnswer]:
    from dockerarch.knowledge import npm

    # Install kinds whose download step --build-from-source replaces with a node-gyp build.
    downloaders = (
        npm.KIND_NODE_PRE_GYP,
        npm.KIND_PREBUILD_INSTALL,
        npm.KIND_NODE_GYP_BUILD,
        npm.KIND_NODE_GYP,
    )
    if site.install.ignore_scripts:
        return []  # no install script runs: nothing is downloaded or compiled
    provider = npm_provider(ctx)
    out: list[NpmAnswer] = []
    for view in ctx.views():
        arch = view.platform.arch
        if not view.reaches(site.instruction) or site.command.guard.runs_on(arch) is False:
            continue
        senv = stage_env(view, site.stage, ctx.context_dir)
        known = senv.base.libc if senv.base else None
        libcs = [known] if known in npm.LIBCS else list(npm.LIBCS)
        answers = [npm.addon_support(dep.name, dep.spec, arch, lc, provider) for lc in libcs]
        first = answers[0]
        if first is None:
            return []  # a pure package, or a version nobody knows
        # Without the libc the answer stands only when both libcs agree.
        if any(a is None or a.needs_attention != first.needs_attention for a in answers):
            ctx.notes.append(
                f"{dep.name} {first.resolved_version} on {view.platform}: the base image's libc "
                "is unknown and the answer differs between glibc and musl; not checked"
            )
            continue
        forced = site.install.build_from_source and first.install_kind in downloaders
        builds = (first.builds_from_source or forced) and not first.unsupported
        libc = " or ".join(libcs)
        out.append(NpmAnswer(arch, str(view.platform), libc, first, builds, senv))
    return out


def _pin_edit(site: NpmSite, dep: NpmDep, version: str) -> Edit | None:
    from dockerarch.knowledge.npm import SemVer

    spec = dep.dependency.spec
    if dep.word is None or SemVer.parse(spec) is None:
        return None
    hits = site.command.words[dep.word].find(spec)
    return Edit(hits[-1], version) if hits else None


def _first_good_version(
    ctx: Context, name: str, current: str, answers: list[NpmAnswer]
) -> str | None:
    """The oldest version from which every target platform of ``answers`` has a prebuilt."""
    from dockerarch.knowledge import npm
    from dockerarch.knowledge.npm import SemVer

    firsts = []
    for a in answers:
        if a.libc not in npm.LIBCS:
            return None
        first = a.answer.first_version_with_prebuilt(a.arch, a.libc)
        if first is None:
            return None
        firsts.append(first)
    best = max(firsts, key=lambda v: SemVer.parse(v) or SemVer(0, 0, 0))
    now, then = SemVer.parse(current), SemVer.parse(best)
    if now is None or then is None or then <= now:
        return None
    for a in answers:
        check = npm.addon_support(name, best, a.arch, a.libc, npm_provider(ctx))
        if check is None or check.prebuilt is not True or check.needs_attention:
            return None
    return best


def _pin_is_wanted(ctx: Context, dep: NpmDep, answers: list[NpmAnswer]) -> bool:
    """Whether to offer the newer version as the fix.

    Not for an install that only some targets run (a per-architecture stage):
    the platforms would get different versions. Not when the platforms that
    compile have the build dependencies, or DA701 installs them: that keeps
    the version every platform has been tested with and leaves the platforms
    with a binary as they are.
    """
    if {a.arch for a in answers} != {v.platform.arch for v in ctx.views()}:
        return False
    # build_deps imports this module, so the import waits until a rule runs.
    from dockerarch_rules.build_deps import compiles_with_build_deps

    return not compiles_with_build_deps(ctx, dep.span)


@rule(
    code="DA601",
    scope="stage",
    name="npm-addon-no-prebuilt",
    category="npm",
    severity=Severity.WARNING,
    fixable=True,
)
def npm_addon_no_prebuilt(ctx: Context) -> Iterator[Diagnostic]:
    """An npm native addon has no prebuilt binary for a target platform and compiles there.

    ## What it does
    For every `npm`, `yarn` and `pnpm` install (package arguments, and the
    lockfile or `package.json` COPY'd from the build context for `npm ci` and
    friends), resolves the version and asks, per target platform and the base
    image's libc (glibc or musl), whether the addon ships a prebuilt binary
    there: per-platform optional packages, bundled `prebuilds/`, node-pre-gyp or
    prebuild-install downloads, and hand-checked facts (offline snapshot, or the
    registry with `--online`).

    ## Why it matters
    Where no binary exists, the install falls back to node-gyp: it needs
    python3, make, a C++ compiler and the addon's own system libraries, takes
    minutes under emulation, and usually fails in slim images. Packages that
    ship no fallback fail outright. The amd64 build works, so the problem
    appears only when someone builds for arm64 or on Alpine.

    ## Example
    ```dockerfile
    FROM node:20-bookworm-slim
    RUN npm install canvas@2.11.2
    ```
    canvas 2.x publishes prebuilt binaries for linux x64 glibc only; 3.1.1 adds
    linux arm64.

    ## Fix
    Move to the first version with binaries for every target platform (offered
    when the command line pins an exact version that every target installs), or
    install the build dependencies for the platform that compiles (DA701 says
    which). The version is not offered when the platforms that compile have
    the build dependencies or DA701 can install them: that keeps what the
    platforms with a binary install as it is.

    ## Fix safety
    Unsafe: a newer version, often a new major version, may change behaviour
    on every platform.
    """
    for site in npm_sites(ctx):
        for dep in site.deps:
            answers = npm_answers(ctx, site, dep.dependency)
            bad = [a for a in answers if a.answer.needs_attention]
            if not bad:
                continue
            from dockerarch.knowledge import npm

            # An addon that compiles everywhere by design is not a platform difference.
            if all(a.answer.install_kind == npm.KIND_NODE_GYP for a in answers):
                continue
            yield from _report(ctx, site, dep, answers, bad)


def _report(
    ctx: Context, site: NpmSite, dep: NpmDep, answers: list[NpmAnswer], bad: list[NpmAnswer]
) -> Iterator[Diagnostic]:
    name, version = dep.dependency.name, bad[0].answer.resolved_version
    good = [a for a in answers if a.answer.prebuilt is True]
    fix = None
    target = _first_good_version(ctx, name, version, answers)
    if target is not None and _pin_is_wanted(ctx, dep, answers):
        edit = _pin_edit(site, dep, target)
        if edit is not None:
            fix = Fix(f"Install {name}@{target} on every platform", (edit,), Applicability.UNSAFE)
    notes = [a.answer.reason for a in bad[:1]] + [f"source: {s}" for s in bad[0].answer.sources]
    for broken in (True, False):
        group = [a for a in bad if a.answer.unsupported is broken]
        if not group:
            continue
        where = ", ".join(a.platform for a in group)
        libcs = sorted({a.libc for a in group})
        if broken:
            msg = f"{name} {version} has no binary for {where} ({', '.join(libcs)}) and no "
            msg += "source build to fall back on; the install fails there"
        else:
            msg = f"{name} {version} has no prebuilt binary for {where} ({', '.join(libcs)}); "
            msg += "npm compiles it from source there with node-gyp"
        if good:
            msg += f" (there is one for {', '.join(a.platform for a in good)})"
        if target is not None:
            msg += f"; {target} is the first version with binaries for every target"
        yield ctx.diagnostic(
            dep.span,
            msg,
            fix=fix,
            platforms=[a.platform for a in group],
            external=dep.external,
            notes=notes,
        )
        fix = None  # one diagnostic carries the edit


RULES = (npm_addon_no_prebuilt,)
