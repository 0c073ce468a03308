"""The curated TOML knowledge and the JSON twins dockerarch reads say the same."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from dockerarch.knowledge import curated

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

DATA = Path(curated.__file__).parent / "data"


@pytest.mark.parametrize("name", curated.NAMES)
def test_json_twin_matches_its_toml(name: str) -> None:
    toml = tomllib.loads((DATA / f"{name}.toml").read_text(encoding="utf-8"))
    # Compared as JSON text: key order matters too (builddeps.toml: "Order matters").
    assert json.dumps(curated.load(name)) == json.dumps(toml), (
        f"data/{name}.json is stale: run python scripts/build_curated_json.py"
    )


def test_every_curated_toml_has_a_twin() -> None:
    assert {p.stem for p in DATA.glob("*.toml")} == set(curated.NAMES)
