"""Finding the CI files that build images: GitHub Actions workflows, GitLab CI, bake files."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from dockerarch.discover import SKIP_DIRS, Excluded

GITHUB = "github"
GITLAB = "gitlab"
BAKE = "bake"

BAKE_NAMES = frozenset(
    {"docker-bake.hcl", "docker-bake.json", "docker-bake.override.hcl", "docker-bake.override.json"}
)


def ci_kind(path: Path) -> str | None:
    """Which kind of CI file ``path`` is by its name and place, if any."""
    name = path.name
    in_workflows = path.parent.name == "workflows" and path.parent.parent.name == ".github"
    if in_workflows and name.endswith((".yml", ".yaml")):
        return GITHUB
    if name == ".gitlab-ci.yml":
        return GITLAB
    if name in BAKE_NAMES:
        return BAKE
    return None


def repo_root(path: Path) -> Path:
    """The directory a CI file's relative paths start from.

    Workflows run in a checkout of the repository: the directory holding
    ``.github/``. GitLab jobs start in the project directory, where
    ``.gitlab-ci.yml`` lives; bake resolves paths from where it is run, which
    is taken to be the bake file's directory.
    """
    if ci_kind(path) == GITHUB:
        return path.parent.parent.parent
    return path.parent


def discover_ci_files(root: Path, excluded: Excluded | None = None) -> Iterator[Path]:
    """CI files under ``root`` in a stable order (``.github`` is walked, other dot-dirs too)."""
    skip = excluded or (lambda _path, _is_dir: False)
    for directory, dirnames, filenames in os.walk(root):
        here = Path(directory)
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not skip(here / d, True))
        for name in sorted(filenames):
            path = here / name
            if ci_kind(path) is not None and not skip(path, False):
                yield path
