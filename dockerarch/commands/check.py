"""``dockerarch check``: report what builds differently per platform."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from dockerarch.commands._common import (
    Input,
    Problems,
    UsageError,
    add_input_options,
    error,
    iter_inputs,
)
from dockerarch.records import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO

    from dockerarch.engine import Result, Rule, Settings
    from dockerarch.report import FileReport
    from dockerarch.resultcache import CachedResult, ResultCache
    from dockerarch.syntax import Dockerfile

FORMATS = ("text", "concise", "json", "sarif", "github", "gitlab", "junit", "checkstyle")


def add_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "check",
        help="check Dockerfiles",
        description="Report what builds or behaves differently on arm64 than on amd64.",
    )
    add_input_options(parser)
    out = parser.add_argument_group("output")
    out.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        metavar="FORMAT",
        help=f"output format: {', '.join(FORMATS)} (default: text)",
    )
    out.add_argument("-o", "--output-file", type=Path, metavar="FILE", help="write the report here")
    out.add_argument("--no-color", action="store_true", help="never colour the output")
    out.add_argument("--exit-zero", action="store_true", help="exit 0 even when problems are found")
    out.add_argument(
        "--statistics", action="store_true", help="count problems per rule instead of listing them"
    )
    out.add_argument("-q", "--quiet", action="store_true", help="print diagnostics, nothing else")
    speed = parser.add_argument_group("speed")
    speed.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=0,
        metavar="N",
        help="check files in N processes (default 0: one per CPU when there are many files)",
    )
    speed.add_argument(
        "--no-cache", action="store_true", help="neither read nor write the result cache"
    )
    return parser


def use_color(args: argparse.Namespace, stream: TextIO) -> bool:
    """Colour only on a terminal, and never with --no-color or NO_COLOR (no-color.org)."""
    if args.no_color or os.environ.get("NO_COLOR") or args.output_file is not None:
        return False
    if args.format not in ("text", "concise"):
        return False
    return bool(os.environ.get("FORCE_COLOR")) or stream.isatty()


def run(args: argparse.Namespace) -> int:
    from dockerarch.config import ConfigError

    if args.statistics and args.format != "text":
        error(None, "--statistics works with --format text only")
        return 2
    if args.jobs < 0:
        error(None, "--jobs must be 0 (one per CPU) or more")
        return 2
    from dockerarch.commands._ci import ci_reports, split_args

    problems = Problems(verbose=args.verbose)
    dockerfile_args, named_ci = split_args(args)
    try:
        inputs = list(iter_inputs(dockerfile_args, problems)) if dockerfile_args else []
        ci = ci_reports(args, named_ci, problems)
    except (ConfigError, UsageError) as e:
        error(None, str(e))
        return 2
    from dockerarch.engine import use_rule_index

    reports, index = _check_all(inputs, args, problems)
    reports += ci
    try:
        if index is not None:
            use_rule_index(index)
        return _output(args, reports, problems)
    finally:
        use_rule_index(None)


def _output(args: argparse.Namespace, reports: list[FileReport], problems: Problems) -> int:
    from dockerarch.fileio import FileError, write_atomic
    from dockerarch.report import Options, render
    from dockerarch.report.text import render_statistics

    options = Options(
        color=use_color(args, sys.stdout),
        verbose=args.verbose,
        quiet=args.quiet,
        unchecked=problems.count,
    )
    if args.statistics:
        output = render_statistics(reports, options)
    else:
        output = render(args.format, reports, options)
    if args.output_file is not None:
        try:
            write_atomic(args.output_file, output)
        except FileError as e:
            error(e.path, e.problem)
            return 2
    else:
        sys.stdout.write(output)
        sys.stdout.flush()
    if problems.count:
        return 2
    found = any(r.diagnostics for r in reports)
    return 1 if found and not args.exit_zero else 0


# -- checking, cached and in parallel --------------------------------------------

#: Fewer files than this to check are checked in this process: starting
#: workers costs more than it saves.
PARALLEL_MIN = 8


@record
class _Job:
    text: str
    settings: Settings
    path: Path | None
    context_dir: Path | None
    cache_dir: Path | None
    key: str | None


@record
class _Crash:
    summary: str
    trace: str


_Outcome = tuple["Result | CachedResult", "Dockerfile"] | _Crash

#: Result caches by directory; module-level so that forked workers inherit them
#: (with their code fingerprint already computed).
_caches: dict[Path, ResultCache] = {}


def _cache(directory: Path | None) -> ResultCache | None:
    from dockerarch.resultcache import ResultCache

    if directory is None:
        return None
    found = _caches.get(directory)
    if found is None:
        found = _caches[directory] = ResultCache(directory)
        # Without a writable directory the run goes on uncached.
        try:
            found.prepare()
        except OSError:
            pass
    return found


def _run_job(job: _Job) -> _Outcome:
    """Check one file, store its result in the cache; never raises."""
    from dockerarch.engine import check_text

    cache = _cache(job.cache_dir) if job.key is not None else None
    try:
        if cache is None or job.key is None:
            result = check_text(job.text, job.settings, path=job.path, context_dir=job.context_dir)
        else:
            with cache.record(job.context_dir) as record:
                result = check_text(
                    job.text, job.settings, path=job.path, context_dir=job.context_dir
                )
            cache.store(job.key, result, result.tree, job.context_dir, record.opened)
    except Exception as exc:
        import traceback

        return _Crash(f"{type(exc).__name__}: {exc}", "".join(traceback.format_exception(exc)))
    return result, result.tree


def _run_job_in_worker(job: _Job) -> dict[str, Any]:
    """The result encoded, or ``{"crash": [summary, trace]}``: what a worker sends back."""
    # The tree stays behind: the parent rebuilds what reports need from the text.
    from dockerarch.resultcache import encode_result

    outcome = _run_job(job)
    # What a check leaves behind (parsed scripts and instructions kept for the next
    # files) is never cyclic garbage: frozen, the worker's collections (2% of its time
    # over the generated set) have nothing left to scan. A check makes no cycles
    # (tests/test_garbage.py); any it did make would be freed when the worker exits.
    gc.freeze()
    if isinstance(outcome, _Crash):
        return {"crash": [outcome.summary, outcome.trace]}
    return encode_result(outcome[0])


def _workers(args: argparse.Namespace, files: int) -> int:
    if args.jobs:
        return min(int(args.jobs), files)
    if files < PARALLEL_MIN:
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, files // (PARALLEL_MIN // 2)))


#: How workers are started: forked, sharing what the first check imported and loaded
#: (rules, parser, knowledge snapshots), where fork is safe; elsewhere (macOS, Windows)
#: by concurrent.futures, whose workers start afresh.
POOL = "fork" if sys.platform == "linux" else "executor"


def _parallel(jobs: list[_Job], workers: int, done: Callable[[str], None]) -> list[_Outcome]:
    from dockerarch.resultcache import decode_result, text_tree

    out: list[_Outcome | None] = [None] * len(jobs)
    # What the first check loaded (rules, parser, knowledge) lives as long as the workers:
    # frozen, their collections neither walk it nor write to its pages, which forked
    # workers would then have to copy.
    gc.freeze()
    try:
        for i, answer in _answers(jobs, workers):
            # Decoded as it comes, while the workers go on: after the last answer this
            # would be ~10 ms (400 files) of this process alone.
            if not isinstance(answer, dict):
                out[i] = _Crash(str(answer), "")
            elif "crash" in answer:
                out[i] = _Crash(*answer["crash"])
            else:
                out[i] = (decode_result(answer), text_tree(jobs[i].text))
            done(_shown(jobs[i]))
    finally:
        gc.unfreeze()
    return [_Crash("no answer came for it", "") if o is None else o for o in out]


def _answers(jobs: list[_Job], workers: int) -> Iterator[tuple[int, Any]]:
    """(index, what the worker sent back) for every job; an answer that is not a dict
    says why there is none (the worker died)."""
    if POOL == "fork":
        from dockerarch.forkpool import fork_map

        yield from fork_map(lambda i: _run_job_in_worker(jobs[i]), len(jobs), workers)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context("fork" if sys.platform == "linux" else None)
    chunk = max(1, len(jobs) // (workers * 8))
    answered = 0
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        try:
            for answer in pool.map(_run_job_in_worker, jobs, chunksize=chunk):
                yield answered, answer
                answered += 1
        except BrokenProcessPool:
            # Which job killed its worker is not told; every job left is reported.
            for i in range(answered, len(jobs)):
                yield i, "a worker process died before checking it"


def _shown(job: _Job) -> str:
    return str(job.path) if job.path is not None else "-"


def _check_all(
    inputs: list[Input], args: argparse.Namespace, problems: Problems
) -> tuple[list[FileReport], list[Rule] | None]:
    """Reports of ``inputs`` in their order, from the cache where it is valid, and the
    cached rule index when no file had to be checked (so the rules need not be imported)."""
    from dockerarch.report import FileReport
    from dockerarch.resultcache import text_tree

    # A cache's remembered file states are good for one run only.
    _caches.clear()
    index = None
    outcomes: dict[int, _Outcome] = {}
    todo: list[tuple[int, _Job]] = []
    for i, item in enumerate(inputs):
        cache = None if args.no_cache else _cache(item.cache_dir)
        key = cache.key(item.text, item.settings, item.path, item.context_dir) if cache else None
        hit = cache.load(key) if cache is not None and key is not None else None
        if hit is not None:
            outcomes[i] = (hit, text_tree(item.text))
            continue
        job = _Job(item.text, item.settings, item.path, item.context_dir, item.cache_dir, key)
        todo.append((i, job))
    if not todo:
        index = _rule_index()
    else:
        from dockerarch.progress import Progress

        # Cache hits are done already; the bar counts what is left to check.
        progress = Progress(len(todo), sys.stderr)
        # The first check runs here: it imports and loads what every worker needs.
        first, job = todo[0]
        outcomes[first] = _run_job(job)
        progress.advance(_shown(job))
        rest = todo[1:]
        workers = _workers(args, len(rest))
        if workers > 1:
            parallel = _parallel([j for _, j in rest], workers, progress.advance)
            for (i, _), outcome in zip(rest, parallel, strict=True):
                outcomes[i] = outcome
        else:
            for i, job in rest:
                outcomes[i] = _run_job(job)
                progress.advance(_shown(job))
        progress.close()
        _store_rule_index()
    reports: list[FileReport] = []
    for i, item in enumerate(inputs):
        outcome = outcomes[i]
        if isinstance(outcome, _Crash):
            problems.crashed_as(item.name, outcome.summary, outcome.trace)
            continue
        result, tree = outcome
        for note in result.notes:
            problems.note(item.name, note)
        for warning in result.warnings:
            error(item.name, f"warning: {warning}")
        reports.append(FileReport(item.name, tree, result.diagnostics, item.context_dir))
    return reports, index


def _rule_index() -> list[Rule] | None:
    for cache in _caches.values():
        rules = cache.rules()
        if rules is not None:
            return rules
    return None


def _store_rule_index() -> None:
    from dockerarch.engine import installed_rules

    for cache in _caches.values():
        cache.store_rules(installed_rules())
