#!/usr/bin/env python3
"""Build dockerarch/knowledge/data/official_images.bin from an official-images tags.tsv.

The input has one row per ``image tag architectures last_listed``. The output holds one
zlib-compressed member per image, so a lookup inflates only the image it asks about:

- a first line of JSON: format, snapshot date, source commit, the list of distinct
  architecture sets, and each image's member as ``[offset, length]`` after that line;
- the members: one ``tag<TAB>archset-index<TAB>last_listed`` line per tag, sorted by tag.

Not a zip: importing zipfile and reading its directory cost ~3 ms of every run. The same
input always gives the same bytes.

    python scripts/build_images_snapshot.py /work/shared/data/official-images/tags.tsv
"""

from __future__ import annotations

import argparse
import csv
import datetime
import re
import sys
from collections import defaultdict
from pathlib import Path

from dockerarch.knowledge.members import pack

OUTPUT = Path(__file__).resolve().parent.parent / "dockerarch/knowledge/data/official_images.bin"
FORMAT_VERSION = 2
_README_SOURCE_RE = re.compile(r"commit ([0-9a-f]{40}), (\d{4}-\d{2}-\d{2})")
_IMAGE_RE = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG_RE = re.compile(r"[\w][\w.-]{0,127}", re.ASCII)


def read_rows(path: Path) -> tuple[dict[str, dict[str, tuple[str, str]]], int]:
    """image -> tag -> (architectures, last_listed), and how many unusable rows were skipped.

    A few historical library/ files had typos that yield tags no FROM line can name (``-h2``,
    ``1.1.0rc1 1.1rc1``); those are skipped. Anything else malformed stops the build.
    """
    images: dict[str, dict[str, tuple[str, str]]] = defaultdict(dict)
    skipped = 0
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        for line, row in enumerate(reader, start=2):
            image, tag, arches, listed = (
                row["image"],
                row["tag"],
                row["architectures"],
                row["last_listed"],
            )
            if not _IMAGE_RE.fullmatch(image):
                raise ValueError(f"{path}:{line}: bad image name {image!r}")
            if not _TAG_RE.fullmatch(tag):
                skipped += 1
                continue
            datetime.date.fromisoformat(listed)
            if not arches or tag in images[image]:
                raise ValueError(f"{path}:{line}: empty architectures or duplicate tag")
            images[image][tag] = (",".join(sorted(arches.split(","))), listed)
    return images, skipped


def source_from_readme(readme: Path) -> tuple[str, str]:
    match = _README_SOURCE_RE.search(readme.read_text(encoding="utf-8"))
    if match is None:
        raise ValueError(f"{readme}: no 'commit <sha>, <date>' to record as the source")
    return match.group(1), match.group(2)


def build(
    images: dict[str, dict[str, tuple[str, str]]], commit: str, date: str, output: Path
) -> None:
    archsets = sorted({arches for tags in images.values() for arches, _ in tags.values()})
    index = {arches: i for i, arches in enumerate(archsets)}
    members = {
        image: "".join(
            f"{tag}\t{index[tags[tag][0]]}\t{tags[tag][1]}\n" for tag in sorted(tags)
        ).encode("utf-8")
        for image, tags in images.items()
    }
    meta = {
        "format": FORMAT_VERSION,
        "snapshot_date": date,
        "source": "docker-library/official-images library/",
        "source_commit": commit,
        "archsets": archsets,
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(pack(meta, members))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tags_tsv", type=Path)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--source-commit", help="default: read from README.md next to the TSV")
    parser.add_argument("--snapshot-date", help="default: read from README.md next to the TSV")
    args = parser.parse_args(argv)
    commit, date = args.source_commit, args.snapshot_date
    if commit is None or date is None:
        readme_commit, readme_date = source_from_readme(args.tags_tsv.parent / "README.md")
        commit, date = commit or readme_commit, date or readme_date
    images, skipped = read_rows(args.tags_tsv)
    build(images, commit, date, args.output)
    rows = sum(len(tags) for tags in images.values())
    size = args.output.stat().st_size
    print(
        f"{args.output}: {len(images)} images, {rows} tags, {size} bytes"
        f" ({skipped} rows with unusable tags skipped)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
