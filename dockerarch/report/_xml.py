"""Helpers shared by the XML formats."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from dockerarch.lazyre import lazy_compile

# Characters XML 1.0 cannot hold at all, not even escaped.
_INVALID = lazy_compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def text(value: str) -> str:
    return _INVALID.sub("\ufffd", value)


def serialize(root: ET.Element) -> str:
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"
