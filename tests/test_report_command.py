"""``dockerarch report``: statuses per platform, the fix preview, HTML and Markdown output."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from dockerarch import cli
from dockerarch.diagnostics import Applicability, Severity
from dockerarch.engine import Settings
from dockerarch.platforms import Platform
from dockerarch.readiness import (
    OTHER,
    FileReadiness,
    Finding,
    FixPreview,
    Readiness,
    Status,
    Unchecked,
    assess,
    status,
)
from dockerarch.report_html import render_html, render_markdown

EXAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "examples"
AMD64, ARM64, ARMV7 = "linux/amd64", "linux/arm64", "linux/arm/v7"
UNFIXABLE = "FROM --platform=linux/amd64 alpine:3.19 AS app\n"
CLEAN = "FROM alpine:3.19\n"
HOSTILE = '<img src=x onerror="alert(1)">&amp;<script>alert(2)</script>'


def finding(
    severity: Severity = Severity.ERROR,
    platforms: tuple[str, ...] = (),
    fix: Applicability | None = None,
    *,
    category: str = "python",
    message: str = "m",
    path: str = "Dockerfile",
) -> Finding:
    return Finding("DA501", category, severity, message, path, 1, 1, platforms, fix)


def unfixed(findings: list[Finding], platforms: tuple[str, ...]) -> FixPreview:
    """A preview in which exactly the findings without an applicable fix are left."""
    left = [f for f in findings if not f.fixable]
    left_on = frozenset(p for p in platforms for f in left if f.counts_against(p))
    return FixPreview((), "", 0, 0, (), len(left), left_on, True, ())


def readiness(
    name: str, findings: list[Finding], platforms: tuple[str, ...] = (AMD64, ARM64)
) -> FileReadiness:
    return FileReadiness(name, None, platforms, tuple(findings), unfixed(findings, platforms))


# Statuses


def test_no_findings_is_ready() -> None:
    assert status([], ARM64) is Status.READY


def test_info_findings_never_change_a_status() -> None:
    assert status([finding(Severity.INFO)], ARM64) is Status.READY


def test_a_finding_for_one_platform_leaves_the_others_ready() -> None:
    found = [finding(platforms=(ARM64,), fix=Applicability.UNSAFE)]
    assert status(found, AMD64) is Status.READY
    assert status(found, ARM64) is Status.NEEDS_FIXES


def test_a_finding_for_no_named_platform_concerns_all() -> None:
    found = [finding(Severity.WARNING, fix=Applicability.SAFE)]
    assert status(found, AMD64) is status(found, ARMV7) is Status.NEEDS_FIXES


@pytest.mark.parametrize("fix", [None, Applicability.DISPLAY_ONLY])
def test_one_finding_without_an_applied_fix_blocks(fix: Applicability | None) -> None:
    found = [finding(fix=Applicability.SAFE), finding(Severity.WARNING, fix=fix)]
    assert status(found, ARM64) is Status.BLOCKED


def test_a_fixable_finding_left_after_fixing_blocks() -> None:
    # What decides is the fixed file: a fix that does not remove its finding blocks.
    found = [finding(platforms=(ARM64,), fix=Applicability.UNSAFE)]
    left = FixPreview((), "", 0, 0, (), 1, frozenset({ARM64}), True, ())
    assert status(found, ARM64, left) is Status.BLOCKED
    assert status(found, ARM64, unfixed(found, (ARM64,))) is Status.NEEDS_FIXES
    unsettled = FixPreview((), "", 0, 0, (), 0, frozenset(), False, ())
    assert status(found, ARM64, unsettled) is Status.BLOCKED


def test_an_unfixable_info_finding_does_not_block() -> None:
    found = [finding(fix=Applicability.SAFE), finding(Severity.INFO)]
    assert status(found, ARM64) is Status.NEEDS_FIXES


def test_a_platform_the_file_does_not_target_has_no_status() -> None:
    f = readiness("Dockerfile", [finding()], platforms=(AMD64,))
    assert f.status(ARM64) is None
    assert f.status(AMD64) is Status.BLOCKED


def test_overall_status_is_the_worst_platform() -> None:
    f = readiness("Dockerfile", [finding(platforms=(ARM64,), fix=Applicability.SAFE)])
    assert f.overall is Status.NEEDS_FIXES


def test_counts_by_category_count_an_all_platform_finding_on_each_targeted_platform() -> None:
    r = Readiness(
        (
            readiness("a", [finding(category="npm"), finding(platforms=(ARM64,))]),
            readiness("b", [finding(category="npm")], platforms=(ARM64, ARMV7)),
        )
    )
    assert r.platforms == (AMD64, ARM64, ARMV7)
    assert r.by_category() == {
        "npm": {AMD64: 1, ARM64: 2, ARMV7: 1},
        "python": {AMD64: 0, ARM64: 1, ARMV7: 0},
    }
    assert r.tally(ARMV7) == {Status.BLOCKED: 1}
    assert r.tally(AMD64) == {Status.BLOCKED: 1}


# Assessing real files


def copy_examples(tmp_path: Path) -> Path:
    root = tmp_path / "examples"
    shutil.copytree(EXAMPLES, root)
    return root


def test_assess_python_app_needs_fixes_on_arm64_only(tmp_path: Path) -> None:
    app = copy_examples(tmp_path) / "python-app"
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in app.iterdir()}
    f, _ = assess(
        "python-app/Dockerfile",
        (app / "Dockerfile").read_text(),
        Settings(),
        path=app / "Dockerfile",
        context_dir=app,
        cwd=tmp_path / "examples",
    )
    assert (f.status(AMD64), f.status(ARM64)) == (Status.READY, Status.NEEDS_FIXES)
    # The pin removes the source build, so DA701 does not also ask for a compiler.
    assert f.categories() == {"python": 1}
    # The Python finding is reported at its requirements line.
    assert {x.path for x in f.findings} == {"python-app/requirements.txt"}
    assert dict(f.fix.applied) == {"DA501": 1}
    assert f.fix.files == ("python-app/requirements.txt",)
    assert "+numpy==1.19.0" in f.fix.diff.splitlines()
    assert f.fix.added == sum(
        1 for line in f.fix.diff.splitlines() if line.startswith("+") and not line.startswith("+++")
    )
    assert (f.fix.remaining, f.fix.converged) == (0, True)
    # Previewing writes nothing.
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in app.iterdir()} == before


def test_assess_unfixable_finding_blocks_every_platform(tmp_path: Path) -> None:
    f, _ = assess(
        "Dockerfile",
        UNFIXABLE,
        Settings(platforms=(Platform.parse(AMD64), Platform.parse(ARM64))),
        path=None,
        context_dir=None,
        cwd=tmp_path,
    )
    assert [x.code for x in f.findings] == ["DA101"]
    assert (f.status(AMD64), f.status(ARM64)) == (Status.BLOCKED, Status.BLOCKED)
    assert not f.fix.changed
    assert f.fix.remaining == 1
    assert f.repository is None


def test_repository_is_the_nearest_directory_with_git(tmp_path: Path) -> None:
    (tmp_path / "one" / ".git").mkdir(parents=True)
    (tmp_path / "one" / "deep" / "svc").mkdir(parents=True)
    (tmp_path / "two").mkdir()
    (tmp_path / "two" / ".git").write_text("gitdir: ../elsewhere\n")
    found = {}
    for where in ("one/deep/svc", "two", "."):
        dockerfile = tmp_path / where / "Dockerfile"
        dockerfile.write_text(CLEAN)
        f, _ = assess(where, CLEAN, Settings(), path=dockerfile, context_dir=None, cwd=tmp_path)
        found[where] = f.repository
    assert found == {"one/deep/svc": "one", "two": "two", ".": None}


# HTML


class Page(HTMLParser):
    """Tags and attributes of a page, and whether its elements nest properly."""

    VOID = frozenset({"meta", "br", "wbr", "rect", "hr", "img", "input", "link"})

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.text: list[str] = []
        self.style = ""
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID and (not self.stack or self.stack[-1] != tag):
            return
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(f"unexpected </{tag}>")

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] == "style":
            self.style += data
        self.text.append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for t, attrs in self.tags if t == tag]


def sample() -> Readiness:
    evil = FileReadiness(
        name=f"svc/{HOSTILE}/Dockerfile",
        repository=None,
        platforms=(AMD64, ARM64),
        findings=(
            finding(message=HOSTILE, category="base-image", path=f"svc/{HOSTILE}/Dockerfile"),
            finding(platforms=(ARM64,), fix=Applicability.UNSAFE, path=f"req-{HOSTILE}.txt"),
        ),
        fix=FixPreview(
            (("DA501", 1),),
            f"--- a\n+++ a\n@@ -1 +1 @@\n-{HOSTILE}\n+```{HOSTILE}\n",
            1,
            1,
            ("a",),
            1,
            frozenset({AMD64, ARM64}),
            True,
            (),
        ),
        warnings=(f"registry did not answer for {HOSTILE}",),
    )
    clean = readiness("clean/Dockerfile", [], platforms=(AMD64,))
    return Readiness((evil, clean), (Unchecked(f"bad/{HOSTILE}", "cannot read: permission"),))


def test_html_is_well_formed_self_contained_and_scriptless() -> None:
    text = render_html(sample())
    page = Page(text)
    assert page.errors == [] and page.stack == []
    for tag in ("script", "link", "img", "iframe", "object", "embed", "base", "form"):
        assert page.all(tag) == [], tag
    assert not any(k.startswith("on") for _, attrs in page.tags for k in attrs)
    assert "url(" not in page.style and "@import" not in page.style
    # Links go to rule docs or within the page; nothing is loaded from anywhere.
    for attrs in page.all("a"):
        href = attrs["href"] or ""
        assert href.startswith(("https://", "#")), href
    assert not any("src" in attrs for _, attrs in page.tags)
    viewport = [m for m in page.all("meta") if m.get("name") == "viewport"]
    assert viewport and "width=device-width" in (viewport[0]["content"] or "")


def test_html_content_security_policy_admits_exactly_its_own_style() -> None:
    page = Page(render_html(sample()))
    policy = next(
        m["content"] or ""
        for m in page.all("meta")
        if m.get("http-equiv") == "Content-Security-Policy"
    )
    digest = base64.b64encode(hashlib.sha256(page.style.encode("utf-8")).digest()).decode()
    assert "default-src 'none'" in policy
    assert f"style-src 'sha256-{digest}'" in policy
    assert "script-src" not in policy


def test_html_escapes_everything_from_the_input() -> None:
    text = render_html(sample())
    assert "<script" not in text and "<img" not in text and 'onerror="' not in text
    page = Page(text)
    shown = "".join(page.text)
    # Escaped, not dropped: the reader sees the names and messages as they are.
    assert f"svc/{HOSTILE}/Dockerfile" in shown
    assert f"{HOSTILE} " in shown
    assert f"req-{HOSTILE}.txt:1:1" in shown
    assert f"-{HOSTILE}" in shown
    assert f"bad/{HOSTILE}" in shown
    assert f"warning: registry did not answer for {HOSTILE}" in shown


def test_html_table_cells_carry_labels_for_the_phone_layout() -> None:
    page = Page(render_html(sample()))
    labels = [attrs.get("data-label") for attrs in page.all("td") if "data-label" in attrs]
    assert labels == [AMD64, ARM64, "Findings", "What fix would change"] * 2
    assert "@media (max-width:600px)" in page.style


def test_html_marks_untargeted_platforms_and_statuses() -> None:
    shown = "".join(Page(render_html(sample())).text)
    assert shown.count("✕ blocked") >= 2
    assert "✓ ready" in shown
    assert "—" in shown


def test_chart_has_one_bar_per_category_and_platform() -> None:
    r = sample()
    page = Page(render_html(r))
    titles = [t for t in page.text if " on linux/" in t]
    assert titles == [
        "base-image on linux/amd64: 1 finding",
        "base-image on linux/arm64: 1 finding",
        "python on linux/amd64: 0 findings",
        "python on linux/arm64: 1 finding",
    ]


def test_html_without_findings_says_so() -> None:
    text = render_html(Readiness((readiness("Dockerfile", []),)))
    assert "No findings." in text
    assert '<svg class="chart"' not in text


def test_unknown_rule_category_is_other() -> None:
    r = Readiness((readiness("Dockerfile", [finding(category=OTHER)]),))
    assert list(r.by_category()) == [OTHER]


# Markdown


def outside_code(markdown: str) -> str:
    """The Markdown with inline code spans and fenced blocks removed."""
    markdown = re.sub(r"^(`{3,})diff\n.*?^\1$", "", markdown, flags=re.S | re.M)
    return re.sub(r"(`+).*?\1", "", markdown)


def test_markdown_escapes_input_outside_code() -> None:
    text = render_markdown(sample())
    rest = outside_code(text)
    # A backslash makes < literal text in Markdown.
    assert not re.search(r"(?<!\\)<(script|img)", rest)
    assert r'\<img src=x onerror="alert(1)"\>\&amp;\<script\>alert(2)\</script\>' in rest
    # The diff's own backticks do not end its fence early.
    assert "````diff\n" in text


def test_markdown_table_cells_keep_their_columns() -> None:
    r = Readiness((readiness("a|b/Dockerfile", [finding(message="x | y")]),))
    text = render_markdown(r)
    row = next(line for line in text.splitlines() if line.startswith("| `a"))
    assert len(re.split(r"(?<!\\)\|", row)) == len(
        re.split(r"(?<!\\)\|", text.splitlines()[text.splitlines().index(row) - 2])
    )


# The command


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def report(monkeypatch: pytest.MonkeyPatch, cwd: Path, *args: str) -> int:
    monkeypatch.chdir(cwd)
    return cli.main(["report", "--isolated", *args])


def test_command_writes_html_and_exits_0_with_findings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    copy_examples(tmp_path)
    code = report(monkeypatch, tmp_path, "examples", "--output", "out/report.html")
    captured = capsys.readouterr()
    assert (code, captured.out, captured.err) == (0, "", "")
    page = Page((tmp_path / "out" / "report.html").read_text())
    shown = "".join(page.text)
    assert "examples/python-app/Dockerfile" in shown
    assert "examples/laptop-service/Dockerfile" in shown
    assert "+numpy==1.19.0" in shown
    rows = [attrs for attrs in page.all("td") if attrs.get("data-label") == ARM64]
    assert len(rows) == 2


def test_command_markdown_by_suffix_and_by_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "Dockerfile", UNFIXABLE)
    assert report(monkeypatch, tmp_path, "-o", "readiness.md") == 0
    from_file = (tmp_path / "readiness.md").read_text()
    assert from_file.startswith("# Platform readiness\n")
    assert "| `Dockerfile` | ⛔ blocked | ⛔ blocked |" in from_file
    assert report(monkeypatch, tmp_path, "--format", "markdown") == 0
    assert capsys.readouterr().out == from_file
    assert report(monkeypatch, tmp_path) == 0
    assert capsys.readouterr().out.startswith("<!DOCTYPE html>")


def test_command_reports_bad_files_and_keeps_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "good" / "Dockerfile", CLEAN)
    write(tmp_path / "bad" / "Dockerfile", b"FROM alpine\n\xff\n")
    code = report(monkeypatch, tmp_path, ".", "-o", "report.md")
    err = capsys.readouterr().err
    assert code == 2
    assert err == "dockerarch: bad/Dockerfile: not valid UTF-8: byte 0xff at line 2, byte 1\n"
    text = (tmp_path / "report.md").read_text()
    assert "| `good/Dockerfile` | ✅ ready | ✅ ready |" in text
    assert "- `bad/Dockerfile`: not valid UTF-8: byte 0xff at line 2, byte 1" in text


def test_command_path_with_markup_is_escaped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "<script>alert(1)<" / "Dockerfile", UNFIXABLE)
    assert report(monkeypatch, tmp_path, ".", "-o", "report.html") == 0
    text = (tmp_path / "report.html").read_text()
    assert "<script" not in text
    assert "&lt;script&gt;alert(1)&lt;/<wbr>Dockerfile" in text


def test_command_groups_a_directory_of_repositories(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for repo in ("api", "web"):
        (tmp_path / repo / ".git").mkdir(parents=True)
        write(tmp_path / repo / "Dockerfile", CLEAN)
    assert report(monkeypatch, tmp_path, ".", "-o", "report.html") == 0
    page = Page((tmp_path / "report.html").read_text())
    groups = [a for a in page.all("th") if a.get("scope") == "colgroup"]
    assert len(groups) == 2
    assert "2 Dockerfiles in 2 repositories" in "".join(page.text)
    assert report(monkeypatch, tmp_path, ".", "-o", "report.md") == 0
    assert "| `api` | `api/Dockerfile` |" in (tmp_path / "report.md").read_text()


def test_command_configuration_error_writes_no_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "Dockerfile", CLEAN)
    code = report(monkeypatch, tmp_path, "--platform", "linux/", "-o", "report.html")
    assert code == 2
    assert capsys.readouterr().err.startswith("dockerarch: ")
    assert not (tmp_path / "report.html").exists()


def test_command_uses_each_files_platforms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "Dockerfile", CLEAN)
    code = report(monkeypatch, tmp_path, "--platform", "linux/amd64,linux/arm/v7", "-o", "r.md")
    assert code == 0
    assert "| `Dockerfile` | ✅ ready | ✅ ready |" in (tmp_path / "r.md").read_text()
    assert "`linux/arm/v7`" in (tmp_path / "r.md").read_text()


def test_command_creates_the_output_directory_or_says_why_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "Dockerfile", CLEAN)
    assert report(monkeypatch, tmp_path, "Dockerfile", "-o", "artifacts/arm64/index.html") == 0
    assert (tmp_path / "artifacts" / "arm64" / "index.html").read_text().startswith("<!DOCTYPE")
    capsys.readouterr()
    assert report(monkeypatch, tmp_path, "Dockerfile", "-o", "Dockerfile/index.html") == 2
    assert capsys.readouterr().err == "dockerarch: Dockerfile: cannot create: file exists\n"
    assert (tmp_path / "Dockerfile").read_text() == CLEAN


def test_command_reads_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(UNFIXABLE.encode())))
    assert report(monkeypatch, tmp_path, "-", "--format", "markdown") == 0
    assert "| `-` | ⛔ blocked | ⛔ blocked |" in capsys.readouterr().out
