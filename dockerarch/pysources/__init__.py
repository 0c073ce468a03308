"""What Python packages a Docker build installs, read from its commands and build context.

Nothing here touches the network or executes project code: requirements files
are parsed like pip parses them, TOML/JSON with the standard parsers plus a
position locator, and ``setup.py`` with libcst.
"""

from __future__ import annotations

from dockerarch.pysources.model import (
    IndexOptions,
    PyRequirement,
    RequirementsResult,
    SourceIssue,
    exact_pin,
    make_requirement,
)
from dockerarch.pysources.pip import (
    Arg,
    PipInstall,
    parse_install_arguments,
    parse_pip_install,
    pip_install_args,
)
from dockerarch.pysources.poetry import poetry_specifier
from dockerarch.pysources.project import PROJECT_FILE_NAMES, read_project_file
from dockerarch.pysources.reqfile import is_requirements_name, read_requirements_file

__all__ = [
    "PROJECT_FILE_NAMES",
    "Arg",
    "IndexOptions",
    "PipInstall",
    "PyRequirement",
    "RequirementsResult",
    "SourceIssue",
    "exact_pin",
    "is_requirements_name",
    "make_requirement",
    "parse_install_arguments",
    "parse_pip_install",
    "pip_install_args",
    "poetry_specifier",
    "read_project_file",
    "read_requirements_file",
]
