"""What the commands that read Dockerfiles share: options, inputs, error lines.

Kept free of engine imports so that building the parser stays cheap.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from dockerarch.records import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

    from dockerarch.config import FileConfig, Overrides, Resolver
    from dockerarch.engine import Settings

STDIN = "-"


class UsageError(Exception):
    """Arguments that do not make sense together; exit code 2."""


def error(where: str | None, problem: str) -> None:
    """One line on stderr: ``dockerarch: <where>: <problem>``."""
    text = f"{where}: {problem}" if where else problem
    print(f"dockerarch: {' '.join(text.splitlines())}", file=sys.stderr)


class Problems:
    """Counts the inputs that could not be checked, reporting each on one line."""

    def __init__(self, verbose: bool = False) -> None:
        self.verbose = verbose
        self.count = 0

    def report(self, where: str | None, problem: str) -> None:
        self.count += 1
        error(where, problem)

    def crashed(self, where: str, exc: BaseException) -> None:
        """An unexpected exception while handling one file; the traceback with --verbose."""
        import traceback

        self.crashed_as(
            where, f"{type(exc).__name__}: {exc}", "".join(traceback.format_exception(exc))
        )

    def crashed_as(self, where: str, summary: str, trace: str) -> None:
        """:meth:`crashed` for an exception raised elsewhere (a worker process), as text."""
        self.report(where, f"internal error: {summary}")
        if self.verbose:
            sys.stderr.write(trace)

    def note(self, where: str, text: str) -> None:
        if self.verbose:
            error(where, f"note: {text}")


def add_input_options(parser: argparse.ArgumentParser) -> None:
    """Options to choose the files, the configuration and the rules."""
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help="Dockerfiles or directories to search (default: .); - reads stdin",
    )
    parser.add_argument(
        "--stdin-filename",
        metavar="NAME",
        help="the name of the file read from stdin (for configuration and output)",
    )
    group = parser.add_argument_group("configuration")
    group.add_argument("--config", type=Path, metavar="FILE", help="use this configuration file")
    group.add_argument("--isolated", action="store_true", help="ignore all configuration files")
    group.add_argument(
        "--select", metavar="CODES", help="comma-separated rule codes or prefixes to check"
    )
    group.add_argument(
        "--extend-select", metavar="CODES", help="codes or prefixes to check in addition"
    )
    group.add_argument("--ignore", metavar="CODES", help="codes or prefixes not to check")
    group.add_argument(
        "--platform",
        metavar="PLATFORMS",
        help="target platforms, comma-separated (default: linux/amd64,linux/arm64)",
    )
    group.add_argument(
        "--online",
        action="store_true",
        default=None,
        help="query registries for what the offline snapshots do not know",
    )
    group.add_argument(
        "--cache-dir",
        type=Path,
        metavar="DIR",
        help="cache for results and online lookups (results default: .dockerarch_cache)",
    )
    group.add_argument(
        "--context",
        type=Path,
        metavar="DIR",
        help="build context directory (default: each Dockerfile's directory)",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="explain skipped checks; show tracebacks"
    )


def overrides(args: argparse.Namespace) -> Overrides:
    """The command line's settings; :class:`ConfigError` for a malformed value."""
    from dockerarch.config import Overrides, Selection, parse_platforms, parse_selectors, split_list

    def codes(option: str) -> tuple[str, ...] | None:
        value = getattr(args, option.replace("-", "_"))
        if value is None:
            return None
        return parse_selectors(split_list(value), f"--{option}", option)

    return Overrides(
        selection=Selection(
            select=codes("select"),
            extend_select=codes("extend-select") or (),
            ignore=codes("ignore") or (),
        ),
        platforms=(
            parse_platforms(split_list(args.platform), "--platform", "platform")
            if args.platform is not None
            else None
        ),
        online=args.online,
        cache_dir=args.cache_dir,
        verbose=args.verbose,
    )


@record
class Input:
    """One Dockerfile to work on, read, with its settings."""

    #: As shown to the user: relative to the working directory, or the stdin name.
    name: str
    #: The file; for stdin, the --stdin-filename path or None.
    path: Path | None
    text: str
    #: Modification time when read; None for stdin.
    mtime_ns: int | None
    settings: Settings
    context_dir: Path | None
    #: Where results of this file are cached: ``cache-dir`` or ``.dockerarch_cache``
    #: in the project root (the configuration file's directory, else the working directory).
    cache_dir: Path | None = None


def _cache_dir(config: FileConfig, cli: Overrides) -> Path:
    from dockerarch.resultcache import CACHE_DIR_NAME

    return cli.cache_dir or config.cache_dir or config.root / CACHE_DIR_NAME


def iter_inputs(args: argparse.Namespace, problems: Problems) -> Iterator[Input]:
    """Every Dockerfile the arguments name, read and configured.

    Unreadable files are reported to ``problems`` and skipped; a broken
    configuration raises :class:`dockerarch.config.ConfigError`, which ends
    the run.
    """
    from dockerarch.config import Resolver, settings_for
    from dockerarch.discover import DiscoveryError, discover
    from dockerarch.fileio import FileError, read_source
    from dockerarch.report import display_path

    cwd = Path.cwd()
    cli = overrides(args)
    resolver = Resolver(args.config, args.isolated)
    paths: list[Path] = args.paths or ([Path(STDIN)] if args.stdin_filename else [Path(".")])
    if sum(1 for p in paths if str(p) == STDIN) > 1:
        raise UsageError("stdin (-) can be read only once")
    context = Path(os.path.abspath(args.context)) if args.context else None
    files = [p for p in paths if str(p) != STDIN]
    # Per directory: its path, configuration and cache directory, and the settings of its
    # files when they share them (no per-file ignores): worked out once, not per file.
    directories: dict[str, tuple[Path, FileConfig, Path, Settings | None]] = {}
    for item in discover(files, resolver.excluded):
        if isinstance(item, DiscoveryError):
            problems.report(display_path(item.path, cwd), item.problem)
            continue
        name = display_path(item, cwd)
        parent = os.path.dirname(os.path.abspath(item))
        known = directories.get(parent)
        if known is None:
            config = resolver.for_directory(Path(parent))
            same = None if config.per_file_ignores else settings_for(config, cli, None)
            known = directories[parent] = (Path(parent), config, _cache_dir(config, cli), same)
        directory, config, cache_dir, same = known
        if config.path is not None:
            problems.note(name, f"configuration from {display_path(config.path, cwd)}")
        try:
            source = read_source(item)
        except FileError as e:
            problems.report(name, e.problem)
            continue
        yield Input(
            name=name,
            path=item,
            text=source.text,
            mtime_ns=source.mtime_ns,
            settings=same if same is not None else settings_for(config, cli, item),
            context_dir=context or directory,
            cache_dir=cache_dir,
        )
    if len(files) < len(paths):
        yield from _stdin(args, resolver, cli, context, problems, sys.stdin)


def _stdin(
    args: argparse.Namespace,
    resolver: Resolver,
    cli: Overrides,
    context: Path | None,
    problems: Problems,
    stream: TextIO,
) -> Iterator[Input]:
    from dockerarch.config import settings_for
    from dockerarch.fileio import FileError, decode
    from dockerarch.report import display_path

    named = Path(args.stdin_filename) if args.stdin_filename else None
    name = display_path(named, Path.cwd()) if named else STDIN
    try:
        text = decode(stream.buffer.read(), name)
    except FileError as e:
        problems.report(name, e.problem)
        return
    except OSError as e:
        problems.report(name, f"cannot read: {(e.strerror or str(e)).lower()}")
        return
    config = resolver.for_file(named) if named else resolver.for_directory(Path.cwd())
    if context is None and named is not None:
        parent = Path(os.path.abspath(named)).parent
        context = parent if parent.is_dir() else None
    yield Input(
        name=name,
        path=named,
        text=text,
        mtime_ns=None,
        settings=settings_for(config, cli, named),
        context_dir=context,
        cache_dir=_cache_dir(config, cli),
    )
