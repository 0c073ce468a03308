"""Every rule against its fixture cases (format: fixtures/README.md).

One parametrised test walks ``fixtures/DA???/<case>/``: it checks the
case's Dockerfile, keeps the diagnostics of that folder's code, compares
them with ``expected.json`` and, when they carry fixes, compares the text
after applying every safe and unsafe fix with ``fixed.Dockerfile``.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dockerarch.diagnostics import Applicability, Diagnostic, Edit
from dockerarch.engine import Result, Settings, check_text, load_rules, rule_by_code
from dockerarch.fixer import apply_edits
from dockerarch.platforms import Platform

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
_CODE_DIR = re.compile(r"DA\d{3}\Z")
_DOCKERFILE = re.compile(r"(Dockerfile|Containerfile)(\..+)?\Z|.+\.[Dd]ockerfile\Z")
_KEYS = {"code", "line", "column", "end_line", "end_column", "message_contains", "severity"}
_SETTINGS_KEYS = {"select", "ignore", "platforms"}
MIN_CASES = 3


@dataclass(frozen=True)
class Case:
    code: str
    folder: Path

    @property
    def id(self) -> str:
        return f"{self.code}/{self.folder.name}"

    def dockerfile(self) -> Path:
        """The case's Dockerfile: the one at the top, else the only one below."""
        for candidates in (self.folder.iterdir(), self.folder.rglob("*")):
            found = sorted(
                p
                for p in candidates
                if p.is_file()
                and _DOCKERFILE.match(p.name)
                and p.name != "fixed.Dockerfile"
                and "fixed" not in p.relative_to(self.folder).parts[:-1]
            )
            if len(found) > 1:
                pytest.fail(f"{self.id}: several Dockerfiles: {[str(p) for p in found]}")
            if found:
                return found[0]
        pytest.fail(f"{self.id}: no Dockerfile (Dockerfile, Dockerfile.*, *.Dockerfile)")

    def settings(self) -> Settings:
        path = self.folder / "settings.json"
        raw: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
        unknown = set(raw) - _SETTINGS_KEYS
        assert not unknown, f"{self.id}: unknown settings.json keys {sorted(unknown)}"
        rule = rule_by_code(self.code)
        # A suppression rule judges the other rules' diagnostics, so it runs with all of them.
        default = ("DA",) if rule is not None and rule.category == "suppression" else (self.code,)
        settings = Settings(
            select=tuple(raw.get("select", default)), ignore=tuple(raw.get("ignore", ()))
        )
        if "platforms" in raw:
            settings.platforms = tuple(Platform.parse(p) for p in raw["platforms"])
        return settings


def discover(root: Path = FIXTURES) -> list[Case]:
    return [
        Case(code_dir.name, case_dir)
        for code_dir in sorted(root.iterdir())
        if code_dir.is_dir() and _CODE_DIR.match(code_dir.name)
        for case_dir in sorted(code_dir.iterdir())
        if case_dir.is_dir()
    ]


CASES = discover()


def read_text(path: Path) -> str:
    """The file's text with its line endings untouched."""
    return path.read_bytes().decode("utf-8")


def check_case(case: Case) -> tuple[Path, str, Result]:
    path = case.dockerfile()
    text = read_text(path)
    return path, text, check_text(text, case.settings(), path=path, context_dir=case.folder)


def as_expected(result: Result, diags: Iterable[Diagnostic]) -> list[dict[str, Any]]:
    out = []
    for d in diags:
        start = result.tree.lines.position(d.span.start)
        end = result.tree.lines.position(d.span.end)
        out.append(
            {
                "code": d.code,
                "line": start.line,
                "column": start.column,
                "end_line": end.line,
                "end_column": end.column,
                "severity": d.severity.value,
                "message": d.message,
            }
        )
    return out


def matches(expected: dict[str, Any], actual: dict[str, Any]) -> bool:
    for key, value in expected.items():
        if key == "message_contains":
            if value not in actual["message"]:
                return False
        elif actual[key] != value:
            return False
    return True


def fix_edits(diags: Sequence[Diagnostic], context_dir: Path) -> dict[Path | None, list[Edit]]:
    """Edits of every applicable fix, grouped by file (None: the Dockerfile)."""
    by_file: dict[Path | None, list[Edit]] = {}
    for d in diags:
        if d.fix is None or d.fix.applicability is Applicability.DISPLAY_ONLY:
            continue
        for edit in d.fix.edits:
            key = None if edit.path is None else (context_dir / edit.path).resolve()
            by_file.setdefault(key, []).append(edit)
    return by_file


def diff(expected: str, actual: str, name: str) -> str:
    lines = difflib.unified_diff(
        expected.splitlines(keepends=True),
        actual.splitlines(keepends=True),
        f"{name} (expected)",
        f"{name} (actual)",
        lineterm="",
    )
    # repr keeps \r, tabs and trailing blanks visible.
    out = [line if line[:3] in ("---", "+++", "@@ ") else repr(line)[1:-1] for line in lines]
    return "\n".join(out) or "(no line differs)"


def describe(actual: list[dict[str, Any]], lines: list[str]) -> str:
    out = []
    for a in actual:
        src = lines[a["line"] - 1].rstrip("\r\n") if a["line"] <= len(lines) else ""
        out.append(f"  {a['line']}:{a['column']} {a['severity']} {a['message']}\n    | {src}")
    return "\n".join(out) or "  (none)"


def test_fixtures_exist() -> None:
    assert CASES, f"no fixture cases under {FIXTURES}"


def test_fixture_folders_are_known_rules() -> None:
    codes = {r.code for r in load_rules()}
    stray = sorted({c.code for c in CASES} - codes)
    assert not stray, f"fixture folders for codes no loaded rule has: {stray}"


def test_every_rule_has_enough_cases() -> None:
    """At least MIN_CASES triggering and MIN_CASES must-not-trigger cases per rule."""
    # CI-file rules (category emulation) have their cases in tests/data/workflows/,
    # walked by tests/test_workflows.py: they have no Dockerfile fixtures.
    counts = {r.code: [0, 0] for r in load_rules() if r.category != "emulation"}
    for case in CASES:
        expected = case.folder / "expected.json"
        if case.code in counts and expected.exists():
            counts[case.code][not json.loads(expected.read_text())] += 1
    short = {c: n for c, n in counts.items() if min(n) < MIN_CASES}
    assert not short, f"rules with fewer than {MIN_CASES} [triggering, clean] cases: {short}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fixture(case: Case) -> None:
    expected_path = case.folder / "expected.json"
    if not expected_path.exists():
        pytest.fail(f"{case.id}: missing expected.json (use [] for no diagnostics)")
    expected = json.loads(expected_path.read_text())
    assert isinstance(expected, list), f"{case.id}: expected.json must hold a list"
    for entry in expected:
        unknown = set(entry) - _KEYS
        assert not unknown, f"{case.id}: unknown keys {sorted(unknown)} in {entry}"
        assert entry.get("code") == case.code, f"{case.id}: entry for another code: {entry}"

    path, text, result = check_case(case)
    diags = [d for d in result.diagnostics if d.code == case.code]
    order = ("line", "column", "end_line", "end_column")
    actual = sorted(as_expected(result, diags), key=lambda a: tuple(a[k] for k in order))
    expected.sort(key=lambda e: tuple(e.get(k, 0) for k in order))
    if len(expected) != len(actual) or not all(map(matches, expected, actual)):
        wanted = json.dumps(expected, indent=2).splitlines(keepends=True)
        got = json.dumps(actual, indent=2).splitlines(keepends=True)
        pytest.fail(
            f"{case.id}: diagnostics differ from expected.json\n"
            + "".join(difflib.unified_diff(wanted, got, "expected.json", "actual"))
            + "\nactual:\n"
            + describe(actual, text.splitlines())
        )

    tree = result.tree
    edits = fix_edits(diags, case.folder)
    fixed_path = case.folder / "fixed.Dockerfile"
    if not edits:
        assert not fixed_path.exists(), f"{case.id}: fixed.Dockerfile but no applicable fix"
        return
    fixed = ("\ufeff" if tree.bom else "") + apply_edits(tree.text, edits.pop(None, []))
    if not fixed_path.exists():
        pytest.fail(f"{case.id}: fixes apply but fixed.Dockerfile is missing; they give:\n{fixed}")
    want = read_text(fixed_path)
    if fixed != want:
        pytest.fail(f"{case.id}: fixed text differs\n" + diff(want, fixed, "fixed.Dockerfile"))
    for other, other_edits in edits.items():
        assert other is not None
        rel = other.relative_to(case.folder.resolve())
        want_other = read_text(case.folder / "fixed" / rel)
        got_other = apply_edits(read_text(other), other_edits)
        if got_other != want_other:
            pytest.fail(f"{case.id}: fixed/{rel} differs\n" + diff(want_other, got_other, str(rel)))

    # A fix must settle the problem: the fixed file offers no further fix for the code.
    # Re-check in a copy of the build context with the fixed context files in place.
    context = case.folder
    if edits:
        import shutil
        import tempfile

        context = Path(tempfile.mkdtemp()) / case.folder.name
        shutil.copytree(case.folder, context)
        for other in edits:
            assert other is not None
            rel = other.relative_to(case.folder.resolve())
            shutil.copyfile(case.folder / "fixed" / rel, context / rel)
    again = check_text(
        fixed, case.settings(), path=context / path.relative_to(case.folder), context_dir=context
    )
    left = [d for d in again.diagnostics if d.code == case.code and d.fix is not None]
    assert not left, f"{case.id}: fixed.Dockerfile still triggers fixes: {left}"


def test_missing_expected_json_fails(tmp_path: Path) -> None:
    (tmp_path / "DA101" / "no-expectations").mkdir(parents=True)
    (tmp_path / "DA101" / "no-expectations" / "Dockerfile").write_text("FROM alpine\n")
    (case,) = discover(tmp_path)
    with pytest.raises(pytest.fail.Exception, match=r"missing expected\.json"):
        test_fixture(case)


def test_wrong_expectation_shows_a_diff(tmp_path: Path) -> None:
    folder = tmp_path / "DA101" / "pinned"
    folder.mkdir(parents=True)
    (folder / "Dockerfile").write_text("FROM --platform=linux/amd64 alpine\n")
    (folder / "expected.json").write_text("[]")
    (case,) = discover(tmp_path)
    with pytest.raises(pytest.fail.Exception, match=r'(?s)\+    "line": 1,.*\| FROM --platform'):
        test_fixture(case)
