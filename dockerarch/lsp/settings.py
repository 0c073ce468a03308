"""Editor settings (section ``dockerarch``) and a file's resolved :class:`Settings`.

Editors send settings as loose JSON: from ``initializationOptions``, a
``workspace/configuration`` answer or a ``didChangeConfiguration`` payload.
Only keys that are present count; a bad value is reported and skipped, never
fatal. They layer over the project's configuration file exactly as the
command line does (:func:`dockerarch.config.settings_for`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from dockerarch.config import ConfigError, Overrides, Selection, parse_platforms, parse_selectors
from dockerarch.platforms import Platform
from dockerarch.records import record

SECTION = "dockerarch"
_WHERE = "editor settings"
T = TypeVar("T")


@record
class EditorSettings:
    """What the editor set; None means "not set here"."""

    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] | None = None
    platforms: tuple[Platform, ...] | None = None
    online: bool | None = None
    unsafe_fixes: bool | None = None

    def over(self, base: EditorSettings) -> EditorSettings:
        """These settings layered over ``base``."""
        return EditorSettings(
            select=self.select if self.select is not None else base.select,
            ignore=self.ignore if self.ignore is not None else base.ignore,
            platforms=self.platforms if self.platforms is not None else base.platforms,
            online=self.online if self.online is not None else base.online,
            unsafe_fixes=self.unsafe_fixes if self.unsafe_fixes is not None else base.unsafe_fixes,
        )

    def overrides(self) -> Overrides:
        """The editor's choices as the layer the command line would be."""
        return Overrides(
            selection=Selection(select=self.select, ignore=self.ignore or ()),
            platforms=self.platforms,
            online=self.online,
        )


def section(raw: object) -> object:
    """The ``dockerarch`` section of a payload that may or may not be wrapped in it."""
    if isinstance(raw, Mapping) and isinstance(raw.get(SECTION), Mapping):
        return raw[SECTION]
    return raw


def parse_editor_settings(raw: object, warn: Callable[[str], None]) -> EditorSettings:
    if raw is None:
        return EditorSettings()
    if not isinstance(raw, Mapping):
        warn(f"{_WHERE}: expected an object, got {type(raw).__name__}")
        return EditorSettings()
    select = _strings(raw, "select", warn)
    ignore = _strings(raw, "ignore", warn)
    platforms = _strings(raw, "platforms", warn)
    return EditorSettings(
        select=_checked(parse_selectors, select, "select", warn),
        ignore=_checked(parse_selectors, ignore, "ignore", warn),
        platforms=_checked(parse_platforms, platforms, "platforms", warn),
        online=_flag(raw, "online", warn),
        unsafe_fixes=_flag(raw, "unsafeFixes", warn),
    )


def _strings(raw: Mapping[str, object], key: str, warn: Callable[[str], None]) -> list[str] | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    warn(f"{_WHERE}: '{key}' must be a list of strings")
    return None


def _checked(
    parse: Callable[[list[str], str, str], tuple[T, ...]],
    values: list[str] | None,
    key: str,
    warn: Callable[[str], None],
) -> tuple[T, ...] | None:
    if values is None:
        return None
    try:
        return parse(values, _WHERE, key)
    except ConfigError as exc:
        warn(str(exc))
        return None


def _flag(raw: Mapping[str, object], key: str, warn: Callable[[str], None]) -> bool | None:
    value = raw.get(key)
    if value is None or isinstance(value, bool):
        return value
    warn(f"{_WHERE}: '{key}' must be true or false")
    return None
