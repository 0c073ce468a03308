"""Unit tests for what a project install takes from project and lock files."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.markers import Marker

from dockerarch.pysources import PyRequirement, make_requirement, read_project_file
from dockerarch.pysources.locate import load_toml
from dockerarch.pysources.lockgraph import locked_requirements
from dockerarch.pysources.markers import marker_holds
from dockerarch.pysources.selection import Selection, local_project, project_command, selected
from dockerarch.syntax.positions import LineIndex, Span

UV_LOCK = """\
version = 1

[[package]]
name = "app"
version = "0.1.0"
source = { editable = "." }

[[package]]
name = "torch"
version = "2.3.0"
source = { registry = "https://example.invalid/simple" }
dependencies = [
    { name = "triton", marker = "platform_machine == 'x86_64'" },
    { name = "filelock" },
]

[package.optional-dependencies]
opt = [{ name = "sympy" }]

[[package]]
name = "triton"
version = "2.3.0"
source = { registry = "https://example.invalid/simple" }

[[package]]
name = "filelock"
version = "3.13.1"
source = { registry = "https://example.invalid/simple" }

[[package]]
name = "sympy"
version = "1.12"
source = { registry = "https://example.invalid/simple" }

[[package]]
name = "unused"
version = "1.0"
source = { registry = "https://example.invalid/simple" }
"""


def requirement(text: str) -> PyRequirement:
    req, error = make_requirement(
        text, file=None, lines=LineIndex(text), span=Span(0, len(text)), origin="test"
    )
    assert error is None
    return req


def walk(tmp_path: Path, roots: list[str]) -> dict[str, Marker | None]:
    lock = tmp_path / "uv.lock"
    lock.write_text(UV_LOCK)
    locked = read_project_file(Path("uv.lock"), tmp_path).requirements
    found = locked_requirements(
        load_toml(UV_LOCK), "uv.lock", locked, [requirement(r) for r in roots], ["amd64", "arm64"]
    )
    return {str(r.name): r.marker for r in found}


def test_lock_graph_follows_edges_per_platform(tmp_path: Path) -> None:
    reached = walk(tmp_path, ["torch"])
    assert sorted(reached) == ["filelock", "torch", "triton"]
    assert reached["torch"] is None and reached["filelock"] is None
    triton = reached["triton"]
    assert triton is not None
    assert triton.evaluate({"platform_machine": "x86_64", "python_version": "3.11"})
    assert not triton.evaluate({"platform_machine": "aarch64", "python_version": "3.11"})


def test_lock_graph_takes_optional_edges_only_for_the_extra(tmp_path: Path) -> None:
    assert "sympy" not in walk(tmp_path, ["torch"])
    assert "sympy" in walk(tmp_path, ["torch[opt]"])


def test_lock_graph_root_marker_limits_every_package_below(tmp_path: Path) -> None:
    reached = walk(tmp_path, ["torch; python_version >= '3.12'"])
    filelock = reached["filelock"]
    assert filelock is not None
    assert filelock.evaluate({"platform_machine": "aarch64", "python_version": "3.12"})
    assert not filelock.evaluate({"platform_machine": "aarch64", "python_version": "3.11"})


def test_marker_holds_for_some_cpython_when_the_stage_python_is_unknown() -> None:
    req = requirement("numpy; python_version < '3.8' and platform_machine == 'aarch64'")
    assert marker_holds(req, None, "arm64")
    assert not marker_holds(req, (3, 11), "arm64")
    assert not marker_holds(req, None, "amd64")


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("poetry install", Selection("poetry")),
        (
            "poetry install --no-dev -E gpu",
            Selection("poetry", without=frozenset({"dev"}), extras=frozenset({"gpu"})),
        ),
        (
            "poetry install --only main,docs",
            Selection("poetry", groups=frozenset({"main", "docs"}), only=True),
        ),
        ("poetry add numpy", None),
        ("poetry install --only-root", None),
        ("uv sync --only-dev", Selection("uv", groups=frozenset({"dev"}), only=True)),
        (
            "uv sync --no-default-groups --extra GPU",
            Selection("uv", default_groups=False, extras=frozenset({"gpu"})),
        ),
        ("uv pip install numpy", None),
        ("pipenv install --dev", Selection("pipenv", groups=frozenset({"develop"}))),
        ("pipenv install requests", Selection("pipenv", relocks=True)),
    ],
)
def test_project_command(command: str, expected: Selection | None) -> None:
    assert project_command(command.split()) == expected


def test_local_project_is_a_path_not_a_package_name() -> None:
    assert local_project(".[gpu,cli]") == (".", frozenset({"gpu", "cli"}))
    assert local_project(".[gpu, cli]") == local_project(". [gpu,cli]") == (".", {"gpu", "cli"})
    assert local_project("./pkgs/core") == ("./pkgs/core", frozenset())
    assert local_project("numpy[extra]") is None
    assert local_project("./dist/app-1.0-py3-none-any.whl") is None


PYPROJECT = """\
[project]
name = "app"
dependencies = ["requests"]

[project.optional-dependencies]
gpu = ["cupy"]

[dependency-groups]
dev = ["pytest"]
lint = ["ruff"]

[build-system]
requires = ["setuptools"]
"""


@pytest.mark.parametrize(
    ("selection", "names"),
    [
        (Selection("pip"), ["requests"]),
        (Selection("pip", extras=frozenset({"gpu"})), ["requests", "cupy"]),
        (Selection("uv"), ["requests", "pytest"]),
        (Selection("uv", all_groups=True), ["requests", "pytest", "ruff"]),
        (Selection("uv", groups=frozenset({"lint"}), only=True), ["ruff"]),
    ],
)
def test_selected_keeps_what_the_installer_installs(
    tmp_path: Path, selection: Selection, names: list[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    result = read_project_file(Path("pyproject.toml"), tmp_path)
    chosen = selected(result, selection, load_toml(PYPROJECT))
    assert [r.name for r in chosen] == names
    assert {r.section for r in result.requirements} >= {
        "project.dependencies",
        "build-system.requires",
    }
