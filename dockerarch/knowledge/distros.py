"""What a stage's base image gives you: distro, package manager, libc, Python and toolchain.

The facts live in ``data/distros.toml``; this module only reads them. Moving tags resolve as the
official images published them at the table's snapshot date, and whatever the table does not
know stays ``None`` rather than being guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import cache, lru_cache

from dockerarch.knowledge import curated
from dockerarch.lazyre import lazy_compile
from dockerarch.records import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "PYTHON_TOOLS",
    "BaseEnv",
    "base_environment",
    "python_from_install",
    "python_from_tool",
    "snapshot_date",
]

Version = tuple[int, ...]

_DEBIAN_SUITES = frozenset(
    {"jessie", "stretch", "buster", "bullseye", "bookworm", "trixie", "forky", "sid"}
)
_WINDOWS_TOKENS = ("windowsservercore", "nanoserver", "ltsc", "1809", "20h2")
_VERSION_RE = lazy_compile(r"\d+(?:\.\d+)*")
_PYTHON_PACKAGE = lazy_compile(r"python(3)(?:\.?(\d+))?(?:-(?:minimal|full|devel|dev|libs))?")
_VERSION_OPERATOR = lazy_compile(r"[=<>~]")


@record(slots=True)
class BaseEnv:
    """What an image offers a ``RUN`` step before anything is installed."""

    distro: str | None
    release: str | None
    package_manager: str | None
    libc: str | None
    libc_version: Version | None
    python: tuple[int, int] | None
    """The Python that ``python3``/``pip`` run in the image as shipped."""
    apt_python: tuple[int, int] | None
    """The Python the distro's own ``python3`` package installs (apt, apk, yum, dnf or zypper)."""
    python_source: str
    has_compiler: bool
    packages: tuple[str, ...]
    """Distro packages known to be preinstalled that matter for source builds."""
    capabilities: frozenset[str]
    """Build capabilities present without any package install (see ``builddeps``)."""
    reason: str


def snapshot_date() -> str:
    """The date the moving-tag defaults describe (``YYYY-MM-DD``)."""
    return str(_data()["snapshot"])


# Asked per stage and target platform, about the few images a set of files names.
@lru_cache(maxsize=1024)
def base_environment(image: str) -> BaseEnv | None:
    """Describe ``image`` (a FROM reference after ARG expansion), or None if it is not known."""
    parsed = _parse_reference(image)
    if parsed is None:
        return None
    repo, tag = parsed
    entry = _images().get(repo)
    if entry is None and repo.startswith("gcr.io/distroless/"):
        entry = _images()["gcr.io/distroless"]
    if entry is None:
        return None
    kind = entry["kind"]
    if kind == "os":
        return _os_image(repo, tag, entry)
    if kind == "language":
        return _language_image(repo, tag, entry)
    if kind == "buildpack":
        return _buildpack_image(tag)
    if kind == "distroless":
        return _distroless_image(repo, tag, entry)
    return _fixed_image(repo, tag, entry)


def python_from_install(
    package_manager: str, packages: Sequence[str], env: BaseEnv
) -> tuple[int, int] | None:
    """The Python a package install provides, e.g. ``apt-get install python3.11`` -> (3, 11).

    A bare ``python3`` resolves to the distro's default (``env.apt_python``). The newest Python
    named wins when several are installed, since ``python3.X`` names are what callers then run.
    """
    if package_manager not in {"apt", "apk", "yum", "dnf", "microdnf", "zypper"}:
        return None
    found: list[tuple[int, int]] = []
    for raw in packages:
        name = _strip_package_version(raw)
        match = _PYTHON_PACKAGE.fullmatch(name)
        if match is None:
            continue
        if match.group(2) is not None:
            found.append((3, int(match.group(2))))
        elif env.apt_python is not None:
            found.append(env.apt_python)
    return max(found) if found else None


#: The programs python_from_tool reads; callers skip other commands without building words.
PYTHON_TOOLS = frozenset({"uv", "pyenv", "asdf", "conda", "mamba", "micromamba"})


def python_from_tool(command_words: Sequence[str]) -> tuple[int, int] | None:
    """The Python a version manager installs or selects, from one command's words.

    Understands ``uv python install``, ``uv venv --python``, ``pyenv install``/``global``,
    ``conda``/``mamba``/``micromamba`` ``install|create python=X.Y`` and ``asdf install python``.
    """
    words = [w for w in command_words if w]
    if not words:
        return None
    tool = words[0].rsplit("/", 1)[-1]
    args = words[1:]
    if tool == "uv":
        if args[:2] == ["python", "install"]:
            return _first_version(a for a in args[2:] if not a.startswith("-"))
        return _option_version(args, ("--python", "-p"))
    if tool == "pyenv" and args[:1] in (["install"], ["global"], ["local"]):
        return _first_version(a for a in args[1:] if not a.startswith("-"))
    if tool == "asdf" and args[:2] == ["install", "python"]:
        return _first_version(args[2:3])
    if tool in {"conda", "mamba", "micromamba"} and args[:1] in (["install"], ["create"]):
        for arg in args[1:]:
            match = re.fullmatch(r"""['"]?python\s*(?:==?|>=|~=)\s*(\d+\.\d+)[^'"]*['"]?""", arg)
            if match:
                return _minor(match.group(1))
    return None


# --- image kinds -----------------------------------------------------------------------------


def _os_image(repo: str, tag: str, entry: Mapping[str, Any]) -> BaseEnv:
    distro = str(entry["distro"])
    flavours: Mapping[str, Mapping[str, str]] = entry.get("flavours", {})
    package_manager: str | None = entry.get("package_manager")
    release_tag = tag
    for flavour, overrides in flavours.items():
        if tag == flavour or tag.endswith("-" + flavour):
            release_tag = tag[: -len(flavour)].rstrip("-") or "latest"
            package_manager = overrides.get("package_manager", package_manager)
    release = entry.get("release") or _resolve_release(distro, release_tag)
    why = f"{repo}:{tag} is {distro} {release or '(release unknown)'}"
    return _distro_env(distro, release, why, package_manager=package_manager)


def _language_image(repo: str, tag: str, entry: Mapping[str, Any]) -> BaseEnv:
    aliases: Mapping[str, str] = entry.get("aliases", {})
    tokens = tag.split("-")
    version = tokens[0]
    if version in aliases:
        version = aliases[version]
        rest = tokens[1:]
    elif _VERSION_RE.fullmatch(version):
        rest = tokens[1:]
    else:
        version = aliases.get("latest", "")
        rest = tokens
    python = _minor(version) if entry.get("python_from_tag") else None
    tag_python = f"{repo}:{tag} image tag"
    capabilities = frozenset(entry.get("capabilities", ()))

    distro: str | None = None
    release: str | None = None
    slim = False
    neutral = set(entry.get("neutral_tokens", ())) | {"rc"}
    tokens_left = list(rest)
    while tokens_left:
        token = tokens_left.pop(0)
        if token in neutral or re.fullmatch(r"rc\d*|beta\d*|alpha\d*", token):
            continue
        if token == "slim":
            slim = True
        elif token in _DEBIAN_SUITES:
            distro, release = "debian", token
        elif token in _ubuntu_codenames():
            distro, release = "ubuntu", _ubuntu_codenames()[token]
        elif token == "alpine":
            distro = "alpine"
            release = _lookup_version_default(version, entry, "alpine")
        elif token.startswith("alpine") and _VERSION_RE.fullmatch(token[6:]):
            distro, release = "alpine", token[6:]
        elif token in {"ubi9", "ubi10"} and tokens_left[:1] == ["minimal"]:
            tokens_left.pop(0)
            env = _distro_env("rhel", token[3:], "", package_manager="microdnf")
            return _with(env, python, tag_python, capabilities, f"{repo}:{tag} is UBI minimal")
        elif token.startswith(_WINDOWS_TOKENS):
            return _unknown(f"{repo}:{tag} is a Windows image", python, tag_python, capabilities)
        else:
            return _unknown(
                f"{repo}:{tag}: variant {token!r} is not in the table",
                python,
                tag_python,
                capabilities,
            )

    if distro is None:
        default_distro = entry.get("default_distro", "debian")
        if default_distro == "debian":
            release = _lookup_version_default(version, entry, "debian")
            when = f"as published at {snapshot_date()}"
            why = f"{repo}:{tag} defaults to Debian {release or '(suite unknown)'} {when}"
        else:
            why = f"{repo}:{tag} is {default_distro}; its default release is not recorded"
        distro = default_distro
    else:
        why = f"{repo}:{tag} names {distro} {release or '(release unknown)'}"

    set_name = _package_set_name(entry, distro, slim)
    env = _distro_env(distro, release, why, package_set=set_name)
    if python is not None:
        return _with(env, python, tag_python, capabilities, why)
    return _with(env, env.python, env.python_source, capabilities, why)


def _buildpack_image(tag: str) -> BaseEnv:
    suite, _, flavour = tag.partition("-")
    if suite == "latest":
        suite = str(_distros()["debian"]["aliases"]["latest"])
    if suite in _DEBIAN_SUITES:
        distro, release = "debian", suite
    elif suite in _ubuntu_codenames():
        distro, release = "ubuntu", _ubuntu_codenames()[suite]
    else:
        return _unknown(f"buildpack-deps:{tag}: suite not in the table", None, "", frozenset())
    full = flavour == ""
    why = f"buildpack-deps:{tag} is {distro} {release}" + (" with compilers" if full else "")
    return _distro_env(distro, release, why, package_set="buildpack-deps" if full else None)


def _distroless_image(repo: str, tag: str, entry: Mapping[str, Any]) -> BaseEnv:
    name = repo.removeprefix("gcr.io/distroless/")
    match = re.fullmatch(r"(.+)-debian(\d+)", name)
    if match is None:
        why = f"{repo}:{tag}: distroless image without a -debianN suffix"
        return _unknown(why, None, "", frozenset(), distro="distroless")
    kind, debian_version = match.groups()
    suite = _resolve_release("debian", debian_version)
    release_facts = _distros()["debian"]["releases"].get(suite or "", {})
    libc_free = kind in entry["libc_free_names"]
    python = _minor(release_facts.get("python")) if kind in entry["python_names"] else None
    return BaseEnv(
        distro="distroless",
        release=f"debian{debian_version}",
        package_manager=None,
        libc=None if libc_free else "glibc",
        libc_version=None if libc_free else _version(release_facts.get("libc_version")),
        python=python,
        apt_python=None,
        python_source=f"Debian {suite} python3 in {repo}" if python else "",
        has_compiler=False,
        packages=(),
        capabilities=frozenset({"python3"} if python else ()),
        reason=f"{repo} is distroless on Debian {debian_version}; no package manager",
    )


def _fixed_image(repo: str, tag: str, entry: Mapping[str, Any]) -> BaseEnv:
    distro = str(entry["distro"])
    note = str(entry.get("reason", ""))
    if distro in {"busybox", "scratch"}:
        libc = entry.get("libc")
        for token in tag.split("-"):
            libc = entry.get("variant_libc", {}).get(token, libc)
        why = f"{repo} has no package manager" + (f" ({libc} build)" if libc else "")
        return BaseEnv(distro, None, None, libc, None, None, None, "", False, (), frozenset(), why)
    for token in tag.split("-"):
        if token in _DEBIAN_SUITES:
            return _distro_env("debian", token, f"{repo}:{tag} names Debian {token}; {note}")
        if token in _ubuntu_codenames():
            release = _ubuntu_codenames()[token]
            return _distro_env("ubuntu", release, f"{repo}:{tag} names Ubuntu {release}; {note}")
        if token.startswith("ubuntu") and token[6:] in _distros()["ubuntu"]["releases"]:
            return _distro_env("ubuntu", token[6:], f"{repo}:{tag} is Ubuntu {token[6:]}; {note}")
        if token == "alpine":
            return _distro_env("alpine", None, f"{repo}:{tag} is Alpine; {note}")
    return _distro_env(distro, None, f"{repo} is based on {distro}; {note}")


# --- helpers ----------------------------------------------------------------------------------


def _distro_env(
    distro: str,
    release: str | None,
    why: str,
    *,
    package_manager: str | None = None,
    package_set: str | None = None,
) -> BaseEnv:
    facts = _distros()[distro]
    rel: Mapping[str, Any] = facts["releases"].get(release, {}) if release else {}
    apt_python = _minor(rel.get("python"))
    pm = package_manager if package_manager is not None else rel.get("package_manager")
    pm = pm if pm is not None else facts["package_manager"]
    packages: tuple[str, ...] = ()
    capabilities: frozenset[str] = frozenset()
    python: tuple[int, int] | None = None
    source = ""
    # Minimal and micro images swap dnf for microdnf (or nothing), which drops its Python.
    if rel.get("image_python") and package_manager is None:
        python, source = apt_python, f"{_label(distro, release)} image ships python3"
    if package_set is not None:
        pset = _data()["package_sets"][package_set]
        packages = tuple(pset["packages"])
        capabilities = frozenset(pset["capabilities"])
        if pset.get("distro_python") and apt_python is not None:
            python = apt_python
            source = f"python3 from {package_set} on {_label(distro, release)}"
    if python is None and apt_python is not None:
        source = f"{pm} python3 on {_label(distro, release)}"
    return BaseEnv(
        distro=distro,
        release=release,
        package_manager=pm or None,
        libc=facts["libc"],
        libc_version=_version(rel.get("libc_version")),
        python=python,
        apt_python=apt_python,
        python_source=source,
        has_compiler="cc" in capabilities,
        packages=packages,
        capabilities=capabilities,
        reason=why,
    )


def _with(
    env: BaseEnv,
    python: tuple[int, int] | None,
    source: str,
    capabilities: frozenset[str],
    why: str,
) -> BaseEnv:
    return BaseEnv(
        env.distro,
        env.release,
        env.package_manager,
        env.libc,
        env.libc_version,
        python,
        env.apt_python,
        source if python is not None else env.python_source,
        env.has_compiler,
        env.packages,
        env.capabilities | capabilities,
        why,
    )


def _unknown(
    why: str,
    python: tuple[int, int] | None,
    source: str,
    capabilities: frozenset[str],
    *,
    distro: str | None = None,
) -> BaseEnv:
    return BaseEnv(
        distro,
        None,
        None,
        None,
        None,
        python,
        None,
        source if python else "",
        False,
        (),
        capabilities,
        why,
    )


def _package_set_name(entry: Mapping[str, Any], distro: str, slim: bool) -> str | None:
    if distro == "alpine":
        return entry.get("alpine_packages")
    if distro not in {"debian", "ubuntu"}:
        return None
    return entry.get("slim_packages") if slim else entry.get("full_packages")


def _lookup_version_default(version: str, entry: Mapping[str, Any], which: str) -> str | None:
    """The default suite (or Alpine release) a version tag was last published on."""
    exact: Mapping[str, str] = entry.get(f"{which}_default", {})
    parts = version.split(".")
    key = ".".join(parts[: int(entry.get("version_parts", 2))])
    if key in exact:
        return exact[key]
    wanted = _version(key)
    if wanted is None:
        return None
    for since, value in entry.get(f"{which}_since", ()):
        floor = _version(since)
        if floor is not None and len(floor) == len(wanted) and wanted >= floor:
            return str(value)
    return None


def _resolve_release(distro: str, tag: str) -> str | None:
    """The release key a tag names: ``bookworm``, ``12.5``, ``focal-20240123``, ``latest``."""
    facts = _distros()[distro]
    releases: Mapping[str, Mapping[str, Any]] = facts["releases"]
    base = facts["aliases"].get(tag, tag).split("-")[0]
    parts = base.split(".")
    for size in range(len(parts), 0, -1):
        key = ".".join(parts[:size])
        for name, rel in releases.items():
            if key in (name, rel.get("codename"), rel.get("version")):
                return name
    return None


def _label(distro: str, release: str | None) -> str:
    names = {"debian": "Debian", "ubuntu": "Ubuntu", "alpine": "Alpine", "amzn": "Amazon Linux"}
    return f"{names.get(distro, distro)} {release}" if release else names.get(distro, distro)


def _parse_reference(image: str) -> tuple[str, str] | None:
    """``[registry/]repo[:tag][@digest]`` -> (repository key, tag); tag defaults to latest."""
    ref = image.strip().split("@", 1)[0].lower()
    if not ref or any(c.isspace() for c in ref) or "$" in ref:
        return None
    name, tag = ref, "latest"
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = ref.rsplit(":", 1)
    parts = name.split("/")
    if parts[0] in {"docker.io", "index.docker.io", "registry-1.docker.io"}:
        parts = parts[1:]
    if len(parts) == 2 and parts[0] == "library":
        parts = parts[1:]
    return "/".join(parts), tag


def _strip_package_version(raw: str) -> str:
    name = _VERSION_OPERATOR.split(raw.strip().lower(), maxsplit=1)[0]
    return name.split(":", 1)[0]


def _first_version(candidates: Iterable[str]) -> tuple[int, int] | None:
    for candidate in candidates:
        version = _minor(re.sub(r"^(?:cpython-|python)", "", candidate))
        if version is not None:
            return version
    return None


def _option_version(args: Sequence[str], options: Sequence[str]) -> tuple[int, int] | None:
    for index, arg in enumerate(args):
        for option in options:
            if arg == option and index + 1 < len(args):
                return _first_version([args[index + 1]])
            if arg.startswith(option + "="):
                return _first_version([arg.split("=", 1)[1]])
    return None


def _minor(text: object) -> tuple[int, int] | None:
    if not isinstance(text, str):
        return None
    match = re.match(r"(\d+)\.(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _version(text: object) -> Version | None:
    if not isinstance(text, str) or not _VERSION_RE.fullmatch(text):
        return None
    return tuple(int(part) for part in text.split("."))


@cache
def _data() -> dict[str, Any]:
    return curated.load("distros")


def _distros() -> dict[str, Any]:
    result: dict[str, Any] = _data()["distros"]
    return result


def _images() -> dict[str, Any]:
    result: dict[str, Any] = _data()["images"]
    return result


@cache
def _ubuntu_codenames() -> dict[str, str]:
    releases: Mapping[str, Mapping[str, Any]] = _distros()["ubuntu"]["releases"]
    return {str(rel["codename"]): version for version, rel in releases.items()}
