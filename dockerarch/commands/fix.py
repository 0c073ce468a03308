"""``dockerarch fix``: apply fixes, re-checking until the files settle.

CI files (found and configured as ``check`` does) are fixed like
Dockerfiles: DA801's unsafe fix rewrites an emulated multi-platform job
into a matrix over native runners.

Exit codes, as ``ruff check --fix``: 0 when nothing remains to report
(whether or not something was fixed), 1 when problems remain (or, with
``--exit-non-zero-on-fix``, when anything was fixed), 2 on usage,
configuration or I/O errors, which win. With ``--diff`` nothing is written:
1 when a file would change, else 0.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from dockerarch.commands._common import (
    Input,
    Problems,
    UsageError,
    add_input_options,
    error,
    iter_inputs,
)
from dockerarch.fileio import FileError
from dockerarch.records import field, record

if TYPE_CHECKING:
    from dockerarch import engine
    from dockerarch.fixer import ContextFile, Outcome
    from dockerarch.report import FileReport


def add_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    # The fixer defines the styles; running this command imports it anyway.
    from dockerarch.fixer import STYLES

    parser = subparsers.add_parser(
        "fix",
        help="fix Dockerfiles and CI files",
        description=(
            "Apply fixes so that every target platform builds natively, re-checking until "
            "nothing changes. Safe fixes only unless --unsafe-fixes."
        ),
    )
    add_input_options(parser)
    group = parser.add_argument_group("fixing")
    group.add_argument("--unsafe-fixes", action="store_true", help="apply unsafe fixes too")
    group.add_argument(
        "--style",
        choices=STYLES,
        default="stages",
        help=(
            "how instructions that must differ per platform are written: one stage per "
            "architecture (stages, the default) or case/if on $TARGETARCH (inline)"
        ),
    )
    group.add_argument(
        "--diff",
        action="store_true",
        help="write nothing; print a unified diff of the changes (exit 1 if there are any)",
    )
    out = parser.add_argument_group("output")
    out.add_argument("--show-fixes", action="store_true", help="list the fixes made in each file")
    out.add_argument(
        "--exit-non-zero-on-fix",
        action="store_true",
        help="exit 1 when anything was fixed, even if no problem remains",
    )
    out.add_argument("--no-color", action="store_true", help="never colour the output")
    out.add_argument("-q", "--quiet", action="store_true", help="print diagnostics, nothing else")
    return parser


@record(frozen=False)
class _Tally:
    fixed: int = 0
    remaining: int = 0
    unsafe_hidden: int = 0
    changed_files: int = 0
    by_file: list[tuple[str, Counter[str]]] = field(default_factory=list)
    reports: list[FileReport] = field(default_factory=list)


def _color(args: argparse.Namespace, stream: TextIO) -> bool:
    if args.no_color or os.environ.get("NO_COLOR"):
        return False
    return bool(os.environ.get("FORCE_COLOR")) or stream.isatty()


def run(args: argparse.Namespace) -> int:
    from dockerarch.config import ConfigError
    from dockerarch.report import FileReport

    problems = Problems(verbose=args.verbose)
    tally = _Tally()
    stdin_out: list[str] = []
    try:
        for item, ci in _inputs(args, problems):
            outcome = _fix_one(item, ci, args, problems)
            if outcome is None:
                continue
            from_stdin = item.mtime_ns is None
            if args.diff:
                sys.stdout.write(_diff(item, outcome))
            elif from_stdin:
                stdin_out.append(outcome.source)
            elif outcome.changed and not _write(item, outcome, problems):
                continue
            _count(tally, item, outcome, args)
            if not args.diff:
                tally.reports.append(
                    FileReport(item.name, outcome.result.tree, outcome.remaining, item.context_dir)
                )
    except (ConfigError, UsageError) as e:
        error(None, str(e))
        return 2

    to_stdout = not stdin_out
    stream = sys.stdout if to_stdout else sys.stderr
    if stdin_out:
        sys.stdout.buffer.write("".join(stdin_out).encode("utf-8"))
        sys.stdout.flush()
    if args.diff:
        sys.stdout.flush()
        if not args.quiet:
            print(_would_fix(tally), file=sys.stderr)
    else:
        _report(tally, args, stream, show_summary=to_stdout and not args.quiet)
    if problems.count:
        return 2
    if args.diff:
        return 1 if tally.changed_files else 0
    if tally.remaining or (args.exit_non_zero_on_fix and tally.fixed):
        return 1
    return 0


def _inputs(args: argparse.Namespace, problems: Problems) -> Iterator[tuple[Input, bool]]:
    """The Dockerfiles, then the CI files (marked True), read and configured."""
    from dockerarch.commands._ci import iter_ci_files, split_args
    from dockerarch.fileio import read_source

    dockerfile_args, named_ci = split_args(args)
    if dockerfile_args is not None:
        for item in iter_inputs(dockerfile_args, problems):
            yield item, False
    for ci in iter_ci_files(args, named_ci):
        try:
            source = read_source(ci.path)
        except FileError as e:
            problems.report(ci.name, e.problem)
            continue
        yield Input(ci.name, ci.path, source.text, source.mtime_ns, ci.settings, ci.root), True


def _check_dockerfile(item: Input) -> Callable[[str], engine.Result]:
    from dockerarch import engine

    def check(source: str) -> engine.Result:
        return engine.check_text(
            source, item.settings, path=item.path, context_dir=item.context_dir
        )

    return check


def _check_ci_file(item: Input) -> Callable[[str], engine.Result]:
    """Checks of the CI file's texts, shaped as the fixer and the reporters want them."""
    from dockerarch import engine
    from dockerarch.fixer import BOM
    from dockerarch.resultcache import text_tree
    from dockerarch.workflows.emulation import check_workflow

    path, root = item.path, item.context_dir
    assert path is not None and root is not None

    def check(source: str) -> engine.Result:
        diagnostics = check_workflow(path, source.removeprefix(BOM), item.settings, root)
        # The fixer and the reporters read only the text and its lines from the tree.
        return engine.Result(path, text_tree(source), diagnostics)

    return check


def _fix_one(item: Input, ci: bool, args: argparse.Namespace, problems: Problems) -> Outcome | None:
    from dockerarch.fixer import fix_source, read_context_file
    from dockerarch.report import display_path

    archs = list(dict.fromkeys(p.arch for p in item.settings.platforms))
    stdin = item.mtime_ns is None
    try:
        outcome = fix_source(
            item.text,
            _check_ci_file(item) if ci else _check_dockerfile(item),
            unsafe=args.unsafe_fixes,
            # A CI file has no stages to split a fix's per-platform variants into.
            style="inline" if ci else args.style,
            archs=archs,
            context_dir=item.context_dir,
            read_context=_no_context_files if stdin and not args.diff else read_context_file,
        )
    except Exception as exc:
        problems.crashed(item.name, exc)
        return None
    for note in outcome.result.notes:
        problems.note(item.name, note)
    for err in outcome.errors:
        if not isinstance(err, _StdinContext):
            problems.report(display_path(Path(err.path), Path.cwd()), err.problem)
    if not outcome.converged:
        problems.report(
            item.name,
            f"fixes still changed the file after {outcome.rounds} rounds; stopped there",
        )
    return outcome


def _no_context_files(path: Path) -> ContextFile:
    raise _StdinContext(path, "build-context files are not edited for stdin")


class _StdinContext(FileError):
    """A context-file edit refused because the Dockerfile comes from stdin."""


def _unwritable(path: Path) -> str | None:
    """Why ``path`` must not be rewritten, or None."""
    try:
        st = os.stat(path)
    except OSError as e:
        return f"cannot write: {(e.strerror or str(e)).lower()}"
    # Root may write anything; a file without write bits was still meant to stay as it is.
    if not st.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        return "cannot write: file is read-only"
    if not os.access(path, os.W_OK):
        return "cannot write: permission denied"
    return None


def _write(item: Input, outcome: Outcome, problems: Problems) -> bool:
    """Write the fixed Dockerfile, then its context files; False when the Dockerfile is not."""
    from dockerarch.fileio import write_atomic
    from dockerarch.report import display_path

    assert item.path is not None
    cwd = Path.cwd()
    targets: list[tuple[str, Path, str, int | None]] = []
    if outcome.source != outcome.original:
        targets.append((item.name, item.path, outcome.source, item.mtime_ns))
    for path, cf in sorted(outcome.files.items()):
        targets.append((display_path(path, cwd), path, cf.source, cf.mtime_ns))
    blocked = [(name, why) for name, path, _, _ in targets if (why := _unwritable(path))]
    if blocked:
        # Half a fix (a Dockerfile without its requirements change) is worse than none.
        for name, why in blocked:
            problems.report(name, why)
        return False
    for name, path, text, mtime_ns in targets:
        try:
            write_atomic(path, text, expected_mtime_ns=mtime_ns)
        except FileError as e:
            problems.report(name, e.problem)
            return False
    return True


def _count(tally: _Tally, item: Input, outcome: Outcome, args: argparse.Namespace) -> None:
    from dockerarch.diagnostics import Applicability

    tally.fixed += len(outcome.applied)
    tally.remaining += len(outcome.remaining)
    if not args.unsafe_fixes:
        tally.unsafe_hidden += sum(
            1
            for d in outcome.remaining
            if d.fix is not None and d.fix.applicability is Applicability.UNSAFE
        )
    if outcome.changed:
        tally.changed_files += 1
    if outcome.applied:
        tally.by_file.append((item.name, Counter(a.code for a in outcome.applied)))


def _diff(item: Input, outcome: Outcome) -> str:
    from dockerarch.fixer import unified_diff
    from dockerarch.report import display_path

    out = ["".join(unified_diff(item.name, outcome.original, outcome.source))]
    for path, cf in sorted(outcome.files.items()):
        name = display_path(path, Path.cwd())
        out.append(
            "".join(unified_diff(name, ("\ufeff" if cf.bom else "") + cf.original, cf.source))
        )
    return "".join(out)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _would_fix(tally: _Tally) -> str:
    if not tally.fixed:
        return "No fixes available." if not tally.remaining else _remaining_only(tally)
    return f"Would fix {_plural(tally.fixed, 'problem')}."


def _remaining_only(tally: _Tally) -> str:
    return f"No fixes available ({_plural(tally.remaining, 'problem')} without an applicable fix)."


def _report(tally: _Tally, args: argparse.Namespace, stream: TextIO, show_summary: bool) -> None:
    from dockerarch.report import Options, render, rules_by_code

    options = Options(color=_color(args, stream), verbose=args.verbose, quiet=True)
    stream.write(render("concise", tally.reports, options))
    if args.show_fixes and tally.by_file:
        rules = rules_by_code()
        lines = [f"Fixed {_plural(tally.fixed, 'problem')}:"]
        for name, counts in tally.by_file:
            lines.append(f"- {name}:")
            for code, n in sorted(counts.items()):
                rule = rules.get(code)
                lines.append(f"    {n} × {code}" + (f" ({rule.name})" if rule else ""))
        stream.write("".join(line + "\n" for line in lines))
    if not show_summary:
        return
    total = tally.fixed + tally.remaining
    if total == 0:
        line = "All checks passed!"
    else:
        line = (
            f"Found {_plural(total, 'problem')} ({tally.fixed} fixed, {tally.remaining} remaining)."
        )
    if tally.unsafe_hidden:
        n = tally.unsafe_hidden
        line += f"\n{n} more fix{'' if n == 1 else 'es'} available with --unsafe-fixes."
    stream.write(line + "\n")
