"""Opt-in online look-up of an image's platforms through the OCI distribution API.

Only anonymous pulls are supported: the bearer-token dance public registries use, no stored
credentials. Results are cached in memory and, when a cache directory is given, on disk.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import json
import os
import re
import ssl
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from email.message import Message
from pathlib import Path
from typing import Any

from dockerarch.imageref import DEFAULT_REGISTRY, ImageRef
from dockerarch.knowledge.bounded import ResponseRefused, read_bounded
from dockerarch.knowledge.images import ImagePlatforms, platform_string
from dockerarch.lazyre import lazy_compile

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
_INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
_MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
_ACCEPT = ", ".join((OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST))
_HUB_ENDPOINT = "https://registry-1.docker.io"
_MAX_REDIRECTS = 5
_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
# (?<!\w): a key starts a word, so a long run of word characters is scanned once, not once
# per character (the header comes from the server).
_CHALLENGE_PARAM_RE = lazy_compile(r'(?<!\w)(\w+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))')


class RegistryError(Exception):
    """The registry could not tell which platforms an image has."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # Redirects are followed by hand so that each hop's scheme and host can be checked and
    # the bearer token is only ever sent to the host that issued the challenge.
    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> None:
        return None


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_url(url: str) -> urllib.parse.SplitResult:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(parts.hostname)):
        return parts
    raise RegistryError(f"refusing {url}: only https, or http to a loopback address")


def parse_bearer_challenge(header: str) -> dict[str, str] | None:
    """Parameters of a ``WWW-Authenticate: Bearer k="v",...`` header; None if not Bearer."""
    scheme, _, params = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return {
        key.lower(): re.sub(r"\\(.)", r"\1", quoted) if quoted else bare
        for key, quoted, bare in _CHALLENGE_PARAM_RE.findall(params)
    }


def _verify_digest(body: bytes, digest: str, what: str) -> None:
    algorithm, _, expected = digest.partition(":")
    if algorithm not in ("sha256", "sha512"):
        raise RegistryError(f"{what}: unsupported digest algorithm {algorithm!r}")
    if hashlib.new(algorithm, body).hexdigest() != expected.lower():
        raise RegistryError(f"{what}: content does not match digest {digest}")


class RegistryClient:
    """Fetches an image's platforms from its registry, with memory and optional disk caches.

    ``endpoints`` maps registry hosts to base URLs (``{"127.0.0.1:5000":
    "http://127.0.0.1:5000"}``); plain http is accepted for loopback hosts only.
    """

    def __init__(
        self,
        *,
        timeout: float = 5.0,
        max_bytes: int = 4_000_000,
        cache_dir: Path | None = None,
        cache_ttl: float = 86400,
        endpoints: Mapping[str, str] | None = None,
    ) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.cache_dir = cache_dir
        self.cache_ttl = cache_ttl
        self._endpoints = dict(endpoints or {})
        for base in self._endpoints.values():
            try:
                _check_url(base)
            except RegistryError as error:
                raise ValueError(str(error)) from None
        self._opener = urllib.request.build_opener(
            _NoRedirect, urllib.request.HTTPSHandler(context=ssl.create_default_context())
        )
        # ref -> (time fetched from the registry, result)
        self._memory: dict[str, tuple[float, ImagePlatforms]] = {}
        self._tokens: dict[tuple[str, str, str], str] = {}

    def platforms(self, ref: ImageRef) -> ImagePlatforms:
        """Platforms ``ref`` is published for; raises RegistryError when that cannot be found."""
        key = str(ref)
        now = time.time()
        hit = self._memory.get(key)
        if hit is None or now - hit[0] >= self.cache_ttl:
            hit = self._read_disk(key, now)
        if hit is None:
            fetched = self._fetch(ref)
            today = datetime.datetime.now(datetime.timezone.utc).date()
            hit = (
                now,
                ImagePlatforms(fetched, f"registry {ref.registry} {today}", today.isoformat()),
            )
            self._write_disk(key, hit[1], now)
        self._memory[key] = hit
        return hit[1]

    def _base_url(self, registry: str) -> str:
        if registry in self._endpoints:
            return self._endpoints[registry].rstrip("/")
        if registry == DEFAULT_REGISTRY:
            return _HUB_ENDPOINT
        # Like the Docker daemon, which treats loopback registries as insecure by default.
        if _is_loopback(urllib.parse.urlsplit(f"//{registry}").hostname):
            return f"http://{registry}"
        return f"https://{registry}"

    def _fetch(self, ref: ImageRef) -> frozenset[str]:
        base = f"{self._base_url(ref.registry)}/v2/{ref.repository}"
        reference = ref.digest or ref.tag or "latest"
        body, content_type = self._get(f"{base}/manifests/{reference}", _ACCEPT, ref)
        if ref.digest is not None:
            _verify_digest(body, ref.digest, str(ref))
        manifest = self._json(body, str(ref))
        media_type = manifest.get("mediaType") or content_type
        if media_type in _INDEX_TYPES or "manifests" in manifest:
            return self._index_platforms(manifest, str(ref))
        if manifest.get("schemaVersion") == 1:
            # Legacy schema 1 manifests carry the architecture themselves and were Linux-only.
            return frozenset({self._platform("linux", manifest.get("architecture"), "", ref)})
        if media_type in _MANIFEST_TYPES or "config" in manifest:
            config_digest = (manifest.get("config") or {}).get("digest")
            if not isinstance(config_digest, str):
                raise RegistryError(f"{ref}: manifest has no config digest")
            blob, _ = self._get(f"{base}/blobs/{config_digest}", "*/*", ref)
            _verify_digest(blob, config_digest, f"{ref} config")
            config = self._json(blob, f"{ref} config")
            return frozenset(
                {
                    self._platform(
                        config.get("os"), config.get("architecture"), config.get("variant"), ref
                    )
                }
            )
        raise RegistryError(f"{ref}: unsupported manifest media type {media_type!r}")

    def _index_platforms(self, index: dict[str, Any], what: str) -> frozenset[str]:
        platforms = set()
        for entry in index.get("manifests") or []:
            platform = entry.get("platform") or {}
            os_name, arch = platform.get("os"), platform.get("architecture")
            # BuildKit stores provenance and SBOM attestations as unknown/unknown entries.
            if not os_name or not arch or (os_name, arch) == ("unknown", "unknown"):
                continue
            platforms.add(self._platform(os_name, arch, platform.get("variant"), what))
        if not platforms:
            raise RegistryError(f"{what}: image index lists no platforms")
        return frozenset(platforms)

    @staticmethod
    def _platform(os_name: object, arch: object, variant: object, what: object) -> str:
        if not isinstance(os_name, str) or not isinstance(arch, str):
            raise RegistryError(f"{what}: no os/architecture in the image metadata")
        try:
            return platform_string(os_name, arch, variant if isinstance(variant, str) else "")
        except ValueError as error:
            raise RegistryError(f"{what}: {error}") from None

    def _json(self, body: bytes, what: str) -> dict[str, Any]:
        try:
            value = json.loads(body)
        except ValueError as error:
            raise RegistryError(f"{what}: response is not JSON: {error}") from None
        if not isinstance(value, dict):
            raise RegistryError(f"{what}: response is not a JSON object")
        return value

    def _get(self, url: str, accept: str, ref: ImageRef | None) -> tuple[bytes, str]:
        """GET ``url``, following redirects by hand and, for ``ref``, one bearer challenge."""
        first = _check_url(url)
        origin = first.netloc
        token: str | None = None
        challenged = False
        for _ in range(_MAX_REDIRECTS + 1):
            parts = _check_url(url)
            if parts.scheme != first.scheme and first.scheme == "https":
                raise RegistryError(f"refusing redirect from https to {url}")
            headers = {"Accept": accept}
            if token is not None and parts.netloc == origin:
                headers["Authorization"] = f"Bearer {token}"
            try:
                with self._opener.open(
                    urllib.request.Request(url, headers=headers), timeout=self.timeout
                ) as response:
                    body = self._read_limited(response, url, time.monotonic() + self.timeout)
                    return body, response.headers.get_content_type()
            except urllib.error.HTTPError as error:
                with error:
                    if error.code in _REDIRECT_CODES and error.headers.get("Location"):
                        url = urllib.parse.urljoin(url, error.headers["Location"])
                        continue
                    challenge = error.headers.get("WWW-Authenticate", "")
                    if error.code == 401 and ref and not challenged and parts.netloc == origin:
                        challenged = True
                        token = self._token(challenge, ref)
                        continue
                    raise RegistryError(f"GET {url}: HTTP {error.code} {error.reason}") from None
            except (urllib.error.URLError, OSError) as error:
                reason = getattr(error, "reason", error)
                raise RegistryError(f"GET {url}: {reason}") from None
        raise RegistryError(f"GET {url}: more than {_MAX_REDIRECTS} redirects")

    def _read_limited(self, response: Any, url: str, deadline: float) -> bytes:
        try:
            return read_bounded(response, self.max_bytes, deadline, self.timeout)
        except ResponseRefused as e:
            raise RegistryError(f"GET {url}: {e}") from None

    def _token(self, challenge: str, ref: ImageRef) -> str:
        params = parse_bearer_challenge(challenge)
        if params is None or not params.get("realm"):
            raise RegistryError(
                f"{ref}: registry wants credentials ({challenge or 'no challenge'})"
            )
        realm = params["realm"]
        service = params.get("service", "")
        scope = params.get("scope") or f"repository:{ref.repository}:pull"
        key = (realm, service, scope)
        if key not in self._tokens:
            query = urllib.parse.urlencode(
                {k: v for k, v in (("service", service), ("scope", scope)) if v}
            )
            separator = "&" if urllib.parse.urlsplit(realm).query else "?"
            body, _ = self._get(f"{realm}{separator}{query}", "application/json", None)
            answer = self._json(body, f"token from {realm}")
            token = answer.get("token") or answer.get("access_token")
            if not isinstance(token, str) or not token:
                raise RegistryError(f"token from {realm}: no token in the response")
            self._tokens[key] = token
        return self._tokens[key]

    def _cache_path(self, key: str) -> Path | None:
        if self.cache_dir is None:
            return None
        return self.cache_dir / f"{hashlib.sha256(key.encode()).hexdigest()}.json"

    def _read_disk(self, key: str, now: float) -> tuple[float, ImagePlatforms] | None:
        """(fetch time, result) of a fresh disk cache entry for ``key``, if there is one."""
        path = self._cache_path(key)
        if path is None:
            return None
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
            # Each reader applies its own TTL to the recorded fetch time.
            fetched_at = float(entry["fetched_at"])
            if entry["ref"] != key or now - fetched_at >= self.cache_ttl:
                return None
            fetched = datetime.date.fromisoformat(entry["fetched"]).isoformat()
            platforms = frozenset(str(p) for p in entry["platforms"])
        except (OSError, ValueError, KeyError, TypeError):
            # A missing, stale or damaged cache entry only means asking the registry again.
            return None
        return fetched_at, ImagePlatforms(platforms, f"online cache {fetched}", fetched)

    def _write_disk(self, key: str, result: ImagePlatforms, fetched_at: float) -> None:
        path = self._cache_path(key)
        if path is None:
            return
        entry = {
            "ref": key,
            "platforms": sorted(result.platforms),
            "fetched": result.last_listed,
            "fetched_at": fetched_at,
        }
        # Write-then-rename so a concurrent reader never sees half an entry. The disk cache is
        # an optimisation: failing to write it must not fail a look-up that succeeded.
        temp: str | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(entry, handle)
            os.replace(temp, path)
        except OSError:
            if temp is not None:
                Path(temp).unlink(missing_ok=True)
