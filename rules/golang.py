"""Go builds pinned to one architecture: GOARCH, build tags, cgo cross builds."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from dockerarch_rules.toolchain import (
    X86,
    Setting,
    cross_stage,
    declare_target_arch,
    dedicated_arch,
    guarded,
    instructions,
    replace_with_target_arch,
    replaced_many,
    settings,
    target_arches,
)

from dockerarch.diagnostics import Applicability, Diagnostic, Edit, Fix, PlatformVariant, Severity
from dockerarch.engine import Context, rule
from dockerarch.expand import references
from dockerarch.lazyre import lazy_compile
from dockerarch.model import PlatformView, Stage
from dockerarch.shell import Command, Script, Word
from dockerarch.syntax import Instruction, Span

#: GOARCH values that are also TARGETARCH values (``wasm`` is not a platform).
GOARCHES = frozenset(
    {"386", "amd64", "arm", "arm64", "loong64", "mips64le", "ppc64le", "riscv64", "s390x"}
)
# Build flags of the go command that take a separate value (`-o out`).
_VALUE_FLAGS = frozenset(
    {
        "C", "asmflags", "buildmode", "compiler", "gccgoflags", "gcflags", "installsuffix",
        "ldflags", "mod", "modfile", "o", "overlay", "p", "pgo", "pkgdir", "toolexec",
        # go test
        "bench", "benchtime", "blockprofile", "count", "coverpkg", "covermode", "coverprofile",
        "cpu", "cpuprofile", "exec", "fuzz", "fuzztime", "list", "memprofile", "mutexprofile",
        "outputdir", "parallel", "run", "skip", "timeout", "trace", "vet",
    }
)  # fmt: skip
_BUILDING = frozenset({"build", "install", "test", "vet", "run", "list", "generate", "get"})
# Custom tags people use to select x86 code paths; not GOARCH names, so Go never sets them.
_X86_TAG = lazy_compile(
    r"(?:x86(?:_64)?|x64|i[3-6]86|amd64v[1-4]|avx\w*|sse\w*|ssse3|fma|bmi2?|aesni|popcnt)\Z", re.I
)
_TAG = lazy_compile(r"[^,\s]+")
#: A ``-tags`` value word and its tags with their source spans.
_TagList = tuple[Word, list[tuple[str, Span]]]


def _stage_key(s: Setting) -> int:
    return -1 if s.stage is None else s.stage.index


def _matrix(found: list[Setting]) -> set[int]:
    """Stages (-1: global scope) that set GOARCH to several values: deliberate per-arch builds."""
    values: dict[int, set[str]] = {}
    for s in found:
        if s.value in GOARCHES and not guarded(s.guard):
            values.setdefault(_stage_key(s), set()).add(s.value)
    return {k for k, v in values.items() if len(v) > 1}


@rule(
    code="DA401",
    scope="stage",
    name="goarch-pinned",
    category="toolchain",
    severity=Severity.ERROR,
    fixable=True,
)
def goarch_pinned(ctx: Context) -> Iterator[Diagnostic]:
    """`GOARCH` is set to a constant, so every target gets that architecture's binaries.

    ## What it does
    Finds `GOARCH=amd64` (or any other constant architecture) in `ENV`, in `ARG`
    defaults and in RUN: `GOARCH=amd64 go build`, `export GOARCH=amd64`,
    `env GOARCH=amd64 go build` and `go env -w GOARCH=amd64`. Not reported under
    an architecture test (`case "$TARGETARCH" in amd64) ...`), when the value
    depends on the target (`GOARCH=$TARGETARCH`), when a stage sets several
    values (a release matrix), or when no target other than that architecture
    builds the stage. In a stage or file dedicated to one architecture by its
    name (`AS build-amd64`, `Dockerfile.amd64`) it is reported as information.

    ## Why it matters
    Go cross-compiles without complaint: on an arm64 target `GOARCH=amd64 go build`
    still produces an amd64 binary, the image builds, and the container fails
    with `exec format error`. With `GOARCH=arm` the same goes for `GOARM`: take
    it from `TARGETVARIANT` (`GOARM=${TARGETVARIANT#v}` in RUN).

    ## Example
    ```dockerfile
    FROM --platform=$BUILDPLATFORM golang:1.22 AS build
    WORKDIR /src
    COPY . .
    RUN CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -o /out/app .

    FROM gcr.io/distroless/static-debian12
    COPY --from=build /out/app /app
    ```
    Use instead:
    ```dockerfile
    FROM --platform=$BUILDPLATFORM golang:1.22 AS build
    ARG TARGETARCH
    WORKDIR /src
    COPY . .
    RUN CGO_ENABLED=0 GOOS=linux GOARCH=$TARGETARCH go build -o /out/app .
    ```

    ## Fix
    Replaces the value with `$TARGETARCH` and adds `ARG TARGETARCH` after the
    stage's FROM when the stage does not declare it.

    ## Fix safety
    Safe in a `FROM --platform=$BUILDPLATFORM` stage: such a stage exists to
    cross-compile for the target. Unsafe elsewhere: every non-amd64 target now
    builds different binaries (which is the point, but review it).
    """
    found = list(settings(ctx, frozenset({"GOARCH"})))
    matrix = _matrix(found)
    for s in found:
        value = s.value
        if value not in GOARCHES or guarded(s.guard) or _stage_key(s) in matrix:
            continue
        arches = target_arches(ctx, s.instruction, s.stage)
        wrong = [p for arch, ps in arches.items() if arch != value for p in ps]
        if not wrong:
            continue
        own = dedicated_arch(ctx, s.stage)
        if own is not None:
            yield ctx.diagnostic(
                s.span,
                f"GOARCH={value} in a stage or file for {own} only; fine if nothing else builds it",
                severity=Severity.INFO,
            )
            continue
        cross = cross_stage(ctx, s.stage)
        where = "this --platform=$BUILDPLATFORM stage" if cross else "this stage"
        if s.stage is None:
            where = "every stage declaring ARG GOARCH"
        message = (
            f"GOARCH={value} makes {where} compile {value} binaries for every target: "
            f"{', '.join(wrong)} gets {value} code (exec format error)"
        )
        edit = replace_with_target_arch(s)
        fix = None
        if edit is not None:
            fix = Fix(
                "Set GOARCH from $TARGETARCH",
                (edit, *declare_target_arch(ctx, s.stage, s.instruction)),
                Applicability.SAFE if cross else Applicability.UNSAFE,
            )
        yield ctx.diagnostic(s.span, message, fix=fix, platforms=wrong)


def _go_command(cmd: Command) -> str | None:
    """The subcommand of a ``go`` invocation that builds packages."""
    if cmd.program != "go" or not cmd.args:
        return None
    sub = cmd.args[0].value
    return sub if sub in _BUILDING else None


def _tag_words(cmd: Command, sub: str) -> Iterator[tuple[Word, bool]]:
    """Words holding ``-tags`` values; True when the word is ``-tags=...`` itself."""
    args = cmd.args
    i = 1
    while i < len(args):
        word = args[i]
        text = word.value if word.value is not None else word.text
        i += 1
        if text == "--" or (sub == "test" and text in ("-args", "--args")):
            return
        if not text.startswith("-") or text == "-":
            if sub == "test":
                continue  # go test takes flags after the packages too
            return
        name, eq, _ = text.lstrip("-").partition("=")
        if name == "tags":
            if eq:
                yield word, True
            elif i < len(args):
                yield args[i], False
                i += 1
        elif name in _VALUE_FLAGS and not eq:
            i += 1


def _tags(source: str, word: Word, after_equals: bool) -> Iterator[tuple[str, Span]]:
    """Each tag of a ``-tags`` value with its source span (comma or blank separated)."""
    started = not after_equals
    for piece, span in word.literal_pieces:
        start = 0
        if not started:
            eq = piece.find("=")
            if eq < 0:
                continue
            start, started = eq + 1, True
        for m in _TAG.finditer(piece, start):
            tag_span = Span(span.start + m.start(), span.start + m.end())
            before = source[tag_span.start - 1 : tag_span.start]
            after = source[tag_span.end : tag_span.end + 1]
            # A literal stretch next to an expansion (`${PREFIX}amd64`) is not a whole tag.
            if before not in ("}", ")", "$", "`") and after not in ("$", "`"):
                yield m.group(), tag_span


def _arch_tag(tag: str) -> bool:
    return tag in GOARCHES or _X86_TAG.match(tag) is not None


def _tag_for(tag: str, arch: str) -> str | None:
    """What ``arch`` should pass instead of ``tag`` (None: nothing)."""
    if tag in GOARCHES:
        return arch
    if _X86_TAG.match(tag):
        return tag if arch in X86 else None
    return tag


def _variants(
    ctx: Context, ins: Instruction, words: list[_TagList], arches: Iterable[str]
) -> PlatformVariant | None:
    """The instruction per target: each tag list rewritten for that architecture."""
    source = ctx.tree.text
    by_arch: list[tuple[str, str]] = []
    for arch in arches:
        edits: list[tuple[Span, str]] = []
        for _, tags in words:
            region = Span(tags[0][1].start, tags[-1][1].end)
            sep = "," if "," in source[region.start : region.end] else " "
            kept = [t for t in (_tag_for(tag, arch) for tag, _ in tags) if t is not None]
            if "'" in source[region.start : region.end] or '"' in source[region.start : region.end]:
                if len(kept) != len(tags):
                    return None  # dropping a tag would unbalance the quotes
                edits.extend((span, new) for (_, span), new in zip(tags, kept, strict=True))
            else:
                quoted = source[region.start - 1 : region.start] == '"'
                edits.append((region, sep.join(kept) or ("" if quoted else '""')))
        by_arch.append((arch, replaced_many(ctx, ins, edits)))
    return PlatformVariant(ins.span, tuple(by_arch))


@rule(
    code="DA402",
    scope="stage",
    name="go-tags-pinned",
    category="toolchain",
    severity=Severity.WARNING,
    fixable=True,
)
def go_tags_pinned(ctx: Context) -> Iterator[Diagnostic]:
    """A Go build passes an architecture's build tag to every target.

    ## What it does
    Finds `go build|install|test|vet|run -tags ...` (also `-tags=`, `--tags`,
    comma- or blank-separated lists) whose tags name an architecture: a GOARCH
    name (`amd64`, `386`, `arm64`) or an x86 tag (`x86`, `x86_64`, `avx2`,
    `sse4`, ...). Not reported under an architecture test or when only that
    architecture builds the stage; information only in a stage or file
    dedicated to the architecture by name.

    ## Why it matters
    Go sets the GOARCH tag by itself. Passing `-tags amd64` on an arm64 build
    also compiles the files constrained to amd64 (`//go:build amd64`, often
    assembly), which fails to build or links x86 code paths into an arm64
    binary. Custom x86 tags select AVX/SSE implementations with the same result.

    ## Example
    ```dockerfile
    FROM golang:1.22
    WORKDIR /src
    COPY . .
    RUN go test -tags amd64 -v ./...
    ```
    Use instead:
    ```dockerfile
    FROM golang:1.22
    ARG TARGETARCH
    WORKDIR /src
    COPY . .
    RUN go test -tags ${TARGETARCH} -v ./...
    ```

    ## Fix
    A GOARCH-name tag becomes `${TARGETARCH}`, with `ARG TARGETARCH` added after
    the stage's FROM when missing. The fix also lists the instruction per
    architecture (each with its own tag) so `dockerarch fix --style stages` can
    write per-architecture stages. An x86 feature tag has no inline form: the
    fix is display-only and lists the instruction per architecture, keeping the
    tag for amd64 and 386 and dropping it elsewhere.

    ## Fix safety
    Unsafe: other targets now compile different files. Display-only for x86
    feature tags.
    """
    source = ctx.tree.text
    for stage, ins in instructions(ctx):
        words: list[_TagList] = []
        for script in ctx.model.scripts(ins):
            for raw in script.commands:
                cmd = raw.effective()
                sub = _go_command(cmd)
                if sub is None or guarded(cmd.guard):
                    continue
                for word, after_equals in _tag_words(cmd, sub):
                    tags = list(_tags(source, word, after_equals))
                    if any(_arch_tag(tag) for tag, _ in tags):
                        words.append((word, tags))
        if not words:
            continue
        arches = target_arches(ctx, ins, stage)
        variants = _variants(ctx, ins, words, arches)
        for word, tags in words:
            for tag, span in tags:
                if _arch_tag(tag):
                    yield from _check_tag(ctx, stage, ins, arches, variants, word, tag, span)


def _check_tag(
    ctx: Context,
    stage: Stage,
    ins: Instruction,
    arches: dict[str, list[str]],
    variants: PlatformVariant | None,
    word: Word,
    tag: str,
    span: Span,
) -> Iterator[Diagnostic]:
    goarch = tag in GOARCHES
    wrong = [p for arch, ps in arches.items() if _tag_for(tag, arch) != tag for p in ps]
    if not wrong:
        return
    own = dedicated_arch(ctx, stage)
    if own is not None:
        yield ctx.diagnostic(
            span,
            f"build tag {tag!r} in a stage or file for {own} only; fine if nothing else builds it",
            severity=Severity.INFO,
        )
        return
    alternatives = () if variants is None else (variants,)
    if goarch:
        message = (
            f"-tags {tag} compiles the {tag}-only files on every target: "
            f"{', '.join(wrong)} builds {tag} code"
        )
        if "'" in word.text:
            # ${TARGETARCH} would not expand inside single quotes.
            fix = Fix("Use the target's tag", (), Applicability.DISPLAY_ONLY, alternatives)
        else:
            # The same text builds the right tag everywhere: no per-arch stages needed.
            edits = (Edit(span, "${TARGETARCH}"), *declare_target_arch(ctx, stage, ins))
            fix = Fix("Use ${TARGETARCH} as the tag", edits, Applicability.UNSAFE)
    else:
        message = (
            f"build tag {tag!r} selects x86 code; {', '.join(wrong)} builds it too "
            "(keep it for amd64 only)"
        )
        fix = Fix(f"Pass {tag!r} on x86 targets only", (), Applicability.DISPLAY_ONLY, alternatives)
    yield ctx.diagnostic(span, message, fix=fix, platforms=wrong)


# Evidence of a C cross toolchain: cross gcc packages, tonistiigi/xx helpers, zig, ...
_CROSS = lazy_compile(
    r"crossbuild-essential|(?:gcc|g\+\+)-(?:\$|(?:aarch64|arm|x86[-_]64|i686|powerpc64le|s390x"
    r"|riscv64)[\w-]*)|-linux-(?:gnu|musl)\w*-(?:gcc|g\+\+|cc)\b|musl-cross|\bzig\b|\bxx-|osxcross"
)
_NATIVE_CC = frozenset({"", "gcc", "cc", "clang", "/usr/bin/gcc", "/usr/bin/cc", "/usr/bin/clang"})


def _unquoted(text: str) -> str:
    return text.strip().strip("'\"")


def _env_text(
    ctx: Context, view: PlatformView, ins: Instruction, script: Script, cmd: Command, name: str
) -> str | None:
    """Source text of the value ``name`` has when ``cmd`` runs (None: not set)."""
    for a in reversed(cmd.env):
        if a.name == name:
            return ctx.text(a.value.span)
    for a in reversed(script.assignments):
        if a.name == name and a.span.end <= cmd.span.start:
            return ctx.text(a.value.span)
    stage = ctx.model.stage_of(ins)
    if stage is None:
        return None
    earlier = [i for st in reversed(view.ancestry(stage)) for i in st.body]
    earlier = earlier[: earlier.index(ins)]
    for prev in reversed(earlier):
        if prev.name in ("ENV", "ARG"):
            for kv in reversed(prev.key_values(ctx.tree.escape)):
                if kv.key == name:
                    return "" if kv.value_span is None else ctx.text(kv.value_span)
    # `go env -w` writes Go's own config file; the environment wins over it.
    for prev in reversed(earlier):
        for other in ctx.model.scripts(prev):
            for c in other.commands:
                words = [w.value for w in c.effective().words]
                if words[:3] == ["go", "env", "-w"]:
                    for w in reversed(words[3:]):
                        if w is not None and w.startswith(name + "="):
                            return w[len(name) + 1 :]
    return None


def _has_cross_toolchain(ctx: Context, view: PlatformView, stage: Stage) -> bool:
    image = view.image(stage) or ""
    if re.search(r"\bxx\b|cross|zig", image):
        return True
    for st in view.ancestry(stage):
        for ins in st.body:
            if ins.name in ("COPY", "ADD"):
                src = ins.flag("from")
                if src is not None and src.value and re.search(r"\bxx\b", src.value):
                    return True
            for script in ctx.model.scripts(ins):
                for cmd in script.commands:
                    if any(_CROSS.search(w.text) for w in cmd.words):
                        return True
    return False


@rule(
    code="DA407",
    scope="stage",
    name="cgo-cross-without-cc",
    category="toolchain",
    severity=Severity.WARNING,
)
def cgo_cross_without_cc(ctx: Context) -> Iterator[Diagnostic]:
    """A cgo build cross-compiles for `$TARGETARCH` with the build machine's C compiler.

    ## What it does
    In a `FROM --platform=$BUILDPLATFORM` stage, finds `go build` (and `install`,
    `test`, `run`) run with `CGO_ENABLED=1` and a `GOARCH` taken from the target
    (`GOARCH=$TARGETARCH`), when nothing provides a C compiler for the target:
    no cross `CC=` (`CC=aarch64-linux-gnu-gcc`, `CC="zig cc -target ..."`), no
    cross gcc installed (`gcc-aarch64-linux-gnu`, `crossbuild-essential-arm64`),
    no tonistiigi/xx helpers (`xx-go`, `xx-apk`, `xx-apt-get`, a `COPY --from`
    of the xx image) and no cross-toolchain base image.

    ## Why it matters
    A `$BUILDPLATFORM` stage runs on the build machine, usually amd64. With cgo
    on, Go compiles the C parts with the host's `gcc`, which produces x86 code:
    the arm64 build fails at link time (`gcc: error: unrecognized command-line
    option '-marm64'` or relocation errors), or silently works only for the
    build machine's own architecture.

    ## Example
    ```dockerfile
    FROM --platform=$BUILDPLATFORM golang:1.22 AS build
    ARG TARGETARCH
    WORKDIR /src
    COPY . .
    RUN CGO_ENABLED=1 GOARCH=$TARGETARCH go build -o /out/app .
    ```
    Use instead (tonistiigi/xx sets up `CC` and the target's C libraries):
    ```dockerfile
    FROM --platform=$BUILDPLATFORM tonistiigi/xx AS xx
    FROM --platform=$BUILDPLATFORM golang:1.22-alpine AS build
    COPY --from=xx / /
    ARG TARGETPLATFORM
    RUN apk add clang lld && xx-apk add gcc musl-dev
    WORKDIR /src
    COPY . .
    RUN CGO_ENABLED=1 xx-go build -o /out/app . && xx-verify /out/app
    ```

    ## Fix
    Install a cross compiler for the target and point `CC` at it, use
    tonistiigi/xx (`xx-go`), or drop `--platform=$BUILDPLATFORM` and build
    natively (slower under emulation, but the host compiler is then right).
    When the program does not need cgo, `CGO_ENABLED=0` is simplest.

    ## Fix safety
    No automatic fix: the choice depends on the C libraries the program links.
    """
    for stage in ctx.model.stages:
        if not cross_stage(ctx, stage):
            continue
        view = ctx.views()[0]
        for ins in stage.body:
            for script in ctx.model.scripts(ins):
                for raw in script.commands:
                    cmd = raw.effective()
                    sub = _go_command(cmd)
                    if sub not in ("build", "install", "test", "run") or guarded(cmd.guard):
                        continue
                    cgo = _env_text(ctx, view, ins, script, cmd, "CGO_ENABLED")
                    goarch = _env_text(ctx, view, ins, script, cmd, "GOARCH")
                    if cgo is None or _unquoted(cgo) != "1" or goarch is None:
                        continue
                    if not any(n.startswith("TARGET") for n in references(goarch)):
                        continue
                    cc = _env_text(ctx, view, ins, script, cmd, "CC")
                    if cc is not None and _unquoted(cc) not in _NATIVE_CC:
                        continue
                    if _has_cross_toolchain(ctx, view, stage):
                        continue
                    assert cmd.name is not None
                    yield ctx.diagnostic(
                        Span(cmd.name.span.start, cmd.args[0].span.end),
                        f"go {sub} with CGO_ENABLED=1 and GOARCH={_unquoted(goarch)} in a "
                        "--platform=$BUILDPLATFORM stage compiles the C code with the build "
                        "machine's gcc; other targets fail to link (set CC to a cross compiler "
                        "or use tonistiigi/xx)",
                    )


RULES = (goarch_pinned, go_tags_pinned, cgo_cross_without_cc)
