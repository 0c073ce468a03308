"""Image builds in GitLab CI files: ``docker buildx build --platform`` in job scripts.

The runner's architecture comes from the job's ``tags`` (``saas-linux-small-arm64``,
a self-hosted ``arm64`` tag); a job without tags runs on GitLab's default
hosted runners, which are amd64. ``$VAR`` in a command is filled in from the
file's and the job's ``variables``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from dockerarch.workflows import yamlspans as ys
from dockerarch.workflows.builds import (
    Build,
    expand_variables,
    runner_arch,
)
from dockerarch.workflows.commands import EMULATOR, REMOTE_NODES, command_builds, unquote

#: Top-level keys that are not jobs.
_KEYWORDS = frozenset(
    {
        "default", "include", "stages", "variables", "workflow", "spec",
        "image", "services", "cache", "before_script", "after_script",
    }
)  # fmt: skip


def builds(text: str, repo_root: Path) -> list[Build]:
    root = ys.compose(text)
    if not isinstance(root, ys.MappingNode):
        return []
    default = ys.get(root, "default")
    shared = {"CI_PROJECT_DIR": str(repo_root), **_variables(ys.get(root, "variables"))}
    out: list[Build] = []
    for name, job in ys.items(root):
        if name in _KEYWORDS or name.startswith(".") or not isinstance(job, ys.MappingNode):
            continue
        variables = {**shared, **_variables(ys.get(job, "variables"))}
        before = ys.get(job, "before_script") or ys.get(default, "before_script")
        before = before or ys.get(root, "before_script")
        lines = [*_script_lines(before), *_script_lines(ys.get(job, "script"))]
        sources = [s for s in (ys.scalar_source(n, text) for n in lines) if s is not None]
        script_text = "\n".join(value for value, _ in sources)
        if REMOTE_NODES.search(script_text):
            continue
        tags_node = ys.get(job, "tags") or ys.get(default, "tags")
        tags = ys.strings(tags_node)
        host = runner_arch(tags) if tags else "amd64"
        emulator = next(
            (ys.span(n, text) for n in lines if EMULATOR.search(ys.scalar(n) or "")), None
        )

        def word(raw: str, variables: dict[str, str] = variables) -> str | None:
            value = unquote(raw)
            return None if value is None else expand_variables(value, variables)

        for value, smap in sources:
            out.extend(
                command_builds(
                    value,
                    smap,
                    word,
                    label=f"job '{name}'",
                    workdir=repo_root,
                    host=host,
                    emulator=emulator,
                )
            )
    return out


def _variables(node: ys.Node | None) -> dict[str, str]:
    out = {}
    for key, value in ys.items(node):
        text = (
            ys.scalar(value)
            if isinstance(value, ys.ScalarNode)
            else ys.scalar(ys.get(value, "value"))
        )
        if text is not None:
            out[key] = text
    return out


def _script_lines(node: ys.Node | None) -> Iterator[ys.ScalarNode]:
    """The command lines of a script: a string, or a list of strings and nested lists."""
    if isinstance(node, ys.ScalarNode):
        yield node
    elif isinstance(node, ys.SequenceNode):
        for item in node.value:
            yield from _script_lines(item)
