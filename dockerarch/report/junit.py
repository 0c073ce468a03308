"""JUnit XML: a test suite per file, a failing test case per diagnostic.

A clean file gets one passing test case, so CI dashboards count it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from dockerarch.report import FileReport, Located, Options, located
from dockerarch.report._xml import serialize, text


def _case(suite: ET.Element, item: Located) -> None:
    loc, d = item.primary, item.diagnostic
    name = f"{d.code} ({item.name})" if item.name else d.code
    case = ET.SubElement(
        suite,
        "testcase",
        name=text(f"{name} at {loc.line}:{loc.column}"),
        classname=text(item.file.name),
        file=text(loc.path),
        line=str(loc.line),
    )
    failure = ET.SubElement(case, "failure", message=text(d.message), type=d.code)
    failure.text = text(f"{loc.path}:{loc.line}:{loc.column}: {d.code} {d.message}")


def render(files: Sequence[FileReport], options: Options) -> str:
    by_file: dict[str, list[Located]] = {f.name: [] for f in files}
    for item in located(files, options):
        by_file[item.file.name].append(item)
    total = sum(max(1, len(items)) for items in by_file.values())
    failures = sum(len(items) for items in by_file.values())
    root = ET.Element(
        "testsuites", name="dockerarch", tests=str(total), failures=str(failures), errors="0"
    )
    for name, items in by_file.items():
        suite = ET.SubElement(
            root,
            "testsuite",
            name=text(name),
            tests=str(max(1, len(items))),
            failures=str(len(items)),
            errors="0",
            skipped="0",
        )
        for item in items:
            _case(suite, item)
        if not items:
            ET.SubElement(suite, "testcase", name="dockerarch", classname=text(name))
    return serialize(root)
