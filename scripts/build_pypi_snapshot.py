"""Regenerate dockerarch/knowledge/data/pypi_wheels.bin from PyPI's JSON simple API.

Usage: python scripts/build_pypi_snapshot.py [--shared /work/shared/data] [--out PATH] [--jobs 4]

The package set is the seed lists in the shared data directory plus the compiled packages most
often installed in Dockerfiles (EXTRA_PACKAGES). Each project page is reduced with
`dockerarch.knowledge.pypi.releases_from_files` and written (:func:`encode`) as

- a first line of JSON: format, snapshot date, index, the x86-only projects, the distinct
  Requires-Python values, and each project's member as ``[offset, length]`` after that line;
- the members: per project, zlib-compressed JSON of its wheel tags, its sets of them, and one
  ``[version, tag set, flags, requires-python index]`` row per release, oldest first.

A check asks about a handful of projects, so a lookup inflates only those: inflating and
scanning the whole snapshot was ~5 ms of a one-file run. The same input gives the same bytes.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from dockerarch import __version__
from dockerarch.knowledge.members import pack
from dockerarch.knowledge.pypi import (
    SNAPSHOT_FORMAT,
    FileEntry,
    Release,
    releases_from_files,
)

INDEX_URL = "https://pypi.org/simple/"
ACCEPT = "application/vnd.pypi.simple.v1+json"
USER_AGENT = f"dockerarch/{__version__} (snapshot builder; wheel platform knowledge)"
REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "dockerarch" / "knowledge" / "data" / "pypi_wheels.bin"

# Compiled (or compiled-in-the-past) packages common in Dockerfiles, beyond the seed list, and
# a few pure ones so "pure wheel" answers come from real data.
_EXTRA = """
numpy scipy pandas scikit-learn matplotlib Pillow psycopg2 psycopg2-binary psycopg psycopg-binary
psycopg-c mysqlclient lxml cryptography grpcio grpcio-tools confluent-kafka pyarrow torch
torchaudio tensorflow tensorflow-cpu tensorflow-io-gcs-filesystem tensorflow-text
opencv-python opencv-python-headless opencv-contrib-python opencv-contrib-python-headless
uvloop orjson pydantic-core pydantic ujson gevent greenlet PyYAML cffi bcrypt pynacl pyzmq regex
tokenizers xgboost lightgbm h5py shapely pyproj rasterio fiona gdal pymssql pyodbc cx-Oracle
oracledb ibm-db asyncpg aiohttp frozenlist multidict yarl charset-normalizer markupsafe psutil
pycurl python-ldap mariadb msgpack protobuf ruamel.yaml.clib argon2-cffi-bindings xmlsec
reportlab pikepdf onnxruntime onnxruntime-gpu jaxlib triton bitsandbytes faiss-cpu
tiktoken safetensors rpds-py jiter watchfiles polars duckdb fastparquet thriftpy2 contourpy
fonttools spacy thinc blis cymem preshed murmurhash srsly tables dlib pyaudio pygobject
dbus-python pygraphviz ctranslate2 av soundfile coincurve bitarray cytoolz lru-dict ckzg
mmh3 xxhash pycryptodome pymupdf numba llvmlite uwsgi pyodbc ruff mypy black pendulum
time-machine ciso8601 python-levenshtein levenshtein rapidfuzz jq pyjq cchardet
faust-cchardet httptools websockets sqlalchemy zstandard lz4 cramjam brotli pillow-heif
pyinstaller nuitka dependency-injector hiredis kiwisolver pycares netifaces pysnmp pyusb
python-rtmidi pyxirr pyzstd pyppmd pybcj multivolumefile py7zr
xformers vllm flash-attn deepspeed mxnet paddlepaddle jax cupy-cuda12x
requests six urllib3 certifi idna flask django gunicorn celery boto3 setuptools wheel pip
"""
EXTRA_PACKAGES = tuple(_EXTRA.split())


def package_names(shared: Path) -> list[str]:
    names: set[str] = {canonicalize_name(n) for n in EXTRA_PACKAGES}
    with (shared / "python_min_arm64_versions.tsv").open(newline="") as handle:
        names |= {
            canonicalize_name(row["package"]) for row in csv.DictReader(handle, delimiter="\t")
        }
    names |= set(x86_only_names(shared))
    return sorted(names)


def x86_only_names(shared: Path) -> list[str]:
    with (shared / "python_x86_only_packages.tsv").open(newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t")
        return sorted(
            {canonicalize_name(r["package"]) for r in rows if r["flagged_on_arm64"] == "yes"}
        )


def fetch(name: str) -> list[FileEntry] | None:
    """The project's files, or None when the index does not know it."""
    request = urllib.request.Request(
        f"{INDEX_URL}{name}/", headers={"Accept": ACCEPT, "User-Agent": USER_AGENT}
    )
    for attempt in (1, 2):
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                page = json.load(response)
            break
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            if attempt == 2:
                raise
        except (urllib.error.URLError, TimeoutError):
            if attempt == 2:
                raise
        time.sleep(2)
    return [
        FileEntry(
            filename=f["filename"],
            yanked=bool(f.get("yanked")),
            requires_python=f.get("requires-python") or None,
        )
        for f in page["files"]
    ]


class Interner:
    def __init__(self) -> None:
        self.items: list[Any] = []
        self._index: dict[Any, int] = {}

    def __call__(self, item: Any) -> int:
        index = self._index.get(item)
        if index is None:
            index = self._index[item] = len(self.items)
            self.items.append(item)
        return index


def encode(projects: dict[str, list[Release]], x86_only: Iterable[str], taken: date) -> bytes:
    """The snapshot file's bytes (see the module's docs)."""
    requires = Interner()
    requires("")
    members: dict[str, bytes] = {}
    for name, releases in sorted(projects.items()):
        # Interned per project, in sorted order: stable across hash seeds, and a member
        # needs nothing from the others.
        tags = Interner()
        tagsets = Interner()
        rows = []
        for release in releases:
            indices = []
            for interpreter, abi, (family, (major, minor), arch) in sorted(release.tags):
                indices.append(tags((interpreter, abi, family, major, minor, arch)))
            flags = int(release.has_sdist) | (int(release.yanked) << 1)
            rows.append(
                [
                    str(release.version),
                    tagsets(tuple(sorted(indices))),
                    flags,
                    requires(release.requires_python or ""),
                ]
            )
        member = {
            "tags": [list(t) for t in tags.items],
            "tagsets": [list(s) for s in tagsets.items],
            "rows": rows,
        }
        members[name] = json.dumps(member, separators=(",", ":")).encode()
    header = {
        "format": SNAPSHOT_FORMAT,
        "date": taken.isoformat(),
        "index": INDEX_URL,
        "x86_only": sorted(x86_only),
        "requires_python": requires.items,
    }
    return pack(header, members)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("/work/shared/data"))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--jobs", type=int, default=4, choices=range(1, 5))
    args = parser.parse_args(argv)

    names = package_names(args.shared)
    projects: dict[str, list[Release]] = {}
    missing = []
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for name, files in zip(names, pool.map(fetch, names), strict=True):
            if files is None:
                missing.append(name)
            else:
                projects[name] = releases_from_files(name, files)
    data = encode(projects, x86_only_names(args.shared), date.today())
    args.out.write_bytes(data)
    releases = sum(len(r) for r in projects.values())
    print(
        f"{len(projects)} packages, {releases} releases; {len(data)} bytes -> {args.out}",
        file=sys.stderr,
    )
    if missing:
        print(f"not on the index: {' '.join(missing)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
