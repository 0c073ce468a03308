"""Every loaded rule is well-formed and documented, with examples that parse."""

from __future__ import annotations

import inspect
import re
from importlib.metadata import entry_points

import pytest

from dockerarch.engine import CATEGORIES, DOC_SECTIONS, Rule, Settings, check_text, load_rules
from dockerarch.syntax import parse

RULES = load_rules()
_BLOCK = re.compile(r"^```dockerfile\n(.*?)^```", re.DOTALL | re.MULTILINE)
_SECTION = re.compile(r"^## (.+)$", re.MULTILINE)


def sections(docs: str) -> dict[str, str]:
    parts = _SECTION.split(docs)
    pairs = zip(parts[1::2], parts[2::2], strict=True)
    return {title.strip(): body.strip() for title, body in pairs}


def test_codes_and_names_are_unique_across_packs() -> None:
    every = [r for ep in entry_points(group="dockerarch.rules") for r in ep.load()]
    codes = [r.code for r in every]
    names = [r.name for r in every]
    assert len(codes) == len(set(codes)), sorted(c for c in codes if codes.count(c) > 1)
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    assert {r.code for r in RULES} == set(codes)


@pytest.mark.parametrize("r", RULES, ids=[r.code for r in RULES])
def test_rule_metadata(r: Rule) -> None:
    assert re.fullmatch(r"DA\d{3}", r.code)
    assert re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", r.name)
    assert r.category in CATEGORIES
    assert r.summary and "\n" not in r.summary and len(r.summary) <= 100, r.summary
    assert r.url.endswith(r.code.lower())


@pytest.mark.parametrize("r", RULES, ids=[r.code for r in RULES])
def test_rule_docs_are_the_cleaned_docstring(r: Rule) -> None:
    # engine.rule dedents the docstring itself to keep inspect out of every run.
    assert r.docs == inspect.cleandoc((r.check.__doc__ or "").strip().partition("\n")[2])


@pytest.mark.parametrize("r", RULES, ids=[r.code for r in RULES])
def test_rule_docs_sections(r: Rule) -> None:
    found = sections(r.docs)
    assert list(found) == list(DOC_SECTIONS), f"{r.code}: sections {list(found)}"
    empty = [title for title, body in found.items() if not body]
    assert not empty, f"{r.code}: empty sections {empty}"
    if not r.fixable:
        assert "No automatic fix" in found["Fix safety"], f"{r.code}: says nothing of no fix"


@pytest.mark.parametrize("r", RULES, ids=[r.code for r in RULES])
def test_rule_examples_parse(r: Rule) -> None:
    blocks = _BLOCK.findall(sections(r.docs)["Example"])
    assert blocks, f"{r.code}: ## Example has no ```dockerfile block"
    for i, block in enumerate(blocks):
        tree = parse(block)
        assert tree.to_source() == block
        assert tree.instructions, f"{r.code}: example {i + 1} has no instruction"
        # A syntax rule's first example is the broken file it reports.
        if r.category == "syntax" and i == 0:
            continue
        errors = [*tree.errors, *(e for ins in tree.instructions for e in ins.errors)]
        assert not errors, f"{r.code}: example {i + 1} does not parse cleanly: {errors}"


# Rules that judge the Dockerfile text alone; others may need a build context or registries.
_TEXT_ONLY = frozenset({"syntax", "platform-flag", "platform-arg", "suppression"})


@pytest.mark.parametrize(
    "r", [r for r in RULES if r.category in _TEXT_ONLY], ids=lambda r: str(r.code)
)
def test_text_rule_examples_show_the_problem_and_its_cure(r: Rule) -> None:
    blocks = _BLOCK.findall(sections(r.docs)["Example"])
    # A suppression rule judges the others' diagnostics, so they must run too.
    settings = Settings(select=("DA",) if r.category == "suppression" else (r.code,))
    hits = [
        sum(d.code == r.code for d in check_text(block, settings).diagnostics) for block in blocks
    ]
    assert hits[0] > 0 and not any(hits[1:]), f"{r.code}: diagnostics per example: {hits}"
