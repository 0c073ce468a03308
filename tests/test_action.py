"""The GitHub Action (action.yml): its shape, and its check script run for real.

The install step needs the network (pip), so it is only syntax-checked; the
check step's script runs here with the installed dockerarch standing in for
the one the action installs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ACTION = Path(__file__).resolve().parent.parent / "action.yml"
BASH = shutil.which("bash")
needs_bash = pytest.mark.skipif(BASH is None, reason="bash is not installed")


@pytest.fixture(scope="module")
def action() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(ACTION.read_text())
    return data


def steps(action: dict[str, Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = action["runs"]["steps"]
    return result


def step(action: dict[str, Any], step_id: str) -> dict[str, Any]:
    return next(s for s in steps(action) if s.get("id") == step_id)


def test_is_a_composite_action_with_documented_inputs(action: dict[str, Any]) -> None:
    assert action["runs"]["using"] == "composite"
    assert set(action["inputs"]) == {
        "paths",
        "platforms",
        "format",
        "args",
        "online",
        "sarif-file",
        "upload-sarif",
        "python-version",
    }
    for name, spec in action["inputs"].items():
        assert spec["description"].strip(), name
        assert spec["required"] is False, name
    assert action["inputs"]["format"]["default"] == "github"
    assert action["outputs"]["sarif-file"]["value"] == "${{ steps.check.outputs.sarif-file }}"


def test_sets_up_python_and_installs_from_the_actions_own_path(action: dict[str, Any]) -> None:
    setup = step(action, "python")
    assert setup["uses"].startswith("actions/setup-python@")
    assert setup["with"]["python-version"] == "${{ inputs.python-version }}"
    install = step(action, "install")
    assert install["env"]["ACTION_PATH"] == "${{ github.action_path }}"
    assert re.search(r'pip install .*"\$ACTION_PATH"', install["run"])


def test_every_input_is_used_by_a_step(action: dict[str, Any]) -> None:
    used = json.dumps(steps(action))
    for name in action["inputs"]:
        assert f"${{{{ inputs.{name} }}}}" in used or f"inputs.{name} ==" in used, name


def test_uploads_the_sarif_file_even_after_a_failing_check(action: dict[str, Any]) -> None:
    upload = steps(action)[-1]
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert upload["with"]["sarif_file"] == "${{ steps.check.outputs.sarif-file }}"
    condition = upload["if"]
    assert "!cancelled()" in condition and "inputs.upload-sarif == 'true'" in condition
    assert "steps.check.outputs.sarif-file != ''" in condition


def test_scripts_use_every_variable_they_are_given_and_never_paste_inputs(
    action: dict[str, Any],
) -> None:
    scripts = [s for s in steps(action) if "run" in s]
    assert len(scripts) == 2
    for s in scripts:
        assert s["shell"] == "bash"
        # An expression pasted into a script could inject shell code.
        assert "${{" not in s["run"], s["name"]
        for variable in s.get("env", {}):
            assert f'"${variable}"' in s["run"], variable


@needs_bash
def test_scripts_are_valid_bash(action: dict[str, Any], tmp_path: Path) -> None:
    for i, s in enumerate(x for x in steps(action) if "run" in x):
        script = tmp_path / f"step{i}.sh"
        script.write_text(s["run"])
        r = subprocess.run([str(BASH), "-n", str(script)], capture_output=True, text=True)
        assert r.returncode == 0, (s["name"], r.stderr)


def run_check(
    action: dict[str, Any], cwd: Path, **inputs: str
) -> tuple[subprocess.CompletedProcess[str], str]:
    """The check step as the runner would run it, with the given inputs."""
    output = cwd / "github-output"
    output.write_text("")
    defaults = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    values = {**defaults, **{k.replace("_", "-"): v for k, v in inputs.items()}}
    env = {
        "PATH": os.environ["PATH"],
        "GITHUB_OUTPUT": str(output),
        "PYTHON": sys.executable,
        "DOCKERARCH": str(Path(sys.executable).parent / "dockerarch"),
    }
    for variable, expression in step(action, "check")["env"].items():
        found = re.fullmatch(r"\$\{\{ inputs\.([a-z-]+) \}\}", expression)
        if found:
            env[variable] = values[found.group(1)]
    assert BASH is not None
    r = subprocess.run(
        [str(BASH), "-c", step(action, "check")["run"]],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return r, output.read_text()


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@needs_bash
def test_check_annotates_and_writes_sarif(action: dict[str, Any], tmp_path: Path) -> None:
    write(tmp_path / "svc" / "Dockerfile", "FROM --platform=linux/amd64 alpine AS app\n")
    write(tmp_path / "web" / "Dockerfile", "FROM alpine\n")
    write(tmp_path / "ignored" / "Dockerfile", "FROM --platform=linux/amd64 alpine AS app\n")
    r, output = run_check(
        action,
        tmp_path,
        paths="svc\nweb",
        platforms="linux/amd64, linux/arm64",
        args="--isolated --select 'DA101'",
        sarif_file="reports/dockerarch.sarif",
    )
    assert r.returncode == 1, r.stderr
    assert r.stdout.startswith("::error file=svc/Dockerfile,line=1,col=6,")
    assert "ignored/" not in r.stdout
    assert "sarif-file=reports/dockerarch.sarif\n" in output
    sarif = json.loads((tmp_path / "reports" / "dockerarch.sarif").read_text())
    results = sarif["runs"][0]["results"]
    assert [x["ruleId"] for x in results] == ["DA101"]


@needs_bash
def test_clean_check_with_defaults_passes(action: dict[str, Any], tmp_path: Path) -> None:
    write(tmp_path / "Dockerfile", "FROM alpine\n")
    r, output = run_check(action, tmp_path, args="--isolated")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert output == "sarif-file=\n"


@needs_bash
def test_arguments_with_spaces_stay_one_argument(action: dict[str, Any], tmp_path: Path) -> None:
    write(tmp_path / "Dockerfile", "FROM --platform=linux/amd64 alpine AS app\n")
    r, _ = run_check(action, tmp_path, args="--isolated --ignore 'DA101, DA102'")
    assert (r.returncode, r.stdout) == (0, ""), r.stderr


@needs_bash
def test_online_must_be_a_boolean(action: dict[str, Any], tmp_path: Path) -> None:
    write(tmp_path / "Dockerfile", "FROM alpine\n")
    r, _ = run_check(action, tmp_path, online="yes")
    assert r.returncode == 2
    assert r.stdout == "::error title=dockerarch::online must be true or false, not 'yes'\n"


DOCS = ACTION.parent / "docs" / "ci.md"


def uses_of_the_action(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, list):
        return [found for item in node for found in uses_of_the_action(item)]
    if not isinstance(node, dict):
        return []
    here = [node] if str(node.get("uses", "")).startswith("dockerarch/dockerarch@") else []
    return here + [found for value in node.values() for found in uses_of_the_action(value)]


def test_ci_docs_yaml_parses_and_passes_only_declared_inputs(action: dict[str, Any]) -> None:
    blocks = re.findall(r"^```yaml\n(.*?)^```$", DOCS.read_text(), re.S | re.M)
    assert len(blocks) >= 5
    uses = [use for block in blocks for use in uses_of_the_action(yaml.safe_load(block))]
    assert len(uses) >= 2
    for use in uses:
        assert set(use.get("with", {})) <= set(action["inputs"]), use
    # The code scanning example writes SARIF.
    assert any("sarif-file" in use.get("with", {}) for use in uses)
