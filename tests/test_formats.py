"""Every output format, rendered in-process from real and hand-made diagnostics."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockerarch.diagnostics import Applicability, Diagnostic, Edit, ExternalLocation, Fix, Severity
from dockerarch.engine import Settings, check_text, rule_by_code
from dockerarch.report import FileReport, Options, display_path, render, summary
from dockerarch.report.text import _CONTROLS, caret_line, char_width, clean, render_statistics
from dockerarch.syntax import Span, parse

FINDING = "FROM --platform=linux/amd64 alpine AS app\n"
SCHEMA = json.loads((Path(__file__).parent / "data/sarif-2.1.0.json").read_text())


def checked(text: str, name: str = "Dockerfile") -> FileReport:
    result = check_text(text, Settings(select=("DA101",)))
    return FileReport(name, result.tree, result.diagnostics)


def made(text: str, needle: str, name: str = "Dockerfile", **kw: object) -> FileReport:
    """A DA101 diagnostic on the first ``needle`` in ``text``."""
    start = text.index(needle)
    d = Diagnostic("DA101", f"found {needle}", Span(start, start + len(needle)), Severity.ERROR)
    return FileReport(name, parse(text), [replace(d, **kw)])  # type: ignore[arg-type]


def opts(tmp_path: Path, **kw: object) -> Options:
    return Options(cwd=tmp_path, **kw)  # type: ignore[arg-type]


# -- text ---------------------------------------------------------------------------


def test_text_snippet_and_summary(tmp_path: Path) -> None:
    out = render("text", [checked(FINDING)], opts(tmp_path))
    assert out.splitlines() == [
        "Dockerfile:1:6: DA101 FROM --platform=linux/amd64 pins stage 'app' to one platform; "
        "other targets build it emulated and get the wrong architecture",
        "  |",
        "1 | FROM --platform=linux/amd64 alpine AS app",
        "  |      ^^^^^^^^^^^^^^^^^^^^^^ DA101",
        "  |",
        "",
        "Found 1 problem.",
    ]


def test_carets_after_non_ascii_text(tmp_path: Path) -> None:
    # é precomposed, e + combining acute, two wide CJK characters, a tab.
    text = 'FROM alpine\nRUN echo "é e\u0301 日本\t" && curl -o /x https://h/tool-x86_64.tgz\n'
    out = render("text", [made(text, "x86_64")], opts(tmp_path)).splitlines()
    line = text.splitlines()[1]
    column = line.index("x86_64") + 1
    assert out[0] == f"Dockerfile:2:{column}: DA101 found x86_64"
    # Code points before the finding: 'RUN echo "' 10, 'é e\u0301 ' 5, '日本' 2, tab 1,
    # '" && curl -o /x https://h/tool-' 31.
    assert column == 10 + 5 + 2 + 1 + 31 + 1
    assert out[2] == '2 | RUN echo "é e\u0301 日本    " && curl -o /x https://h/tool-x86_64.tgz'
    # Terminal cells: the combining accent takes none, each CJK character two,
    # the tab the four spaces it is shown as.
    assert out[3] == "  | " + " " * (10 + 4 + 4 + 4 + 31) + "^^^^^^ DA101"


def test_clean_shows_every_control_character_and_nothing_else() -> None:
    assert all(not chr(c).isprintable() for c in _CONTROLS)
    assert clean("FROM x\x1b[31m\x7f\x85\t") == "FROM x\u241b[31m\u2421\ufffd\u2409"
    assert clean("plain 日本 é") == "plain 日本 é"
    assert clean("line\u2028sep") == "line\u2028sep"  # unprintable, but not a control


def test_char_width_of_ascii_is_what_unicodedata_says() -> None:
    import unicodedata

    for ch in map(chr, range(0x20, 0x7F)):
        assert unicodedata.combining(ch) == 0
        assert unicodedata.category(ch) not in ("Mn", "Me", "Cf")
        assert unicodedata.east_asian_width(ch) not in ("W", "F")
        assert char_width(ch) == 1
    assert char_width("\u0301") == 0  # combining acute accent
    assert char_width("\u200b") == 0  # zero width space (Cf)
    assert char_width("日") == 2


def test_caret_line_widths() -> None:
    assert caret_line("ab日本cd", 5, 7) == ("      ", "^^")
    assert caret_line("ab日本cd", 3, 5) == ("  ", "^^^^")
    assert caret_line("abc", 4, 4) == ("   ", "^")  # an empty span still gets a caret


def test_multiline_span_marks_to_end_of_first_line(tmp_path: Path) -> None:
    text = "FROM alpine\nRUN apt-get install \\\n    gcc-x86-64-linux-gnu\n"
    start = text.index("apt-get")
    end = text.index("gnu") + 3
    report = FileReport(
        "Dockerfile",
        parse(text),
        [Diagnostic("DA101", "m", Span(start, end), Severity.WARNING)],
    )
    out = render("text", [report], opts(tmp_path)).splitlines()
    assert out[2] == "2 | RUN apt-get install \\"
    assert out[3] == "  |     " + "^" * len("apt-get install \\") + " DA101"


def test_text_external_location_fix_and_notes(tmp_path: Path) -> None:
    text = "FROM python:3.12\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n"
    ext = ExternalLocation(Path("requirements.txt"), 3, 1, 3, 12)
    fix = Fix("pin a version with arm64 wheels", (), Applicability.SAFE)
    report = replace(
        made(text, "pip install", external=ext, fix=fix, notes=("no wheel for aarch64",)),
        context_dir=tmp_path,
    )
    out = render("text", [report], opts(tmp_path, verbose=True)).splitlines()
    assert out[0] == "requirements.txt:3:1: DA101 [*] found pip install"
    assert out[1] == "  in Dockerfile:3:5"
    assert out[3] == "3 | RUN pip install -r requirements.txt"
    assert "  = help: pin a version with arm64 wheels" in out
    assert "  = note: no wheel for aarch64" in out
    assert out[-1] == "Found 1 problem (1 fixable)."


def test_text_escapes_terminal_controls(tmp_path: Path) -> None:
    text = "FROM alpine\nRUN echo \x1b[31mred x86_64\n"
    out = render("text", [made(text, "x86_64")], opts(tmp_path))
    assert "\x1b" not in out
    assert "RUN echo \u241b[31mred x86_64" in out


def test_concise_and_colour(tmp_path: Path) -> None:
    out = render("concise", [checked(FINDING), checked("FROM alpine\n", "b")], opts(tmp_path))
    lines = out.splitlines()
    assert lines[0].startswith("Dockerfile:1:6: DA101 FROM --platform=linux/amd64 pins")
    assert lines[1:] == ["Found 1 problem."]
    coloured = render("concise", [checked(FINDING)], opts(tmp_path, color=True))
    assert "\x1b[1;31mDA101\x1b[0m" in coloured


def test_summaries() -> None:
    assert summary(0, 0) == "All checks passed!"
    assert summary(0, 0, 1) == "No problems found. 1 file could not be checked."
    assert summary(3, 1, 2) == "Found 3 problems (1 fixable). 2 files could not be checked."


def test_statistics(tmp_path: Path) -> None:
    files = [checked(FINDING, "a"), checked(FINDING, "b"), checked("FROM alpine\n", "c")]
    assert render_statistics(files, opts(tmp_path)) == "2\tDA101\t[ ] constant-platform-flag\n"


# -- JSON ---------------------------------------------------------------------------


def test_json_fields(tmp_path: Path) -> None:
    (item,) = json.loads(render("json", [checked(FINDING)], opts(tmp_path)))
    rule = rule_by_code("DA101")
    assert rule is not None
    assert item["code"] == "DA101"
    assert item["name"] == "constant-platform-flag"
    assert item["category"] == "platform-flag"
    assert item["severity"] == "error"
    assert item["filename"] == "Dockerfile"
    assert item["location"] == {"row": 1, "column": 6}
    assert item["end_location"] == {"row": 1, "column": 28}
    assert (item["fix"], item["url"], item["platforms"], item["related"]) == (
        None,
        rule.url,
        [],
        [],
    )


def test_json_fix_edits_and_external(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("flask\nnumpy==1.0\n")
    text = "FROM python:3.12\nRUN pip install -r requirements.txt\n"
    start = text.index("pip")
    fix = Fix(
        "upgrade numpy",
        (
            Edit(Span(start, start + 3), "python -m pip"),
            Edit(Span(13, 16), "1.26", path=Path("requirements.txt")),
        ),
        Applicability.UNSAFE,
    )
    ext = ExternalLocation(Path("requirements.txt"), 2, 1, 2, 11)
    report = replace(
        made(text, "pip", external=ext, fix=fix, platforms=("linux/arm64",)),
        context_dir=tmp_path,
    )
    (item,) = json.loads(render("json", [report], opts(tmp_path)))
    assert item["filename"] == "requirements.txt"
    assert (item["location"], item["end_location"]) == (
        {"row": 2, "column": 1},
        {"row": 2, "column": 11},
    )
    assert item["related"] == [
        {
            "filename": "Dockerfile",
            "location": {"row": 2, "column": 5},
            "end_location": {"row": 2, "column": 8},
        }
    ]
    assert item["platforms"] == ["linux/arm64"]
    assert item["fix"] == {
        "applicability": "unsafe",
        "message": "upgrade numpy",
        "edits": [
            {
                "content": "python -m pip",
                "filename": "Dockerfile",
                "location": {"row": 2, "column": 5},
                "end_location": {"row": 2, "column": 8},
            },
            {
                "content": "1.26",
                "filename": "requirements.txt",
                "location": {"row": 2, "column": 8},
                "end_location": {"row": 2, "column": 11},
            },
        ],
    }


# -- SARIF --------------------------------------------------------------------------


def sarif(files: list[FileReport], tmp_path: Path) -> dict[str, Any]:
    log: dict[str, Any] = json.loads(render("sarif", files, opts(tmp_path)))
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    return log


def test_sarif_validates_and_locates_exactly(tmp_path: Path) -> None:
    text = 'FROM alpine\nRUN echo "日本" && curl https://h/x86_64.tgz\n'
    fix = Fix(
        "use TARGETARCH",
        (Edit(Span(text.index("x86_64"), text.index(".tgz")), "$A"),),
        Applicability.SAFE,
    )
    log = sarif([checked(FINDING), made(text, "x86_64", name="svc/Dockerfile", fix=fix)], tmp_path)
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "dockerarch"
    codes = [r["id"] for r in driver["rules"]]
    rule = driver["rules"][codes.index("DA101")]
    assert rule["name"] == "constant-platform-flag"
    assert rule["defaultConfiguration"] == {"level": "error"}
    assert "## Why it matters" in rule["fullDescription"]["text"]
    assert rule["helpUri"].startswith("https://")
    assert run["columnKind"] == "unicodeCodePoints"
    first, second = run["results"]
    assert first["ruleId"] == "DA101" and first["ruleIndex"] == codes.index("DA101")
    assert first["level"] == "error"
    loc = first["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"] == {"uri": "Dockerfile", "uriBaseId": "%SRCROOT%"}
    assert loc["region"] == {"startLine": 1, "startColumn": 6, "endLine": 1, "endColumn": 28}
    region = second["locations"][0]["physicalLocation"]["region"]
    # 'RUN echo "' 10 + '日本' 2 + '" && curl https://h/' 20 code points precede it.
    assert region == {"startLine": 2, "startColumn": 33, "endLine": 2, "endColumn": 39}
    (change,) = second["fixes"][0]["artifactChanges"]
    assert change["artifactLocation"]["uri"] == "svc/Dockerfile"
    assert change["replacements"] == [
        {
            "deletedRegion": {"startLine": 2, "startColumn": 33, "endLine": 2, "endColumn": 39},
            "insertedContent": {"text": "$A"},
        }
    ]


def test_sarif_related_location_for_external(tmp_path: Path) -> None:
    ext = ExternalLocation(tmp_path / "req s.txt", 4, 2, 4, 9)
    log = sarif([made("FROM python\nRUN pip install x\n", "pip", external=ext)], tmp_path)
    (result,) = log["runs"][0]["results"]
    primary = result["locations"][0]["physicalLocation"]
    assert primary["artifactLocation"]["uri"] == "req%20s.txt"
    assert primary["region"] == {"startLine": 4, "startColumn": 2, "endLine": 4, "endColumn": 9}
    (related,) = result["relatedLocations"]
    assert related["physicalLocation"]["artifactLocation"]["uri"] == "Dockerfile"
    assert related["physicalLocation"]["region"]["startLine"] == 2


def test_sarif_empty_run_validates(tmp_path: Path) -> None:
    log = sarif([], tmp_path)
    assert log["runs"][0]["results"] == []


# -- CI formats ---------------------------------------------------------------------


def test_github_annotations(tmp_path: Path) -> None:
    out = render("github", [checked(FINDING, "a,b:c.Dockerfile")], opts(tmp_path))
    (line,) = out.splitlines()
    assert line.startswith(
        "::error file=a%2Cb%3Ac.Dockerfile,line=1,col=6,endLine=1,endColumn=28,title=DA101::"
        "FROM --platform=linux/amd64 pins"
    )
    warning = made(
        "FROM a\nRUN x\n",
        "x",
        severity=Severity.INFO,
    )
    assert render("github", [warning], opts(tmp_path)).startswith("::notice ")


def test_gitlab_code_quality(tmp_path: Path) -> None:
    text = "FROM alpine\nRUN x86_64\nRUN x86_64\n"
    first = text.index("x86_64")
    second = text.index("x86_64", first + 1)
    diags = [
        Diagnostic("DA101", "m", Span(first, first + 6), Severity.WARNING),
        Diagnostic("DA101", "m", Span(second, second + 6), Severity.WARNING),
    ]
    report = FileReport("Dockerfile", parse(text), diags)
    a, b = json.loads(render("gitlab", [report], opts(tmp_path)))
    assert a["check_name"] == "DA101"
    assert a["severity"] == "major"
    assert a["description"] == "DA101 m"
    assert a["location"] == {
        "path": "Dockerfile",
        "positions": {"begin": {"line": 2, "column": 5}, "end": {"line": 2, "column": 11}},
    }
    assert a["fingerprint"] != b["fingerprint"]
    # Moving the findings down a line keeps their fingerprints.
    moved = FileReport(
        "Dockerfile",
        parse("\n" + text),
        [replace(d, span=Span(d.span.start + 1, d.span.end + 1)) for d in diags],
    )
    again = json.loads(render("gitlab", [moved], opts(tmp_path)))
    assert [i["fingerprint"] for i in again] == [a["fingerprint"], b["fingerprint"]]
    severities = {
        s: json.loads(render("gitlab", [made("FROM a\n", "a", severity=s)], opts(tmp_path)))[0][
            "severity"
        ]
        for s in Severity
    }
    assert severities == {
        Severity.ERROR: "critical",
        Severity.WARNING: "major",
        Severity.INFO: "info",
    }


def test_junit_is_well_formed(tmp_path: Path) -> None:
    odd = made("FROM a\nRUN x\n", "x", name="odd<&>.Dockerfile", message="bell \x07 <b>")
    files = [checked(FINDING), checked("FROM alpine\n", "clean/Dockerfile"), odd]
    root = ET.fromstring(render("junit", files, opts(tmp_path)))
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures")) == ("3", "2")
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [
        "Dockerfile",
        "clean/Dockerfile",
        "odd<&>.Dockerfile",
    ]
    failing = suites[0].find("testcase")
    assert failing is not None
    failure = failing.find("failure")
    assert failure is not None and failure.get("type") == "DA101"
    assert failing.get("name") == "DA101 (constant-platform-flag) at 1:6"
    passing = suites[1].findall("testcase")
    assert len(passing) == 1 and passing[0].find("failure") is None
    odd_failure = suites[2].find("testcase/failure")
    assert odd_failure is not None and odd_failure.get("message") == "bell \ufffd <b>"


def test_checkstyle_is_well_formed(tmp_path: Path) -> None:
    files = [checked(FINDING), checked("FROM alpine\n", "clean/Dockerfile")]
    root = ET.fromstring(render("checkstyle", files, opts(tmp_path)))
    assert root.tag == "checkstyle"
    first, clean = root.findall("file")
    assert (first.get("name"), clean.get("name")) == ("Dockerfile", "clean/Dockerfile")
    (error,) = first.findall("error")
    assert error.attrib["line"] == "1" and error.attrib["column"] == "6"
    assert error.attrib["severity"] == "error"
    assert error.attrib["source"] == "dockerarch.DA101"
    assert clean.findall("error") == []


@pytest.mark.parametrize("fmt", ["json", "sarif", "gitlab"])
def test_machine_formats_keep_non_ascii(tmp_path: Path, fmt: str) -> None:
    out = render(fmt, [made("FROM a\nRUN é x\n", "x", message="über")], opts(tmp_path))
    assert "über" in out


def _pathlib_display_path(path: Path, cwd: Path) -> str:
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(cwd).as_posix()
    except ValueError:
        return absolute.as_posix()


_SEGMENT = st.sampled_from(["a", "b", "ab", "a.b", "..", ".", "", "x y", "é"])


@given(
    st.lists(_SEGMENT, max_size=5).map("/".join),
    st.sampled_from(["", "/", "//", "///", "/a/", "a/", "/a/b/"]),
    st.sampled_from(["/", "/a", "/a/b", "/ab", "//a", "/tmp"]),
)
def test_display_path_is_what_pathlib_says(rest: str, lead: str, cwd: str) -> None:
    """display_path works on strings for speed; it gives pathlib's answer, "//" roots
    and ".." included."""
    path = lead + rest or "."
    assert display_path(Path(path), Path(cwd)) == _pathlib_display_path(Path(path), Path(cwd))
