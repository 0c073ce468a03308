"""The build a Dockerfile describes, and what each target platform builds.

:func:`build_model` reads stages, ARG/ENV scopes and base images from the
syntax tree once; :meth:`Model.for_platform` answers per-platform questions
(which base image, which stages are built, what a variable holds) with
BuildKit's rules:

- the automatic platform ARGs (TARGETPLATFORM, TARGETOS, TARGETARCH,
  TARGETVARIANT, BUILDPLATFORM, BUILDOS, BUILDARCH, BUILDVARIANT) exist in
  the global scope, so FROM can use them without a declaration;
- inside a stage they are empty until ``ARG NAME`` (no default) declares
  them, in that stage or in a stage it is built FROM; a default
  (``ARG TARGETARCH=amd64``) overrides the per-platform value;
- BUILD* values are taken to equal the target's: dockerarch's goal is native
  builds, where the build machine is the target.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable

from dockerarch.expand import Env, expand
from dockerarch.lazyattr import cached_property
from dockerarch.lazyre import lazy_compile
from dockerarch.platforms import Platform, normalize_arch
from dockerarch.records import field, record

# Imported here, not in Model.scripts: rules import the shell layer anyway, and a
# function-level import costs ~1% of a check, run once per RUN.
from dockerarch.scriptcache import scripts_of
from dockerarch.syntax import Dockerfile, Flag, Instruction, KeyValue, Word

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockerarch.shell.model import Script

PLATFORM_ARGS = (
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETARCH",
    "TARGETVARIANT",
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDARCH",
    "BUILDVARIANT",
)
_ARCH_TOKEN = lazy_compile(
    r"(?:^|[-_./])(amd64|x86[-_]64|x64|arm64|aarch64|arm64v8|armhf|armv7|i386|ppc64le|s390x|riscv64)"
    r"(?:$|[-_./])",
    re.IGNORECASE,
)


def arch_in_name(name: str) -> str | None:
    """The architecture a name is dedicated to (``build-amd64`` -> amd64)."""
    m = _ARCH_TOKEN.search(name)
    return normalize_arch(m.group(1).replace("-", "_")) if m else None


@record
class ArgDecl:
    name: str
    #: The default as written (unexpanded), None when there is none.
    default: str | None
    kv: KeyValue
    instruction: Instruction


@record(frozen=False)
class Stage:
    index: int
    from_: Instruction
    #: The base image word as written (``python:${PY}-slim``).
    image: Word | None
    name: str | None
    name_word: Word | None
    platform: Flag | None
    body: list[Instruction] = field(default_factory=list)
    _first_args: dict[str, int] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def label(self) -> str:
        return self.name or str(self.index)

    @property
    def arch_by_name(self) -> str | None:
        """The arch this stage is dedicated to by its name, if any."""
        return arch_in_name(self.name) if self.name else None

    def args(self) -> list[ArgDecl]:
        out = []
        for ins in self.body:
            if ins.name == "ARG":
                for kv in ins.key_values():
                    out.append(ArgDecl(kv.key, kv.value, kv, ins))
        return out

    def first_arg_offsets(self) -> dict[str, int]:
        """Each ARG name declared in the stage, with the offset of its first declaration."""
        # Asked for nearly every instruction of the stage: scanning the body
        # each time would make a long stage quadratic.
        if self._first_args is None:
            found: dict[str, int] = {}
            for decl in self.args():
                found.setdefault(decl.name, decl.instruction.span.start)
            self._first_args = found
        return self._first_args


class Model:
    def __init__(self, tree: Dockerfile) -> None:
        self.tree = tree
        self.global_args: list[ArgDecl] = []
        self.stages: list[Stage] = []
        self._stage_of: dict[int, Stage] = {}
        #: The first stage of each name: the one BuildKit's FROM and --from refer to.
        self._named: dict[str, Stage] = {}
        self._views: dict[Platform, PlatformView] = {}
        self._scripts: dict[int, list[Script]] = {}
        for ins in tree.instructions:
            if ins.name == "FROM":
                self._add_stage(ins)
            elif not self.stages:
                if ins.name == "ARG":
                    for kv in ins.key_values(tree.escape):
                        self.global_args.append(ArgDecl(kv.key, kv.value, kv, ins))
            else:
                self.stages[-1].body.append(ins)
                self._stage_of[ins.span.start] = self.stages[-1]

    def _add_stage(self, ins: Instruction) -> None:
        words = ins.words()
        image = words[0] if words else None
        name_word = None
        if len(words) >= 3 and words[1].text.upper() == "AS":
            name_word = words[2]
        stage = Stage(
            index=len(self.stages),
            from_=ins,
            image=image,
            name=name_word.text.lower() if name_word else None,
            name_word=name_word,
            platform=ins.flag("platform"),
        )
        self.stages.append(stage)
        self._stage_of[ins.span.start] = stage
        if stage.name is not None:
            self._named.setdefault(stage.name, stage)

    def stage_of(self, ins: Instruction) -> Stage | None:
        return self._stage_of.get(ins.span.start)

    def stage_named(self, name: str) -> Stage | None:
        name = name.lower()
        found = self._named.get(name)
        if found is not None:
            return found
        if name.isdigit() and int(name) < len(self.stages):
            return self.stages[int(name)]
        return None

    @cached_property
    def lower_case(self) -> bool:
        """Whether most keywords are written in lower case (new lines then follow suit)."""
        keywords = [ins.keyword for ins in self.tree.instructions]
        return sum(k.islower() for k in keywords) > sum(k.isupper() for k in keywords)

    def take_file_facts(self, whole: Model, platforms: Iterable[Platform]) -> None:
        """Use ``whole``'s facts about the whole file (the keyword case, which stages each
        platform builds) for this model of a partial copy of it (dockerarch.incremental)."""
        self.__dict__["lower_case"] = whole.lower_case
        for platform in platforms:
            view = self.for_platform(platform)
            view.__dict__["reachable"] = whole.for_platform(platform).reachable

    @property
    def final(self) -> Stage | None:
        return self.stages[-1] if self.stages else None

    def release(self) -> None:
        """Drop the per-platform views: they and what they cache refer back to the model,
        and without those cycles the model is freed as soon as nobody holds it, not by
        a garbage collection that has to scan every node first."""
        for view in self._views.values():
            view.cache.clear()
        self._views.clear()

    def for_platform(self, platform: Platform) -> PlatformView:
        view = self._views.get(platform)
        if view is None:
            view = self._views[platform] = PlatformView(self, platform)
        return view

    def scripts(self, ins: Instruction) -> list[Script]:
        """The shell scripts a RUN executes (shell form and shell heredocs)."""
        if ins.name != "RUN":
            # Rules ask about every instruction; only a RUN has scripts to look up.
            return []
        cached = self._scripts.get(ins.span.start)
        if cached is None:
            cached = scripts_of(ins, self.tree.text, self.tree.escape)
            self._scripts[ins.span.start] = cached
        return cached


class PlatformView:
    """The build as one target platform sees it."""

    def __init__(self, model: Model, platform: Platform) -> None:
        self.model = model
        self.platform = platform
        self.escape = model.tree.escape
        #: Derived per-stage facts (stageenv.StageEnv), keyed by their builders.
        self.cache: dict[object, object] = {}
        self._bases: dict[int, str | None] = {}
        self._parents: dict[int, Stage | None] = {}
        self._ancestry: dict[int, tuple[Stage, ...]] = {}
        #: Per stage: offsets of its ARG/ENV instructions, and the scope before
        #: the first and after each (see _env).
        self._scopes: dict[int, tuple[list[int], list[dict[str, str | None]]]] = {}
        self.platform_values = {
            **platform.args(),
            "BUILDPLATFORM": str(platform),
            "BUILDOS": platform.os,
            "BUILDARCH": platform.arch,
            "BUILDVARIANT": platform.variant,
        }

    @cached_property
    def global_env(self) -> dict[str, str | None]:
        env: dict[str, str | None] = dict(self.platform_values)
        for decl in self.model.global_args:
            if decl.default is None:
                env.setdefault(decl.name, None)
            else:
                env[decl.name] = expand(decl.default, env, self.escape)
        return env

    def base(self, stage: Stage) -> str | None:
        """The base reference after expansion, or None when unknowable."""
        if stage.image is None:
            return None
        if stage.index not in self._bases:
            self._bases[stage.index] = expand(stage.image.text, self.global_env, self.escape)
        return self._bases[stage.index]

    def parent(self, stage: Stage) -> Stage | None:
        """The earlier stage this stage is built FROM, if any."""
        if stage.index not in self._parents:
            base = self.base(stage)
            named = None if base is None else self.model._named.get(base.lower())
            self._parents[stage.index] = (
                named if named is not None and named.index < stage.index else None
            )
        return self._parents[stage.index]

    def ancestry(self, stage: Stage) -> list[Stage]:
        found = self._ancestry.get(stage.index)
        if found is None:
            out = [stage]
            seen = {stage.index}
            p = self.parent(stage)
            while p is not None and p.index not in seen:
                out.append(p)
                seen.add(p.index)
                p = self.parent(p)
            found = self._ancestry[stage.index] = tuple(out)
        return list(found)

    def root(self, stage: Stage) -> Stage:
        """The stage whose FROM names an image (not another stage)."""
        return self.ancestry(stage)[-1]

    def image(self, stage: Stage) -> str | None:
        """The external image a stage ultimately builds on."""
        return self.base(self.root(stage))

    @cached_property
    def reachable(self) -> frozenset[int]:
        """Indices of the stages built for this platform's final target."""
        final = self.model.final
        if final is None:
            return frozenset()
        seen: set[int] = set()
        todo = [final]
        while todo:
            st = todo.pop()
            if st.index in seen:
                continue
            seen.add(st.index)
            todo.extend(self.dependencies(st))
        return frozenset(seen)

    def dependencies(self, stage: Stage) -> list[Stage]:
        """The earlier stages ``stage`` is built FROM or copies or mounts from."""
        deps = []
        p = self.parent(stage)
        if p is not None:
            deps.append(p)
        for ins in stage.body:
            for ref in self._stage_refs(ins, stage):
                dep = self.model.stage_named(ref)
                if dep is not None and dep.index < stage.index:
                    deps.append(dep)
        return deps

    def _stage_refs(self, ins: Instruction, stage: Stage) -> list[str]:
        refs: list[str] = []
        if ins.name in ("COPY", "ADD"):
            f = ins.flag("from")
            if f is not None and f.value is not None:
                v = expand(f.value, self.env_before(ins), self.escape)
                if v is not None:
                    refs.append(v)
        if ins.name == "RUN":
            for f in ins.flags:
                if f.name == "mount" and f.value:
                    for part in f.value.split(","):
                        k, _, v = part.partition("=")
                        if k.strip() == "from" and v:
                            val = expand(v, self.env_before(ins), self.escape)
                            if val is not None:
                                refs.append(val)
        return refs

    def reaches(self, target: Stage | Instruction) -> bool:
        """Whether this platform's build runs ``target``."""
        stage = target if isinstance(target, Stage) else self.model.stage_of(target)
        if stage is None:
            return not isinstance(target, Stage)
        return stage.index in self.reachable

    def declared(self, stage: Stage, name: str, before: Instruction | None = None) -> bool:
        """Is ARG ``name`` declared in ``stage`` (before ``before``) or an ancestor?"""
        for i, st in enumerate(self.ancestry(stage)):
            first = st.first_arg_offsets().get(name)
            if first is not None and (i > 0 or before is None or first < before.span.start):
                return True
        return False

    def env_before(self, ins: Instruction) -> dict[str, str | None]:
        """ARG and ENV values in scope just before ``ins`` (stage scope)."""
        stage = self.model.stage_of(ins)
        if stage is None:
            return dict(self.global_env)
        return dict(self._env(stage, ins))

    def env_after(self, stage: Stage) -> dict[str, str | None]:
        return dict(self._env(stage, None))

    def _env(self, stage: Stage, until: Instruction | None) -> dict[str, str | None]:
        # Rules ask for the scope of nearly every instruction, often per rule.
        # The scope only changes at ARG and ENV, so each stage keeps one dict
        # per ARG/ENV instruction (callers get copies, since they may change
        # them) and a lookup is a binary search.
        offsets, scopes = self._stage_scopes(stage)
        if until is None:
            return scopes[-1]
        return scopes[bisect_left(offsets, until.span.start)]

    def _stage_scopes(self, stage: Stage) -> tuple[list[int], list[dict[str, str | None]]]:
        found = self._scopes.get(stage.index)
        if found is None:
            # Ancestors first, without recursion: a chain of stages can be long.
            for st in reversed(self.ancestry(stage)):
                if st.index not in self._scopes:
                    self._scopes[st.index] = self._compute_scopes(st)
            found = self._scopes[stage.index]
        return found

    def _compute_scopes(self, stage: Stage) -> tuple[list[int], list[dict[str, str | None]]]:
        parent = self.parent(stage)
        env: dict[str, str | None] = dict(self._env(parent, None)) if parent else {}
        offsets: list[int] = []
        scopes = [env]
        for ins in stage.body:
            if ins.name not in ("ARG", "ENV"):
                continue
            env = dict(env)
            for kv in ins.key_values(self.escape):
                if ins.name == "ARG":
                    env[kv.key] = self._arg_value(kv, env)
                else:
                    env[kv.key] = expand(kv.value or "", env, self.escape)
            offsets.append(ins.span.start)
            scopes.append(env)
        return offsets, scopes

    def _arg_value(self, kv: KeyValue, env: Env) -> str | None:
        if kv.value is not None:
            return expand(kv.value, env, self.escape)
        if kv.key in self.platform_values:
            return self.platform_values[kv.key]
        # ARG X without a default takes the global value, if any.
        if kv.key in self.global_env:
            return self.global_env[kv.key]
        return None


def build_model(tree: Dockerfile) -> Model:
    return Model(tree)
