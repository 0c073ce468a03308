"""The native-runner rewrite of a GitHub Actions job that builds under QEMU.

The job becomes a matrix with one entry per platform, each on a runner of
that architecture, pushing its image by digest and uploading the digest; a
new ``<job>-merge`` job downloads the digests and creates the multi-platform
tags with ``docker buildx imagetools create``. Everything is text edits at
node spans: the rest of the file, comments included, keeps its bytes. Steps
the merge job needs (registry login, metadata, buildx setup) are copied from
the job verbatim, at the same indentation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from dockerarch.diagnostics import Applicability, Edit, Fix
from dockerarch.lazyre import lazy_compile
from dockerarch.platforms import Platform
from dockerarch.records import record
from dockerarch.syntax.positions import Span
from dockerarch.workflows import yamlspans as ys
from dockerarch.workflows.builds import runs_natively
from dockerarch.workflows.github import Job, Step, StepRef

_HOSTED_UBUNTU = lazy_compile(r"ubuntu-(latest|\d\d\.04)\Z")
_META_TAGS = lazy_compile(r"\$\{\{\s*steps\.([\w-]+)\.outputs\.tags\s*\}\}\Z")
_WHOLE_EXPR = lazy_compile(r"\$\{\{\s*(.*?)\s*\}\}\Z", re.DOTALL)
_EXPR = lazy_compile(r"\$\{\{.*?\}\}", re.DOTALL)
_TAGS_FROM_METADATA = (
    '$(jq -cr \'.tags | map("-t " + .) | join(" ")\' <<< "$DOCKER_METADATA_OUTPUT_JSON")'
)


class NoRewrite(Exception):
    """The job is not in a shape the rewrite handles; the reason is the message."""


def arm_runner(amd64_runner: str) -> str:
    """The hosted arm64 runner matching an amd64 Ubuntu label."""
    return "ubuntu-22.04-arm" if amd64_runner == "ubuntu-22.04" else "ubuntu-24.04-arm"


def native_matrix_fix(text: str, ref: StepRef, platforms: Sequence[Platform]) -> Fix:
    """The unsafe rewrite of the job, or display-only guidance saying why there is none."""
    try:
        edits = _Rewrite(text, ref, platforms).edits()
    except NoRewrite as e:
        return Fix(f"{guidance('github')} (not rewritten: {e})", (), Applicability.DISPLAY_ONLY)
    runners = _runners(ref.job, platforms)
    names = ", ".join(dict.fromkeys(runners.values()))
    return Fix(
        f"Build each platform on a native runner ({names}) and merge the digests "
        "with `docker buildx imagetools create`",
        edits,
        Applicability.UNSAFE,
    )


def guidance(kind: str) -> str:
    """What to do instead, for files the rewrite does not handle."""
    if kind == "gitlab":
        return (
            "Run one job per platform on a runner of that architecture (`parallel: matrix:` "
            "with an arm64 runner tag such as `saas-linux-small-arm64`), push each by digest "
            "and merge them with `docker buildx imagetools create`"
        )
    if kind == "bake":
        return (
            "Build each platform on a native node (`docker buildx create --append` an arm64 "
            "node), or split the platforms over native runners and merge the digests with "
            "`docker buildx imagetools create`"
        )
    return (
        "Build each platform in a matrix over native runners (ubuntu-24.04 and "
        "ubuntu-24.04-arm), push each by digest and merge them in a final job with "
        "`docker buildx imagetools create`"
    )


def _runners(job: Job, platforms: Sequence[Platform]) -> dict[Platform, str]:
    label = ys.scalar(ys.get(job.node, "runs-on")) or "ubuntu-24.04"
    return {p: arm_runner(label) if p.arch == "arm64" else label for p in dict.fromkeys(platforms)}


@record
class _Layout:
    """Indentation of a job, in columns: copied steps keep theirs."""

    job: int
    key: int
    dash: int
    step_key: int
    unit: int


class _Rewrite:
    def __init__(self, text: str, ref: StepRef, platforms: Sequence[Platform]) -> None:
        self.text = text
        self.ref = ref
        self.job = ref.job
        self.step = ref.step
        self.platforms = tuple(dict.fromkeys(platforms))
        self.inserts: dict[int, list[str]] = {}
        self.replacements: list[Edit] = []

    # -- checks ------------------------------------------------------------------------------

    def edits(self) -> tuple[Edit, ...]:
        job, step = self.job, self.step
        if ys.get(job.node, "strategy") is not None:
            raise NoRewrite("the job already has a strategy")
        runs_on = ys.get(job.node, "runs-on")
        label = ys.scalar(runs_on)
        if runs_on is None or label is None or not _HOSTED_UBUNTU.match(label):
            raise NoRewrite("the job does not run on a hosted Ubuntu runner")
        builders = [s for s in job.steps if s.action == "docker/build-push-action"]
        if len(builders) != 1:
            raise NoRewrite("the job has several build steps")
        with_node = ys.get(step.node, "with")
        if not isinstance(with_node, ys.MappingNode) or with_node.flow_style:
            raise NoRewrite("the step's inputs are not a block mapping")
        if step.input("outputs") is not None:
            raise NoRewrite("the step already sets outputs")
        layout = self._layout(with_node)
        push = self._push()
        tags = self._tags() if push is not None else None
        self._matrix(runs_on, label, layout)
        platforms = step.input("platforms")
        assert platforms is not None
        self._replace(ys.span(platforms, self.text), "${{ matrix.platform }}")
        runners = _runners(job, self.platforms).items()
        emulated_left = any(not runs_natively(p.arch, _arch_of_runner(r)) for p, r in runners)
        if not emulated_left:
            self._drop_qemu()
        if push is not None and tags is not None:
            step_id = step.id or self._fresh_id()
            self._push_by_digest(push, tags, step_id, layout)
            self._merge_job(push, tags, label, layout)
        return self._edits()

    def _layout(self, with_node: ys.MappingNode) -> _Layout:
        text = self.text
        job_col = ys.indent_of(text, self.job.key.start_mark.index)
        key_col = ys.indent_of(text, self.job.node.start_mark.index)
        step_col = ys.indent_of(text, self.step.node.start_mark.index)
        dash = self._dash(self.step.node)
        inner = ys.indent_of(text, with_node.start_mark.index)
        if dash is None or self.job.node.flow_style or key_col <= job_col:
            raise NoRewrite("the job is not laid out in block style")
        return _Layout(job_col, key_col, ys.indent_of(text, dash), step_col, inner - step_col)

    def _dash(self, node: ys.Node) -> int | None:
        """Offset of the ``-`` that starts a sequence item, when it sits alone before it."""
        start = ys.line_start(self.text, node.start_mark.index)
        lead = self.text[start : node.start_mark.index]
        m = re.fullmatch(r"( *)- +", lead)
        return start + len(m.group(1)) if m else None

    def _push(self) -> str | None:
        """What the step pushes on: ``true`` or an expression; None when it does not push."""
        value = ys.scalar(self.step.input("push"))
        if value is None or value.strip().lower() in ("false", ""):
            return None
        if value.strip().lower() == "true":
            return "true"
        if _WHOLE_EXPR.match(value.strip()):
            return value.strip()
        raise NoRewrite("push is neither true, false nor one expression")

    def _tags(self) -> _Tags:
        raw = ys.scalar(self.step.input("tags"))
        if raw is None:
            raise NoRewrite("the step pushes without tags")
        m = _META_TAGS.match(raw.strip())
        if m is not None:
            meta = next(
                (s for s in self.job.steps if s.id == m.group(1)),
                None,
            )
            if meta is None or meta.action != "docker/metadata-action":
                raise NoRewrite(f"step '{m.group(1)}' is not docker/metadata-action")
            images = _split(ys.scalar(meta.input("images")) or "")
            if not images or any("=" in i for i in images):
                raise NoRewrite("the metadata step's images are not plain image names")
            return _Tags(tuple(images), (), meta)
        tags = _split(raw)
        if not tags:
            raise NoRewrite("the step's tags are empty")
        return _Tags(tuple(dict.fromkeys(_image_of(t) for t in tags)), tuple(tags), None)

    # -- edits -------------------------------------------------------------------------------

    def _replace(self, span: Span, content: str) -> None:
        self.replacements.append(Edit(span, content))

    def _insert(self, offset: int, content: str) -> None:
        self.inserts.setdefault(offset, []).append(content)

    def _edits(self) -> tuple[Edit, ...]:
        edits = list(self.replacements)
        edits += [Edit(Span(at, at), "".join(parts)) for at, parts in self.inserts.items()]
        if "\r\n" in self.text:
            # The new lines are written with \n; a CRLF workflow keeps CRLF throughout.
            edits = [Edit(e.span, _crlf(e.content), e.path) for e in edits]
        return tuple(sorted(edits, key=lambda e: (e.span.start, e.span.end)))

    def _after(self, node: ys.Node) -> int:
        """Offset of the line after ``node``'s last line (the end of the text at most)."""
        return ys.line_end(self.text, ys.content_end(node, self.text))

    def _lines(self, offset: int, lines: Sequence[tuple[int, str]]) -> None:
        prefix = "" if offset == 0 or self.text[offset - 1] == "\n" else "\n"
        self._insert(offset, prefix + "".join(" " * col + line + "\n" for col, line in lines))

    def _matrix(self, runs_on: ys.Node, label: str, lay: _Layout) -> None:
        self._replace(ys.span(runs_on, self.text), "${{ matrix.runner }}")
        k, u = lay.key, lay.unit
        lines = [(k, "strategy:"), (k + u, "fail-fast: false"), (k + u, "matrix:")]
        lines.append((k + 2 * u, "include:"))
        for platform, runner in _runners(self.job, self.platforms).items():
            lines.append((k + 3 * u, f"- platform: {platform}"))
            lines.append((k + 3 * u + 2, f"runner: {runner}"))
        self._lines(self._after(runs_on), lines)

    def _drop_qemu(self) -> None:
        for step in self.job.steps:
            if step.action != "docker/setup-qemu-action":
                continue
            dash = self._dash(step.node)
            if dash is None:
                continue
            start = ys.line_start(self.text, dash)
            self._replace(Span(start, self._after(step.node)), "")

    def _fresh_id(self) -> str:
        taken = {s.id for s in self.job.steps}
        name = "build"
        n = 1
        while name in taken:
            n += 1
            name = f"build-{n}"
        return name

    def _push_by_digest(self, push: str, tags: _Tags, step_id: str, lay: _Layout) -> None:
        push_entry = ys.entry(ys.get(self.step.node, "with"), "push")
        tags_node = self.step.input("tags")
        assert push_entry is not None and tags_node is not None
        key, value = push_entry
        outputs = f"outputs: type=image,push-by-digest=true,name-canonical=true,push={push}"
        self._replace(Span(key.start_mark.index, ys.span(value, self.text).end), outputs)
        inner = lay.step_key + lay.unit
        if len(tags.images) == 1:
            self._replace(ys.span(tags_node, self.text), tags.images[0])
        else:
            block = "|\n" + "".join(f"{' ' * (inner + lay.unit)}{i}\n" for i in tags.images)
            self._replace(ys.span(tags_node, self.text), block.rstrip("\n"))
        s, d, u = lay.step_key, lay.dash, lay.unit
        condition = [(s, f"if: {push}")] if push != "true" else []
        lines = [] if self.step.id else [(s, f"id: {step_id}")]
        lines += [(d, "- name: Export digest"), *condition, (s, "run: |")]
        lines += [
            (s + u, 'mkdir -p "${{ runner.temp }}/digests"'),
            (s + u, f'digest="${{{{ steps.{step_id}.outputs.digest }}}}"'),
            (s + u, 'touch "${{ runner.temp }}/digests/${digest#sha256:}"'),
            (s + u, 'platform="${{ matrix.platform }}"'),
            (
                s + u,
                f'echo "DIGEST_ARTIFACT=digests-{self.job.id}-${{platform//\\//-}}" '
                '>> "$GITHUB_ENV"',
            ),
            (d, "- name: Upload digest"),
            *condition,
            (s, "uses: actions/upload-artifact@v4"),
            (s, "with:"),
            (s + u, "name: ${{ env.DIGEST_ARTIFACT }}"),
            (s + u, "path: ${{ runner.temp }}/digests/*"),
            (s + u, "if-no-files-found: error"),
            (s + u, "retention-days: 1"),
        ]
        self._lines(self._after(self.step.node), lines)

    def _merge_job(self, push: str, tags: _Tags, label: str, lay: _Layout) -> None:
        job = self.job
        taken = {j.id for j in self.ref.workflow.jobs}
        name = f"{job.id}-merge"
        while name in taken:
            name += "-2"
        k, s, d, u = lay.key, lay.step_key, lay.dash, lay.unit
        lines: list[tuple[int, str]] = [
            (lay.job, f"{name}:"),
            (k, f"runs-on: {label}"),
            (k, f"needs: {job.id}"),
        ]
        if push != "true":
            lines.append((k, f"if: {push}"))
        copied = "".join(self._entry_text(key) for key in ("permissions", "env"))
        head = "".join(" " * col + line + "\n" for col, line in lines) + copied
        steps = [
            (k, "steps:"),
            (d, "- name: Download digests"),
            (s, "uses: actions/download-artifact@v4"),
            (s, "with:"),
            (s + u, "path: ${{ runner.temp }}/digests"),
            (s + u, f"pattern: digests-{job.id}-*"),
            (s + u, "merge-multiple: true"),
        ]
        text = head + "".join(" " * col + line + "\n" for col, line in steps)
        logins = [st for st in job.steps if st.action == "docker/login-action"]
        buildx = [st for st in job.steps if st.action == "docker/setup-buildx-action"]
        text += "".join(self._step_text(st) for st in logins)
        if buildx:
            text += self._step_text(buildx[0])
        else:
            text += f"{' ' * d}- uses: docker/setup-buildx-action@v3\n"
        if tags.metadata is not None:
            text += self._step_text(tags.metadata)
            tag_args = _TAGS_FROM_METADATA
        else:
            tag_args = " ".join(f"-t '{t}'" for t in tags.tags)
        text += "".join(
            " " * col + line + "\n"
            for col, line in [
                (d, "- name: Create the multi-platform image"),
                (s, "working-directory: ${{ runner.temp }}/digests"),
                (s, "run: |"),
                (s + u, f"docker buildx imagetools create {tag_args} \\"),
                (s + u + 2, f"$(printf '{tags.images[0]}@sha256:%s ' *)"),
            ]
        )
        at = self._job_end()
        prefix = "" if self.text[at - 1 : at] == "\n" else "\n"
        self._insert(at, prefix + "\n" + text)

    def _job_end(self) -> int:
        """After the job's last line, and after comment lines indented into the job."""
        text = self.text
        end = ys.line_end(text, ys.content_end(self.job.node, text))
        pos = end
        col = ys.indent_of(text, self.job.key.start_mark.index)
        while pos < len(text):
            nxt = ys.line_end(text, pos)
            line = text[pos:nxt]
            stripped = line.strip()
            if stripped.startswith("#") and len(line) - len(line.lstrip(" ")) > col:
                end = pos = nxt
            elif not stripped:
                pos = nxt
            else:
                break
        return end

    def _entry_text(self, key: str) -> str:
        pair = ys.entry(self.job.node, key)
        if pair is None:
            return ""
        start = ys.line_start(self.text, pair[0].start_mark.index)
        return self._with_newline(self.text[start : self._after(pair[1])])

    def _step_text(self, step: Step) -> str:
        dash = self._dash(step.node)
        if dash is None:
            raise NoRewrite("a step the merge job needs is not in block style")
        start = ys.line_start(self.text, dash)
        return self._with_newline(self.text[start : self._after(step.node)])

    @staticmethod
    def _with_newline(chunk: str) -> str:
        return chunk if chunk.endswith("\n") else chunk + "\n"


@record
class _Tags:
    #: Image names without tags: where the digests are pushed.
    images: tuple[str, ...]
    #: The tags written in the step (empty when they come from the metadata step).
    tags: tuple[str, ...]
    metadata: Step | None


def _split(value: str) -> list[str]:
    """A list input: items separated by newlines or commas, expressions kept whole."""
    masked = _EXPR.sub(lambda m: "_" * len(m.group()), value)
    parts = []
    start = 0
    for i, ch in enumerate(masked):
        if ch in ",\n":
            parts.append(value[start:i])
            start = i + 1
    parts.append(value[start:])
    return [p.strip() for p in parts if p.strip()]


def _image_of(tag: str) -> str:
    """``tag`` without its ``:tag`` or ``@digest`` part (expressions kept whole)."""
    masked = _EXPR.sub(lambda m: "_" * len(m.group()), tag)
    at = masked.find("@")
    if at != -1:
        return tag[:at]
    slash = masked.rfind("/")
    colon = masked.find(":", slash + 1)
    return tag[:colon] if colon != -1 else tag


def _arch_of_runner(label: str) -> str:
    return "arm64" if label.endswith("-arm") else "amd64"


def _crlf(content: str) -> str:
    return content.replace("\r\n", "\n").replace("\n", "\r\n")
