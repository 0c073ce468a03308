"""CI files that build images: GitHub Actions workflows, GitLab CI and bake files.

:func:`check_ci_file` checks one such file for multi-platform builds that
compile under QEMU emulation (DA801); :func:`discover_ci_files` finds them.
"""

from __future__ import annotations

from dockerarch.workflows.discover import ci_kind, discover_ci_files, repo_root
from dockerarch.workflows.emulation import CiResult, check_ci_file, check_workflow

__all__ = [
    "CiResult",
    "check_ci_file",
    "check_workflow",
    "ci_kind",
    "discover_ci_files",
    "repo_root",
]
