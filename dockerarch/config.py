"""Configuration files and how they and the command line become :class:`Settings`.

For each checked file the closest configuration wins, looking from the
file's directory upwards: ``.dockerarch.toml`` (top-level keys), then
``pyproject.toml`` (``[tool.dockerarch]``), then ``setup.cfg``
(``[dockerarch]``) in the same directory. Files are not merged. Relative
paths and globs in a file are relative to its directory (the project root).

Rule selection works in layers, as in ruff: the configuration, then the
command line, then ``per-file-ignores``. Within a layer the more specific
selector wins (ties go to ignore); a later layer overrides an earlier one,
and a layer's ``select`` starts over.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from dockerarch.diagnostics import Severity
from dockerarch.discover import GlobSet
from dockerarch.engine import Settings
from dockerarch.fileio import FileError, read_source
from dockerarch.lazyre import lazy_compile
from dockerarch.platforms import DEFAULT_PLATFORMS, Platform, normalize_arch
from dockerarch.records import field, record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

CONFIG_NAMES = (".dockerarch.toml", "pyproject.toml", "setup.cfg")
KEYS = (
    "select",
    "extend-select",
    "ignore",
    "per-file-ignores",
    "platforms",
    "severity",
    "exclude",
    "online",
    "cache-dir",
)
_SELECTOR = lazy_compile(r"DA\d{0,3}\Z", re.IGNORECASE)


class ConfigError(Exception):
    """A configuration problem; ``str()`` names the file (or option) and the key."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


@record
class Selection:
    """One layer of rule selection."""

    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()


@record
class FileConfig:
    """What one configuration file says; None or empty = not set there."""

    #: The file; None for the built-in defaults (no file, or --isolated).
    path: Path | None
    #: What relative paths and globs are relative to.
    root: Path
    selection: Selection = Selection()
    #: (glob, codes): those rules are off for files the glob matches.
    per_file_ignores: tuple[tuple[GlobSet, tuple[str, ...]], ...] = ()
    platforms: tuple[Platform, ...] | None = None
    severity: Mapping[str, Severity] = field(default_factory=dict)
    exclude: GlobSet = field(default_factory=lambda: GlobSet((), Path.cwd()))
    online: bool | None = None
    cache_dir: Path | None = None


@record
class Overrides:
    """What the command line sets; None = not given."""

    selection: Selection = Selection()
    platforms: tuple[Platform, ...] | None = None
    online: bool | None = None
    cache_dir: Path | None = None
    verbose: bool = False


def parse_selectors(values: Sequence[str], where: str, key: str) -> tuple[str, ...]:
    out = []
    for v in values:
        v = v.strip()
        if not v:
            continue
        if not _SELECTOR.match(v):
            raise ConfigError(
                where, f"'{key}': invalid rule selector '{v}' (expected DA and up to 3 digits)"
            )
        out.append(v.upper())
    return tuple(out)


def parse_platforms(values: Sequence[str], where: str, key: str) -> tuple[Platform, ...]:
    out = []
    for v in values:
        if not v.strip():
            continue
        try:
            platform = Platform.parse(v)
        except ValueError as e:
            raise ConfigError(where, f"'{key}': {e}") from None
        if normalize_arch(platform.arch) is None:
            raise ConfigError(
                where, f"'{key}': unknown architecture '{platform.arch}' in '{v.strip()}'"
            )
        out.append(platform)
    if not out:
        raise ConfigError(where, f"'{key}': no platforms given")
    return tuple(dict.fromkeys(out))


def split_list(value: str) -> list[str]:
    """An INI or command-line list: comma- or newline-separated."""
    return [p.strip() for p in re.split(r"[,\n]", value) if p.strip()]


# -- reading files ------------------------------------------------------------


def load_config(path: Path, root: Path | None = None) -> FileConfig:
    """Read one configuration file; its kind follows from its name."""
    where = str(path)
    try:
        text = read_source(path).text
    except FileError as e:
        raise ConfigError(where, e.problem) from None
    root = root or Path(os.path.abspath(path)).parent
    if path.suffix in (".cfg", ".ini"):
        table = _ini_table(text, where)
    else:
        data = _toml(text, where)
        table = (
            data.get("tool", {}).get("dockerarch", {}) if path.name == "pyproject.toml" else data
        )
        if not isinstance(table, dict):
            raise ConfigError(where, "[tool.dockerarch] must be a table")
    return _from_table(table, path, root)


# The readers of each format (and difflib's hints) are imported where a file needs them: most
# runs find no configuration file.


def _toml(text: str, where: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib

    try:
        return tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(where, f"invalid TOML: {e}") from None


def _ini_table(text: str, where: str) -> dict[str, Any]:
    import configparser

    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text.removeprefix("\ufeff"), source=where)
    except configparser.Error as e:
        raise ConfigError(where, f"invalid INI: {' '.join(str(e).split())}") from None
    if not parser.has_section("dockerarch"):
        return {}
    out: dict[str, Any] = {}
    for key, value in parser.items("dockerarch"):
        out[key] = _ini_value(key, value, where)
    return out


def _ini_value(key: str, value: str, where: str) -> Any:
    if key in ("per-file-ignores", "severity"):
        mapping: dict[str, Any] = {}
        for line in value.splitlines():
            if not line.strip():
                continue
            left, sep, right = line.rpartition(":")
            if not sep:
                raise ConfigError(where, f"'{key}': expected 'name: value' lines, got '{line}'")
            mapping[left.strip()] = (
                split_list(right) if key == "per-file-ignores" else right.strip()
            )
        return mapping
    if key == "online":
        lowered = value.strip().lower()
        if lowered in ("1", "yes", "true", "on"):
            return True
        if lowered in ("0", "no", "false", "off"):
            return False
        raise ConfigError(where, f"'online' must be true or false, got '{value.strip()}'")
    if key == "cache-dir":
        return value.strip()
    return split_list(value)


def _from_table(table: Mapping[str, Any], path: Path, root: Path) -> FileConfig:
    where = str(path)
    for key in table:
        if key not in KEYS:
            import difflib

            close = difflib.get_close_matches(key, KEYS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(where, f"unknown key '{key}'{hint}")

    def strings(key: str) -> list[str]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(where, f"'{key}' must be a list of strings")
        return value

    def mapping(key: str, check: Callable[[Any], bool], what: str) -> dict[str, Any]:
        value = table.get(key, {})
        if not isinstance(value, dict):
            raise ConfigError(where, f"'{key}' must be a table")
        for k, v in value.items():
            if not check(v):
                raise ConfigError(where, f"'{key}': value for '{k}' must be {what}")
        return value

    selection = Selection(
        select=parse_selectors(strings("select"), where, "select") if "select" in table else None,
        extend_select=parse_selectors(strings("extend-select"), where, "extend-select"),
        ignore=parse_selectors(strings("ignore"), where, "ignore"),
    )
    pfi = mapping(
        "per-file-ignores",
        lambda v: isinstance(v, list) and all(isinstance(c, str) for c in v),
        "a list of rule codes",
    )
    per_file = tuple(
        (GlobSet((glob,), root), parse_selectors(codes, where, f"per-file-ignores.{glob}"))
        for glob, codes in pfi.items()
    )
    severity = {}
    for code, level in mapping("severity", lambda v: isinstance(v, str), "a string").items():
        if not re.fullmatch(r"DA\d{3}", code, re.IGNORECASE):
            raise ConfigError(where, f"'severity': '{code}' is not a rule code")
        try:
            severity[code.upper()] = Severity(level.lower())
        except ValueError:
            raise ConfigError(
                where, f"'severity': '{code}' must be error, warning or info, not '{level}'"
            ) from None
    online = table.get("online")
    if online is not None and not isinstance(online, bool):
        raise ConfigError(where, "'online' must be true or false")
    cache_dir = table.get("cache-dir")
    if cache_dir is not None and not isinstance(cache_dir, str):
        raise ConfigError(where, "'cache-dir' must be a string")
    return FileConfig(
        path=path,
        root=root,
        selection=selection,
        per_file_ignores=per_file,
        platforms=(
            parse_platforms(strings("platforms"), where, "platforms")
            if "platforms" in table
            else None
        ),
        severity=severity,
        exclude=GlobSet(strings("exclude"), root),
        online=online,
        cache_dir=root / os.path.expanduser(cache_dir) if cache_dir is not None else None,
    )


# -- finding files ------------------------------------------------------------


def _declares(path: Path) -> bool:
    """Whether a config file holds dockerarch settings; a cheap test before parsing."""
    if path.name == ".dockerarch.toml":
        return path.is_file()
    try:
        raw = path.read_bytes()
    except OSError:
        return False
    marker = b"[tool.dockerarch" if path.name == "pyproject.toml" else b"[dockerarch]"
    return marker in raw


class Resolver:
    """The configuration of every directory, found once each.

    ``config_file`` (``--config``) applies to every file, its relative
    paths taken from the working directory as in ruff; ``isolated`` ignores
    all configuration files.
    """

    def __init__(self, config_file: Path | None = None, isolated: bool = False) -> None:
        self._cwd = Path.cwd()
        self._fixed: FileConfig | None = None
        if isolated:
            self._fixed = FileConfig(None, self._cwd)
        elif config_file is not None:
            self._fixed = load_config(config_file, root=self._cwd)
        self._by_dir: dict[Path, FileConfig] = {}

    def for_directory(self, directory: Path) -> FileConfig:
        if self._fixed is not None:
            return self._fixed
        directory = Path(os.path.abspath(directory))
        cached = self._by_dir.get(directory)
        if cached is not None:
            return cached
        config = self._find(directory)
        self._by_dir[directory] = config
        return config

    def _find(self, directory: Path) -> FileConfig:
        for name in CONFIG_NAMES:
            candidate = directory / name
            if _declares(candidate):
                return load_config(candidate)
        if directory.parent == directory:
            return FileConfig(None, self._cwd)
        return self.for_directory(directory.parent)

    def for_file(self, path: Path) -> FileConfig:
        return self.for_directory(Path(os.path.abspath(path)).parent)

    def excluded(self, path: Path, is_dir: bool) -> bool:
        return self.for_file(path).exclude.matches(path, is_dir)


# -- resolving ----------------------------------------------------------------


def _apply(select: list[str], ignore: list[str], layer: Selection) -> tuple[list[str], list[str]]:
    if layer.select is not None:
        select, ignore = [], []
    added = (*(layer.select or ()), *layer.extend_select)
    # A later layer wins over anything an earlier one said about the same
    # rules or narrower groups of them.
    select = [s for s in select if not s.startswith(layer.ignore)] + list(added)
    ignore = [i for i in ignore if not i.startswith(added)] + list(layer.ignore)
    return select, ignore


def settings_for(config: FileConfig, overrides: Overrides, path: Path | None) -> Settings:
    """The :class:`Settings` for one file (``path`` None when it has no name)."""
    select, ignore = _apply(["DA"], [], config.selection)
    select, ignore = _apply(select, ignore, overrides.selection)
    if path is not None:
        for glob, codes in config.per_file_ignores:
            if glob.matches(path, False):
                select, ignore = _apply(select, ignore, Selection(ignore=codes))
    return Settings(
        platforms=overrides.platforms or config.platforms or DEFAULT_PLATFORMS,
        select=tuple(dict.fromkeys(select)),
        ignore=tuple(dict.fromkeys(ignore)),
        severity=dict(config.severity),
        online=overrides.online if overrides.online is not None else bool(config.online),
        cache_dir=overrides.cache_dir or config.cache_dir,
        verbose=overrides.verbose,
    )
