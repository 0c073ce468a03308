"""Base-image rules against the offline knowledge."""

from __future__ import annotations

from pathlib import Path

import pytest
from dockerarch_rules import base_images

from dockerarch.engine import check_text


def codes(text: str, path: str | None = None) -> list[tuple[str, str, str]]:
    result = check_text(text, path=Path(path) if path else None, rules=base_images.RULES)
    return [(d.code, d.severity.value, text[d.span.start : d.span.end]) for d in result.diagnostics]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "FROM mcr.microsoft.com/mssql/server:2019-latest\n",
            [("DA201", "error", "mcr.microsoft.com/mssql/server:2019-latest")],
        ),
        ("FROM python:3.4.1\n", [("DA201", "error", "python:3.4.1")]),
        ("FROM python:3.8-slim\n", []),
        (
            "ARG PY=3.4.1\nFROM python:${PY} AS base\nFROM base\n",
            [("DA201", "error", "python:${PY}")],
        ),
        ("ARG BASE\nFROM $BASE\n", []),
        ("FROM unknown.example/thing:1\n", []),
        ("FROM scratch\n", []),
        ("FROM amd64/ubuntu:22.04\n", [("DA202", "warning", "amd64/ubuntu:22.04")]),
        ("FROM ubuntu:22.04 AS build-amd64\n", []),
    ],
)
def test_base_images(text: str, expected: list[tuple[str, str, str]]) -> None:
    assert codes(text) == expected


def test_per_arch_file_gets_info_only() -> None:
    assert codes("FROM python:3.4.1\n", "docker/Dockerfile.amd64") == [
        ("DA201", "info", "python:3.4.1")
    ]


def test_per_arch_stage_selection_only_checks_reached_stages() -> None:
    # Each platform reaches only its own stage, so the amd64-only image is fine.
    text = (
        "FROM mcr.microsoft.com/mssql/server:2019-latest AS db-amd64\n"
        "FROM postgres:16 AS db-arm64\n"
        "FROM db-${TARGETARCH}\n"
    )
    assert codes(text) == []


def test_multiarch_fix_is_unsafe() -> None:
    (d,) = check_text("FROM amd64/ubuntu:22.04\n", rules=base_images.RULES).diagnostics
    assert d.fix is not None and d.fix.applicability.value == "unsafe"
    assert d.fix.edits[0].content == "ubuntu:22.04"
