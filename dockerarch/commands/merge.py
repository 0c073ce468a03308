"""``dockerarch merge``: one TARGETARCH-conditional Dockerfile from per-platform ones."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dockerarch.commands._common import Problems, error


def add_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "merge",
        help="merge per-platform Dockerfiles into one",
        description=(
            "Merge Dockerfiles written for one platform each (Dockerfile and"
            " Dockerfile.aarch64, amd64/ and arm64v8/) into one that builds each"
            " platform's instructions, sharing what they have in common. The first"
            " file given provides the text of the shared parts."
        ),
    )
    parser.add_argument("--amd64", metavar="FILE", type=Path, help="the linux/amd64 Dockerfile")
    parser.add_argument("--arm64", metavar="FILE", type=Path, help="the linux/arm64 Dockerfile")
    parser.add_argument(
        "--platform",
        action="append",
        default=[],
        metavar="PLATFORM=FILE",
        help="another platform's Dockerfile, e.g. linux/arm/v7=Dockerfile.armhf (repeatable)",
    )
    parser.add_argument(
        "-o", "--output", type=Path, metavar="OUT", help="write here (atomically), not to stdout"
    )
    return parser


def run(args: argparse.Namespace) -> int:
    from dockerarch.fileio import FileError, read_source, write_atomic
    from dockerarch.merge import MergeError, MergeInput, merge
    from dockerarch.platforms import Platform

    wanted: list[tuple[Platform, Path]] = []
    if args.amd64 is not None:
        wanted.append((Platform("linux", "amd64"), args.amd64))
    if args.arm64 is not None:
        wanted.append((Platform("linux", "arm64"), args.arm64))
    for item in args.platform:
        spec, eq, path = item.partition("=")
        try:
            if not eq or not path:
                raise ValueError(f"expected PLATFORM=FILE, got {item!r}")
            wanted.append((Platform.parse(spec), Path(path)))
        except ValueError as e:
            error("--platform", str(e))
            return 2
    if len(wanted) < 2:
        error(None, "merge needs two Dockerfiles or more (--amd64, --arm64, --platform P=FILE)")
        return 2
    if len({str(p) for p, _ in wanted}) < len(wanted):
        error(None, "a platform is given twice")
        return 2
    problems = Problems()
    inputs: list[MergeInput] = []
    for platform, path in wanted:
        try:
            inputs.append(MergeInput(platform, read_source(path).text, str(path)))
        except FileError as e:
            problems.report(str(path), e.problem)
    if problems.count:
        return 2
    try:
        text = merge(inputs)
    except MergeError as e:
        error(e.label, e.problem)
        return 2
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        write_atomic(args.output, text)
    except FileError as e:
        error(e.path, e.problem)
        return 2
    return 0
