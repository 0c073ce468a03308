"""Foreign-architecture packages and emulated containers inside a build."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from dockerarch_rules.paths import in_single_quotes

from dockerarch.diagnostics import Applicability, Diagnostic, Edit, ExternalLocation, Fix, Severity
from dockerarch.engine import Context, rule
from dockerarch.expand import references
from dockerarch.lazyre import lazy_compile
from dockerarch.model import Stage
from dockerarch.platforms import Platform, normalize_arch
from dockerarch.records import record
from dockerarch.runscripts import may_hold
from dockerarch.scriptcache import TextFlags, text_key
from dockerarch.shell.model import EVERYWHERE, Command, Guard
from dockerarch.shell.model import Word as ShellWord
from dockerarch.syntax import Instruction, LineIndex, Span

_BUILD_ARGS = frozenset({"BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT"})
# Foreign architectures a CPU of each TARGETARCH executes without emulation
# (32-bit x86 on x86-64, 32-bit arm on most arm64 cores).
_NATIVE = {"amd64": frozenset({"amd64", "386"}), "arm64": frozenset({"arm64", "arm"})}
_APT = frozenset({"apt-get", "apt", "aptitude"})
_RPM_MANAGERS = frozenset({"yum", "dnf", "microdnf", "tdnf", "zypper"})
_RPM_VERBS = frozenset({"install", "in", "localinstall", "reinstall", "upgrade", "update"})
_RPM_ARCH = lazy_compile(r"\.(x86_64|i686|i386|aarch64|armv7hl|ppc64le|s390x)(?:\.rpm)?\Z")
_APT_ARCH = lazy_compile(r"\A[a-z0-9][a-z0-9+.-]*:([a-z0-9]+)(?:=\S*)?\Z")
# One-line sources ("deb [arch=amd64 signed-by=...] URL suite ...") and deb822 fields.
_DEB_LINE = lazy_compile(r"\bdeb(?:-src)?[ \t]+\[([^\]\n]*)\][ \t]*(\S*)")
_DEB_ARCH_OPTION = lazy_compile(r"(?:^|\s)arch=([^\s\]]+)")
_DEB822_ARCH = lazy_compile(r"^[ \t]*Architectures:[ \t]*([^\r\n]+)", re.MULTILINE | re.IGNORECASE)
_DEB822_URIS = lazy_compile(r"^[ \t]*URIs:[ \t]*(\S+)", re.MULTILINE | re.IGNORECASE)
# Repositories known to publish arm64 next to amd64 under the same suite, so an
# arch list taken from the running system works for both.
_MULTIARCH_REPOS = frozenset(
    {
        "download.docker.com",
        "apt.releases.hashicorp.com",
        "deb.nodesource.com",
        "apt.postgresql.org",
        "cli.github.com",
        "pkgs.k8s.io",
    }
)
_APT_SOURCES = ("/etc/apt/sources.list", "/etc/apt/sources.list.d/")
_CONTAINER_TOOLS = frozenset({"docker", "podman", "nerdctl", "buildah"})
_EMULATED_VERBS = frozenset({"run", "create", "build", "bud", "from"})
_QEMU_USER = lazy_compile(r"qemu-(x86_64|i386|aarch64|arm|ppc64le|s390x|riscv64)(?:-static)?\Z")
_BINFMT_IMAGES = lazy_compile(r"(?:^|/)(?:binfmt|qemu-user-static)(?::|@|\Z)")
# A command _emulations reports on names one of these: its program or a word holds it.
_EMULATION_MARKS = ("qemu-", "update-binfmts", "binfmt_misc", *sorted(_CONTAINER_TOOLS))


def runs_natively(target: str, arch: str) -> bool:
    return arch in _NATIVE.get(target, frozenset({target}))


def build_platform_stage(ctx: Context, stage: Stage) -> bool:
    """Whether ``stage`` (or a stage it is built FROM) runs on ``--platform=$BUILDPLATFORM``."""
    for view in ctx.views():
        for st in view.ancestry(stage):
            flag = st.platform
            if flag is not None and flag.value:
                refs = set(references(flag.value, ctx.tree.escape))
                if refs and refs <= _BUILD_ARGS:
                    return True
    return False


def _platforms(ctx: Context, ins: Instruction, guard: Guard, wrong: set[str]) -> list[Platform]:
    return [
        v.platform
        for v in ctx.views()
        if v.platform.arch in wrong and v.reaches(ins) and guard.runs_on(v.platform.arch)
    ]


def _not_native(ctx: Context, arch: str) -> set[str]:
    return {p.arch for p in ctx.platforms if not runs_natively(p.arch, arch)}


def _commands(
    ctx: Context, stage: Stage, needles: tuple[str, ...]
) -> Iterator[tuple[Instruction, Command]]:
    """The effective commands of the stage's RUNs that may name one of ``needles``."""
    for ins in stage.body:
        if ins.name != "RUN" or not may_hold(ins, needles):
            continue
        for script in ctx.model.scripts(ins):
            for cmd in script.commands:
                yield ins, cmd.effective()


def _last_span(word: ShellWord, needle: str) -> Span | None:
    found = word.find(needle)
    return found[-1] if found else None


@record
class _Foreign:
    span: Span
    #: TARGETARCH of the foreign architecture, and how the command spells it.
    arch: str
    spelled: str
    what: str


def _package_findings(cmd: Command) -> Iterator[_Foreign]:
    name = cmd.program or ""
    values = [w.value for w in cmd.args]
    if name == "dpkg":
        for i, w in enumerate(cmd.args):
            value = w.value or ""
            if value.startswith("--add-architecture="):
                spelled = value.partition("=")[2]
            elif value == "--add-architecture" and i + 1 < len(cmd.args):
                w = cmd.args[i + 1]
                spelled = w.value or ""
            else:
                continue
            arch = normalize_arch(spelled)
            span = _last_span(w, spelled)
            if arch and span:
                yield _Foreign(
                    span,
                    arch,
                    spelled,
                    f"dpkg --add-architecture {spelled} adds {spelled} packages",
                )
    elif name in _APT and "install" in values:
        for w in cmd.args:
            m = _APT_ARCH.match(w.value or "")
            arch = normalize_arch(m.group(1)) if m else None
            span = _last_span(w, ":" + m.group(1)) if m else None
            if m and arch and span:
                spelled = m.group(1)
                yield _Foreign(
                    Span(span.start + 1, span.end),
                    arch,
                    spelled,
                    f"{w.value} is an {spelled} package",
                )
    elif name in _RPM_MANAGERS and _RPM_VERBS & set(values):
        for w in cmd.args:
            value = w.value or ""
            m = _RPM_ARCH.search(value)
            span = _last_span(w, m.group(0)) if m and "://" not in value else None
            if m and span:
                start = span.start + 1
                arch = normalize_arch(m.group(1))
                assert arch is not None
                spelled = m.group(1)
                yield _Foreign(
                    Span(start, start + len(spelled)),
                    arch,
                    spelled,
                    f"{value} is an {spelled} package",
                )


@record
class _SourceArch:
    """The arch list of one APT source, at ``start`` in the text scanned."""

    start: int
    text: str
    url: str


def source_arches(text: str) -> Iterator[_SourceArch]:
    """``arch=`` lists of one-line sources and ``Architectures:`` of deb822 files."""
    for m in _DEB_LINE.finditer(text):
        opt = _DEB_ARCH_OPTION.search(m.group(1))
        if opt:
            yield _SourceArch(m.start(1) + opt.start(1), opt.group(1), m.group(2))
    for m in _DEB822_ARCH.finditer(text):
        value = m.group(1).rstrip()
        uris = _DEB822_URIS.search(text)
        yield _SourceArch(m.start(1), value, uris.group(1) if uris else "")


def _listed(sa: _SourceArch) -> set[str]:
    return {a for a in (normalize_arch(x) for x in re.split(r"[,\s]+", sa.text)) if a}


def _source_fix(ctx: Context, word: ShellWord, span: Span, sa: _SourceArch) -> Fix | None:
    host = urlsplit(sa.url).hostname or ""
    if host not in _MULTIARCH_REPOS or len(_listed(sa)) != 1 or "$" in sa.text:
        return None
    if in_single_quotes(ctx.tree.text, word.span, span.start):
        return None
    return Fix(
        "List the running system's architecture",
        (Edit(span, "$(dpkg --print-architecture)"),),
        Applicability.UNSAFE,
    )


def _source_message(sa: _SourceArch, platforms: list[Platform]) -> str:
    where = ", ".join(str(p) for p in platforms)
    return f"APT source limited to arch={sa.text}: {where} ignores it; its packages are not found"


def _copied_sources(ctx: Context, ins: Instruction) -> Iterator[Diagnostic]:
    """A COPY of ``.list``/``.sources`` files (or a heredoc) into APT's sources."""
    if ins.name not in ("COPY", "ADD") or ins.flag("from") is not None or ins.json is not None:
        return
    words = ins.words()
    if len(words) < 2 or not (words[-1].value or "").startswith(_APT_SOURCES):
        return
    for doc in ins.heredocs:
        for sa in source_arches(doc.body):
            start = doc.body_span.start + sa.start
            platforms = _wrong_for_source(ctx, ins, EVERYWHERE, sa)
            if platforms:
                span = Span(start, start + len(sa.text))
                yield ctx.diagnostic(span, _source_message(sa, platforms), platforms=platforms)
    if ins.heredocs or ctx.context_dir is None:
        return
    for w in words[:-1]:
        src = w.value or ""
        local = ctx.context_dir / src
        if "://" in src or not src or not local.is_file():
            continue
        text = local.read_text(encoding="utf-8", errors="replace")
        lines = LineIndex(text)
        for sa in source_arches(text):
            platforms = _wrong_for_source(ctx, ins, EVERYWHERE, sa)
            if not platforms:
                continue
            begin = lines.position(sa.start)
            end = lines.position(sa.start + len(sa.text))
            yield ctx.diagnostic(
                w.span,
                f"{src}: " + _source_message(sa, platforms),
                platforms=platforms,
                external=ExternalLocation(
                    Path(src), begin.line, begin.column, end.line, end.column
                ),
            )


def _wrong_for_source(
    ctx: Context, ins: Instruction, guard: Guard, sa: _SourceArch
) -> list[Platform]:
    listed = _listed(sa)
    if not listed:
        return []
    wrong = {p.arch for p in ctx.platforms if p.arch not in listed}
    return _platforms(ctx, ins, guard, wrong)


@rule(
    code="DA405",
    scope="stage",
    name="foreign-arch-packages",
    category="toolchain",
    severity=Severity.WARNING,
    fixable=True,
)
def foreign_arch_packages(ctx: Context) -> Iterator[Diagnostic]:
    """Packages of another architecture are installed (`dpkg --add-architecture i386`, `pkg:amd64`).

    ## What it does
    In stages built for the target platform, finds:
    - `dpkg --add-architecture amd64` / `i386`;
    - `apt-get install libc6:i386` (any `package:arch` qualifier);
    - `yum`/`dnf`/`microdnf`/`zypper install foo.x86_64` or `foo.i686`, and
      local `*.x86_64.rpm` files;
    - APT sources restricted to other architectures: `deb [arch=amd64 ...]`
      written by `echo`/`printf` in RUN, in a `COPY <<EOF` heredoc to
      `/etc/apt/sources.list.d/`, and in `.list`/`.sources` (deb822
      `Architectures:`) files the stage copies there from the build context.

    Each is reported on the target platforms whose CPU cannot execute that
    architecture (i386 runs on amd64 and armhf on most arm64 CPUs, so those
    pairs are fine), and an arch-qualified source on the targets it does not
    list. Stages on `--platform=$BUILDPLATFORM` are skipped: installing
    another architecture's libraries there is how cross-compiling works.
    Commands under an arch test that keeps them off a platform are skipped.

    ## Why it matters
    On arm64 `libc6:i386` or `foo.x86_64` are x86 binaries: the install fails
    ("no installation candidate", unmet dependencies), or succeeds and the
    program dies with `exec format error`. A source line with `[arch=amd64]`
    makes APT ignore the repository on arm64, so its packages are "not found".

    ## Example
    ```dockerfile
    FROM debian:bookworm-slim
    RUN echo "deb [arch=amd64] https://download.docker.com/linux/debian bookworm stable" \
          > /etc/apt/sources.list.d/docker.list
    ```
    Use instead:
    ```dockerfile
    FROM debian:bookworm-slim
    RUN echo "deb [arch=$(dpkg --print-architecture)] https://download.docker.com/linux/debian \
          bookworm stable" > /etc/apt/sources.list.d/docker.list
    ```

    ## Fix
    For an `echo`/`printf` source line of a repository known to publish arm64
    next to amd64 (Docker, HashiCorp, NodeSource, PostgreSQL, GitHub CLI,
    Kubernetes), the arch list becomes `$(dpkg --print-architecture)`. For
    other repositories check that they publish the target's architecture
    first. Foreign packages have no automatic fix: find the native package, or
    install them only for amd64 under `if [ "$TARGETARCH" = amd64 ]`.

    ## Fix safety
    Unsafe: the repository's arm64 packages may differ (or lag) from its amd64
    ones. Not offered inside single quotes, where the command substitution
    would stay literal.
    """
    for stage in ctx.model.stages:
        if build_platform_stage(ctx, stage):
            continue
        for ins in stage.body:
            if ins.name != "RUN":
                continue
            # Whether a command names foreign packages or source arches depends on its
            # words alone; a RUN with none is remembered, and files repeat RUN lines.
            key = text_key(ins, ctx.tree.text, ctx.tree.escape)
            if _without_candidates.get(key):
                continue
            candidates = False
            for cmd in (c.effective() for s in ctx.model.scripts(ins) for c in s.commands):
                for found in _package_findings(cmd):
                    candidates = True
                    platforms = _platforms(ctx, ins, cmd.guard, _not_native(ctx, found.arch))
                    if platforms:
                        where = ", ".join(str(p) for p in platforms)
                        yield ctx.diagnostic(
                            found.span,
                            f"{found.what}, which {where} cannot run",
                            platforms=platforms,
                        )
                if cmd.name is None or cmd.name.value not in ("echo", "printf"):
                    continue
                for word in cmd.args:
                    for piece, piece_span in word.literal_pieces:
                        for sa in source_arches(piece):
                            candidates = True
                            platforms = _wrong_for_source(ctx, ins, cmd.guard, sa)
                            if not platforms:
                                continue
                            start = piece_span.start + sa.start
                            span = Span(start, start + len(sa.text))
                            yield ctx.diagnostic(
                                span,
                                _source_message(sa, platforms),
                                fix=_source_fix(ctx, word, span, sa),
                                platforms=platforms,
                            )
            if not candidates:
                _without_candidates.put(key, True)
        for ins in stage.body:
            yield from _copied_sources(ctx, ins)


#: RUNs whose commands name no foreign package and no source arch.
_without_candidates = TextFlags()


def _emulations(cmd: Command) -> Iterator[tuple[Span, str | None, str]]:
    """(span, emulated arch or None for any, what) of emulation a command sets up."""
    name = cmd.program or ""
    qemu = _QEMU_USER.match(name)
    if qemu and cmd.name is not None:
        yield (
            cmd.name.span,
            normalize_arch(qemu.group(1)) or qemu.group(1),
            f"{name} is user-mode QEMU",
        )
    if name == "update-binfmts":
        assert cmd.name is not None
        yield cmd.name.span, None, "update-binfmts registers emulators"
    for w in cmd.words:
        if w.find("binfmt_misc"):
            yield w.span, None, "binfmt_misc registration"
    if name not in _CONTAINER_TOOLS:
        return
    values = [w.value or "" for w in cmd.args]
    if not _EMULATED_VERBS & set(values):
        return
    for i, w in enumerate(cmd.args):
        value = w.value or ""
        option, eq, inline = value.partition("=")
        if option not in ("--platform", "--arch"):
            if _BINFMT_IMAGES.search(value):
                yield w.span, None, f"{name} runs {value}, which registers emulators"
            continue
        target = w if eq else (cmd.args[i + 1] if i + 1 < len(cmd.args) else None)
        text = inline if eq else (target.value or "" if target else "")
        if target is None or not text:
            continue
        after = target.span.start
        for entry in text.split(","):
            hit = next((h for h in target.find(entry) if h.start >= after), None) if entry else None
            if hit is None:
                continue
            after = hit.end
            try:
                arch = Platform.parse(entry).arch
            except ValueError:
                arch = normalize_arch(entry) or ""
            if arch:
                yield hit, arch, f"{name} {option} {entry}"


@rule(
    code="DA406",
    scope="stage",
    name="emulation-in-build",
    category="toolchain",
    severity=Severity.WARNING,
)
def emulation_in_build(ctx: Context) -> Iterator[Diagnostic]:
    """A RUN runs foreign code emulated (`docker run --platform linux/amd64`, `qemu-x86_64`).

    ## What it does
    Finds, in RUN commands:
    - `docker`/`podman`/`nerdctl` `run`, `create` and `build` (also `buildx
      build`, `buildah bud`/`from`) with `--platform`/`--arch` naming an
      architecture the target's CPU cannot execute;
    - user-mode QEMU (`qemu-x86_64`, `qemu-x86_64-static`, `qemu-aarch64`...)
      for such an architecture;
    - binfmt registration: `update-binfmts`, writes to
      `/proc/sys/fs/binfmt_misc`, running the `tonistiigi/binfmt` or
      `multiarch/qemu-user-static` images (reported on every platform).

    Commands under an arch test that keeps them off a platform are skipped.

    ## Why it matters
    The build then depends on emulation the builder may not have (binfmt
    registration needs a privileged host, which BuildKit workers and CI
    runners usually are not), runs 5-20x slower, and hides the real problem:
    a tool with no native build for the target. On arm64 the step either
    fails with `exec format error` or quietly runs x86 code that can crash
    under QEMU.

    ## Example
    ```dockerfile
    FROM docker:27-cli
    RUN --mount=type=bind,source=/var/run/docker.sock,target=/var/run/docker.sock \
        docker run --rm --platform linux/amd64 -v /out:/out legacy/generator:1.0
    ```
    Use instead: a native build of the tool, or a stage `FROM --platform=linux/amd64
    legacy/generator:1.0 AS generate` whose output is copied, so the emulation
    is explicit and BuildKit schedules it.

    ## Fix
    Replace the emulated tool with a native one for the target, or move the
    step into its own stage.

    ## Fix safety
    No automatic fix: the replacement depends on the tool.
    """
    for stage in ctx.model.stages:
        for ins, cmd in _commands(ctx, stage, _EMULATION_MARKS):
            for span, arch, what in _emulations(cmd):
                wrong = {p.arch for p in ctx.platforms} if arch is None else _not_native(ctx, arch)
                platforms = _platforms(ctx, ins, cmd.guard, wrong)
                if not platforms:
                    continue
                where = ", ".join(str(p) for p in platforms)
                if arch is None:
                    message = f"{what}: the build relies on a privileged builder emulating binaries"
                else:
                    message = f"{what}: the build runs {arch} code under emulation on {where}"
                yield ctx.diagnostic(span, message, platforms=platforms)


RULES = (foreign_arch_packages, emulation_in_build)
