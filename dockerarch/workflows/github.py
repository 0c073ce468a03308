"""Image builds in GitHub Actions workflows.

Two ways of building are read: ``docker/build-push-action`` steps (their
``platforms``, ``context`` and ``file`` inputs) and ``run:`` steps calling
``docker buildx build --platform ...``. The runner's architecture comes from
``runs-on`` labels, per combination of the job's matrix; ``${{ matrix.X }}``
and ``${{ env.X }}`` are resolved, other expressions are not.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from pathlib import Path

from dockerarch.lazyre import lazy_compile
from dockerarch.records import record
from dockerarch.syntax.positions import Span
from dockerarch.workflows import yamlspans as ys
from dockerarch.workflows.builds import (
    BUILD_PUSH_ACTION,
    Build,
    parse_platforms,
    runner_arch,
)
from dockerarch.workflows.commands import EMULATOR, REMOTE_NODES, command_builds, unquote


@record
class Step:
    node: ys.MappingNode
    #: The action without its ref, lower case (``docker/build-push-action``); None for run steps.
    action: str | None
    id: str | None

    def input(self, name: str) -> ys.Node | None:
        return ys.get(ys.get(self.node, "with"), name)


@record
class Job:
    id: str
    key: ys.ScalarNode
    node: ys.MappingNode
    steps: tuple[Step, ...]
    #: Combinations of the job's matrix; None when the matrix is an expression.
    combos: tuple[dict[str, str], ...] | None
    env: dict[str, str]


@record
class Workflow:
    root: ys.Node
    jobs: tuple[Job, ...]


@record
class StepRef:
    """What the GitHub fix needs of a build: its workflow, job and step."""

    workflow: Workflow
    job: Job
    step: Step


def parse_workflow(text: str) -> Workflow | None:
    root = ys.compose(text)
    if not isinstance(root, ys.MappingNode):
        return None
    env = _scalars(ys.get(root, "env"))
    jobs = []
    jobs_node = ys.get(root, "jobs")
    for key, node in jobs_node.value if isinstance(jobs_node, ys.MappingNode) else []:
        if not isinstance(key, ys.ScalarNode) or not isinstance(node, ys.MappingNode):
            continue
        steps_node = ys.get(node, "steps")
        steps = tuple(
            _step(s) for s in getattr(steps_node, "value", []) if isinstance(s, ys.MappingNode)
        )
        combos = _matrix(ys.get(ys.get(node, "strategy"), "matrix"))
        jobs.append(
            Job(key.value, key, node, steps, combos, {**env, **_scalars(ys.get(node, "env"))})
        )
    return Workflow(root, tuple(jobs))


def _step(node: ys.MappingNode) -> Step:
    uses = ys.scalar(ys.get(node, "uses"))
    action = uses.partition("@")[0].lower() if uses else None
    return Step(node, action, ys.scalar(ys.get(node, "id")))


def _scalars(node: ys.Node | None) -> dict[str, str]:
    return {k: v.value for k, v in ys.items(node) if isinstance(v, ys.ScalarNode)}


def _matrix(node: ys.Node | None) -> tuple[dict[str, str], ...] | None:
    """The job's matrix combinations, following GitHub's include/exclude rules."""
    if node is None:
        return ({},)
    if not isinstance(node, ys.MappingNode):
        return None
    axes: list[tuple[str, list[str]]] = []
    for key, value in ys.items(node):
        if key in ("include", "exclude"):
            continue
        if not isinstance(value, ys.SequenceNode):
            return None
        axes.append((key, ys.strings(value)))
    keys = [k for k, _ in axes]
    values = itertools.product(*(v for _, v in axes))
    combos = [dict(zip(keys, combo, strict=True)) for combo in values] if axes else []
    for rule in getattr(ys.get(node, "exclude"), "value", []):
        drop = _scalars(rule)
        combos = [c for c in combos if any(c.get(k) != v for k, v in drop.items())]
    names = {k for k, _ in axes}
    for entry in getattr(ys.get(node, "include"), "value", []):
        extra = _scalars(entry)
        matched = False
        for combo in combos:
            if all(combo.get(k) == v for k, v in extra.items() if k in names):
                combo.update(extra)
                matched = True
        if not matched:
            combos.append(dict(extra))
    return tuple(combos) or ({},)


_EXPR = lazy_compile(r"\$\{\{\s*(.*?)\s*\}\}", re.DOTALL)
_CONTEXT_REF = lazy_compile(r"(matrix|env)\.([A-Za-z_][\w-]*)\Z")


def resolve(value: str, combo: Mapping[str, str] | None, env: Mapping[str, str]) -> str | None:
    """``value`` with ``${{ matrix.X }}`` and ``${{ env.X }}`` filled in; None if others remain."""
    missing = False

    def sub(m: re.Match[str]) -> str:
        nonlocal missing
        ref = _CONTEXT_REF.match(m.group(1))
        source = None if ref is None else (combo if ref.group(1) == "matrix" else env)
        if ref is None or source is None or ref.group(2) not in source:
            missing = True
            return ""
        return source[ref.group(2)]

    out = _EXPR.sub(sub, value)
    return None if missing else out


def runner_labels(job: Job) -> list[str]:
    node = ys.get(job.node, "runs-on")
    if isinstance(node, ys.MappingNode):
        return ys.strings(ys.get(node, "labels")) + ys.strings(ys.get(node, "group"))
    return ys.strings(node)


def builds(text: str, workflow: Workflow, repo_root: Path) -> list[Build]:
    """Every multi-platform build of the workflow, once per distinct runner and platform list."""
    out: dict[tuple[object, ...], Build] = {}
    for job in workflow.jobs:
        if _remote_nodes(text, job):
            continue  # a builder with native nodes of other architectures: nothing emulated
        emulator = _emulator(text, job)
        for combo in job.combos or (None,):
            labels = [resolve(label, combo, job.env) or "${{" for label in runner_labels(job)]
            host = runner_arch(labels)
            for build in _job_builds(text, workflow, job, combo, host, emulator, repo_root):
                key = (build.platforms_span, build.platforms, build.host_arch, build.dockerfile)
                out.setdefault(key, build)
    return list(out.values())


def _emulator(text: str, job: Job) -> Span | None:
    for step in job.steps:
        run = ys.scalar(ys.get(step.node, "run")) or ""
        if step.action == "docker/setup-qemu-action" or EMULATOR.search(run):
            return ys.span(step.node, text)
    return None


def _remote_nodes(text: str, job: Job) -> bool:
    for step in job.steps:
        if step.action == "docker/setup-buildx-action":
            driver = ys.scalar(step.input("driver")) or ""
            if step.input("append") is not None or step.input("endpoint") is not None:
                return True
            if driver in ("cloud", "remote", "kubernetes"):
                return True
        if REMOTE_NODES.search(ys.scalar(ys.get(step.node, "run")) or ""):
            return True
    return False


def _job_builds(
    text: str,
    workflow: Workflow,
    job: Job,
    combo: Mapping[str, str] | None,
    host: str | None,
    emulator: Span | None,
    root: Path,
) -> list[Build]:
    out = []
    for step in job.steps:
        workdir = root / (ys.scalar(ys.get(step.node, "working-directory")) or ".")
        label = f"job '{job.id}'"
        if step.action == "docker/build-push-action":
            node = step.input("platforms")
            value = resolve(ys.scalar(node) or "", combo, job.env) if node is not None else None
            platforms = parse_platforms(value) if value else None
            if node is None or platforms is None:
                continue
            context, dockerfile = _action_paths(step, combo, job.env, root)
            out.append(
                Build(
                    BUILD_PUSH_ACTION,
                    label,
                    platforms,
                    ys.span(node, text),
                    host,
                    emulator,
                    context,
                    dockerfile,
                    StepRef(workflow, job, step),
                )
            )
        run = ys.get(step.node, "run")
        if isinstance(run, ys.ScalarNode):
            source = ys.scalar_source(run, text)
            if source is None:
                continue

            def word(raw: str) -> str | None:
                value = resolve(raw, combo, job.env)
                return None if value is None else unquote(value)

            out.extend(
                command_builds(
                    source[0],
                    source[1],
                    word,
                    label=label,
                    workdir=workdir,
                    host=host,
                    emulator=emulator,
                )
            )
    return out


def _action_paths(
    step: Step, combo: Mapping[str, str] | None, env: Mapping[str, str], root: Path
) -> tuple[Path | None, Path | None]:
    """The build context and Dockerfile of a build-push-action step.

    Without ``context`` the action builds the Git context of the commit, which
    is the repository: the checkout. ``file`` is relative to the workspace.
    """
    raw_context = ys.scalar(step.input("context"))
    raw_file = ys.scalar(step.input("file"))
    context_value = resolve(raw_context, combo, env) if raw_context is not None else "."
    file_value = resolve(raw_file, combo, env) if raw_file is not None else None
    if context_value is None or (raw_file is not None and file_value is None):
        return None, None
    git_prefix = "{{defaultContext}}"
    if context_value.startswith(git_prefix):
        context_value = context_value[len(git_prefix) :].lstrip(":") or "."
    elif "://" in context_value or context_value.startswith("git@"):
        return None, None
    context = root / context_value
    return context, root / file_value if file_value else context / "Dockerfile"
