"""Tests for dockerarch.shell: words and spans, commands, arch guards, mappings."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockerarch.platforms import normalize_arch
from dockerarch.pysources import INSTALLER_MARKS
from dockerarch.shell import (
    ARCHES,
    EVERYWHERE,
    Command,
    Guard,
    ProbeKind,
    Script,
    Word,
    parse_script,
)
from dockerarch.shell.arch import APK_VALUES, DPKG_VALUES, UNAME_VALUES, sed_substitution
from dockerarch.shell.words import Offsets, Source
from dockerarch.syntax.positions import Segment, SourceMap, Span

T = ProbeKind.TARGET_ARG
U = ProbeKind.UNAME
D = ProbeKind.DPKG
A = ProbeKind.APK


def others(*archs: str) -> frozenset[str]:
    return ARCHES - set(archs)


def only(*archs: str) -> frozenset[str]:
    return frozenset(archs)


def command(script: Script, name: str, nth: int = 0) -> Command:
    found = [c for c in script.commands if c.name is not None and c.name.value == name]
    assert len(found) > nth, f"no command {name!r} in {[c.name for c in script.commands]}"
    return found[nth]


def joined(*lines: str, prefix: str = "RUN ") -> tuple[str, str, SourceMap]:
    """A Dockerfile RUN spread over continuation lines: (source, logical text, map)."""
    source = prefix
    logical = ""
    segments: list[Segment] = []
    for i, line in enumerate(lines):
        if i:
            source += "\\\n"
        segments.append(Segment(len(logical), len(source), len(line)))
        source += line
        logical += line
    return source, logical, SourceMap(segments)


def source_text(source: str, span: Span) -> str:
    return source[span.start : span.end]


# -- words and spans ---------------------------------------------------------


def test_words_identity_map_exact_spans() -> None:
    text = "echo hello  world"
    script = parse_script(text)
    (cmd,) = script.commands
    assert cmd.name is not None
    assert [(w.text, w.span) for w in cmd.words] == [
        ("echo", Span(0, 4)),
        ("hello", Span(5, 10)),
        ("world", Span(12, 17)),
    ]
    assert cmd.span == Span(0, 17)
    assert cmd.guard == EVERYWHERE
    assert not script.has_errors


def test_spans_shift_with_instruction_offset() -> None:
    source = "FROM x\nRUN apt-get install -y curl\n"
    start = source.index("apt-get")
    text = source[start:].rstrip("\n")
    script = parse_script(text, SourceMap.identity(start, len(text)))
    cmd = script.commands[0]
    assert [source_text(source, w.span) for w in cmd.words] == [
        "apt-get",
        "install",
        "-y",
        "curl",
    ]


def test_continuation_gap_maps_words_to_their_lines() -> None:
    source, logical, smap = joined("curl -fsSLo /tmp/x.tgz ", "    https://e.com/x-amd64.tgz")
    assert logical == "curl -fsSLo /tmp/x.tgz     https://e.com/x-amd64.tgz"
    cmd = parse_script(logical, smap).commands[0]
    for w in cmd.words:
        assert source_text(source, w.span) == w.text
    url = cmd.args[2]
    (hit,) = url.find("amd64")
    assert source_text(source, hit) == "amd64"
    assert source[hit.start - 2 : hit.start] == "x-"
    assert cmd.span == Span(source.index("curl"), len(source))


def test_word_split_by_continuation_has_one_piece_per_segment() -> None:
    source, logical, smap = joined("echo foo", "bar-amd64")
    cmd = parse_script(logical, smap).commands[0]
    word = cmd.args[0]
    assert word.value == "foobar-amd64"
    assert [p for p, _ in word.literal_pieces] == ["foo", "bar-amd64"]
    for piece, span in word.literal_pieces:
        assert source_text(source, span) == piece
    assert source_text(source, word.span) == "foo\\\nbar-amd64"
    (hit,) = word.find("amd64")
    assert source_text(source, hit) == "amd64"


@pytest.mark.parametrize(
    "prefix",
    ["", "é ", "日本語 ", "😀 ", "é😀日\t", "\u0301\u0301 "],
)
def test_unicode_before_word_maps_exactly(prefix: str) -> None:
    text = f"echo {prefix}x86_64 'ü-amd64' \"😀$V-arm64\""
    script = parse_script(text)
    words = script.commands[0].words
    for w in words:
        assert text[w.span.start : w.span.end] == w.text
        for piece, span in w.literal_pieces:
            assert text[span.start : span.end] == piece
    assert text[words[-1].find("arm64")[0].start :].startswith("arm64")
    assert words[-2].value == "ü-amd64"


@pytest.mark.parametrize(
    ("word", "value", "pieces", "expansions"),
    [
        ("plain", "plain", ["plain"], []),
        ("a\\ b", "a b", ["a\\ b"], []),
        ("'single $x'", "single $x", ["single $x"], []),
        ('"dq \\"q\\" \\$x"', 'dq "q" $x', ['dq \\"q\\" \\$x'], []),
        ('""', "", [], []),
        ("$'a\\tb\\x41'", "a\tbA", ["a\\tb\\x41"], []),
        ('"$x"', None, [], ["x"]),
        ("'a'\"b$c\"d", None, ["a", "b", "d"], ["c"]),
        (
            "https://x/$V/go${V}.linux-amd64.tar.gz",
            None,
            ["https://x/", "/go", ".linux-amd64.tar.gz"],
            ["V", "V"],
        ),
        ('"${TARGETARCH:-amd64}"', None, [], ["TARGETARCH"]),
        ("pre$(uname -m)post", None, ["pre", "post"], []),
        ("x`cmd`", None, ["x"], []),
        ("$((1+2))", None, [], []),
        ("~/bin", "~/bin", ["~/bin"], []),
    ],
)
def test_word_values_pieces_expansions(
    word: str, value: str | None, pieces: list[str], expansions: list[str]
) -> None:
    text = f"echo {word}"
    w = parse_script(text).commands[0].args[0]
    assert w.text == word
    assert w.value == value
    assert [p for p, _ in w.literal_pieces] == pieces
    assert list(w.expansions) == expansions
    for piece, span in w.literal_pieces:
        assert text[span.start : span.end] == piece


def test_find_locates_literal_inside_expanded_word() -> None:
    text = 'curl -o go.tgz "https://go.dev/dl/go${GO_VERSION}.linux-amd64.tar.gz"'
    w = parse_script(text).commands[0].args[2]
    assert w.value is None
    assert [text[s.start : s.end] for s in w.find("amd64")] == ["amd64"]
    assert w.find("") == []
    assert w.find("GO_VERSION") == []  # inside an expansion, not a literal


# -- commands ----------------------------------------------------------------


def test_prefix_assignments_become_env() -> None:
    text = "GOARCH=amd64 CGO_ENABLED=0 go build -o /out ./..."
    cmd = parse_script(text).commands[0]
    assert cmd.name is not None and cmd.name.value == "go"
    assert [(a.name, a.value.value) for a in cmd.env] == [("GOARCH", "amd64"), ("CGO_ENABLED", "0")]
    goarch = cmd.env[0]
    assert text[goarch.value.span.start : goarch.value.span.end] == "amd64"
    assert text[goarch.name_span.start : goarch.name_span.end] == "GOARCH"
    assert text[goarch.span.start : goarch.span.end] == "GOARCH=amd64"
    assert [a.value for a in cmd.args] == ["build", "-o", "/out", "./..."]
    assert parse_script(text).assignments == ()  # prefix assignments do not persist


@pytest.mark.parametrize(
    ("text", "name", "args", "env"),
    [
        ("sudo apt-get install -y x", "apt-get", ["install", "-y", "x"], []),
        ("sudo -u root -E apt-get update", "apt-get", ["update"], []),
        ("/usr/bin/sudo -- make", "make", [], []),
        ("env GOARCH=amd64 go build", "go", ["build"], ["GOARCH=amd64"]),
        ("env -i PATH=/bin CGO_ENABLED=0 go env", "go", ["env"], ["PATH=/bin", "CGO_ENABLED=0"]),
        ("sudo -E env GOOS=linux go build", "go", ["build"], ["GOOS=linux"]),
        ("nice -n 10 make -j4", "make", ["-j4"], []),
        ("time make", "make", [], []),
        ("time -p make all", "make", ["all"], []),
        ("exec gosu app server", "gosu", ["app", "server"], []),
        ("command go version", "go", ["version"], []),
        ("nohup sudo ./run.sh", "./run.sh", [], []),
        ("command -v go", "command", ["-v", "go"], []),
        ("sudo", "sudo", [], []),
        ("sudo -u root", "sudo", ["-u", "root"], []),
        ("apt-get update", "apt-get", ["update"], []),
    ],
)
def test_effective_strips_wrappers(text: str, name: str, args: list[str], env: list[str]) -> None:
    eff = parse_script(text).commands[0].effective()
    assert eff.name is not None and eff.name.value == name
    assert [a.value for a in eff.args] == args
    assert [f"{a.name}={a.value.value}" for a in eff.env] == env


def test_effective_env_assignment_spans() -> None:
    text = "sudo env GOARCH=arm64 go build"
    eff = parse_script(text).commands[0].effective()
    (goarch,) = eff.env
    assert text[goarch.value.span.start : goarch.value.span.end] == "arm64"
    assert text[goarch.name_span.start : goarch.name_span.end] == "GOARCH"
    assert [p for p, _ in goarch.value.literal_pieces] == ["arm64"]


def test_pipelines_lists_substitutions_and_redirects() -> None:
    text = (
        "curl -fsSL https://x/y.sh | sh -s -- -y && echo $(date) > /log 2>&1 extra; "
        "cat <<EOF > /f\nline $(uname -m)\nEOF\n"
        "tar -xz -f <(curl -s u)"
    )
    script = parse_script(text)
    names = [c.name.value if c.name else None for c in script.commands]
    assert names == ["curl", "sh", "echo", "date", "cat", "uname", "tar", "curl"]
    assert [c.in_substitution for c in script.commands] == [
        False,
        False,
        False,
        True,
        False,
        True,
        False,
        True,
    ]
    echo = command(script, "echo")
    assert [a.text for a in echo.args] == ["$(date)", "extra"]
    assert text[echo.span.start : echo.span.end].endswith("extra")


def test_declarations_record_assignments() -> None:
    text = 'export GOARCH=amd64 PATH="/go/bin:$PATH"; local x; readonly Y=1'
    script = parse_script(text)
    export = command(script, "export")
    assert [a.text for a in export.args] == ["GOARCH=amd64", 'PATH="/go/bin:$PATH"']
    assert [(a.name, a.value.value) for a in script.assignments] == [
        ("GOARCH", "amd64"),
        ("PATH", None),
        ("Y", "1"),
    ]
    goarch = script.assignments[0]
    assert text[goarch.value.span.start : goarch.value.span.end] == "amd64"


def test_assignment_forms() -> None:
    script = parse_script("A= B=(1 2) C+=x D='q'")
    assert [(a.name, a.value.value) for a in script.assignments] == [
        ("A", ""),
        ("B", "(1 2)"),
        ("C", "x"),
        ("D", "q"),
    ]


# -- guards ------------------------------------------------------------------

GUARDS: list[tuple[str, frozenset[str] | None, frozenset[ProbeKind]]] = [
    # no test
    ("x", None, frozenset()),
    ("y; x", None, frozenset()),
    # case on $TARGETARCH
    ('case "$TARGETARCH" in amd64) x;; esac', only("amd64"), frozenset({T})),
    ("case $TARGETARCH in arm64|aarch64) x;; esac", only("arm64"), frozenset({T})),
    ('case "${TARGETARCH}" in arm*) x;; esac', only("arm64", "arm"), frozenset({T})),
    ('case "$TARGETARCH" in amd64) y;; *) x;; esac', others("amd64"), frozenset({T})),
    (
        'case "$TARGETARCH" in x86_64|amd64) y;; arm64) z;; *) x;; esac',
        others("amd64", "arm64"),
        frozenset({T}),
    ),
    ('case "$TARGETARCH" in "amd64") y ;& arm64) x;; esac', only("amd64", "arm64"), frozenset({T})),
    (
        'case "$TARGETARCH" in a*) y ;;& *64) x;; esac',
        only("amd64", "arm64", "riscv64"),
        frozenset({T}),
    ),
    ('case "$TARGETARCH" in [a]md64) x;; esac', only("amd64"), frozenset({T})),
    ('case "${TARGETARCH:-amd64}" in arm64) x;; esac', only("arm64"), frozenset({T})),
    ('case "$TARGETPLATFORM" in linux/arm/*) x;; esac', only("arm"), frozenset({T})),
    ('case "${TARGETOS}/${TARGETARCH}" in linux/amd64) x;; esac', only("amd64"), frozenset({T})),
    # if / elif / else
    ('if [ "$TARGETARCH" = "amd64" ]; then x; fi', only("amd64"), frozenset({T})),
    ('if [ "$TARGETARCH" = "amd64" ]; then y; else x; fi', others("amd64"), frozenset({T})),
    (
        'if [ "$TARGETARCH" = amd64 ]; then y; elif [ "$TARGETARCH" = arm64 ]; then x; fi',
        only("arm64"),
        frozenset({T}),
    ),
    (
        'if [ "$TARGETARCH" = amd64 ]; then y; elif [ "$TARGETARCH" = arm64 ]; then z; else x; fi',
        others("amd64", "arm64"),
        frozenset({T}),
    ),
    ('if [ "$TARGETARCH" != "amd64" ]; then x; fi', others("amd64"), frozenset({T})),
    ('if [ "$TARGETPLATFORM" = "linux/arm64" ]; then x; fi', only("arm64"), frozenset({T})),
    ('if [ "$TARGETARCH" == arm64 ]; then x; fi', only("arm64"), frozenset({T})),
    # && / || / negation / test / [[ ]]
    ('[ "$TARGETARCH" = amd64 ] && x', only("amd64"), frozenset({T})),
    ('[ "$TARGETARCH" = amd64 ] || x', others("amd64"), frozenset({T})),
    ('[ ! "$TARGETARCH" = amd64 ] && x', others("amd64"), frozenset({T})),
    ('! [ "$TARGETARCH" = amd64 ] && x', others("amd64"), frozenset({T})),
    ('test "$TARGETARCH" = arm64 && x', only("arm64"), frozenset({T})),
    ('test "$TARGETARCH" != arm64 && x', others("arm64"), frozenset({T})),
    ('[[ "$TARGETARCH" == arm* ]] && x', only("arm64", "arm"), frozenset({T})),
    ('[[ $TARGETARCH == "arm*" ]] && x', only(), frozenset({T})),
    ("[[ $TARGETARCH =~ ^(amd|arm)64$ ]] && x", only("amd64", "arm64"), frozenset({T})),
    (
        '[ "$TARGETARCH" = amd64 -o "$TARGETARCH" = arm64 ] && x',
        only("amd64", "arm64"),
        frozenset({T}),
    ),
    ("[[ $TARGETARCH == amd64 || $TARGETARCH == 386 ]] && x", only("amd64", "386"), frozenset({T})),
    ('[ "$TARGETARCH" = amd64 ] && [ -f /x ] && x', only("amd64"), frozenset({T})),
    ('[ "$TARGETARCH" = arm64 ] && A=1 || x', others("arm64"), frozenset({T})),
    ('[ "$TARGETARCH" = amd64 ] && y || x', None, frozenset()),  # y may fail anywhere
    ('[ -z "$TARGETARCH" ] && x', only(), frozenset({T})),
    ('[ -n "${TARGETARCH}" ] && x', None, frozenset()),
    # runtime probes
    ('if [ "$(uname -m)" = "x86_64" ]; then x; fi', only("amd64"), frozenset({U})),
    ('[ "`uname -m`" = aarch64 ] && x', only("arm64"), frozenset({U})),
    ('[ "$(uname --machine)" = s390x ] && x', only("s390x"), frozenset({U})),
    ('[ "$(arch)" = aarch64 ] && x', only("arm64"), frozenset({U})),
    ('case "$(dpkg --print-architecture)" in armhf) x;; esac', only("arm"), frozenset({D})),
    ('case "$(apk --print-arch)" in x86_64) x;; esac', only("amd64"), frozenset({A})),
    ('[ "$(dpkg-architecture -qDEB_HOST_ARCH)" = arm64 ] && x', only("arm64"), frozenset({D})),
    ("if uname -m | grep -q aarch64; then x; fi", only("arm64"), frozenset({U})),
    (
        "if ! uname -m | grep -qE 'x86_64|i[36]86'; then x; fi",
        others("amd64", "386"),
        frozenset({U}),
    ),
    ('echo "$TARGETARCH" | grep -q arm && x', only("arm64", "arm"), frozenset({T})),
    # variables assigned from probes
    ('ARCH=$(uname -m); [ "$ARCH" = x86_64 ] && x', only("amd64"), frozenset({U})),
    ('arch="${TARGETARCH}"; case "$arch" in arm64) x;; esac', only("arm64"), frozenset({T})),
    ('export A="$TARGETARCH"; [ "$A" = arm64 ] && x', only("arm64"), frozenset({T})),
    (
        'dpkgArch="$(dpkg --print-architecture)"; case "${dpkgArch##*-}" in ppc64el) x;; esac',
        only("ppc64le"),
        frozenset({D}),
    ),
    (
        "A=$(dpkg --print-architecture | awk -F- '{ print $NF }'); [ \"$A\" = i386 ] && x",
        only("386"),
        frozenset({D}),
    ),
    (
        "A=$(uname -m | sed 's/x86_64/amd64/;s/aarch64/arm64/'); [ \"$A\" = amd64 ] && x",
        only("amd64"),
        frozenset({U}),
    ),
    ('P="${TARGETPLATFORM#linux/}"; [ "${P%%/*}" = arm ] && x', only("arm"), frozenset({T})),
    ('A="${TARGETARCH^^}"; [ "$A" = AMD64 ] && x', only("amd64"), frozenset({T})),
    (
        'case "$TARGETARCH" in amd64) A=x86_64;; arm64) A=aarch64;; esac; [ "$A" = aarch64 ] && x',
        only("arm64"),
        frozenset({T}),
    ),
    # nesting
    (
        'if [ "$TARGETARCH" != s390x ]; then case "$(uname -m)" in aarch64) x;; esac; fi',
        only("arm64"),
        frozenset({T, U}),
    ),
    (
        'case "$TARGETARCH" in arm*) if [ "$TARGETARCH" = arm ]; then y; else x; fi;; esac',
        only("arm64"),
        frozenset({T}),
    ),
    (
        'if [ "$TARGETARCH" = amd64 ]; then [ "$TARGETARCH" = arm64 ] && x; fi',
        only(),
        frozenset({T}),
    ),
    ('if [ "$TARGETARCH" = amd64 ]; then { ( x ); }; fi', only("amd64"), frozenset({T})),
    ('echo $(case "$TARGETARCH" in amd64) x;; esac)', only("amd64"), frozenset({T})),
    ('while [ "$TARGETARCH" = amd64 ]; do x; done', only("amd64"), frozenset({T})),
    ('until [ "$TARGETARCH" = amd64 ]; do x; done', others("amd64"), frozenset({T})),
    # early exits narrow what follows
    ('[ "$TARGETARCH" = amd64 ] || exit 0; x', only("amd64"), frozenset({T})),
    ('[ "$TARGETARCH" = amd64 ] && exit 0; x', others("amd64"), frozenset({T})),
    ('if [ "$TARGETARCH" != amd64 ]; then echo skip; exit 0; fi; x', only("amd64"), frozenset({T})),
    (
        'case "$TARGETARCH" in amd64|arm64) ;; *) echo >&2 unsupported; exit 1;; esac; x',
        only("amd64", "arm64"),
        frozenset({T}),
    ),
    ('[ "$TARGETARCH" = arm64 ] || { echo no; exit 1; }; x', only("arm64"), frozenset({T})),
    ("if [ -f /x ]; then exit 0; fi; x", None, frozenset()),
    # arch-independent tests leave the guard alone
    ('case "$1" in start) x;; esac', None, frozenset()),
    ("if [ -f /etc/alpine-release ]; then x; fi", None, frozenset()),
    ('[ "$DEBUG" = 1 ] && x', None, frozenset()),
    # constants are decided too
    ('ARCH=amd64; case "$ARCH" in arm64) x;; esac', only(), frozenset()),
    ('ARCH=amd64; case "$ARCH" in amd64) x;; esac', None, frozenset()),
]


@pytest.mark.parametrize(("text", "archs", "kinds"), GUARDS)
def test_guard(text: str, archs: frozenset[str] | None, kinds: frozenset[ProbeKind]) -> None:
    guard = command(parse_script(text), "x").guard
    assert guard.decided
    assert guard.archs == archs
    if archs is not None:
        assert guard.probe_kinds == kinds


UNDECIDED = [
    'case "$FOO" in amd64) x;; esac',
    'if [ "$ARCH" = "x86_64" ]; then x; fi',
    "[[ $ARCH == arm* ]] && x",
    'for a in amd64 arm64; do case "$a" in amd64) x;; esac; done',
    'case "$TARGETARCH" in $FOO) y;; amd64) x;; esac',
    'case "$TARGETARCH" in @(amd64|arm64)) x;; esac',
    'read ARCH; ARCH=amd64; read ARCH; [ "$ARCH" = amd64 ] && x',
    'if [ "$TARGETARCH" = amd64 ]; then ARCH=$(foo); fi; [ "$ARCH" = amd64 ] && x',
    'case "$FOO" in amd64) exit 0;; esac; x',
    '[ "$(uname -m)" -eq 1 ] && x',
]


@pytest.mark.parametrize("text", UNDECIDED)
def test_guard_undecided(text: str) -> None:
    guard = command(parse_script(text), "x").guard
    assert not guard.decided
    assert guard.runs_on("amd64") is None or guard.runs_on("amd64") is False


def test_undecided_inside_decided_keeps_upper_bound() -> None:
    text = 'if [ "$TARGETARCH" = amd64 ]; then case "$FOO" in arm64) x;; esac; fi'
    guard = command(parse_script(text), "x").guard
    assert guard == Guard(only("amd64"), False, frozenset({T}))
    assert guard.runs_on("arm64") is False
    assert guard.runs_on("amd64") is None


def test_guard_helpers() -> None:
    g = Guard(only("arm64"), True, frozenset({U}))
    assert g.runs_on("arm64") is True and g.runs_on("amd64") is False
    assert g.runtime_probe
    assert not Guard(only("arm64"), True, frozenset({T})).runtime_probe
    assert EVERYWHERE.runs_on("riscv64") is True


def test_commands_in_conditions_run_under_outer_guard() -> None:
    text = 'if [ "$TARGETARCH" = amd64 ]; then if check; then x; fi; fi'
    script = parse_script(text)
    assert command(script, "check").guard.archs == only("amd64")
    assert command(script, "x").guard.archs == only("amd64")


# -- docker-library idioms -----------------------------------------------------

GOLANG_LIKE = """\
set -eux; \
now="$(date '+%s')"; \
arch="$(dpkg --print-architecture)"; arch="${arch##*-}"; \
url=; \
case "$arch" in \
    'amd64') \
        url='https://dl.example/go/go1.22.1.linux-amd64.tar.gz'; \
        sha256='aaaa'; \
        ;; \
    'armel') \
        export GOARCH='arm' GOARM='5' GOOS='linux'; \
        ;; \
    'armhf') \
        url='https://dl.example/go/go1.22.1.linux-armv6l.tar.gz'; \
        ;; \
    'arm64') \
        url='https://dl.example/go/go1.22.1.linux-arm64.tar.gz'; \
        ;; \
    'i386') \
        url='https://dl.example/go/go1.22.1.linux-386.tar.gz'; \
        ;; \
    *) echo >&2 "error: unsupported architecture '$arch'"; exit 1 ;; \
esac; \
build=; \
if [ -z "$url" ]; then \
    build=1; \
    url='https://dl.example/go/go1.22.1.src.tar.gz'; \
    echo >&2; \
    echo >&2 "warning: current architecture ($arch) does not have a compatible Go binary release"; \
fi; \
wget -O go.tgz "$url" --progress=dot:giga; \
tar -C /usr/local -xzf go.tgz; \
rm go.tgz
"""


def test_golang_style_dockerfile() -> None:
    source = "FROM debian\nRUN " + GOLANG_LIKE
    start = source.index("set -eux")
    script = parse_script(GOLANG_LIKE, SourceMap.identity(start, len(GOLANG_LIKE)))
    assert not script.has_errors
    wget = command(script, "wget")
    # After `*) exit 1` only the listed architectures reach the download.
    assert wget.guard.archs == only("amd64", "arm", "arm64", "386")
    assert wget.guard.probe_kinds == frozenset({D})
    assert wget.guard.runtime_probe
    assert script.arch_mappings["url"] == {
        "amd64": "https://dl.example/go/go1.22.1.linux-amd64.tar.gz",
        # linux/arm is armhf (v6/v7) or armel (v5); the guard is per arch, not per variant
        "arm": "https://dl.example/go/go1.22.1.linux-armv6l.tar.gz",
        "arm64": "https://dl.example/go/go1.22.1.linux-arm64.tar.gz",
        "386": "https://dl.example/go/go1.22.1.linux-386.tar.gz",
    }
    export = command(script, "export")
    assert export.guard.archs == only("arm")
    assert [a.name for a in script.assignments if a.name.startswith("GO")] == [
        "GOARCH",
        "GOARM",
        "GOOS",
    ]
    (probe,) = script.arch_probes
    assert probe.kind is D
    assert source[probe.span.start : probe.span.end] == "dpkg --print-architecture"
    arch_assignment = next(a for a in script.assignments if a.name == "arch")
    assert arch_assignment.probe_kinds == frozenset({D})
    amd64_url = next(a for a in script.assignments if a.name == "url" and a.value.value)
    assert amd64_url.guard.archs == only("amd64")
    (hit,) = amd64_url.value.find("amd64")
    assert source[hit.start : hit.end] == "amd64"
    assert source[hit.start - 6 : hit.start] == "linux-"


NODE_LIKE = """\
ARCH= && dpkgArch="$(dpkg --print-architecture)" \
  && case "${dpkgArch##*-}" in \
    amd64) ARCH='x64';; \
    ppc64el) ARCH='ppc64le';; \
    s390x) ARCH='s390x';; \
    arm64) ARCH='arm64';; \
    armhf) ARCH='armv7l';; \
    i386) ARCH='x86';; \
    *) echo "unsupported architecture"; exit 1 ;; \
  esac \
  && curl -fsSLO --compressed "https://n.example/v$NODE_VERSION/node-linux-$ARCH.tar.xz" \
  && tar -xJf "node-v$NODE_VERSION-linux-$ARCH.tar.xz" -C /usr/local --strip-components=1
"""


def test_node_style_dockerfile() -> None:
    script = parse_script(NODE_LIKE)
    assert not script.has_errors
    assert script.arch_mappings["ARCH"] == {
        "amd64": "x64",
        "ppc64le": "ppc64le",
        "s390x": "s390x",
        "arm64": "arm64",
        "arm": "armv7l",
        "386": "x86",
    }
    curl = command(script, "curl")
    assert curl.guard.archs is None  # every arch dpkg can report is listed
    url = curl.args[2]
    assert url.per_arch is None  # $NODE_VERSION is unknown


ALPINE_LIKE = """\
apkArch="$(apk --print-arch)"; \
case "$apkArch" in \
  x86_64) tool_arch='amd64' ;; \
  aarch64) tool_arch='arm64' ;; \
  armhf|armv7) tool_arch='armv7' ;; \
  *) echo >&2 "unsupported: $apkArch"; exit 1 ;; \
esac; \
wget -O /usr/local/bin/gosu "https://example.org/gosu-$tool_arch"
"""


def test_alpine_style_dockerfile() -> None:
    script = parse_script(ALPINE_LIKE)
    wget = command(script, "wget")
    assert wget.guard.archs == only("amd64", "arm64", "arm")
    assert wget.guard.probe_kinds == frozenset({A})
    url = wget.args[2]
    assert url.per_arch == {
        "amd64": "https://example.org/gosu-amd64",
        "arm": "https://example.org/gosu-armv7",
        "arm64": "https://example.org/gosu-arm64",
    }
    assert [p.kind for p in script.arch_probes] == [A]


def test_target_arch_mapping_makes_download_per_arch() -> None:
    text = (
        'case "${TARGETARCH}" in amd64) ARCH=x86_64;; arm64) ARCH=aarch64;; '
        '*) echo "unsupported"; exit 1;; esac; '
        'curl -L "https://x/tool-${ARCH}.tgz" | tar xz'
    )
    script = parse_script(text)
    assert script.arch_mappings == {"ARCH": {"amd64": "x86_64", "arm64": "aarch64"}}
    curl = command(script, "curl")
    assert curl.guard.archs == only("amd64", "arm64")
    assert curl.args[1].per_arch == {
        "amd64": "https://x/tool-x86_64.tgz",
        "arm64": "https://x/tool-aarch64.tgz",
    }
    assignment = script.assignments[0]
    assert assignment.guard.archs == only("amd64")
    assert assignment.probe_kinds == frozenset({T})


@pytest.mark.parametrize(
    ("text", "mapping"),
    [
        (
            'if [ "$TARGETARCH" = arm64 ]; then A=aarch64; else A=x86_64; fi',
            {a: "aarch64" if a == "arm64" else "x86_64" for a in sorted(ARCHES)},
        ),
        (
            '[ "$TARGETARCH" = arm64 ] && A=aarch64 || A=x86_64',
            {a: "aarch64" if a == "arm64" else "x86_64" for a in sorted(ARCHES)},
        ),
        (
            "ARCH=$(uname -m)",
            {
                "amd64": "x86_64",
                "arm64": "aarch64",
                "ppc64le": "ppc64le",
                "s390x": "s390x",
                "riscv64": "riscv64",
            },
        ),
        ('A="$TARGETARCH"', {a: a for a in ARCHES}),
        ("A=1", None),
        ('case "$FOO" in amd64) A=1;; esac', None),
    ],
)
def test_arch_mappings(text: str, mapping: dict[str, str] | None) -> None:
    assert parse_script(text).arch_mappings.get("A" if "A=" in text else "ARCH") == mapping


def test_arch_probes_listed_with_kind_and_span() -> None:
    text = "A=$(uname -m); dpkg --print-architecture; apk --print-arch; arch; uname -a; B=`arch`"
    script = parse_script(text)
    probes = [(p.kind, text[p.span.start : p.span.end]) for p in script.arch_probes]
    assert probes == [
        (U, "uname -m"),
        (D, "dpkg --print-architecture"),
        (A, "apk --print-arch"),
        (U, "arch"),
        (U, "arch"),
    ]
    assert [a.probe_kinds for a in script.assignments] == [frozenset({U}), frozenset({U})]


def test_probe_vocabularies_normalise_to_their_arch() -> None:
    for table in (UNAME_VALUES, DPKG_VALUES, APK_VALUES):
        assert set(table) == ARCHES
        for arch, values in table.items():
            assert any(normalize_arch(v) == arch for v in values), (arch, values)
            assert all(normalize_arch(v) in (arch, None) for v in values)


# -- long and broken scripts ----------------------------------------------------


def test_heredoc_like_script_with_many_lines() -> None:
    lines = ["set -eux"]
    for i in range(200):
        lines.append(f'echo "step {i}" && touch /tmp/f{i}')
    lines.append('if [ "$TARGETARCH" = arm64 ]; then')
    lines.append("  apt-get install -y gcc-aarch64-linux-gnu")
    lines.append("fi")
    text = "\n".join(lines) + "\n"
    script = parse_script(text, SourceMap.identity(1000, len(text)))
    assert len(script.commands) == 1 + 400 + 1
    apt = command(script, "apt-get")
    assert apt.guard.archs == only("arm64")
    assert text[apt.span.start - 1000 : apt.span.end - 1000] == (
        "apt-get install -y gcc-aarch64-linux-gnu"
    )
    assert command(script, "touch", 150).args[0].value == "/tmp/f150"


@pytest.mark.parametrize(
    "text",
    [
        "if then fi",
        'echo "unterminated',
        "case x in",
        "echo ok; if; echo after",
        "$(",
        "((",
        "a && || b",
        "cat <<EOF\nno end",
        "\x00\x01",
    ],
)
def test_syntax_errors_do_not_raise(text: str) -> None:
    script = parse_script(text)
    assert script.has_errors
    for err in script.errors:
        assert 0 <= err.start <= err.end <= len(text)


def test_partial_parse_keeps_commands() -> None:
    script = parse_script("echo ok; if; echo after")
    assert script.has_errors
    assert command(script, "echo").args[0].value == "ok"


@pytest.mark.parametrize("depth", [500, 3000])
def test_deep_nesting_does_not_crash(depth: int) -> None:
    subst = "echo " + "$(echo " * depth + "x" + ")" * depth
    assert len(parse_script(subst).commands) == depth + 1
    ifs = 'if [ "$TARGETARCH" = amd64 ]; then ' * depth + "x" + "; fi" * depth
    assert command(parse_script(ifs), "x").guard.archs == only("amd64")
    chain = " && ".join(['[ "$TARGETARCH" = arm64 ]', *["y"] * depth, "x"])
    assert command(parse_script(chain), "x").guard.archs == only("arm64")
    braces = "{ " * depth + "x; " + "}; " * depth
    assert command(parse_script(braces), "x").guard == EVERYWHERE
    tests = "[ " + "( " * depth + '"$TARGETARCH" = amd64' + " )" * depth + " ] && x"
    parse_script(tests)  # too deep to evaluate: must simply not raise


def test_large_script_parses() -> None:
    # How fast is bench/run.py's business (0.8 MB against 8 MB); this checks the result.
    block = GOLANG_LIKE + "\n" + NODE_LIKE + "\n"
    copies = 200_000 // len(block)
    script = parse_script(block * copies)
    assert len(script.commands) == copies * len(parse_script(block).commands)


# -- properties ------------------------------------------------------------------

SHELLISH = st.text(
    alphabet=st.sampled_from(
        list(" \t\n;|&$(){}[]<>'\"`\\=*?#!-_/.:%^,~@") + list("aAmd64xuné😀日\x00") + ["\r"]
    ),
    max_size=120,
)
ANY_TEXT = st.one_of(SHELLISH, st.text(max_size=80))


def _all_words(script: Script) -> list[Word]:
    words: list[Word] = []
    for cmd in script.commands:
        words.extend(cmd.words)
        words.extend(a.value for a in cmd.env)
        eff = cmd.effective()
        words.extend(eff.words)
        words.extend(a.value for a in eff.env)
    words.extend(a.value for a in script.assignments)
    return words


def _all_spans(script: Script) -> list[Span]:
    spans: list[Span] = list(script.errors)
    spans.extend(cmd.span for cmd in script.commands)
    for a in script.assignments:
        spans.extend((a.span, a.name_span))
    spans.extend(p.span for p in script.arch_probes)
    for w in _all_words(script):
        spans.append(w.span)
        spans.extend(s for _, s in w.literal_pieces)
    return spans


@settings(max_examples=300, deadline=None)
@given(text=ANY_TEXT, offset=st.integers(0, 50))
def test_property_identity_map(text: str, offset: int) -> None:
    source = "#" * offset + text
    script = parse_script(text, SourceMap.identity(offset, len(text)))
    for span in _all_spans(script):
        assert offset <= span.start <= span.end <= offset + len(text)
    # Every word's literal pieces are stretches of the source (rules skip a RUN whose source
    # cannot hold what they look for in pieces).
    for w in _all_words(script):
        for piece, span in w.literal_pieces:
            assert source[span.start : span.end] == piece


@settings(max_examples=300, deadline=None)
@given(chunks=st.lists(ANY_TEXT, min_size=1, max_size=5))
def test_property_gappy_map(chunks: list[str]) -> None:
    source, logical, smap = joined(*chunks)
    script = parse_script(logical, smap)
    lo = smap.segments[0].source
    hi = smap.segments[-1].source + smap.segments[-1].length
    for span in _all_spans(script):
        assert lo <= span.start <= span.end <= hi
    # Every word's literal pieces are stretches of the source (rules skip a RUN whose source
    # cannot hold what they look for in pieces), and of the word's text (paths.word_hits
    # skips a word whose text cannot).
    for w in _all_words(script):
        for piece, span in w.literal_pieces:
            assert source[span.start : span.end] == piece
            assert piece in w.text


@settings(max_examples=200, deadline=None)
@given(chunks=st.lists(st.text(max_size=10), min_size=1, max_size=6), data=st.data())
def test_property_fast_span_mapping_matches_source_map(
    chunks: list[str], data: st.DataObject
) -> None:
    _, logical, smap = joined(*chunks)
    src = Source(logical, smap)
    a = data.draw(st.integers(0, len(logical)))
    b = data.draw(st.integers(a, len(logical)))
    assert src.span(a, b) == smap.span_to_source(a, b)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=60))
def test_property_byte_offsets_to_str_offsets(text: str) -> None:
    offsets = Offsets(text)
    byte = 0
    for i, ch in enumerate(text):
        assert offsets.char(byte) == i
        cp = ord(ch)
        byte += 1 if cp < 0x80 else 2 if cp < 0x800 else 3 if cp < 0x10000 else 4
    assert offsets.char(byte) == len(text)


def test_characters_that_crash_tree_sitter_bash_never_reach_it() -> None:
    # tree-sitter-bash 0.25 crashes, more often than not, on `{` and a character from
    # the tag or private-use planes. Run in child processes: a crash then fails this
    # test, not the whole run.
    script = (
        "from dockerarch.shell.parse import parse_script\n"
        "for text in ('{\\U00107b1d', '{\\U000e0001 x', 'echo {\\U000f0000}'):\n"
        "    for _ in range(20):\n"
        "        parse_script(text)\n"
    )
    for _ in range(5):
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]


def test_high_plane_characters_keep_their_spans() -> None:
    text = "echo \U00107b1d-amd64 x"
    (cmd,) = parse_script(text).commands
    word = cmd.words[1]
    assert word.value == "\U00107b1d-amd64"
    assert text[word.span.start : word.span.end] == "\U00107b1d-amd64"


@pytest.mark.parametrize(
    ("cmd", "parts"),
    [
        ("s/x86_64/amd64/", ("x86_64", "amd64", "")),
        ("s,aarch64,arm64,g", ("aarch64", "arm64", "g")),
        ("s/a\\/b/c/I", ("a\\/b", "c", "I")),
        ("s|-.*||", ("-.*", "", "")),
        ("s/a/b/gx", None),
        ("s/a/b", None),
        ("y/ab/cd/", None),
    ],
)
def test_sed_substitution(cmd: str, parts: tuple[str, str, str] | None) -> None:
    assert sed_substitution(cmd) == parts


@pytest.mark.parametrize(
    ("script", "program"),
    [
        ("/usr/local/go/bin/go build", "go"),
        ("go build", "go"),
        ('"$GO" build', None),
        ("./configure", "configure"),
    ],
)
def test_program_is_the_base_name_of_a_known_command_name(script: str, program: str | None) -> None:
    (cmd,) = parse_script(script, SourceMap.identity(0, len(script))).commands
    assert cmd.program == program


def test_a_command_without_a_name_has_no_program() -> None:
    assert Command(None, (), (), Span(0, 0)).program is None


# Spellings that hide a needle from the script text (quotes, escapes, ANSI-C strings) drawn
# as often as everything else, so the examples keep testing the bail-outs.
_HIDDEN = st.sampled_from(
    [
        *('"n"pm', "'ya'rn", "n\\pm", "$'\\x6epm'", 'y"a"rn', "'qemu'-aarch64", 'dock"er"'),
        *("binfmt'_'misc", "do\\cker", "q\\emu-x86_64", "$'docker'", "X=n'pm'"),
        *("p'i'p", '"py"thon3', "u\\v", "$'poetry'", '/usr/bin/p"ip"3'),
    ]
)
_PLAIN = st.sampled_from(
    [
        *("npm", "yarn", "install", "X=npm", "qemu-x86_64", "/usr/bin/docker", "update-binfmts"),
        *("run", "/proc/sys/fs/binfmt_misc/register", "echo", "&&", ";", "|", "$X", "${T}"),
        *("\\\n", "\n", "'", '"', " ", "(", ")", "$(", "`", "#", "<<EOF", "env", "sudo"),
        *("pip", "python3", "-m", "uv", "poetry", "pipenv", "/opt/venv/bin/pip"),
    ]
)
_NEEDLES = [
    ("npm", "yarn"),
    ("qemu-", "update-binfmts", "binfmt_misc", "docker", "podman"),
    INSTALLER_MARKS,
]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(_HIDDEN, _PLAIN), max_size=12).map(" ".join),
    st.booleans(),
    st.sampled_from(_NEEDLES),
)
def test_may_hold_says_no_only_when_no_word_holds_a_needle(
    script: str, heredoc: bool, needles: tuple[str, ...]
) -> None:
    from dockerarch.model import build_model
    from dockerarch.runscripts import may_hold
    from dockerarch.syntax import parse

    text = f"FROM x\nRUN <<EOF\n{script}\nEOF\n" if heredoc else f"FROM x\nRUN {script}\n"
    tree = parse(text)
    model = build_model(tree)
    for ins in tree.instructions:
        if ins.name != "RUN" or may_hold(ins, needles):
            continue
        for s in model.scripts(ins):
            for cmd in (c for raw in s.commands for c in (raw, raw.effective())):
                words = [w.value if w.value is not None else w.text for w in cmd.words]
                words += [p for w in cmd.words for p, _ in w.literal_pieces]
                words += [f"{a.name}={a.value.value or ''}" for a in cmd.env]
                words += [cmd.program or ""]
                assert not any(n in w for w in words for n in needles), words
            for a in s.assignments:
                assert not any(n in f"{a.name}={a.value.value}" for n in needles)


def test_threads_parse_with_parsers_of_their_own() -> None:
    # The language server checks on several threads; a tree-sitter Parser is not shared.
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from dockerarch.shell.parse import bash_parser, parse_script

    scripts = [f'case "$TARGETARCH" in amd64) A={i};; esac && curl -O "x-$A"' for i in range(40)]
    alone = [parse_script(s) for s in scripts]
    together = Barrier(4)

    def parse_all(_: int) -> tuple[int, list[object]]:
        together.wait()  # four threads alive at once: no thread id is reused
        return id(bash_parser()), [parse_script(s) for s in scripts]

    with ThreadPoolExecutor(4) as pool:
        done = list(pool.map(parse_all, range(4)))
    assert len({parser for parser, _ in done}) == 4
    assert all(parsed == alone for _, parsed in done)


@given(st.lists(st.text("ab ", max_size=6), min_size=1, max_size=5), st.data())
def test_one_segment_shift_is_what_pieces_and_span_give(
    lines: list[str], data: st.DataObject
) -> None:
    """plain_word's fast path: a stretch in one segment of the map is one piece, moved by
    that segment's shift; across a continuation, shift_of declines."""
    _, logical, smap = joined(*lines)
    src = Source(logical, smap)
    start = data.draw(st.integers(0, len(logical)))
    end = data.draw(st.integers(start, len(logical)))
    shift = src.shift_of(start, end)
    if shift is None or start == end:
        return
    span = Span(start + shift, end + shift)
    assert src.pieces(start, end) == [(logical[start:end], span)]
    assert src.span(start, end) == span
