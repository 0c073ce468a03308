"""The shell layer: RUN scripts as simple commands with the architectures they run for."""

from __future__ import annotations

from dockerarch.shell.model import (
    ARCHES,
    EVERYWHERE,
    ArchProbe,
    Assignment,
    Command,
    Guard,
    ProbeKind,
    Script,
    Word,
)
from dockerarch.shell.parse import parse_script

__all__ = [
    "ARCHES",
    "EVERYWHERE",
    "ArchProbe",
    "Assignment",
    "Command",
    "Guard",
    "ProbeKind",
    "Script",
    "Word",
    "parse_script",
]
