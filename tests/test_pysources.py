"""Tests for dockerarch.pysources: pip command lines, requirements and project files."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.version import Version

from dockerarch.pysources import (
    Arg,
    IndexOptions,
    PyRequirement,
    RequirementsResult,
    is_requirements_name,
    parse_pip_install,
    pip_install_args,
    poetry_specifier,
    read_project_file,
    read_requirements_file,
)
from dockerarch.syntax.positions import LineIndex

DATA = Path(__file__).parent / "data" / "pysources"


def by_raw(result: RequirementsResult) -> dict[str, PyRequirement]:
    return {r.raw: r for r in result.requirements}


def source_of(req: PyRequirement) -> str:
    assert req.file is not None
    return req.file.read_text(encoding="utf-8")[req.offset : req.end_offset]


def where(req: PyRequirement) -> tuple[int, int, int, int]:
    return req.line, req.column, req.end_line, req.end_column


def assert_positions_consistent(req: PyRequirement) -> None:
    assert req.file is not None
    text = req.file.read_text(encoding="utf-8")
    index = LineIndex(text)
    start, end = index.position(req.offset), index.position(req.end_offset)
    assert (start.line, start.column, end.line, end.column) == where(req)


# --------------------------------------------------------------------------- requirements files


@pytest.fixture(scope="module")
def app_reqs() -> RequirementsResult:
    return read_requirements_file(Path("reqs/requirements.txt"), DATA)


@pytest.mark.parametrize(
    ("raw", "position", "source", "name", "pin", "specifier", "origin"),
    [
        (
            "numpy==1.18.5",
            (7, 1, 7, 14),
            "numpy==1.18.5",
            "numpy",
            "1.18.5",
            "==1.18.5",
            "reqs/requirements.txt",
        ),
        (
            'scipy >= 1.5 ; python_version >= "3.8"',
            (8, 1, 8, 39),
            'scipy >= 1.5 ; python_version >= "3.8"',
            "scipy",
            None,
            ">=1.5",
            "reqs/requirements.txt",
        ),
        (
            "requests[socks,security]~=2.31",
            (11, 1, 11, 31),
            "requests[socks,security]~=2.31",
            "requests",
            None,
            "~=2.31",
            "reqs/requirements.txt",
        ),
        # Joined across a continuation: the span covers the backslash-newline.
        (
            "pandas==2.0.3",
            (12, 1, 13, 8),
            "pandas\\\n==2.0.3",
            "pandas",
            "2.0.3",
            "==2.0.3",
            "reqs/requirements.txt",
        ),
        (
            "six==1.16.0",
            (1, 1, 1, 12),
            "six==1.16.0",
            "six",
            "1.16.0",
            "==1.16.0",
            "reqs/requirements/base.txt",
        ),
        # Nested -r is relative to the including file, not to the context.
        ("attrs>=23", (1, 1, 1, 10), "attrs>=23", "attrs", None, ">=23", "reqs/shared.txt"),
        ("urllib3<2", (2, 1, 2, 10), "urllib3<2", "urllib3", None, "<2", "reqs/constraints.txt"),
        (
            "git+https://github.com/example/tool.git@v1#egg=example-tool",
            (16, 4, 16, 63),
            "git+https://github.com/example/tool.git@v1#egg=example-tool",
            "example-tool",
            None,
            "",
            "reqs/requirements.txt",
        ),
        (
            "wheelpkg @ https://files.example/wheelpkg-1.2.0-cp311-cp311-manylinux_2_17_x86_64.whl",
            (17, 1, 17, 86),
            "wheelpkg @ https://files.example/wheelpkg-1.2.0-cp311-cp311-manylinux_2_17_x86_64.whl",
            "wheelpkg",
            "1.2.0",
            "",
            "reqs/requirements.txt",
        ),
        (
            "./vendor/localpkg-0.3.tar.gz",
            (18, 1, 18, 29),
            "./vendor/localpkg-0.3.tar.gz",
            "localpkg",
            "0.3",
            "",
            "reqs/requirements.txt",
        ),
        (
            "torch==${TORCH_VERSION}",
            (19, 1, 19, 24),
            "torch==${TORCH_VERSION}",
            "torch",
            None,
            "",
            "reqs/requirements.txt",
        ),
    ],
)
def test_requirements_file_entries(
    app_reqs: RequirementsResult,
    raw: str,
    position: tuple[int, int, int, int],
    source: str,
    name: str,
    pin: str | None,
    specifier: str,
    origin: str,
) -> None:
    req = by_raw(app_reqs)[raw]
    assert where(req) == position
    assert source_of(req) == source
    assert req.name == name
    assert req.pin == (Version(pin) if pin else None)
    assert str(req.specifier) == specifier
    assert req.origin == origin
    assert_positions_consistent(req)


def test_requirements_file_details(app_reqs: RequirementsResult) -> None:
    reqs = by_raw(app_reqs)
    scipy = reqs['scipy >= 1.5 ; python_version >= "3.8"']
    assert scipy.hashes == ("sha256:aaaa", "sha256:bbbb")
    assert str(scipy.marker) == 'python_version >= "3.8"'
    assert reqs["requests[socks,security]~=2.31"].extras == {"socks", "security"}
    assert reqs["urllib3<2"].constraint and not reqs["six==1.16.0"].constraint
    tool = reqs["git+https://github.com/example/tool.git@v1#egg=example-tool"]
    assert tool.editable and not tool.pep508 and tool.url is not None
    assert reqs["./vendor/localpkg-0.3.tar.gz"].pep508 is False
    assert reqs["torch==${TORCH_VERSION}"].pep508 is False
    uvloop = reqs['uvloop; sys_platform != "win32" and platform_machine == "x86_64"']
    assert uvloop.marker is not None
    assert uvloop.marker.evaluate({"sys_platform": "linux", "platform_machine": "x86_64"})
    assert not uvloop.marker.evaluate({"sys_platform": "linux", "platform_machine": "aarch64"})
    # Source order, includes expanded where they appear.
    assert [r.name for r in app_reqs.requirements][:8] == [
        "numpy", "scipy", "requests", "pandas", "six", "attrs", "urllib3", "example-tool"
    ]  # fmt: skip


def test_requirements_file_options_and_issues(app_reqs: RequirementsResult) -> None:
    options = app_reqs.options
    assert options.index_url == "https://pypi.example/simple"
    assert options.extra_index_urls == ["https://extra.example/simple"]
    assert options.no_binary == {":all:"}
    assert options.only_binary == {"numpy", "scipy"}
    assert options.allowed_formats("numpy") == {"binary"}
    assert options.allowed_formats("lxml") == {"source"}
    # ${VAR} is expected in requirements files; only the real garbage is reported.
    assert [(i.file.name if i.file else None, i.line, i.column) for i in app_reqs.issues] == [
        ("requirements.txt", 20, 1)
    ]
    assert "not a requirement!" in app_reqs.issues[0].message
    assert [p.relative_to(DATA.resolve()).as_posix() for p in app_reqs.files] == [
        "reqs/requirements.txt",
        "reqs/requirements/base.txt",
        "reqs/shared.txt",
        "reqs/constraints.txt",
    ]


def test_indirect_cycle_is_reported_once_and_terminates() -> None:
    result = read_requirements_file(Path("cycle/a.txt"), DATA)
    assert [r.raw for r in result.requirements] == ["alpha==1", "beta==2", "gamma==3"]
    assert len(result.issues) == 1
    issue = result.issues[0]
    assert issue.file is not None and issue.file.name == "c.txt"
    assert (issue.line, issue.column) == (2, 15)
    assert "cycle/a.txt -> cycle/b.txt -> cycle/sub/c.txt -> cycle/a.txt" in issue.message


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return path


def test_direct_self_include(tmp_path: Path) -> None:
    write(tmp_path / "r.txt", "a==1\n-r ./r.txt\n")
    result = read_requirements_file(Path("r.txt"), tmp_path)
    assert [r.raw for r in result.requirements] == ["a==1"]
    assert [(i.line, i.column) for i in result.issues] == [(2, 4)]
    assert "cycle" in result.issues[0].message


def test_diamond_includes_are_not_cycles(tmp_path: Path) -> None:
    write(tmp_path / "top.txt", "-r left.txt\n-r right.txt\n")
    write(tmp_path / "left.txt", "-r common.txt\n")
    write(tmp_path / "right.txt", "-r common.txt\n")
    write(tmp_path / "common.txt", "six\n")
    result = read_requirements_file(Path("top.txt"), tmp_path)
    assert [r.raw for r in result.requirements] == ["six", "six"]
    assert result.issues == []


@pytest.fixture
def context_with_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Path, list[Path]]:
    context = tmp_path / "context"
    secret = write(tmp_path / "secret.txt", "leaked==1.0\n")
    write(context / "requirements.txt", "ok==1\n-r ../secret.txt\n-r link.txt\n-c /etc/passwd\n")
    os.symlink(secret, context / "link.txt")
    opened: list[Path] = []
    real_read_bytes = Path.read_bytes

    def spy(self: Path) -> bytes:
        opened.append(self.resolve())
        return real_read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", spy)
    return context, secret, opened


def test_files_outside_the_context_are_never_read(
    context_with_secret: tuple[Path, Path, list[Path]],
) -> None:
    context, secret, opened = context_with_secret
    result = read_requirements_file(Path("requirements.txt"), context)
    assert [r.raw for r in result.requirements] == ["ok==1"]
    assert secret.resolve() not in opened
    assert opened == [(context / "requirements.txt").resolve()]
    assert [(i.line, i.column) for i in result.issues] == [(2, 4), (3, 4), (4, 4)]
    assert "outside the build context" in result.issues[0].message
    assert "outside the build context" in result.issues[1].message
    assert "refers to the image" in result.issues[2].message


def test_top_level_path_outside_context_is_refused(
    context_with_secret: tuple[Path, Path, list[Path]],
) -> None:
    context, secret, opened = context_with_secret
    for path in (Path("../secret.txt"), secret, Path("link.txt")):
        result = read_requirements_file(path, context)
        assert result.requirements == []
        assert len(result.issues) == 1 and "outside" in result.issues[0].message
        project = read_project_file(path.with_name("requirements.txt"), context)
        assert all("leaked" not in r.raw for r in project.requirements)
    assert secret.resolve() not in opened


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A whole-line comment ends a continuation; the comment is dropped.
        ("a\\\n# note\nb\n", [("a", 1, 1, 1, 2), ("b", 3, 1, 3, 2)]),
        # pip quirk: an inline comment does not stop the backslash, so the
        # next line is joined and then swallowed by the comment.
        ("a # c \\\nb\nc\n", [("a", 1, 1, 1, 2), ("c", 3, 1, 3, 2)]),
        ("  six==1.0   \n", [("six==1.0", 1, 3, 1, 11)]),
        ("six==1.0\r\nattrs\r\n", [("six==1.0", 1, 1, 1, 9), ("attrs", 2, 1, 2, 6)]),
        ("x\\\n\\\ny>=1\n", [("xy>=1", 1, 1, 3, 5)]),
        ("trailing\\", [("trailing", 1, 1, 1, 9)]),
        ("pkg#frag\n", [("pkg#frag", 1, 1, 1, 9)]),
        (
            "é-pkg==1 ; python_version<'3'\nnext\n",
            [("é-pkg==1 ; python_version<'3'", 1, 1, 1, 30), ("next", 2, 1, 2, 5)],
        ),
        ("foo  --hash=sha256:1\n", [("foo", 1, 1, 1, 4)]),
        ("\ufeffbom==1\n", [("bom==1", 1, 1, 1, 7)]),
    ],
)
def test_logical_lines_and_positions(
    tmp_path: Path, text: str, expected: list[tuple[str, int, int, int, int]]
) -> None:
    write(tmp_path / "requirements.txt", text)
    result = read_requirements_file(Path("requirements.txt"), tmp_path)
    assert [(r.raw, *where(r)) for r in result.requirements] == expected


@pytest.mark.parametrize(
    ("line", "hashes", "issue"),
    [
        ("a==1 --hash=sha256:x --hash sha256:y", ("sha256:x", "sha256:y"), None),
        ("a==1 --hash 'sha256:quoted'", ("sha256:quoted",), None),
        ("a==1 --config-settings=k=v --global-option=x", (), None),
        ("a==1 --index-url https://x", (), (1, 6, "cannot be used on a requirement line")),
        ("a==1 --bogus", (), (1, 6, "unknown option --bogus")),
        ("a==1 --hash", (), (1, 6, "needs a value")),
        ("a==1 --hash 'unclosed", None, (1, 6, "cannot split options")),
        ("a==1 --hash ''", ("",), None),
        ("a==1 -q", (), (1, 6, "unknown option -q")),
    ],
)
def test_per_requirement_options(
    tmp_path: Path,
    line: str,
    hashes: tuple[str, ...] | None,
    issue: tuple[int, int, str] | None,
) -> None:
    write(tmp_path / "requirements.txt", line + "\n")
    result = read_requirements_file(Path("requirements.txt"), tmp_path)
    if hashes is None:
        assert result.requirements == []
    else:
        assert [r.hashes for r in result.requirements] == [hashes]
    found = [(i.line, i.column, i.message) for i in result.issues]
    if issue is None:
        assert found == []
    else:
        assert len(found) == 1 and found[0][:2] == issue[:2] and issue[2] in found[0][2]


def test_option_lines(tmp_path: Path) -> None:
    write(
        tmp_path / "requirements.txt",
        "--pre\n--prefer-binary\n-f ./wheels\n--trusted-host h\n--no-index\n"
        "--extra-index https://abbrev\n-i https://main\n--no-binary=lxml\n--only-binary :all:\n"
        "-r https://example/remote.txt\n-r ${DIR}/x.txt\n-r missing.txt\n",
    )
    result = read_requirements_file(Path("requirements.txt"), tmp_path)
    opts = result.options
    assert (opts.pre, opts.prefer_binary, opts.no_index) == (True, True, True)
    assert opts.find_links == ["./wheels"] and opts.trusted_hosts == ["h"]
    assert opts.extra_index_urls == ["https://abbrev"] and opts.index_url == "https://main"
    # --only-binary :all: after --no-binary=lxml clears it, as in pip.
    assert opts.only_binary == {":all:"} and opts.no_binary == set()
    assert [(i.line, i.column) for i in result.issues] == [(10, 4), (11, 4), (12, 4)]
    assert "remote" in result.issues[0].message
    assert "variable" in result.issues[1].message
    assert "does not exist" in result.issues[2].message


def test_unusable_include_paths_become_issues(tmp_path: Path) -> None:
    os.symlink("loop", tmp_path / "loop")
    write(tmp_path / "top.txt", "-r a\0b\n-r " + "x/" * 3000 + "y\n-r loop\n")
    result = read_requirements_file(Path("top.txt"), tmp_path)
    assert [i.line for i in result.issues] == [1, 2, 3]


def test_unreadable_inputs_become_issues(tmp_path: Path) -> None:
    (tmp_path / "latin1.txt").write_bytes(b"caf\xe9==1\n")
    (tmp_path / "dir.txt").mkdir()
    write(tmp_path / "top.txt", "-r latin1.txt\n-r dir.txt\n")
    result = read_requirements_file(Path("top.txt"), tmp_path)
    assert [(i.line, "UTF-8" in i.message) for i in result.issues] == [(1, True), (2, False)]
    assert result.requirements == []


# Arbitrary text never makes the reader raise, and every span it reports is
# inside the text and agrees with the line index.
@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.text(
        alphabet=st.sampled_from(list("ab=<>;#\\ -\t\r\n'\"[],.@:/${}~é"))
        | st.characters(max_codepoint=0xD7FF)
        | st.characters(min_codepoint=0xE000),
        max_size=200,
    )
)
def test_reader_never_raises(tmp_path: Path, text: str) -> None:
    write(tmp_path / "requirements.txt", text)
    result = read_requirements_file(Path("requirements.txt"), tmp_path)
    decoded = text.removeprefix("\ufeff")
    index = LineIndex(decoded)
    for req in result.requirements:
        assert 0 <= req.offset <= req.end_offset <= len(decoded)
        start = index.position(req.offset)
        assert (start.line, start.column) == (req.line, req.column)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=60))
def test_reader_never_raises_on_bytes(tmp_path: Path, data: bytes) -> None:
    (tmp_path / "requirements.txt").write_bytes(data)
    result = read_requirements_file(Path("requirements.txt"), tmp_path)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return  # UTF-16 by its byte order mark
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        assert [("UTF-8" in i.message) for i in result.issues] == [True]
        assert result.requirements == []
    else:
        assert not any("UTF-8" in i.message for i in result.issues)


_SAMPLE_REQUIREMENTS = [
    "numpy==1.26.4",
    "scipy >= 1.5 , < 2",
    'pandas[excel] ; python_version >= "3.9"',
    "pkg @ https://x.example/pkg-1.0-py3-none-any.whl",
    "torch==${TORCH}",
]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_spans_survive_arbitrary_continuations(tmp_path: Path, data: st.DataObject) -> None:
    chosen = data.draw(st.lists(st.sampled_from(_SAMPLE_REQUIREMENTS), min_size=1, max_size=4))
    lines = []
    for line in chosen:
        cut = data.draw(st.integers(0, len(line)))
        split = data.draw(st.booleans()) and 0 < cut < len(line)
        lines.append(line[:cut] + "\\\n" + line[cut:] if split else line)
    text = "\n".join(lines) + "\n"
    write(tmp_path / "requirements.txt", text)
    result = read_requirements_file(Path("requirements.txt"), tmp_path)
    assert [r.raw for r in result.requirements] == [r.strip() for r in chosen]
    for req in result.requirements:
        assert text[req.offset : req.end_offset].replace("\\\n", "") == req.raw


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("requirements.txt", True),
        ("requirements-dev.txt", True),
        ("dev-requirements.txt", True),
        ("constraints.txt", True),
        ("requirements/base.txt", True),
        ("requirements/prod.in", True),
        ("requirements.in", True),
        ("dev.in", True),
        ("MANIFEST.in", False),
        ("config.h.in", False),
        ("Makefile.in", False),
        ("notes.txt", False),
        ("requirements.yml", False),
        ("pyproject.toml", False),
    ],
)
def test_is_requirements_name(name: str, expected: bool) -> None:
    assert is_requirements_name(name) is expected
    assert is_requirements_name(Path(name)) is expected


# --------------------------------------------------------------------------- project files


@pytest.fixture(scope="module")
def pyproject() -> RequirementsResult:
    return read_project_file(Path("project/pyproject.toml"), DATA)


@pytest.mark.parametrize(
    ("origin", "source", "position", "specifier", "marker"),
    [
        ("project.dependencies", "numpy>=1.24", (8, 6, 8, 17), ">=1.24", None),
        (
            "project.dependencies",
            'pandas[performance] ; python_version >= "3.9"',
            (9, 6, 9, 51),
            "",
            'python_version >= "3.9"',
        ),
        ("project.dependencies", "tensorflow==2.13.0", (10, 6, 10, 24), "==2.13.0", None),
        (
            "project.optional-dependencies.gpu",
            "cupy-cuda12x==12.2.0",
            (14, 9, 14, 29),
            "==12.2.0",
            None,
        ),
        ("project.optional-dependencies.test", "pytest>=7", (16, 4, 16, 13), ">=7", None),
        ("dependency-groups.dev", "ruff==0.5.0", (20, 9, 20, 20), "==0.5.0", None),
        ("build-system.requires", "setuptools>=68", (2, 14, 2, 28), ">=68", None),
        ("build-system.requires", "wheel", (2, 32, 2, 37), "", None),
        (
            "tool.poetry.dependencies",
            'requests = "^2.31.0"',
            (24, 1, 24, 21),
            "<3.0.0,>=2.31.0",
            None,
        ),
        (
            "tool.poetry.dependencies",
            'pydantic = { version = "~1.10", extras = ["email"] }',
            (25, 1, 25, 53),
            "<1.11,>=1.10",
            None,
        ),
        (
            "tool.poetry.dependencies",
            '{ version = "^1.26", python = ">=3.9" }',
            (27, 5, 27, 44),
            "<2.0,>=1.26",
            'python_version >= "3.9"',
        ),
        (
            "tool.poetry.dependencies",
            '{ version = "1.24.4", python = "<3.9" }',
            (28, 5, 28, 44),
            "==1.24.4",
            'python_version < "3.9"',
        ),
        (
            "tool.poetry.group.dev.dependencies",
            'black = "^0.2.3"',
            (34, 1, 34, 17),
            "<0.3.0,>=0.2.3",
            None,
        ),
    ],
)
def test_pyproject_entries(
    pyproject: RequirementsResult,
    origin: str,
    source: str,
    position: tuple[int, int, int, int],
    specifier: str,
    marker: str | None,
) -> None:
    matches = [r for r in pyproject.requirements if source_of(r) == source]
    assert len(matches) == 1
    req = matches[0]
    assert req.origin == f"project/pyproject.toml [{origin}]"
    assert where(req) == position
    assert str(req.specifier) == specifier
    assert (str(req.marker) if req.marker else None) == marker
    assert_positions_consistent(req)


def test_pyproject_poetry_specials(pyproject: RequirementsResult) -> None:
    names = [r.name for r in pyproject.requirements]
    assert "python" not in names
    mylib = next(r for r in pyproject.requirements if r.name == "mylib")
    assert mylib.url == "git+https://github.com/example/mylib.git@v0.2"
    assert by_raw(pyproject)['pydantic = { version = "~1.10", extras = ["email"] }'].extras == {
        "email"
    }
    assert "weird" not in names
    assert [(i.line, i.column) for i in pyproject.issues] == [(31, 1)]
    assert "||" in pyproject.issues[0].message


@pytest.mark.parametrize(
    ("constraint", "specifier"),
    [
        ("^1.2.3", ">=1.2.3,<2.0.0"),
        ("^0.2.3", ">=0.2.3,<0.3.0"),
        ("^0.0.3", ">=0.0.3,<0.0.4"),
        ("^1.2", ">=1.2,<2.0"),
        ("^1", ">=1,<2"),
        ("^0", ">=0,<1"),
        ("^0.0", ">=0.0,<0.1"),
        ("^2.0.0rc1", ">=2.0.0rc1,<3.0.0"),
        ("~1.2", ">=1.2,<1.3"),
        ("~1.2.3", ">=1.2.3,<1.3.0"),
        ("~1", ">=1,<2"),
        ("~=1.4", "~=1.4"),
        ("1.2.3", "==1.2.3"),
        ("=1.2.3", "==1.2.3"),
        ("1.2.*", "==1.2.*"),
        ("*", ""),
        (">=1.2,<2", ">=1.2,<2"),
        (">= 1.2 < 2.0", ">=1.2,<2.0"),
        ("!=1.5", "!=1.5"),
    ],
)
def test_poetry_specifier(constraint: str, specifier: str) -> None:
    assert poetry_specifier(constraint) == specifier


@pytest.mark.parametrize("constraint", ["^1 || ^2", "1.0 | 2.0", "^", "^x.y", ">=>1"])
def test_poetry_specifier_rejects(constraint: str) -> None:
    with pytest.raises(ValueError):
        poetry_specifier(constraint)


def test_setup_py() -> None:
    result = read_project_file(Path("project/setup.py"), DATA)
    got = [(r.origin, r.raw, source_of(r), where(r)) for r in result.requirements]
    assert got == [
        ("project/setup.py [install_requires]", "numpy==1.18.5", "numpy==1.18.5", (5, 6, 5, 19)),
        ("project/setup.py [install_requires]", "scipy>=1.5", "scipy>=1.5", (6, 6, 6, 16)),
        (
            "project/setup.py [install_requires]",
            "psycopg2-binary==2.9.9",
            "psycopg2-binary==2.9.9",
            (17, 31, 17, 53),
        ),
        # Implicit concatenation: the span is the whole expression.
        (
            "project/setup.py [install_requires]",
            "torch==2.1.0",
            '"tor" "ch==2.1.0"',
            (17, 67, 17, 84),
        ),
        ("project/setup.py [extras_require[cuda]]", "cupy==12.0", "cupy==12.0", (8, 20, 8, 30)),
        # Imported under another name: "from setuptools import setup as build".
        ("project/setup.py [install_requires]", "pyyaml==6.0.1", "pyyaml==6.0.1", (21, 26, 21, 39)),
    ]  # fmt: skip
    assert [(i.line, i.column) for i in result.issues] == [(17, 56), (18, 20)]
    assert "FormattedString is not a string literal" in result.issues[0].message
    assert "setup_requires" in result.issues[1].message


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from distutils.core import setup\nsetup(install_requires=['a==1'])\n", ["a==1"]),
        ("import setuptools as st\nst.setup(install_requires=('b',))\n", ["b"]),
        ("setup(install_requires=['c'])\n", []),  # no setuptools import: not the setup()
        ("from setuptools import *\nsetup(install_requires='d>=1\\ne')\n", ["d>=1", "e"]),
        (
            "from setuptools import setup\nR = ['f']\ndef g():\n    R = ['h']\n"
            "setup(install_requires=R)\n",
            ["f"],
        ),
        (
            "from setuptools import setup\nR = R2 = ['x']\nsetup(install_requires=[*R2, 'i'])\n",
            ["i"],
        ),
        ("from setuptools import setup\nA = B\nB = A\nsetup(install_requires=A)\n", []),
    ],
)
def test_setup_py_forms(tmp_path: Path, source: str, expected: list[str]) -> None:
    write(tmp_path / "setup.py", source)
    result = read_project_file(Path("setup.py"), tmp_path)
    assert [r.raw for r in result.requirements] == expected
    for req in result.requirements:
        if "\\n" not in source:
            assert source_of(req) == req.raw


def test_setup_py_multiline_string_positions(tmp_path: Path) -> None:
    write(
        tmp_path / "setup.py",
        'import setuptools\nsetuptools.setup(install_requires="""\n  a==1\n  b # c\n""")\n',
    )
    result = read_project_file(Path("setup.py"), tmp_path)
    assert [(r.raw, where(r)) for r in result.requirements] == [
        ("a==1", (3, 3, 3, 7)),
        ("b", (4, 3, 4, 4)),
    ]


@pytest.mark.parametrize(
    "source",
    [
        "from setuptools import setup\nsetup(install_requires=[\n",
        "setup(install_requires=[\0])",
        # Deep enough to crash libcst's native parser if it were not screened.
        "from setuptools import setup\nsetup(install_requires=" + "[" * 2000 + "]" * 2000 + ")",
        "from setuptools import setup\nsetup(install_requires=[" + "+".join(["'a'"] * 20000) + "])",
    ],
)
def test_setup_py_unparsable(tmp_path: Path, source: str) -> None:
    write(tmp_path / "setup.py", source)
    result = read_project_file(Path("setup.py"), tmp_path)
    assert result.requirements == []
    assert len(result.issues) == 1 and "cannot be parsed" in result.issues[0].message


def test_setup_py_bytes_and_crlf(tmp_path: Path) -> None:
    source = 'from setuptools import setup\r\nsetup(install_requires=[b"x", "a" "y",\r\n "z"])\r\n'
    (tmp_path / "setup.py").write_bytes(source.encode())
    result = read_project_file(Path("setup.py"), tmp_path)
    assert [(r.raw, where(r)) for r in result.requirements] == [
        ("ay", (2, 31, 2, 38)),
        ("z", (3, 3, 3, 4)),
    ]
    assert [(i.line, i.column) for i in result.issues] == [(2, 25)]
    assert "bytes is not a string literal" in result.issues[0].message


def test_setup_cfg() -> None:
    result = read_project_file(Path("project/setup.cfg"), DATA)
    got = [(r.origin.split(" ", 1)[1], source_of(r), where(r)) for r in result.requirements]
    assert got == [
        ("[options.install_requires]", "numpy>=1.20", (7, 5, 7, 16)),
        (
            "[options.install_requires]",
            'grpcio==1.59.0 ; platform_machine == "x86_64"',
            (9, 5, 9, 50),
        ),
        ("[options.install_requires]", "lxml", (10, 5, 10, 9)),
        # setuptools splits a one-line value at semicolons.
        ("[options.setup_requires]", "cython==3.0.0", (11, 18, 11, 31)),
        ("[options.setup_requires]", "wheel", (11, 33, 11, 38)),
        ("[options.extras_require.test]", "pytest", (15, 5, 15, 11)),
    ]  # fmt: skip
    assert result.issues == []


def test_setup_cfg_file_directive() -> None:
    result = read_project_file(Path("setupcfg_file/setup.cfg"), DATA)
    assert [(r.raw, r.origin, where(r)) for r in result.requirements] == [
        ("click>=8", "setupcfg_file/requirements.in", (1, 1, 1, 9))
    ]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            "lock/poetry.lock",
            [
                ("numpy==1.26.4", (4, 9, 5, 18), ("sha256:1111", "sha256:2222")),
                ("Pillow==10.2.0", (18, 9, 19, 18), ()),
            ],
        ),
        # The editable project itself is not a fetched package.
        ("lock/uv.lock", [("orjson==3.9.15", (11, 9, 12, 18), ("sha256:8888", "sha256:9999"))]),
        (
            "lock/Pipfile.lock",
            [
                ("numpy==1.26.4", (4, 10, 7, 33), ("sha256:aaaa", "sha256:bbbb")),
                ("gitdep", (9, 10, 9, 16), ()),
                ("pytest==8.0.0", (12, 10, 12, 39), ()),
            ],
        ),
    ],
)
def test_lock_files(
    path: str, expected: list[tuple[str, tuple[int, int, int, int], tuple[str, ...]]]
) -> None:
    result = read_project_file(Path(path), DATA)
    assert [(r.raw, where(r), r.hashes) for r in result.requirements] == expected
    assert result.issues == []
    for req in result.requirements:
        assert source_of(req).startswith(req.raw.split("=")[0])
        if req.pin is not None:
            assert source_of(req).endswith(str(req.pin))


def test_pipfile_lock_markers_and_pipfile() -> None:
    lock = read_project_file(Path("lock/Pipfile.lock"), DATA)
    numpy = lock.requirements[0]
    assert numpy.pin == Version("1.26.4") and str(numpy.marker) == 'python_version >= "3.9"'
    assert numpy.origin == "lock/Pipfile.lock [default]"
    assert lock.requirements[2].origin == "lock/Pipfile.lock [develop]"
    pipfile = read_project_file(Path("lock/Pipfile"), DATA)
    got = [
        (r.raw, str(r.specifier), str(r.marker) if r.marker else None) for r in pipfile.requirements
    ]
    assert got == [
        ('flask = "*"', "", None),
        ('numpy = "==1.26.4"', "==1.26.4", None),
        (
            'pywin32 = {version = ">=306", sys_platform = "== \'win32\'"}',
            ">=306",
            'sys_platform == "win32"',
        ),
        ('pytest = {version = ">=8", extras = ["testing"]}', ">=8", None),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "text", "issue_at"),
    [
        ("pyproject.toml", "[project\n", (1, 9)),
        ("pyproject.toml", "[project]\ndependencies = 'numpy'\n", (2, 16)),
        ("Pipfile.lock", '{"default": ', (1, 13)),
        ("uv.lock", "[[package]]\nname = 1\n", None),
        ("environment.yml", "x", (1, 1)),
    ],
)
def test_project_file_problems(
    tmp_path: Path, name: str, text: str, issue_at: tuple[int, int] | None
) -> None:
    write(tmp_path / name, text)
    result = read_project_file(Path(name), tmp_path)
    assert result.requirements == []
    assert [(i.line, i.column) for i in result.issues] == ([issue_at] if issue_at else [])


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.sampled_from(
        ["pyproject.toml", "setup.cfg", "setup.py", "poetry.lock", "Pipfile.lock"]
    ),
    text=st.text(alphabet=st.sampled_from(list("[]{}=\"',.#\n abp:()\\")), max_size=80),
)
def test_project_readers_never_raise(tmp_path: Path, name: str, text: str) -> None:
    write(tmp_path / name, text)
    read_project_file(Path(name), tmp_path)


# --------------------------------------------------------------------------- pip command lines


def test_pip_install_command_line() -> None:
    words = shlex.split(
        "pip install --no-cache-dir -r requirements.txt numpy==1.18.5 'scipy>=1.5' "
        "--no-binary=:all: -i https://x"
    )
    start, parsed = pip_install_args(words) or (None, None)
    assert start == 2 and parsed is not None
    assert parsed.requirements == [Arg("numpy==1.18.5", 5, 0), Arg("scipy>=1.5", 6, 0)]
    assert parsed.requirement_files == [Arg("requirements.txt", 4, 0)]
    assert parsed.no_binary == {":all:"} and parsed.only_binary == set()
    assert parsed.index_url == "https://x"
    assert parsed.allowed_formats("numpy") == {"source"}


@pytest.mark.parametrize(
    ("command", "start", "requirements", "files", "extra"),
    [
        ("pip3 install -U pip", 2, ["pip"], [], {"upgrade": True}),
        ("pip3.11 install --user x", 2, ["x"], [], {"user": True}),
        ("/usr/local/bin/pip install --target=/opt/py y", 2, ["y"], [], {"target": "/opt/py"}),
        ("python -m pip install z", 4, ["z"], [], {}),
        ("python3 -u -m pip install z", 5, ["z"], [], {}),
        ("python3.12 -mpip install z", 3, ["z"], [], {}),
        ("python3 -Bm pip install z", 4, ["z"], [], {}),
        ("python3 -W ignore -m pip install z", 6, ["z"], [], {}),
        ("pip -q --disable-pip-version-check --cache-dir /c install z", 6, ["z"], [], {}),
        ("pip install -rreq.txt -qUr more.txt", 2, [], ["req.txt", "more.txt"], {"upgrade": True}),
        (
            "pip install --requirement=req.txt --extra-index x a",
            2,
            ["a"],
            ["req.txt"],
            {"extra_index_urls": ["x"]},
        ),
        (
            "pip install --platform manylinux2014_aarch64 --only-binary=:all: --target t w",
            2,
            ["w"],
            [],
            {"platforms": ["manylinux2014_aarch64"], "only_binary": {":all:"}},
        ),
        (
            "pip install --progress-bar off --timeout 60 --retries 3 -C k=v --report r.json a",
            2,
            ["a"],
            [],
            {},
        ),
        (
            "pip install --pre --prefer-binary --no-deps -- -dash",
            2,
            ["-dash"],
            [],
            {"pre": True, "prefer_binary": True, "no_deps": True},
        ),
        (
            "pip install -e . -e ./sub",
            2,
            [],
            [],
            {"editables": [Arg(".", 3, 0), Arg("./sub", 5, 0)]},
        ),
        ("pip install -c c.txt x", 2, ["x"], [], {"constraint_files": [Arg("c.txt", 3, 0)]}),
        (
            "uv pip install --system -r requirements.txt torch --index-url https://dl/cpu",
            3,
            ["torch"],
            ["requirements.txt"],
            {"tool": "uv", "index_url": "https://dl/cpu"},
        ),
        ("uv -q pip install -r=req.txt --python 3.11 x", 4, ["x"], ["req.txt"], {}),
        (
            "uv pip install --prerelease allow --python-platform aarch64-unknown-linux-gnu x",
            3,
            ["x"],
            [],
            {"pre": True, "platforms": ["aarch64-unknown-linux-gnu"]},
        ),
        ("uv pip sync requirements.lock", 3, [], ["requirements.lock"], {"command": "sync"}),
    ],
)
def test_pip_install_forms(
    command: str, start: int, requirements: list[str], files: list[str], extra: dict[str, object]
) -> None:
    words = shlex.split(command)
    found = pip_install_args(words)
    assert found is not None
    assert found[0] == start
    parsed = found[1]
    assert [a.text for a in parsed.requirements] == requirements
    assert [words[a.word] == a.text for a in parsed.requirements] == [True] * len(requirements)
    assert [a.text for a in parsed.requirement_files] == files
    for a in parsed.requirement_files:
        assert words[a.word][a.start :] == a.text
    for field, value in extra.items():
        assert getattr(parsed, field) == value
    assert parse_pip_install(words) == parsed


@pytest.mark.parametrize(
    "command",
    [
        "pipx install poetry",
        "pip download numpy",
        "pip wheel -r requirements.txt",
        "pip --log install.log",
        "python setup.py install",
        "python -c 'import pip' install x",
        "python -m venv install",
        "uv add numpy",
        "uv pip compile requirements.in",
        "npm install",
        "pip",
        "",
    ],
)
def test_not_pip_install(command: str) -> None:
    assert pip_install_args(shlex.split(command)) is None
    assert parse_pip_install(shlex.split(command)) is None


@given(
    st.lists(
        st.sampled_from(
            [
                "pip",
                "install",
                "-r",
                "-e",
                "--",
                "-",
                "-rx",
                "--no-binary=",
                "uv",
                "python",
                "-m",
                "x",
                "--index-url",
            ]
        )
        | st.text(max_size=5),
        max_size=8,
    )
)
def test_pip_parser_never_raises(words: list[str]) -> None:
    found = pip_install_args(words)
    if found is not None:
        for arg in [*found[1].requirements, *found[1].requirement_files, *found[1].editables]:
            assert words[arg.word][arg.start :].startswith(arg.text)


@pytest.mark.parametrize(
    ("changes", "no_binary", "only_binary", "formats"),
    [
        ([("no", ":all:")], {":all:"}, set(), {"x": {"source"}}),
        (
            [("no", ":all:"), ("only", "numpy")],
            {":all:"},
            {"numpy"},
            {"numpy": {"binary"}, "x": {"source"}},
        ),
        ([("only", "A_b,c")], set(), {"a-b", "c"}, {"A.B": {"binary"}, "x": {"binary", "source"}}),
        ([("only", "a"), ("no", "a")], {"a"}, set(), {"a": {"source"}}),
        ([("no", "a,:none:,b")], {"b"}, set(), {"a": {"binary", "source"}}),
        ([("no", "a"), ("only", ":all:")], set(), {":all:"}, {"a": {"binary"}}),
        ([("no", ":all:,:none:,c")], {"c"}, set(), {"d": {"binary", "source"}}),
    ],
)
def test_format_control_semantics(
    changes: list[tuple[str, str]],
    no_binary: set[str],
    only_binary: set[str],
    formats: dict[str, set[str]],
) -> None:
    options = IndexOptions()
    for kind, value in changes:
        (options.add_no_binary if kind == "no" else options.add_only_binary)(value)
    assert options.no_binary == no_binary and options.only_binary == only_binary
    for name, allowed in formats.items():
        assert options.allowed_formats(name) == allowed


def test_requirements_file_options_apply_after_command_line() -> None:
    command = parse_pip_install(["pip", "install", "--only-binary", ":all:", "-i", "https://a"])
    assert command is not None
    from_file = IndexOptions(index_url="https://b", extra_index_urls=["https://c"])
    from_file.add_no_binary("lxml")
    merged = command.updated_with(from_file)
    assert merged.index_url == "https://b" and merged.extra_index_urls == ["https://c"]
    assert merged.allowed_formats("lxml") == {"source"}
    assert merged.allowed_formats("numpy") == {"binary"}
    # The inputs are left alone.
    assert command.no_binary == set() and command.index_url == "https://a"


@given(st.text("pipythonuvy0123456789.-tdmu/\\x", min_size=1, max_size=12))
def test_program_names_pip_install_args_knows_start_as_it_assumes(program: str) -> None:
    """pip_install_args skips programs not starting with pip/python/pypy/uv before its
    patterns: a name they match always starts so."""
    from dockerarch.pysources.pip import _PIP_PROGRAM, _PYTHON_PROGRAM, PROGRAM_STARTS

    name = program.replace("\\", "/").rsplit("/", 1)[-1]
    if _PIP_PROGRAM.fullmatch(name) or _PYTHON_PROGRAM.fullmatch(name) or name == "uv":
        assert name.startswith(PROGRAM_STARTS)
