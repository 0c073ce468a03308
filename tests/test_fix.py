"""``dockerarch fix``: the fixer library, stage restructuring and the command line.

The rules that give per-platform variants are tested elsewhere; here a
test-only rule (DA197, below) gives them, so the restructuring is tested
whatever the real rules do.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from dockerarch_rules.platform_args import insert_lines

from dockerarch import cli
from dockerarch.diagnostics import (
    Applicability,
    Diagnostic,
    Edit,
    Fix,
    PlatformVariant,
    Severity,
)
from dockerarch.engine import Context, Result, Rule, Settings, check_text, load_rules, rule
from dockerarch.fixer import Outcome, apply_edits, conflicts, fix_source
from dockerarch.platforms import Platform
from dockerarch.syntax import Span, parse
from tests.oracle import compare, needs_oracle

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
TEST_CODE = "DA197"
DEPS = "dnf install -y gcc-c++ cairo-devel libjpeg-turbo-devel pango-devel giflib-devel"


@rule(
    code=TEST_CODE,
    name="test-native-addon-deps",
    category="build-deps",
    severity=Severity.ERROR,
    fixable=True,
)
def native_addon(ctx: Context) -> Iterator[Diagnostic]:
    """Test rule: `npm install canvas` compiles on arm64 and needs build dependencies there.

    ## What it does
    Flags a RUN installing canvas that arm64 builds without an earlier RUN
    installing cairo-devel (in the stage or the stages it builds on).

    ## Why it matters
    It gives the fixer per-platform variants, as the build-dependency rules do.

    ## Example
    `RUN npm install canvas@2.11.2` on Amazon Linux 2023.

    ## Fix
    Variants: arm64 installs the compilers and libraries first. Inline: the
    same install guarded by `if [ "$TARGETARCH" = arm64 ]`, with `ARG TARGETARCH`.

    ## Fix safety
    Safe: the test says so.
    """
    arm = ctx.model.for_platform(Platform.parse("linux/arm64"))
    for stage in ctx.model.stages:
        for ins in stage.body:
            if ins.name != "RUN" or "npm install canvas" not in ins.args or not arm.reaches(ins):
                continue
            earlier = [
                i
                for st in arm.ancestry(stage)
                for i in st.body
                if st is not stage or i.span.start < ins.span.start
            ]
            if any(i.name == "RUN" and "cairo-devel" in i.args for i in earlier):
                continue
            guarded = f'RUN if [ "$TARGETARCH" = arm64 ]; then {DEPS}; fi'
            inline = (
                insert_lines(ctx.model, stage.from_, ["ARG TARGETARCH"], after=True),
                insert_lines(ctx.model, ins, [guarded], after=False),
            )
            original = ctx.text(ins.span)
            arm_text = f"RUN {DEPS}\n" + original + ("" if original.endswith("\n") else "\n")
            variant = PlatformVariant(ins.span, (("arm64", arm_text),))
            fix = Fix("Install canvas's build dependencies", inline, Applicability.SAFE, (variant,))
            yield ctx.diagnostic(ins.span, "canvas compiles on arm64", fix=fix)


def rules_with_test_rule() -> list[Rule]:
    return [*load_rules(), native_addon]


def checker(
    *codes: str, context_dir: Path | None = None, path: Path | None = None
) -> Callable[[str], Result]:
    settings = Settings(select=codes or ("DA",))
    rules = rules_with_test_rule()

    def check(source: str) -> Result:
        return check_text(source, settings, path=path, context_dir=context_dir, rules=rules)

    return check


def fix(
    source: str, *codes: str, style: str = "stages", unsafe: bool = True, **kw: object
) -> Outcome:
    return fix_source(
        source,
        checker(*codes or (TEST_CODE, "DA110", "DA111")),
        style=style,  # type: ignore[arg-type]
        unsafe=unsafe,
        **kw,  # type: ignore[arg-type]
    )


def assert_valid(source: str) -> None:
    tree = parse(source)
    assert tree.to_source() == source
    assert not tree.errors and not any(i.errors for i in tree.walk()), source


# -- edits and conflicts ------------------------------------------------------------


def test_apply_edits_orders_insertions_before_a_replacement_at_one_offset() -> None:
    edits = [Edit(Span(5, 6), "b"), Edit(Span(5, 5), "X "), Edit(Span(5, 5), "Y ")]
    assert apply_edits("FROM a\n", edits) == "FROM X Y b\n"
    with pytest.raises(ValueError, match="overlapping"):
        apply_edits("FROM a\n", [Edit(Span(0, 4), "x"), Edit(Span(2, 6), "y")])


def test_conflicts() -> None:
    assert conflicts(Span(0, 4), Span(3, 6))
    assert conflicts(Span(2, 2), Span(2, 5))  # insertion where the other replaces
    assert not conflicts(Span(2, 2), Span(2, 2))  # two insertions keep their fixes' order
    assert not conflicts(Span(0, 2), Span(2, 4))
    assert not conflicts(Span(2, 2), Span(0, 2))


def scripted(rounds: dict[str, list[Diagnostic]]) -> Callable[[str], Result]:
    """A check that reports, for each exact text, the diagnostics given."""

    def check(source: str) -> Result:
        tree = parse(source)
        return Result(None, tree, list(rounds.get(tree.text, [])))

    return check


def diag(code: str, *edits: Edit, kind: Applicability = Applicability.SAFE) -> Diagnostic:
    span = edits[0].span if edits else Span(0, 0)
    return Diagnostic(code, f"{code} fires", span, Severity.ERROR, Fix(f"{code} fix", edits, kind))


def test_overlapping_fixes_first_by_position_then_code_later_one_next_round() -> None:
    text = "FROM alpine AS app\n"
    check = scripted(
        {
            text: [
                diag("DA002", Edit(Span(5, 11), "debian")),
                diag("DA001", Edit(Span(5, 11), "ubuntu")),
                diag("DA003", Edit(Span(0, 11), "FROM busybox")),
                diag("DA004", Edit(Span(15, 18), "web")),
            ],
            "FROM ubuntu AS web\n": [diag("DA002", Edit(Span(5, 11), "debian"))],
        }
    )
    out = fix_source(text, check)
    # Round 1: DA003 starts first; DA001 and DA002 overlap it; DA004 does not.
    # Round 2 sees "FROM busybox AS web" and nothing fires there.
    assert out.source == "FROM busybox AS web\n"
    assert [(a.code, a.round) for a in out.applied] == [("DA003", 1), ("DA004", 1)]
    assert out.converged and out.rounds == 1

    check = scripted(
        {
            text: [
                diag("DA002", Edit(Span(5, 11), "debian")),
                diag("DA001", Edit(Span(5, 11), "ubuntu")),
            ],
            "FROM ubuntu AS app\n": [diag("DA002", Edit(Span(5, 11), "debian"))],
        }
    )
    out = fix_source(text, check)
    assert out.source == "FROM debian AS app\n"
    assert [(a.code, a.round) for a in out.applied] == [("DA001", 1), ("DA002", 2)]


def test_a_fix_applies_all_or_nothing_and_identical_edits_are_shared() -> None:
    text = "FROM a\nRUN b\n"
    arg = Edit(Span(7, 7), "ARG X\n")
    check = scripted(
        {
            text: [
                diag("DA001", Edit(Span(7, 7), "ARG Y\n"), Edit(Span(11, 12), "c")),
                diag("DA002", arg),
                diag("DA003", Edit(Span(11, 12), "d"), Edit(Span(0, 4), "from")),
                diag("DA004", arg, Edit(Span(13, 13), "CMD x\n")),
            ]
        }
    )
    out = fix_source(text, check)
    # DA003 starts first; DA001 overlaps it, so its ARG Y is left out too.
    assert out.source == "from a\nARG X\nRUN d\nCMD x\n"
    assert [a.code for a in out.applied] == ["DA003", "DA002", "DA004"]


def test_only_allowed_applicabilities_apply() -> None:
    text = "FROM a\n"
    check = scripted(
        {
            text: [
                diag("DA001", Edit(Span(5, 6), "b"), kind=Applicability.UNSAFE),
                diag("DA002", Edit(Span(0, 4), "from"), kind=Applicability.DISPLAY_ONLY),
            ]
        }
    )
    safe = fix_source(text, check)
    assert not safe.changed and [d.code for d in safe.remaining] == ["DA001", "DA002"]
    unsafe = fix_source(text, check, unsafe=True)
    assert unsafe.source == "FROM b\n"


def test_rounds_are_bounded_and_cycles_stop() -> None:
    def growing(source: str) -> Result:
        tree = parse(source)
        return Result(None, tree, [diag("DA001", Edit(Span(0, 0), "#\n"))])

    out = fix_source("FROM a\n", growing, max_rounds=4)
    assert not out.converged and out.rounds == 4
    assert out.source == "#\n" * 4 + "FROM a\n"

    flip = scripted(
        {
            "FROM a\n": [diag("DA001", Edit(Span(5, 6), "b"))],
            "FROM b\n": [diag("DA002", Edit(Span(5, 6), "a"))],
        }
    )
    out = fix_source("FROM a\n", flip)
    assert not out.converged and out.rounds == 2


def test_no_op_edits_do_not_count() -> None:
    check = scripted({"FROM a\n": [diag("DA001", Edit(Span(5, 6), "a"))]})
    out = fix_source("FROM a\n", check)
    assert out.converged and not out.applied and not out.changed


def test_context_file_edits_accumulate_against_the_file_on_disk(tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_bytes("\ufeffnumpy==1.18.5\r\nscipy==1.4.0\r\n".encode())
    numpy = Edit(Span(7, 13), "1.19.0", Path("requirements.txt"))
    scipy = Edit(Span(22, 27), "1.5.0", req)
    text = "FROM python:3.8\nRUN pip install -r requirements.txt\n"
    # Every round reports both edits again: the rules read the unchanged file.
    diags = [diag("DA501", numpy), diag("DA502", scipy), diag("DA001", Edit(Span(5, 11), "py"))]
    after = text.replace("python", "py")
    check = scripted({text: diags, after: diags[:2]})
    out = fix_source(text, check, context_dir=tmp_path)
    assert out.source == after
    # Edits of other files only sort before every edit of the Dockerfile.
    assert [a.code for a in out.applied] == ["DA501", "DA502", "DA001"]
    assert out.remaining == [] and out.converged
    (cf,) = out.files.values()
    assert cf.path == req
    assert cf.source == "\ufeffnumpy==1.19.0\r\nscipy==1.5.0\r\n"
    assert req.read_bytes().startswith(b"\xef\xbb\xbfnumpy==1.18.5")  # nothing written


def test_unreadable_context_file_skips_its_fix(tmp_path: Path) -> None:
    check = scripted({"FROM a\n": [diag("DA501", Edit(Span(0, 1), "x", tmp_path / "missing.txt"))]})
    out = fix_source("FROM a\n", check, context_dir=tmp_path)
    assert not out.changed and [d.code for d in out.remaining] == ["DA501"]
    (err,) = out.errors
    assert err.path.endswith("missing.txt") and err.problem.startswith("cannot read")
    relative = scripted({"FROM a\n": [diag("DA501", Edit(Span(0, 1), "x", Path("r.txt")))]})
    assert not fix_source("FROM a\n", relative).changed  # no context to resolve it in


# -- real rules: untouched bytes stay -----------------------------------------------


@pytest.mark.parametrize(
    ("source", "fixed"),
    [
        (
            "\ufeffFROM alpine\r\nRUN echo $TARGETARCH $TARGETOS",
            "\ufeffFROM alpine\r\nARG TARGETARCH\r\nARG TARGETOS\r\nRUN echo $TARGETARCH $TARGETOS",
        ),
        (
            "# c\n  from alpine as x   \n\n  run echo \\\n    ${TARGETARCH}\n",
            "# c\n  from alpine as x   \n  arg TARGETARCH\n\n  run echo \\\n    ${TARGETARCH}\n",
        ),
        (
            "ARG TARGETARCH=amd64\nFROM alpine\nARG TARGETARCH=arm64\nRUN echo $TARGETARCH\n",
            "ARG TARGETARCH\nFROM alpine\nARG TARGETARCH\nRUN echo $TARGETARCH\n",
        ),
    ],
)
def test_real_fixes_keep_every_other_byte(source: str, fixed: str) -> None:
    out = fix(source, "DA110", "DA111")
    assert out.source == fixed
    assert out.converged and out.rounds == 1 and not out.remaining
    assert fix(out.source, "DA110", "DA111").source == out.source


# -- stages style -------------------------------------------------------------------

CANVAS = """\
# syntax=docker/dockerfile:1
FROM amazonlinux:2023 AS app
WORKDIR /app
COPY package.json .
RUN npm install canvas@2.11.2
COPY . .
CMD ["node", "index.js"]

FROM app AS test
RUN npm test
"""

CANVAS_STAGES = """\
# syntax=docker/dockerfile:1
FROM amazonlinux:2023 AS app-base
WORKDIR /app
COPY package.json .

FROM app-base AS app-amd64
RUN npm install canvas@2.11.2

FROM app-base AS app-arm64
RUN dnf install -y gcc-c++ cairo-devel libjpeg-turbo-devel pango-devel giflib-devel
RUN npm install canvas@2.11.2

FROM app-${TARGETARCH} AS app
COPY . .
CMD ["node", "index.js"]

FROM app AS test
RUN npm test
"""

CANVAS_INLINE = """\
# syntax=docker/dockerfile:1
FROM amazonlinux:2023 AS app
ARG TARGETARCH
WORKDIR /app
COPY package.json .
{guarded}
RUN npm install canvas@2.11.2
COPY . .
CMD ["node", "index.js"]

FROM app AS test
RUN npm test
""".format(guarded=f'RUN if [ "$TARGETARCH" = arm64 ]; then {DEPS}; fi')


def settled(out: Outcome) -> None:
    assert out.converged, out.source
    assert not [d for d in out.remaining if d.code in (TEST_CODE, "DA110")], out.remaining
    assert_valid(out.source)
    again = fix(out.source)
    assert not again.changed and not again.applied


def test_stages_style_splits_the_diverging_part_into_per_arch_stages() -> None:
    out = fix(CANVAS)
    assert out.source == CANVAS_STAGES
    assert [(a.code, a.round) for a in out.applied] == [(TEST_CODE, 1)]
    settled(out)
    tree = check_text(out.source).tree
    from dockerarch.model import build_model

    model = build_model(tree)
    for arch, parent in (("amd64", "app-amd64"), ("arm64", "app-arm64")):
        view = model.for_platform(Platform("linux", arch))
        app = model.stage_named("app")
        assert app is not None and view.parent(app) is not None
        assert [s.name for s in view.ancestry(app)] == ["app", parent, "app-base"]
        assert model.final is not None and model.final.name == "test"


def test_inline_style_applies_the_edits() -> None:
    out = fix(CANVAS, style="inline")
    assert out.source == CANVAS_INLINE
    settled(out)


def test_unnamed_stage_gets_a_name_and_numeric_references_follow() -> None:
    source = (
        "FROM amazonlinux:2023\n"
        "RUN npm install canvas\n"
        "FROM alpine AS tools\n"
        "COPY --from=0 /x /x\n"
        "FROM alpine\n"
        "COPY --from=1 /t /t\n"
        "RUN --mount=type=bind,from=0,target=/src true"
    )
    out = fix(source)
    assert out.source == (
        "FROM amazonlinux:2023 AS stage-0-base\n"
        "\n"
        "FROM stage-0-base AS stage-0-amd64\n"
        "RUN npm install canvas\n"
        "\n"
        "FROM stage-0-base AS stage-0-arm64\n"
        f"RUN {DEPS}\n"
        "RUN npm install canvas\n"
        "\n"
        "FROM stage-0-${TARGETARCH}\n"
        "FROM alpine AS tools\n"
        "COPY --from=3 /x /x\n"
        "FROM alpine\n"
        "COPY --from=4 /t /t\n"
        "RUN --mount=type=bind,from=3,target=/src true"
    )
    settled(out)


def test_names_avoid_existing_stages_and_follow_casing_and_line_endings() -> None:
    source = (
        "from alpine as app-base\r\n"
        "\r\n"
        "  from amazonlinux:2023 as app\r\n"
        "  run npm install canvas\r\n"
        "  copy --from=app-base / /"
    )
    out = fix(source)
    assert out.source == (
        "from alpine as app-base\r\n"
        "\r\n"
        "  from amazonlinux:2023 as app-2-base\r\n"
        "\r\n"
        "  from app-2-base as app-2-amd64\r\n"
        "  run npm install canvas\r\n"
        "\r\n"
        "  from app-2-base as app-2-arm64\r\n"
        f"RUN {DEPS}\r\n"
        "  run npm install canvas\r\n"
        "\r\n"
        "  from app-2-${TARGETARCH} as app\r\n"
        "  copy --from=app-base / /"
    )
    settled(out)


def test_every_target_arch_gets_a_stage_and_the_file_end_stays() -> None:
    source = "FROM amazonlinux:2023 AS app\nRUN npm install canvas"
    archs = ("amd64", "arm64", "arm", "s390x")
    out = fix(source, archs=archs)
    names = [s.split()[-1] for s in out.source.splitlines() if s.startswith("FROM app-base")]
    assert names == [f"app-{a}" for a in archs]
    assert out.source.endswith("\nFROM app-${TARGETARCH} AS app")


def test_several_variants_in_one_round_share_one_split() -> None:
    source = (
        "FROM amazonlinux:2023 AS app\n"
        "RUN npm install canvas@2\n"
        "# between\n"
        "RUN echo shared\n"
        "RUN npm install canvas@3\n"
        "FROM amazonlinux:2023 AS other\n"
        "RUN npm install canvas@2\n"
        "COPY --from=app /app /app\n"
    )
    out = fix(source)
    assert out.rounds == 1 and len(out.applied) == 3
    arm = out.source.split("AS app-arm64\n", 1)[1].split("\n\n", 1)[0]
    assert arm == (
        f"RUN {DEPS}\nRUN npm install canvas@2\n# between\nRUN echo shared\n"
        f"RUN {DEPS}\nRUN npm install canvas@3"
    )
    assert "FROM other-base AS other-arm64\n" in out.source
    settled(out)


def test_onbuild_in_the_stage_falls_back_to_inline() -> None:
    source = "FROM amazonlinux:2023\nONBUILD RUN true\nRUN npm install canvas\n"
    out = fix(source)
    assert out.source == (
        "FROM amazonlinux:2023\nARG TARGETARCH\nONBUILD RUN true\n"
        f'RUN if [ "$TARGETARCH" = arm64 ]; then {DEPS}; fi\nRUN npm install canvas\n'
    )
    settled(out)


def test_plain_fixes_and_a_split_in_one_file() -> None:
    source = "FROM amazonlinux:2023 AS app\nRUN npm install canvas\nRUN echo $TARGETARCH\n"
    out = fix(source)
    settled(out)
    assert "FROM app-${TARGETARCH} AS app\n" in out.source
    assert out.source.count("ARG TARGETARCH\n") == 1
    assert {a.code for a in out.applied} == {TEST_CODE, "DA110"}


@pytest.mark.parametrize(
    "variants",
    [
        # Not whole instructions: part of the RUN line.
        (PlatformVariant(Span(16, 19), (("arm64", "RUN x\n"),)),),
        # The FROM itself.
        (PlatformVariant(Span(0, 17), (("arm64", "FROM b\n"),)),),
        # Overlapping each other.
        (
            PlatformVariant(Span(17, 23), (("arm64", "RUN x\n"),)),
            PlatformVariant(Span(17, 29), (("arm64", "RUN y\n"),)),
        ),
        # The same text for every architecture.
        (PlatformVariant(Span(17, 23), (("arm64", "RUN a\n"),)),),
        (),
    ],
)
def test_variants_that_cannot_become_stages_apply_inline(
    variants: tuple[PlatformVariant, ...],
) -> None:
    text = "FROM alpine AS x\nRUN a\nRUN b\n"
    inline = Edit(Span(17, 17), "ARG TARGETARCH\n")
    fix_ = Fix("inline", (inline,), Applicability.SAFE, variants)
    check = scripted({text: [Diagnostic("DA197", "m", Span(17, 23), Severity.ERROR, fix_)]})
    out = fix_source(text, check)
    assert out.source == "FROM alpine AS x\nARG TARGETARCH\nRUN a\nRUN b\n"


@needs_oracle
def test_buildkit_parses_the_restructured_files() -> None:
    for source in (
        CANVAS,
        CANVAS.replace("\n", "\r\n"),
        "FROM amazonlinux:2023\nRUN npm install canvas",
    ):
        for style in ("stages", "inline"):
            out = fix(source, style=style)
            compare(out.source)


# -- the command line ---------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory where the CLI also loads the test rule."""
    import dockerarch.engine
    import dockerarch.report

    monkeypatch.setattr(dockerarch.engine, "load_rules", lambda: tuple(rules_with_test_rule()))
    monkeypatch.setattr(dockerarch.report, "load_rules", lambda: tuple(rules_with_test_rule()))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def main(*args: str) -> int:
    return cli.main(["fix", "--select", f"DA110,DA111,{TEST_CODE}", *args])


UNDECLARED = "FROM alpine\nRUN echo $TARGETARCH\n"
DECLARED = "FROM alpine\nARG TARGETARCH\nRUN echo $TARGETARCH\n"
DEFAULTED = "FROM alpine\nARG TARGETARCH=amd64\nRUN echo $TARGETARCH\n"


def test_cli_fixes_and_exits_0_when_nothing_remains(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "Dockerfile").write_text(UNDECLARED)
    (project / "Dockerfile").chmod(0o640)
    assert main("--show-fixes") == 0
    assert (project / "Dockerfile").read_text() == DECLARED
    assert (project / "Dockerfile").stat().st_mode & 0o777 == 0o640
    out, err = capsys.readouterr()
    assert err == ""
    assert out == (
        "Fixed 1 problem:\n"
        "- Dockerfile:\n"
        "    1 × DA110 (undeclared-platform-arg)\n"
        "Found 1 problem (1 fixed, 0 remaining).\n"
    )
    assert main() == 0
    assert capsys.readouterr().out == "All checks passed!\n"
    (project / "Dockerfile").write_text(UNDECLARED)
    assert main("--exit-non-zero-on-fix", "-q") == 1
    assert capsys.readouterr().out == ""


def test_cli_unsafe_fixes_only_when_asked(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "Dockerfile").write_text(DEFAULTED)
    assert main() == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Dockerfile:2:5: DA111 [*] ARG TARGETARCH=amd64 overrides")
    assert out[1:] == [
        "Found 1 problem (0 fixed, 1 remaining).",
        "1 more fix available with --unsafe-fixes.",
    ]
    assert (project / "Dockerfile").read_text() == DEFAULTED
    assert main("--unsafe-fixes") == 0
    assert (project / "Dockerfile").read_text() == DECLARED


def test_cli_select_and_ignore(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "Dockerfile").write_text(UNDECLARED)
    assert cli.main(["fix", "--select", "DA110", "--ignore", "DA110"]) == 0
    assert (project / "Dockerfile").read_text() == UNDECLARED
    assert cli.main(["fix", "--select", "DA1", "--ignore", "DA111"]) == 0
    assert (project / "Dockerfile").read_text() == DECLARED


def test_cli_diff_writes_nothing(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "Dockerfile").write_text("FROM alpine\nRUN echo $TARGETARCH")
    (project / "clean.Dockerfile").write_text(DECLARED)
    assert main("--diff") == 1
    out, err = capsys.readouterr()
    assert out == (
        "--- Dockerfile\n"
        "+++ Dockerfile\n"
        "@@ -1,2 +1,3 @@\n"
        " FROM alpine\n"
        "+ARG TARGETARCH\n"
        " RUN echo $TARGETARCH\n"
        "\\ No newline at end of file\n"
    )
    assert err == "Would fix 1 problem.\n"
    assert (project / "Dockerfile").read_text() == "FROM alpine\nRUN echo $TARGETARCH"
    assert main("--diff", "clean.Dockerfile") == 0
    assert capsys.readouterr().out == ""


def test_cli_context_file_fixes_are_written_and_diffed(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = FIXTURES / "DA501" / "numpy-requirements"
    shutil.copytree(case, project / "svc", ignore=shutil.ignore_patterns("fixed*", "*.json"))
    args = ["fix", "--select", "DA501", "--unsafe-fixes", "svc/Dockerfile"]
    assert cli.main([*args, "--diff"]) == 1
    diff = capsys.readouterr().out
    assert diff.startswith("--- svc/requirements.txt\n+++ svc/requirements.txt\n")
    assert "-numpy==1.18.5\n+numpy==1.19.0\n" in diff
    assert cli.main([*args, "--show-fixes"]) == 0
    assert (project / "svc/requirements.txt").read_text() == (
        case / "fixed/requirements.txt"
    ).read_text()
    assert (project / "svc/Dockerfile").read_text() == (case / "Dockerfile").read_text()
    assert "1 × DA501" in capsys.readouterr().out


def test_cli_read_only_file_is_one_line_and_others_are_fixed(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "a.Dockerfile").write_text(UNDECLARED)
    (project / "b.Dockerfile").write_text(UNDECLARED)
    (project / "a.Dockerfile").chmod(0o444)
    assert main() == 2
    assert capsys.readouterr().err == "dockerarch: a.Dockerfile: cannot write: file is read-only\n"
    assert (project / "a.Dockerfile").read_text() == UNDECLARED
    assert (project / "b.Dockerfile").read_text() == DECLARED


def test_cli_file_changed_during_the_run_is_not_overwritten(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import dockerarch.fixer

    path = project / "Dockerfile"
    path.write_text(UNDECLARED)
    real = dockerarch.fixer.fix_source

    def meanwhile(*args: object, **kwargs: object) -> Outcome:
        out = real(*args, **kwargs)  # type: ignore[arg-type]
        path.write_text("FROM edited\n")
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
        return out

    monkeypatch.setattr(dockerarch.fixer, "fix_source", meanwhile)
    assert main() == 2
    err = capsys.readouterr().err
    assert err == (
        "dockerarch: Dockerfile: file changed on disk since it was read; not overwritten\n"
    )
    assert path.read_text() == "FROM edited\n"


def test_cli_stdin_prints_the_fixed_text(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    import io

    source = "\ufeffFROM alpine\r\nARG TARGETARCH=amd64\r\nRUN echo $TARGETOS"
    stdin = io.TextIOWrapper(io.BytesIO(source.encode()))
    monkeypatch.setattr(sys, "stdin", stdin)
    assert main("-") == 1
    out, err = capsysbinary.readouterr()
    assert (
        out.decode()
        == "\ufeffFROM alpine\r\nARG TARGETOS\r\nARG TARGETARCH=amd64\r\nRUN echo $TARGETOS"
    )
    assert err.decode().startswith("-:3:5: DA111 [*] ARG TARGETARCH=amd64 overrides")


def test_cli_style_and_non_convergence(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "Dockerfile").write_text(CANVAS)
    assert main("--style", "inline") == 0
    assert (project / "Dockerfile").read_text() == CANVAS_INLINE
    (project / "Dockerfile").write_text(CANVAS)
    assert main() == 0
    assert (project / "Dockerfile").read_text() == CANVAS_STAGES
    capsys.readouterr()

    import dockerarch.fixer

    monkeypatch.setattr(dockerarch.fixer, "MAX_ROUNDS", 0)
    real = dockerarch.fixer.fix_source

    def one_round(*args: object, **kwargs: object) -> Outcome:
        return real(*args, **{**kwargs, "max_rounds": 0})  # type: ignore[arg-type]

    monkeypatch.setattr(dockerarch.fixer, "fix_source", one_round)
    (project / "Dockerfile").write_text(UNDECLARED)
    assert main() == 2
    assert capsys.readouterr().err == (
        "dockerarch: Dockerfile: fixes still changed the file after 0 rounds; stopped there\n"
    )


def test_pre_commit_hook_entry_runs(tmp_path: Path) -> None:
    hooks = (REPO / ".pre-commit-hooks.yaml").read_text().split("- id: ")
    (hook,) = [h for h in hooks if h.startswith("dockerarch-fix\n")]
    entry = next(line for line in hook.splitlines() if line.strip().startswith("entry:"))
    program, *args = entry.split(":", 1)[1].split()
    assert program == "dockerarch"
    (tmp_path / "Dockerfile").write_text(UNDECLARED)
    r = subprocess.run(
        [sys.executable, "-m", "dockerarch", *args, "--select", "DA110", "Dockerfile"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (r.returncode, r.stderr) == (0, "")
    assert (tmp_path / "Dockerfile").read_text() == DECLARED


def test_fixtures_fix_command_cases(project: Path) -> None:
    """Every ``fixtures/fix/<case>/``: ``dockerarch fix`` turns Dockerfile into fixed.Dockerfile."""
    cases = sorted(p for p in (FIXTURES / "fix").iterdir() if p.is_dir())
    assert cases
    for case in cases:
        work = project / case.name
        shutil.copytree(case, work)
        args = (work / "args").read_text().split() if (work / "args").exists() else []
        code = cli.main(["fix", "--quiet", *args, str(work / "Dockerfile")])
        want = (case / "fixed.Dockerfile").read_bytes()
        assert (work / "Dockerfile").read_bytes() == want, case.name
        assert code == 0, case.name
