"""What an npm, yarn or pnpm step installs: command words, package.json and lockfiles.

Every dependency read from a file carries the 1-based line/column of its name there; those
from a command carry the index of the word. Files are read only inside the build context
(symlinks resolved, ``..`` escapes refused) through ``dockerarch.pysources.files``.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath

from dockerarch.lazyre import lazy_compile
from dockerarch.pysources.files import ContextError, read_text_in_root
from dockerarch.records import field, record, replace
from dockerarch.syntax.positions import LineIndex, Position

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "LOCKFILE_NAMES",
    "ContextError",
    "NpmCommand",
    "NpmDependency",
    "is_registry_spec",
    "parse_npm_command",
    "parse_package_json",
    "parse_package_lock",
    "parse_pnpm_lock",
    "parse_yarn_lock",
    "read_npm_file",
    "split_package_spec",
]


@record(slots=True)
class NpmDependency:
    """One package named by a command or a file.

    ``spec`` is what was asked for (range, tag, exact version; "" for "latest"); ``locked``
    says it comes from a lockfile and is the exact installed version. ``registry`` is False
    for git, URL, path and workspace specs, which no registry document describes.
    """

    name: str
    spec: str
    source: str
    position: Position | None = None
    word_index: int | None = None
    dev: bool = False
    optional: bool = False
    locked: bool = False
    registry: bool = True
    has_install_script: bool | None = None


@record(slots=True)
class NpmCommand:
    """An install command of npm, yarn or pnpm.

    ``from_manifest`` means it installs what package.json / the lockfile lists (``npm ci``,
    ``yarn``, ``pnpm install`` without names). ``ignore_scripts`` means no install script and
    hence no native build or binary download runs.
    """

    tool: str
    subcommand: str
    packages: tuple[NpmDependency, ...]
    from_manifest: bool
    ignore_scripts: bool = False
    build_from_source: bool = False
    global_install: bool = False
    omit_dev: bool = False
    omit_optional: bool = False
    dev: bool = False
    platform_overrides: Mapping[str, str] = field(default_factory=dict)
    flags: tuple[str, ...] = ()


_NPM_INSTALL = {
    "install", "i", "in", "ins", "inst", "insta", "instal", "isnt", "isnta", "isntal",
    "isntall", "add", "ci", "clean-install", "ic", "install-clean", "isntall-clean",
}  # fmt: skip
_NPM_MANIFEST_ONLY = {"ci", "clean-install", "ic", "install-clean", "isntall-clean"}
_YARN_INSTALL = {"add", "install"}
_PNPM_INSTALL = {"add", "install", "i"}

# Options that take the next word as their value when not written as --opt=value.
_VALUE_OPTS = {
    "npm": {
        "--registry", "--prefix", "-C", "--omit", "--include", "--workspace", "-w", "--tag",
        "--cache", "--loglevel", "--userconfig", "--globalconfig", "--install-strategy",
        "--cpu", "--os", "--libc", "--arch", "--target_arch", "--target_platform", "--otp",
        "--before", "--location", "--fetch-timeout", "--fetch-retries", "--scope",
    },
    "yarn": {
        "--cwd", "--registry", "--network-timeout", "--modules-folder", "--cache-folder",
        "--mutex", "--network-concurrency", "--mode",
    },
    "pnpm": {
        "--filter", "-F", "-C", "--dir", "--registry", "--reporter", "--store-dir",
        "--virtual-store-dir", "--network-concurrency", "--child-concurrency", "--cpu",
        "--os", "--libc",
    },
}  # fmt: skip
_ENV_WORD = lazy_compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_TRUE = {"", "true", "1", "yes"}


_NOT_REGISTRY = lazy_compile(
    r"^(?:git\+|git:|https?:|file:|link:|workspace:|portal:|patch:|github:|gitlab:|bitbucket:"
    r"|\.|/|~/)"
    r"|^[\w.-]+/[\w.-]+(?:#.*)?$"  # GitHub "user/repo" shorthand
    r"|\.t(?:ar\.)?gz$"
)


def is_registry_spec(spec: str) -> bool:
    """True for versions, ranges and tags; False for git, URL, path and workspace specs."""
    return _NOT_REGISTRY.search(spec) is None


def split_package_spec(word: str) -> tuple[str, str, bool]:
    """``name@spec`` -> (name, spec, registry?); aliases ``a@npm:b@1`` give ("b", "1", True)."""
    if not is_registry_spec(word) and not word.startswith("@"):
        return word, "", False
    at = word.find("@", 1)
    name, spec = (word, "") if at == -1 else (word[:at], word[at + 1 :])
    if spec.startswith("npm:"):
        return split_package_spec(spec[4:])
    return name, spec, is_registry_spec(spec)


def _tool(word: str) -> str | None:
    base = PurePosixPath(word).name
    return base if base in ("npm", "yarn", "pnpm") else None


def parse_npm_command(words: Sequence[str]) -> NpmCommand | None:
    """An install command from already-unquoted words, or None if it is not one.

    Leading ``VAR=value`` words count as the command's environment (``npm_config_*``).
    """
    # Files repeat their install commands, and the reading depends on the words alone.
    return _parse_npm_command(tuple(words))


@functools.lru_cache(maxsize=4096)
def _parse_npm_command(words: tuple[str, ...]) -> NpmCommand | None:
    env: dict[str, str] = {}
    start = 0
    while start < len(words) and _ENV_WORD.match(words[start]):
        key, _, value = words[start].partition("=")
        env[key.lower()] = value
        start += 1
    if start >= len(words):
        return None
    tool = _tool(words[start])
    if tool is None:
        return None
    rest = list(enumerate(words))[start + 1 :]
    value_opts = _VALUE_OPTS[tool]
    positional: list[tuple[int, str]] = []
    opts: list[tuple[str, str | None]] = []
    flags: list[str] = []
    i = 0
    while i < len(rest):
        idx, word = rest[i]
        i += 1
        if word == "--":
            positional.extend(rest[i:])
            break
        if word.startswith("-") and word != "-":
            flags.append(word)
            name, eq, value = word.partition("=")
            if not eq and name in value_opts and i < len(rest):
                value = rest[i][1]
                flags.append(value)
                i += 1
                opts.append((name, value))
            else:
                opts.append((name, value if eq else None))
            continue
        positional.append((idx, word))
    if tool == "yarn" and positional and positional[0][1] == "global":
        opts.append(("--global", None))
        positional = positional[1:]
    if not positional:
        if tool == "npm":
            return None
        subcommand = "install"  # bare "yarn" / "pnpm" with flags only
    else:
        subcommand = positional[0][1]
        positional = positional[1:]
    known = {"npm": _NPM_INSTALL, "yarn": _YARN_INSTALL, "pnpm": _PNPM_INSTALL}[tool]
    if subcommand not in known:
        return None
    return _build_command(tool, subcommand, positional, opts, flags, env)


def _flag(opts: Sequence[tuple[str, str | None]], *names: str) -> bool | None:
    state: bool | None = None
    for name, value in opts:
        if name in names:
            state = value is None or value.lower() in _TRUE
        elif name.startswith("--no-") and "--" + name[5:] in names:
            state = False
    return state


def _build_command(
    tool: str,
    subcommand: str,
    positional: Sequence[tuple[int, str]],
    opts: Sequence[tuple[str, str | None]],
    flags: Sequence[str],
    env: Mapping[str, str],
) -> NpmCommand:
    def env_flag(key: str) -> bool:
        return env.get(f"npm_config_{key}", "false").lower() in _TRUE - {""}

    omits = {v for n, v in opts if n == "--omit" and v} | {
        v for k, v in env.items() if k == "npm_config_omit"
    }
    dev = bool(_flag(opts, "-D", "--save-dev", "--dev"))
    optional = bool(_flag(opts, "-O", "--save-optional", "--optional"))
    packages = []
    if subcommand not in _NPM_MANIFEST_ONLY:
        for idx, word in positional:
            name, spec, registry = split_package_spec(word)
            packages.append(
                NpmDependency(
                    name, spec, "command", None, idx, dev=dev, optional=optional, registry=registry
                )
            )
    production = _flag(opts, "--production", "--prod", "-P")
    overrides = {
        n.lstrip("-"): v for n, v in opts if n in ("--cpu", "--os", "--libc", "--arch") and v
    }
    return NpmCommand(
        tool=tool,
        subcommand=subcommand,
        packages=tuple(packages),
        from_manifest=not packages,
        ignore_scripts=bool(_flag(opts, "--ignore-scripts")) or env_flag("ignore_scripts"),
        build_from_source=bool(_flag(opts, "--build-from-source")) or env_flag("build_from_source"),
        global_install=bool(_flag(opts, "-g", "--global")) or env_flag("global"),
        omit_dev=bool(production) or "dev" in omits or env_flag("production"),
        omit_optional="optional" in omits or _flag(opts, "--optional") is False,
        dev=dev,
        platform_overrides=overrides,
        flags=tuple(flags),
    )


# ---------------------------------------------------------------------------------------------
# JSON with key positions
# ---------------------------------------------------------------------------------------------


class _PosDict(dict[str, "Any"]):  # a string: typing is imported for type checkers only
    """A JSON object that remembers the offset of each key's opening quote."""

    offsets: dict[str, int]


_DECODER = json.JSONDecoder()


def _skip(text: str, i: int) -> int:
    """The offset of the first non-whitespace character at or after ``i``."""
    while i < len(text) and text[i] in " \t\n\r":
        i += 1
    return i


def _parse_json(text: str) -> Any:
    value, end = _value(text, _skip(text, 0))
    if _skip(text, end) != len(text):
        raise ValueError(f"extra data at offset {end}")
    return value


def _value(text: str, i: int) -> tuple[Any, int]:
    ch = text[i : i + 1]
    if ch == "{":
        obj = _PosDict()
        obj.offsets = {}
        i = _skip(text, i + 1)
        if text[i : i + 1] == "}":
            return obj, i + 1
        while True:
            if text[i : i + 1] != '"':
                raise ValueError(f"expected a key at offset {i}")
            key_at = i
            key, i = _DECODER.raw_decode(text, i)
            i = _skip(text, i)
            if text[i : i + 1] != ":":
                raise ValueError(f"expected ':' at offset {i}")
            val, i = _value(text, _skip(text, i + 1))
            obj[key] = val
            obj.offsets[key] = key_at
            i = _skip(text, i)
            if text[i : i + 1] == ",":
                i = _skip(text, i + 1)
                continue
            if text[i : i + 1] == "}":
                return obj, i + 1
            raise ValueError(f"expected ',' or '}}' at offset {i}")
    if ch == "[":
        items: list[Any] = []
        i = _skip(text, i + 1)
        if text[i : i + 1] == "]":
            return items, i + 1
        while True:
            val, i = _value(text, i)
            items.append(val)
            i = _skip(text, i)
            if text[i : i + 1] == ",":
                i = _skip(text, i + 1)
                continue
            if text[i : i + 1] == "]":
                return items, i + 1
            raise ValueError(f"expected ',' or ']' at offset {i}")
    return _DECODER.raw_decode(text, i)


def _load_json(text: str, path: str) -> _PosDict:
    try:
        data = _parse_json(text.lstrip("\ufeff"))
    except (ValueError, IndexError) as exc:
        raise ContextError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data, _PosDict):
        raise ContextError(f"{path} is not a JSON object")
    return data


def _name_position(index: LineIndex, obj: _PosDict, key: str) -> Position:
    return index.position(obj.offsets[key] + 1)  # the name, after the opening quote


# ---------------------------------------------------------------------------------------------
# package.json and package-lock.json
# ---------------------------------------------------------------------------------------------

_DEP_SECTIONS = (
    ("dependencies", False, False),
    ("optionalDependencies", False, True),
    ("devDependencies", True, False),
)


def parse_package_json(text: str, path: str = "package.json") -> list[NpmDependency]:
    data = _load_json(text, path)
    index = LineIndex(text)
    out: list[NpmDependency] = []
    for section, dev, optional in _DEP_SECTIONS:
        deps = data.get(section)
        if not isinstance(deps, _PosDict):
            continue
        for key, spec in deps.items():
            if not isinstance(spec, str):
                continue
            name, registry = key, is_registry_spec(spec)
            if spec.startswith("npm:"):  # "alias": "npm:real@range" installs "real"
                name, spec, registry = split_package_spec(spec[4:])
            position = _name_position(index, deps, key)
            out.append(
                NpmDependency(name, spec, path, position, None, dev, optional, registry=registry)
            )
    return out


def parse_package_lock(text: str, path: str = "package-lock.json") -> list[NpmDependency]:
    """Entries of a v2/v3 ``packages`` map, or of v1's nested ``dependencies``."""
    data = _load_json(text, path)
    index = LineIndex(text)
    packages = data.get("packages")
    if isinstance(packages, _PosDict):
        return list(_lock_packages(packages, index, path))
    deps = data.get("dependencies")
    return list(_lock_v1(deps, index, path)) if isinstance(deps, _PosDict) else []


def _lock_packages(packages: _PosDict, index: LineIndex, path: str) -> Iterator[NpmDependency]:
    for key, entry in packages.items():
        if "node_modules/" not in key or not isinstance(entry, dict) or entry.get("link"):
            continue
        name = str(entry.get("name") or key.rsplit("node_modules/", 1)[1])
        version = str(entry.get("version", ""))
        yield NpmDependency(
            name,
            version,
            path,
            # The package's own segment of "node_modules/a/node_modules/b".
            index.position(packages.offsets[key] + 1 + key.rfind("node_modules/") + 13),
            dev=bool(entry.get("dev") or entry.get("devOptional")),
            optional=bool(entry.get("optional")),
            locked=True,
            registry=bool(version) and is_registry_spec(version),
            has_install_script=bool(entry.get("hasInstallScript")),
        )


def _lock_v1(deps: _PosDict, index: LineIndex, path: str) -> Iterator[NpmDependency]:
    for name, entry in deps.items():
        if not isinstance(entry, dict):
            continue
        version = str(entry.get("version", ""))
        alias = re.match(r"^npm:(@?[^@]+)@(.+)$", version)
        real, real_version = (alias.group(1), alias.group(2)) if alias else (name, version)
        yield NpmDependency(
            real,
            real_version,
            path,
            _name_position(index, deps, name),
            dev=bool(entry.get("dev")),
            optional=bool(entry.get("optional")),
            locked=True,
            registry=is_registry_spec(real_version),
        )
        nested = entry.get("dependencies")
        if isinstance(nested, _PosDict):
            yield from _lock_v1(nested, index, path)


# ---------------------------------------------------------------------------------------------
# yarn.lock (classic v1 and berry)
# ---------------------------------------------------------------------------------------------


def _descriptors(header: str) -> list[tuple[str, int]]:
    """Comma-separated, optionally quoted descriptors of a yarn.lock entry, with offsets."""
    out: list[tuple[str, int]] = []
    for m in re.finditer(r'"([^"]*)"|([^,\s"][^,]*)', header):
        group = 1 if m.group(1) is not None else 2
        # Berry quotes the whole list: "a@npm:1, a@npm:^1".
        for part in re.finditer(r"[^,\s][^,]*", m.group(group)):
            out.append((part.group().strip(), m.start(group) + part.start()))
    return out


def _yarn_descriptor(desc: str) -> tuple[str, bool]:
    """Package name of ``name@range`` (classic) or ``name@npm:range`` (berry) and registry?."""
    at = desc.find("@", 1)
    name, spec = (desc, "") if at == -1 else (desc[:at], desc[at + 1 :])
    if spec.startswith("npm:"):
        spec = spec[4:]
        if spec.find("@", 1) != -1:  # an alias: the real name follows "npm:"
            name, spec, _ = split_package_spec(spec)
    return name, is_registry_spec(spec)


def parse_yarn_lock(text: str, path: str = "yarn.lock") -> list[NpmDependency]:
    index = LineIndex(text)
    out: list[NpmDependency] = []
    lines = text.split("\n")
    offset = 0
    entry: tuple[str, int, bool] | None = None  # (name, offset, registry)
    for line in lines:
        stripped = line.rstrip("\r")
        if stripped and not stripped[0].isspace() and not stripped.startswith("#"):
            entry = None
            if stripped.endswith(":") and not stripped.startswith("__metadata"):
                descs = _descriptors(stripped[:-1])
                if descs:
                    desc, at = descs[0]
                    name, registry = _yarn_descriptor(desc)
                    entry = (name, offset + at, registry)
        elif entry is not None:
            m = re.match(r'^\s+version:?\s+"?([^"\s]+)"?\s*$', stripped)
            if m:
                name, at, registry = entry
                out.append(
                    NpmDependency(
                        name,
                        m.group(1),
                        path,
                        index.position(at),
                        locked=True,
                        registry=registry and not m.group(1).startswith("0.0.0-use.local"),
                    )
                )
                entry = None
        offset += len(line) + 1
    return out


# ---------------------------------------------------------------------------------------------
# pnpm-lock.yaml (v5.x, v6, v9), read line by line: only a few keys are needed
# ---------------------------------------------------------------------------------------------

# (?! ) keeps the indent whole: letting it shrink would rescan a long line once per space.
_PNPM_KEY = lazy_compile(r"^(?P<indent> *)(?! )(?P<key>'[^']*'|\"[^\"]*\"|[^:#][^:]*?):(?:\s|$)")


def _pnpm_name_version(key: str) -> tuple[str, str] | None:
    key = key.strip("'\"")
    # A trailing "(peer deps)" suffix goes from the first "(" on, without a regex that would
    # rescan the key once per "(".
    paren = key.find("(")
    if paren != -1 and key.endswith(")"):
        key = key[:paren]
    key = key.lstrip("/")
    if ":" in key.split("@", 2)[-1] and not re.search(r"@\d", key):
        return None  # file:, link:, git specifiers
    at = key.find("@", 1)
    if at != -1:
        name, version = key[:at], key[at + 1 :]
    else:  # lockfile v5: /name/version or /@scope/name/version
        name, _, version = key.rpartition("/")
    version = version.split("_", 1)[0]
    return (name, version) if name and version else None


def parse_pnpm_lock(text: str, path: str = "pnpm-lock.yaml") -> list[NpmDependency]:
    index = LineIndex(text)
    out: list[NpmDependency] = []
    dev_only: set[str] = set()
    prod: set[str] = set()
    section: str | None = None
    dep_kind: str | None = None
    current: dict[str, Any] | None = None
    offset = 0
    for raw in text.split("\n"):
        line = raw.rstrip("\r")
        m = _PNPM_KEY.match(line)
        if m and not line.lstrip().startswith("#"):
            depth = len(m.group("indent"))
            key = m.group("key").strip()
            if depth == 0:
                section, dep_kind, current = key, None, None
                if key in ("dependencies", "devDependencies", "optionalDependencies"):
                    dep_kind = key  # lockfile v5/v6 single-project layout
            elif section == "importers" and depth == 4:
                dep_kind = key
            elif section == "packages" and depth == 2:
                nv = _pnpm_name_version(key)
                current = None
                if nv is not None:
                    # Point at the name: past a quote and lockfile v5/v6's leading "/".
                    skip = len(key) - len(key.lstrip("'\"")) if key[:1] in "'\"" else 0
                    skip += 1 if key[skip : skip + 1] == "/" else 0
                    current = {"name": nv[0], "version": nv[1], "at": offset + depth + skip}
                    out.append(_pnpm_dep(current, index, path))
            elif section == "packages" and depth == 4 and current is not None:
                value = line[m.end() :].strip()
                if key == "dev" and value == "true":
                    out[-1] = _pnpm_dep({**current, "dev": True}, index, path)
                    current["dev"] = True
                elif key == "requiresBuild" and value == "true":
                    current["build"] = True
                    out[-1] = _pnpm_dep(current, index, path)
            if dep_kind is not None:
                expected = 2 if section == dep_kind else 6
                if depth == expected:
                    (dev_only if dep_kind == "devDependencies" else prod).add(key.strip("'\""))
        offset += len(raw) + 1
    only_dev = dev_only - prod
    return [replace(d, dev=True) if d.name in only_dev else d for d in out]


def _pnpm_dep(entry: Mapping[str, Any], index: LineIndex, path: str) -> NpmDependency:
    return NpmDependency(
        entry["name"],
        entry["version"],
        path,
        index.position(entry["at"]),
        dev=bool(entry.get("dev")),
        locked=True,
        has_install_script=True if entry.get("build") else None,
    )


# ---------------------------------------------------------------------------------------------
# Reading from the build context
# ---------------------------------------------------------------------------------------------

LOCKFILE_NAMES = ("package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml")
_PARSERS = {
    "package.json": parse_package_json,
    "package-lock.json": parse_package_lock,
    "npm-shrinkwrap.json": parse_package_lock,
    "yarn.lock": parse_yarn_lock,
    "pnpm-lock.yaml": parse_pnpm_lock,
}


def read_npm_file(path: Path | str, root: Path | str) -> list[NpmDependency]:
    """Dependencies in a package.json or lockfile inside the build context ``root``.

    Raises ContextError for files outside the context (after resolving symlinks), missing,
    too large, not text, or not parseable.
    """
    path, root = Path(path), Path(root)
    parser = _PARSERS.get(path.name)
    if parser is None:
        raise ContextError(f"{path}: not a package.json or npm/yarn/pnpm lockfile")
    text, _ = read_text_in_root(path, root)
    shown = path.as_posix() if not path.is_absolute() else path.name
    return parser(text, shown)
