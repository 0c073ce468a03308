"""Live package documents from an npm registry, feeding the decisions of ``knowledge.npm``.

The registry is the one npm on this machine would use unless given: ``NPM_CONFIG_REGISTRY`` /
``npm_config_registry``, then ``registry=`` in the project's, the user's and the global
``.npmrc`` (``@scope:registry=`` too). Only urllib; TLS certificates are verified; responses are
bounded in size and time; documents can be cached on disk with an expiry.

The abbreviated ("corgi") document is enough to tell a pure package from a possible addon
(``hasInstallScript``, per-platform optional dependencies, ``os``/``cpu``); only then is the full
document, which has the install scripts and the ``binary`` field, fetched.
"""

from __future__ import annotations

import hashlib
import json
import os
import ssl
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dockerarch import __version__
from dockerarch.knowledge.bounded import ResponseRefused, read_bounded
from dockerarch.knowledge.npm import (
    CuratedRule,
    Note,
    PackageRecord,
    PlatformPackage,
    SemVer,
    SnapshotProvider,
    VersionFacts,
    load_curated,
    platform_package_from_name,
    summarize_version,
)
from dockerarch.lazyre import lazy_compile

__all__ = [
    "ABBREVIATED",
    "DEFAULT_REGISTRY",
    "NpmOnlineProvider",
    "NpmRegistryClient",
    "RegistryUnavailable",
    "configured_registry",
    "npmrc_files",
]

DEFAULT_REGISTRY = "https://registry.npmjs.org/"
ABBREVIATED = "application/vnd.npm.install-v1+json"
FULL = "application/json"
USER_AGENT = f"dockerarch/{__version__}"
_CACHE_FORMAT = 1


class RegistryUnavailable(Exception):
    """The registry could not answer (network, HTTP error, oversized or malformed document)."""


def npmrc_files(environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> list[Path]:
    """npm's config files, lowest priority first: global, user, project."""
    env = os.environ if environ is None else environ
    files: list[Path] = []
    prefix = _env(env, "prefix")
    if prefix:
        files.append(Path(prefix) / "etc" / "npmrc")
    files.append(Path(_env(env, "globalconfig") or "/usr/local/etc/npmrc"))
    home = env.get("HOME")
    user = _env(env, "userconfig") or (str(Path(home) / ".npmrc") if home else None)
    if user:
        files.append(Path(user))
    if cwd is not None:
        files.append(cwd / ".npmrc")
    return files


def _env(env: Mapping[str, str], key: str) -> str | None:
    """npm reads ``npm_config_*`` case-insensitively."""
    for name, value in env.items():
        if name.lower() == f"npm_config_{key}" and value:
            return value
    return None


# As npm reads ${VAR}: a name holds no "$", "{" or "}" (which also keeps this linear).
_ENV_REF = lazy_compile(r"\$\{([^${}]+)\}")


def _read_npmrc(path: Path, env: Mapping[str, str]) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    out: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;" or "=" not in line:
            continue
        key, value = (part.strip() for part in line.split("=", 1))
        value = value.strip("\"'")
        out[key] = _ENV_REF.sub(lambda m: env.get(m.group(1), ""), value)
    return out


def configured_registry(
    package: str | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> str:
    """The registry URL npm would use for ``package`` (scoped registries honoured)."""
    env = os.environ if environ is None else environ
    scope = package.split("/", 1)[0] if package and package.startswith("@") else None
    settings: dict[str, str] = {}
    for path in npmrc_files(env, cwd):
        settings.update(_read_npmrc(path, env))
    if scope:
        scoped = _env(env, f"{scope}:registry") or settings.get(f"{scope}:registry")
        if scoped:
            return _with_slash(scoped)
    return _with_slash(_env(env, "registry") or settings.get("registry") or DEFAULT_REGISTRY)


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


class NpmRegistryClient:
    """Fetches package documents; returns None for packages the registry does not have."""

    def __init__(
        self,
        registry_url: str | None = None,
        timeout: float = 5.0,
        max_bytes: int = 64 * 1024 * 1024,
        cache_dir: Path | str | None = None,
        ttl: float = 24 * 3600.0,
        environ: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self._explicit = _with_slash(registry_url) if registry_url else None
        self._environ = environ
        self._cwd = cwd
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.ttl = ttl
        self._memory: dict[str, dict[str, Any] | None] = {}
        self._ssl = ssl.create_default_context()

    def registry_for(self, name: str) -> str:
        return self._explicit or configured_registry(name, self._environ, self._cwd)

    def url_for(self, name: str) -> str:
        # Scoped names keep their "@" and encode the slash as "%2f", as npm does.
        return self.registry_for(name) + urllib.parse.quote(name, safe="@/").replace("/", "%2f")

    def document(self, name: str, abbreviated: bool = True) -> dict[str, Any] | None:
        accept = ABBREVIATED if abbreviated else FULL
        url = self.url_for(name)
        key = f"{accept} {url}"
        if key in self._memory:
            return self._memory[key]
        now = time.time()
        cached = self._read_disk(key, now)
        if cached is not None:
            doc = cached.get("doc")
        else:
            doc = self._fetch(url, accept)
            self._write_disk(key, doc, now)
        self._memory[key] = doc
        return doc

    def _fetch(self, url: str, accept: str) -> dict[str, Any] | None:
        scheme = urllib.parse.urlsplit(url).scheme
        if scheme not in ("https", "http"):
            raise RegistryUnavailable(f"{url}: only http(s) registries are supported")
        req = urllib.request.Request(url, headers={"Accept": accept, "User-Agent": USER_AGENT})
        deadline = time.monotonic() + self.timeout
        try:
            ctx = self._ssl if scheme == "https" else None
            with urllib.request.urlopen(req, timeout=self.timeout, context=ctx) as resp:
                body = self._read_bounded(resp, url, deadline)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise RegistryUnavailable(f"{url}: HTTP {exc.code}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise RegistryUnavailable(f"{url}: {exc}") from exc
        try:
            doc = json.loads(body)
        except ValueError as exc:
            raise RegistryUnavailable(f"{url}: not JSON: {exc}") from exc
        if not isinstance(doc, dict) or not isinstance(doc.get("versions", {}), dict):
            raise RegistryUnavailable(f"{url}: not a package document")
        return doc

    def _read_bounded(self, resp: Any, url: str, deadline: float) -> bytes:
        try:
            return read_bounded(resp, self.max_bytes, deadline, self.timeout)
        except ResponseRefused as e:
            raise RegistryUnavailable(f"{url}: {e}") from None

    def _cache_path(self, key: str) -> Path | None:
        if self.cache_dir is None:
            return None
        return self.cache_dir / (hashlib.sha256(key.encode()).hexdigest() + ".json")

    def _read_disk(self, key: str, now: float) -> dict[str, Any] | None:
        path = self._cache_path(key)
        if path is None:
            return None
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("format") != _CACHE_FORMAT:
            return None
        if entry.get("key") != key or now - float(entry.get("fetched", 0)) > self.ttl:
            return None
        return entry

    def _write_disk(self, key: str, doc: dict[str, Any] | None, now: float) -> None:
        path = self._cache_path(key)
        if path is None:
            return
        entry = {"format": _CACHE_FORMAT, "key": key, "fetched": now, "doc": doc}
        # Write-then-rename so a concurrent reader never sees half a file. The cache is an
        # optimisation: a read-only or full cache directory must not fail the look-up.
        tmp: str | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(entry, fh, separators=(",", ":"))
            os.replace(tmp, path)
        except OSError:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)


def _maybe_native(corgi: Mapping[str, Any]) -> bool:
    for meta in (corgi.get("versions") or {}).values():
        if meta.get("hasInstallScript") or meta.get("os") or meta.get("cpu"):
            return True
        optional = meta.get("optionalDependencies") or {}
        if sum(platform_package_from_name(d) is not None for d in optional) >= 2:
            return True
    return False


class NpmOnlineProvider:
    """``NpmKnowledgeProvider`` backed by the live registry.

    Versions the shipped snapshot knows keep the snapshot's facts (they include the
    ``prebuilds/`` of published tarballs, which this provider does not download); newer
    versions are summarised from the full document with the same curated rules.
    """

    def __init__(
        self,
        client: NpmRegistryClient,
        curated: Mapping[str, tuple[CuratedRule, ...]] | None = None,
        snapshot: SnapshotProvider | None = None,
        max_platform_documents: int = 32,
    ) -> None:
        self.client = client
        self.curated = load_curated() if curated is None else curated
        self.snapshot = snapshot
        self.max_platform_documents = max_platform_documents
        self._platform_docs: set[str] = set()

    def package(self, name: str) -> PackageRecord | None:
        corgi = self.client.document(name, abbreviated=True)
        if corgi is None:
            return None
        rules = self.curated.get(name, ())
        if not rules and not _maybe_native(corgi):
            return None
        full = self.client.document(name, abbreviated=False)
        if full is None:
            return None
        known = self.snapshot.package(name) if self.snapshot is not None else None
        notes: list[Note] = []
        versions: dict[str, VersionFacts] = {}
        for version, meta in (full.get("versions") or {}).items():
            if SemVer.parse(version) is None:
                continue
            if known is not None and version in known.versions:
                versions[version] = _renumber(known.versions[version], known.notes, notes)
                continue
            pps = self._platform_packages(meta)
            versions[version] = summarize_version(
                meta, platform_packages=pps, rules=rules, notes=notes
            )
        tags = {str(k): str(v) for k, v in (full.get("dist-tags") or {}).items()}
        return PackageRecord(name, tags, versions, tuple(notes))

    def _platform_packages(self, meta: Mapping[str, Any]) -> dict[str, PlatformPackage]:
        optional = meta.get("optionalDependencies") or {}
        out: dict[str, PlatformPackage] = {}
        for dep, spec in optional.items():
            if platform_package_from_name(dep) is None:
                continue
            if dep not in self._platform_docs:
                # Past the budget the package name alone has to tell os/cpu/libc.
                if len(self._platform_docs) >= self.max_platform_documents:
                    continue
                self._platform_docs.add(dep)
            doc = self.client.document(dep, abbreviated=True)
            pinned = ((doc or {}).get("versions") or {}).get(str(spec))
            if pinned is not None:
                out[dep] = PlatformPackage.from_version(dep, pinned)
        return out


def _renumber(facts: VersionFacts, old: tuple[Note, ...], notes: list[Note]) -> VersionFacts:
    ids: list[int] = []
    for i in facts.notes:
        if i < len(old):
            if old[i] not in notes:
                notes.append(old[i])
            ids.append(notes.index(old[i]))
    return VersionFacts(
        facts.kind,
        facts.fallback_build,
        facts.prebuilt,
        facts.unsupported,
        facts.os,
        facts.cpu,
        facts.libc,
        tuple(ids),
    )
