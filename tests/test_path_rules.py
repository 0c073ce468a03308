"""Architecture baked into paths, packages, emulation and probes (DA311, DA405, DA406, DA410)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from dockerarch_rules import foreign_arch, paths, probes
from hypothesis import given
from hypothesis import strategies as st

from dockerarch.diagnostics import Applicability, Diagnostic
from dockerarch.engine import Rule, Settings, check_text
from dockerarch.platforms import Platform

RULES: tuple[Rule, ...] = (*paths.RULES, *foreign_arch.RULES, *probes.RULES)


def run(text: str, *, path: str | None = None, platforms: tuple[str, ...] = ()) -> list[Diagnostic]:
    settings = Settings()
    if platforms:
        settings.platforms = tuple(Platform.parse(p) for p in platforms)
    return check_text(text, settings, path=Path(path) if path else None, rules=RULES).diagnostics


def found(
    text: str, *, path: str | None = None, platforms: tuple[str, ...] = ()
) -> list[tuple[str, str, str]]:
    """(code, severity, flagged text) of each diagnostic."""
    diags = run(text, path=path, platforms=platforms)
    return [(d.code, d.severity.value, text[d.span.start : d.span.end]) for d in diags]


def apply(text: str, diags: list[Diagnostic]) -> str:
    edits = sorted(
        (
            e
            for d in diags
            if d.fix and d.fix.applicability is not Applicability.DISPLAY_ONLY
            for e in d.fix.edits
        ),
        key=lambda e: (e.span.start, e.span.end),
    )
    out, pos = [], 0
    for e in edits:
        out += [text[pos : e.span.start], e.content]
        pos = e.span.end
    return "".join(out) + text[pos:]


@pytest.mark.parametrize(
    ("text", "spans"),
    [
        ("/usr/lib/x86_64-linux-gnu/libz.so", [("x86_64-linux-gnu", "amd64", "triplet")]),
        ("-L/usr/lib/aarch64-linux-gnu", [("aarch64-linux-gnu", "arm64", "triplet")]),
        ("/usr/lib/jvm/java-1.8.0-openjdk-amd64/bin", [("amd64", "amd64", "jvm")]),
        ("/opt/tool-linux-amd64/bin:$PATH", [("amd64", "amd64", "word")]),
        ("$HOME/.local/x86_64/bin", [("x86_64", "amd64", "word")]),
        ("/usr/bin/x86_64-linux-gnu-gcc", []),  # a cross compiler: toolchain rules
        ("/tmp/tool-linux-amd64.tar.gz", []),  # a download's file name
        ("https://example.com/x86_64-linux-gnu/x", []),  # a URL: DA301
        ("linux/amd64", []),  # a platform, not a path
        ("/usr/lib/$(uname -m)-linux-gnu", []),
        ("/opt/amd64ish/bin", []),  # not a delimited arch word
    ],
)
def test_arch_in_paths(text: str, spans: list[tuple[str, str, str]]) -> None:
    hits = paths.arch_in_paths(text, 0)
    assert [(text[h.span.start : h.span.end], h.arch, h.kind) for h in hits] == spans


def test_copied_paths_count_relative_sources_and_archives() -> None:
    text = "cmake-3.28-linux-x86_64.tar.gz"
    assert [h.arch for h in paths.arch_in_paths(text, 0, copied=True)] == ["amd64"]
    assert list(paths.arch_in_paths(text, 0)) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "FROM debian\nENV LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu\n",
            [("DA311", "warning", "x86_64-linux-gnu")],
        ),
        (
            "FROM debian\nRUN gcc -L/usr/lib/x86_64-linux-gnu -o app app.c\n",
            [("DA311", "warning", "x86_64-linux-gnu")],
        ),
        (
            "FROM debian\nRUN LD_LIBRARY_PATH=/opt/x86_64/lib ./app\n",
            [("DA311", "warning", "x86_64")],
        ),
        ("FROM debian\nWORKDIR /opt/build-amd64\n", [("DA311", "warning", "amd64")]),
        (
            "FROM golang AS b\nFROM alpine\nCOPY --from=b /go/bin/linux_amd64/app /app\n",
            [("DA311", "warning", "amd64")],
        ),
        # The arm64 triplet is as wrong on amd64.
        (
            "FROM debian\nENV LIBDIR=/usr/lib/aarch64-linux-gnu\n",
            [("DA311", "warning", "aarch64-linux-gnu")],
        ),
        # A stage naming both architectures builds both on purpose.
        (
            "FROM debian\nRUN cp /out/amd64/app /dist/app-amd64 && cp /out/arm64/app /dist/\n",
            [],
        ),
        # An undecided arch test counts as the author's answer.
        (
            'FROM debian\nRUN if [ "$ARCH" = amd64 ]; then ls /usr/lib/x86_64-linux-gnu; fi\n',
            [],
        ),
        # Not built: another stage is the target.
        ("FROM debian AS unused\nENV P=/usr/lib/x86_64-linux-gnu\nFROM alpine\n", []),
        # Dynamic parts and single-quoted probes.
        ("FROM debian\nENV JAVA_HOME=/usr/lib/jvm/java-17-openjdk-$TARGETARCH\n", []),
        ("FROM debian\nRUN dpkgArch=$(dpkg --print-architecture); echo $dpkgArch\n", []),
    ],
)
def test_da311(text: str, expected: list[tuple[str, str, str]]) -> None:
    assert found(text) == expected


def test_da311_only_reports_other_platforms() -> None:
    text = "FROM debian\nENV P=/usr/lib/x86_64-linux-gnu\n"
    assert found(text, platforms=("linux/amd64",)) == []
    (d,) = run(text, platforms=("linux/amd64", "linux/arm64", "linux/arm/v7"))
    assert d.platforms == ("linux/arm64", "linux/arm/v7")
    assert "linux/arm/v7 uses arm-linux-gnueabihf" in d.message


def test_da311_per_arch_file_is_info() -> None:
    text = "FROM debian\nENV P=/usr/lib/x86_64-linux-gnu\n"
    assert found(text, path="docker/Dockerfile.amd64") == [("DA311", "info", "x86_64-linux-gnu")]
    # A file for arm64 naming the amd64 directory is a real mistake.
    assert found(text, path="arm64/Dockerfile") == [("DA311", "warning", "x86_64-linux-gnu")]


def test_da311_jvm_fix_declares_targetarch_once() -> None:
    text = (
        "FROM debian\n"
        "ENV JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64\n"
        "RUN /usr/lib/jvm/java-17-openjdk-amd64/bin/java -version\n"
    )
    diags = run(text)
    assert (
        all(d.fix and d.fix.applicability is Applicability.UNSAFE for d in diags)
        and len(diags) == 2
    )
    fixed = apply(text, diags)
    assert fixed == (
        "FROM debian\n"
        "ARG TARGETARCH\n"
        "ENV JAVA_HOME=/usr/lib/jvm/java-17-openjdk-${TARGETARCH}\n"
        "RUN /usr/lib/jvm/java-17-openjdk-${TARGETARCH}/bin/java -version\n"
    )
    assert run(fixed) == []


def test_da311_jvm_fix_in_global_arg_needs_no_declaration() -> None:
    text = "ARG JH=/usr/lib/jvm/java-21-openjdk-amd64\nFROM debian\n"
    (d,) = run(text)
    assert d.fix is not None
    assert [e.content for e in d.fix.edits] == ["${TARGETARCH}"]


def test_da311_no_fix_inside_single_quotes() -> None:
    text = (
        "FROM debian\n"
        "RUN echo 'export JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64' >> /etc/profile\n"
    )
    (d,) = run(text)
    assert d.fix is None


def test_da311_multiarch_suggestion_follows_installed_tools() -> None:
    plain = "FROM debian\nRUN ln -s /usr/lib/x86_64-linux-gnu/libz.so.1 /lib/libz.so\n"
    (d,) = run(plain)
    assert d.fix is not None and d.fix.applicability is Applicability.DISPLAY_ONLY
    assert d.fix.edits[0].content == "$(uname -m)-linux-gnu"
    with_dev = (
        "FROM debian\nRUN apt-get install -y dpkg-dev\n"
        "RUN ln -s /usr/lib/x86_64-linux-gnu/libz.so.1 /lib/libz.so\n"
    )
    (d,) = run(with_dev)
    assert d.fix is not None
    assert d.fix.edits[0].content == "$(dpkg-architecture -qDEB_HOST_MULTIARCH)"
    # ENV cannot run a command: no edit to suggest.
    (d,) = run("FROM debian\nENV P=/usr/lib/x86_64-linux-gnu\n")
    assert d.fix is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FROM debian\nRUN dpkg --add-architecture amd64\n", [("DA405", "warning", "amd64")]),
        # armhf runs on arm64 CPUs, not on amd64 ones.
        ("FROM debian\nRUN apt-get install -y libc6:armhf\n", [("DA405", "warning", "armhf")]),
        ("FROM debian\nRUN apt-get install -y libc6:native foo:all make\n", []),
        (
            "FROM fedora\nRUN yum install -y ./agent-2.1.x86_64.rpm\n",
            [("DA405", "warning", "x86_64")],
        ),
        ("FROM fedora\nRUN yum remove -y foo.x86_64\n", []),
        (
            "FROM debian\nRUN printf 'deb [arch=amd64] https://apt.example.com stable main\\n' "
            "> /etc/apt/sources.list.d/x.list\n",
            [("DA405", "warning", "amd64")],
        ),
        (
            'FROM debian\nRUN echo "deb [signed-by=/k.gpg] https://apt.example.com stable main" '
            "> /etc/apt/sources.list.d/x.list\n",
            [],
        ),
    ],
)
def test_da405(text: str, expected: list[tuple[str, str, str]]) -> None:
    assert found(text) == expected


def test_da405_fix_only_for_repositories_known_to_publish_arm64() -> None:
    line = 'FROM debian\nRUN echo "deb [arch=amd64] https://{host}/linux/debian bookworm stable"\n'
    (known,) = run(line.format(host="download.docker.com"))
    (unknown,) = run(line.format(host="dl.google.com"))
    assert known.fix is not None and known.fix.applicability is Applicability.UNSAFE
    assert unknown.fix is None


def test_da405_i386_is_fine_for_amd64_only_builds() -> None:
    text = "FROM debian\nRUN dpkg --add-architecture i386 && apt-get install -y libc6:i386\n"
    assert found(text, platforms=("linux/amd64",)) == []
    assert len(run(text, platforms=("linux/arm64",))) == 2


def test_da405_repeated_runs_read_the_same_wherever_they_stand() -> None:
    # A RUN naming no foreign package or source arch is remembered by its text; one whose
    # candidates another platform list filtered out is not.
    foreign = "RUN dpkg --add-architecture i386 && apt-get install -y libc6:i386\n"
    clean = "RUN apt-get install -y make\n"
    for _ in range(2):
        assert found(f"FROM debian\n{clean}") == []
        assert found(f"FROM debian\n{foreign}", platforms=("linux/amd64",)) == []
        assert len(run(f"FROM debian\nENV A=1\n{clean}{foreign}", platforms=("linux/arm64",))) == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "FROM docker\nRUN podman run --arch amd64 --rm example/tool\n",
            [("DA406", "warning", "amd64")],
        ),
        ("FROM debian\nRUN qemu-aarch64 ./hello\n", [("DA406", "warning", "qemu-aarch64")]),
        (
            "FROM debian\nRUN update-binfmts --enable qemu-x86_64\n",
            [("DA406", "warning", "update-binfmts")],
        ),
        ("FROM docker\nRUN docker pull --platform linux/amd64 example/tool\n", []),
        ("FROM debian\nRUN qemu-system-x86_64 -version\n", []),
    ],
)
def test_da406(text: str, expected: list[tuple[str, str, str]]) -> None:
    assert found(text) == expected


def test_da406_reports_the_platform_that_emulates() -> None:
    (d,) = run("FROM debian\nRUN qemu-aarch64 ./hello\n")
    assert d.platforms == ("linux/amd64",)


_CROSS = "FROM --platform=$BUILDPLATFORM debian AS build\nARG TARGETARCH\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (_CROSS + "RUN uname -p\n", [("DA410", "info", "uname -p")]),
        (
            _CROSS + "RUN echo \"$(rpm --eval '%{_arch}')\"\n",
            [("DA410", "info", "rpm --eval '%{_arch}'")],
        ),
        (_CROSS + "RUN triple=$(gcc -dumpmachine)\n", [("DA410", "info", "gcc -dumpmachine")]),
        (
            _CROSS + "RUN ARCH=$(uname -m); CC=$ARCH-linux-gnu-gcc make\n",
            [("DA410", "warning", "uname -m")],
        ),
        (
            _CROSS + "RUN ./configure --host=$(dpkg-architecture -qDEB_HOST_GNU_TYPE)\n",
            [("DA410", "warning", "dpkg-architecture -qDEB_HOST_GNU_TYPE")],
        ),
        (_CROSS + "RUN ./configure --build=$(dpkg-architecture -qDEB_BUILD_GNU_TYPE)\n", []),
        # No TARGET* ARG: the stage only prepares build-machine tools.
        ("FROM --platform=$BUILDPLATFORM debian\nRUN curl -o t https://x/t-$(uname -m)\n", []),
        # Probes run on the target in a stage without --platform.
        ("FROM debian\nARG TARGETARCH\nRUN GOARCH=$(dpkg --print-architecture) go build\n", []),
        (
            "FROM --platform=${BUILDOS}/${BUILDARCH} golang\nARG TARGETOS\n"
            "RUN GOARCH=$(dpkg --print-architecture) go build\n",
            [("DA410", "warning", "dpkg --print-architecture")],
        ),
    ],
)
def test_da410(text: str, expected: list[tuple[str, str, str]]) -> None:
    assert found(text) == expected


def test_da410_dpkg_suggestion_is_display_only() -> None:
    text = _CROSS + 'RUN GOARCH="$(dpkg --print-architecture)" go build\n'
    (d,) = run(text)
    assert d.fix is not None and d.fix.applicability is Applicability.DISPLAY_ONLY
    (edit,) = d.fix.edits
    assert text[edit.span.start : edit.span.end] == "$(dpkg --print-architecture)"
    assert edit.content == "${TARGETARCH}"


_BLOCK = re.compile(r"^```dockerfile\n(.*?)^```", re.DOTALL | re.MULTILINE)


@pytest.mark.parametrize("r", RULES, ids=[r.code for r in RULES])
def test_doc_example_shows_problem_then_cure(r: Rule) -> None:
    blocks = _BLOCK.findall(r.docs.split("## Example", 1)[1].split("## Fix", 1)[0])
    settings = Settings(select=(r.code,))
    hits = [len(check_text(b, settings, rules=RULES).diagnostics) for b in blocks]
    assert hits[0] > 0 and not any(hits[1:]), hits


@given(st.from_regex(paths._ANY_ARCH.pattern, fullmatch=True).map(str.swapcase))
def test_every_arch_spelling_the_pre_check_looks_for_holds_64(spelling: str) -> None:
    # arch_in_paths and the RUN pre-check skip text without "64" before running the pattern.
    assert "64" in spelling


def test_da311_repeated_runs_read_the_same_wherever_they_stand() -> None:
    # A RUN without hits is remembered by its text (scriptcache.text_key): asked again,
    # in place or elsewhere, it still has none, and one with hits still has them.
    quiet = "RUN curl -fsSLO https://example.org/tool-linux-amd64.tgz\n"
    loud = "RUN gcc -L/usr/lib/x86_64-linux-gnu -o app app.c\n"
    exec_form = 'RUN ["ls", "/usr/lib/x86_64-linux-gnu"]\n'
    hit = [("DA311", "warning", "x86_64-linux-gnu")]
    for _ in range(2):
        assert found(f"FROM debian\n{quiet}") == []
        assert found(f"FROM debian\nENV A=1\n{quiet}{loud}") == hit
        assert found(f"FROM debian\n{exec_form}") == hit
