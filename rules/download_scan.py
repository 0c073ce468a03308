"""The hard-coded-download scan behind DA301 ``hard_coded_arch_download``.

Imported by the rule only for a RUN that fetches or installs something, or an
ADD: most Dockerfiles have neither, and this module's records and the
architecture naming table are a cost every start-up would pay.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence

from dockerarch_rules.downloads import command_name, is_url, operands, strip_quotes
from dockerarch_rules.platform_args import insert_lines

from dockerarch.diagnostics import (
    Applicability,
    Diagnostic,
    Edit,
    Fix,
    PlatformVariant,
    Severity,
)
from dockerarch.engine import Context
from dockerarch.expand import expand, references
from dockerarch.knowledge.archnames import (
    ARCHES,
    ArchNaming,
    find_amd64_tokens,
    names_other_os,
    naming_for,
    usual_arm64,
)
from dockerarch.lazyre import lazy_compile
from dockerarch.model import PlatformView, Stage, arch_in_name
from dockerarch.platforms import Platform
from dockerarch.records import field, record
from dockerarch.shell.model import Assignment, Command, Guard, Script, Word
from dockerarch.syntax import Instruction, KeyValue, Span

# ARGs whose value is the architecture: a word built from them is already per-arch.
_ARCH_ARGS = frozenset(
    {"TARGETARCH", "TARGETPLATFORM", "TARGETVARIANT", "BUILDARCH", "BUILDPLATFORM", "BUILDVARIANT"}
)
# ``$NAME`` / ``${NAME...}``; group 1 or 2 is the name.
_REF = lazy_compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}?|([A-Za-z_][A-Za-z0-9_]*))")
# Checksum and signature files name the artifact they vouch for; fetching one is not
# an install, but a fix must rename it along with the artifact.
_CHECKSUM_FILE = lazy_compile(
    r"\.(?:sha(?:1|224|256|384|512)(?:sum)?(?:\.txt)?|md5|asc|sig|sign|pem|minisig)$"
    r"|(?:^|[-_.])(?:sha\d*sums?|shasums\d*|checksums?)(?:[-_.]|$)",
    re.IGNORECASE,
)
_SUM_TOOLS = frozenset(
    {"sha1sum", "sha224sum", "sha256sum", "sha384sum", "sha512sum", "md5sum", "b2sum", "shasum"}
)
_MAX_DEPTH = 4
_QUERY_OR_FRAGMENT = lazy_compile(r"[?#]")
_CHECK_OPTION = lazy_compile(r"-[a-zA-Z]*c[a-zA-Z]*")


@record
class _Site:
    """One hard-coded spelling: where it is written and the download it names."""

    span: Span
    token: str
    #: The download's URL or file name, variables resolved where known.
    url: str
    #: Inside single quotes, where ``${VAR}`` would stay literal.
    quoted: bool


@record
class _Def:
    """Where a variable a download uses gets its value."""

    name: str
    span: Span
    #: The ARG/ENV instruction; None for a shell assignment inside the RUN itself.
    instruction: Instruction | None
    #: Literal text with source spans (variable references blanked).
    pieces: tuple[tuple[str, Span], ...]
    #: The value depends on the architecture already (``$TARGETARCH``, a case branch).
    arch_aware: bool
    references: tuple[str, ...]
    #: The value with quotes removed, variables left as written.
    value: str


@record
class _Target:
    """Which target platforms a download wrongly runs for."""

    bad: tuple[str, ...]
    #: Every answer rests on a guard or a stage platform we could not evaluate.
    undecided: bool
    #: "target", or "build" in a ``--platform=$BUILDPLATFORM`` stage.
    kind: str


@record(frozen=False)
class _DefUse:
    """A hard-coded ARG/ENV value and the downloads that use it."""

    definition: _Def
    sites: list[_Site]
    bad: set[str] = field(default_factory=set)
    undecided: bool = True
    kind: str = "target"
    pinned: bool = False
    lines: list[int] = field(default_factory=list)


@record(frozen=False)
class _Plan:
    """A fix: its edits per site group, or why there is none."""

    arg: str
    edits: list[Edit] = field(default_factory=list)
    cases: list[str] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)
    #: Why the edits cannot be trusted (a pinned checksum, an unknown spelling).
    problems: list[str] = field(default_factory=list)
    #: Why only per-arch stages can do it (ADD cannot map names with a shell ``case``).
    stages_only: list[str] = field(default_factory=list)
    unknown: bool = False
    #: An arch has no published build: no edit can help.
    unpublished: bool = False
    #: TARGETARCH -> spelling per site, for the per-arch variants.
    spellings: dict[Span, dict[str, str]] = field(default_factory=dict)


def _mask(text: str) -> str:
    """``text`` with variable references blanked, so ``$AMD64_URL`` holds no token."""
    return _REF.sub(lambda m: "\0" * len(m.group(0)), text)


def _single_quoted(text: str, start: int, pos: int) -> bool:
    """Whether ``text[pos]`` is inside single quotes, scanning from ``start``."""
    quote = ""
    i = start
    while i < pos:
        c = text[i]
        if quote == "'":
            if c == "'":
                quote = ""
        elif c == "\\":
            i += 1
        elif quote == '"':
            if c == '"':
                quote = ""
        elif c in "'\"":
            quote = c
        i += 1
    return quote == "'"


def _basename(url: str) -> str:
    return _QUERY_OR_FRAGMENT.split(url, maxsplit=1)[0].rstrip("/").rsplit("/", 1)[-1]


def _pins_checksum(cmd: Command) -> bool:
    """``echo "<digest>  file" | sha256sum -c -``: a digest written into the script."""
    words = cmd.words
    if not words or command_name(words[0]) not in _SUM_TOOLS:
        return False
    check = False
    operands: list[Word] = []
    skip = False
    for w in words[1:]:
        v = w.value
        if skip:
            skip = False
        elif v in ("-a", "--algorithm"):
            skip = True
        elif v is not None and (v == "--check" or _CHECK_OPTION.fullmatch(v)):
            check = True
        elif v is None or v == "-" or not v.startswith("-"):
            operands.append(w)
    return check and all(w.value == "-" for w in operands)


def _stage_arch(view: PlatformView, stage: Stage) -> tuple[str | None, str]:
    """The architecture a stage's RUNs execute on for ``view``, and why."""
    for st in view.ancestry(stage):
        flag = st.platform
        if flag is None or not flag.value:
            continue
        refs = references(flag.value, view.escape)
        if any(r.startswith("BUILD") for r in refs):
            # dockerarch models native builds: the build machine is the target's arch.
            return view.platform.arch, "build"
        value = expand(flag.value, view.global_env, view.escape)
        try:
            return (Platform.parse(value).arch, "target") if value else (None, "target")
        except ValueError:
            return None, "target"
    return view.platform.arch, "target"


def _substitute(text: str, values: dict[str, str]) -> str:
    for _ in range(_MAX_DEPTH):
        new = _REF.sub(lambda m: values.get(m.group(1) or m.group(2), m.group(0)), text)
        if new == text:
            break
        text = new
    return text


class DownloadScan:
    """One check run: instruction findings as they come, ARG/ENV findings at the end."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.tree = ctx.tree
        self.views = ctx.views()
        self.defs: dict[Span, _DefUse] = {}
        per_file = None
        if ctx.path is not None:
            per_file = arch_in_name(ctx.path.name) or arch_in_name(ctx.path.parent.name)
        self.per_arch_file = per_file == "amd64"

    # -- variables --------------------------------------------------------------

    def _kv_def(self, ins: Instruction, kv: KeyValue) -> _Def | None:
        if kv.value is None or kv.value_span is None:
            return None
        text = self.tree.text[kv.value_span.start : kv.value_span.end]
        refs = tuple(references(kv.value, self.tree.escape))
        arch_aware = bool(_ARCH_ARGS.intersection(refs))
        pieces = ((_mask(text), kv.value_span),)
        return _Def(kv.key, kv.value_span, ins, pieces, arch_aware, refs, kv.value)

    def file_def(self, stage: Stage, before: Instruction, name: str) -> _Def | None:
        """The ARG/ENV value of ``name`` in scope just before ``before``."""
        for i, st in enumerate(self.views[0].ancestry(stage)):
            body = st.body if i else [x for x in st.body if x.span.start < before.span.start]
            for ins in reversed(body):
                if ins.name not in ("ARG", "ENV"):
                    continue
                for kv in reversed(ins.key_values(self.tree.escape)):
                    if kv.key != name:
                        continue
                    if kv.value is None and ins.name == "ARG":
                        # ``ARG NAME`` takes the global default, if any.
                        for decl in reversed(self.ctx.model.global_args):
                            if decl.name == name:
                                return self._kv_def(decl.instruction, decl.kv)
                        return None
                    return self._kv_def(ins, kv)
        return None

    @staticmethod
    def shell_def(a: Assignment, script: Script) -> _Def:
        w = a.value
        arch_aware = (
            bool(a.probe_kinds)
            or a.guard.archs is not None
            or not a.guard.decided
            or w.per_arch is not None
            or any(e in _ARCH_ARGS or e in script.arch_mappings for e in w.expansions)
        )
        return _Def(
            a.name, w.span, None, w.literal_pieces, arch_aware, w.expansions, w.value or w.text
        )

    def resolve(
        self,
        names: Sequence[str],
        lookup: Callable[[str, bool], _Def | None],
    ) -> tuple[dict[str, str], list[_Def]] | None:
        """Values and definitions behind ``names``; None if one depends on the arch."""
        values: dict[str, str] = {}
        found: list[_Def] = []
        todo = [(n, True, 0) for n in names]
        while todo:
            name, shell, depth = todo.pop(0)
            if name in _ARCH_ARGS:
                return None
            if name in values or depth > _MAX_DEPTH:
                continue
            d = lookup(name, shell)
            if d is None:
                continue
            if d.arch_aware:
                return None
            values[name] = strip_quotes(d.value)
            found.append(d)
            todo.extend((r, shell and d.instruction is None, depth + 1) for r in d.references)
        return values, found

    # -- where it runs ----------------------------------------------------------

    def target(self, stage: Stage, ins: Instruction, guard: Guard | None) -> _Target:
        bad: list[str] = []
        undecided = True
        kind = "target"
        for view in self.views:
            if not view.reaches(ins):
                continue
            arch, kind_here = _stage_arch(view, stage)
            if kind_here == "build":
                kind = "build"
            if arch == "amd64":
                continue
            runs = True if guard is None else guard.runs_on(arch or "arm64")
            if runs is False and arch is not None:
                continue
            if runs is True and arch is not None:
                undecided = False
            bad.append(str(view.platform))
        return _Target(tuple(bad), undecided and bool(bad), kind)

    def severity(self, stage: Stage | None, target: _Target) -> Severity | None:
        """Info in amd64-only stages and files (no fix: the name says amd64 on purpose)."""
        if self.per_arch_file or (
            stage is not None
            and any(st.arch_by_name == "amd64" for st in self.views[0].ancestry(stage))
        ):
            return Severity.INFO
        if target.kind == "build" or target.undecided:
            return Severity.WARNING
        return None

    # -- sites ------------------------------------------------------------------

    def sites_in(
        self, pieces: Sequence[tuple[str, Span]], url: str, quote_from: int
    ) -> list[_Site]:
        out = []
        for piece, span in pieces:
            for s, e, token in find_amd64_tokens(piece):
                start = span.start + s
                quoted = _single_quoted(self.tree.text, quote_from, start)
                out.append(_Site(Span(start, span.start + e), token, url, quoted))
        return out

    def note_def(self, d: _Def, url: str, t: _Target, pinned: bool, line: int) -> None:
        use = self.defs.get(d.span)
        if use is None:
            sites = self.sites_in(d.pieces, url, d.span.start)
            if not sites:
                return
            use = self.defs[d.span] = _DefUse(d, sites)
        use.bad.update(t.bad)
        use.undecided = use.undecided and t.undecided
        use.kind = "build" if t.kind == "build" else use.kind
        use.pinned = use.pinned or pinned
        use.lines.append(line)

    # -- RUN --------------------------------------------------------------------

    def run(self, stage: Stage, ins: Instruction) -> Diagnostic | None:
        scripts = self.ctx.model.scripts(ins)
        pinned = any(_pins_checksum(c.effective()) for s in scripts for c in s.commands)
        line = ins.start_line
        primary: list[_Site] = []
        extra: list[_Site] = []
        targets: list[_Target] = []
        known: dict[str, str] = {}
        for script in scripts:
            for raw in script.commands:
                cmd = raw.effective()
                for word, url_only in operands(cmd):
                    found = self.word(stage, ins, script, raw, word)
                    if found is None:
                        continue
                    url, sites, defs, values = found
                    known.update(values)
                    if (url_only and not is_url(url)) or names_other_os(url):
                        continue
                    t = self.target(stage, ins, raw.guard)
                    if not t.bad:
                        continue
                    for d in defs:
                        self.note_def(d, url, t, pinned, line)
                    if _CHECKSUM_FILE.search(_basename(url)):
                        extra.extend(sites)
                    elif sites:
                        primary.extend(sites)
                        targets.append(t)
        if not primary:
            return None
        extra.extend(self.consumers(scripts, primary, known))
        sites = _unique(primary, extra)
        target = _Target(
            tuple(sorted({p for t in targets for p in t.bad})),
            all(t.undecided for t in targets),
            "build" if any(t.kind == "build" for t in targets) else "target",
        )
        used = {a.name for s in scripts for a in s.assignments}
        used.update(self.views[0].env_before(ins))
        plan = self.plan(sites, target.kind, pinned, shell=True, used=used)
        severity = self.severity(stage, target)
        fix = None if severity is Severity.INFO else self.finish(plan, stage, ins, sites)
        first = primary[0]
        return self.ctx.diagnostic(
            first.span,
            _message(first, len({s.span for s in primary}) - 1, target, plan, "this download"),
            fix=fix,
            platforms=target.bad,
            severity=severity,
        )

    def word(
        self, stage: Stage, ins: Instruction, script: Script, cmd: Command, word: Word
    ) -> tuple[str, list[_Site], list[_Def], dict[str, str]] | None:
        """The word's resolved text, its hard-coded sites and the ARG/ENV values it uses."""
        # Built from an arch probe (``$(uname -m)``) or a variable set from one
        # (``$dpkgArch``): the word is per-arch as a whole.
        if any(word.span.start <= p.span.start < word.span.end for p in script.arch_probes):
            return None
        if any(e in script.arch_mappings for e in word.expansions):
            return None

        def lookup(name: str, shell: bool) -> _Def | None:
            if shell:
                for a in reversed(script.assignments):
                    if a.name == name and a.span.end <= cmd.span.start:
                        return self.shell_def(a, script)
            return self.file_def(stage, ins, name)

        resolved = self.resolve(word.expansions, lookup)
        if resolved is None:
            return None
        values, defs = resolved
        url = _substitute(strip_quotes(word.text), values)
        sites = self.sites_in(word.literal_pieces, url, word.span.start)
        for d in defs:
            if d.instruction is None:
                sites.extend(self.sites_in(d.pieces, url, d.span.start))
        return url, sites, [d for d in defs if d.instruction is not None], values

    def consumers(
        self, scripts: Sequence[Script], primary: Sequence[_Site], values: dict[str, str]
    ) -> list[_Site]:
        """Words naming the downloaded file again (``tar -xf``, ``dpkg -i``, ``bash x.sh``)."""
        names = {}
        for site in primary:
            base = _basename(site.url)
            if site.token in base and "$" not in base:
                names[base] = site.url
        out: list[_Site] = []
        words = [w for s in scripts for c in s.commands for w in c.words]
        words += [a.value for s in scripts for a in s.assignments]
        for w in words:
            text = _substitute(strip_quotes(w.text), values)
            for base, url in names.items():
                if base in text:
                    out.extend(self.sites_in(w.literal_pieces, url, w.span.start))
        return out

    # -- ADD --------------------------------------------------------------------

    def add(self, stage: Stage, ins: Instruction) -> Diagnostic | None:
        words = list(ins.json) if ins.json is not None else ins.words()
        t = self.target(stage, ins, None)
        if len(words) < 2 or not t.bad:
            return None
        pinned = ins.flag("checksum") is not None
        primary: list[_Site] = []

        def lookup(name: str, _shell: bool) -> _Def | None:
            return self.file_def(stage, ins, name)

        for w in words[:-1]:
            resolved = self.resolve(references(w.value, self.tree.escape), lookup)
            if resolved is None:
                continue
            values, defs = resolved
            url = _substitute(w.value, values)
            if not is_url(url) or names_other_os(url):
                continue
            for d in defs:
                self.note_def(d, url, t, pinned, ins.start_line)
            if _CHECKSUM_FILE.search(_basename(url)):
                continue
            text = _mask(self.tree.text[w.span.start : w.span.end])
            primary.extend(self.sites_in(((text, w.span),), url, w.span.start))
        if not primary:
            return None
        plan = self.plan(primary, t.kind, pinned, shell=False, used=set())
        severity = self.severity(stage, t)
        fix = None if severity is Severity.INFO else self.finish(plan, stage, ins, primary)
        return self.ctx.diagnostic(
            primary[0].span,
            _message(primary[0], len(primary) - 1, t, plan, "this ADD"),
            fix=fix,
            platforms=t.bad,
            severity=severity,
        )

    # -- ARG / ENV values ---------------------------------------------------------

    def definitions(self) -> Iterator[Diagnostic]:
        for use in self.defs.values():
            d = use.definition
            assert d.instruction is not None
            stage = self.ctx.model.stage_of(d.instruction)
            target = _Target(tuple(sorted(use.bad)), use.undecided, use.kind)
            plan = self.plan(use.sites, use.kind, use.pinned, shell=False, used=set())
            severity = self.severity(stage, target)
            fix = (
                None
                if severity is Severity.INFO
                else self.finish(plan, stage, d.instruction, use.sites)
            )
            lines = ", ".join(str(n) for n in sorted(set(use.lines)))
            where = f"{d.instruction.name} {d.name}"
            first = use.sites[0]
            yield self.ctx.diagnostic(
                first.span,
                _message(first, len(use.sites) - 1, target, plan, f"this {where} value")
                + f" (downloaded on line {lines})",
                fix=fix,
                platforms=target.bad,
                severity=severity,
            )

    # -- fixes --------------------------------------------------------------------

    def plan(
        self, sites: Sequence[_Site], kind: str, pinned: bool, *, shell: bool, used: set[str]
    ) -> _Plan:
        arg = "BUILDARCH" if kind == "build" else "TARGETARCH"
        plan = _Plan(arg)
        if pinned:
            plan.problems.append(
                "the checksum written here is the amd64 file's: check a per-architecture checksum"
            )
        groups: dict[tuple[str, str], list[_Site]] = {}
        namings: dict[tuple[str, str], ArchNaming | None] = {}
        for site in sites:
            key = (site.url, site.token.lower())
            naming = naming_for(site.url, site.token)
            nkey = (naming.project, naming.spelling["amd64"]) if naming else key
            groups.setdefault(nkey, []).append(site)
            namings[nkey] = naming
        for nkey, group in groups.items():
            naming = namings[nkey]
            token = group[0].token
            if naming is None:
                plan.unknown = True
                guess = usual_arm64(token)
                hint = f' (often "{guess}")' if guess else ""
                plan.problems.append(
                    f'map {arg} to this download\'s names: amd64 is "{token}", arm64 is not '
                    f"known{hint}"
                )
                continue
            if not naming.published("arm64"):
                plan.unpublished = True
                continue
            spelled = dict(naming.spelling)
            if not naming.verified:
                plan.problems.append(
                    f'{naming.project}\'s arm64 name "{spelled["arm64"]}" is not verified'
                )
            if naming.is_targetarch:
                replacement = "${" + arg + "}"
                plan.parts.append(f'use ${{{arg}}} for "{token}" ({naming.project})')
            elif shell:
                var = naming.variable
                n = 2
                while var in used:
                    var, n = f"{naming.variable}{n}", n + 1
                used.add(var)
                arms = " ".join(f"{a}) {var}={spelled[a]} ;;" for a in ARCHES)
                plan.cases.append(
                    f'case "${arg}" in {arms} *) echo "unsupported architecture: ${arg}" >&2; '
                    "exit 1 ;; esac"
                )
                replacement = "${" + var + "}"
                names = ", ".join(f"{a} \u2192 {spelled[a]}" for a in ARCHES)
                plan.parts.append(f"map {arg} to {naming.project}'s names in {var} ({names})")
            else:
                names = ", ".join(f"{a} \u2192 {spelled[a]}" for a in ARCHES)
                plan.stages_only.append(
                    f"{naming.project} does not name arches like {arg} ({names}): "
                    "build per-arch stages"
                )
                replacement = ""
            for site in group:
                plan.spellings[site.span] = spelled
                if replacement:
                    content = f"'\"{replacement}\"'" if site.quoted else replacement
                    plan.edits.append(Edit(site.span, content))
        return plan

    def finish(
        self,
        plan: _Plan,
        stage: Stage | None,
        ins: Instruction,
        sites: Sequence[_Site],
    ) -> Fix | None:
        """The fix for ``sites`` of ``ins`` (a RUN, an ADD, or the ARG/ENV holding them)."""
        if plan.unpublished:
            return None
        variants: tuple[PlatformVariant, ...] = ()
        # With TARGETARCH's own spellings the inline edit is one text that is right on every
        # platform; only other spellings make the platforms' instructions differ.
        differs = bool(plan.cases or plan.stages_only)
        if differs and len(plan.spellings) == len({s.span for s in sites}) and not plan.problems:
            variants = (self.variant(ins, sites, plan),)
        if plan.unknown or plan.stages_only:
            message = "; ".join(plan.problems + plan.stages_only)
            return Fix(message[0].upper() + message[1:], (), Applicability.DISPLAY_ONLY, variants)
        edits = list(plan.edits)
        if plan.cases:
            edits.append(self.case_edit(ins, min(s.span.start for s in sites), plan.cases))
        if stage is not None and not all(
            v.declared(stage, plan.arg, before=ins) for v in self.views
        ):
            edits.append(insert_lines(self.ctx.model, stage.from_, [f"ARG {plan.arg}"], after=True))
        message = "; ".join(plan.parts)
        message = message[0].upper() + message[1:]
        if plan.problems:
            message += " (" + "; ".join(plan.problems) + ")"
            return Fix(message, tuple(edits), Applicability.DISPLAY_ONLY, variants)
        return Fix(message, tuple(edits), Applicability.UNSAFE, variants)

    def variant(self, ins: Instruction, sites: Sequence[_Site], plan: _Plan) -> PlatformVariant:
        text = self.tree.text
        by_arch = []
        ordered = sorted({s.span: s for s in sites}.values(), key=lambda s: s.span.start)
        for arch in ARCHES:
            out = []
            pos = ins.span.start
            for site in ordered:
                out.append(text[pos : site.span.start])
                out.append(plan.spellings[site.span][arch])
                pos = site.span.end
            out.append(text[pos : ins.span.end])
            by_arch.append((arch, "".join(out)))
        return PlatformVariant(ins.span, tuple(by_arch))

    def case_edit(self, ins: Instruction, first: int, cases: Sequence[str]) -> Edit:
        """The ``case`` mapping as the RUN script's first statement."""
        text = self.tree.text
        nl = text.find("\n", ins.span.start, ins.span.end)
        eol = "\r\n" if nl > 0 and text[nl - 1] == "\r" else "\n"
        for doc in ins.heredocs:
            if doc.body_span.start <= first < doc.body_span.end:
                at = doc.body_span.start
                return Edit(Span(at, at), "".join(c + eol for c in cases))
        indent = "    "
        if ins.end_line > ins.start_line:
            second = self.tree.lines.line_text(ins.start_line + 1)
            indent = second[: len(second) - len(second.lstrip(" \t"))] or indent
        at = ins.args_span.start
        joined = "".join(f"{c}; {self.tree.escape}{eol}{indent}" for c in cases)
        return Edit(Span(at, at), joined)


def _unique(*groups: Sequence[_Site]) -> list[_Site]:
    seen: dict[Span, _Site] = {}
    for group in groups:
        for site in group:
            seen.setdefault(site.span, site)
    return list(seen.values())


def _message(site: _Site, more: int, target: _Target, plan: _Plan, what: str) -> str:
    naming = naming_for(site.url, site.token)
    of = f" ({naming.project})" if naming else ""
    if target.kind == "build":
        who = "an arm64 build machine gets the x86-64 file (the stage runs on $BUILDPLATFORM)"
    else:
        who = f"{', '.join(target.bad)} get{'s' if len(target.bad) == 1 else ''} the x86-64 file"
    msg = f'"{site.token}" is hard-coded in {what}{of}: {who}'
    if more:
        msg += f" (and {more} more here)"
    if naming is None:
        guess = usual_arm64(site.token)
        msg += "; the arm64 name of this download is not known" + (
            f' (often "{guess}")' if guess else ""
        )
    elif plan.unpublished or not naming.published("arm64"):
        msg += f"; {naming.project} publishes no arm64 build: install it on amd64 only"
    elif naming.verified:
        msg += f'; the arm64 file uses "{naming.spelling["arm64"]}"'
    else:
        msg += f'; the arm64 file probably uses "{naming.spelling["arm64"]}"'
    return msg
