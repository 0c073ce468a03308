"""``docker buildx build`` invocations in CI shell scripts, with exact spans."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterator
from pathlib import Path

from dockerarch.lazyre import lazy_compile
from dockerarch.records import record
from dockerarch.shell import parse_script
from dockerarch.shell.model import Word
from dockerarch.syntax.positions import SourceMap, Span
from dockerarch.workflows.builds import BUILDX_COMMAND, Build, parse_platforms

# Options of ``docker buildx build`` that take a separate value.
_VALUE_OPTIONS = frozenset(
    {
        "--add-host", "--allow", "--annotation", "--attest", "--build-arg", "--build-context",
        "--builder", "--cache-from", "--cache-to", "--call", "--cgroup-parent", "-f", "--file",
        "--iidfile", "--label", "--metadata-file", "--network", "--no-cache-filter", "-o",
        "--output", "--platform", "--progress", "--provenance", "--sbom", "--secret",
        "--shm-size", "--ssh", "-t", "--tag", "--target", "--ulimit",
    }
)  # fmt: skip
_EXPRESSION = lazy_compile(r"\$\{\{.*?\}\}", re.DOTALL)
# Compiled now, not with lazy_compile: github.py and gitlab.py import them by name, and a
# stand-in bound there would never be replaced.
EMULATOR = re.compile(r"tonistiigi/binfmt|qemu-user-static|update-binfmts|docker/binfmt")
REMOTE_NODES = re.compile(r"buildx\s+create\b[^\n]*--append|--driver[= ](cloud|remote|kubernetes)")


@record
class BuildxCall:
    """One ``docker buildx build`` (or ``docker build``) with a ``--platform`` list."""

    #: The platform list after expansion; None when it depends on something unknown.
    platforms: str | None
    #: The word holding the list (``linux/amd64,linux/arm64`` or ``--platform=...``).
    platforms_span: Span
    file: str | None
    context: str | None
    #: False when a path word could not be resolved.
    paths_known: bool


#: Turns a word's raw text (quotes and expansions included) into its value, or None.
Resolver = Callable[[str], str | None]


def unquote(text: str) -> str | None:
    """The single shell word ``text`` after quote removal; None if it is not one word."""
    try:
        parts = shlex.split(text)
    except ValueError:
        return None
    return parts[0] if len(parts) == 1 else None


def buildx_calls(value: str, smap: SourceMap, resolve: Resolver) -> list[BuildxCall]:
    """The multi-platform builds a shell script runs.

    CI expressions (``${{ ... }}``) are replaced by placeholders of the same
    length before the shell parse, so offsets stay put and the shell parser
    never sees the braces; ``resolve`` gets each word's original text.
    """
    masked = _EXPRESSION.sub(lambda m: "_" * len(m.group()), value)
    out = []
    for cmd in parse_script(masked).commands:
        words = list(cmd.effective().words)
        raw = [value[w.span.start : w.span.end] for w in words]
        names = [w.value for w in words]
        if names[:1] != ["docker"]:
            continue
        if names[1:3] in (["buildx", "build"], ["buildx", "b"]):
            rest = list(zip(words[3:], raw[3:], strict=True))
        elif names[1:2] == ["build"]:
            rest = list(zip(words[2:], raw[2:], strict=True))
        else:
            continue
        call = _call(rest, smap, resolve)
        if call is not None:
            out.append(call)
    return out


def _call(rest: list[tuple[Word, str]], smap: SourceMap, resolve: Resolver) -> BuildxCall | None:
    platforms: tuple[str | None, Span] | None = None
    file: str | None = None
    context: str | None = None
    known = True
    i = 0
    while i < len(rest):
        word, text = rest[i]
        option, eq, attached = text.partition("=")
        if text.startswith("-") and eq and option in _VALUE_OPTIONS:
            value_word: tuple[Word, str] | None = (word, attached)
        elif text in _VALUE_OPTIONS and i + 1 < len(rest):
            option = text
            i += 1
            value_word = rest[i]
        elif text.startswith("-"):
            i += 1
            continue
        else:
            value_word = None
        i += 1
        if value_word is None:
            if context is None:
                context = resolve(text)
                known = known and context is not None
            continue
        w, raw = value_word
        resolved = resolve(raw)
        if option == "--platform":
            span = smap.span_to_source(w.span.start, w.span.end)
            previous = platforms[0] if platforms else ""
            joined = None if resolved is None or previous is None else _join(previous, resolved)
            platforms = (joined, span if platforms is None else platforms[1])
        elif option in ("-f", "--file"):
            file = resolved
            known = known and resolved is not None
    if platforms is None:
        return None
    return BuildxCall(platforms[0], platforms[1], file, context, known)


def _join(a: str, b: str) -> str:
    return f"{a},{b}" if a else b


def command_builds(
    value: str,
    smap: SourceMap,
    resolve: Resolver,
    *,
    label: str,
    workdir: Path,
    host: str | None,
    emulator: Span | None,
) -> Iterator[Build]:
    """A :class:`Build` per ``docker buildx build`` in a script whose platforms are known.

    Context and Dockerfile paths are relative to ``workdir``; a remote context has no
    Dockerfile to read.
    """
    for call in buildx_calls(value, smap, resolve):
        platforms = parse_platforms(call.platforms) if call.platforms else None
        if platforms is None:
            continue
        context = workdir / call.context if call.context and call.paths_known else None
        dockerfile = None
        if context is not None and "://" not in (call.context or ""):
            dockerfile = workdir / call.file if call.file else context / "Dockerfile"
        yield Build(
            BUILDX_COMMAND,
            label,
            platforms,
            call.platforms_span,
            host,
            emulator,
            context,
            dockerfile,
        )
