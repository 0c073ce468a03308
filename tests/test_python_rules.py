"""Acceptance tests for the Python wheel rules (offline snapshot, amd64 + arm64)."""

from __future__ import annotations

from pathlib import Path

from dockerarch_rules import python as py_rules

from dockerarch.diagnostics import Diagnostic
from dockerarch.engine import Settings, check_text

UBUNTU = """\
FROM ubuntu:20.04
RUN apt-get update && apt-get install -y --no-install-recommends python3-pip
WORKDIR /app
COPY requirements.txt .
RUN pip3 install -r requirements.txt
"""


def run(tmp_path: Path, dockerfile: str, files: dict[str, str] | None = None) -> list[Diagnostic]:
    for name, text in (files or {}).items():
        (tmp_path / name).write_text(text)
    (tmp_path / "Dockerfile").write_text(dockerfile)
    result = check_text(
        dockerfile,
        Settings(),
        path=tmp_path / "Dockerfile",
        context_dir=tmp_path,
        rules=py_rules.RULES,
    )
    return result.diagnostics


def test_all_wheels_on_both_arches_no_finding(tmp_path: Path) -> None:
    reqs = "numpy==1.21.6\nscikit-learn==1.2.0\nmatplotlib==3.6.1\n"
    assert run(tmp_path, UBUNTU, {"requirements.txt": reqs}) == []


def test_numpy_without_arm64_wheel_points_at_requirements_line(tmp_path: Path) -> None:
    reqs = "# pinned\nnumpy==1.18.5\n"
    (d,) = run(tmp_path, UBUNTU, {"requirements.txt": reqs})
    assert d.code == "DA501"
    assert "1.19.0" in d.message and "cp38" in d.message
    assert "cc" in d.message and "python-headers" in d.message
    assert d.platforms == ("linux/arm64",)
    assert d.external is not None
    assert d.external.path.name == "requirements.txt"
    assert (d.external.line, d.external.column, d.external.end_column) == (2, 1, 14)
    # The Dockerfile location: the -r argument on line 5.
    assert UBUNTU[d.span.start : d.span.end] == "requirements.txt"
    assert d.fix is not None and d.fix.applicability.value == "unsafe"
    (edit,) = d.fix.edits
    assert edit.path is not None and edit.path.name == "requirements.txt"
    assert reqs[edit.span.start : edit.span.end] == "1.18.5" and edit.content == "1.19.0"


def test_confluent_kafka_on_ubuntu_2004(tmp_path: Path) -> None:
    text = (
        "FROM ubuntu:20.04\nRUN apt-get install -y python3-pip\n"
        "RUN pip3 install confluent-kafka==2.0.2\n"
    )
    (d,) = run(tmp_path, text)
    assert d.code == "DA501" and "2.1.0" in d.message
    assert text[d.span.start : d.span.end] == "confluent-kafka==2.0.2"
    (edit,) = d.fix.edits if d.fix else ()
    assert text[edit.span.start : edit.span.end] == "2.0.2" and edit.path is None


def test_source_build_everywhere_is_not_an_arch_finding(tmp_path: Path) -> None:
    text = "FROM python:3.12-slim\nRUN pip install confluent-kafka==2.2.0\n"
    assert [d for d in run(tmp_path, text) if d.code == "DA501"] == []


def test_musl_manylinux_only_wheel_is_a_finding_on_alpine(tmp_path: Path) -> None:
    # numpy 1.25.0: musllinux x86_64 wheels, but aarch64 only as manylinux.
    text = "FROM python:3.11-alpine\nRUN pip install numpy==1.25.0\n"
    (d,) = run(tmp_path, text)
    assert d.code == "DA501" and "musl" in d.message and d.platforms == ("linux/arm64",)


def test_arch_guarded_install_is_not_flagged(tmp_path: Path) -> None:
    text = (
        "FROM ubuntu:20.04\nARG TARGETARCH\nRUN apt-get install -y python3-pip\n"
        'RUN if [ "$TARGETARCH" = "amd64" ]; then pip3 install numpy==1.18.5; fi\n'
    )
    assert run(tmp_path, text) == []


def test_no_binary_and_x86_only(tmp_path: Path) -> None:
    text = (
        "FROM ubuntu:20.04\nRUN apt-get install -y python3-pip\n"
        "RUN pip3 install --no-binary :all: confluent-kafka==2.0.2\n"
        "RUN pip3 install mkl==2024.0.0\n"
    )
    codes = sorted(d.code for d in run(tmp_path, text))
    assert codes == ["DA502", "DA503"]


def test_requirements_outside_context_are_never_read(tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (tmp_path / "secret.txt").write_text("numpy==1.18.5\n")
    text = (
        "FROM ubuntu:20.04\nRUN apt-get install -y python3-pip\n"
        "COPY ../secret.txt /r.txt\nRUN pip3 install -r /r.txt\n"
    )
    (ctx / "Dockerfile").write_text(text)
    result = check_text(
        text, Settings(), path=ctx / "Dockerfile", context_dir=ctx, rules=py_rules.RULES
    )
    assert result.diagnostics == []


def test_python_installer_prefilter_answers_per_run_as_a_walk_does() -> None:
    # Each RUN's answer is kept by its text: asked again, in place or elsewhere, it holds.
    from dockerarch_rules.python import _installer_program, _run_installs_python

    from dockerarch.engine import Context
    from dockerarch.model import build_model
    from dockerarch.syntax import parse

    runs = [
        "RUN pip install requests==2.31.0",
        "RUN /usr/local/bin/python3.12 -m pip install -r requirements.txt",
        "RUN apt-get update && apt-get install -y curl",
        "RUN uv sync --frozen",
        'RUN "$PIP" install x',
        "RUN echo pipeline && make",
        "RUN sudo -E pypy3 -m ensurepip",
    ]
    for _ in range(2):
        for prefix in ("", "ENV A=1\n"):
            tree = parse("FROM python:3.12\n" + prefix + "\n".join(runs) + "\n")
            ctx = Context(tree, build_model(tree), Settings(), None, None)
            for ins in (i for i in tree.instructions if i.name == "RUN"):
                walk = any(
                    _installer_program(c.effective().words)
                    for s in ctx.model.scripts(ins)
                    for c in s.commands
                )
                assert _run_installs_python(ctx, ins) is walk, ctx.text(ins.span)
