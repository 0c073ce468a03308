"""``dockerarch lsp``: the language server, over stdio (default) or TCP."""

from __future__ import annotations

import argparse


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The options of ``dockerarch lsp``, added to ``parser`` (a subcommand's) if given."""
    parser = parser or argparse.ArgumentParser(
        prog="dockerarch lsp", description="Run the dockerarch language server."
    )
    transport = parser.add_mutually_exclusive_group()
    transport.add_argument(
        "--stdio", action="store_true", help="talk LSP over stdin/stdout (the default)"
    )
    transport.add_argument("--tcp", metavar="HOST:PORT", help="listen for one client on HOST:PORT")
    return parser


def run(args: argparse.Namespace) -> int:
    """Serve until the client says exit; options as parsed by :func:`build_parser`."""
    from dockerarch.lsp.server import create_server

    server = create_server()
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        if not port.isdigit():
            raise SystemExit(f"dockerarch lsp: --tcp wants HOST:PORT, got {args.tcp!r}")
        server.start_tcp(host or "127.0.0.1", int(port))
    else:
        server.start_io()
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))
