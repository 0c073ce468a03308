"""Live release data from a Python package index (the `Provider` of `dockerarch.knowledge.pypi`).

Speaks the simple repository API: PEP 691 JSON first, PEP 503 HTML when that is all the index
serves. The index is the one pip on this machine would use unless given: ``PIP_INDEX_URL``,
then ``index-url`` from pip's configuration files. Only urllib; TLS certificates are verified;
responses are bounded in size and time; results can be cached on disk as JSON with an expiry.
"""

from __future__ import annotations

import base64
import configparser
import hashlib
import json
import os
import ssl
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from dockerarch import __version__
from dockerarch.knowledge.bounded import ResponseRefused, read_bounded
from dockerarch.knowledge.pypi import FileEntry, Release, releases_from_files
from dockerarch.pynames import canonicalize_name

__all__ = [
    "DEFAULT_INDEX_URL",
    "IndexUnavailable",
    "PyPIClient",
    "configured_index_url",
    "parse_html_page",
    "parse_json_page",
    "pip_config_files",
]

DEFAULT_INDEX_URL = "https://pypi.org/simple/"
USER_AGENT = f"dockerarch/{__version__}"
# pip's own preference order: JSON, then HTML in either spelling.
ACCEPT = (
    "application/vnd.pypi.simple.v1+json, "
    "application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
)
ACCEPT_HTML = "application/vnd.pypi.simple.v1+html, text/html;q=0.9"
_JSON_TYPES = ("application/vnd.pypi.simple.v1+json", "application/json")
_CACHE_FORMAT = 1


class IndexUnavailable(Exception):
    """The index could not answer (network, HTTP error, oversized or malformed page)."""


def pip_config_files(environ: Mapping[str, str] | None = None) -> list[Path]:
    """pip's configuration files, lowest priority first (global, user, site, PIP_CONFIG_FILE)."""
    env = os.environ if environ is None else environ
    xdg_dirs = env.get("XDG_CONFIG_DIRS") or "/etc/xdg"
    files = [Path(d) / "pip" / "pip.conf" for d in reversed(xdg_dirs.split(os.pathsep)) if d]
    files.append(Path("/etc/pip.conf"))
    explicit = env.get("PIP_CONFIG_FILE")
    # As in pip: an existing PIP_CONFIG_FILE replaces the user's files instead of adding to them.
    if not (explicit and Path(explicit).exists()):
        home = Path(env.get("HOME") or Path.home())
        config_home = Path(env.get("XDG_CONFIG_HOME") or home / ".config")
        files += [home / ".pip" / "pip.conf", config_home / "pip" / "pip.conf"]
    files.append(Path(sys.prefix) / "pip.conf")
    if explicit:
        files.append(Path(explicit))
    return files


def _index_url_in(path: Path) -> str | None:
    parser = configparser.RawConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError, OSError):
        return None
    for section in ("install", "global"):
        for key in ("index-url", "index_url"):
            value = parser.get(section, key, fallback=None)
            if value and value.strip():
                return value.strip()
    return None


def configured_index_url(environ: Mapping[str, str] | None = None) -> str:
    """The index pip would use: ``PIP_INDEX_URL``, pip's config files, then PyPI."""
    env = os.environ if environ is None else environ
    if env.get("PIP_INDEX_URL"):
        return env["PIP_INDEX_URL"]
    found = DEFAULT_INDEX_URL
    for path in pip_config_files(env):
        value = _index_url_in(path)
        if value:
            found = value
    return found


class _AnchorParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.files: list[FileEntry] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "a":
            return
        values = dict(attrs)
        href = values.get("href")
        if not href:
            return
        path = urllib.parse.urlsplit(href).path
        filename = urllib.parse.unquote(path.rsplit("/", 1)[-1])
        if filename:
            self.files.append(
                FileEntry(
                    filename=filename,
                    # PEP 592: the attribute's presence marks the file, its value is a reason.
                    yanked="data-yanked" in values,
                    requires_python=values.get("data-requires-python") or None,
                )
            )


def parse_html_page(text: str) -> list[FileEntry]:
    """Files of a PEP 503 project page."""
    parser = _AnchorParser()
    parser.feed(text)
    parser.close()
    return parser.files


def parse_json_page(data: Any) -> list[FileEntry]:
    """Files of a PEP 691 project page (already decoded)."""
    try:
        version = str(data["meta"]["api-version"])
        if version.split(".")[0] != "1":
            raise IndexUnavailable(f"unsupported simple API version {version}")
        return [
            FileEntry(
                filename=str(f["filename"]),
                yanked=bool(f.get("yanked", False)),
                requires_python=f.get("requires-python") or None,
            )
            for f in data["files"]
        ]
    except (KeyError, TypeError, AttributeError) as error:
        raise IndexUnavailable(f"malformed project page: {error!r}") from error


def _split_credentials(url: str) -> tuple[str, str | None]:
    """(url without user:password, Basic auth header value or None)."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return url, None
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    user = urllib.parse.unquote(parts.username)
    password = urllib.parse.unquote(parts.password or "")
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc)), f"Basic {token}"


class _GuardedRedirects(urllib.request.HTTPRedirectHandler):
    # urllib copies every header, Authorization included, to wherever a redirect points.
    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is None:
            return None
        old, target = urllib.parse.urlsplit(req.full_url), urllib.parse.urlsplit(new.full_url)
        if old.scheme == "https" and target.scheme != "https":
            raise IndexUnavailable(f"{req.full_url}: refusing redirect from https to {newurl}")
        if (target.scheme, target.netloc) != (old.scheme, old.netloc):
            new.remove_header("Authorization")
        return new


class PyPIClient:
    """A `Provider` reading a simple-API index over HTTP(S)."""

    def __init__(
        self,
        index_url: str | None = None,
        timeout: float = 5.0,
        max_bytes: int = 32 * 1024 * 1024,
        cache_dir: Path | str | None = None,
        ttl: float = 24 * 3600.0,
    ) -> None:
        url = index_url if index_url is not None else configured_index_url()
        self.index_url, self._authorization = _split_credentials(url.rstrip("/") + "/")
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.ttl = ttl
        self._cache_dir = None if cache_dir is None else Path(cache_dir)
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=ssl.create_default_context()), _GuardedRedirects
        )
        self._memory: dict[str, list[FileEntry] | None] = {}

    def releases(self, name: str) -> list[Release] | None:
        files = self.files(name)
        return None if files is None else releases_from_files(name, files)

    def files(self, name: str) -> list[FileEntry] | None:
        """The project's files, or None when the index has no such project."""
        key = canonicalize_name(name)
        if key in self._memory:
            return self._memory[key]
        cached = self._read_cache(key)
        if cached is not None:
            files = cached[0]
        else:
            files = self._fetch(key)
            self._write_cache(key, files)
        self._memory[key] = files
        return files

    def _request(self, url: str, accept: str) -> urllib.request.Request:
        headers = {"Accept": accept, "User-Agent": USER_AGENT}
        if self._authorization:
            headers["Authorization"] = self._authorization
        return urllib.request.Request(url, headers=headers)

    def _fetch(self, key: str) -> list[FileEntry] | None:
        url = urllib.parse.urljoin(self.index_url, f"{key}/")
        deadline = time.monotonic() + self.timeout
        try:
            try:
                content_type, body = self._get(self._request(url, ACCEPT), deadline)
            except urllib.error.HTTPError as error:
                # Some mirrors answer "Not Acceptable" to the JSON media type instead of
                # falling back to HTML themselves.
                if error.code != 406:
                    raise
                content_type, body = self._get(self._request(url, ACCEPT_HTML), deadline)
        except urllib.error.HTTPError as error:
            if error.code in (404, 410):
                return None
            raise IndexUnavailable(f"{url}: HTTP {error.code}") from error
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise IndexUnavailable(f"{url}: {error}") from error
        if content_type in _JSON_TYPES:
            try:
                return parse_json_page(json.loads(body))
            except ValueError as error:
                raise IndexUnavailable(f"{url}: invalid JSON: {error}") from error
        return parse_html_page(body.decode("utf-8", errors="replace"))

    def _get(self, request: urllib.request.Request, deadline: float) -> tuple[str, bytes]:
        remaining = max(deadline - time.monotonic(), 0.001)
        with self._opener.open(request, timeout=remaining) as response:
            try:
                body = read_bounded(response, self.max_bytes, deadline, self.timeout)
            except ResponseRefused as e:
                raise IndexUnavailable(f"{request.full_url}: {e}") from None
            content_type = response.headers.get_content_type()
        return content_type, body

    def _cache_path(self, key: str) -> Path | None:
        if self._cache_dir is None:
            return None
        index = hashlib.sha256(self.index_url.encode()).hexdigest()[:16]
        return self._cache_dir / index / f"{key}.json"

    def _read_cache(self, key: str) -> tuple[list[FileEntry] | None] | None:
        """((files or None for unknown project),) when a fresh entry exists, else None."""
        path = self._cache_path(key)
        if path is None:
            return None
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
            if entry["format"] != _CACHE_FORMAT or entry["index"] != self.index_url:
                return None
            if time.time() - float(entry["fetched"]) > self.ttl:
                return None
            rows = entry["files"]
            if rows is None:
                return (None,)
            return ([FileEntry(str(f), bool(y), r) for f, y, r in rows],)
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _write_cache(self, key: str, files: list[FileEntry] | None) -> None:
        path = self._cache_path(key)
        if path is None:
            return
        entry = {
            "format": _CACHE_FORMAT,
            "index": self.index_url,
            "fetched": time.time(),
            "files": None
            if files is None
            else [[f.filename, f.yanked, f.requires_python] for f in files],
        }
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename: concurrent runs never read a half-written entry.
            with tempfile.NamedTemporaryFile(
                "w", encoding="utf-8", dir=path.parent, suffix=".tmp", delete=False
            ) as handle:
                json.dump(entry, handle)
            os.replace(handle.name, path)
        except OSError:
            # A read-only or full cache directory only costs a refetch next time.
            return
