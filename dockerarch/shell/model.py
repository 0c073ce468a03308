"""What the shell layer hands to rules: commands, words, assignments and guards."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum

from dockerarch.records import field, record, replace
from dockerarch.syntax.positions import Span

# The architectures a guard is computed over (TARGETARCH spellings). A guard's
# "default branch" is the complement within this set.
ARCHES: frozenset[str] = frozenset({"amd64", "arm64", "arm", "386", "ppc64le", "s390x", "riscv64"})


class ProbeKind(str, Enum):
    """Where an architecture test gets its answer from."""

    TARGET_ARG = "target-arg"  # $TARGETARCH / $TARGETPLATFORM: the platform being built for
    UNAME = "uname"  # uname -m, arch: the kernel the RUN executes on
    DPKG = "dpkg"  # dpkg --print-architecture, dpkg-architecture -qDEB_HOST_ARCH
    APK = "apk"  # apk --print-arch

    @property
    def runtime(self) -> bool:
        """True if the answer is the machine running the step (the build machine in a
        ``--platform=$BUILDPLATFORM`` stage), not the declared target."""
        return self is not ProbeKind.TARGET_ARG


@record(slots=True)
class Guard:
    """The architectures a command runs for.

    ``archs is None`` and ``decided``: runs on every architecture (no arch test
    encloses it). ``decided=False``: an enclosing test could not be evaluated
    (e.g. ``case "$FOO" in amd64)``); rules must not assume anything, and
    ``archs`` is then only an upper bound. ``archs == frozenset()`` is dead
    code (no architecture reaches it).
    """

    archs: frozenset[str] | None = None
    decided: bool = True
    probe_kinds: frozenset[ProbeKind] = frozenset()

    def runs_on(self, arch: str) -> bool | None:
        """Whether the command runs on ``arch``; None when undecided."""
        if self.archs is not None and arch not in self.archs:
            return False
        return True if self.decided else None

    @property
    def runtime_probe(self) -> bool:
        """True if some enclosing test asks the running machine (uname, dpkg, apk)."""
        return any(k.runtime for k in self.probe_kinds)

    def narrow(self, archs: frozenset[str], decided: bool, kinds: frozenset[ProbeKind]) -> Guard:
        """This guard further restricted to ``archs`` (a set computed by a test)."""
        if archs >= ARCHES and decided:
            return self
        mine = ARCHES if self.archs is None else self.archs
        new = mine & archs
        return Guard(
            None if new >= ARCHES else new,
            self.decided and decided,
            self.probe_kinds | kinds,
        )


EVERYWHERE = Guard()


@record(slots=True)
class Word:
    """One shell word as written.

    ``text`` is the logical text of the word (quotes included); ``value`` the
    word after quote removal, or None if it contains any expansion or
    substitution. ``literal_pieces`` are the literal stretches (quotes
    excluded, backslashes kept) with their source spans; each piece lies in one
    source segment, so ``source[span] == piece`` and offsets inside a piece
    translate by addition. ``per_arch`` is the word's static value on each
    architecture when it varies only through arch-probe variables (e.g.
    ``tool-${ARCH}.tgz`` after ``case $TARGETARCH in amd64) ARCH=x86_64;;``).
    """

    text: str
    value: str | None
    span: Span
    literal_pieces: tuple[tuple[str, Span], ...] = ()
    expansions: tuple[str, ...] = ()
    per_arch: Mapping[str, str] | None = None

    def find(self, needle: str) -> list[Span]:
        """Source spans of ``needle`` inside the word's literal pieces."""
        out: list[Span] = []
        if not needle:
            return out
        for piece, span in self.literal_pieces:
            i = piece.find(needle)
            while i != -1:
                out.append(Span(span.start + i, span.start + i + len(needle)))
                i = piece.find(needle, i + 1)
        return out


@record(slots=True)
class Assignment:
    """``NAME=value`` (a statement, an ``export``/``local`` argument, a command
    prefix, or an ``env`` argument). ``probe_kinds`` is non-empty when the
    value depends on the architecture (``arch="$(dpkg --print-architecture)"``,
    or an assignment inside an arch-guarded branch)."""

    name: str
    value: Word
    span: Span
    name_span: Span
    guard: Guard = EVERYWHERE
    probe_kinds: frozenset[ProbeKind] = frozenset()


@record(slots=True)
class Command:
    """A simple command: prefix assignments, a name and arguments (redirections dropped)."""

    name: Word | None
    args: tuple[Word, ...]
    env: tuple[Assignment, ...]
    span: Span
    guard: Guard = EVERYWHERE
    in_substitution: bool = False
    # Set once effective() found no wrapper to remove (most commands): rules ask
    # again for every command they look at. A flag, not the answer, so the
    # command does not refer to itself.
    _unwrapped: bool = field(default=False, init=False, repr=False, compare=False)
    #: The program's base name (``/usr/local/go/bin/go`` -> ``go``); None if the name is
    #: missing or dynamic. Rules ask ~130 times a file, commands are made ~20 times: so it
    #: is worked out when the command is made (``posixpath.basename``'s answer, spelled out).
    program: str | None = field(default=None, init=False, repr=False, compare=False)
    #: The name and the arguments, asked ~100 times a file.
    words: tuple[Word, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        name = self.name
        value = None if name is None else name.value
        if value is not None:
            object.__setattr__(self, "program", value[value.rfind("/") + 1 :])
        object.__setattr__(self, "words", self.args if name is None else (name, *self.args))

    def effective(self) -> Command:
        """The command with wrappers (``sudo``, ``env [-i] [VAR=x]``, ``nice``,
        ``time``, ``exec``, ``command``, ``nohup``) removed; ``env``'s
        assignments join :attr:`env`."""
        if self._unwrapped:
            return self
        first = self.name if self.name is not None else (self.args[0] if self.args else None)
        name = first.value if first is not None else None
        if name is None or name[name.rfind("/") + 1 :] not in _OPTS_WITH_ARG:
            object.__setattr__(self, "_unwrapped", True)
            return self
        words = list(self.words)
        env = list(self.env)
        i = 0
        while i < len(words):
            j = _skip_wrapper(words, i, env, self.guard)
            if j == i:
                break
            i = j
        if i == 0 or i >= len(words):
            object.__setattr__(self, "_unwrapped", True)
            return self
        return replace(self, name=words[i], args=tuple(words[i + 1 :]), env=tuple(env))


@record(slots=True)
class ArchProbe:
    """A command that asks the machine for its architecture."""

    kind: ProbeKind
    span: Span
    guard: Guard = EVERYWHERE


@record(slots=True)
class Script:
    """The parsed script.

    ``arch_mappings[var][arch]`` is the last arch-dependent value of ``var``
    (``case $TARGETARCH in amd64) ARCH=x86_64;;`` gives ``{"ARCH":
    {"amd64": "x86_64"}}``; ``ARCH=$(uname -m)`` gives x86_64/aarch64/...).
    """

    commands: tuple[Command, ...]
    assignments: tuple[Assignment, ...]
    arch_probes: tuple[ArchProbe, ...]
    arch_mappings: Mapping[str, Mapping[str, str]]
    errors: tuple[Span, ...] = field(default=())

    @property
    def has_errors(self) -> bool:
        return bool(self.errors)


# Options that take a separate argument, per wrapper.
_OPTS_WITH_ARG = {
    "sudo": frozenset({"-u", "-g", "-h", "-p", "-C", "-D", "-r", "-t", "-U", "-T", "-R"}),
    "env": frozenset({"-u", "-C", "-S", "--unset", "--chdir"}),
    "nice": frozenset({"-n", "--adjustment"}),
    "exec": frozenset({"-a"}),
    "time": frozenset({"-f", "-o", "--format", "--output"}),
    "nohup": frozenset(),
    "command": frozenset(),
}


def _skip_wrapper(words: list[Word], i: int, env: list[Assignment], guard: Guard) -> int:
    """Index of the word after the wrapper at ``words[i]``, or ``i`` if it is not one."""
    name = words[i].value
    if name is None:
        return i
    name = name[name.rfind("/") + 1 :]
    opts = _OPTS_WITH_ARG.get(name)
    if opts is None:
        return i
    j = i + 1
    while j < len(words):
        v = words[j].value
        if v is None or not v.startswith("-") or v == "-":
            break
        j += 1
        if v == "--":
            break
        if name == "command" and v in ("-v", "-V"):
            return i  # a lookup, not an invocation
        if v in opts:
            j += 1
    if name == "env":
        while j < len(words):
            assignment = _env_assignment(words[j], guard)
            if assignment is None:
                break
            env.append(assignment)
            j += 1
    return j if j < len(words) else i


def _env_assignment(word: Word, guard: Guard) -> Assignment | None:
    """``NAME=value`` given to ``env`` as an Assignment, if the name is literal."""
    if not word.literal_pieces:
        return None
    first, first_span = word.literal_pieces[0]
    if first_span.start != word.span.start:
        return None  # the word starts with a quote or an expansion
    eq = first.find("=")
    if eq <= 0 or not first[:eq].isidentifier():
        return None
    name = first[:eq]
    cut = first_span.start + eq + 1
    pieces = [(first[eq + 1 :], Span(cut, first_span.end))]
    pieces.extend(word.literal_pieces[1:])
    value = Word(
        text=word.text[eq + 1 :],
        value=None if word.value is None else word.value[eq + 1 :],
        span=Span(cut, word.span.end),
        literal_pieces=tuple(p for p in pieces if p[0]),
        expansions=word.expansions,
        per_arch=None
        if word.per_arch is None
        else {a: v[eq + 1 :] for a, v in word.per_arch.items()},
    )
    return Assignment(name, value, word.span, Span(word.span.start, cut - 1), guard)
