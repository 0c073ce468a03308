"""Which packages of a poetry.lock or uv.lock each target platform installs.

A lock file lists every package any platform might need. What one platform
installs is what the project's requirements reach through the lock's
dependency edges, following only the edges whose markers hold there and the
optional edges an extra asks for.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName
from packaging.version import InvalidVersion, Version

from dockerarch.pynames import canonicalize_name
from dockerarch.pysources.markers import MACHINE, PYTHONS, marker_environment
from dockerarch.pysources.model import PyRequirement
from dockerarch.pysources.poetry import poetry_requirement
from dockerarch.pyspecifiers import specifier_set
from dockerarch.records import record, replace

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


@record
class _Edge:
    name: NormalizedName
    specifier: SpecifierSet
    #: uv names the exact version when a lock holds several of one package.
    version: Version | None
    marker: Marker | None
    extras: frozenset[str]
    #: The parent's extra that brings this dependency; None: always.
    extra: str | None


@record
class _Node:
    name: NormalizedName
    version: Version | None
    edges: tuple[_Edge, ...]


def _version(value: object) -> Version | None:
    try:
        return Version(value) if isinstance(value, str) else None
    except InvalidVersion:
        return None


def _marker(value: object) -> Marker | None:
    try:
        return Marker(value) if isinstance(value, str) else None
    except InvalidMarker:
        return None


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _lock_nodes(data: Mapping[str, Any], lock: str) -> list[_Node]:
    packages = data.get("package")
    nodes = []
    for pkg in packages if isinstance(packages, list) else []:
        if isinstance(pkg, Mapping) and isinstance(pkg.get("name"), str):
            edges = _poetry_edges(pkg) if lock == "poetry.lock" else _uv_edges(pkg)
            nodes.append(
                _Node(canonicalize_name(pkg["name"]), _version(pkg.get("version")), tuple(edges))
            )
    return nodes


def _poetry_edges(pkg: Mapping[str, Any]) -> Iterator[_Edge]:
    # An optional dependency is installed only through an extra that lists it.
    extras_of: dict[str, list[str]] = {}
    for extra_name, items in _mapping(pkg.get("extras")).items():
        for item in items if isinstance(items, list) else []:
            m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", str(item))
            if m:
                extras_of.setdefault(canonicalize_name(m.group(1)), []).append(extra_name)
    for dep, value in _mapping(pkg.get("dependencies")).items():
        for item in value if isinstance(value, list) else [value]:
            try:
                req = Requirement(poetry_requirement(dep, item))
            except ValueError:
                continue
            name = canonicalize_name(dep)
            optional = isinstance(item, Mapping) and item.get("optional") is True
            brought_by: list[str | None] = [*extras_of.get(name, [])] if optional else [None]
            for extra in brought_by:
                yield _Edge(name, req.specifier, None, req.marker, frozenset(req.extras), extra)


def _uv_edges(pkg: Mapping[str, Any]) -> Iterator[_Edge]:
    groups: list[tuple[str | None, object]] = [(None, pkg.get("dependencies"))]
    groups.extend(_mapping(pkg.get("optional-dependencies")).items())
    for extra, items in groups:
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
                continue
            wanted = item.get("extra")
            yield _Edge(
                canonicalize_name(item["name"]),
                SpecifierSet(),
                _version(item.get("version")),
                _marker(item.get("marker")),
                frozenset(str(e) for e in wanted) if isinstance(wanted, list) else frozenset(),
                extra,
            )


def _matches(node: _Node, specifier: SpecifierSet, version: Version | None) -> bool:
    if node.version is None:
        return True
    if version is not None and node.version != version:
        return False
    return specifier.contains(node.version, prereleases=True)


class _Walk:
    """Which nodes of a lock's graph each (arch, Python) reaches from the project's roots."""

    def __init__(self, nodes: list[_Node], archs: Sequence[str]) -> None:
        self.nodes = nodes
        self.envs = [(arch, python) for arch in archs for python in PYTHONS]
        self.by_name: dict[str, list[int]] = {}
        for i, node in enumerate(nodes):
            self.by_name.setdefault(node.name, []).append(i)
        self._holds: dict[tuple[str, int, str], bool] = {}

    def holds(self, marker: Marker | None, env: int, extras: frozenset[str]) -> bool:
        if marker is None:
            return True
        for extra in ("", *sorted(extras)):
            key = (str(marker), env, extra)
            if key not in self._holds:
                arch, python = self.envs[env]
                self._holds[key] = marker.evaluate(
                    {**marker_environment(python, arch), "extra": extra}
                )
            if self._holds[key]:
                return True
        return False

    def targets(self, name: str, specifier: SpecifierSet, version: Version | None) -> list[int]:
        found = self.by_name.get(name, [])
        chosen = [i for i in found if _matches(self.nodes[i], specifier, version)]
        # A version the lock does not hold would fail the install; the name is still meant.
        return chosen or found

    def reach(self, roots: Sequence[PyRequirement]) -> dict[int, set[int]]:
        """Node index -> indices of the environments that install it."""
        out: dict[int, set[int]] = {}
        for env in range(len(self.envs)):
            seen: dict[int, frozenset[str]] = {}
            todo = [
                (target, frozenset(root.extras))
                for root in roots
                if root.name is not None and self.holds(root.marker, env, frozenset())
                for target in self.targets(root.name, specifier_set(root.specifier), None)
            ]
            while todo:
                i, extras = todo.pop()
                before = seen.get(i)
                if before is not None and extras <= before:
                    continue
                now = extras | (before or frozenset())
                seen[i] = now
                wanted = {canonicalize_name(e) for e in now}
                for edge in self.nodes[i].edges:
                    if edge.extra is not None and canonicalize_name(edge.extra) not in wanted:
                        continue
                    if self.holds(edge.marker, env, now):
                        for target in self.targets(edge.name, edge.specifier, edge.version):
                            todo.append((target, edge.extras))
            for i in seen:
                out.setdefault(i, set()).add(env)
        return out

    def marker(self, envs: set[int]) -> Marker | None:
        """A marker true in exactly ``envs`` (None when that is every environment)."""
        if len(envs) == len(self.envs):
            return None
        by_arch: dict[str, list[tuple[int, int]]] = {}
        for env in sorted(envs):
            arch, python = self.envs[env]
            by_arch.setdefault(arch, []).append(python)
        clauses = []
        for arch, pythons in by_arch.items():
            machine = f'platform_machine == "{MACHINE.get(arch, arch)}"'
            if len(pythons) == len(PYTHONS):
                clauses.append(machine)
            else:
                versions = " or ".join(f'python_version == "{a}.{b}"' for a, b in pythons)
                clauses.append(f"({machine} and ({versions}))")
        return Marker(" or ".join(clauses) or 'platform_machine == "none"')


def locked_requirements(
    data: Mapping[str, Any],
    lock: str,
    locked: Sequence[PyRequirement],
    roots: Sequence[PyRequirement],
    archs: Sequence[str],
) -> list[PyRequirement]:
    """The requirements of a lock file that the project's ``roots`` pull in.

    ``data`` is the parsed lock (``lock`` its file name: poetry.lock or uv.lock),
    ``locked`` its requirements as :func:`read_project_file` reads them. Each
    requirement returned carries a marker true on exactly the ``archs`` and CPython
    minors whose dependency graph reaches it (no marker: all of them).
    """
    walk = _Walk(_lock_nodes(data, lock), archs)
    envs: dict[tuple[str, Version | None], set[int]] = {}
    for i, reached in walk.reach(roots).items():
        node = walk.nodes[i]
        envs.setdefault((node.name, node.version), set()).update(reached)
    out = []
    for req in locked:
        reached_by = envs.get((req.name or "", req.pin))
        if reached_by:
            out.append(replace(req, marker=walk.marker(reached_by)))
    return out
