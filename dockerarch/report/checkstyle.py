"""Checkstyle XML, which many CI plugins and review bots read."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from dockerarch.diagnostics import Severity
from dockerarch.report import FileReport, Located, Options, located
from dockerarch.report._xml import serialize, text

_SEVERITY = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "info"}


def render(files: Sequence[FileReport], options: Options) -> str:
    # Keyed by the primary path: a finding in a requirements file is listed
    # under that file, where the reader will go to change it.
    by_path: dict[str, list[Located]] = {f.name: [] for f in files}
    for item in located(files, options):
        by_path.setdefault(item.primary.path, []).append(item)
    root = ET.Element("checkstyle", version="4.3")
    for path, items in by_path.items():
        node = ET.SubElement(root, "file", name=text(path))
        for item in items:
            loc, d = item.primary, item.diagnostic
            ET.SubElement(
                node,
                "error",
                line=str(loc.line),
                column=str(loc.column),
                severity=_SEVERITY[d.severity],
                message=text(f"{d.message} ({d.code})"),
                source=f"dockerarch.{d.code}",
            )
    return serialize(root)
