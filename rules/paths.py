"""Paths that name one architecture: multiarch library dirs, JVM dirs, per-arch folders."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from dockerarch_rules.platform_args import insert_lines

from dockerarch.diagnostics import Applicability, Diagnostic, Edit, Fix, Severity
from dockerarch.engine import Context, rule
from dockerarch.lazyre import lazy_compile
from dockerarch.model import Stage, arch_in_name
from dockerarch.platforms import Platform, normalize_arch
from dockerarch.records import record
from dockerarch.scriptcache import TextFlags, text_key
from dockerarch.shell.model import EVERYWHERE, Guard
from dockerarch.shell.model import Word as ShellWord
from dockerarch.stageenv import stage_env
from dockerarch.syntax import Instruction, Span

# Debian/Ubuntu multiarch triplets, a whole path component (/usr/lib/x86_64-linux-gnu).
_TRIPLET = lazy_compile(r"(x86_64|aarch64)-linux-gnu", re.IGNORECASE)
# Debian's JVM dirs carry the dpkg arch: java-17-openjdk-amd64, java-1.8.0-openjdk-arm64.
_JVM = lazy_compile(r"java-\d+(?:\.\d+)*-openjdk-(amd64|arm64)\Z", re.IGNORECASE)
# An arch word delimited inside a component (tool-linux-amd64, linux_x86_64, x86_64).
_ARCH_WORD = lazy_compile(
    r"(?:^|[-_.])(amd64|x86_64|x86-64|aarch64|arm64)(?=$|[-_.])", re.IGNORECASE
)
# Every hit above names one of these: text without any has nothing to find (most text).
# Each holds "64", which a plain substring test finds faster than the pattern runs.
_ANY_ARCH = lazy_compile(r"amd64|x86[-_]64|aarch64|arm64", re.IGNORECASE)
# What separates paths inside one word or value: PATH lists, NAME=, flag lists, quotes.
_PATHS = lazy_compile(r"[^\s:=,;\"'|&<>()]+")
# A leading compiler flag (-L/usr/lib/...) or variable ($HOME/..., ${PREFIX}/...).
_PATH_PREFIX = lazy_compile(r"(?:-[A-Za-z]|(?:\$\{[^}/]*\}|\$[A-Za-z_]\w*)+)(?=/)")
# Names of downloaded files are chosen by whoever downloads them (DA301's subject);
# an arch word there does not decide what runs.
_ARCHIVE = lazy_compile(
    r"\.(?:tar|tgz|tbz2?|txz|tzst|gz|xz|bz2|zst|zip|deb|rpm|apk|whl|jar|sha256|sha512|asc|sig)\Z",
    re.IGNORECASE,
)
# What each TARGETARCH calls its multiarch directory and its Debian architecture.
_TRIPLETS = {
    "amd64": "x86_64-linux-gnu",
    "arm64": "aarch64-linux-gnu",
    "arm": "arm-linux-gnueabihf",
    "386": "i386-linux-gnu",
    "ppc64le": "powerpc64le-linux-gnu",
    "s390x": "s390x-linux-gnu",
    "riscv64": "riscv64-linux-gnu",
}
_DPKG = {"arm": "armhf", "386": "i386", "ppc64le": "ppc64el"} | {
    a: a for a in ("amd64", "arm64", "s390x", "riscv64")
}
# Instructions whose words BuildKit expands, so ${TARGETARCH} works in them.
_PATH_INSTRUCTIONS = frozenset({"COPY", "ADD", "WORKDIR"})


@record
class ArchInPath:
    """An architecture named inside a path."""

    span: Span
    #: TARGETARCH of the named architecture.
    arch: str
    #: "triplet" (multiarch dir), "jvm" (Debian JVM dir) or "word".
    kind: str


def _component_hits(component: str, start: int, file_name: bool) -> Iterator[ArchInPath]:
    triplet = _TRIPLET.fullmatch(component)
    if triplet:
        yield ArchInPath(Span(start, start + len(component)), _arch(triplet.group(1)), "triplet")
        return
    # x86_64-linux-gnu-gcc is a cross compiler (the toolchain rules' subject).
    if _TRIPLET.match(component) or (file_name and _ARCHIVE.search(component)):
        return
    jvm = _JVM.search(component)
    if jvm:
        yield ArchInPath(Span(start + jvm.start(1), start + jvm.end(1)), _arch(jvm.group(1)), "jvm")
        return
    for m in _ARCH_WORD.finditer(component):
        yield ArchInPath(Span(start + m.start(1), start + m.end(1)), _arch(m.group(1)), "word")


def _arch(spelling: str) -> str:
    arch = normalize_arch(spelling.replace("-", "_"))
    assert arch is not None
    return arch


def arch_in_paths(text: str, start: int, *, copied: bool = False) -> Iterator[ArchInPath]:
    """Arch names inside the paths of ``text`` (which sits at offset ``start``).

    A path starts with ``/`` (after an optional ``-L``-style flag or leading
    variable). With ``copied`` (COPY/ADD operands) relative paths count too,
    and so do archive names: the archive itself goes into the image. Text
    holding a URL is skipped: downloads are another rule's subject.
    """
    if "64" not in text or "://" in text or not _ANY_ARCH.search(text):
        return
    for m in _PATHS.finditer(text):
        piece, at = m.group(), start + m.start()
        prefix = _PATH_PREFIX.match(piece)
        if prefix:
            piece, at = piece[prefix.end() :], at + prefix.end()
        if not piece.startswith("/") and not copied:
            continue
        parts = piece.split("/")
        offset = at
        for i, component in enumerate(parts):
            if component:
                last = i == len(parts) - 1
                yield from _component_hits(component, offset, last and not copied)
            offset += len(component) + 1


def word_hits(word: ShellWord) -> Iterator[ArchInPath]:
    """Arch names in the literal (not expanded) parts of a shell word's paths."""
    # A piece is a stretch of the word's text, so one naming an arch has "64" in it there too
    # (arch_in_paths' own first test); most words have not.
    if "64" not in word.text or "://" in word.text:
        return
    for piece, span in word.literal_pieces:
        yield from arch_in_paths(piece, span.start)


@record
class _Site:
    hit: ArchInPath
    instruction: Instruction
    guard: Guard
    #: Where the path sits (a word, a value): the fix checks its quoting.
    container: Span
    #: The shell runs it (RUN), rather than BuildKit expanding it.
    shell: bool


def _instruction_sites(ctx: Context, ins: Instruction) -> Iterator[_Site]:
    text = ctx.tree.text
    if ins.name in ("ENV", "ARG"):
        for kv in ins.key_values(ctx.tree.escape):
            if kv.value_span is None:
                continue
            raw = text[kv.value_span.start : kv.value_span.end]
            for hit in arch_in_paths(raw, kv.value_span.start):
                yield _Site(hit, ins, EVERYWHERE, kv.value_span, False)
    elif ins.name in _PATH_INSTRUCTIONS and not ins.heredocs:
        words = ins.json if ins.json is not None else ins.words()
        for w in words:
            raw = text[w.span.start : w.span.end]
            for hit in arch_in_paths(raw, w.span.start, copied=ins.name != "WORKDIR"):
                yield _Site(hit, ins, EVERYWHERE, w.span, False)
    elif ins.name == "RUN":
        yield from _run_sites(ctx, ins)


def _run_sites(ctx: Context, ins: Instruction) -> Iterator[_Site]:
    # A hit lies in a literal piece of a word, which is a stretch of the instruction's
    # source (heredoc bodies included): a RUN whose source names no arch has none.
    text = ctx.tree.text
    if text.find("64", ins.span.start, ins.span.end) < 0:
        return
    if not _ANY_ARCH.search(text, ins.span.start, ins.span.end):
        return
    # Whether a word holds a hit depends on the words' text alone (where they stand only
    # places the hit), so a RUN without any is remembered by what its scripts depend on:
    # most RUNs naming an arch name it in a URL, and files repeat them.
    key = text_key(ins, text, ctx.tree.escape)
    if ins.json is None and _without_hits.get(key):
        return
    seen: set[Span] = set()
    for script in ctx.model.scripts(ins):
        # Only words with "64" in their text can hold a hit (see word_hits): most have not.
        found: list[tuple[ShellWord, Guard]] = []
        for cmd in script.commands:
            found.extend((w, cmd.guard) for w in cmd.words if "64" in w.text)
            found.extend((a.value, a.guard) for a in cmd.env if "64" in a.value.text)
        found.extend((a.value, a.guard) for a in script.assignments if "64" in a.value.text)
        for word, guard in found:
            for hit in word_hits(word):
                if hit.span not in seen:
                    seen.add(hit.span)
                    yield _Site(hit, ins, guard, word.span, True)
    if not seen and ins.json is None:
        _without_hits.put(key, True)
    if ins.json is not None and ins.json and not ctx.model.scripts(ins):
        # Exec form: the words are passed as they are.
        for w in ins.json:
            raw = ctx.tree.text[w.span.start : w.span.end]
            for hit in arch_in_paths(raw, w.span.start):
                yield _Site(hit, ins, EVERYWHERE, w.span, False)


#: Shell-form RUNs whose words hold no arch in a path.
_without_hits = TextFlags()


def file_arch(path: Path | None) -> str | None:
    """The arch a per-arch Dockerfile is for (``Dockerfile.amd64``, ``amd64/Dockerfile``)."""
    if path is None:
        return None
    return arch_in_name(path.name) or arch_in_name(path.parent.name)


def affected(
    ctx: Context, ins: Instruction, guard: Guard, wrong_on: Sequence[str]
) -> list[Platform]:
    """Target platforms (of arches in ``wrong_on``) that run ``ins`` under ``guard``.

    An undecided guard (``case "$ARCH"`` over an unknown variable) counts as
    handled: an arch test around the command is the author's answer.
    """
    return [
        v.platform
        for v in ctx.views()
        if v.platform.arch in wrong_on and v.reaches(ins) and guard.runs_on(v.platform.arch)
    ]


def in_single_quotes(text: str, container: Span, offset: int) -> bool:
    """Whether ``offset`` is inside single quotes within ``container``'s text."""
    return text[container.start : offset].count("'") % 2 == 1


@rule(
    code="DA311",
    scope="stage",
    name="arch-in-path",
    category="path",
    severity=Severity.WARNING,
    fixable=True,
)
def arch_in_path(ctx: Context) -> Iterator[Diagnostic]:
    """A path names one architecture: `/usr/lib/x86_64-linux-gnu`, `java-17-openjdk-amd64`.

    ## What it does
    Looks at the paths in ENV values, ARG defaults, COPY/ADD sources and
    destinations, WORKDIR, and the words and assignments of RUN commands
    (`ln -s /usr/lib/x86_64-linux-gnu/libfoo.so`, `export LD_LIBRARY_PATH=...`,
    `-L/usr/lib/x86_64-linux-gnu`). It reports a multiarch directory
    (`x86_64-linux-gnu`, `aarch64-linux-gnu`), a Debian JVM directory
    (`java-17-openjdk-amd64`), and an arch word inside a path component
    (`/opt/tool-linux-amd64/bin`, `/go/bin/linux_amd64/app`) on each target
    platform of another architecture that runs the instruction.

    It stays silent when:
    - the arch part is built at build time: `/usr/lib/$(dpkg-architecture
      -qDEB_HOST_MULTIARCH)`, `/usr/lib/$(uname -m)-linux-gnu`,
      `java-17-openjdk-${TARGETARCH}`;
    - the command sits under an arch test that keeps it off the other
      architecture (`case "$TARGETARCH" in amd64) ...`), or under a test the
      linter cannot decide (taken as the author's answer);
    - the stage is not built for that platform (`FROM build-${TARGETARCH}`
      selects per-arch stages);
    - the same stage also names the other architecture in a path, as a stage
      that builds every architecture side by side does;
    - the path is a URL (DA301's subject), the file name of an archive or
      package (`/tmp/tool-linux-amd64.tar.gz`: a name the download chose), or a
      cross compiler (`/usr/bin/x86_64-linux-gnu-gcc`, the toolchain rules).

    A stage named for the architecture (`build-amd64`) or a per-arch file
    (`Dockerfile.amd64`) gets an information-level finding only.

    ## Why it matters
    The directory does not exist on the other architecture. Debian puts arm64
    libraries in `/usr/lib/aarch64-linux-gnu` and the arm64 JDK in
    `java-17-openjdk-arm64`: `ENV JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64`
    gives an arm64 image whose `java` is not found, `LD_LIBRARY_PATH` points
    nowhere, and `ln -s` creates a dangling link that fails only when the
    program runs.

    ## Example
    ```dockerfile
    FROM debian:bookworm-slim
    RUN apt-get update && apt-get install -y openjdk-17-jdk-headless
    ENV JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64
    ```
    Use instead:
    ```dockerfile
    FROM debian:bookworm-slim
    ARG TARGETARCH
    RUN apt-get update && apt-get install -y openjdk-17-jdk-headless
    ENV JAVA_HOME=/usr/lib/jvm/java-17-openjdk-${TARGETARCH}
    ```

    ## Fix
    A JVM directory becomes `java-17-openjdk-${TARGETARCH}` (Debian names
    those directories with dpkg architectures, which equal TARGETARCH for
    amd64 and arm64), adding `ARG TARGETARCH` after the stage's FROM when the
    stage lacks it (once per stage). The multiarch triplet has no TARGETARCH
    spelling (amd64 is `x86_64-linux-gnu`, arm64 `aarch64-linux-gnu`): in RUN
    a display-only fix suggests `$(dpkg-architecture -qDEB_HOST_MULTIARCH)`
    when the stage installs `dpkg-dev`, else `$(uname -m)-linux-gnu`. In ENV,
    where no command can run, set the variable in the RUN that needs it,
    select it in a `case "$TARGETARCH"`, or drop it: the dynamic linker
    already searches the multiarch directory. Other arch words have no fix.

    ## Fix safety
    The JVM fix is unsafe: on arm/v7, 386 or ppc64le TARGETARCH (`arm`,
    `386`, `ppc64le`) differs from the dpkg name (`armhf`, `i386`,
    `ppc64el`), and the JDK the image installs may not be OpenJDK from the
    distribution. It is not offered inside single quotes, where
    `${TARGETARCH}` would stay literal. The multiarch suggestion is
    display-only: `dpkg-architecture` needs `dpkg-dev`, and `uname -m` reports
    the build machine in a `--platform=$BUILDPLATFORM` stage.
    """
    model = ctx.model
    per_file = file_arch(ctx.path)
    scopes: list[tuple[Stage | None, list[Instruction]]] = [
        (None, [d.instruction for d in model.global_args])
    ]
    scopes.extend((s, s.body) for s in model.stages)
    targets = _target_arches(ctx)
    for stage, body in scopes:
        # A global ARG instruction declaring several names is listed once per name.
        once = {id(ins): ins for ins in body}.values()
        sites = [site for ins in once for site in _instruction_sites(ctx, ins)]
        named = {site.hit.arch for site in sites}
        arg_added = False
        for site in sites:
            wrong_on = [a for a in targets if a != site.hit.arch and a not in named]
            platforms = affected(ctx, site.instruction, site.guard, wrong_on)
            if not platforms:
                continue
            fix = _fix(ctx, stage, site, add_arg=not arg_added)
            # One ARG TARGETARCH serves every fix of the stage.
            arg_added = arg_added or (fix is not None and len(fix.edits) > 1)
            own = (stage.arch_by_name if stage else None) or per_file
            yield ctx.diagnostic(
                site.hit.span,
                _message(ctx, site, platforms),
                fix=fix,
                platforms=platforms,
                severity=Severity.INFO if own == site.hit.arch else None,
            )


def _target_arches(ctx: Context) -> list[str]:
    return list(dict.fromkeys(p.arch for p in ctx.platforms))


def _message(ctx: Context, site: _Site, platforms: list[Platform]) -> str:
    token = ctx.text(site.hit.span)
    arch = site.hit.arch
    if site.hit.kind == "triplet":
        uses = ", ".join(f"{p} uses {_TRIPLETS.get(p.arch, '?')}" for p in platforms)
        return f"{token} is the {arch} multiarch library directory; {uses}"
    if site.hit.kind == "jvm":
        uses = ", ".join(f"{p} has java-*-openjdk-{_DPKG.get(p.arch, '?')}" for p in platforms)
        return f"JVM directory for {arch} only; {uses}"
    where = ", ".join(str(p) for p in platforms)
    return f"path names {token} ({arch}); on {where} it is missing or holds {arch} files"


def _fix(ctx: Context, stage: Stage | None, site: _Site, *, add_arg: bool) -> Fix | None:
    text = ctx.tree.text
    span = site.hit.span
    if in_single_quotes(text, site.container, span.start):
        return None
    if site.hit.kind == "jvm":
        edits = [Edit(span, "${TARGETARCH}")]
        declared = stage is None or all(
            v.declared(stage, "TARGETARCH", before=site.instruction) for v in ctx.views()
        )
        if not declared and add_arg and stage is not None:
            edits.insert(0, insert_lines(ctx.model, stage.from_, ["ARG TARGETARCH"], after=True))
        return Fix("Name the JVM directory with ${TARGETARCH}", tuple(edits), Applicability.UNSAFE)
    if site.hit.kind == "triplet" and site.shell and stage is not None:
        view = ctx.views()[0]
        installed = stage_env(view, stage, ctx.context_dir).installed_before(span.start)
        if "dpkg-dev" in installed or "build-essential" in installed:
            probe = "$(dpkg-architecture -qDEB_HOST_MULTIARCH)"
        else:
            probe = "$(uname -m)-linux-gnu"
        return Fix(
            f"Compute the multiarch directory with {probe}",
            (Edit(span, probe),),
            Applicability.DISPLAY_ONLY,
        )
    return None


RULES = (arch_in_path,)
