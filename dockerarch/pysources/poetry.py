"""Poetry and Pipenv dependency tables as PEP 508 requirement strings."""

from __future__ import annotations

from collections.abc import Mapping

from packaging.specifiers import Specifier, SpecifierSet
from packaging.version import Version

from dockerarch.lazyre import lazy_compile

# The space after an operator is matched only with the operator: two optional runs of
# whitespace side by side would make a failing match quadratic in their length.
_TERM = lazy_compile(r"\s*(?:(\^|~=|~|===|==|!=|>=|<=|>|<|=)\s*)?([0-9A-Za-z.*+!_-]+)\s*,?")

# Pipenv lets a package entry carry environment markers as keys.
_PIPENV_MARKER_KEYS = (
    "os_name",
    "sys_platform",
    "platform_machine",
    "platform_python_implementation",
    "platform_release",
    "platform_system",
    "platform_version",
    "python_version",
    "python_full_version",
    "implementation_name",
    "implementation_version",
)


def poetry_specifier(constraint: str) -> str:
    """A Poetry version constraint as a PEP 440 specifier string ("" allows any version).

    ``^1.2.3`` -> ``>=1.2.3,<2.0.0``; ``~1.2`` -> ``>=1.2,<1.3``; a bare
    ``1.2.3`` is an exact pin. Raises ValueError for alternatives (``||``),
    which PEP 440 cannot express, and for malformed constraints.
    """
    text = constraint.strip()
    if "|" in text:
        raise ValueError(f"Poetry constraint {constraint!r} has alternatives (||)")
    parts: list[str] = []
    pos = 0
    while pos < len(text):
        m = _TERM.match(text, pos)
        if m is None or m.end() == pos:
            raise ValueError(f"cannot read Poetry constraint {constraint!r}")
        pos = m.end()
        parts.extend(_term(m.group(1), m.group(2)))
    result = ",".join(parts)
    SpecifierSet(result)
    return result


def _term(op: str | None, version: str) -> list[str]:
    if version == "*":
        return []
    if op in (None, "="):
        return [f"=={version}"]
    if op not in ("^", "~"):
        return [f"{op}{version}"]
    release = list(Version(version).release)
    if op == "^":
        # Bump the left-most non-zero component (the last one when all are zero).
        bump = next((i for i, v in enumerate(release) if v), len(release) - 1)
    else:
        bump = 0 if len(release) == 1 else 1
    upper = [*release[:bump], release[bump] + 1] + [0] * (len(release) - bump - 1)
    return [f">={version}", "<" + ".".join(map(str, upper))]


def python_marker(constraint: str) -> str:
    """A Poetry ``python = "..."`` constraint as an environment marker ("" for any)."""
    specifier = poetry_specifier(constraint)
    parts = specifier.split(",") if specifier else []
    return " and ".join(_python_clause(Specifier(part)) for part in parts)


def _python_clause(spec: Specifier) -> str:
    version = spec.version
    if version.endswith(".*"):
        return f'python_version {spec.operator} "{version[:-2]}"'
    variable = "python_version" if version.count(".") <= 1 else "python_full_version"
    return f'{variable} {spec.operator} "{version}"'


def _extras(extras: object) -> str:
    if isinstance(extras, list) and extras:
        return "[" + ",".join(str(e) for e in extras) + "]"
    return ""


def _join_markers(markers: list[str]) -> str:
    present = [m for m in markers if m]
    if len(present) == 1:
        return f" ; {present[0]}"
    return " ; " + " and ".join(f"({m})" for m in present) if present else ""


def poetry_requirement(name: str, value: object) -> str:
    """A ``[tool.poetry.dependencies]`` entry as a PEP 508 string; ValueError if impossible."""
    if isinstance(value, str):
        return f"{name}{poetry_specifier(value)}"
    if not isinstance(value, Mapping):
        raise ValueError(f"unexpected Poetry dependency value for {name}")
    markers: list[str] = []
    if isinstance(value.get("markers"), str):
        markers.append(value["markers"])
    if isinstance(value.get("python"), str):
        markers.append(python_marker(value["python"]))
    if isinstance(value.get("platform"), str):
        markers.append(f'sys_platform == "{value["platform"]}"')
    head = f"{name}{_extras(value.get('extras'))}"
    if isinstance(value.get("git"), str):
        ref = value.get("rev") or value.get("tag") or value.get("branch")
        url = f"git+{value['git']}" + (f"@{ref}" if isinstance(ref, str) else "")
        if isinstance(value.get("subdirectory"), str):
            url += f"#subdirectory={value['subdirectory']}"
        return f"{head} @ {url}{_join_markers(markers)}"
    if isinstance(value.get("url"), str):
        return f"{head} @ {value['url']}{_join_markers(markers)}"
    version = value.get("version")
    spec = poetry_specifier(version) if isinstance(version, str) else ""
    return f"{head}{spec}{_join_markers(markers)}"


def pipenv_requirement(name: str, value: object) -> str:
    """A ``Pipfile`` ``[packages]`` entry as a PEP 508 string; ValueError if impossible."""
    if isinstance(value, str):
        return name if value.strip() == "*" else f"{name}{value.strip()}"
    if not isinstance(value, Mapping):
        raise ValueError(f"unexpected Pipfile entry for {name}")
    markers: list[str] = []
    if isinstance(value.get("markers"), str):
        markers.append(value["markers"])
    for key in _PIPENV_MARKER_KEYS:
        if isinstance(value.get(key), str):
            markers.append(f"{key} {value[key]}")
    head = f"{name}{_extras(value.get('extras'))}"
    if isinstance(value.get("git"), str):
        ref = value.get("ref")
        url = f"git+{value['git']}" + (f"@{ref}" if isinstance(ref, str) else "")
        return f"{head} @ {url}{_join_markers(markers)}"
    if isinstance(value.get("file"), str) and "://" in value["file"]:
        return f"{head} @ {value['file']}{_join_markers(markers)}"
    version = value.get("version")
    spec = version.strip() if isinstance(version, str) and version.strip() != "*" else ""
    return f"{head}{spec}{_join_markers(markers)}"
