"""What a source build needs, and which distro packages provide it.

The tables live in ``data/builddeps.toml``. A *capability* is an abstract build need ("cc",
"c++", "make", "pkg-config", "python-headers", "rust", "fortran", or a C library such as
"libpq"); package managers are ``apt``, ``apk``, ``yum``, ``dnf``, ``microdnf`` and ``zypper``.

Typical use::

    needs = requirements_for("npm", "canvas") | toolchain_for("npm")
    todo = missing("yum", installed_packages, needs, have=env.capabilities)
    packages_for("yum", todo)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from functools import cache, lru_cache

from dockerarch.knowledge import curated
from dockerarch.pynames import canonicalize_name
from dockerarch.records import field, record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Literal, TypeAlias

__all__ = [
    "BuildNeeds",
    "Ecosystem",
    "missing",
    "normalize_package",
    "packages_for",
    "provides",
    "requirements_for",
    "source_build_needs",
    "toolchain_for",
]

# A string, so that typing is imported by type checkers only.
Ecosystem: TypeAlias = 'Literal["pypi", "npm", "gem"]'


@record
class BuildNeeds:
    """Capabilities a build needs, in install order, plus upstream's own install lines."""

    capabilities: tuple[str, ...]
    optional: frozenset[str] = frozenset()
    """Wanted only where an upstream recipe names a package for them."""
    recipes: Mapping[str, tuple[str, ...]] = field(default_factory=dict, compare=False)
    """Upstream's documented package list per family ("apt", "rpm", "apk", "zypper")."""
    source: str = ""
    note: str = ""

    def __bool__(self) -> bool:
        return bool(self.capabilities)

    def __or__(self, other: BuildNeeds) -> BuildNeeds:
        merged = _ordered((*self.capabilities, *other.capabilities))
        return BuildNeeds(
            capabilities=merged,
            optional=(self.optional | other.optional) - set(merged),
            recipes={**other.recipes, **self.recipes},
            source="; ".join(s for s in (self.source, other.source) if s),
            note="; ".join(n for n in (self.note, other.note) if n),
        )

    def without(self, present: Iterable[str]) -> BuildNeeds:
        """These needs less the capabilities in ``present``."""
        gone = set(present)
        return BuildNeeds(
            capabilities=tuple(c for c in self.capabilities if c not in gone),
            optional=self.optional - gone,
            recipes=self.recipes,
            source=self.source,
            note=self.note,
        )


@lru_cache(maxsize=8192)
def normalize_package(spec: str) -> str:
    """A package name from a command-line spec: ``gcc=4:12.2.0-3`` -> ``gcc``.

    Drops apt ``=version`` and ``:arch``, apk ``=``/``~``/``<``/``>`` constraints and ``@tag``,
    and a trailing RPM ``-<version>`` (``gcc-c++-11.3`` -> ``gcc-c++``); keeps version-like
    parts of names such as ``python3.11-dev`` or ``libpython3.11-dev``.
    """
    name = spec.strip().strip("'\"").lower()
    if name.startswith("@"):  # yum/dnf group
        return name
    name = re.split(r"[=<>~]", name, maxsplit=1)[0]
    name = name.split("@", 1)[0]
    name = re.sub(r"-\d+:.*$", "", name)  # RPM epoch: openssl-devel-1:3.0.7-27.el9
    name = name.split(":", 1)[0]
    # RPM name-version[-release]: a dash followed by a digit-led tail with a dot.
    match = re.fullmatch(r"(.+?)-\d[\w.+]*(?:-[\w.+]+)?", name)
    if match and "." in name[len(match.group(1)) :] and not _is_versioned_name(name):
        name = match.group(1)
    return name.rstrip("*")


def provides(package_manager: str, installed_packages: Iterable[str]) -> set[str]:
    """Capabilities the installed packages give (meta packages and groups expanded)."""
    found: set[str] = set()
    for spec in installed_packages:
        found |= _provided_by(package_manager, normalize_package(spec))
    return found


# Every stage and platform asks again about the same few installed packages;
# matching one against every pattern of the table is the cost, so it is paid once.
@lru_cache(maxsize=8192)
def _provided_by(package_manager: str, name: str) -> frozenset[str]:
    exact, globs = _provides_table(package_manager)
    found = set(exact.get(name, ()))
    for pattern, capabilities in globs:
        if fnmatchcase(name, pattern):
            found.update(capabilities)
    return frozenset(found)


@cache
def _provides_table(
    package_manager: str,
) -> tuple[dict[str, list[str]], list[tuple[str, list[str]]]]:
    """The family's ``provides`` table as exact names and glob patterns, lower-cased.

    Most entries are plain names: matched by a dict lookup, they cost no fnmatch regex
    (compiling one per entry was ~5 ms of the first file's check).
    """
    exact: dict[str, list[str]] = {}
    globs: list[tuple[str, list[str]]] = []
    for pattern, capabilities in _family_table(package_manager, "provides").items():
        key = pattern.lower()
        if any(ch in key for ch in "*?["):
            globs.append((key, capabilities))
        else:
            exact.setdefault(key, []).extend(capabilities)
    return exact, globs


def requirements_for(ecosystem: Ecosystem, package: str) -> BuildNeeds | None:
    """What building ``package`` from source needs, or None when the table has no entry.

    For npm this is what the addon itself adds; node-gyp's toolchain is ``toolchain_for("npm")``.
    """
    entries: Mapping[str, Any] = _data().get(ecosystem, {})
    entry = entries.get(_canonical(ecosystem, package))
    if entry is None:
        return None
    recipes = {family: tuple(names) for family, names in entry.get("recipes", {}).items()}
    return BuildNeeds(
        capabilities=_ordered(entry["needs"]),
        optional=frozenset(entry.get("optional", ())),
        recipes=recipes,
        source=str(entry.get("source", "")),
        note=str(entry.get("note", "")),
    )


def toolchain_for(ecosystem: Ecosystem) -> BuildNeeds:
    """The toolchain every native build in ``ecosystem`` needs (node-gyp, setuptools, mkmf)."""
    return BuildNeeds(capabilities=_ordered(_data()["toolchains"][ecosystem]))


# Asked for every source build on every target platform, with the same few packages.
@lru_cache(maxsize=4096)
def source_build_needs(ecosystem: Ecosystem, package: str) -> BuildNeeds:
    """All that building ``package`` from source needs: the ecosystem's toolchain, then the
    package's own needs when the table has an entry."""
    needs = toolchain_for(ecosystem)
    extra = requirements_for(ecosystem, package)
    return needs if extra is None else needs | extra


def missing(
    package_manager: str,
    installed: Iterable[str],
    needs: BuildNeeds,
    *,
    have: Iterable[str] = (),
) -> BuildNeeds:
    """The part of ``needs`` that neither ``installed`` packages nor ``have`` provide."""
    present = provides(package_manager, installed) | set(have)
    return needs.without(present)


def packages_for(
    package_manager: str,
    needs: BuildNeeds,
    python_version: tuple[int, int] | None = None,
) -> list[str]:
    """Exact package names to install for ``needs``, in a stable order.

    The order: first an upstream recipe for this family, in its own order, keeping only the
    packages that give a needed (or optional) capability; then, for every required capability
    still uncovered, the family's default package, in the order of ``needs.capabilities``
    (toolchain first, then libraries as the package lists them). Optional capabilities are
    installed only through a recipe. With ``python_version``, Python headers are those of that
    version (``python3.11-dev``, ``python3.11-devel``) instead of the distro default.
    """
    family = _family(package_manager)
    install_table: Mapping[str, list[str]] = _family_table(package_manager, "install")
    wanted = set(needs.capabilities)
    chosen: list[str] = []
    covered: set[str] = set()

    def take(name: str) -> None:
        if name not in chosen:
            chosen.append(name)
            covered.update(_provided_by(package_manager, normalize_package(name)))

    for name in needs.recipes.get(family, ()):
        if _provided_by(package_manager, normalize_package(name)) & (wanted | needs.optional):
            take(name)
    for capability in needs.capabilities:
        if capability in covered:
            continue
        if capability == "python-headers" and python_version is not None:
            take(_python_headers(family, python_version))
            continue
        for name in install_table.get(capability, ()):
            take(name)
    return chosen


# --- helpers ----------------------------------------------------------------------------------


def _python_headers(family: str, version: tuple[int, int]) -> str:
    dotted = f"{version[0]}.{version[1]}"
    spec: Mapping[str, Any] = _data()["python_headers"]
    overrides: Mapping[str, str] = spec.get(f"{family}_overrides", {})
    if dotted in overrides:
        return overrides[dotted]
    template = spec.get(family)
    if template is None:
        # apk carries one Python per release: python3-dev is the only headers package.
        return str(_data()[family]["install"]["python-headers"][0])
    return str(template).format(v=dotted, nodot=dotted.replace(".", ""))


def _is_versioned_name(name: str) -> bool:
    # Names whose digits are part of the name, not a version suffix.
    return bool(re.search(r"(?:python|libpython)\d(?:\.\d+)?(?:-|$)", name)) and not re.search(
        r"-\d+\.\d+\.\d", name
    )


def _ordered(capabilities: Iterable[str]) -> tuple[str, ...]:
    """Toolchain capabilities first in their fixed order, then the rest as given, deduplicated."""
    toolchain: list[str] = _data()["toolchain_order"]
    seen = list(dict.fromkeys(capabilities))
    head = [c for c in toolchain if c in seen]
    return (*head, *(c for c in seen if c not in toolchain))


def _canonical(ecosystem: str, package: str) -> str:
    if ecosystem == "pypi":
        return canonicalize_name(package.strip())
    return package.strip().lower()


def _family(package_manager: str) -> str:
    families: Mapping[str, str] = _data()["families"]
    if package_manager not in families:
        raise ValueError(f"unknown package manager: {package_manager!r}")
    return families[package_manager]


def _family_table(package_manager: str, table: str) -> dict[str, list[str]]:
    result: dict[str, list[str]] = _data()[_family(package_manager)][table]
    return result


@cache
def _data() -> dict[str, Any]:
    return curated.load("builddeps")
