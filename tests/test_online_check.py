"""`dockerarch check --online` against a real registry on loopback, end to end.

The acceptance cases of the base-image rule: an image pushed with only an
amd64 manifest is a finding for arm64, an index with both is not, and a
registry that does not answer is a warning on stderr — the exit code stays
what the other rules decide, and they still run.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockerarch.knowledge.registry import DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST
from tests.test_registry_online import REGISTRY_BINARY, Registry, free_port, running_registry


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    if REGISTRY_BINARY is None:
        pytest.skip("docker-registry not installed (Debian package docker-registry provides it)")
    with running_registry(tmp_path_factory.mktemp("registry")) as reg:
        amd64 = {"architecture": "amd64", "os": "linux"}
        arm64 = {"architecture": "arm64", "os": "linux", "variant": "v8"}
        reg.push_image("team/amd64only", amd64, DOCKER_MANIFEST, tag="1")
        amd = reg.push_image("team/multi", amd64, OCI_MANIFEST)
        arm = reg.push_image("team/multi", arm64, OCI_MANIFEST)
        index = {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {**amd, "platform": {"architecture": "amd64", "os": "linux"}},
                {**arm, "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}},
            ],
        }
        reg.push_manifest("team/multi", "1", index)
        yield reg


def check(tmp_path: Path, dockerfile: str, *extra: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "Dockerfile").write_text(dockerfile, encoding="utf-8")
    command = [sys.executable, "-m", "dockerarch", "check", "--isolated", "--format", "concise"]
    return subprocess.run(
        [*command, "--cache-dir", str(tmp_path / "cache"), *extra, str(tmp_path / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_amd64_only_image_is_a_finding_for_arm64(registry: Registry, tmp_path: Path) -> None:
    result = check(tmp_path, f"FROM {registry.host}/team/amd64only:1\n", "--online")
    assert result.returncode == 1, result.stderr
    assert "Dockerfile:1:6: DA201" in result.stdout
    [finding] = [line for line in result.stdout.splitlines() if "DA201" in line]
    assert "is not published for linux/arm64 (published: linux/amd64" in finding


def test_multi_platform_index_is_clean(registry: Registry, tmp_path: Path) -> None:
    result = check(tmp_path, f"FROM {registry.host}/team/multi:1\n", "--online")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""


def test_offline_asks_no_registry(registry: Registry, tmp_path: Path) -> None:
    # Without --online an unknown image is no finding and no request.
    result = check(tmp_path, f"FROM {registry.host}/team/amd64only:1\n")
    assert result.returncode == 0, result.stdout + result.stderr


def test_unreachable_registry_warns_and_other_rules_still_run(tmp_path: Path) -> None:
    host = f"127.0.0.1:{free_port()}"
    dockerfile = f"FROM {host}/team/app:1\nRUN echo $TARGETARCH\n"
    result = check(tmp_path, dockerfile, "--online")
    # DA110 (TARGETARCH used without ARG) decides the exit code, not the registry.
    assert result.returncode == 1, result.stderr
    assert "DA110" in result.stdout
    assert "DA201" not in result.stdout
    [line] = result.stderr.splitlines()
    assert line.startswith("dockerarch: ")
    assert "warning: " in line and "platform check skipped" in line
    clean = check(tmp_path, f"FROM {host}/team/app:1\n", "--online")
    assert clean.returncode == 0 and "platform check skipped" in clean.stderr
