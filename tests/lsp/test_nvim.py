"""Neovim, a real editor, shows dockerarch's diagnostics at the right characters."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

NVIM = shutil.which("nvim")
INIT = Path(__file__).parent / "nvim" / "init.lua"


@pytest.mark.skipif(NVIM is None, reason="nvim is not installed (apt-get install neovim)")
def test_neovim_shows_da101_at_the_right_byte_columns(tmp_path: Path) -> None:
    assert NVIM is not None
    line = "FROM --network=é😀 --platform=linux/amd64 alpine AS app"
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(f"# syntax=docker/dockerfile:1\n{line}\n", encoding="utf-8")
    out = tmp_path / "diagnostics.json"
    env = {**os.environ, "DOCKERARCH_NVIM_OUT": str(out), "DOCKERARCH_PYTHON": sys.executable}
    subprocess.run(
        [NVIM, "--headless", "-n", "-i", "NONE", "-u", str(INIT), str(dockerfile)],
        env=env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=30,
        check=True,
    )
    report = json.loads(out.read_text())
    assert report["ok"], report
    (diag,) = [d for d in report["diagnostics"] if d["code"] == "DA101"]
    # Neovim turns the server's UTF-16 columns into byte columns.
    start = len(line[: line.index("--platform")].encode())
    end = start + len("--platform=linux/amd64")
    assert (diag["lnum"], diag["col"], diag["end_lnum"], diag["end_col"]) == (1, start, 1, end)
    assert diag["source"] == "dockerarch"
    assert diag["severity"] == 1  # vim.diagnostic.severity.ERROR
