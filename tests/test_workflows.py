"""DA801: multi-platform CI builds that compile under QEMU, and the native-runner rewrite."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from dockerarch import engine
from dockerarch.diagnostics import Applicability, Diagnostic, Severity
from dockerarch.engine import Settings
from dockerarch.fixer import apply_edits
from dockerarch.platforms import Platform
from dockerarch.syntax import LineIndex, Span
from dockerarch.workflows import yamlspans as ys
from dockerarch.workflows.bake import parse_hcl
from dockerarch.workflows.builds import parse_platforms, runner_arch
from dockerarch.workflows.discover import discover_ci_files, repo_root
from dockerarch.workflows.emulation import CiResult, check_ci_file
from dockerarch.workflows.github import _matrix
from dockerarch.workflows.heavy import emulated_work
from dockerarch.workflows.rewrite import _image_of, _split

DATA = Path(__file__).parent / "data" / "workflows"
RELEASE = ".github/workflows/release.yml"


def check(path: Path, settings: Settings | None = None) -> CiResult:
    return check_ci_file(path, settings or Settings())


def where(result: CiResult, d: Diagnostic) -> tuple[int, int, int, int, str]:
    a, b = result.lines.position(d.span.start), result.lines.position(d.span.end)
    return a.line, a.column, b.line, b.column, result.text[d.span.start : d.span.end]


def only(result: CiResult) -> Diagnostic:
    (d,) = result.diagnostics
    assert d.code == "DA801" and d.severity is Severity.WARNING
    return d


def fixed(result: CiResult, d: Diagnostic) -> str:
    assert d.fix is not None and d.fix.applicability is Applicability.UNSAFE
    assert all(e.path is None for e in d.fix.edits)
    return apply_edits(result.text, d.fix.edits)


def changed_lines(old: str, new: str) -> tuple[list[str], list[str]]:
    removed, added = [], []
    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0):
        if line.startswith("-") and not line.startswith("---"):
            removed.append(line[1:])
        elif line.startswith("+") and not line.startswith("+++"):
            added.append(line[1:])
    return removed, added


# --- discovery --------------------------------------------------------------------------------


def test_discovery_finds_workflows_gitlab_and_bake_files() -> None:
    found = [p.relative_to(DATA).as_posix() for p in discover_ci_files(DATA)]
    assert found == [
        "bake/docker-bake.hcl",
        "bake/docker-bake.json",
        "cross-go/.github/workflows/release.yml",
        "gitlab/.gitlab-ci.yml",
        "native-matrix/.github/workflows/image.yml",
        "pip-wheels/.github/workflows/build.yml",
        "qemu-make/.github/workflows/release.yml",
        "run-step/.github/workflows/ci.yaml",
    ]
    assert repo_root(DATA / "qemu-make" / RELEASE) == DATA / "qemu-make"
    assert repo_root(DATA / "gitlab" / ".gitlab-ci.yml") == DATA / "gitlab"


# --- GitHub Actions ---------------------------------------------------------------------------


def test_qemu_build_of_a_dockerfile_running_make_is_reported_at_the_platform_list() -> None:
    result = check(DATA / "qemu-make" / RELEASE)
    d = only(result)
    assert where(result, d) == (53, 22, 53, 45, "linux/amd64,linux/arm64")
    assert d.platforms == ("linux/arm64",)
    assert d.message == (
        "job 'image' builds linux/arm64 under QEMU emulation on an amd64 runner, and Dockerfile "
        "compiles there: make (line 5); compiling under emulation is many times slower than on "
        "a native runner"
    )
    assert d.notes == ("Dockerfile:5: make runs emulated for linux/arm64",)


def test_dockerfile_cross_compiling_from_the_build_platform_is_fine() -> None:
    assert check(DATA / "cross-go" / RELEASE).diagnostics == []


def test_matrix_over_native_runners_is_fine() -> None:
    assert check(DATA / "native-matrix" / ".github/workflows/image.yml").diagnostics == []


def test_rewrite_to_native_matrix_keeps_every_other_byte() -> None:
    result = check(DATA / "qemu-make" / RELEASE)
    new = fixed(result, only(result))
    removed, added = changed_lines(result.text, new)
    assert removed == [
        "    runs-on: ubuntu-latest   # the amd64 hosted runner",
        "      - name: Set up QEMU",
        "        uses: docker/setup-qemu-action@v3",
        "          platforms: linux/amd64,linux/arm64  # both architectures",
        "          push: ${{ github.event_name != 'pull_request' }}",
        "          tags: ${{ steps.meta.outputs.tags }}",
    ]
    # Trailing comments on edited lines stay; so does every comment line.
    assert "    runs-on: ${{ matrix.runner }}   # the amd64 hosted runner" in added
    assert "          platforms: ${{ matrix.platform }}  # both architectures" in added
    for line in result.text.splitlines():
        if line.strip().startswith("#"):
            assert line in new.splitlines()
    # Everything before the job and after it is untouched.
    job = result.text.index("  image:\n")
    assert new.startswith(result.text[:job])
    tail = result.text[result.text.index("\n  notify:") :]
    assert new.endswith(tail)


def test_rewritten_workflow_has_the_matrix_and_the_merge_job() -> None:
    result = check(DATA / "qemu-make" / RELEASE)
    data: dict[str, Any] = yaml.safe_load(fixed(result, only(result)))
    jobs = data["jobs"]
    assert list(jobs) == ["test", "image", "image-merge", "notify"]
    image = jobs["image"]
    assert image["runs-on"] == "${{ matrix.runner }}"
    assert image["strategy"]["matrix"]["include"] == [
        {"platform": "linux/amd64", "runner": "ubuntu-latest"},
        {"platform": "linux/arm64", "runner": "ubuntu-24.04-arm"},
    ]
    steps = image["steps"]
    assert all(s.get("uses") != "docker/setup-qemu-action@v3" for s in steps)
    build = next(s for s in steps if s.get("uses") == "docker/build-push-action@v6")
    assert build["id"] == "build"
    assert build["with"]["platforms"] == "${{ matrix.platform }}"
    assert build["with"]["tags"] == "${{ env.IMAGE }}"
    assert build["with"]["outputs"] == (
        "type=image,push-by-digest=true,name-canonical=true,"
        "push=${{ github.event_name != 'pull_request' }}"
    )
    assert "push" not in build["with"]
    names = [s.get("name") for s in steps]
    assert names[-2:] == ["Export digest", "Upload digest"]
    merge = jobs["image-merge"]
    assert merge["needs"] == "image"
    assert merge["if"] == "${{ github.event_name != 'pull_request' }}"
    assert merge["permissions"] == {"contents": "read", "packages": "write"}
    merge_uses = [s.get("uses") for s in merge["steps"]]
    assert merge_uses == [
        "actions/download-artifact@v4",
        "docker/login-action@v3",
        "docker/setup-buildx-action@v3",
        "docker/metadata-action@v5",
        None,
    ]
    script = merge["steps"][-1]["run"]
    assert script.startswith("docker buildx imagetools create $(jq -cr '.tags")
    assert "$(printf '${{ env.IMAGE }}@sha256:%s ' *)" in script


def test_rewritten_workflow_is_clean_on_a_second_check(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(DATA / "qemu-make", repo)
    result = check(repo / RELEASE)
    (repo / RELEASE).write_text(fixed(result, only(result)))
    assert check(repo / RELEASE).diagnostics == []


def test_pip_source_build_and_literal_tags() -> None:
    path = DATA / "pip-wheels" / ".github/workflows/build.yml"
    result = check(path)
    d = only(result)
    assert where(result, d)[:4] == (9, 22, 11, 24)
    assert "numpy==1.18.5 builds from source (DA501) (line 3)" in d.message
    data: dict[str, Any] = yaml.safe_load(fixed(result, d))
    assert data["jobs"]["build"]["strategy"]["matrix"]["include"][1] == {
        "platform": "linux/arm64",
        "runner": "ubuntu-22.04-arm",
    }
    script = data["jobs"]["build-merge"]["steps"][-1]["run"]
    assert script == (
        "docker buildx imagetools create -t 'example/py:latest' -t 'example/py:${{ github.sha }}'"
        " \\\n  $(printf 'example/py@sha256:%s ' *)\n"
    )
    assert "if" not in data["jobs"]["build-merge"]


def test_run_step_buildx_with_file_flag_is_display_only_guidance() -> None:
    result = check(DATA / "run-step" / ".github/workflows/ci.yaml")
    d = only(result)
    assert where(result, d) == (13, 24, 13, 49, '"linux/amd64,linux/arm64"')
    assert "docker/server.Dockerfile compiles there: cargo build (line 4)" in d.message
    assert d.fix is not None and d.fix.applicability is Applicability.DISPLAY_ONLY
    assert d.fix.edits == ()
    assert "ubuntu-24.04-arm" in d.fix.message


def workflow_repo(tmp_path: Path, workflow: str, dockerfile: str | None = None) -> Path:
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    path = tmp_path / ".github" / "workflows" / "w.yml"
    path.write_text(workflow)
    (tmp_path / "Dockerfile").write_text(dockerfile or (DATA / "qemu-make/Dockerfile").read_text())
    return path


SIMPLE = """\
on: push
jobs:
  build:
    runs-on: {runner}
    steps:
{extra}      - uses: docker/build-push-action@v6
        with:
          platforms: {platforms}
          push: true
          tags: example/app:latest
"""
QEMU = "      - uses: docker/setup-qemu-action@v3\n"


def simple(runner: str, platforms: str = "linux/amd64,linux/arm64", extra: str = QEMU) -> str:
    return SIMPLE.format(runner=runner, platforms=platforms, extra=extra)


def test_unknown_self_hosted_runner_is_assumed_amd64_only_with_qemu(tmp_path: Path) -> None:
    with_qemu = check(workflow_repo(tmp_path, simple("self-hosted")))
    d = only(with_qemu)
    assert d.notes[0] == "the runner's architecture is not known; assumed amd64"
    # Not a hosted Ubuntu runner: no rewrite onto hosted runners.
    assert d.fix is not None and d.fix.applicability is Applicability.DISPLAY_ONLY
    without = check(workflow_repo(tmp_path / "b", simple("self-hosted", extra="")))
    assert without.diagnostics == []
    assert without.notes == ["job 'build': the runner's architecture is not known; not checked"]


def test_arm64_runner_emulating_amd64_is_reported(tmp_path: Path) -> None:
    d = only(check(workflow_repo(tmp_path, simple("ubuntu-24.04-arm"))))
    assert d.platforms == ("linux/amd64",)
    assert "on an arm64 runner" in d.message


def test_runner_native_platforms_only_are_fine(tmp_path: Path) -> None:
    path = workflow_repo(tmp_path, simple("ubuntu-latest", "linux/amd64,linux/386"))
    assert check(path).diagnostics == []


def test_buildx_with_native_remote_nodes_is_not_emulated(tmp_path: Path) -> None:
    extra = (
        "      - uses: docker/setup-buildx-action@v3\n"
        "        with:\n"
        "          append: |\n"
        "            - endpoint: tcp://arm64-builder:1234\n"
    )
    assert check(workflow_repo(tmp_path, simple("ubuntu-latest", extra=extra))).diagnostics == []


def test_matrix_over_platforms_on_one_runner_reports_the_emulated_entry(tmp_path: Path) -> None:
    workflow = """\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        platform: [linux/amd64, linux/arm64]
    steps:
      - uses: docker/setup-qemu-action@v3
      - uses: docker/build-push-action@v6
        with:
          platforms: ${{ matrix.platform }}
"""
    result = check(workflow_repo(tmp_path, workflow))
    d = only(result)
    assert where(result, d)[4] == "${{ matrix.platform }}"
    assert d.platforms == ("linux/arm64",)
    assert d.fix is not None and d.fix.applicability is Applicability.DISPLAY_ONLY
    assert "already has a strategy" in d.fix.message


def test_rewrite_of_a_job_at_the_end_of_a_file_without_final_newline(tmp_path: Path) -> None:
    text = simple("ubuntu-24.04").rstrip("\n")
    result = check(workflow_repo(tmp_path, text))
    new = fixed(result, only(result))
    data: dict[str, Any] = yaml.safe_load(new)
    assert list(data["jobs"]) == ["build", "build-merge"]
    assert data["jobs"]["build-merge"]["runs-on"] == "ubuntu-24.04"
    assert data["jobs"]["build"]["steps"][0] == {
        "uses": "docker/build-push-action@v6",
        "with": {
            "platforms": "${{ matrix.platform }}",
            "outputs": "type=image,push-by-digest=true,name-canonical=true,push=true",
            "tags": "example/app",
        },
        "id": "build",
    }


def test_ignored_code_and_severity_override(tmp_path: Path) -> None:
    path = workflow_repo(tmp_path, simple("ubuntu-latest"))
    assert check(path, Settings(ignore=("DA8",))).diagnostics == []
    (d,) = check(path, Settings(severity={"DA801": Severity.ERROR})).diagnostics
    assert d.severity is Severity.ERROR


def test_missing_dockerfile_is_a_note(tmp_path: Path) -> None:
    path = workflow_repo(tmp_path, simple("ubuntu-latest"))
    (tmp_path / "Dockerfile").unlink()
    result = check(path)
    assert result.diagnostics == []
    assert result.notes[0].startswith("job 'build': ")
    assert result.notes[0].endswith("Dockerfile: cannot read: no such file or directory")


# --- GitLab and bake --------------------------------------------------------------------------


def test_gitlab_job_with_binfmt_is_reported_the_arm64_tagged_job_is_not() -> None:
    result = check(DATA / "gitlab" / ".gitlab-ci.yml")
    d = only(result)
    assert where(result, d) == (17, 38, 17, 50, '"$PLATFORMS"')
    assert d.message.startswith("job 'build-image' builds linux/arm64 under QEMU emulation")
    assert "cmake (line 5)" in d.message
    assert d.notes == ("Dockerfile:5: cmake runs emulated for linux/arm64",)
    assert d.fix is not None and d.fix.applicability is Applicability.DISPLAY_ONLY
    assert "saas-linux-small-arm64" in d.fix.message


def test_bake_target_inheriting_platforms_is_reported_where_they_are_written() -> None:
    result = check(DATA / "bake" / "docker-bake.hcl")
    d = only(result)
    assert where(result, d)[:4] == (11, 15, 14, 4)
    assert d.message.startswith(
        "target 'api' builds linux/arm64 under QEMU emulation on one amd64 builder (assumed), "
        "and services/api/Dockerfile.release compiles there: go build (line 4)"
    )


def test_bake_json() -> None:
    result = check(DATA / "bake" / "docker-bake.json")
    d = only(result)
    assert where(result, d) == (6, 20, 6, 50, '["linux/amd64", "linux/arm64"]')


def test_hcl_reader_handles_comments_heredocs_and_unknown_expressions() -> None:
    blocks = parse_hcl(
        '/* header */\nvariable "V" { default = "x" }\n'
        'target "t" {\n  args = { A = "1" }\n  labels = <<EOT\nsome text\nEOT\n'
        '  platforms = split(",", "linux/amd64,linux/arm64") // computed\n'
        '  tags = ["a:${V}", "b"]\n}\n'
    )
    assert blocks is not None
    (var, target) = blocks
    assert var.attributes["default"].data == "x"
    assert target.attributes["platforms"].data is None
    assert target.attributes["tags"].data == ("a:${V}", "b")
    assert parse_hcl('target "t" {\n') is None


# --- pieces -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "arch"),
    [
        (["ubuntu-latest"], "amd64"),
        (["ubuntu-22.04"], "amd64"),
        (["ubuntu-24.04-arm"], "arm64"),
        (["self-hosted", "linux", "ARM64"], "arm64"),
        (["self-hosted", "linux", "X64"], "amd64"),
        (["saas-linux-medium-amd64"], "amd64"),
        (["self-hosted"], None),
        (["${{ inputs.runner }}"], None),
        (["self-hosted", "x64", "arm64"], None),
    ],
)
def test_runner_arch(labels: list[str], arch: str | None) -> None:
    assert runner_arch(labels) == arch


def test_matrix_combinations_follow_include_and_exclude() -> None:
    node = ys.compose(
        "os: [a, b]\nplatform: [x, y]\nexclude:\n  - {os: b, platform: y}\n"
        "include:\n  - {os: a, runner: big}\n  - {os: c, platform: z}\n"
    )
    assert _matrix(node) == (
        {"os": "a", "platform": "x", "runner": "big"},
        {"os": "a", "platform": "y", "runner": "big"},
        {"os": "b", "platform": "x"},
        {"os": "c", "platform": "z"},
    )
    assert _matrix(None) == ({},)
    assert _matrix(ys.get(ys.compose("m: ${{ fromJSON(inputs.m) }}\n"), "m")) is None


def test_scalar_source_maps_block_and_folded_scalars_to_the_file() -> None:
    text = "run: |\n  echo a\n  docker buildx build .\nf: >\n  one\n  two\n"
    root = ys.compose(text)
    for key, value in (("run", "echo a\ndocker buildx build ."), ("f", "one two")):
        node = ys.get(root, key)
        assert isinstance(node, ys.ScalarNode)
        source = ys.scalar_source(node, text)
        assert source is not None and source[0] == value
        i = value.index(value.split()[-1])
        mapped = source[1].span_to_source(i, len(value))
        assert text[mapped.start : mapped.end] == value.split()[-1]


def test_platform_lists_and_tags() -> None:
    assert parse_platforms("linux/amd64,\nlinux/arm64\n") == (
        Platform("linux", "amd64"),
        Platform("linux", "arm64"),
    )
    assert parse_platforms("linux/amd64,${{ x }}") is None
    assert _split("a:1,b:2\n${{ format('{0},{1}', x, y) }}") == [
        "a:1",
        "b:2",
        "${{ format('{0},{1}', x, y) }}",
    ]
    assert _image_of("localhost:5000/app:1.0") == "localhost:5000/app"
    assert _image_of("${{ env.IMAGE }}:${{ github.sha }}") == "${{ env.IMAGE }}"
    assert _image_of("app@sha256:abc") == "app"


@pytest.mark.parametrize(
    ("dockerfile", "whats"),
    [
        ("FROM alpine\nRUN ./configure && make install\n", ["./configure", "make"]),
        ("FROM golang:1.22\nRUN CGO_ENABLED=0 go build ./...\n", ["go build"]),
        ("FROM --platform=linux/amd64 gcc:14 AS b\nRUN make\nFROM alpine\nCOPY --from=b / /\n", []),
        ("FROM --platform=${BUILDPLATFORM} rust AS b\nRUN cargo build\nFROM b\nRUN make\n", []),
        ("FROM rust\nARG TARGETARCH\nRUN if [ \"$TARGETARCH\" = amd64 ]; then make; fi\n", []),
        ("FROM debian\nRUN apt-get update && apt-get install -y build-essential\n", []),
        ("FROM debian\nRUN cmake -E make_directory build\n", []),
    ],
)  # fmt: skip
def test_heavy_steps(dockerfile: str, whats: list[str]) -> None:
    steps = emulated_work(
        dockerfile,
        path=None,
        context_dir=None,
        settings=Settings(),
        platforms=(Platform("linux", "amd64"), Platform("linux", "arm64")),
        host="amd64",
    )
    assert [s.what for s in steps] == whats
    assert all(str(s.platform) == "linux/arm64" for s in steps)


def test_result_renders_like_a_dockerfile_report() -> None:
    result = check(DATA / "qemu-make" / RELEASE)
    assert isinstance(result.lines, LineIndex)
    assert result.lines.line_text(53).strip().startswith("platforms:")
    assert Span(0, 0) not in [d.span for d in result.diagnostics]


def test_rule_object_documents_the_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "CATEGORIES", engine.CATEGORIES | {"emulation"})
    from dockerarch_rules import emulation

    (rule,) = emulation.RULES
    assert (rule.code, rule.name, rule.category, rule.fixable) == (
        "DA801",
        "emulated-build-compiles",
        "emulation",
        True,
    )
    assert engine.check_text("FROM alpine\nRUN make\n", rules=[rule]).diagnostics == []
