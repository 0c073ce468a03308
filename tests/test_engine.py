"""The engine: rule loading, select/ignore, severity overrides and suppressions."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path

import dockerarch_rules
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockerarch.diagnostics import Diagnostic, Severity
from dockerarch.engine import (
    Context,
    Rule,
    Settings,
    active_rules,
    check_text,
    load_rules,
    rule,
    rule_by_code,
)
from dockerarch.model import build_model
from dockerarch.syntax import parse
from tests.strategies import dockerfiles

# Triggers DA101 (line 1), DA102 (line 2) and DA111 (line 3).
THREE = (
    "FROM --platform=linux/amd64 alpine AS a\n"
    "FROM --platform=$TARGETPLATFORM alpine AS b\n"
    "ARG TARGETARCH=amd64\n"
)


def codes(text: str, settings: Settings | None = None) -> list[str]:
    return [d.code for d in check_text(text, settings).diagnostics]


def lines(text: str, settings: Settings | None = None) -> list[tuple[str, int]]:
    result = check_text(text, settings)
    return [(d.code, result.tree.lines.position(d.span.start).line) for d in result.diagnostics]


# -- loading --------------------------------------------------------------------------------------


def test_builtin_pack_loads_through_its_entry_point() -> None:
    (builtin,) = [ep for ep in entry_points(group="dockerarch.rules") if ep.name == "builtin"]
    assert builtin.load() is dockerarch_rules.RULES
    loaded = load_rules()
    assert set(dockerarch_rules.RULES) <= set(loaded)
    assert [r.code for r in loaded] == sorted(r.code for r in loaded)
    for code in ("DA001", "DA101", "DA102", "DA103", "DA110", "DA111", "DA901"):
        found = rule_by_code(code.lower())
        assert found is not None and found.code == code


def test_rule_declaration_is_validated() -> None:
    def check(ctx: Context) -> Iterator[Diagnostic]:
        """Summary.

        ## What it does
        x
        """
        yield from ()

    with pytest.raises(ValueError, match="docs lack sections"):
        rule(code="DA999", name="x", category="syntax", severity=Severity.ERROR)(check)
    with pytest.raises(ValueError, match="DA \\+ 3 digits"):
        rule(code="DA9999", name="x", category="syntax", severity=Severity.ERROR)(check)
    with pytest.raises(ValueError, match="unknown category"):
        rule(code="DA999", name="x", category="misc", severity=Severity.ERROR)(check)


# -- select / ignore ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("select", "ignore", "enabled"),
    [
        (("DA",), (), {"DA001", "DA101", "DA111", "DA901"}),
        (("DA1",), (), {"DA101", "DA111"}),
        (("DA",), ("DA1",), {"DA001", "DA901"}),
        # The more specific selector wins, either way round.
        (("DA101",), ("DA1",), {"DA101"}),
        (("DA1",), ("DA101",), {"DA111"}),
        # A tie goes to ignore.
        (("DA1",), ("DA1",), set()),
        (("da11",), (), {"DA111"}),
        ((), (), set()),
    ],
)
def test_select_ignore_precedence(
    select: tuple[str, ...], ignore: tuple[str, ...], enabled: set[str]
) -> None:
    settings = Settings(select=select, ignore=ignore)
    sample = {"DA001", "DA101", "DA111", "DA901"}
    assert {c for c in sample if settings.enabled(c)} == enabled


def test_check_runs_only_enabled_rules() -> None:
    assert codes(THREE) == ["DA101", "DA102", "DA111"]
    assert codes(THREE, Settings(ignore=("DA10",))) == ["DA111"]
    assert codes(THREE, Settings(select=("DA102",))) == ["DA102"]


def test_explicit_rule_list_still_honours_settings() -> None:
    da101 = rule_by_code("DA101")
    da111 = rule_by_code("DA111")
    assert da101 is not None and da111 is not None
    result = check_text(THREE, Settings(ignore=("DA111",)), rules=[da101, da111])
    assert [d.code for d in result.diagnostics] == ["DA101"]


@given(
    selections=st.lists(
        st.tuples(*[st.lists(st.sampled_from(["DA", "DA1", "DA10", "DA101", "DA3", "da2"]))] * 2),
        max_size=6,
    ),
    as_tuple=st.booleans(),
)
def test_active_rules_follow_the_selection_of_each_call(
    selections: list[tuple[list[str], list[str]]], as_tuple: bool
) -> None:
    # active_rules remembers its answer per selection; the answer must still be the filter's.
    every = load_rules()
    for subset in (every, every[::2]):
        rules = subset if as_tuple else list(subset)
        for select, ignore in selections:
            settings = Settings(select=tuple(select), ignore=tuple(ignore))
            wanted = [r for r in rules if settings.enabled(r.code)]
            assert active_rules(settings, rules) == wanted


@given(st.text(alphabet=st.sampled_from(" \t\n\r\f\u00a0\u2003ax#"), max_size=60))
def test_rule_docs_are_dedented_as_textwrap_does(body: str) -> None:
    import textwrap

    from dockerarch.engine import _dedented

    assert _dedented(body) == textwrap.dedent(body.expandtabs()).strip("\n")


def test_severity_override() -> None:
    settings = Settings(severity={"DA101": Severity.INFO, "DA111": Severity.ERROR})
    result = check_text(THREE, settings)
    assert {d.code: d.severity for d in result.diagnostics} == {
        "DA101": Severity.INFO,
        "DA102": Severity.WARNING,
        "DA111": Severity.ERROR,
    }


def test_rule_severity_and_path_reach_the_rule() -> None:
    text = "FROM --platform=linux/amd64 alpine\n"
    assert check_text(text).diagnostics[0].severity is Severity.ERROR
    per_arch = check_text(text, path=Path("deploy/Dockerfile.amd64"))
    assert per_arch.diagnostics[0].severity is Severity.INFO


# -- suppressions ---------------------------------------------------------------------------------


def test_line_suppression_covers_only_the_next_instruction() -> None:
    text = "# dockerarch: ignore[DA101]\n" + THREE
    assert lines(text) == [("DA102", 3), ("DA111", 4)]


def test_suppression_spans_a_multi_line_instruction_and_comment_runs() -> None:
    text = (
        "# dockerarch: ignore[da102]\n"
        "# the target platform is spelled out for readers\n"
        "FROM --platform=$TARGETPLATFORM \\\n"
        "    alpine\n"
    )
    assert codes(text) == []


def test_file_wide_and_bare_suppressions() -> None:
    assert codes("# dockerarch: ignore-file[DA101,DA111]\n" + THREE) == ["DA102"]
    assert codes("# dockerarch: ignore-file\n" + THREE) == []
    bare = THREE.replace("ARG TARGETARCH", "# dockerarch: ignore\nARG TARGETARCH")
    assert codes(bare) == ["DA101", "DA102"]


def test_file_wide_suppression_after_an_instruction_does_nothing() -> None:
    text = THREE + "# dockerarch: ignore-file[DA101]\n"
    assert codes(text, Settings(ignore=("DA901",))) == ["DA101", "DA102", "DA111"]


def test_unused_suppressions_report_da901() -> None:
    text = (
        "# dockerarch: ignore-file[DA103]\n"
        "# dockerarch: ignore[DA101,DA110]\n"
        "FROM --platform=linux/amd64 alpine AS a\n"
        "# dockerarch: ignore\n"
        "RUN true\n"
        "# dockerarch: ignore[DA111]\n"
        "\n"
        "ARG TARGETARCH=amd64\n"
    )
    result = check_text(text)
    found = [
        (d.code, result.tree.lines.position(d.span.start).line, d.message, d.severity)
        for d in result.diagnostics
    ]
    assert found[:4] == [
        ("DA901", 1, "suppression of DA103 silences nothing", Severity.WARNING),
        ("DA901", 2, "suppression of DA110 silences nothing", Severity.WARNING),
        ("DA901", 4, "suppression silences nothing", Severity.WARNING),
        ("DA901", 6, "suppression comment is not directly above an instruction", Severity.WARNING),
    ]
    # The detached comment silenced nothing, so DA111 still fires.
    assert [f[:2] for f in found[4:]] == [("DA111", 8)]


def test_da901_needs_its_rule_enabled() -> None:
    text = "# dockerarch: ignore[DA101]\nFROM alpine\n"
    assert codes(text) == ["DA901"]
    assert codes(text, Settings(ignore=("DA9",))) == []
    assert codes(text, Settings(severity={"DA901": Severity.ERROR})) == ["DA901"]


def test_suppression_rules_are_not_run_as_checks() -> None:
    def explode(ctx: Context) -> Iterator[Diagnostic]:
        raise AssertionError("the engine ran a suppression rule's check")

    unused = rule_by_code("DA901")
    assert unused is not None
    fake = Rule(
        code="DA902",
        name="exploding-suppression",
        summary="never runs",
        category="suppression",
        severity=Severity.WARNING,
        docs=unused.docs,
        fixable=False,
        check=explode,
    )
    assert check_text(THREE, rules=[fake]).diagnostics == []


def test_da901_check_itself_yields_nothing() -> None:
    unused = rule_by_code("DA901")
    assert unused is not None and unused.category == "suppression"
    tree = parse("# dockerarch: ignore[DA101]\nFROM alpine\n")
    ctx = Context(tree, build_model(tree), Settings(), None, None, rule=unused)
    assert list(unused.check(ctx)) == []


def test_diagnostics_come_sorted_by_position() -> None:
    text = "ARG TARGETARCH=amd64\nFORM x\nFROM --platform=linux/amd64 alpine\n"
    assert lines(text) == [("DA111", 1), ("DA001", 2), ("DA101", 3)]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dockerfiles())
def test_text_rules_survive_any_dockerfile(text: str) -> None:
    result = check_text(text, Settings(select=("DA0", "DA1", "DA9")))
    size = len(result.tree.text)
    for d in result.diagnostics:
        assert 0 <= d.span.start <= d.span.end <= size, d
        for edit in d.fix.edits if d.fix else ():
            assert 0 <= edit.span.start <= edit.span.end <= size, d


def test_da901_says_whether_a_code_is_unused_disabled_or_unknown() -> None:
    text = "# dockerarch: ignore[DA110,DA301,DA998]\nFROM alpine\n"
    (d,) = check_text(text, Settings(ignore=("DA301",))).diagnostics
    assert d.message == (
        "suppression of DA110 silences nothing; DA301 is not enabled; no rule DA998"
    )
    only_da9 = Settings(select=("DA9",))
    (d,) = check_text("# dockerarch: ignore[DA301]\nFROM alpine\n", only_da9).diagnostics
    assert d.message == "suppression silences nothing: DA301 is not enabled"


def test_entry_point_scan_finds_what_importlib_metadata_finds() -> None:
    # The engine reads entry_points.txt itself to spare importing importlib.metadata;
    # it must find exactly the packs the standard library finds.
    from importlib.metadata import entry_points

    from dockerarch.engine import RULES_GROUP, _scan_entry_points

    scanned = _scan_entry_points(RULES_GROUP)
    assert scanned is not None, "the venv's layout should not need the fallback"
    assert sorted(scanned) == sorted(ep.value for ep in entry_points(group=RULES_GROUP))
    assert sorted(_scan_entry_points("console_scripts") or []) == sorted(
        ep.value for ep in entry_points(group="console_scripts")
    )
