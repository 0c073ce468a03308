"""Where dockerarch answers without importing a packaging module, the answer is packaging's.

Small readers stand in for packaging on a one-file run's path, because importing
packaging.requirements, packaging.utils or packaging.tags pulls in its marker parser,
platform, subprocess and logging (more than the whole check costs), and packaging.specifiers
compiles patterns a pinned install never needs. Each is held equal to packaging here, on
every input hypothesis finds.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet
from packaging.tags import compatible_tags, cpython_tags
from packaging.utils import canonicalize_name as packaging_canonicalize_name

from dockerarch import pyspecifiers
from dockerarch.knowledge import pypi
from dockerarch.pynames import canonicalize_name
from dockerarch.pysources import model

NAME_CHARS = "aZ09-_.~ "


@given(st.text(alphabet=st.sampled_from([*NAME_CHARS, "É", "ß"]), max_size=20) | st.text())
def test_project_names_normalize_as_packaging_does(name: str) -> None:
    assert canonicalize_name(name) == packaging_canonicalize_name(name)


@pytest.mark.parametrize(
    "python", [(2, 7), *((3, minor) for minor in range(16))], ids=lambda p: f"{p[0]}.{p[1]}"
)
def test_interpreter_tags_are_packaging_tags_without_platforms(python: tuple[int, int]) -> None:
    placeholder = ["linux_x86_64"]
    tags = [
        *cpython_tags(python, pypi._cpython_abis(python), placeholder),
        *compatible_tags(python, f"cp{python[0]}{python[1]}", placeholder),
    ]
    with_platform = {(t.interpreter, t.abi) for t in tags if t.platform != "any"}
    pure = {(t.interpreter, t.abi) for t in tags if t.platform == "any"}
    assert pypi._interpreter_tags(python) == (frozenset(with_platform), frozenset(pure))


_NAMES = st.sampled_from(["requests", "A.b-c_d", "x", "x1", "-a", "a-", "a b", "é", "1"])
_SPACE = st.sampled_from(["", " ", "\t", "  "])
_OPERATORS = st.sampled_from(["==", "===", "!=", "~=", ">=", "<=", "<", ">", "==", "=", "=>"])
_VERSIONS = st.sampled_from(
    [
        *("1.0", "2.31.0", "1.0.*", "1!2.0", "1.0rc1", "1.0.post1", "1.0+local", "01.0", "abc"),
        *("1.*.0", "", "1.0-1", "1_0", "v1.0", "1.0.dev0", "1.0a", "3", "1.0+", "*"),
    ]
)
_EXTRAS = st.lists(st.sampled_from(["socks", "a.b", "x-y", "", " s ", "a b", "_x"]), max_size=3)
# Mostly nothing after the clauses: the simple reading must be exercised often.
_TAILS = st.sampled_from(
    [*[""] * 8, ",", " ; python_version > '3'", ";", " @ https://h/p-1.0.whl", "(==1.0)", "]"]
)


@st.composite
def _requirements(draw: st.DrawFn) -> str:
    text = draw(_SPACE) + draw(_NAMES) + draw(_SPACE)
    if draw(st.booleans()):
        text += "[" + draw(st.sampled_from([",", ", ", " ,"])).join(draw(_EXTRAS)) + "]"
        text += draw(_SPACE)
    clauses = [
        draw(_OPERATORS) + draw(_SPACE) + draw(_VERSIONS) for _ in range(draw(st.integers(0, 3)))
    ]
    text += draw(st.sampled_from([",", " , ", ", ", ",,", " "])).join(clauses)
    return text + draw(_TAILS) + draw(_SPACE)


@settings(max_examples=400)
@given(_requirements() | st.text(alphabet=st.sampled_from([*NAME_CHARS, "=", "<", "[", "]", ","])))
def test_simple_requirements_read_as_packaging_reads_them(text: str) -> None:
    text = text.strip()
    fast = model._simple(text)
    if fast is not None:
        assert fast == model._pep508(text)


def test_the_common_requirements_take_the_simple_reading() -> None:
    simple = ["requests==2.31.0", "numpy", "Django>=4.2,<5", "requests[socks, security] ~= 2.31"]
    for text in simple:
        assert model._simple(text) is not None, text
    for text in ["uvloop; sys_platform != 'win32'", "pkg @ https://h/pkg-1.0.whl", "pkg (==1.0)"]:
        assert model._simple(text) is None, text


_SPEC_OPERATORS = st.sampled_from(["==", "!=", "~=", ">=", "<=", "<", ">"] * 3 + ["===", "=>"])
_PLAIN_VERSIONS = st.sampled_from(
    [
        *("3", "3.8", "3.12", "3.12.0", "3.7.1", "4", "2.7", "03.8", "3.08", "0", "3.0.0.0"),
        *("3.*", "3.1.*", "3.12.*", "2.*", "3.12.1.*", "3.0.*", "3.10", "3.9.18", "3.13.0"),
        *("1!3.8", "3.8rc1", "3.8.post1", "3.8+x", "\u0663.\u0668"),  # the last: Arabic-Indic
    ]
)


@st.composite
def _specifiers(draw: st.DrawFn) -> str:
    clauses = [
        draw(_SPACE) + draw(_SPEC_OPERATORS) + draw(_SPACE) + draw(_PLAIN_VERSIONS) + draw(_SPACE)
        for _ in range(draw(st.integers(0, 3)))
    ]
    return draw(st.sampled_from([",", ",", ", ", ",,"])).join(clauses) + draw(
        st.sampled_from(["", "", "", ",", " "])
    )


_PYTHONS = st.tuples(st.integers(2, 4), st.integers(0, 14)) | st.tuples(
    st.integers(0, 4), st.integers(0, 14), st.integers(0, 2)
)


@settings(max_examples=1000)
@given(_specifiers(), _PYTHONS)
def test_plain_specifiers_read_and_decide_as_packaging_does(
    text: str, python: tuple[int, ...]
) -> None:
    plain = pyspecifiers.plain_clauses(text)
    if plain is None:
        return
    specifier = SpecifierSet(text)  # plain clauses are always valid
    assert pyspecifiers.written(plain) == str(specifier)
    version = ".".join(map(str, python))
    assert pyspecifiers.allows(plain, python) == specifier.contains(version, prereleases=True)


def test_common_requires_python_values_take_the_plain_reading() -> None:
    for text in [">=3.8", ">=3.7, <4", "!=3.0.*,!=3.1.*,>=2.7", "~=3.6", "==2.31.0", ""]:
        assert pyspecifiers.plain_clauses(text) is not None, text
    for text in [">=3.8rc1", "===3.8", ">=3.*", "~=3", "==1.0,==1.0.0", ">=3.8,", ">=\u0663"]:
        assert pyspecifiers.plain_clauses(text) is None, text


def test_known_names_are_bounded() -> None:
    from dockerarch import pynames

    for i in range(pynames._KNOWN_MAX + 10):
        assert canonicalize_name(f"Name_{i}") == f"name-{i}"
    assert 0 < len(pynames._known) <= pynames._KNOWN_MAX
