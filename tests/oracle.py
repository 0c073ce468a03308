"""BuildKit's own parser (PyPI ``dockerfile``) as a test oracle.

The wheel exists for x86_64 only, so tests that use it skip elsewhere. Our
tree is reduced to what the oracle reports for each instruction.

The oracle is a Go library: it runs in a child process of its own, never in
the test process. A Go runtime (its threads and signal handlers) in the same
process as tree-sitter and forked workers is not something tests should
depend on, and a crash in it then fails one test instead of the whole run.
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import re
import subprocess
import sys
from typing import Any

import pytest

from dockerarch.syntax import KNOWN_INSTRUCTIONS, Dockerfile, Instruction, parse
from dockerarch.syntax.nodes import split_quoted

AVAILABLE = importlib.util.find_spec("dockerfile") is not None

needs_oracle = pytest.mark.skipif(
    not AVAILABLE, reason="BuildKit's parser (PyPI 'dockerfile') ships an x86_64 wheel only"
)

_WS = re.compile(r"[\t\v\f\r ]+")

# One JSON text per line in, one JSON answer per line out.
_SERVER = """
import json, sys
import dockerfile as buildkit
for line in sys.stdin:
    try:
        cmds = buildkit.parse_string(json.loads(line))
    except buildkit.GoParseError as e:
        answer = {"error": str(e)}
    else:
        answer = {"ok": [
            [c.cmd, c.sub_cmd, c.json, c.start_line, c.end_line, list(c.flags), list(c.value),
             [[h.name, h.content] for h in c.heredocs]]
            for c in cmds
        ]}
    print(json.dumps(answer), flush=True)
"""
_child: subprocess.Popen[str] | None = None


def _ask(text: str) -> dict[str, Any]:
    global _child
    if _child is None or _child.poll() is not None:
        _child = subprocess.Popen(
            [sys.executable, "-c", _SERVER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="surrogateescape",
        )
        atexit.register(_child.kill)
    assert _child.stdin is not None and _child.stdout is not None
    _child.stdin.write(json.dumps(text) + "\n")
    _child.stdin.flush()
    line = _child.stdout.readline()
    if not line:
        _child = None
        raise RuntimeError(f"BuildKit's parser crashed on {text!r}")
    answer: dict[str, Any] = json.loads(line)
    return answer


def oracle(text: str) -> list[tuple[Any, ...]] | str:
    """BuildKit's view: one tuple per instruction, or the error message."""
    assert AVAILABLE
    answer = _ask(text)
    if "error" in answer:
        return f"error: {answer['error']}"
    return [
        (
            cmd.lower(),
            (sub_cmd or "").lower() or None,
            is_json,
            start,
            end,
            tuple(flags),
            tuple(value),
            tuple((name, content) for name, content in heredocs),
        )
        for cmd, sub_cmd, is_json, start, end, flags, value, heredocs in answer["ok"]
    ]


def _value(ins: Instruction, escape: str) -> tuple[str, ...]:
    name = ins.name
    args = ins.args
    if name == "ONBUILD":
        if ins.inner and ins.inner.name == "ONBUILD":
            # The binding's quirk for a nested trigger: one empty word, none when bare.
            return ("",) if ins.inner.args else ()
        return _value(ins.inner, escape) if ins.inner else ()
    if name not in KNOWN_INSTRUCTIONS:
        return ("",)
    if name == "HEALTHCHECK" and args:
        parts = _WS.split(args, maxsplit=1)
        if ins.json is not None:
            return (parts[0], *(w.value for w in ins.json))
        return tuple(parts)
    if ins.json is not None:
        return tuple(w.value for w in ins.json)
    if not args:
        return ()
    if name in ("FROM", "EXPOSE", "COPY", "ADD", "VOLUME"):
        return tuple(w for w in _WS.split(args) if w)
    if name in ("ENV", "LABEL"):
        words = split_quoted(args, ins.args_map, escape)
        if not words:
            return ()
        if "=" not in words[0].text:
            return tuple(_WS.split(args, maxsplit=1))
        out: list[str] = []
        for w in words:
            k, _, v = w.text.partition("=")
            out += [k, v]
        return tuple(out)
    if name == "ARG":
        return tuple(w.text for w in split_quoted(args, ins.args_map, escape))
    if name in ("RUN", "CMD", "ENTRYPOINT", "SHELL", "MAINTAINER", "STOPSIGNAL", "USER", "WORKDIR"):
        return (args,)
    return ("",)


def ours(tree: Dockerfile) -> list[tuple[Any, ...]] | str:
    errors = [m for m, _ in tree.errors] + [m for i in tree.instructions for m, _ in i.errors]
    if errors:
        return f"error: {errors[0]}"
    out = []
    for ins in tree.instructions:
        target = ins.inner or ins
        json_ = target.json is not None
        out.append(
            (
                ins.keyword.lower(),
                ins.inner.keyword.lower() if ins.inner else None,
                json_,
                ins.start_line,
                ins.end_line,
                # The binding reports the outer instruction's flags only.
                tuple(f.text for f in ins.flags),
                _value(ins, tree.escape),
                # The oracle's binding drops heredocs of ONBUILD triggers.
                () if ins.inner else tuple((h.name, h.body) for h in target.heredocs),
            )
        )
    return out


def compare(text: str) -> None:
    want = oracle(text)
    got = ours(parse(text))
    if isinstance(want, str) or isinstance(got, str):
        assert isinstance(want, str) == isinstance(got, str), (text, want, got)
    else:
        assert got == want, text
