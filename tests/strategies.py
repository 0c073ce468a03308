"""Hypothesis strategies for Dockerfile-shaped text."""

from __future__ import annotations

from hypothesis import strategies as st

_keywords = st.sampled_from(
    [
        "FROM",
        "RUN",
        "COPY",
        "ADD",
        "ENV",
        "ARG",
        "LABEL",
        "CMD",
        "ENTRYPOINT",
        "WORKDIR",
        "USER",
        "EXPOSE",
        "VOLUME",
        "SHELL",
        "HEALTHCHECK",
        "ONBUILD",
        "STOPSIGNAL",
        "MAINTAINER",
        "from",
        "Run",
        "BOGUS",
    ]
)
_atoms = st.sampled_from(
    [
        "a",
        "b=c",
        "x y",
        '"q r"',
        "'s t'",
        "$A",
        "${B:-x}",
        "\\",
        "`",
        "--platform=linux/amd64",
        "--from=build",
        "--mount=type=cache,target=/x",
        "<<EOF",
        "<<-EOF",
        "<<'EOF'",
        '<<"X"',
        "3<<EOF",
        '["sh", "-c"]',
        "[1]",
        "[",
        "&&",
        "#",
        "=",
        "AS",
        "amd64",
        "é",
        "\t",
        "  ",
    ]
)
_line_ends = st.sampled_from(["\n", "\r\n", " \\\n", "\\\n", "\\  \n", "`\n", ""])


@st.composite
def instruction_lines(draw: st.DrawFn) -> str:
    kw = draw(_keywords)
    words = draw(st.lists(_atoms, max_size=6))
    return kw + (" " + " ".join(words) if words else "") + draw(_line_ends)


# No "# check=" directive: the oracle predates it (BuildKit 1.8 added it).
_other_lines = st.sampled_from(
    [
        "\n",
        "# comment\n",
        "  # indented comment\n",
        "   \n",
        "EOF\n",
        "\tEOF\n",
        "X\n",
        "body line\n",
        "# syntax=docker/dockerfile:1\n",
        "# escape=`\n",
        "\r\n",
    ]
)


@st.composite
def dockerfiles(draw: st.DrawFn) -> str:
    bom = draw(st.sampled_from(["", "", "", "\ufeff"]))
    lines = draw(st.lists(st.one_of(instruction_lines(), _other_lines), max_size=14))
    return bom + "".join(lines)


#: Arbitrary text biased towards the characters that matter to the parser.
texts = st.text(
    alphabet=st.sampled_from(list("FROM RUN<>-\\`#\"'=[]{}$\n\r\t abcé\ufeff\x0b\x85"))
    | st.characters(),
    max_size=300,
)
