"""Properties of ``dockerarch fix`` over generated Dockerfiles.

Idempotence: fixing a fixed file changes nothing. Validity: a fixed file
round-trips through our parser, has no syntax error when the input had
none, and BuildKit's parser reads it as ours does. The generated files mix
what the fixable rules look for (platform ARG uses and defaults, arch-pinned
images, the test rule's canvas installs) with the syntax that fixes must
keep intact: casing, indentation, CRLF, a BOM, comments, continuations,
heredocs, a missing final newline and numeric stage references.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockerarch.fixer import Outcome, fix_source
from dockerarch.syntax import parse
from tests.oracle import compare, needs_oracle
from tests.strategies import dockerfiles
from tests.test_fix import TEST_CODE, checker

CODES = (TEST_CODE, "DA110", "DA111", "DA202")
EXAMPLES = 60

_images = st.sampled_from(
    [
        "amazonlinux:2023",
        "alpine:3.20",
        "amd64/ubuntu:22.04",
        "debian:bookworm-slim",
        "--platform=$BUILDPLATFORM golang:1.22",
    ]
)
_body_lines = st.sampled_from(
    [
        "RUN npm install canvas@2.11.2",
        "RUN echo $TARGETARCH",
        "RUN curl -fsSLo /x https://example.com/tool-${TARGETOS}-${TARGETARCH}",
        "ARG TARGETARCH=amd64",
        "ARG TARGETARCH",
        "ARG VERSION=1",
        "ENV PATH=/opt/bin:$PATH",
        "WORKDIR /app",
        "COPY --from=0 /etc/os-release /tmp/",
        "RUN --mount=type=cache,target=/root/.npm npm ci",
        "RUN set -eux; \\\n    echo ${TARGETVARIANT}; \\\n    true",
        "RUN <<EOF\necho $TARGETARCH\nEOF",
        'CMD ["node", "index.js"]',
        "# a comment",
        "",
        "ONBUILD RUN true",
    ]
)
# What the download, toolchain, npm and build-dependency rules look for.
_real_rule_lines = st.sampled_from(
    [
        "RUN curl -fsSL -o /usr/local/bin/yq "
        "https://github.com/mikefarah/yq/releases/download/v4.44.1/yq_linux_amd64",
        "RUN wget -q https://go.dev/dl/go1.22.4.linux-amd64.tar.gz "
        "&& tar -C /usr/local -xzf go1.22.4.linux-amd64.tar.gz",
        "RUN GOARCH=amd64 go build -o /app .",
        "RUN dnf install -y nodejs npm",
        "RUN pip install numpy==1.18.5",
    ]
)
_global_lines = st.sampled_from(["ARG TARGETARCH=arm64", "ARG BASE=alpine", "# syntax note"])


@st.composite
def fixable_dockerfiles(draw: st.DrawFn, body: st.SearchStrategy[str] = _body_lines) -> str:
    lower = draw(st.booleans())
    indent = draw(st.sampled_from(["", "  "]))
    lines = draw(st.lists(_global_lines, max_size=2))
    for n in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from([None, "app", "build", f"s{n}"]))
        lines.append(f"FROM {draw(_images)}" + (f" AS {name}" if name else ""))
        lines += draw(st.lists(body, min_size=1, max_size=5))
    out = []
    for line in lines:
        keyword, sep, rest = line.partition(" ")
        if keyword in ("FROM", "RUN"):
            line = indent + (keyword.lower() if lower else keyword) + sep + rest
        out.append(line)
    text = "\n".join(out) + ("\n" if draw(st.booleans()) else "")
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    return ("\ufeff" if draw(st.booleans()) else "") + text


def run(source: str, style: str, codes: tuple[str, ...] = CODES) -> Outcome:
    check = checker(*codes)
    return fix_source(source, check, style=style, unsafe=True)  # type: ignore[arg-type]


def has_errors(source: str) -> bool:
    tree = parse(source)
    return bool(tree.errors) or any(i.errors for i in tree.walk())


def check_properties(source: str, style: str, codes: tuple[str, ...] = CODES) -> Outcome:
    out = run(source, style, codes)
    assert out.converged, (source, out.source)
    assert parse(out.source).to_source() == out.source
    assert out.source.startswith("\ufeff") == source.startswith("\ufeff")
    if not has_errors(source):
        assert not has_errors(out.source), (source, out.source)
    again = run(out.source, style, codes)
    assert again.source == out.source, (source, out.source)
    assert not again.applied
    return out


@pytest.mark.parametrize("style", ["stages", "inline"])
@given(source=fixable_dockerfiles())
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_fixing_is_idempotent_and_valid(source: str, style: str) -> None:
    check_properties(source, style)


@pytest.mark.parametrize("style", ["stages", "inline"])
@given(source=fixable_dockerfiles(st.one_of(_body_lines, _real_rule_lines)))
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_every_rule_together_settles(source: str, style: str) -> None:
    """All loaded rules at once, those giving variants included."""
    check_properties(source, style, (TEST_CODE, "DA"))


@given(source=dockerfiles())
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_arbitrary_text_survives_fixing(source: str) -> None:
    check_properties(source, "stages")


@needs_oracle
@pytest.mark.parametrize("style", ["stages", "inline"])
@given(source=fixable_dockerfiles())
@settings(max_examples=EXAMPLES // 2, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_buildkit_reads_fixed_files_as_we_do(source: str, style: str) -> None:
    out = run(source, style)
    compare(out.source)
