"""``dockerarch lsp``: run the language server (stdio by default, or ``--tcp HOST:PORT``)."""

from __future__ import annotations

import argparse


def add_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    from dockerarch.lsp import build_parser

    parser = subparsers.add_parser(
        "lsp", help="run the language server", description="Run the dockerarch language server."
    )
    return build_parser(parser)


def run(args: argparse.Namespace) -> int:
    from dockerarch.lsp import run as serve

    return serve(args)
