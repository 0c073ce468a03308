"""``dockerarch render``: the Dockerfile as one target platform builds it."""

from __future__ import annotations

import argparse
import sys

from dockerarch.commands._common import STDIN, Problems


def add_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "render",
        help="print the Dockerfile as one platform builds it",
        description=(
            "Print the stages a target platform builds, with stage selection through"
            " ${TARGETARCH} resolved and RUN branches on $TARGETARCH reduced to the one"
            " that platform runs; everything else verbatim."
        ),
    )
    parser.add_argument("path", metavar="FILE", help="the Dockerfile (- reads stdin)")
    parser.add_argument(
        "--platform", required=True, metavar="PLATFORM", help="target platform, e.g. linux/arm64"
    )
    parser.add_argument("--target", metavar="STAGE", help="build this stage instead of the last")
    return parser


def run(args: argparse.Namespace) -> int:
    from dockerarch.fileio import FileError, decode, read_source
    from dockerarch.platforms import Platform
    from dockerarch.render import RenderError, render

    problems = Problems()
    try:
        platform = Platform.parse(args.platform)
    except ValueError as e:
        problems.report("--platform", str(e))
        return 2
    name = args.path
    try:
        if name == STDIN:
            text = decode(sys.stdin.buffer.read(), name)
        else:
            text = read_source(args.path).text
        sys.stdout.write(render(text, platform, args.target))
    except FileError as e:
        problems.report(name, e.problem)
        return 2
    except RenderError as e:
        problems.report(name, f"cannot render: {e}")
        return 2
    return 0
