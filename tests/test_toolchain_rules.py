"""The toolchain rules (DA401-DA404, DA407) beyond what their fixtures show."""

from __future__ import annotations

import pytest
from dockerarch_rules.compilers import _TRIPLE, _may_hold_triple, triple_arch, triple_for
from hypothesis import given
from hypothesis import strategies as st

from dockerarch.diagnostics import Applicability, Diagnostic
from dockerarch.engine import Settings, check_text
from dockerarch.platforms import Platform
from dockerarch.syntax import parse


def run(text: str, code: str, platforms: tuple[str, ...] = ()) -> list[Diagnostic]:
    settings = Settings(select=(code,))
    if platforms:
        settings.platforms = tuple(Platform.parse(p) for p in platforms)
    return check_text(text, settings).diagnostics


def spans(text: str, diags: list[Diagnostic]) -> list[str]:
    return [text[d.span.start : d.span.end] for d in diags]


def test_acceptance_go_test_tags_amd64() -> None:
    text = "FROM golang:1.22\nRUN go test -tags amd64 -v ./\n"
    (d,) = run(text, "DA402")
    assert spans(text, [d]) == ["amd64"]
    assert d.platforms == ("linux/arm64",)
    assert d.fix is not None and d.fix.applicability is Applicability.UNSAFE
    (edit, declare) = d.fix.edits
    assert (edit.content, declare.content) == ("${TARGETARCH}", "ARG TARGETARCH\n")
    # One text that is right on every platform: nothing for per-arch stages.
    assert d.fix.variants == ()


def test_amd64_only_build_is_not_reported() -> None:
    text = "FROM golang:1.22\nRUN GOARCH=amd64 go test -tags amd64 ./\n"
    assert run(text, "DA401", ("linux/amd64",)) == []
    assert run(text, "DA402", ("linux/amd64",)) == []


@pytest.mark.parametrize(
    "line",
    [
        "RUN GOARCH=amd64 go build .",
        "RUN export GOARCH=amd64 && go build .",
        "RUN env CGO_ENABLED=0 GOARCH=amd64 go build .",
        "RUN sudo -E env GOARCH=amd64 go build .",
        "RUN go env -w GOARCH=amd64",
        "ENV GOARCH amd64",
        "ARG GOARCH=amd64",
    ],
)
def test_goarch_pinned_forms(line: str) -> None:
    text = f"FROM golang:1.22\n{line}\n"
    (d,) = run(text, "DA401")
    assert "GOARCH" in text[d.span.start : d.span.end]
    assert d.fix is not None and d.fix.applicability is Applicability.UNSAFE


@pytest.mark.parametrize(
    "line",
    [
        "RUN GOARCH=$TARGETARCH go build .",
        "RUN GOARCH=$(go env GOHOSTARCH) go build .",
        'RUN [ "$TARGETARCH" = amd64 ] || exit 0; GOARCH=amd64 go build .',
        "RUN GOARCH=wasm GOOS=js go build -o app.wasm .",
        "ENV GOARCH=${TARGETARCH}",
    ],
)
def test_goarch_not_pinned(line: str) -> None:
    text = f"FROM golang:1.22\nARG TARGETARCH\n{line}\n"
    assert run(text, "DA401") == []


def test_goarch_fix_keeps_the_value_expandable_in_single_quotes() -> None:
    text = (
        "FROM --platform=$BUILDPLATFORM golang:1.22\nARG TARGETARCH\nRUN GOARCH='amd64' go build\n"
    )
    (d,) = run(text, "DA401")
    assert d.fix is not None and d.fix.applicability is Applicability.SAFE
    (edit,) = d.fix.edits
    assert text[edit.span.start : edit.span.end] == "'amd64'"
    assert edit.content == '"$TARGETARCH"'


def test_goarch_arm_flags_amd64_and_arm64_targets() -> None:
    text = "FROM golang:1.22\nRUN GOARCH=arm GOARM=7 go build .\n"
    (d,) = run(text, "DA401")
    assert d.platforms == ("linux/amd64", "linux/arm64")


def test_stage_not_built_for_arm64_is_not_reported() -> None:
    text = "FROM golang:1.22 AS unused\nRUN GOARCH=amd64 go build .\nFROM alpine:3.20\nRUN true\n"
    assert run(text, "DA401") == []


def test_feature_tags_variant_drops_the_tag_only_off_x86() -> None:
    text = 'FROM golang:1.22\nRUN go build -tags "netgo avx2" . && go vet -tags=x86 ./...\n'
    diags = run(text, "DA402")
    assert spans(text, diags) == ["avx2", "x86"]
    fix = diags[0].fix
    assert fix is not None and fix.applicability is Applicability.DISPLAY_ONLY
    # Both findings carry the same whole-instruction variant.
    assert diags[1].fix is not None and diags[1].fix.variants == fix.variants
    by_arch = dict(fix.variants[0].by_arch)
    assert by_arch["amd64"] == text.splitlines(keepends=True)[1]
    assert by_arch["arm64"] == 'RUN go build -tags "netgo" . && go vet -tags="" ./...\n'
    assert parse("FROM x\n" + by_arch["arm64"]).errors == ()


def test_tag_glued_to_an_expansion_is_not_a_tag() -> None:
    text = "FROM golang:1.22\nARG P\nRUN go build -tags ${P}amd64,netgo .\n"
    assert run(text, "DA402") == []


def test_go_build_stops_at_packages_but_go_test_does_not() -> None:
    text = "FROM golang:1.22\nRUN go build . -tags amd64; go test ./... -tags amd64\n"
    (d,) = run(text, "DA402")
    assert d.span.start == text.rindex("amd64")


def test_march_native_is_reported_on_every_platform_even_when_guarded() -> None:
    text = (
        "FROM gcc:14\nARG TARGETARCH\n"
        'RUN [ "$TARGETARCH" = arm64 ] && gcc -mcpu=native -O2 x.c\n'
        "ENV RUSTFLAGS=-Ctarget-cpu=native\n"
    )
    diags = run(text, "DA403")
    assert spans(text, diags) == ["-mcpu=native", "target-cpu=native"]
    assert all(d.platforms == () for d in diags)


@pytest.mark.parametrize(
    "flag",
    ["-march=armv8-a", "-mtune=generic", "-mcpu=cortex-a72", "-mno-omit-leaf-frame-pointer"],
)
def test_portable_or_arm_flags_are_not_x86(flag: str) -> None:
    assert run(f"FROM gcc:14\nRUN gcc {flag} -O2 x.c\n", "DA403") == []


def test_x86_flags_in_amd64_and_386_builds_are_fine() -> None:
    text = "FROM gcc:14\nRUN gcc -m32 -msse2 x.c\n"
    assert run(text, "DA403", ("linux/amd64", "linux/386")) == []
    assert spans(text, run(text, "DA403")) == ["-m32", "-msse2"]


@pytest.mark.parametrize(
    ("triple", "arch", "expected"),
    [
        ("x86_64-unknown-linux-gnu", "arm64", "aarch64-unknown-linux-gnu"),
        ("x86_64-unknown-linux-musl", "arm", "armv7-unknown-linux-musleabihf"),
        ("x86_64-linux-gnu-gcc", "arm", "arm-linux-gnueabihf-gcc"),
        ("x86_64-unknown-linux-gnu", "riscv64", "riscv64gc-unknown-linux-gnu"),
        ("armv7-unknown-linux-gnueabihf", "amd64", "x86_64-unknown-linux-gnu"),
        ("aarch64-linux-gnu", "386", "i686-linux-gnu"),
        ("x86_64-linux-gnu", "amd64", "x86_64-linux-gnu"),
    ],
)
def test_triple_for(triple: str, arch: str, expected: str) -> None:
    assert triple_for(triple, arch) == expected
    assert triple_arch(expected) == arch


def test_cross_target_variant_swaps_every_triple_of_the_instruction() -> None:
    text = (
        "FROM rust:1.79\n"
        "RUN rustup target add x86_64-unknown-linux-musl"
        " && cargo build --target=x86_64-unknown-linux-musl\n"
    )
    diags = run(text, "DA404")
    assert len(diags) == 2
    assert diags[0].fix is not None
    (variant,) = diags[0].fix.variants
    assert dict(variant.by_arch)["arm64"].count("aarch64-unknown-linux-musl") == 2


def test_arm64_triple_is_pinned_for_amd64_targets() -> None:
    text = "FROM rust:1.79\nRUN cargo build --target aarch64-unknown-linux-gnu\n"
    (d,) = run(text, "DA404")
    assert d.platforms == ("linux/amd64",)


def test_cgo_cross_build_with_cc_in_env_is_fine() -> None:
    text = (
        "FROM --platform=$BUILDPLATFORM golang:1.22\nARG TARGETARCH\n"
        'ENV CC="zig cc -target aarch64-linux-musl"\n'
        "RUN CGO_ENABLED=1 GOARCH=$TARGETARCH go build .\n"
    )
    assert run(text, "DA407") == []
    assert len(run(text.replace('ENV CC="zig cc -target aarch64-linux-musl"\n', ""), "DA407")) == 1


def test_cgo_setting_from_go_env_w_counts() -> None:
    text = (
        "FROM --platform=$BUILDPLATFORM golang:1.22\nARG TARGETARCH\n"
        "RUN go env -w CGO_ENABLED=1\n"
        "RUN GOARCH=$TARGETARCH go build .\n"
    )
    (d,) = run(text, "DA407")
    assert text[d.span.start : d.span.end] == "go build"


_TRIPLE_PARTS = st.sampled_from(
    ["x86_64", "aarch64", "arm", "armv7l", "riscv64gc", "-", "unknown", "linux", "pc", "none",
     "alpine", "gnu", "CC=", " ", "-musl", "Linux", "UNKNOWN", "x86-64"]
)  # fmt: skip


@given(st.lists(_TRIPLE_PARTS, max_size=8).map("".join))
def test_triple_prefilter_is_the_pattern_search(text: str) -> None:
    assert _may_hold_triple(text) == (_TRIPLE.search(text) is not None)
