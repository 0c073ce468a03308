"""The model's indexed lookups answer what a scan over every stage answers.

Stage lookups, parents, ARG declarations and scopes are indexed so that a
check takes time linear in the file's size; these tests hold the indexes to
the plain definitions (bench/run.py measures the time).
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from dockerarch.expand import expand
from dockerarch.model import PlatformView, Stage, build_model
from dockerarch.platforms import DEFAULT_PLATFORMS
from dockerarch.syntax import Instruction, parse

NAMES = ("base", "build", "Build", "app", "0", "1")


def _scan_parent(view: PlatformView, stage: Stage) -> Stage | None:
    base = view.base(stage)
    if base is None:
        return None
    for s in view.model.stages[: stage.index]:
        if s.name == base.lower():
            return s
    return None


def _scan_declared(view: PlatformView, stage: Stage, name: str, before: Instruction) -> bool:
    for i, st_ in enumerate(view.ancestry(stage)):
        for decl in st_.args():
            if decl.name == name and (i > 0 or decl.instruction.span.start < before.span.start):
                return True
    return False


def _scan_env(view: PlatformView, stage: Stage, until: Instruction | None) -> dict[str, str | None]:
    parent = _scan_parent(view, stage)
    env: dict[str, str | None] = _scan_env(view, parent, None) if parent else {}
    for ins in stage.body:
        if until is not None and ins.span.start >= until.span.start:
            break
        for kv in ins.key_values(view.escape) if ins.name in ("ARG", "ENV") else ():
            if ins.name == "ENV":
                env[kv.key] = expand(kv.value or "", env, view.escape)
            elif kv.value is not None:
                env[kv.key] = expand(kv.value, env, view.escape)
            elif kv.key in view.platform_values:
                env[kv.key] = view.platform_values[kv.key]
            else:
                env[kv.key] = view.global_env.get(kv.key)
    return env


def _dockerfile(rng: random.Random, stages: int) -> str:
    out = ["ARG BASE=base\n", "ARG TAG\n"]
    for i in range(stages):
        image = rng.choice([*NAMES, "alpine:3.20", "${BASE}", "$TAG", "python:${TAG}"])
        name = rng.choice(NAMES)
        out.append(f"FROM {image} AS {name}\n" if rng.random() < 0.8 else f"FROM {image}\n")
        for _ in range(rng.randint(0, 5)):
            kind = rng.randrange(5)
            var = rng.choice(("TARGETARCH", "V", "W", "TAG"))
            if kind == 0:
                out.append(f"ARG {var}\n")
            elif kind == 1:
                out.append(f"ARG {var}=${{V:-{i}}}\n")
            elif kind == 2:
                out.append(f"ENV {var}=x$W{i}\n")
            elif kind == 3:
                out.append(f"COPY --from={rng.choice(NAMES)} /a /b\n")
            else:
                out.append(f"RUN echo ${var}\n")
    return "".join(out)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 14))
def test_indexed_answers_equal_scans(seed: int, stages: int) -> None:
    tree = parse(_dockerfile(random.Random(seed), stages))
    model = build_model(tree)
    for stage in model.stages:
        if stage.name is not None:
            first = next(s for s in model.stages if s.name == stage.name)
            assert model.stage_named(stage.name.upper()) is first
    for platform in DEFAULT_PLATFORMS:
        view = model.for_platform(platform)
        for stage in model.stages:
            assert view.parent(stage) is _scan_parent(view, stage)
            assert view.env_after(stage) == _scan_env(view, stage, None)
            for ins in stage.body:
                assert view.env_before(ins) == _scan_env(view, stage, ins)
                for name in ("TARGETARCH", "V", "TAG"):
                    assert view.declared(stage, name, before=ins) == _scan_declared(
                        view, stage, name, ins
                    )


def test_scopes_are_copies() -> None:
    tree = parse("FROM a\nENV A=1\nRUN x\n")
    view = build_model(tree).for_platform(DEFAULT_PLATFORMS[0])
    run = tree.instructions[2]
    view.env_before(run)["A"] = "changed"
    view.ancestry(build_model(tree).stages[0]).clear()
    assert view.env_before(run)["A"] == "1"


def test_a_long_chain_of_stages_needs_no_deep_recursion() -> None:
    # Each stage builds FROM the one before: scopes go through every ancestor.
    n = 3000
    text = "FROM alpine AS s0\nENV V=0\n" + "".join(
        f"FROM s{i - 1} AS s{i}\nENV V=$V.{i}\n" for i in range(1, n)
    )
    tree = parse(text)
    model = build_model(tree)
    view = model.for_platform(DEFAULT_PLATFORMS[0])
    last = model.stages[-1]
    assert len(view.ancestry(last)) == n
    assert view.image(last) == "alpine"
    value = view.env_after(last)["V"]
    assert value is not None and value.startswith("0.1.2.") and value.endswith(f".{n - 1}")


def test_duplicate_stage_names_refer_to_the_first() -> None:
    tree = parse("FROM a AS x\nFROM b AS x\nFROM x AS y\nFROM y\n")
    model = build_model(tree)
    view = model.for_platform(DEFAULT_PLATFORMS[0])
    assert model.stage_named("X") is model.stages[0]
    assert view.parent(model.stages[2]) is model.stages[0]
    assert view.parent(model.stages[1]) is None
    assert [s.index for s in view.ancestry(model.stages[3])] == [3, 2, 0]
