"""C/C++/Rust toolchains pinned to x86: CPU options and cross targets."""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockerarch_rules.toolchain import (
    X86,
    dedicated_arch,
    guarded,
    instructions,
    replaced_many,
    settings,
    target_arches,
)

from dockerarch.diagnostics import Applicability, Diagnostic, Fix, PlatformVariant, Severity
from dockerarch.engine import Context, rule
from dockerarch.lazyre import lazy_compile
from dockerarch.model import Stage
from dockerarch.platforms import normalize_arch
from dockerarch.records import record
from dockerarch.runscripts import holds_any
from dockerarch.shell import Command, Guard, Word
from dockerarch.syntax import Instruction, Span

# x86 CPU names of GCC's -march/-mtune and LLVM's target-cpu.
_X86_CPU = (
    r"x86-64(?:-v[1-4])?|i[3-6]86|pentium[\w-]*|prescott|nocona|core2|core-avx[\w-]*"
    r"|corei7(?:-avx)?|nehalem|westmere|sandybridge|ivybridge|haswell|broadwell"
    r"|skylake(?:-avx512)?|cannonlake|icelake-\w+|cascadelake|cooperlake|tigerlake"
    r"|sapphirerapids|alderlake|raptorlake|meteorlake|rocketlake|graniterapids[\w-]*"
    r"|emeraldrapids|arrowlake[\w-]*|lunarlake|pantherlake|sierraforest|grandridge"
    r"|clearwaterforest|bonnell|atom|silvermont|goldmont(?:-plus)?|tremont|knl|knm"
    r"|k8(?:-sse3)?|opteron[\w-]*|athlon[\w-]*|amdfam10|barcelona|bdver[1-4]|btver[12]"
    r"|znver[1-5]"
)
_X86_FEATURE = (
    r"avx[\w-]*|sse[\w.]*|ssse3|fma4?|f16c|popcnt|bmi2?|lzcnt|aes|pclmul|sha|movbe|rdrnd"
    r"|rdseed|adx|xsave\w*|mmx|3dnow\w*|x87"
)
_START = r"(?<![\w-])"
_END = r"(?![\w.+-])"
_NATIVE = (
    _START + r"-m(?:arch|tune|cpu)=native" + _END + r"|(?:" + _START + r"|(?<=-C))target-cpu=native"
)
_X86_FLAG = (
    _START + r"(?:-m(?:arch|tune)=(?:" + _X86_CPU + r")|-m(?:no-)?(?:" + _X86_FEATURE + r")"
    r"|-mfpmath=\w+|-masm=\w+|-mstackrealign|-mno-red-zone|-m(?:32|64))" + _END
    + r"|(?:" + _START + r"|(?<=-C))target-cpu=(?:" + _X86_CPU + r")" + _END
    + r"|(?:" + _START + r"|(?<=-C))target-feature=[+-](?:" + _X86_FEATURE + r")"
    r"(?:,[+-][\w.]+)*" + _END
)  # fmt: skip
# The CPU-flag pattern alone takes milliseconds to compile; most files have no flag to scan.
_NATIVE_RE = lazy_compile(_NATIVE)
_X86_FLAG_RE = lazy_compile(_X86_FLAG)


@record
class _Found:
    text: str
    span: Span
    native: bool


def _may_hold_flag(text: str) -> bool:
    # Every flag either pattern matches contains one of these.
    return "-m" in text or "target-" in text


def _scan(text: str, start: int) -> Iterator[_Found]:
    if not _may_hold_flag(text):
        return
    for m in _NATIVE_RE.finditer(text):
        yield _Found(m.group(), Span(start + m.start(), start + m.end()), True)
    for m in _X86_FLAG_RE.finditer(text):
        yield _Found(m.group(), Span(start + m.start(), start + m.end()), False)


def _word_flags(word: Word) -> Iterator[_Found]:
    for piece, span in word.literal_pieces:
        yield from _scan(piece, span.start)


def _compiler_flags(ctx: Context) -> Iterator[tuple[Stage, Instruction, Guard, _Found]]:
    """x86/native compiler options in ENV and ARG values and in any RUN word."""
    seen: set[Span] = set()
    for stage, ins in instructions(ctx):
        if ins.name in ("ENV", "ARG"):
            for kv in ins.key_values(ctx.tree.escape):
                if kv.value_span is not None:
                    for f in _scan(ctx.text(kv.value_span), kv.value_span.start):
                        yield stage, ins, Guard(), f
            continue
        # A word's literal pieces are stretches of the instruction's source: a RUN whose
        # source holds no flag has none in any word (most RUNs; their words are not walked).
        if not _may_hold_flag(ctx.text(ins.span)):
            continue
        for script in ctx.model.scripts(ins):
            # Assignments (`export CFLAGS=...`) and command words may be the same text.
            found = [(a.guard, a.value) for a in script.assignments]
            for cmd in script.commands:
                found.extend((cmd.guard, w) for w in cmd.words)
                found.extend((cmd.guard, a.value) for a in cmd.env)
            for guard, word in found:
                for f in _word_flags(word):
                    if f.span not in seen:
                        seen.add(f.span)
                        yield stage, ins, guard, f


@rule(
    code="DA403",
    scope="stage",
    name="x86-compiler-flags",
    category="toolchain",
    severity=Severity.WARNING,
)
def x86_compiler_flags(ctx: Context) -> Iterator[Diagnostic]:
    """A C, C++ or Rust compiler option that only x86 accepts, or one tuned to the build machine.

    ## What it does
    Finds x86-only code generation options in ENV/ARG values (`CFLAGS`,
    `CXXFLAGS`, `RUSTFLAGS`, ...) and in RUN (compiler command lines,
    `./configure CFLAGS=...`, `cmake -DCMAKE_C_FLAGS=...`, `make CFLAGS=...`,
    `--copt=...`): `-march=`/`-mtune=` with an x86 CPU (`x86-64-v3`, `haswell`,
    `znver3`), `-mavx2`, `-msse4.2`, `-mfma`, `-mpopcnt`, `-mbmi2` and the other
    x86 feature switches, `-mfpmath=`, `-masm=`, `-m32`/`-m64`, and Rust's
    `-C target-cpu=haswell` / `-C target-feature=+avx2`. Not reported under an
    architecture test, nor when only x86 targets build the instruction.

    Separately, `-march=native`, `-mtune=native`, `-mcpu=native` and
    `-C target-cpu=native` are reported on every platform.

    `GOAMD64=v3` is not reported: Go ignores it when building for arm64.

    ## Why it matters
    GCC for arm64 rejects x86 options (`unrecognized command-line option
    '-mavx2'`, `-m64` included) and the build stops. `native` optimises for the
    CPU that runs the build: under emulation or on a build farm that CPU is not
    the one that runs the image, which then dies with `illegal instruction` on
    older hardware, and the build is not reproducible.

    ## Example
    ```dockerfile
    FROM gcc:14
    ENV CFLAGS="-O2 -mavx2 -mfma"
    RUN ./configure && make
    ```
    Use instead:
    ```dockerfile
    FROM gcc:14
    ARG TARGETARCH
    RUN case "$TARGETARCH" in amd64) export CFLAGS="-O2 -mavx2 -mfma" ;; esac \
     && ./configure && make
    ```

    ## Fix
    Pass the x86 options only when building for amd64 (a `case` on
    `$TARGETARCH`), or rely on the project's runtime CPU dispatch. Replace
    `native` with a baseline such as `-march=x86-64-v2` for amd64 and
    `-march=armv8-a` for arm64.

    ## Fix safety
    No automatic fix: which options the arm64 build should get is the author's
    choice.
    """
    for stage, ins, guard, found in _compiler_flags(ctx):
        arches = target_arches(ctx, ins, stage)
        if not arches:
            continue
        if found.native:
            yield ctx.diagnostic(
                found.span,
                f"{found.text} optimises for the CPU running the build, not the one running "
                "the image: wrong under emulation or cross builds, and the image may crash "
                "with illegal instruction elsewhere",
            )
            continue
        if guarded(guard):
            continue
        wrong = [p for arch, ps in arches.items() if arch not in X86 for p in ps]
        if not wrong:
            continue
        own = dedicated_arch(ctx, stage)
        if own is not None and own in X86:
            yield ctx.diagnostic(
                found.span,
                f"{found.text} is an x86 option in a stage or file for {own} only; fine if "
                "nothing else builds it",
                severity=Severity.INFO,
            )
            continue
        yield ctx.diagnostic(
            found.span,
            f"{found.text} is an x86-only compiler option: the build for {', '.join(wrong)} "
            "fails or is wrong (pass it for amd64 only, in a case on $TARGETARCH)",
            platforms=wrong,
        )


# A target triple (or a triple-prefixed tool, `x86_64-linux-gnu-gcc`).
_TRIPLE = lazy_compile(
    r"(x86_64|amd64|i[3-6]86|aarch64|arm64|armv[5-7]\w*|arm|powerpc64le|ppc64le|s390x|riscv64\w*)"
    r"-(?:unknown|pc|linux|none|alpine)[\w.-]*"
)
# What follows the architecture in every triple _TRIPLE matches.
_VENDORS = ("-unknown", "-pc", "-linux", "-none", "-alpine")


def _may_hold_triple(text: str) -> bool:
    """``_TRIPLE.search(text)``, answered by plain substring tests for most RUNs: the
    pattern has no literal start, so its search tries every position of the text."""
    return holds_any(text, _VENDORS) and _TRIPLE.search(text) is not None


# Spellings of each TARGETARCH in triples.
_TRIPLE_ARCH = {
    "amd64": "x86_64",
    "arm64": "aarch64",
    "386": "i686",
    "arm": "armv7",
    "ppc64le": "powerpc64le",
    "s390x": "s390x",
    "riscv64": "riscv64gc",
}
_TRIPLE_VARS = frozenset(
    {"CARGO_BUILD_TARGET", "CC", "CXX", "AR", "LD", "CROSS_COMPILE", "CROSS_TRIPLE", "HOST"}
)
_CONFIGURE_FLAGS = ("--host", "--build", "--target")
# Flags naming the target triple, per program (anything else is a configure script).
_TARGET_FLAGS = {
    "cargo": ("--target",),
    "cross": ("--target",),
    "rustc": ("--target",),
    "rustup": ("--target",),
    "zig": ("-target", "-Dtarget"),
}


def triple_arch(triple: str) -> str | None:
    """TARGETARCH of a triple's first component (``aarch64-unknown-linux-gnu`` -> arm64)."""
    m = _TRIPLE.match(triple)
    if m is None:
        return None
    cpu = m.group(1)
    if cpu.startswith("arm") and cpu != "arm64":
        return "arm"
    if cpu.startswith("riscv64"):
        return "riscv64"
    if cpu == "powerpc64le":
        return "ppc64le"
    return normalize_arch(cpu)


def triple_for(triple: str, arch: str) -> str:
    """``triple`` with its CPU swapped for ``arch``'s (keeping vendor, OS and ABI)."""
    m = _TRIPLE.match(triple)
    assert m is not None
    if triple_arch(triple) == arch:
        return triple
    rest = triple[m.end(1) :]
    # Rust spells the CPU its own way (riscv64gc, armv7); GNU tool prefixes do not.
    rust = "unknown" in rest
    rest = re.sub(r"eabi(?:hf)?", "", rest)
    if arch == "arm":
        rest = re.sub(r"-(gnu|musl)\b", r"-\1eabihf", rest)
    cpu = _TRIPLE_ARCH.get(arch, arch)
    if not rust and arch in ("arm", "riscv64"):
        cpu = arch
    return cpu + rest


@record
class _Pinned:
    stage: Stage
    instruction: Instruction
    guard: Guard
    triple: str
    span: Span
    what: str


def _word_triple(word: Word, start: int = 0) -> tuple[str, Span] | None:
    """The triple a word holds from offset ``start`` of its value, if it is literal."""
    if word.value is None or len(word.literal_pieces) != 1:
        return None
    piece, span = word.literal_pieces[0]
    if piece != word.value:
        return None
    text = piece[start:]
    m = _TRIPLE.match(text)
    if m is None or (m.end() != len(text) and text[m.end()] not in "-"):
        return None
    return m.group(), Span(span.start + start, span.start + start + m.end())


def _command_triples(cmd: Command) -> Iterator[tuple[str, Span, str]]:
    prog = cmd.program
    args = cmd.args
    values = [w.value or "" for w in args]
    if prog is not None and (prog in _TARGET_FLAGS or prog.endswith("configure")):
        flags = _TARGET_FLAGS.get(prog, _CONFIGURE_FLAGS)
        for i, v in enumerate(values):
            if v == "--":
                break
            name, eq, _ = v.partition("=")
            if name not in flags:
                continue
            if eq:
                found = _word_triple(args[i], len(name) + 1)
                if found:
                    yield found[0], found[1], f"{prog} {name}="
            elif i + 1 < len(args):
                found = _word_triple(args[i + 1])
                if found:
                    yield found[0], found[1], f"{prog} {name} "
    if prog == "rustup" and values[:2] == ["target", "add"]:
        for word in args[2:]:
            found = _word_triple(word)
            if found:
                yield found[0], found[1], "rustup target add "
    if (
        prog is not None
        and (found := _word_triple(cmd.words[0]))
        and prog.endswith(("-gcc", "-g++", "-cc", "-c++", "-ld", "-ar", "-strip"))
    ):
        yield found[0], found[1], ""
    for word in args:
        # make CC=x86_64-linux-gnu-gcc, ./configure CC=...
        value = word.value or ""
        name, eq, _ = value.partition("=")
        if eq and name in _TRIPLE_VARS:
            found = _word_triple(word, len(name) + 1)
            if found:
                yield found[0], found[1], f"{name}="


def _pinned_targets(ctx: Context) -> Iterator[_Pinned]:
    for s in settings(ctx, _TRIPLE_VARS):
        if s.stage is None or s.value is None or s.value_span is None:
            continue
        m = _TRIPLE.match(s.value)
        if m is None:
            continue
        span = Span(s.value_span.start, s.value_span.start + m.end())
        yield _Pinned(s.stage, s.instruction, s.guard, m.group(), span, f"{s.name}=")
    for stage, ins in instructions(ctx):
        # A triple is read from a word whose value is its one literal piece, a stretch of the
        # instruction's source: a RUN whose source holds none needs no walk.
        if ins.name != "RUN" or not _may_hold_triple(ctx.text(ins.span)):
            continue
        for script in ctx.model.scripts(ins):
            for raw in script.commands:
                cmd = raw.effective()
                for triple, span, what in _command_triples(cmd):
                    yield _Pinned(stage, ins, cmd.guard, triple, span, what)


@rule(
    code="DA404",
    scope="stage",
    name="cross-target-pinned",
    category="toolchain",
    severity=Severity.ERROR,
)
def cross_target_pinned(ctx: Context) -> Iterator[Diagnostic]:
    """A Rust or C build targets one architecture's triple (`x86_64-unknown-linux-gnu`).

    ## What it does
    Finds target triples fixed to one architecture: `cargo build --target
    x86_64-unknown-linux-musl`, `rustup target add x86_64-...`,
    `CARGO_BUILD_TARGET=x86_64-...` (ENV, ARG or RUN), `./configure
    --host=x86_64-linux-gnu` (and `--build`, `--target`),
    `CC=x86_64-linux-gnu-gcc` (also `CXX`, `AR`, `LD`, `CROSS_COMPILE`), direct
    calls of `x86_64-linux-gnu-gcc`, and `zig cc -target`. Not reported under an
    architecture test, when a stage names several architectures' triples (a
    release matrix), or when only that architecture builds the stage;
    information only in a stage or file dedicated to the architecture by name.

    ## Why it matters
    The triple decides what the compiler emits. An arm64 build of
    `cargo build --target x86_64-unknown-linux-gnu` either fails (no x86 linker
    or standard library) or puts an x86 binary in the arm64 image.

    ## Example
    ```dockerfile
    FROM rust:1.79 AS build
    RUN rustup target add x86_64-unknown-linux-musl
    COPY . .
    RUN cargo build --release --target x86_64-unknown-linux-musl
    ```
    Use instead:
    ```dockerfile
    FROM rust:1.79 AS build
    ARG TARGETARCH
    COPY . .
    RUN case "$TARGETARCH" in \
          amd64) T=x86_64-unknown-linux-musl ;; arm64) T=aarch64-unknown-linux-musl ;; \
        esac \
     && rustup target add "$T" && cargo build --release --target "$T" \
     && cp "target/$T/release/app" /app
    ```

    ## Fix
    Map `$TARGETARCH` to the triple (amd64 → `x86_64`, arm64 → `aarch64`, arm →
    `armv7...eabihf`, 386 → `i686`) in a `case`, or, in a stage that builds
    natively, drop the target so the compiler's default (the target platform)
    applies. The display-only fix lists each architecture's version of the
    instruction, which `dockerarch fix --style stages` can turn into
    per-architecture stages.

    ## Fix safety
    No automatic fix; the fix shown is display-only: output paths
    (`target/<triple>/release`) change with the triple and later instructions
    must follow.
    """
    pinned = list(_pinned_targets(ctx))
    arches_by_stage: dict[int, set[str]] = {}
    for p in pinned:
        arch = triple_arch(p.triple)
        if arch is not None and not guarded(p.guard):
            arches_by_stage.setdefault(p.stage.index, set()).add(arch)
    seen: set[Span] = set()
    flagged: list[tuple[_Pinned, str, dict[str, list[str]], list[str]]] = []
    for p in pinned:
        arch = triple_arch(p.triple)
        if arch is None or guarded(p.guard) or p.span in seen:
            continue
        seen.add(p.span)
        if len(arches_by_stage.get(p.stage.index, ())) > 1:
            continue
        arches = target_arches(ctx, p.instruction, p.stage)
        wrong = [pl for a, ps in arches.items() if a != arch for pl in ps]
        if wrong:
            flagged.append((p, arch, arches, wrong))
    # One variant per instruction, with every pinned triple in it swapped.
    by_ins: dict[int, list[_Pinned]] = {}
    for p, *_ in flagged:
        by_ins.setdefault(p.instruction.span.start, []).append(p)
    for p, arch, arches, wrong in flagged:
        own = dedicated_arch(ctx, p.stage)
        if own is not None:
            yield ctx.diagnostic(
                p.span,
                f"{p.triple} in a stage or file for {own} only; fine if nothing else builds it",
                severity=Severity.INFO,
            )
            continue
        shown = ", ".join(f"{a} → {triple_for(p.triple, a)}" for a in arches)
        same = by_ins[p.instruction.span.start]
        texts = tuple(
            (
                a,
                replaced_many(
                    ctx, p.instruction, [(q.span, triple_for(q.triple, a)) for q in same]
                ),
            )
            for a in arches
        )
        yield ctx.diagnostic(
            p.span,
            f"{p.what}{p.triple} builds {arch} code for every target: {', '.join(wrong)} "
            f"gets {arch} output; derive the triple from $TARGETARCH ({shown})",
            fix=Fix(
                "Use each target's triple",
                (),
                Applicability.DISPLAY_ONLY,
                (PlatformVariant(p.instruction.span, texts),),
            ),
            platforms=wrong,
        )


RULES = (x86_compiler_flags, cross_target_pinned)
