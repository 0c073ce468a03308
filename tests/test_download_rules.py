"""DA301 (hard-coded-arch-download) and the download naming knowledge behind its fixes."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pytest
from dockerarch_rules import downloads
from hypothesis import given
from hypothesis import strategies as st

from dockerarch.diagnostics import Applicability, Diagnostic, Severity
from dockerarch.engine import Settings, check_text
from dockerarch.fixer import apply_edits
from dockerarch.knowledge.archnames import (
    arch_tokens,
    find_amd64_tokens,
    names_other_os,
    naming_for,
)
from dockerarch.platforms import Platform
from dockerarch.syntax import parse
from tests.test_fixtures import CASES, Case, check_case

GO = "https://go.dev/dl/go1.22.0.linux-amd64.tar.gz"
NODE = "https://nodejs.org/dist/v20.11.0/node-v20.11.0-linux-x64.tar.xz"


def da301(text: str, platforms: tuple[Platform, ...] | None = None) -> list[Diagnostic]:
    settings = Settings(select=("DA301",))
    if platforms is not None:
        settings.platforms = platforms
    return [d for d in check_text(text, settings).diagnostics if d.code == "DA301"]


def fixed(text: str, diags: Sequence[Diagnostic]) -> str:
    edits = [
        e
        for d in diags
        if d.fix is not None and d.fix.applicability is not Applicability.DISPLAY_ONLY
        for e in d.fix.edits
    ]
    return apply_edits(text, edits)


def flagged_text(text: str, diag: Diagnostic) -> str:
    return text[diag.span.start : diag.span.end]


# -- knowledge ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "token", "arm64"),
    [
        (GO, "amd64", "arm64"),
        (NODE, "x64", "arm64"),
        ("https://awscli.amazonaws.com/awscli-exe-linux-x86_64.zip", "x86_64", "aarch64"),
        (
            "https://github.com/protocolbuffers/protobuf/releases/download/v25.1/"
            "protoc-25.1-linux-x86_64.zip",
            "x86_64",
            "aarch_64",
        ),
        ("https://dl.k8s.io/release/v1.29.0/bin/linux/amd64/kubectl", "amd64", "arm64"),
        ("/tmp/bat_0.24.0_amd64.deb", "amd64", "arm64"),
        ("https://example.com/pkgs/foo-1.0-1.el9.x86_64.rpm", "x86_64", "aarch64"),
    ],
)
def test_arch_tokens_of_known_downloads(url: str, token: str, arm64: str) -> None:
    assert arch_tokens(url, token) == {"amd64": token, "arm64": arm64}


def test_every_naming_pattern_compiles() -> None:
    # Compiled on first use at run time: a broken one must fail here, not in a user's check.
    from dockerarch.knowledge.archnames import _rows

    for row in _rows():
        re.compile(row.pattern, re.IGNORECASE)


def test_naming_depends_on_the_spelling_found() -> None:
    s6 = "https://github.com/just-containers/s6-overlay/releases/download/v{}/s6-overlay-{}"
    v2 = naming_for(s6.format("2.2.0.3", "amd64.tar.gz"), "amd64")
    v3 = naming_for(s6.format("3.1.6.2", "x86_64.tar.xz"), "x86_64")
    assert v2 is not None and v2.spelling["arm64"] == "aarch64" and not v2.is_targetarch
    assert v3 is not None and v3.spelling == {"amd64": "x86_64", "arm64": "aarch64"}
    assert naming_for(GO, "x86_64") is None


def test_unknown_and_unpublished_downloads() -> None:
    assert arch_tokens("https://example.org/fooctl-linux-x86_64.tar.gz", "x86_64") is None
    chrome = naming_for(
        "https://dl.google.com/linux/direct/google-chrome-stable_current_amd64.deb", "amd64"
    )
    assert chrome is not None and not chrome.published("arm64") and chrome.published("amd64")
    go = naming_for(GO, "amd64")
    assert go is not None and go.is_targetarch and go.verified


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        (GO, ["amd64"]),
        ("bat_0.24.0_amd64.deb", ["amd64"]),
        ("tool-linux-x86-64.tgz", ["x86-64"]),
        ("geckodriver-v0.34.0-linux64.tar.gz", ["linux64"]),
        ("x64dbg-snapshot.zip", []),
        ("xamd64 amd64le camd64", []),
        ("sha256-0badc0ffeex64abc", []),
        ("tool-linux-arm64.tgz aarch64", []),
    ],
)
def test_tokens_are_whole_words(text: str, tokens: list[str]) -> None:
    assert [t for _, _, t in find_amd64_tokens(text)] == tokens


def test_other_os_downloads() -> None:
    assert names_other_os("https://x/bar-darwin-amd64.tar.gz")
    assert names_other_os("https://dl.k8s.io/release/v1/bin/darwin/amd64/kubectl")
    assert names_other_os("https://x/node-v20.11.0-win-x64.zip")
    assert names_other_os("https://x/tool_amd64.exe")
    assert not names_other_os(GO)
    assert not names_other_os("https://github.com/org/mac-tools/releases/tool-linux-amd64")


# -- the acceptance cases ------------------------------------------------------------


def test_go_download_gets_targetarch() -> None:
    text = f"FROM debian:bookworm-slim\nRUN curl -fsSL {GO} | tar -C /usr/local -xz\n"
    (d,) = da301(text)
    assert flagged_text(text, d) == "amd64"
    assert d.severity is Severity.ERROR and d.platforms == ("linux/arm64",)
    assert d.fix is not None and d.fix.applicability is Applicability.UNSAFE
    out = fixed(text, [d])
    assert "go1.22.0.linux-${TARGETARCH}.tar.gz" in out
    assert out.splitlines()[1] == "ARG TARGETARCH"
    assert not parse(out).errors
    assert da301(out) == []
    # ${TARGETARCH} is right on every platform as written: nothing for per-arch stages.
    assert d.fix.variants == ()


def test_node_download_maps_amd64_to_x64() -> None:
    text = (
        "FROM debian:bookworm-slim\n"
        "ARG TARGETARCH\n"
        f"RUN curl -fsSLO {NODE} \\\n"
        "  && tar -xJf node-v20.11.0-linux-x64.tar.xz -C /usr/local --strip-components=1\n"
    )
    (d,) = da301(text)
    assert flagged_text(text, d) == "x64"
    out = fixed(text, [d])
    assert 'case "$TARGETARCH" in amd64) NODE_ARCH=x64 ;; arm64) NODE_ARCH=arm64 ;;' in out
    assert "node-v20.11.0-linux-${NODE_ARCH}.tar.xz -C" in out  # the tar follows the rename
    assert out.count("ARG TARGETARCH") == 1
    assert "esac; \\\n  curl" in out  # the continuation copies the RUN's indentation
    assert not parse(out).errors
    assert da301(out) == []


def test_fix_is_idempotent() -> None:
    text = f"FROM alpine:3.19\nRUN wget -q {NODE} && wget -q {GO}\n"
    diags = da301(text)
    once = fixed(text, diags)
    assert fixed(once, da301(once)) == once


def test_escape_directive_and_crlf_are_kept() -> None:
    text = f"# escape=`\r\nFROM debian\r\nRUN curl -fsSLO {NODE} `\r\n    && echo done\r\n"
    (d,) = da301(text)
    out = fixed(text, [d])
    assert "esac; `\r\n    curl" in out
    assert "\n" not in out.replace("\r\n", "")
    assert not parse(out).errors and da301(out) == []


def test_a_repeated_run_is_found_wherever_it_stands() -> None:
    # Whether a RUN fetches anything is kept by its text and escape character (as its
    # scripts are): the same lines elsewhere, in another file, are found there.
    run = f"RUN curl -fsSLO {NODE} \\\n    && echo done\n"
    first = da301(f"FROM debian\n{run}")
    moved = da301(f"FROM debian\nENV A=1\n\n{run}")
    assert len(first) == len(moved) == 1
    shift = len("ENV A=1\n\n")
    assert moved[0].span.start == first[0].span.start + shift
    assert moved[0].message == first[0].message
    # With ` as the escape, the backslash ends nothing: `&&` starts an instruction of its own.
    escaped = da301(f"# escape=`\nFROM debian\n{run}")
    assert len(escaped) == 1 and escaped[0].span.start == first[0].span.start + len("# escape=`\n")


def test_single_quotes_are_reopened_for_the_variable() -> None:
    text = f"FROM debian\nRUN curl -fsSLO '{GO}'\n"
    out = fixed(text, da301(text))
    assert "'https://go.dev/dl/go1.22.0.linux-'\"${TARGETARCH}\"'.tar.gz'" in out
    assert da301(out) == []


# -- guards, arch-dependent words, platforms ------------------------------------------


@pytest.mark.parametrize(
    "run",
    [
        f'case "$TARGETARCH" in amd64) curl -fsSLO {GO} ;; esac',
        f'[ "$TARGETARCH" = amd64 ] && curl -fsSLO {GO}',
        f'if [ "$(uname -m)" = x86_64 ]; then curl -fsSLO {GO}; fi',
        'dpkgArch="$(dpkg --print-architecture)"; '
        'wget -O /gosu "https://github.com/tianon/gosu/releases/download/1.17/gosu-$dpkgArch"',
        'curl -fsSLO "https://go.dev/dl/go1.22.0.linux-$(dpkg --print-architecture).tar.gz"',
        # The word is per-arch as a whole: whatever else it spells was chosen with that in mind.
        'dpkgArch="$(dpkg --print-architecture)"; '
        'curl -fsSLO "https://example.com/x86_64-mirror/tool-$dpkgArch.tgz"',
        'curl -fsSLO "https://example.com/x86_64-mirror/tool-$(uname -m).tgz"',
        'case "$(uname -m)" in x86_64) A=x64 ;; aarch64) A=arm64 ;; esac; '
        'curl -fsSLO "https://nodejs.org/dist/v20.11.0/node-v20.11.0-linux-$A.tar.xz"',
        f"echo {GO}",
        "sha256sum -c go1.22.0.linux-amd64.tar.gz.sha256",
        "curl -fsSLO https://example.com/x64/SHA256SUMS",
        "curl -fsSLO https://github.com/foo/bar/releases/download/v1/bar-darwin-amd64.tar.gz",
        "curl -H 'X-Arch: amd64' -fsSLO https://example.com/tool.tgz",
    ],
)
def test_not_flagged(run: str) -> None:
    assert da301(f"FROM debian\nARG TARGETARCH\nRUN {run}\n") == []


def test_undecidable_guard_is_a_warning() -> None:
    text = f'FROM debian\nRUN case "$FLAVOR" in amd64) curl -fsSLO {GO} ;; esac\n'
    (d,) = da301(text)
    assert d.severity is Severity.WARNING


def test_only_platforms_that_build_the_stage() -> None:
    text = f"FROM debian\nRUN curl -fsSLO {GO}\n"
    assert da301(text, platforms=(Platform.parse("linux/amd64"),)) == []
    pinned = f"FROM --platform=linux/amd64 debian AS tools\nRUN curl -fsSLO {GO}\n"
    assert da301(pinned) == []
    unused = f"FROM debian AS old\nRUN curl -fsSLO {GO}\nFROM debian\nRUN true\n"
    assert da301(unused) == []


def test_amd64_stage_by_name_is_info_without_fix() -> None:
    text = (
        f"FROM debian AS build-amd64\nRUN curl -fsSLO {GO}\n"
        "FROM debian\nCOPY --from=build-amd64 / /\n"
    )
    (d,) = da301(text)
    assert d.severity is Severity.INFO and d.fix is None


def test_buildplatform_stage_warns_and_uses_buildarch() -> None:
    text = (
        "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\n"
        f"RUN curl -fsSLO {GO}\n"
        "FROM alpine\nCOPY --from=build /go /go\n"
    )
    (d,) = da301(text)
    assert d.severity is Severity.WARNING and "build machine" in d.message
    out = fixed(text, [d])
    assert "ARG BUILDARCH" in out and "linux-${BUILDARCH}.tar.gz" in out
    assert da301(out) == []


# -- variables -----------------------------------------------------------------------


def test_global_arg_is_reported_where_written() -> None:
    text = f'ARG GO_URL={GO}\nFROM debian\nARG GO_URL\nRUN curl -fsSL "$GO_URL" | tar -xz\n'
    (d,) = da301(text)
    assert d.span.start < text.index("FROM") and flagged_text(text, d) == "amd64"
    assert "ARG GO_URL" in d.message and "line 4" in d.message
    out = fixed(text, [d])
    # Global ARG defaults see the automatic platform ARGs: nothing to declare.
    assert out.startswith("ARG GO_URL=https://go.dev/dl/go1.22.0.linux-${TARGETARCH}.tar.gz\n")
    assert "ARG TARGETARCH" not in out
    assert da301(out) == []


def test_arch_value_in_an_arg_used_in_the_url() -> None:
    text = (
        "FROM debian\n"
        "ARG GOARCH_DL=amd64\n"
        'RUN curl -fsSLO "https://go.dev/dl/go1.22.0.linux-${GOARCH_DL}.tar.gz"\n'
    )
    (d,) = da301(text)
    assert flagged_text(text, d) == "amd64" and text.index("amd64") == d.span.start
    out = fixed(text, [d])
    assert "ARG GOARCH_DL=${TARGETARCH}" in out and da301(out) == []


def test_shell_variable_in_the_same_run() -> None:
    text = f'FROM debian\nRUN url="{NODE}"; curl -fsSLO "$url"\n'
    (d,) = da301(text)
    assert flagged_text(text, d) == "x64" and d.span.start < text.index("curl")
    out = fixed(text, [d])
    assert 'url="https://nodejs.org/dist/v20.11.0/node-v20.11.0-linux-${NODE_ARCH}' in out
    assert da301(out) == []


def test_env_with_other_naming_only_offers_stages() -> None:
    text = f"FROM debian\nENV NODE_URL={NODE}\nRUN curl -fsSLO $NODE_URL\n"
    (d,) = da301(text)
    assert d.fix is not None and d.fix.applicability is Applicability.DISPLAY_ONLY
    (variant,) = d.fix.variants
    assert dict(variant.by_arch)["arm64"] == f"ENV NODE_URL={NODE.replace('x64', 'arm64')}\n"


# -- fixes that cannot be trusted ------------------------------------------------------


def test_pinned_checksum_makes_the_fix_display_only() -> None:
    text = (
        "FROM debian\n"
        f"RUN curl -fsSLO {GO} && echo 'abc  go1.22.0.linux-amd64.tar.gz' | sha256sum -c -\n"
    )
    (d,) = da301(text)
    assert d.fix is not None and d.fix.applicability is Applicability.DISPLAY_ONLY
    assert "checksum" in d.fix.message and d.fix.variants == ()


def test_unknown_naming_says_what_is_needed() -> None:
    text = "FROM debian\nRUN curl -fsSLO https://example.org/fooctl-linux-x86_64.tar.gz\n"
    (d,) = da301(text)
    assert d.fix is not None and d.fix.applicability is Applicability.DISPLAY_ONLY
    assert '"x86_64"' in d.fix.message and "aarch64" in d.fix.message and not d.fix.edits


def test_no_arm64_build_means_no_fix() -> None:
    text = (
        "FROM debian\n"
        "RUN wget https://dl.google.com/linux/direct/google-chrome-stable_current_amd64.deb\n"
    )
    (d,) = da301(text)
    assert d.fix is None and "publishes no arm64 build" in d.message


@pytest.mark.parametrize("case", [c for c in CASES if c.code == "DA301"], ids=lambda c: c.id)
def test_fixture_fixes_parse(case: Case) -> None:
    _, _, result = check_case(case)
    out = fixed(result.tree.text, [d for d in result.diagnostics if d.code == "DA301"])
    assert not parse(out).errors


@given(st.one_of(st.from_regex(downloads._PYTHON.pattern), st.from_regex(downloads._PIP.pattern)))
def test_python_and_pip_names_start_as_the_pre_check_expects(name: str) -> None:
    # operands() asks the patterns (anchored at the start) only of names starting so.
    if downloads._PYTHON.match(name) or downloads._PIP.match(name):
        assert name.startswith(("python", "pip"))
