"""Regenerate dockerarch/knowledge/data/<name>.json from each curated <name>.toml.

Usage: python scripts/build_curated_json.py

Run after editing builddeps.toml, distros.toml or npm_curated.toml; the JSON twin
is what dockerarch reads (see dockerarch/knowledge/curated.py), and
tests/test_curated_data.py fails until it matches.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from dockerarch.knowledge.curated import NAMES

DATA = Path(__file__).resolve().parent.parent / "dockerarch" / "knowledge" / "data"


def twin(name: str) -> str:
    """The JSON text for ``<name>.toml``: one line, key order kept (order is meaningful)."""
    data = tomllib.loads((DATA / f"{name}.toml").read_text(encoding="utf-8"))
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"


def main() -> None:
    for name in NAMES:
        (DATA / f"{name}.json").write_text(twin(name), encoding="utf-8")
        print(f"wrote {name}.json")


if __name__ == "__main__":
    main()
