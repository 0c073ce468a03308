"""What Python packages a Docker build installs, read from its commands and build context.

Nothing here touches the network or executes project code: requirements files
are parsed like pip parses them, TOML/JSON with the standard parsers plus a
position locator, and ``setup.py`` with libcst.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False
if TYPE_CHECKING:
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

#: How every program name pip_install_args recognises starts.
PROGRAM_STARTS = ("pip", "python", "pypy", "uv")
#: What the program name of every Python install dockerarch reads holds (pip_install_args',
#: and poetry, uv and pipenv for a project's own install): the needles of ``may_hold`` for
#: "this RUN installs nothing from PyPI". Here, not in pip.py, so that the rule pack can ask
#: without importing the readers.
INSTALLER_MARKS = (*PROGRAM_STARTS, "poetry")

# Each name is imported from its module on first use: a plain `pip install` needs neither the
# project-file nor the requirements-file readers, and importing them all costs start-up time.
_HOMES = {
    "IndexOptions": "model",
    "PyRequirement": "model",
    "RequirementsResult": "model",
    "SourceIssue": "model",
    "exact_pin": "model",
    "make_requirement": "model",
    "Arg": "pip",
    "PipInstall": "pip",
    "parse_install_arguments": "pip",
    "parse_pip_install": "pip",
    "pip_install_args": "pip",
    "poetry_specifier": "poetry",
    "PROJECT_FILE_NAMES": "project",
    "read_project_file": "project",
    "is_requirements_name": "reqfile",
    "read_requirements_file": "reqfile",
}

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


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
