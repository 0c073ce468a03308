"""docs/rules.md is current, and every rule's URL lands on its section there."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from dockerarch.diagnostics import Severity
from dockerarch.engine import Rule, load_rules
from tests.scripts import load_script

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "rules.md"


GEN = load_script("gen_rule_docs")


def anchors(markdown: str) -> set[str]:
    """Heading anchors as GitHub makes them: lower case, punctuation dropped, spaces to dashes."""
    found: set[str] = set()
    fenced = False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and (heading := re.match(r"#{1,6} (.+)", line)):
            slug = re.sub(r"[^\w\- ]", "", heading[1].strip().lower()).replace(" ", "-")
            found.add(slug)
    return found


def test_page_is_current(tmp_path: Path) -> None:
    fresh = tmp_path / "rules.md"
    assert GEN.main(["--output", str(fresh)]) == 0
    assert PAGE.exists(), f"{PAGE} is missing: run `{GEN.COMMAND}`"
    assert PAGE.read_text(encoding="utf-8") == fresh.read_text(encoding="utf-8"), (
        f"{PAGE.relative_to(ROOT)} is stale: run `{GEN.COMMAND}` and commit the result"
    )


@pytest.mark.parametrize("r", load_rules(), ids=lambda r: str(r.code))
def test_rule_url_points_at_its_section(r: Rule) -> None:
    url = urlsplit(r.url)
    assert url.path.endswith("/docs/rules.md"), r.url
    page = GEN.render(load_rules())
    assert url.fragment in anchors(page), f"{r.code}: no heading makes the anchor #{url.fragment}"
    section = page.split(f"\n## {r.code}\n", 1)[1].split("\n## ", 1)[0]
    assert r.summary in section and r.name in section and r.category in section


def _fake_rule(docs: str) -> Rule:
    return Rule(
        code="DA999",
        name="fake-rule",
        summary="A summary | with a pipe.",
        category="syntax",
        severity=Severity.WARNING,
        docs=docs,
        fixable=False,
        check=lambda ctx: iter(()),
    )


def test_doc_headings_nest_under_the_rule_but_code_blocks_stay() -> None:
    docs = (
        "## What it does\nx\n## Why it matters\ny\n## Example\n"
        "```dockerfile\n## not a heading\nFROM alpine\n```\n"
        "## Fix\nz\n## Fix safety\nNo automatic fix."
    )
    page = GEN.render([_fake_rule(docs)])
    assert "\n### What it does\n" in page and "\n### Fix safety\n" in page
    assert "\n## not a heading\n" in page
    assert "\n## What it does" not in page
    assert "A summary \\| with a pipe." in page
    assert "da999" in anchors(page)
