"""Faithfulness of ``dockerarch fix``: each platform builds what the applied fixes say.

Every fixture Dockerfile and generated Dockerfiles are fixed with every
loaded rule, unsafe fixes included, in both styles; then, per platform P
(linux/amd64 and linux/arm64) and per fixing round, with the fixes that
round applied to the text before it:

- **Which fixes may change P.** A fix declares that it changes P's build
  when its diagnostic concerns P (``Diagnostic.platforms`` names P, or is
  empty: every platform), or when its message says it changes
  ``every platform`` (a version pin reported for arm64 that moves amd64 too).
  Any other applied fix must leave P's build as it was.
- **What P should build.** The text before the round with, for each fix that
  changes P, its form for P: the ``PlatformVariant`` text for P.arch where
  the fix gives variants (the original text where it names no text for P),
  else its edits. ``render(after round, P)`` must be equivalent to
  ``render(that text, P)``. So for amd64, ``render(fixed)`` is equivalent to
  ``render(original)`` unless an applied fix declares amd64; for arm64, every
  difference comes from an applied fix in its arm64 form. The check also
  holds the inline edits of a fix with variants to building, for each
  platform, what its variant says, and the per-architecture stages of
  ``--style stages`` to building what the variants say.

**Equivalence** is :func:`dockerarch.render.normalized` after two rewrites
of each rendered text, which BuildKit builds identically on P:

1. ``$TARGETARCH``, ``${TARGETARCH}`` (and TARGETOS, TARGETVARIANT,
   TARGETPLATFORM) outside single quotes become their value where the ARG is
   declared: BuildKit expands them so in ENV, COPY and the like, and gives
   RUN them as environment variables that its shell expands alike. So the
   inline ``linux-${TARGETARCH}.tar.gz`` builds what the amd64 variant
   ``linux-amd64.tar.gz`` builds.
2. ``ARG`` lines declaring only those ARGs are dropped when no reference to
   them is left after (1): their value reaches the build only through such
   references. This assumes a program run by RUN does not read TARGETARCH
   from its environment unless the Dockerfile passes it on, which is what
   makes the fixes' added ``ARG TARGETARCH`` (DA110, and the inline form of
   DA701 whose guarded RUN amd64 renders away) harmless to amd64.

Edits of build-context files (requirements files) are outside what render
sees and are not compared. The output must also parse (ours and BuildKit's
parser), round-trip, and fixing it again must change nothing.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dockerarch.diagnostics import Diagnostic, Edit
from dockerarch.engine import Result, Settings, check_text
from dockerarch.fixer import STYLES, Outcome, Style, apply_edits, fix_source
from dockerarch.model import PLATFORM_ARGS, build_model
from dockerarch.platforms import Platform
from dockerarch.render import RenderError, normalized, render
from dockerarch.render import apply_edits as replace_spans
from dockerarch.syntax import Dockerfile, Span, parse
from tests.oracle import compare
from tests.strategies import dockerfiles
from tests.test_fix_properties import fixable_dockerfiles

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PLATFORMS = (Platform("linux", "amd64"), Platform("linux", "arm64"))
EVERY_PLATFORM = "every platform"
#: BuildKit's parser (see tests/oracle.py) ships for x86_64 only.
HAVE_ORACLE = find_spec("dockerfile") is not None
_NAME = "|".join(PLATFORM_ARGS)


def _variable(name: str) -> re.Pattern[str]:
    """``$name`` and ``${name}`` (``name`` may be an alternation)."""
    return re.compile(rf"\$(?:\{{({name})\}}|({name})(?![A-Za-z0-9_]))")


_REFERENCE = _variable(_NAME)
_SIMPLE_QUOTED = re.compile(r"'([\w.+/:=,@%-]*)'|\"([\w.+/:=,@%-]*)\"")
#: dpkg names amd64 and arm64 as TARGETARCH does; the image is the target's.
_DPKG_PROBE = "$(dpkg --print-architecture)"
_DPKG_ARCHES = ("amd64", "arm64")
_LEADING_ASSIGNMENT = re.compile(
    r"(?i:RUN)[ \t]+(?:<<-?(?P<marker>\w+)\n)?"
    r"(?P<assign>(?P<name>[A-Za-z_]\w*)=(?P<value>[\w.+/:,@%-]*)[ \t]*(?:;|&&|\n)[ \t]*)"
)
_DOCKERFILE = re.compile(r"(Dockerfile|Containerfile)(\..+)?\Z|.+\.[Dd]ockerfile\Z")


# -- what a platform builds ---------------------------------------------------------


def _expand(
    text: str,
    values: dict[str, str],
    reference: re.Pattern[str] = _REFERENCE,
    arch: str | None = None,
) -> str:
    """``text`` with references to ``values`` and ``arch``'s probes replaced, and
    quotes around simple words removed, outside single quotes."""
    out: list[str] = []
    i, quote = 0, ""
    while i < len(text):
        c = text[i]
        if quote != "'" and c == "\\":
            out.append(text[i : i + 2])
            i += 2
            continue
        if not quote and (m := _SIMPLE_QUOTED.match(text, i)):
            out.append(m.group(1) or m.group(2) or "")
            i = m.end()
            continue
        if c in "'\"" and quote in ("", c):
            quote = "" if quote else c
        elif c == "$" and quote != "'":
            m = reference.match(text, i)
            name = m and (m.group(1) or m.group(2))
            if m and name in values:
                out.append(values[name])
                i = m.end()
                continue
            if text.startswith(_DPKG_PROBE, i) and arch in _DPKG_ARCHES:
                out.append(arch)
                i += len(_DPKG_PROBE)
                continue
        out.append(c)
        i += 1
    return "".join(out)


def _propagate(run: str) -> str:
    """A RUN whose script starts by setting variables to literals (what a rendered
    ``case "$TARGETARCH"`` mapping leaves), with their uses replaced and the
    assignments dropped; variables set more than once are left alone."""
    while (m := _LEADING_ASSIGNMENT.match(run)) and run.count(m.group("name") + "=") == 1:
        rest = run[: m.start("assign")] + run[m.end() :]
        run = _expand(rest, {m.group("name"): m.group("value")}, _variable(m.group("name")))
    # Quotes around what became a simple word go, as everywhere else.
    return _expand(run, {})


def build(text: str, platform: Platform) -> list[str]:
    """What ``platform`` builds from ``text``, for comparing (see the module docstring)."""
    tree = parse(render(text, platform))
    view = build_model(tree).for_platform(platform)
    edits: list[tuple[Span, str]] = []
    for ins in tree.instructions:
        if ins.name == "FROM":
            continue
        env = view.env_before(ins)
        values = {k: v for k in PLATFORM_ARGS if isinstance(v := env.get(k), str)}
        body = tree.text[ins.span.start : ins.span.end]
        # Again: quotes around what the first pass made a simple word go too.
        expanded = _expand(_expand(body, values, arch=platform.arch), {})
        if ins.name == "RUN":
            expanded = _propagate(expanded)
        if expanded != body:
            edits.append((ins.span, expanded))
    expanded_tree = parse(replace_spans(tree.text, edits))
    return normalized(replace_spans(expanded_tree.text, _unread_platform_args(expanded_tree)))


def _unread_platform_args(tree: Dockerfile) -> list[tuple[Span, str]]:
    """Edits dropping ARG lines that declare only platform ARGs nothing reads after
    them: in their stage or the stages built on it (global ones: in the whole file)."""
    model = build_model(tree)
    view = model.for_platform(PLATFORMS[0])
    drops: list[tuple[Span, str]] = []
    for ins in tree.instructions:
        keys = {kv.key for kv in ins.key_values(tree.escape)} if ins.name == "ARG" else set()
        if not keys or not keys <= set(PLATFORM_ARGS):
            continue
        stage = model.stage_of(ins)
        later = [
            i
            for st in model.stages
            if stage is None or stage in view.ancestry(st)
            for i in st.body
            if i.span.start > ins.span.start
        ]
        read = {
            m.group(1) or m.group(2)
            for i in later
            for m in _REFERENCE.finditer(tree.text, i.span.start, i.span.end)
        }
        if not keys & read:
            drops.append((ins.span, ""))
    return drops


def changes(d: Diagnostic, platform: Platform) -> bool:
    """Whether the fix of ``d`` declares that it changes what ``platform`` builds."""
    assert d.fix is not None
    named = not d.platforms or str(platform) in d.platforms
    return named or EVERY_PLATFORM in d.fix.message.lower()


def platform_form(d: Diagnostic, before: str, platform: Platform) -> list[Edit]:
    """The fix of ``d`` as ``platform`` should build it: its variants' text for the
    platform's architecture where it has variants, else its edits."""
    assert d.fix is not None
    if not d.fix.variants:
        return [e for e in d.fix.edits if e.path is None]
    return [
        Edit(v.span, dict(v.by_arch).get(platform.arch, before[v.span.start : v.span.end]))
        for v in d.fix.variants
    ]


def _overlap(a: Span, b: Span) -> bool:
    return a.start < b.end and b.start < a.end


def expected(before: str, applied: Sequence[Diagnostic], platform: Platform) -> str:
    """The text before a round with the round's fixes for ``platform`` in their form for it."""
    mine = [d for d in applied if changes(d, platform)]
    forms = [platform_form(d, before, platform) for d in mine]
    edits: list[Edit] = []
    for k, (d, form) in enumerate(zip(mine, forms, strict=True)):
        assert d.fix is not None
        others = [e.span for j, f in enumerate(forms) if j != k for e in f]
        if d.fix.variants and any(_overlap(e.span, o) for e in form for o in others):
            # Another fix of the round edits inside the variant's lines: the
            # inline edits say what both together do.
            form = [e for e in d.fix.edits if e.path is None]
        edits += [e for e in form if e not in edits]
    return apply_edits(before, edits)


# -- fixing, round by round -----------------------------------------------------------


@dataclass(frozen=True)
class Round:
    before: str
    after: str
    applied: tuple[Diagnostic, ...]


def fix_all(
    source: str,
    style: Style,
    *,
    path: Path | None = None,
    context_dir: Path | None = None,
    codes: Sequence[str] = ("DA",),
) -> tuple[Outcome, list[Round]]:
    """Fix ``source`` with the rules ``codes`` select, unsafe fixes included, and its rounds."""
    texts: list[str] = []
    config = Settings(select=tuple(codes))

    def check(text: str) -> Result:
        result = check_text(text, config, path=path, context_dir=context_dir)
        texts.append(result.tree.text)
        return result

    out = fix_source(source, check, unsafe=True, style=style, context_dir=context_dir)
    rounds = [
        Round(texts[r - 1], texts[r], tuple(a.diagnostic for a in out.applied if a.round == r))
        for r in range(1, out.rounds + 1)
    ]
    return out, rounds


def buildable(text: str) -> bool:
    try:
        render(text, PLATFORMS[0])
    except RenderError:
        return False
    return True


def has_errors(text: str) -> bool:
    tree = parse(text)
    return bool(tree.errors) or any(i.errors for i in tree.walk())


def assert_faithful(
    source: str,
    style: Style,
    *,
    path: Path | None = None,
    context_dir: Path | None = None,
    codes: Sequence[str] = ("DA",),
) -> Outcome:
    out, rounds = fix_all(source, style, path=path, context_dir=context_dir, codes=codes)
    assert out.converged, out.source
    assert parse(out.source).to_source() == out.source
    if not has_errors(source):
        assert not has_errors(out.source), out.source
    if HAVE_ORACLE:
        compare(out.source)
    for file in out.files.values():
        file.path.write_text(file.source, encoding="utf-8", newline="")
    again, _ = fix_all(out.source, style, path=path, context_dir=context_dir, codes=codes)
    assert again.source == out.source and not again.applied, (out.source, again.source)
    if not buildable(source):
        return out
    for r in rounds:
        for platform in PLATFORMS:
            want = build(expected(r.before, r.applied, platform), platform)
            got = build(r.after, platform)
            assert got == want, (
                f"{platform} in round {rounds.index(r) + 1} of {style}: "
                f"{[(d.code, d.fix.message if d.fix else '') for d in r.applied]}\n"
                f"{r.before}\n--- became ---\n{r.after}\n--- builds ---\n{got}\n"
                f"--- instead of ---\n{want}"
            )
    return out


# -- the equivalence itself -------------------------------------------------------------

AMD64, ARM64 = PLATFORMS


def test_expanding_platform_args_follows_declarations_and_quotes() -> None:
    assert (
        _expand(
            """a-${TARGETARCH} '$TARGETARCH' "$TARGETARCH" \\$TARGETARCH""", {"TARGETARCH": "arm64"}
        )
        == """a-arm64 '$TARGETARCH' "arm64" \\$TARGETARCH"""
    )
    assert _expand("$TARGETARCHX ${TARGETOS}", {"TARGETARCH": "x", "TARGETOS": "linux"}) == (
        "$TARGETARCHX linux"
    )
    literal = "FROM alpine\nRUN curl https://x/go-linux-amd64.tar.gz\n"
    inline = "FROM alpine\nARG TARGETARCH\nRUN curl https://x/go-linux-${TARGETARCH}.tar.gz\n"
    assert build(inline, AMD64) == build(literal, AMD64)
    assert build(inline, ARM64) != build(literal, ARM64)
    # Undeclared, the reference stays: an empty value is not amd64.
    undeclared = "FROM alpine\nRUN curl https://x/go-linux-${TARGETARCH}.tar.gz\n"
    assert build(undeclared, AMD64) != build(literal, AMD64)
    # A declaration something still reads (single quotes: the shell expands it) stays.
    quoted = "FROM alpine\nARG TARGETARCH\nRUN sh -c 'echo $TARGETARCH'\n"
    assert build(quoted, AMD64) != build("FROM alpine\nRUN sh -c 'echo $TARGETARCH'\n", AMD64)


def test_a_guarded_install_and_its_arg_render_away_where_the_guard_is_false() -> None:
    plain = "FROM amazonlinux:2023\nRUN npm install canvas\n"
    guarded = (
        "FROM amazonlinux:2023\nARG TARGETARCH\n"
        'RUN if [ "$TARGETARCH" = arm64 ]; then yum install -y cairo-devel; fi\n'
        "RUN npm install canvas\n"
    )
    assert build(guarded, AMD64) == build(plain, AMD64)
    installs = "FROM amazonlinux:2023\nRUN yum install -y cairo-devel\nRUN npm install canvas\n"
    assert build(guarded, ARM64) == build(installs, ARM64)


def test_a_fix_declares_the_platforms_it_changes() -> None:
    from dockerarch.diagnostics import Applicability, Fix, Severity

    def diag(platforms: tuple[str, ...], message: str) -> Diagnostic:
        fix = Fix(message, (), Applicability.UNSAFE)
        return Diagnostic("DA601", "m", Span(0, 0), Severity.WARNING, fix, platforms)

    assert changes(diag((), "x"), AMD64)
    assert changes(diag(("linux/arm64",), "x"), ARM64)
    assert not changes(diag(("linux/arm64",), "x"), AMD64)
    assert changes(diag(("linux/arm64",), "Install canvas@3.1.1 on every platform"), AMD64)


# -- fixtures ---------------------------------------------------------------------------


def _fixture_dockerfiles() -> list[Path]:
    out = []
    for folder in sorted(FIXTURES.iterdir()):
        if not folder.is_dir() or folder.name == "syntax":
            continue
        for p in sorted(folder.rglob("*")):
            parts = p.relative_to(folder).parts
            if (
                p.is_file()
                and _DOCKERFILE.match(p.name)
                and p.name != "fixed.Dockerfile"
                and "fixed" not in parts[:-1]
            ):
                out.append(p)
    return out


FIXTURE_FILES = _fixture_dockerfiles()


def test_fixtures_are_found() -> None:
    folders = {p.relative_to(FIXTURES).parts[0] for p in FIXTURE_FILES}
    assert {"DA301", "DA402", "DA601", "DA701", "examples", "fix"} <= folders
    assert len(FIXTURE_FILES) > 150


#: Fixture fixes known not to be faithful, with why; strict, so a repair shows up here.
KNOWN_UNFAITHFUL: dict[tuple[str, str], str] = {}


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize(
    "path", FIXTURE_FILES, ids=[str(p.parent.relative_to(FIXTURES)) for p in FIXTURE_FILES]
)
def test_fixture_fixes_are_faithful(
    path: Path, style: Style, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    known = KNOWN_UNFAITHFUL.get((str(path.parent.relative_to(FIXTURES)), style))
    if known:
        request.applymarker(pytest.mark.xfail(strict=True, reason=known))
    # Fixes of build-context files are written there before fixing again.
    context = tmp_path / "context"
    shutil.copytree(path.parent, context)
    copy = context / path.name
    assert_faithful(copy.read_bytes().decode("utf-8"), style, path=copy, context_dir=context)


# -- generated files ----------------------------------------------------------------------

EXAMPLES = 40

_rule_lines = st.sampled_from(
    [
        "RUN yum install -y nodejs",
        "RUN npm install canvas@2.11.2",
        "RUN npm install canvas@2.11.2 && npm cache clean --force",
        "RUN curl -fsSLO https://go.dev/dl/go1.22.0.linux-amd64.tar.gz",
        "RUN wget -q https://go.dev/dl/go1.22.4.linux-amd64.tar.gz "
        "&& tar -C /usr/local -xzf go1.22.4.linux-amd64.tar.gz",
        "RUN curl -fsSL -o /usr/local/bin/yq "
        "https://github.com/mikefarah/yq/releases/download/v4.44.1/yq_linux_amd64",
        "RUN go test -tags amd64 ./...",
        "RUN GOARCH=amd64 go build -o /app .",
        "RUN echo $TARGETARCH",
        "ARG TARGETARCH=amd64",
        "ARG TARGETARCH",
        "WORKDIR /app",
        "COPY --from=0 /etc/os-release /tmp/",
        "# a comment",
        "",
    ]
)


@pytest.mark.parametrize("style", STYLES)
@given(source=fixable_dockerfiles(_rule_lines))
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_generated_fixes_are_faithful(source: str, style: Style) -> None:
    # BuildKit refuses a stage that copies from itself or a later stage.
    assume(not _numeric_forward_refs(source))
    assert_faithful(source, style)


def _numeric_forward_refs(source: str) -> bool:
    model = build_model(parse(source))
    return any(
        (flag := ins.flag("from")) is not None
        and flag.value is not None
        and flag.value.isdigit()
        and int(flag.value) >= stage.index
        for stage in model.stages
        for ins in stage.body
    )


@given(source=dockerfiles())
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_arbitrary_text_fixes_are_faithful(source: str) -> None:
    assert_faithful(source, "stages")


# -- several fixes declaring one ARG -------------------------------------------------------

_ARG_LINES = re.compile(r"^\s*ARG\s+TARGETARCH\s*$", re.IGNORECASE | re.MULTILINE)

TOGETHER = """\
FROM golang:1.22 AS build
WORKDIR /src
RUN curl -fsSLO https://go.dev/dl/go1.22.0.linux-amd64.tar.gz
RUN GOARCH=amd64 go build -o /out/app .
RUN go test -tags amd64 ./...
RUN echo built for $TARGETARCH

FROM alpine:3.20
COPY --from=build /out/app /app
"""


def _stage_texts(text: str) -> list[str]:
    tree = parse(text)
    model = build_model(tree)
    from dockerarch.render import stage_regions

    return [text[r.start : r.end] for r in stage_regions(tree, model)]


@pytest.mark.parametrize("style", STYLES)
def test_fixes_declaring_targetarch_together_declare_it_once_per_stage(style: Style) -> None:
    out = assert_faithful(TOGETHER, style)
    codes = {a.code for a in out.applied}
    assert {"DA301", "DA401", "DA402", "DA110"} <= codes, codes
    for stage in _stage_texts(out.source):
        assert len(_ARG_LINES.findall(stage)) <= 1, out.source
    assert _ARG_LINES.search(out.source)
