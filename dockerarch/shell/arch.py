"""Architecture-dependent values and the tests that branch on them.

A value that depends on the architecture is modelled as a function from each
TARGETARCH to the set of strings it can take there (``Sym``): ``$(uname -m)``
is ``{amd64: {x86_64}, arm64: {aarch64}, arm: {armv7l, ...}, ...}``. Shell
operations (``${v##*-}``, ``| sed s/x86_64/amd64/``) map over those strings, and
a test (``case`` pattern, ``[ "$v" = amd64 ]``) becomes a ``Pred``: the
architectures on which it may be true and those on which it may be false.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence

from dockerarch.lazyre import lazy_compile
from dockerarch.records import record
from dockerarch.shell.model import ARCHES, ProbeKind
from dockerarch.shell.words import Source

TYPE_CHECKING = False
if TYPE_CHECKING:
    import tree_sitter as ts


def _table(rows: Mapping[str, tuple[str, ...]]) -> dict[str, frozenset[str]]:
    return {arch: frozenset(values) for arch, values in rows.items()}


# What each probe prints on each target. Where the answer depends on the host
# (32-bit arm under a 64-bit kernel reports armv8l) every known answer is listed.
TARGETARCH_VALUES = _table({a: (a,) for a in ARCHES})
TARGETPLATFORM_VALUES = _table(
    {
        "amd64": ("linux/amd64",),
        "arm64": ("linux/arm64", "linux/arm64/v8"),
        "arm": ("linux/arm/v7", "linux/arm/v6", "linux/arm/v5"),
        "386": ("linux/386",),
        "ppc64le": ("linux/ppc64le",),
        "s390x": ("linux/s390x",),
        "riscv64": ("linux/riscv64",),
    }
)
UNAME_VALUES = _table(
    {
        "amd64": ("x86_64",),
        "arm64": ("aarch64",),
        "arm": ("armv7l", "armv6l", "armv8l"),
        "386": ("i686", "i386"),
        "ppc64le": ("ppc64le",),
        "s390x": ("s390x",),
        "riscv64": ("riscv64",),
    }
)
DPKG_VALUES = _table(
    {
        "amd64": ("amd64",),
        "arm64": ("arm64",),
        "arm": ("armhf", "armel"),
        "386": ("i386",),
        "ppc64le": ("ppc64el",),
        "s390x": ("s390x",),
        "riscv64": ("riscv64",),
    }
)
APK_VALUES = _table(
    {
        "amd64": ("x86_64",),
        "arm64": ("aarch64",),
        "arm": ("armv7", "armhf"),
        "386": ("x86",),
        "ppc64le": ("ppc64le",),
        "s390x": ("s390x",),
        "riscv64": ("riscv64",),
    }
)
PROBE_VALUES = {
    ProbeKind.UNAME: UNAME_VALUES,
    ProbeKind.DPKG: DPKG_VALUES,
    ProbeKind.APK: APK_VALUES,
}

# Every spelling any probe prints: a pattern matching one of these is about
# the architecture even when the tested variable is unknown.
SPELLINGS = frozenset(
    v
    for table in (TARGETARCH_VALUES, TARGETPLATFORM_VALUES, UNAME_VALUES, DPKG_VALUES, APK_VALUES)
    for values in table.values()
    for v in values
)
_NOT_AN_ARCH = "\x00"  # matched only by patterns that match anything

_MAX_VALUES = 32  # per arch; beyond this a value is treated as unknown


@record(slots=True)
class Sym:
    """A value per architecture; ``kinds`` empty means it does not depend on one."""

    values: Mapping[str, frozenset[str]]
    kinds: frozenset[ProbeKind] = frozenset()

    @classmethod
    def const(cls, value: str) -> Sym:
        one = frozenset((value,))
        return cls(dict.fromkeys(ARCHES, one))

    @classmethod
    def probe(cls, kind: ProbeKind, table: Mapping[str, frozenset[str]]) -> Sym:
        return cls(table, frozenset((kind,)))

    def map(self, f: Callable[[str], str | None]) -> Sym | None:
        out: dict[str, frozenset[str]] = {}
        for arch, values in self.values.items():
            mapped = {f(v) for v in values}
            if None in mapped:
                return None
            out[arch] = frozenset(m for m in mapped if m is not None)
        return Sym(out, self.kinds)

    def per_arch(self) -> dict[str, str]:
        """The single non-empty value on each arch that has exactly one."""
        out: dict[str, str] = {}
        for arch in sorted(self.values):
            values = self.values[arch]
            if len(values) == 1:
                (v,) = values
                if v:
                    out[arch] = v
        return out


EMPTY = Sym.const("")
TARGET_SYMS = {
    "TARGETARCH": Sym.probe(ProbeKind.TARGET_ARG, TARGETARCH_VALUES),
    "TARGETPLATFORM": Sym.probe(ProbeKind.TARGET_ARG, TARGETPLATFORM_VALUES),
    "TARGETOS": Sym.const("linux"),
}


def concat(parts: Iterable[Sym]) -> Sym | None:
    values = {a: frozenset(("",)) for a in ARCHES}
    kinds: frozenset[ProbeKind] = frozenset()
    for part in parts:
        kinds |= part.kinds
        for a in ARCHES:
            combined = frozenset(x + y for x in values[a] for y in part.values[a])
            if len(combined) > _MAX_VALUES:
                return None
            values[a] = combined
    return Sym(values, kinds)


@record(slots=True)
class Pred:
    """A test's outcome: arches where it may be true, arches where it may be false."""

    true: frozenset[str]
    false: frozenset[str]
    decided: bool = True
    kinds: frozenset[ProbeKind] = frozenset()

    def negate(self) -> Pred:
        return Pred(self.false, self.true, self.decided, self.kinds)

    def conj(self, other: Pred) -> Pred:
        return Pred(
            self.true & other.true,
            self.false | other.false,
            self.decided and other.decided,
            self.kinds | other.kinds,
        )

    def disj(self, other: Pred) -> Pred:
        return Pred(
            self.true | other.true,
            self.false & other.false,
            self.decided and other.decided,
            self.kinds | other.kinds,
        )


NONE: frozenset[str] = frozenset()
NEUTRAL = Pred(ARCHES, ARCHES)  # depends on something other than the arch
TRUE = Pred(ARCHES, NONE)
FALSE = Pred(NONE, ARCHES)
UNDECIDED = Pred(ARCHES, ARCHES, decided=False)


def match(sym: Sym, test: Callable[[str], bool]) -> Pred:
    true: set[str] = set()
    false: set[str] = set()
    for arch, values in sym.values.items():
        for v in values:
            (true if test(v) else false).add(arch)
    return Pred(frozenset(true), frozenset(false), True, sym.kinds)


def unknown(arch_related: bool, kinds: frozenset[ProbeKind] = frozenset()) -> Pred:
    return Pred(ARCHES, ARCHES, not arch_related, kinds)


def is_archy(value: str) -> bool:
    return value in SPELLINGS or value.lower() in SPELLINGS


def pattern_is_archy(rx: re.Pattern[str]) -> bool:
    return not rx.fullmatch(_NOT_AN_ARCH) and any(rx.fullmatch(s) for s in SPELLINGS)


def probe_kind(words: list[str | None]) -> ProbeKind | None:
    """The probe a command is (``uname -m``, ``dpkg --print-architecture``...)."""
    if not words or words[0] is None:
        return None
    name = words[0].rsplit("/", 1)[-1]
    args = words[1:]
    if (name == "uname" and args in (["-m"], ["--machine"])) or (name == "arch" and not args):
        return ProbeKind.UNAME
    if name == "dpkg" and args == ["--print-architecture"]:
        return ProbeKind.DPKG
    if name == "dpkg-architecture" and "".join(a or "?" for a in args) in (
        "-qDEB_HOST_ARCH",
        "--queryDEB_HOST_ARCH",
        "-qDEB_BUILD_ARCH",
    ):
        return ProbeKind.DPKG
    if name == "apk" and args == ["--print-arch"]:
        return ProbeKind.APK
    return None


def strip_function(rx: re.Pattern[str], prefix: bool, longest: bool) -> Callable[[str], str]:
    """``${v#pat}`` (prefix, shortest) and its three siblings."""

    def apply(v: str) -> str:
        n = len(v)
        for k in range(n, -1, -1) if longest else range(n + 1):
            part = v[:k] if prefix else v[n - k :]
            if rx.fullmatch(part):
                return v[k:] if prefix else v[: n - k]
        return v

    return apply


def bre_to_python(pattern: str, extended: bool) -> str | None:
    """A grep/sed regular expression in Python syntax (common subset only)."""
    if extended:
        return pattern
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            out.append(nxt if nxt in "|(){}+?" else "\\" + nxt)
            i += 2
            continue
        out.append("\\" + c if c in "|(){}+?" else c)
        i += 1
    return "".join(out)


def _compile(pattern: str | None, flags: int = 0) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    try:
        return re.compile(pattern, flags)
    except (re.error, OverflowError, RecursionError):
        return None


def grep_test(args: Sequence[str | None]) -> Callable[[str], bool] | None:
    """``grep [-qiEFwx] PATTERN`` as a line test."""
    pattern: str | None = None
    flags = 0
    extended = fixed = word = whole = False
    i = 0
    while i < len(args):
        a = args[i]
        if a is None:
            return None
        if a == "-e" and i + 1 < len(args):
            pattern = args[i + 1]
            i += 2
            continue
        if a.startswith("-") and len(a) > 1 and pattern is None:
            for ch in a[1:]:
                if ch == "i":
                    flags |= re.I
                elif ch == "E":
                    extended = True
                elif ch == "F":
                    fixed = True
                elif ch == "w":
                    word = True
                elif ch == "x":
                    whole = True
                elif ch not in "qs":
                    return None
        elif pattern is None:
            pattern = a
        else:
            return None  # a file operand: grep is not reading the pipe
        i += 1
    if pattern is None:
        return None
    body = re.escape(pattern) if fixed else bre_to_python(pattern, extended)
    if body is not None and word:
        body = rf"\b(?:{body})\b"
    rx = _compile(body, flags)
    if rx is None:
        return None
    if whole:
        return lambda v: rx.fullmatch(v) is not None
    return lambda v: rx.search(v) is not None


_SED_FLAGS = lazy_compile(r"[gIi]*")
_AWK_PRINT = lazy_compile(r"\{\s*print\s+\$(NF|\d+)\s*;?\s*\}")


def sed_substitution(cmd: str) -> tuple[str, str, str] | None:
    """``(pattern, replacement, flags)`` of ``s/pat/rep/flags``; None for anything else.

    Scanned by hand: a regular expression with two lazy groups each ended by the
    delimiter takes quadratic time on a script full of delimiters.
    """
    if len(cmd) < 2 or cmd[0] != "s":
        return None
    delim = cmd[1]
    fields: list[str] = []
    start = i = 2
    while len(fields) < 2:
        if i >= len(cmd):
            return None
        ch = cmd[i]
        if ch == "\\" and i + 1 < len(cmd):
            i += 2  # an escaped character, the delimiter included
            continue
        if ch == delim:
            fields.append(cmd[start:i])
            start = i + 1
        i += 1
    flags = cmd[start:]
    if not _SED_FLAGS.fullmatch(flags):
        return None
    return fields[0], fields[1], flags


def _sed(args: list[str | None]) -> Callable[[str], str | None] | None:
    scripts: list[str] = []
    extended = False
    i = 0
    while i < len(args):
        a = args[i]
        if a is None:
            return None
        if a in ("-E", "-r"):
            extended = True
        elif a == "-e" and i + 1 < len(args):
            i += 1
            nxt = args[i]
            if nxt is None:
                return None
            scripts.append(nxt)
        elif a.startswith("-"):
            return None
        elif not scripts:
            scripts.append(a)
        else:
            return None
        i += 1
    steps: list[tuple[re.Pattern[str], str, int]] = []
    for script in scripts:
        for cmd in script.split(";"):
            cmd = cmd.strip()
            if not cmd:
                continue
            parts = sed_substitution(cmd)
            if parts is None:
                return None
            pat, rep, fl = parts
            rx = _compile(bre_to_python(pat, extended), re.I if "I" in fl or "i" in fl else 0)
            if rx is None:
                return None
            rep = re.sub(r"\\(\d)", r"\\g<\1>", rep.replace("\\&", "\x00"))
            rep = rep.replace("&", r"\g<0>").replace("\x00", "&")
            steps.append((rx, rep, 0 if "g" in fl else 1))

    def apply(v: str) -> str | None:
        for rx, rep, count in steps:
            try:
                v = rx.sub(rep, v, count=count)
            except (re.error, IndexError):
                return None
        return v

    return apply


def _awk(args: list[str | None]) -> Callable[[str], str | None] | None:
    sep: str | None = None
    program: str | None = None
    i = 0
    while i < len(args):
        a = args[i]
        if a is None:
            return None
        if a == "-F" and i + 1 < len(args):
            i += 1
            sep = args[i]
        elif a.startswith("-F"):
            sep = a[2:]
        elif program is None:
            program = a
        else:
            return None
        i += 1
    m = _AWK_PRINT.fullmatch(program.strip()) if program else None
    if m is None or sep == "":
        return None
    field = m.group(1)

    def apply(v: str) -> str | None:
        fields = v.split() if sep is None else v.split(sep)
        if field == "NF":
            return fields[-1] if fields else ""
        n = int(field)
        return v if n == 0 else fields[n - 1] if n <= len(fields) else ""

    return apply


def filter_function(words: list[str | None]) -> Callable[[str], str | None] | None:
    """The effect of a pipeline filter on one line of input, if we model it."""
    if not words or words[0] is None:
        return None
    name, args = words[0], words[1:]
    if name == "sed":
        return _sed(args)
    if name == "awk":
        return _awk(args)
    if name in ("xargs", "cat") and not args:
        return lambda v: v
    if name == "tr" and args in (["-d", "\n"], ["-d", "\\n"], ["-d", "\r\n"]):
        return lambda v: v
    return None


def expansion_op(src: Source, node: ts.Node) -> tuple[str | None, str | None, list[ts.Node]] | None:
    """``${name OP operand}`` as (name, op, operand nodes); None for forms we skip."""
    name: str | None = None
    op: str | None = None
    operand: list[ts.Node] = []
    for k in node.children:
        t = k.type
        if t in ("${", "}"):
            continue
        if name is None:
            if t not in ("variable_name", "special_variable_name"):
                return None  # ${#v}, ${!ref}
            name = src.node_text(k)
        elif op is None:
            op = t
        else:
            operand.append(k)
    return name, op, operand
