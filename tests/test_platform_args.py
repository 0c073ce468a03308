"""DA110's search for platform ARG uses: skipping text without them skips no use."""

from __future__ import annotations

from dockerarch_rules import platform_args
from hypothesis import given, settings
from hypothesis import strategies as st

from dockerarch.syntax import parse

_KEYWORDS = st.sampled_from(
    ["RUN", "ENV", "ARG", "COPY", "ADD", "LABEL", "WORKDIR", "CMD", "ENTRYPOINT", "USER"]
)
# Platform ARG references spelled every way the scan can meet them: plain, braced, split by
# a line continuation, inside quotes, in flags and heredoc bodies, and near misses.
_ATOMS = st.sampled_from(
    [
        "$TARGETARCH",
        "${TARGETOS}",
        "${TARGETPLATFORM:-linux/amd64}",
        "$BUILD\\\nPLATFORM",
        "$TAR\\\nGETARCH",
        "'$TARGETVARIANT'",
        '"x-${BUILDARCH}"',
        "--mount=type=cache,target=/c/$TARGETARCH",
        "--platform=$BUILDPLATFORM",
        "$targetarch",
        "$TARGETARCHX",
        "TARGETARCH",
        "$HOME",
        "a=b",
        "sh -c",
        "<<EOF",
        "&&",
        "x",
    ]
)


@st.composite
def _dockerfiles(draw: st.DrawFn) -> str:
    lines = ["FROM alpine AS a\n"]
    for _ in range(draw(st.integers(1, 6))):
        words = draw(st.lists(_ATOMS, min_size=1, max_size=5))
        lines.append(f"{draw(_KEYWORDS)} {' '.join(words)}\n")
        if "<<EOF" in words:
            lines.append(f"echo {draw(_ATOMS)}\nEOF\n")
    return "".join(lines)


@settings(max_examples=300, deadline=None)
@given(_dockerfiles())
def test_skipping_instructions_without_target_or_build_loses_no_use(text: str) -> None:
    tree = parse(text)
    for ins in tree.instructions:
        assert list(platform_args.uses(tree, ins)) == list(platform_args._uses(tree, ins))
