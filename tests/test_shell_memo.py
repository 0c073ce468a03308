"""Answers kept on shell commands and stage environments equal the work they save."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockerarch.engine import Context, Settings
from dockerarch.knowledge import distros
from dockerarch.model import build_model
from dockerarch.runscripts import run_scripts
from dockerarch.shell import parse_script
from dockerarch.shell.model import Command
from dockerarch.sourcebuilds import tool_builds
from dockerarch.stageenv import StageEnv, package_install, stage_env
from dockerarch.syntax import parse
from dockerarch.syntax.positions import SourceMap

FIXTURES = sorted(p for p in (Path(__file__).parent.parent / "fixtures").rglob("Dockerfile*"))


def _commands(text: str) -> list[Command]:
    tree = parse(text)
    return [c for ins in tree.instructions for s in run_scripts(ins, tree.text) for c in s.commands]


@pytest.mark.parametrize(
    "script",
    [
        "apt-get install -y curl",
        "sudo -u app env -i FOO=1 nice -n 5 make install",
        "command -v curl",
        "sudo",
        "/usr/bin/env CC=gcc ./configure",
    ],
)
def test_effective_asked_again_gives_the_same_command(script: str) -> None:
    (cmd,) = parse_script(script, SourceMap.identity(0, len(script))).commands
    (twin,) = parse_script(script, SourceMap.identity(0, len(script))).commands
    first = cmd.effective()
    assert cmd.effective() == first == twin.effective()
    # What effective() keeps on the command is no part of its value.
    assert cmd == twin and hash(cmd) == hash(twin)


def test_effective_memo_leaves_fixture_commands_equal() -> None:
    for path in FIXTURES:
        text = path.read_text(encoding="utf-8")
        asked, fresh = _commands(text), _commands(text)
        answers = [c.effective() for c in asked]
        assert asked == fresh, path
        assert answers == [c.effective() for c in fresh], path


def _python_walk(env: StageEnv, offset: int) -> tuple[tuple[int, int] | None, str]:
    """What python_before answered before it kept one walk per stage: a walk per offset."""
    base = env.base
    version = base.python if base else None
    reason = base.python_source if base and version else "unknown base image Python"
    for _, cmd in env.commands():
        if cmd.span.start >= offset:
            break
        words = [w.value or "" for w in cmd.words]
        tool = distros.python_from_tool(words)
        if tool:
            version, reason = tool, f"installed by `{' '.join(words[:4])}`"
            continue
        found = package_install(cmd)
        if found and base and version is None:
            v = distros.python_from_install(found[0], list(found[1]), base)
            if v is None and any(p.startswith("python3") for p in found[1]):
                v = base.apt_python
            if v:
                version, reason = v, f"{found[0]} installs python{v[0]}.{v[1]}"
    return version, reason


# The heredoc body's commands come before the ``bash -e`` that runs it, though they lie
# after it in the file: the commands of a stage are not in offset order.
CRAFTED = [
    "FROM debian:bookworm\nRUN apt-get update && apt-get install -y python3-pip\n"
    "RUN pip install numpy\nRUN uv python install 3.12 && pip install pandas\n",
    "FROM ubuntu:22.04 AS base\nRUN bash -e <<EOF\nuv python install 3.11\npip install x\nEOF\n"
    "FROM base\nRUN pyenv install 3.10.4\n",
    "FROM ubuntu:22.04\nRUN apt-get install -y python3.12\nRUN pip install y\n",
    "FROM scratch\nRUN conda install -y python=3.9 && pip install z\n",
]


def _assert_python_before_walks(text: str, offsets: set[int]) -> None:
    tree = parse(text)
    model = build_model(tree)
    for platform in Settings().platforms:
        view = model.for_platform(platform)
        for stage in model.stages:
            env = stage_env(view, stage, None)
            for offset in sorted(offsets):
                assert env.python_before(offset) == _python_walk(env, offset), offset


@pytest.mark.parametrize("text", CRAFTED)
def test_python_before_equals_a_walk_per_offset(text: str) -> None:
    _assert_python_before_walks(text, set(range(len(text) + 1)))


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: str(p.parent.name))
def test_python_before_in_fixtures(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    tree = parse(text)
    model = build_model(tree)
    offsets = {0, len(tree.text)}
    for ins in tree.instructions:
        offsets.update((ins.span.start, ins.span.end))
        for script in model.scripts(ins):
            offsets.update(c.span.start for c in script.commands)
            offsets.update(c.span.start + 1 for c in script.commands)
    _assert_python_before_walks(text, offsets)


def _tool_builds(text: str) -> list[str]:
    tree = parse(text)
    ctx = Context(tree, build_model(tree), Settings(), None, None)
    return [f"{b.platform} {b.what}" for b in tool_builds(ctx)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FROM golang:1.22\nRUN go build ./...\n", []),
        (
            "FROM golang:1.22\nENV CGO_ENABLED=1\nRUN go build ./...\n",
            ["linux/amd64 go build (CGO_ENABLED=1)", "linux/arm64 go build (CGO_ENABLED=1)"],
        ),
        # The command's own assignment wins over the Dockerfile's, even when it is unknown.
        ("FROM golang:1.22\nENV CGO_ENABLED=1\nRUN CGO_ENABLED=$X go build ./...\n", []),
        (
            "FROM golang:1.22\nENV CGO_ENABLED=0\nRUN CGO_ENABLED=1 go test ./...\n",
            ["linux/amd64 go test (CGO_ENABLED=1)", "linux/arm64 go test (CGO_ENABLED=1)"],
        ),
        ("FROM golang:1.22\nRUN configure && make\n", ["linux/amd64 make", "linux/arm64 make"]),
    ],
)
def test_go_builds_look_at_cgo_where_the_shell_would(text: str, expected: list[str]) -> None:
    assert _tool_builds(text) == expected
