"""Regenerate dockerarch/knowledge/data/npm_addons.bin from the npm registry.

Usage: python scripts/build_npm_snapshot.py [--shared /work/shared/data] [--out PATH]
                                            [--cache DIR] [--max-tarballs N]

For each curated package (NAMES, the rows of npm_arm64_problem_packages.tsv and the packages
named in npm_curated.toml) the full registry document is fetched, one request at a time. Each
version is reduced with ``dockerarch.knowledge.npm.summarize_version``: install scripts,
``gypfile``, per-platform optional dependencies (whose own documents give os/cpu/libc), and for
node-gyp-build / bundled versions the ``prebuilds/`` listed in the published tarball. Curated
facts from npm_curated.toml are applied on top. Packages without any native sign are left out,
so ``addon_support`` answers None for them.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import sys
import tarfile
import time
import urllib.parse
import urllib.request
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from dockerarch import __version__
from dockerarch.knowledge.members import pack
from dockerarch.knowledge.npm import (
    KIND_BUNDLED,
    KIND_NODE_GYP_BUILD,
    KIND_NONE,
    SNAPSHOT_FORMAT,
    Note,
    PackageRecord,
    PlatformPackage,
    SemVer,
    is_native,
    load_curated,
    platform_package_from_name,
    record_to_json,
    summarize_version,
)

REGISTRY = "https://registry.npmjs.org/"
USER_AGENT = f"dockerarch/{__version__} (npm snapshot builder; native addon knowledge)"
REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "dockerarch" / "knowledge" / "data" / "npm_addons.bin"

NAMES = [
    "canvas",
    "sharp",
    "bcrypt",
    "sqlite3",
    "better-sqlite3",
    "node-sass",
    "grpc",
    "@grpc/grpc-js",
    "re2",
    "argon2",
    "cpu-features",
    "ssh2",
    "usb",
    "serialport",
    "@serialport/bindings",
    "@serialport/bindings-cpp",
    "node-rdkafka",
    "zeromq",
    "leveldown",
    "deasync",
    "fsevents",
    "puppeteer",
    "hiredis",
    "phantomjs",
    "phantomjs-prebuilt",
]

# Dependencies that only a compiled addon has.
_ADDON_DEPS = {"node-addon-api", "nan", "bindings", "node-gyp-build", "prebuild-install"}


class Fetcher:
    """Sequential, cached GETs; a pause between network requests keeps the load polite."""

    def __init__(self, cache: Path | None, pause: float = 0.3) -> None:
        self.cache = cache
        self.pause = pause
        self.requests = 0

    def get(self, url: str, accept: str = "application/json") -> bytes:
        path = None
        if self.cache is not None:
            self.cache.mkdir(parents=True, exist_ok=True)
            path = self.cache / hashlib.sha256(f"{accept} {url}".encode()).hexdigest()
            if path.exists():
                return path.read_bytes()
        if self.requests:
            time.sleep(self.pause)
        self.requests += 1
        req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": accept})
        with urllib.request.urlopen(req, timeout=120) as resp:
            body: bytes = resp.read()
        if path is not None:
            path.write_bytes(body)
        return body

    def document(self, name: str, abbreviated: bool = False) -> dict[str, Any]:
        accept = "application/vnd.npm.install-v1+json" if abbreviated else "application/json"
        url = REGISTRY + urllib.parse.quote(name, safe="@")
        doc: dict[str, Any] = json.loads(self.get(url, accept))
        return doc

    def tarball_files(self, url: str) -> list[str]:
        blob = self.get(url, "application/octet-stream")
        with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
            return tar.getnames()


def problem_names(shared: Path) -> list[str]:
    path = shared / "npm_arm64_problem_packages.tsv"
    with path.open(encoding="utf-8") as fh:
        return [row["package"] for row in csv.DictReader(fh, delimiter="\t") if row["package"]]


def platform_packages(
    fetcher: Fetcher, meta: Mapping[str, Any], seen: dict[str, dict[str, Any]]
) -> dict[str, PlatformPackage]:
    """os/cpu/libc of the version's per-platform optional dependencies, from their documents."""
    out: dict[str, PlatformPackage] = {}
    optional = meta.get("optionalDependencies") or {}
    candidates = [d for d in optional if platform_package_from_name(d) is not None]
    if len(candidates) < 2:
        return out
    for dep in candidates:
        if dep not in seen:
            try:
                seen[dep] = fetcher.document(dep, abbreviated=True)
            except OSError as exc:
                print(f"  ! {dep}: {exc}", file=sys.stderr)
                seen[dep] = {}
        versions = seen[dep].get("versions") or {}
        pinned = versions.get(str(optional[dep]))
        if pinned is None and versions:
            pinned = versions[max(versions, key=lambda v: SemVer.parse(v) or SemVer(0, 0, 0))]
        if pinned is not None:
            out[dep] = PlatformPackage.from_version(dep, pinned)
    return out


def wants_tarball(meta: Mapping[str, Any], kind: str) -> bool:
    if kind in (KIND_NODE_GYP_BUILD, KIND_BUNDLED):
        return True
    deps = set(meta.get("dependencies") or {})
    return kind == KIND_NONE and bool(deps & _ADDON_DEPS)


def build_record(
    fetcher: Fetcher, name: str, max_tarballs: int, pp_docs: dict[str, dict[str, Any]]
) -> PackageRecord | None:
    doc = fetcher.document(name)
    rules = load_curated().get(name, ())
    notes: list[Note] = []
    versions = {}
    # Newest first, so the tarball budget goes to the versions people install today.
    ordered = sorted(
        doc.get("versions", {}).items(),
        key=lambda kv: SemVer.parse(kv[0]) or SemVer(0, 0, 0),
        reverse=True,
    )
    tarballs = 0
    for version, meta in ordered:
        parsed = SemVer.parse(version)
        if parsed is None:
            continue
        pps = platform_packages(fetcher, meta, pp_docs)
        facts = summarize_version(meta, platform_packages=pps, rules=rules, notes=notes)
        url = (meta.get("dist") or {}).get("tarball")
        if (
            url
            and not parsed.prerelease
            and tarballs < max_tarballs
            and wants_tarball(meta, facts.kind)
        ):
            tarballs += 1
            try:
                files = fetcher.tarball_files(url)
            except (OSError, tarfile.TarError) as exc:
                print(f"  ! {name}@{version} tarball: {exc}", file=sys.stderr)
            else:
                facts = summarize_version(
                    meta, platform_packages=pps, tarball_files=files, rules=rules, notes=notes
                )
        versions[version] = facts
    if not any(is_native(f) for f in versions.values()):
        return None
    # Every version stays, pure ones included: dropping any would let "^1.2" resolve to a
    # different version than npm picks.
    return PackageRecord(name, dict(doc.get("dist-tags") or {}), versions, tuple(notes))


def encode(packages: Mapping[str, Any], generated: str) -> bytes:
    """The snapshot file (dockerarch/knowledge/members.py): per package, by name, its record
    as JSON in a member of its own, so a question inflates only its package."""
    members = {
        name: json.dumps(record, separators=(",", ":"), sort_keys=True).encode()
        for name, record in packages.items()
    }
    return pack({"format": SNAPSHOT_FORMAT, "generated": generated}, members)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--shared", type=Path, default=Path("/work/shared/data"))
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--cache", type=Path, default=None, help="keep fetched documents here")
    ap.add_argument("--max-tarballs", type=int, default=40, help="tarball listings per package")
    args = ap.parse_args(argv)

    names = list(dict.fromkeys([*NAMES, *problem_names(args.shared), *load_curated()]))
    fetcher = Fetcher(args.cache)
    packages: dict[str, Any] = {}
    pp_docs: dict[str, dict[str, Any]] = {}
    started = time.monotonic()
    for name in names:
        try:
            record = build_record(fetcher, name, args.max_tarballs, pp_docs)
        except OSError as exc:
            print(f"! {name}: {exc}", file=sys.stderr)
            return 1
        if record is None:
            print(f"{name}: no native install step in any version, left out")
            continue
        packages[name] = record_to_json(record)
        print(f"{name}: {len(record.versions)} versions")
    blob = encode(packages, date.today().isoformat())
    args.out.write_bytes(blob)
    took = time.monotonic() - started
    print(f"wrote {args.out} ({len(blob)} bytes) from {fetcher.requests} requests in {took:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
